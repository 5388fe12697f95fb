//! Four real `civitas node` validator processes and a full node on loopback: under a stream of
//! transfers, one validator is killed with SIGKILL and the other three keep committing;
//! restarted, it catches up to the same blocks and state root, and no transaction reported
//! committed is lost. The full node follows the chain and forwards what it is sent. A fifth
//! validator, added by a council vote from the CLI, catches up and validates from the next
//! epoch.

use civitas_types::AccountInstruction;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use civitas_client::Client;
use civitas_client::wire::TxState;
use civitas_types::{Did, Instruction, SecretKey, Transaction, keyfile};

mod common;

use common::{BIN, Proc, free_port_block, start_node, wait_until};

fn start(dir: &Path, i: usize) -> Proc {
    start_node(dir, &format!("node-{i}"))
}

fn key(dir: &Path, name: &str) -> SecretKey {
    keyfile::parse(&std::fs::read_to_string(dir.join(format!("keys/{name}.key"))).expect("key")).expect("key file")
}

/// Signs alice's transfer of 10 to bob with `nonce`, for the chain `client` serves.
fn transfer_tx(client: &Client, alice: &SecretKey, bob: Did, nonce: u64) -> civitas_types::SignedTransaction {
    let status = client.status().expect("status");
    Transaction {
        chain_id: status.chain_id,
        signer: alice.public_key(),
        nonce,
        valid_until_height: status.height + 1_000,
        instructions: vec![Instruction::Accounts(AccountInstruction::Transfer { to: bob, amount: 10 })],
    }
    .sign(alice)
}

#[test]
fn four_nodes_survive_a_sigkill_the_victim_catches_up_and_a_fifth_joins_by_council_vote() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    // One block, so the API and p2p ports cannot overlap: four validators', a full node's and
    // a joining validator's APIs, then five p2p ports.
    let http = free_port_block(11);
    let p2p = http + 6;
    let out = Command::new(BIN)
        .args(["testnet", "init", "--validators", "4", "--full-nodes", "1", "--joining", "1", "--dir"])
        .arg(dir)
        .args(["--http-base-port", &http.to_string(), "--p2p-base-port", &p2p.to_string()])
        .output()
        .expect("testnet init");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut nodes: Vec<Option<Proc>> = (0..4).map(|i| Some(start(dir, i))).collect();
    let clients: Vec<Client> = (0..4).map(|i| Client::new(&format!("http://127.0.0.1:{}", http + i))).collect();
    for (i, c) in clients.iter().enumerate() {
        // A validator says it is syncing (and refuses transactions) until it has asked its peers.
        wait_until(&format!("node-{i}'s API"), Duration::from_secs(180), || c.status().is_ok_and(|s| !s.syncing));
    }

    let alice = key(dir, "alice");
    let bob = Did::from_initial_key(&key(dir, "bob").public_key());
    let first = transfer_tx(&clients[1], &alice, bob, 0);
    let hash = clients[1].submit(&first).expect("admitted");
    assert_eq!(clients[1].wait_for(&hash, Duration::from_secs(120)).expect("committed").status, TxState::Committed);

    // A stream of transfers to the survivors in turn while one validator is SIGKILLed and
    // restarted; every one reported committed is remembered.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let committed: Vec<(civitas_types::Hash, u64)> = std::thread::scope(|s| {
        let load = s.spawn(|| {
            let mut done = Vec::new();
            for nonce in 1..=200u64 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let client = &clients[nonce as usize % 3];
                let hash = client.submit(&transfer_tx(client, &alice, bob, nonce)).expect("admitted");
                let status = client.wait_for(&hash, Duration::from_secs(120)).expect("committed");
                assert_eq!(status.status, TxState::Committed);
                done.push((hash, status.height.expect("height")));
            }
            done
        });
        std::thread::sleep(Duration::from_secs(2));
        nodes[3] = None;
        std::thread::sleep(Duration::from_secs(4));
        nodes[3] = Some(start(dir, 3));
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        load.join().expect("load thread")
    });
    assert!(committed.len() >= 5, "the survivors kept committing: {} transfers", committed.len());
    let height = committed.last().expect("some").1;
    let reference = clients[0].block(height, 0, 1).expect("read").expect("block");

    // Restarted, the victim catches up to the same block and state root, and holds every
    // transaction reported committed.
    wait_until("node-3 to catch up", Duration::from_secs(180), || {
        clients[3].status().is_ok_and(|s| s.height >= height)
    });
    let caught_up = clients[3].block(height, 0, 1).expect("read").expect("block");
    assert_eq!((&caught_up.hash, &caught_up.state_root), (&reference.hash, &reference.state_root));
    for (hash, at) in &committed {
        let status = clients[3].tx(hash).expect("read").expect("known");
        assert_eq!((status.status, status.height), (TxState::Committed, Some(*at)), "{hash} lost");
    }
    let transfers = committed.len() as u64 + 1;
    let balance = (5000 + 10 * transfers).to_string();
    assert_eq!(clients[3].account(&bob).expect("read").expect("bob").balance, balance);

    // Killed again while the others commit, then restarted: the victim says it is behind until
    // it has caught up, and a transfer with a nonce the chain has used since (which it has not
    // seen yet) gets a clear answer at once, never a `pending` that ends in a 404.
    nodes[3] = None;
    let mut nonce = transfers;
    for _ in 0..3 {
        let hash = clients[0].submit(&transfer_tx(&clients[0], &alice, bob, nonce)).expect("admitted");
        assert_eq!(clients[0].wait_for(&hash, Duration::from_secs(60)).expect("committed").status, TxState::Committed);
        nonce += 1;
    }
    let advanced = clients[0].status().expect("status").height;
    nodes[3] = Some(start(dir, 3));
    wait_until("node-3's API again", Duration::from_secs(60), || clients[3].status().is_ok());
    let stale = transfer_tx(&clients[0], &alice, bob, nonce - 1);
    let asked = Instant::now();
    match clients[3].submit(&stale) {
        Err(civitas_client::ClientError::Api(p)) => {
            assert!(matches!(p.code.as_str(), "syncing" | "nonce_used"), "{p:?}");
        }
        Ok(hash) => {
            let s = clients[3].wait_for(&hash, Duration::from_secs(10)).expect("an answer");
            assert_eq!((s.status, s.error_code.as_deref()), (TxState::Dropped, Some("nonce_used")), "{s:?}");
        }
        Err(e) => panic!("{e}"),
    }
    assert!(asked.elapsed() < Duration::from_secs(3), "answered after {:?}", asked.elapsed());
    wait_until("node-3 to catch up again", Duration::from_secs(60), || {
        let s = clients[3].status().expect("status");
        assert!(s.syncing || s.height >= advanced, "node-3 at {} of {advanced} does not say it is behind", s.height);
        !s.syncing
    });
    let transfers = nonce;

    // A full node, started late, fetches and checks every block, then follows; what it is sent
    // is forwarded to a validator and committed once.
    let _full = start_node(dir, "full-0");
    let full = Client::new(&format!("http://127.0.0.1:{}", http + 4));
    wait_until("the full node to catch up", Duration::from_secs(180), || {
        full.status().is_ok_and(|s| s.height >= height && !s.syncing)
    });
    let status = full.status().expect("status");
    assert!(status.validator.is_none(), "a full node has no validator key");
    assert_eq!(full.block(height, 0, 1).expect("read").expect("block").state_root, reference.state_root);
    let hash = full.submit(&transfer_tx(&full, &alice, bob, transfers)).expect("admitted by the full node");
    let done = full.wait_for(&hash, Duration::from_secs(120)).expect("committed");
    assert_eq!(done.status, TxState::Committed);
    let at = done.height.expect("height");
    wait_until("node-0 to hold it", Duration::from_secs(60), || clients[0].status().is_ok_and(|s| s.height >= at));
    assert_eq!(clients[0].tx(&hash).expect("read").expect("known").height, Some(at));
    let balance = (5000 + 10 * (transfers + 1)).to_string();
    assert_eq!(full.account(&bob).expect("read").expect("bob").balance, balance);

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

    // A fifth department's validator, started outside the set, waits; the council (two of
    // three departments, from the CLI) adds it; it catches up, and validates from the next
    // epoch: it leads views and its blocks are finalized by the five.
    let _joining = start(dir, 4);
    let fifth = Client::new(&format!("http://127.0.0.1:{}", http + 5));
    wait_until("node-4's API", Duration::from_secs(180), || fifth.status().is_ok());
    let joining_key = fifth.status().expect("status").validator.expect("a validator key");
    let council = |name: &str, args: &[&str]| {
        let key = dir.join(format!("keys/{name}.key"));
        let by = Did::from_initial_key(&key_of(&key).public_key()).to_string();
        let out = Command::new(BIN)
            .args(["council"])
            .args(args)
            .arg("--key")
            .arg(&key)
            .args(["--by", &by, "--node", &node])
            .output()
            .expect("council");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let address = format!("127.0.0.1:{}", p2p + 4);
    let add = ["propose", "--add-validator", &joining_key, "--p2p", &address, "--name", "department-4"];
    council("civil-affairs", &add);
    council("housing", &["approve", "--proposal", "0"]);
    // The CLI waited on node-2; node-0 may apply that block a moment later.
    wait_until("node-0 to apply the vote", Duration::from_secs(60), || {
        clients[0].validators().is_ok_and(|s| s.epoch >= 1)
    });
    let set = clients[0].validators().expect("set");
    assert_eq!((set.epoch, set.validators.len()), (1, 5));
    let boundary = set.from_height - 1;
    wait_until("node-4 to lead a view", Duration::from_secs(180), || {
        let Ok(status) = fifth.status() else { return false };
        (boundary + 1..=status.height)
            .any(|h| fifth.block(h, 0, 1).ok().flatten().is_some_and(|b| b.proposer == joining_key))
    });
    // A proof from after the change (node-4 holds a block past it) walks it from the genesis
    // of four.
    let out = Command::new(BIN)
        .args(["query", "account", &bob.to_string(), "--prove", "--node", fifth.base_url()])
        .output()
        .expect("query");
    std::fs::write(&proof, &out.stdout).expect("write");
    let out = verify(&proof);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("quorum of the 5 validator(s)") && said.contains("through 1 change(s)"), "{said}");
}

fn key_of(path: &Path) -> SecretKey {
    keyfile::parse(&std::fs::read_to_string(path).expect("key")).expect("key file")
}
