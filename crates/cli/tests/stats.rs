//! A whole statistics round from the CLI on a four-validator testnet of real `civitas node`
//! processes: the statistics bureau and the audit office publish HPKE keys in their DID
//! documents, the transport bureau defines a round, two `civitas aggregator` processes (the
//! leader and the helper, each talking to its own validator) wait for it, metro, bus and taxi
//! report through different validators (a second report is refused), and the published total
//! is the sum of the three, proven offline against the genesis; a changed byte in the proof
//! fails.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use civitas_client::Client;
use civitas_types::{Did, keyfile};
use serde_json::{Value, json};

mod common;

use common::{BIN, Proc, free_port_block, start_node, wait_until};

const OPERATORS: [(&str, &str); 3] = [("metro", "120,0,45,7"), ("bus", "30,88,0,12"), ("taxi", "5,9,14,2")];
const TOTAL: &str = "155, 97, 59, 21";
const AGGREGATORS: [&str; 2] = ["statistics", "audit-office"];

fn did(dir: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(dir.join(format!("keys/{name}.key"))).expect("key");
    Did::from_initial_key(&keyfile::parse(&text).expect("key file").public_key()).to_string()
}

fn cli(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run civitas")
}

fn ok(args: &[&str]) -> String {
    let out = cli(args);
    assert!(
        out.status.success(),
        "civitas {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Waits for an aggregator process to exit, at most `limit`; its exit code and output.
fn finish(mut child: Child, log: &Path, limit: Duration) -> (Option<i32>, String) {
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    (code, std::fs::read_to_string(log).unwrap_or_default())
}

#[test]
fn three_operators_and_two_aggregators_publish_a_total_proven_offline_on_four_validators() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let http = free_port_block(8);
    let p2p = http + 4;
    let out = Command::new(BIN)
        .args(["testnet", "init", "--validators", "4", "--dir"])
        .arg(dir)
        .args(["--http-base-port", &http.to_string(), "--p2p-base-port", &p2p.to_string()])
        .output()
        .expect("testnet init");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _nodes: Vec<Proc> = (0..4).map(|i| start_node(dir, &format!("node-{i}"))).collect();
    let urls: Vec<String> = (0..4).map(|i| format!("http://127.0.0.1:{}", http + i)).collect();
    for (i, url) in urls.iter().enumerate() {
        let client = Client::new(url);
        wait_until(&format!("node-{i}'s API"), Duration::from_secs(180), || client.status().is_ok_and(|s| !s.syncing));
    }
    let path = |name: &str| dir.join(name).to_str().expect("utf-8").to_owned();
    let key = |name: &str| path(&format!("keys/{name}.key"));

    // Each aggregator department publishes an X25519 key agreement key.
    for (name, url) in AGGREGATORS.iter().zip(&urls) {
        let x25519 = path(&format!("{name}.x25519"));
        let made: Value =
            serde_json::from_str(&ok(&["keys", "new", "--x25519", "--json", "--out", &x25519])).expect("JSON");
        let doc = path(&format!("{name}-did.json"));
        std::fs::write(&doc, json!({ "methods": [made["method"]] }).to_string()).expect("write");
        ok(&["did", "update", "--key", &key(name), "--document", &doc, "--node", url]);
    }

    let (transport, transport_key) = (did(dir, "transport"), key("transport"));
    let mut define =
        vec!["stats", "define", "--key", &transport_key, "--by", &transport, "--title", "Passengers per district"];
    define.extend(["--sum-vec", "4", "--max", "1000", "--min-reports", "3", "--deadline-blocks", "20"]);
    let operators: Vec<String> = OPERATORS.iter().map(|(name, _)| did(dir, name)).collect();
    let aggregators: Vec<String> = AGGREGATORS.iter().map(|name| did(dir, name)).collect();
    for o in &operators {
        define.extend(["--operator", o]);
    }
    for a in &aggregators {
        define.extend(["--aggregator", a]);
    }
    define.extend(["--node", &urls[1]]);
    ok(&define);

    // The two aggregators, each one command against its own validator.
    let runs: Vec<(Child, std::path::PathBuf)> = AGGREGATORS
        .iter()
        .zip(&aggregators)
        .enumerate()
        .map(|(i, (name, by))| {
            let log = dir.join(format!("{name}-aggregator.log"));
            let child = Command::new(BIN)
                .args(["aggregator", "--key", &key(name), "--by", by, "--hpke-key", &path(&format!("{name}.x25519"))])
                .args(["--state", &path(&format!("{name}-state")), "--round", "0", "--node", &urls[2 + i]])
                .args(["--poll-ms", "200", "--timeout-secs", "240"])
                .stdout(std::fs::File::create(&log).expect("log"))
                .stderr(Stdio::null())
                .spawn()
                .expect("start civitas aggregator");
            (child, log)
        })
        .collect();

    // The operators report, each through another validator; a second report is refused.
    for (((name, values), by), url) in OPERATORS.iter().zip(&operators).zip(&urls) {
        let args = ["stats", "report", "--key", &key(name), "--by", by, "--round", "0", "--values", values];
        ok(&[&args[..], &["--node", url]].concat());
    }
    let (name, values) = OPERATORS[0];
    let again = cli(&["stats", "report", "--key", &key(name), "--by", &operators[0], "--round", "0"]
        .into_iter()
        .chain(["--values", values, "--node", &urls[3]])
        .collect::<Vec<_>>());
    assert!(!again.status.success());
    let said = format!("{}{}", String::from_utf8_lossy(&again.stdout), String::from_utf8_lossy(&again.stderr));
    assert!(said.contains("already_reported"), "{said}");

    for (child, log) in runs {
        let (code, said) = finish(child, &log, Duration::from_secs(240));
        assert_eq!(code, Some(0), "{}: {said}", log.display());
        assert!(said.contains(&format!("total [{TOTAL}] from 3 accepted reports (0 rejected)")), "{said}");
    }

    // The total, proven by one validator, checks offline against the genesis of four.
    let proof = dir.join("round.json");
    std::fs::write(&proof, ok(&["stats", "show", "0", "--prove", "--node", &urls[0]])).expect("write");
    let genesis = path("genesis.json");
    let verify = |p: &Path| cli(&["verify", p.to_str().expect("utf-8"), "--genesis", &genesis]);
    let out = verify(&proof);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("published total [{TOTAL}] from 3 accepted reports")), "{said}");
    assert!(said.contains("quorum of the 4 validator(s)"), "{said}");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&proof).expect("read")).expect("JSON");
    let value = doc["claim"]["item"]["value"].as_str().expect("present").to_owned();
    let last = if value.ends_with('0') { "1" } else { "0" };
    doc["claim"]["item"]["value"] = Value::String(format!("{}{last}", &value[..value.len() - 1]));
    std::fs::write(&proof, doc.to_string()).expect("write");
    assert_eq!(verify(&proof).status.code(), Some(4));
}
