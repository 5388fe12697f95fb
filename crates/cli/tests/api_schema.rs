//! The HTTP API from its own OpenAPI document: Schemathesis (a property-based tester, from
//! PyPI, pinned in `schemathesis-requirements.txt`) calls every operation of a `civitas dev`
//! node with valid and invalid input generated from the schema, and then as sequences of
//! calls. No answer may be a 5xx, and every answer must match the status codes, content types
//! and schemas the document declares for it.

use std::path::PathBuf;
use std::process::Command;

mod common;

use common::start_dev;

const HERE: &str = env!("CARGO_MANIFEST_DIR");

/// The virtual environment's `schemathesis` (made once, reused across runs).
fn schemathesis() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schemathesis-venv");
    let bin = venv.join("bin/schemathesis");
    let ready = |b: &PathBuf| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success());
    if !ready(&bin) {
        let made = Command::new("python3").args(["-m", "venv"]).arg(&venv).status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "python3 -m venv failed: the API schema test needs Python 3 with venv"
        );
        let installed = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(format!("{HERE}/tests/schemathesis-requirements.txt"))
            .status();
        assert!(installed.is_ok_and(|s| s.success()), "installing schemathesis from PyPI failed");
        assert!(ready(&bin), "schemathesis does not run after installing");
    }
    bin
}

#[test]
fn every_operation_answers_within_its_documented_statuses_types_and_schemas() {
    let st = schemathesis();
    let dir = tempfile::tempdir().expect("tempdir");
    let (_node, url) = start_dev(&dir.path().join("dev"));
    let out = Command::new(&st)
        .args(["run", &format!("{url}/openapi.json")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            "10",
            "--seed",
            "20261130",
            "--workers",
            "2",
            "--request-timeout",
            "20",
            "--no-color",
        ])
        .current_dir(dir.path())
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found failures:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // It ran: every operation was selected and tested.
    assert!(stdout.contains("Tested:"), "{stdout}");
}
