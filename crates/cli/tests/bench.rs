//! `civitas bench transfer` on a testnet it starts: a short run ends with its figures, and
//! `--keep-logs` keeps each node's log after the testnet's temp folder is gone; bad options
//! are refused before anything starts.

use std::process::Command;

mod common;

use common::BIN;

#[test]
fn a_short_testnet_bench_reports_its_figures_and_keeps_the_nodes_logs_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    let logs_arg = logs.to_str().expect("a UTF-8 path");

    // Without a testnet of its own there are no node logs to keep: refused before anything is
    // measured or started.
    let out = Command::new(BIN)
        .args(["bench", "transfer", "--duration", "2", "--keep-logs", logs_arg])
        .output()
        .expect("civitas bench transfer");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("--keep-logs") && stderr.contains("--validators 2 or more"), "{stderr}");
    assert!(!stderr.contains("measuring") && !logs.exists(), "{stderr}");

    // A window of no heights is refused by name, before anything is measured.
    let out = Command::new(BIN)
        .args(["bench", "transfer", "--validators", "2", "--state-history", "0"])
        .output()
        .expect("civitas bench transfer");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("--state-history") && !stderr.contains("measuring"), "{stderr}");

    let out = Command::new(BIN)
        .args(["bench", "transfer", "--validators", "2", "--duration", "3", "--rate", "100", "--accounts", "50"])
        .args(["--keep-logs", logs_arg])
        .output()
        .expect("civitas bench transfer");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    let tps: f64 = last
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("tps=")?.parse().ok())
        .unwrap_or_else(|| panic!("no tps= in {last:?}"));
    assert!(tps > 0.0, "{stdout}\n{stderr}");
    for i in 0..2 {
        let log = std::fs::read_to_string(logs.join(format!("node-{i}.log"))).expect("a kept log");
        assert!(log.contains("epoch started"), "node-{i}.log:\n{log}");
    }
}
