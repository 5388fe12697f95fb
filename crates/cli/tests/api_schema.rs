//! The HTTP API from its own OpenAPI document: Schemathesis (a property-based tester, from
//! PyPI, pinned in `schemathesis-requirements.txt`) calls every operation of a `civitas dev`
//! node with valid and invalid input generated from the schema, and then as sequences of
//! calls. No answer may be a 5xx, and every answer must match the status codes, content types
//! and schemas the document declares for it.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::{python_venv, start_dev};

/// The virtual environment's `schemathesis` (made once, reused across runs).
fn schemathesis() -> PathBuf {
    let ready =
        |bin: &Path| Command::new(bin.join("schemathesis")).arg("--version").output().is_ok_and(|o| o.status.success());
    python_venv("schemathesis-venv", "schemathesis-requirements.txt", ready).join("schemathesis")
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
