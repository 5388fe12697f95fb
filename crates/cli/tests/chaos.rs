//! `civitas chaos bank`, short: four validator processes, clients transferring through all of
//! them while validators are killed, restarted, paused and (where this machine allows user and
//! network namespaces) cut off the network, and money goes into a project's and two leases'
//! escrows and out again; the run must end with no violation (money conserved across accounts
//! and escrows, every acknowledged transaction in the chain, one state root everywhere).

use std::process::Command;

mod common;

use common::BIN;

#[test]
fn the_bank_workload_conserves_money_across_accounts_and_escrows_and_loses_no_acknowledged_transaction_under_faults() {
    let out = Command::new(BIN)
        .args(["chaos", "bank", "--duration", "20", "--seed", "3"])
        .output()
        .expect("civitas chaos bank");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    let field = |name: &str| -> u64 {
        last.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name}= in {last:?}"))
    };
    assert_eq!(field("violations"), 0, "{stdout}");
    assert!(field("acked") > 0, "no transfer was acknowledged:\n{stdout}\n{stderr}");
    // Seed 3's schedule in 20 s: a cut-off at about 3 s, a pause at 10 s and a kill at 16 s;
    // where namespaces are missing, kills and pauses only.
    let nemesis = stdout.lines().find(|l| l.starts_with("nemesis: ")).unwrap_or_else(|| panic!("{stdout}"));
    let count = |what: &str| -> u64 {
        let words: Vec<&str> = nemesis.split_whitespace().collect();
        words
            .windows(2)
            .find_map(|w| (w[1] == what).then(|| w[0].parse().ok())?)
            .unwrap_or_else(|| panic!("no count of {what} in {nemesis:?}"))
    };
    if stdout.contains("no cut-offs: ") {
        eprintln!("this machine has no user and network namespaces (or no `ip`): kills and pauses only");
        assert!(count("kills") + count("pauses") > 0, "{stdout}");
    } else {
        assert_eq!((count("kills"), count("pauses"), count("cut-offs")), (1, 1, 1), "{stdout}");
    }
    assert!(stdout.contains("checked at height"), "{stdout}");
    // Each escrow's workflow moved money in the run: into the project's escrow and out to the
    // contractor, into the leases' escrows as deposits and rent.
    let took_effect = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("took effect, by kind: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    for kind in
        ["transfer", "appropriation", "milestone approval", "milestone payment", "lease signing", "rent payment"]
    {
        let n: u64 = took_effect
            .split(", ")
            .find_map(|k| k.strip_prefix(kind)?.strip_prefix(' ')?.split(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {kind} in {took_effect:?}"));
        assert!(n > 0, "no {kind} took effect: {took_effect}\n{stdout}");
    }
}

#[test]
fn the_bank_workload_refuses_bad_arguments_and_a_folder_that_holds_a_testnet_before_starting_anything() {
    for args in [["--duration", "1"], ["--accounts", "1"], ["--clients", "0"]] {
        let out = Command::new(BIN).args(["chaos", "bank"]).args(args).output().expect("civitas chaos bank");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("invalid value '{}' for '{} ", args[1], args[0])), "{args:?}: {stderr}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let init = Command::new(BIN)
        .args(["testnet", "init", "--validators", "4", "--dir"])
        .arg(dir.path())
        .output()
        .expect("testnet init");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let out = Command::new(BIN).args(["chaos", "bank", "--dir"]).arg(dir.path()).output().expect("civitas chaos bank");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("already holds a testnet"), "{stderr}");
    assert!(!dir.path().join("node-0/node.log").exists(), "a node was started");
}
