//! Four real `civitas node` processes on loopback: transactions commit; one validator is
//! killed with SIGKILL and the other three keep committing; restarted, it catches up to the
//! same blocks and state root.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use civitas_client::Client;
use civitas_client::wire::TxState;
use civitas_types::{Did, Instruction, SecretKey, Transaction, keyfile};

mod common;

use common::{BIN, Proc};

fn free_port_block(n: u16) -> u16 {
    // A base port whose next `n` ports are free now (loopback only).
    for _ in 0..50 {
        let base = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        if base < 60_000 && (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no block of free ports");
}

fn start(dir: &Path, i: usize) -> Proc {
    let log = std::fs::File::create(dir.join(format!("node-{i}/test.log"))).expect("log");
    let child = Command::new(BIN)
        .args(["node", "--config"])
        .arg(dir.join(format!("node-{i}/config.toml")))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start civitas node");
    Proc(child)
}

fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn key(dir: &Path, name: &str) -> SecretKey {
    keyfile::parse(&std::fs::read_to_string(dir.join(format!("keys/{name}.key"))).expect("key")).expect("key file")
}

#[test]
fn four_nodes_survive_a_sigkill_and_the_victim_catches_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    // One block, so the API and p2p ports cannot overlap.
    let http = free_port_block(8);
    let p2p = http + 4;
    let out = Command::new(BIN)
        .args(["testnet", "init", "--validators", "4", "--dir"])
        .arg(dir)
        .args(["--http-base-port", &http.to_string(), "--p2p-base-port", &p2p.to_string()])
        .output()
        .expect("testnet init");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut nodes: Vec<Option<Proc>> = (0..4).map(|i| Some(start(dir, i))).collect();
    let clients: Vec<Client> = (0..4).map(|i| Client::new(&format!("http://127.0.0.1:{}", http + i))).collect();
    for (i, c) in clients.iter().enumerate() {
        wait_until(&format!("node-{i}'s API"), Duration::from_secs(180), || c.status().is_ok());
    }

    let alice = key(dir, "alice");
    let bob = Did::from_initial_key(&key(dir, "bob").public_key());
    let transfer = |client: &Client, nonce: u64| {
        let status = client.status().expect("status");
        let tx = Transaction {
            chain_id: status.chain_id,
            signer: alice.public_key(),
            nonce,
            valid_until_height: status.height + 1_000,
            instructions: vec![Instruction::Transfer { to: bob, amount: 10 }],
        }
        .sign(&alice);
        let hash = client.submit(&tx).expect("admitted");
        let done = client.wait_for(&hash, Duration::from_secs(120)).expect("committed");
        assert_eq!(done.status, TxState::Committed);
        done.height.expect("height")
    };
    transfer(&clients[1], 0);

    // SIGKILL one validator; the other three still finalize.
    nodes[3] = None;
    let height = transfer(&clients[0], 1);
    for c in &clients[..3] {
        wait_until("the survivors to agree", Duration::from_secs(60), || c.status().is_ok_and(|s| s.height >= height));
    }
    let reference = clients[0].block(height, 0, 1).expect("read").expect("block");

    // Restarted, the victim catches up to the same block and state root.
    nodes[3] = Some(start(dir, 3));
    wait_until("node-3 to catch up", Duration::from_secs(180), || {
        clients[3].status().is_ok_and(|s| s.height >= height)
    });
    let caught_up = clients[3].block(height, 0, 1).expect("read").expect("block");
    assert_eq!((&caught_up.hash, &caught_up.state_root), (&reference.hash, &reference.state_root));
    assert_eq!(clients[3].account(&bob).expect("read").expect("bob").balance, "5020");

    // A proof from any node verifies offline against the genesis of four validators; a changed
    // byte in the proven value does not.
    let node = format!("http://127.0.0.1:{}", http + 2);
    let out = Command::new(BIN)
        .args(["query", "account", &bob.to_string(), "--prove", "--node", &node])
        .output()
        .expect("query");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let proof = dir.join("bob.proof.json");
    std::fs::write(&proof, &out.stdout).expect("write");
    let genesis = dir.join("genesis.json");
    let verify =
        |p: &Path| Command::new(BIN).arg("verify").arg(p).arg("--genesis").arg(&genesis).output().expect("verify");
    let out = verify(&proof);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("quorum of the 4 validator(s)"));
    let text = std::fs::read_to_string(&proof).expect("read");
    let mut doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let value = doc["claim"]["value"].as_str().expect("present").to_owned();
    let last = if value.ends_with('0') { "1" } else { "0" };
    doc["claim"]["value"] = serde_json::Value::String(format!("{}{last}", &value[..value.len() - 1]));
    std::fs::write(&proof, doc.to_string()).expect("write");
    assert_eq!(verify(&proof).status.code(), Some(4));
}
