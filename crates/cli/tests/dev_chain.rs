//! End to end: a real `civitas dev` process, transactions over HTTP and through the CLI, a
//! `kill -9`, and a restart that must come back at the same height, root and balances.

use civitas_types::AccountInstruction;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use civitas_client::wire::TxState;
use civitas_types::{Did, Instruction, SecretKey, Transaction, keyfile};

mod common;

use common::{BIN, Proc, free_port, start_dev_at as start_dev};

/// Proposals the dev chain's demo data passed when it was created (the demo PAA's, 0, and the
/// housing department's accreditation for property certificates, 1): the tests' own come after.
const DEMO_PROPOSALS: u64 = 2;

fn key(data_dir: &Path, name: &str) -> SecretKey {
    let text = std::fs::read_to_string(data_dir.join("keys").join(format!("{name}.key"))).expect("key file");
    keyfile::parse(&text).expect("valid key file")
}

fn cli(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run civitas")
}

/// A dev chain process, for tests that drive it through the CLI.
struct Dev {
    dir: tempfile::TempDir,
    data: std::path::PathBuf,
    node: String,
    _proc: Proc,
}

impl Dev {
    fn start() -> Dev {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("dev");
        let port = free_port();
        let (proc, _) = start_dev(&data, port);
        Dev { dir, data, node: format!("http://127.0.0.1:{port}"), _proc: proc }
    }

    fn key_path(&self, name: &str) -> String {
        self.data.join(format!("keys/{name}.key")).to_str().expect("utf-8 path").to_owned()
    }

    fn did(&self, name: &str) -> String {
        Did::from_initial_key(&key(&self.data, name).public_key()).to_string()
    }

    /// The council accredits `issuer` for `vct`: civil affairs proposes (proposal `proposal`)
    /// and the department `approver` approves, the second of three.
    fn accredit(&self, issuer: &str, vct: &str, proposal: u64, approver: &str) {
        let (civil, key) = (self.did("civil-affairs"), self.key_path("civil-affairs"));
        run_ok(&[
            "council",
            "propose",
            "--key",
            &key,
            "--by",
            &civil,
            "--accredit-issuer",
            issuer,
            "--vct",
            vct,
            "--node",
            &self.node,
        ]);
        let (by, key, p) = (self.did(approver), self.key_path(approver), proposal.to_string());
        run_ok(&["council", "approve", "--key", &key, "--by", &by, "--proposal", &p, "--node", &self.node]);
    }
}

/// Runs the CLI, requires success, and returns what it printed.
fn run_ok(args: &[&str]) -> String {
    let out = cli(args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn dev_chain_commits_and_survives_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let port = free_port();
    let (proc, client) = start_dev(&data, port);
    let node = format!("http://127.0.0.1:{port}");
    let alice = key(&data, "alice");
    let bob = Did::from_initial_key(&key(&data, "bob").public_key());
    let bob_str = bob.to_string();
    let alice_key = data.join("keys/alice.key");
    let alice_key = alice_key.to_str().expect("utf-8 path");

    // A newcomer's first proof works as soon as the API answers: the dev chain finalizes the
    // block after genesis before it opens the API.
    let out = cli(&["query", "account", &bob_str, "--prove", "--node", &node]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Block times read as RFC 3339 (UTC) in text, as milliseconds in JSON.
    let text = run_ok(&["query", "block", "1", "--node", &node]);
    let at = text.lines().next().and_then(|l| l.rsplit(" at ").next()).expect("a time");
    let ms = civitas_client::did::parse_datetime(at).unwrap_or_else(|| panic!("`{at}` is RFC 3339"));
    let json: serde_json::Value =
        serde_json::from_str(&run_ok(&["query", "block", "1", "--json", "--node", &node])).expect("json");
    assert_eq!(json["timestamp_ms"].as_u64().map(|t| t / 1000), Some(ms / 1000));

    // Through the CLI: a transfer that commits, and an overdraft that fails with exit code 3.
    let out = cli(&["tx", "transfer", "--key", alice_key, "--to", &bob_str, "--amount", "250", "--node", &node]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("committed "));
    let out = cli(&["tx", "transfer", "--key", alice_key, "--to", &bob_str, "--amount", "99999999", "--node", &node]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("insufficient_funds"));
    let out = cli(&["tx", "transfer", "--key", alice_key, "--to", "did:web:nope", "--amount", "1", "--node", &node]);
    assert_eq!(out.status.code(), Some(2), "clap refuses a bad DID");

    // Over HTTP with the SDK: a burst of transfers in one batch.
    let status = client.status().expect("status");
    let nonce = client.account(&Did::from_initial_key(&alice.public_key())).expect("read").expect("alice").nonce;
    let txs: Vec<_> = (0..20)
        .map(|i| {
            Transaction {
                chain_id: status.chain_id.clone(),
                signer: alice.public_key(),
                nonce: nonce + i,
                valid_until_height: status.height + 100,
                instructions: vec![Instruction::Accounts(AccountInstruction::Transfer { to: bob, amount: 1 })],
            }
            .sign(&alice)
        })
        .collect();
    let results = client.submit_batch(&txs).expect("batch");
    let last = results.last().and_then(|r| r.hash.clone()).expect("admitted");
    let last = civitas_types::Hash::from_hex(&last).expect("hash");
    let done = client.wait_for(&last, Duration::from_secs(30)).expect("committed");
    assert_eq!(done.status, TxState::Committed);

    // A proof of bob's account, checked offline against the genesis file; a changed byte fails.
    let out = cli(&["query", "account", &bob_str, "--prove", "--node", &node]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let proof_path = dir.path().join("bob.proof.json");
    std::fs::write(&proof_path, &out.stdout).expect("write proof");
    let genesis = data.join("genesis.json");
    let verify =
        |path: &Path| cli(&["verify", path.to_str().expect("utf-8"), "--genesis", genesis.to_str().expect("utf-8")]);
    let out = verify(&proof_path);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("has balance 1670"));
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&proof_path).expect("read")).expect("json");
    let value = doc["claim"]["value"].as_str().expect("present").to_owned();
    let changed = format!("{}{}", &value[..value.len() - 1], if value.ends_with('0') { "1" } else { "0" });
    doc["claim"]["value"] = serde_json::Value::String(changed);
    let tampered = dir.path().join("tampered.json");
    std::fs::write(&tampered, doc.to_string()).expect("write");
    assert_eq!(verify(&tampered).status.code(), Some(4));
    // And the transfer that paid bob, proven included with its outcome.
    let out = cli(&["query", "tx", &last.to_hex(), "--prove", "--node", &node]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tx_proof = dir.path().join("tx.proof.json");
    std::fs::write(&tx_proof, &out.stdout).expect("write proof");
    let out = verify(&tx_proof);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("and committed"));

    let before = client.status().expect("status");
    let bob_before = client.account(&bob).expect("read").expect("bob").balance;
    assert_eq!(bob_before, "1670");

    // kill -9, restart on the same data dir.
    drop(proc);
    let (_proc, client) = start_dev(&data, port);
    let after = client.status().expect("status");
    assert_eq!(
        (after.height, &after.block_hash, &after.state_root),
        (before.height, &before.block_hash, &before.state_root)
    );
    assert_eq!(client.account(&bob).expect("read").expect("bob").balance, bob_before);

    // And it goes on.
    let out =
        cli(&["tx", "transfer", "--key", alice_key, "--to", &bob_str, "--amount", "5", "--node", &node, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
    assert_eq!(v["status"], "committed");
    assert!(v["height"].as_u64().expect("height") > before.height);
}

#[test]
fn x25519_keys_are_written_for_key_agreement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("seal.key");
    let key = key.to_str().expect("utf-8 path");
    let out = cli(&["keys", "new", "--x25519", "--out", key]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let multibase = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let secret = keyfile::parse_x25519(&std::fs::read_to_string(key).expect("read")).expect("an X25519 key file");
    let public = keyfile::x25519_public(&secret);
    assert_eq!(multibase, civitas_client::did::x25519_multibase(&public));
    assert!(multibase.starts_with("z6LS"), "{multibase}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"relations\":[\"keyAgreement\"]"));
    let json_key = dir.path().join("seal2.key");
    let out =
        cli(&["keys", "new", "--x25519", "--json", "--method-id", "logs", "--out", json_key.to_str().expect("utf-8")]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
    assert_eq!((v["method"]["id"].as_str(), v["method"]["key_type"].as_str()), (Some("logs"), Some("X25519")));
    assert!(v["public_key_multibase"].as_str().is_some_and(|m| m.starts_with("z6LS")), "{v}");
    let out = cli(&["keys", "new", "--x25519", "--p256", "--out", key]);
    assert_eq!(out.status.code(), Some(2), "one kind of key at a time");
}

#[test]
fn cli_errors_are_clear_and_non_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("k.key");
    let key = key.to_str().expect("utf-8 path");
    let out = cli(&["keys", "new", "--out", key]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("did:civitas:"));
    let again = cli(&["keys", "new", "--out", key]);
    assert_eq!(again.status.code(), Some(1), "refuses to overwrite a key");
    assert!(String::from_utf8_lossy(&again.stderr).contains("error:"));
    // Nothing listens on this port.
    let node = format!("http://127.0.0.1:{}", free_port());
    let out = cli(&["query", "status", "--node", &node]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the node"));
    let out = cli(&["query", "block", "tall", "--node", &node]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("height must be a number or `latest`"));

    // Operator commands: a missing or malformed node configuration, a testnet written twice,
    // a folder without a testnet.
    let missing = dir.path().join("nowhere.toml");
    let out = cli(&["node", "--config", missing.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "data_dir = 3\n").expect("write");
    let out = cli(&["node", "--config", bad.to_str().expect("utf-8")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a node configuration"));
    let tn = dir.path().join("tn");
    let tn = tn.to_str().expect("utf-8");
    assert!(cli(&["testnet", "init", "--validators", "2", "--dir", tn]).status.success());
    let out = cli(&["testnet", "init", "--validators", "2", "--dir", tn]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a testnet"));
    let out = cli(&["testnet", "up", "--dir", dir.path().to_str().expect("utf-8")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("run civitas testnet init first"));
    let out = cli(&["testnet", "init", "--validators", "0", "--dir", tn]);
    assert_eq!(out.status.code(), Some(2), "clap refuses an empty committee");
    // A node configuration that is neither a validator nor a full node, or a full node that
    // follows something other than an http(s) URL.
    let half = dir.path().join("half.toml");
    std::fs::write(&half, "data_dir = \".\"\ngenesis = \"tn/genesis.json\"\nhttp = \"127.0.0.1:1\"\n").expect("write");
    let out = cli(&["node", "--config", half.to_str().expect("utf-8")]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a full node has neither"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let follower = dir.path().join("follower.toml");
    std::fs::write(
        &follower,
        "data_dir = \"f\"\ngenesis = \"tn/genesis.json\"\nhttp = \"127.0.0.1:1\"\nfollow = [\"ftp://x\"]\n",
    )
    .expect("write");
    let out = cli(&["node", "--config", follower.to_str().expect("utf-8")]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not an http(s) URL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Organizations and the council: bad names are refused before anything is sent.
    let some = "did:civitas:0000000000000000000000000000000000000000";
    let out = cli(&[
        "org", "register", "--key", key, "--org", some, "--kind", "guild", "--name", "X", "--by", some, "--node", &node,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown organization kind `guild`"));
    let out =
        cli(&["org", "member", "--key", key, "--org", some, "--member", some, "--role", "janitor", "--node", &node]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("role is admin, officer or none"));
    let out = cli(&["council", "propose", "--key", key, "--by", some, "--node", &node]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("give exactly one of"));
    let validator = "11".repeat(32);
    let propose_validator = |key_hex: &str, p2p: &str| {
        cli(&[
            "council",
            "propose",
            "--key",
            key,
            "--by",
            some,
            "--add-validator",
            key_hex,
            "--p2p",
            p2p,
            "--name",
            "Transport",
            "--node",
            &node,
        ])
    };
    let out = propose_validator(&validator, "transport.city:9000");
    assert!(String::from_utf8_lossy(&out.stderr).contains("action.address: must be IP:port"));
    let out = propose_validator("xyz", "10.0.0.5:9000");
    assert!(String::from_utf8_lossy(&out.stderr).contains("action.public_key"));
    let out = cli(&["did", "resolve", "did:key:z0OIl"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("invalidDid"), "did:key resolves locally, without a node");
}

#[test]
fn a_resident_registers_a_did_rotates_resolves_old_versions_and_recovers() {
    let dev = Dev::start();
    let node = dev.node.clone();
    let path = |name: &str| dev.dir.path().join(name).to_str().expect("utf-8 path").to_owned();
    let run = run_ok;
    let resolve = |did: &str, extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["did", "resolve", did, "--node", &node];
        args.extend_from_slice(extra);
        serde_json::from_slice(&cli(&args).stdout).expect("resolution JSON")
    };

    // A new resident: a key, an account, a DID.
    let (carol, recovery, fresh) = (path("carol.key"), path("recovery.key"), path("fresh.key"));
    let did = run(&["keys", "new", "--out", &carol]).trim().to_owned();
    run(&["tx", "register", "--key", &carol, "--node", &node]);
    let v1 = resolve(&did, &[]);
    assert_eq!(v1["didDocument"]["id"], did.as_str());
    assert_eq!(v1["didDocumentMetadata"]["versionId"], "1");

    // Version 2: a service and a recovery key, from a document file.
    run(&["keys", "new", "--out", &recovery]);
    let hash = run(&["did", "recovery-hash", &recovery]).trim().to_owned();
    let doc = serde_json::json!({
        "services": [{ "id": "home", "type": "LinkedDomains", "endpoint": "https://carol.example" }],
        "recovery_key_hash": hash,
    });
    std::fs::write(path("doc.json"), doc.to_string()).expect("write");
    run(&["did", "update", "--key", &carol, "--document", &path("doc.json"), "--node", &node]);
    // Version 3: a key rotation.
    let rotated = path("carol2.key");
    run(&["keys", "new", "--out", &rotated]);
    run(&["tx", "rotate-key", "--key", &carol, "--new-key", &rotated, "--node", &node]);
    let v3 = resolve(&did, &[]);
    assert_eq!(v3["didDocumentMetadata"]["versionId"], "3");
    assert_ne!(v3["didDocument"]["verificationMethod"][0], v1["didDocument"]["verificationMethod"][0]);
    // The earlier version still resolves, with the first key.
    let old = resolve(&did, &["--version-id", "1"]);
    assert_eq!(old["didDocument"], v1["didDocument"]);
    assert_eq!(old["didDocumentMetadata"]["nextVersionId"], "2");

    // The rotated key is lost: the recovery key moves the DID to a fresh key, once.
    run(&["keys", "new", "--out", &fresh]);
    let out = run(&["did", "recover", "--key", &fresh, "--did", &did, "--recovery-key", &recovery, "--node", &node]);
    assert!(out.starts_with("committed "), "{out}");
    let v4 = resolve(&did, &[]);
    assert_eq!(v4["didDocumentMetadata"]["versionId"], "4");
    // The DID's state is provable offline against the genesis.
    std::fs::write(path("did.proof.json"), run(&["did", "resolve", &did, "--prove", "--node", &node])).expect("write");
    let genesis = dev.data.join("genesis.json");
    let out = Command::new(BIN)
        .arg("verify")
        .arg(path("did.proof.json"))
        .arg("--genesis")
        .arg(&genesis)
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("is at version 4"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("did.proof.json")).expect("read")).expect("json");
    let value = doc["claim"]["document"]["value"].as_str().expect("a document").to_owned();
    let flipped = if value.ends_with('0') { "1" } else { "0" };
    doc["claim"]["document"]["value"] = serde_json::Value::String(format!("{}{flipped}", &value[..value.len() - 1]));
    std::fs::write(path("did.proof.json"), doc.to_string()).expect("write");
    let out = Command::new(BIN)
        .arg("verify")
        .arg(path("did.proof.json"))
        .arg("--genesis")
        .arg(&genesis)
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(4), "a changed document is refused");
    let out = cli(&["did", "recover", "--key", &fresh, "--did", &did, "--recovery-key", &recovery, "--node", &node]);
    assert_ne!(out.status.code(), Some(0), "a recovery key is spent once used");

    // Bad input: an invalid DID and a malformed document are refused with clear errors.
    let out = cli(&["did", "resolve", "did:civitas:xyz", "--node", &node]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("invalidDid"));
    std::fs::write(path("bad.json"), r#"{"methods":[{"id":"x","key_type":"RSA","public_key":"00","relations":[]}]}"#)
        .expect("write");
    let out = cli(&["did", "update", "--key", &fresh, "--did", &did, "--document", &path("bad.json"), "--node", &node]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("document.methods[0]: key_type: \"RSA\" is not Ed25519, P-256 or X25519"), "{stderr}");
}

#[test]
fn market_regulation_registers_a_company_and_the_audit_trail_lists_the_acts() {
    let dev = Dev::start();
    let (dir, data, node) = (&dev.dir, &dev.data, dev.node.clone());
    let keys = |name: &str| dev.key_path(name);
    let did_of = |name: &str| dev.did(name);
    let run = run_ok;
    let (mr, alice, bob) = (did_of("market-regulation"), did_of("alice"), did_of("bob"));

    // The department is an organization from genesis; it names alice an officer.
    assert!(run(&["org", "show", &mr, "--node", &node]).contains("market_regulation"));
    run(&[
        "org",
        "member",
        "--key",
        &keys("market-regulation"),
        "--org",
        &mr,
        "--member",
        &alice,
        "--role",
        "officer",
        "--node",
        &node,
    ]);
    assert!(run(&["org", "show", &mr, "--member", &alice, "--node", &node]).contains("officer"));
    // Officer alice registers bob's company.
    run(&[
        "org",
        "register",
        "--key",
        &keys("alice"),
        "--org",
        &bob,
        "--kind",
        "company",
        "--name",
        "Bob's Bakery",
        "--by",
        &mr,
        "--node",
        &node,
    ]);
    let company: serde_json::Value =
        serde_json::from_str(&run(&["org", "show", &bob, "--json", "--node", &node])).expect("json");
    assert_eq!((company["kind"].as_str(), company["registered_by"].as_str()), (Some("company"), Some(mr.as_str())));

    // Bob is not an official: his attempt fails with a clear code and exit 3.
    let out = cli(&[
        "org",
        "register",
        "--key",
        &keys("bob"),
        "--org",
        &alice,
        "--kind",
        "company",
        "--name",
        "X",
        "--by",
        &mr,
        "--node",
        &node,
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not_an_official"));

    let trail: serde_json::Value =
        serde_json::from_str(&run(&["audit", "--org", &mr, "--json", "--node", &node])).expect("json");
    let acts: Vec<(&str, &str)> = trail["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| (e["instruction"].as_str().expect("str"), e["official"].as_str().expect("str")))
        .collect();
    assert_eq!(acts, vec![("set_member", mr.as_str()), ("register_organization", alice.as_str())]);

    // Each entry is provable offline against the genesis; a changed byte is refused.
    let index = trail["entries"][1]["index"].as_u64().expect("index").to_string();
    let proof = dir.path().join("audit.proof.json");
    std::fs::write(&proof, run(&["audit", "--prove", &index, "--node", &node])).expect("write");
    let genesis = data.join("genesis.json");
    let verify = |p: &std::path::Path| {
        Command::new(BIN).arg("verify").arg(p).arg("--genesis").arg(&genesis).output().expect("verify")
    };
    let out = verify(&proof);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("did `register_organization`") && said.contains(alice.as_str()), "{said}");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).expect("read")).expect("json");
    let value = doc["claim"]["value"].as_str().expect("value").to_owned();
    let flipped = if value.ends_with('0') { "1" } else { "0" };
    doc["claim"]["value"] = serde_json::Value::String(format!("{}{flipped}", &value[..value.len() - 1]));
    std::fs::write(&proof, doc.to_string()).expect("write");
    assert_eq!(verify(&proof).status.code(), Some(4));
}

#[test]
fn a_council_of_three_departments_accredits_an_issuer_by_two_votes() {
    let dev = Dev::start();
    let node = dev.node.clone();
    let keys = |name: &str| dev.key_path(name);
    let did_of = |name: &str| dev.did(name);
    let run = run_ok;
    let (civil, market, housing) = (did_of("civil-affairs"), did_of("market-regulation"), did_of("housing"));
    assert!(run(&["council", "show", "--node", &node]).contains("3 member(s), 2 approval(s) needed"));

    // Civil affairs proposes that housing may issue property certificates: one approval.
    let vct = "https://civitas.example/vct/property-certificate";
    run(&[
        "council",
        "propose",
        "--key",
        &keys("civil-affairs"),
        "--by",
        &civil,
        "--accredit-issuer",
        &housing,
        "--vct",
        vct,
        "--node",
        &node,
    ]);
    let first = DEMO_PROPOSALS.to_string();
    let p: serde_json::Value =
        serde_json::from_str(&run(&["council", "proposal", &first, "--node", &node])).expect("json");
    assert_eq!(p["status"], "open");
    // A resident cannot vote; the same department cannot vote twice.
    let out = cli(&[
        "council",
        "approve",
        "--key",
        &keys("bob"),
        "--by",
        &did_of("bob"),
        "--proposal",
        &first,
        "--node",
        &node,
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not_a_council_member"));
    let out = cli(&[
        "council",
        "approve",
        "--key",
        &keys("civil-affairs"),
        "--by",
        &civil,
        "--proposal",
        &first,
        "--node",
        &node,
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("already_approved"));
    // Market regulation's approval is the second of three: it passes and executes.
    run(&[
        "council",
        "approve",
        "--key",
        &keys("market-regulation"),
        "--by",
        &market,
        "--proposal",
        &first,
        "--node",
        &node,
    ]);
    let p: serde_json::Value =
        serde_json::from_str(&run(&["council", "proposal", &first, "--node", &node])).expect("json");
    assert_eq!((p["status"].as_str(), p["approvals"].as_array().map(Vec::len)), (Some("executed"), Some(2)));
    let trail = run(&["audit", "--node", &node]);
    assert!(trail.contains("propose") && trail.contains("approve"), "{trail}");

    // The dev chain's validator runs alone, without a p2p address: the council cannot add
    // another (it would stop the chain), and says why.
    let out = cli(&[
        "council",
        "propose",
        "--key",
        &keys("civil-affairs"),
        "--by",
        &civil,
        "--add-validator",
        &"22".repeat(32),
        "--p2p",
        "127.0.0.1:9100",
        "--name",
        "Transport",
        "--node",
        &node,
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("bad_validator_change"));
    assert!(run(&["council", "validators", "--node", &node]).contains("epoch 0 (from height 1): 1 validator(s)"));
}

#[test]
fn a_metro_fare_is_invoiced_reimbursed_once_and_the_tax_totals_match_from_the_cli() {
    let dev = Dev::start();
    let node = dev.node.clone();
    let keys = |name: &str| dev.key_path(name);
    let did_of = |name: &str| dev.did(name);
    let (tax, fares, metro, acme, globex, alice) =
        (did_of("tax"), did_of("metro-fares"), did_of("metro"), did_of("acme"), did_of("globex"), did_of("alice"));
    let tx = |signer: &str, args: &[&str]| {
        let mut all = vec!["invoice"];
        all.extend_from_slice(args);
        let key = keys(signer);
        all.extend_from_slice(&["--key", &key, "--node", &node]);
        cli(&all)
    };
    let ok = |out: Output| {
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let refused = |out: Output, code: &str| {
        assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains(code), "{}", String::from_utf8_lossy(&out.stdout));
    };

    // The tax bureau registers the metro operator; the fare system records three trips.
    let address = ["--street", "1 Century Avenue", "--city", "Shanghai", "--postal-code", "200120", "--country", "CN"];
    let no_country = tx(
        "tax",
        &[
            &["merchant", "--merchant", &metro, "--taxpayer-id", "91310000METRO01"][..],
            &address[..6],
            &["--country", "China", "--by", &tax],
        ]
        .concat(),
    );
    assert_eq!(no_country.status.code(), Some(1), "a country is an ISO 3166-1 alpha-2 code");
    ok(tx(
        "tax",
        &[&["merchant", "--merchant", &metro, "--taxpayer-id", "91310000METRO01"][..], &address[..], &["--by", &tax]]
            .concat(),
    ));
    for (id, amount) in [("trip-1", "400"), ("trip-2", "600"), ("trip-3", "800")] {
        let args = ["pay", "--by", &fares, "--id", id, "--payee", &metro, "--amount", amount, "--payer", "card 6222"];
        ok(tx("metro-fares", &args[..]));
    }
    // Alice asks for an invoice for trip 2: 5.50 net + 9% = 6.00.
    let issue = ["issue", "--by", &metro, "--payment", "trip-2", "--buyer", &alice, "--item", "Metro fare:1:550:900"];
    ok(tx("metro", &issue[..]));
    refused(tx("metro", &issue[..]), "already_invoiced");
    let wrong = ["issue", "--by", &metro, "--payment", "trip-3", "--buyer", &alice, "--item", "Metro fare:1:550:900"];
    refused(tx("metro", &wrong[..]), "amount_mismatch");
    // She submits it to Acme, which reimburses it; Globex's claim and a reversal are refused.
    ok(tx("alice", &["submit", "--number", "1", "--employer", &acme]));
    refused(tx("alice", &["submit", "--number", "1", "--employer", &globex]), "already_claimed");
    ok(tx("acme", &["reimburse", "--number", "1", "--by", &acme]));
    refused(tx("alice", &["submit", "--number", "1", "--employer", &globex]), "already_reimbursed");
    refused(tx("metro", &["reverse", "--number", "1", "--reason", "refund", "--by", &metro]), "already_reimbursed");
    // Trip 3 is invoiced (7.34 + 0.66) and reversed before any claim.
    let issue3 = ["issue", "--by", &metro, "--payment", "trip-3", "--item", "Metro fare:2:367:900"];
    ok(tx("metro", &issue3[..]));
    ok(tx("metro", &["reverse", "--number", "2", "--reason", "refund", "--by", &metro]));

    // Who sees what: alice her invoice; Acme the one submitted to it; Globex nothing.
    let shown = ok(tx("alice", &["show", "1", "--json"]));
    let invoice: serde_json::Value = serde_json::from_str(&shown).expect("json");
    assert_eq!((invoice["status"].as_str(), invoice["total"].as_str()), (Some("reimbursed"), Some("600")));
    ok(tx("acme", &["show", "1", "--as", &acme]));
    let out = tx("globex", &["show", "1", "--as", &globex]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not_allowed"));
    let out = tx("bob", &["show", "1"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not_allowed"));
    let listed = ok(tx("alice", &["list", "--buyer", &alice, "--json"]));
    let page: serde_json::Value = serde_json::from_str(&listed).expect("json");
    assert_eq!(page["invoices"].as_array().map(Vec::len), Some(1));

    // The tax authority's totals match: 2 issued (14.00), 1 reversed (8.00), 1 reimbursed (6.00).
    let totals = ok(tx("tax", &["totals", "--merchant", &metro, "--as", &tax, "--json"]));
    let t: serde_json::Value = serde_json::from_str(&totals).expect("json");
    let fields =
        ["issued_count", "issued_amount", "reversed_count", "reversed_amount", "reimbursed_count", "reimbursed_amount"];
    let got: Vec<String> = fields.iter().map(|f| t[f].to_string().trim_matches('"').to_owned()).collect();
    assert_eq!(got, ["2", "1400", "1", "800", "1", "600"]);
    let out = tx("metro", &["totals", "--as", &metro]);
    assert!(!out.status.success(), "a merchant does not see the chain's totals");
    // Provable: the totals and the invoice verify offline against the genesis.
    let genesis = dev.data.join("genesis.json");
    for (signer, args, name) in [
        ("tax", vec!["totals", "--merchant", metro.as_str(), "--as", tax.as_str(), "--prove"], "totals.json"),
        ("alice", vec!["show", "1", "--prove"], "invoice.json"),
    ] {
        let proof = dev.dir.path().join(name);
        std::fs::write(&proof, ok(tx(signer, &args))).expect("write");
        let said = run_ok(&["verify", proof.to_str().expect("utf-8"), "--genesis", genesis.to_str().expect("utf-8")]);
        assert!(said.contains("verified"), "{said}");
    }
    // UBL export of the invoice and of the credit note.
    let xml = ok(tx("alice", &["export", "1", "--ubl"]));
    assert!(
        xml.contains("<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>")
            && xml.contains(">6.00</cbc:PrepaidAmount>")
            && xml.contains("<cbc:CompanyID>CN91310000METRO01</cbc:CompanyID>")
            && xml.contains("<cbc:CityName>Shanghai</cbc:CityName>"),
        "{xml}"
    );
    let credit = ok(tx("tax", &["export", "3", "--ubl", "--as", &tax]));
    assert!(credit.contains("<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"), "{credit}");
}

#[test]
fn run_at_most_once_a_business_licence_from_two_credentials_under_consent_from_the_cli() {
    let dev = Dev::start();
    let node = dev.node.clone();
    let keys = |name: &str| dev.key_path(name);
    let did_of = |name: &str| dev.did(name);
    let (civil, market, housing, security, alice) = (
        did_of("civil-affairs"),
        did_of("market-regulation"),
        did_of("housing"),
        did_of("public-security"),
        did_of("alice"),
    );
    let wallet = dev.dir.path().join("alice-wallet");
    let wallet = wallet.to_str().expect("utf-8").to_owned();
    let file = |name: &str| dev.dir.path().join(name).to_str().expect("utf-8").to_owned();
    let permit = "https://civitas.example/vct/residence-permit";
    let property = "https://civitas.example/vct/property-certificate";
    let licence = "https://civitas.example/vct/business-licence";
    let purpose = "business licence application";
    let run = |args: &[&str]| run_ok(args);

    // The council accredits the three issuers (two of three departments each time).
    for (n, (issuer, vct)) in [(&security, permit), (&housing, property), (&market, licence)].into_iter().enumerate() {
        dev.accredit(issuer, vct, DEMO_PROPOSALS + n as u64, "housing");
    }
    // Each defines its type: the permit needs consent and approval and shows departments only
    // the name and number; the property certificate needs consent.
    std::fs::write(file("schema.json"), r#"{"type":"object"}"#).expect("write");
    let schema = file("schema.json");
    let define = |name: &str, by: &str, vct: &str, extra: &[&str]| {
        let key = keys(name);
        let mut args =
            vec!["credential", "define", "--key", &key, "--by", by, "--vct", vct, "--schema", &schema, "--node", &node];
        args.extend_from_slice(extra);
        run(&args);
    };
    define(
        "public-security",
        &security,
        permit,
        &["--holder-consent", "--issuer-approval", "--rule", "department:given_name,family_name,permit_number"],
    );
    define("housing", &housing, property, &["--holder-consent"]);
    define("market-regulation", &market, licence, &[]);
    // Alice's permit and property certificate go into her wallet.
    std::fs::write(
        file("permit.json"),
        r#"{"given_name":"Alice","family_name":"Li","permit_number":"RP-0042","address":"1 River Road"}"#,
    )
    .expect("write");
    std::fs::write(file("property.json"), r#"{"owner":"Alice Li","parcel":"CV-17-0042","area_m2":84}"#).expect("write");
    let issue = |issuer: &str, vct: &str, claims: &str, name: &str| {
        run(&[
            "credential",
            "issue",
            "--key",
            &keys(issuer),
            "--vct",
            vct,
            "--claims",
            &file(claims),
            "--holder",
            &alice,
            "--index",
            "0",
            "--wallet",
            &wallet,
            "--name",
            name,
            "--node",
            &node,
        ]);
    };
    issue("public-security", permit, "permit.json", "permit");
    issue("housing", property, "property.json", "property");
    // She consents (once each); public security approves its consent.
    let grant = |issuer: &str, vct: &str, claims: &[&str]| {
        let key = keys("alice");
        let mut args = vec![
            "credential",
            "consent",
            "grant",
            "--key",
            &key,
            "--verifier",
            &market,
            "--issuer",
            issuer,
            "--vct",
            vct,
            "--purpose",
            purpose,
            "--node",
            &node,
        ];
        for c in claims {
            args.extend_from_slice(&["--claim", c]);
        }
        run(&args);
    };
    grant(&security, permit, &["given_name", "permit_number"]);
    grant(&housing, property, &["owner", "parcel"]);
    run(&[
        "credential",
        "consent",
        "approve",
        "--key",
        &keys("public-security"),
        "--consent",
        "1",
        "--by",
        &security,
        "--node",
        &node,
    ]);

    // Market regulation asks for both, with its nonces; each verifies and is recorded.
    let present = |name: &str, claims: &[&str], nonce: &str, out: &str| {
        let key = keys("alice");
        let mut args = vec![
            "credential",
            "present",
            "--wallet",
            &wallet,
            "--name",
            name,
            "--key",
            &key,
            "--aud",
            &market,
            "--nonce",
            nonce,
        ];
        for c in claims {
            args.extend_from_slice(&["--claim", c]);
        }
        std::fs::write(file(out), run(&args)).expect("write");
    };
    let verify = |out: &str, nonce: &str, consent: &str| {
        cli(&[
            "credential",
            "verify",
            "--presentation",
            &file(out),
            "--aud",
            &market,
            "--nonce",
            nonce,
            "--purpose",
            purpose,
            "--consent",
            consent,
            "--record",
            "--key",
            &keys("market-regulation"),
            "--by",
            &market,
            "--node",
            &node,
            "--json",
        ])
    };
    present("permit", &["given_name", "permit_number"], "n-1", "p1.txt");
    let out = verify("p1.txt", "n-1", "1");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("\"permit_number\": \"RP-0042\"") && !said.contains("1 River Road"), "{said}");
    present("property", &["owner", "parcel"], "n-2", "p2.txt");
    assert_eq!(verify("p2.txt", "n-2", "2").status.code(), Some(0));
    // Market regulation issues the licence.
    std::fs::write(file("licence.json"), r#"{"holder":"Alice Li","activity":"bakery"}"#).expect("write");
    issue("market-regulation", licence, "licence.json", "licence");
    assert!(std::fs::read_to_string(dev.dir.path().join("alice-wallet/licence.sdjwt")).is_ok());

    // The permit is revoked: verification fails with the reason, and the failure is logged.
    run(&[
        "credential",
        "set-status",
        "--key",
        &keys("public-security"),
        "--by",
        &security,
        "--index",
        "0",
        "--status",
        "revoked",
        "--node",
        &node,
    ]);
    present("permit", &["given_name"], "n-3", "p3.txt");
    let out = verify("p3.txt", "n-3", "1");
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stdout).contains("credential_revoked"));
    // She withdraws the property consent: the next verification fails for that reason.
    run(&["credential", "consent", "withdraw", "--key", &keys("alice"), "--consent", "2", "--node", &node]);
    present("property", &["owner"], "n-4", "p4.txt");
    let out = verify("p4.txt", "n-4", "2");
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stdout).contains("consent_withdrawn"));
    // A presentation made for another verifier does not pass either.
    let out = cli(&[
        "credential",
        "verify",
        "--presentation",
        &file("p2.txt"),
        "--aud",
        &civil,
        "--nonce",
        "n-2",
        "--purpose",
        purpose,
        "--node",
        &node,
    ]);
    assert_eq!(out.status.code(), Some(4));

    // Her access log shows exactly the four verifications that were recorded.
    let log: serde_json::Value =
        serde_json::from_str(&run(&["credential", "access-log", "--key", &keys("alice"), "--node", &node]))
            .expect("json");
    let outcomes: Vec<&str> =
        log["entries"].as_array().expect("entries").iter().map(|e| e["outcome"].as_str().expect("outcome")).collect();
    assert_eq!(outcomes, ["ok", "ok", "credential_revoked", "consent_withdrawn"]);
    // The revocation is provable from the status list.
    let proof = file("status.json");
    std::fs::write(
        &proof,
        run(&["credential", "status", "--issuer", &security, "--index", "0", "--prove", "--node", &node]),
    )
    .expect("write");
    let genesis = dev.data.join("genesis.json");
    let said = run(&["verify", &proof, "--genesis", genesis.to_str().expect("utf-8")]);
    assert!(said.contains("is revoked"), "{said}");
    // And readable by relying parties from a Token Status List token the issuer signs.
    let token =
        run(&["credential", "status-list-token", "--key", &keys("public-security"), "--index", "0", "--node", &node]);
    let issuer_key =
        civitas_client::sdjwt::VerifyingKey::ed25519(&key(&dev.data, "public-security").public_key()).expect("key");
    let uri = format!("{node}/v1/credentials/status-list/{security}/0");
    assert_eq!(civitas_client::sdjwt::status_list::read(token.trim(), &issuer_key, &uri, 0), Ok(1), "revoked");
}

#[test]
fn an_issuer_anchors_credentials_it_signed_with_other_software_from_the_cli() {
    use civitas_client::sdjwt::{self, Credential, SigningKey, VerifyingKey};
    use serde_json::{Map, Value, json};

    let dev = Dev::start();
    let node = dev.node.clone();
    let keys = |name: &str| dev.key_path(name);
    let did_of = |name: &str| dev.did(name);
    let file = |name: &str| dev.dir.path().join(name).to_str().expect("utf-8").to_owned();
    let (market, housing) = (did_of("market-regulation"), did_of("housing"));
    let property = "https://civitas.example/vct/property-certificate";
    let run = |args: &[&str]| run_ok(args);

    // The council accredits housing; housing defines the type (no consent needed to verify).
    dev.accredit(&housing, property, DEMO_PROPOSALS, "market-regulation");
    std::fs::write(file("schema.json"), r#"{"type":"object"}"#).expect("write");
    let schema = file("schema.json");
    let housing_key = keys("housing");
    run(&[
        "credential",
        "define",
        "--key",
        &housing_key,
        "--by",
        &housing,
        "--vct",
        property,
        "--schema",
        &schema,
        "--node",
        &node,
    ]);
    // Its credential software signs with ES256: the P-256 key (the scalar 1, whose public key is
    // the generator) is an assertion method of its DID document.
    let es256 = SigningKey::p256_from_bytes(&{
        let mut one = [0u8; 32];
        one[31] = 1;
        one
    })
    .expect("scalar");
    let generator = "036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";
    std::fs::write(
        file("housing-did.json"),
        json!({ "methods": [{ "id": "vc-es256", "key_type": "P-256", "public_key": generator,
            "relations": ["assertionMethod"] }] })
        .to_string(),
    )
    .expect("write");
    run(&["did", "update", "--key", &housing_key, "--document", &file("housing-did.json"), "--node", &node]);

    // Other software issues two property certificates to Alice, with the SDK: EdDSA with the
    // organization's own key (#key-0) at entry 7, ES256 at entry 8, and one at entry 9.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    let alice = VerifyingKey::ed25519(&key(&dev.data, "alice").public_key()).expect("alice's key");
    let certificate = |idx: u32| {
        let mut visible = Map::new();
        visible.insert("iss".into(), json!(housing));
        visible.insert("vct".into(), json!(property));
        visible.insert("iat".into(), json!(now));
        visible.insert("exp".into(), json!(now + 86_400));
        let uri = format!("{node}/v1/credentials/status/{housing}/{idx}");
        visible.insert("status".into(), json!({ "status_list": { "idx": idx, "uri": uri } }));
        let mut disclosable = Map::new();
        disclosable.insert("owner".into(), json!("Alice Li"));
        disclosable.insert("parcel".into(), json!(format!("CV-17-00{idx}")));
        Credential { visible, disclosable, holder: Some(alice.clone()) }
    };
    let mut n = 0u8;
    let mut salt = move || {
        n += 1;
        [n; 16]
    };
    let eddsa = SigningKey::Ed25519(key(&dev.data, "housing"));
    let first = sdjwt::issue(&eddsa, Some("#key-0"), &certificate(7), &mut salt, 1).expect("issue");
    let second =
        sdjwt::issue(&es256, Some(&format!("{housing}#vc-es256")), &certificate(8), &mut salt, 1).expect("issue");
    let third = sdjwt::issue(&eddsa, Some("#key-0"), &certificate(9), &mut salt, 1).expect("issue");
    let anchor =
        |name: &str| cli(&["credential", "anchor", "--key", &housing_key, "--file", &file(name), "--node", &node]);
    let status = |index: &str| cli(&["credential", "status", "--issuer", &housing, "--index", index, "--node", &node]);
    for (issuance, name, index) in [(&first, "first.sdjwt", "7"), (&second, "second.sdjwt", "8")] {
        std::fs::write(file(name), format!("{issuance}\n")).expect("write");
        let out = anchor(name);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}{said}", String::from_utf8_lossy(&out.stdout));
        let commitment = civitas_types::Hash::digest(issuance.split('~').next().expect("jwt").as_bytes()).to_hex();
        assert!(said.contains(&commitment) && said.contains(&format!("at entry {index}")), "{said}");
        let s: Value = serde_json::from_slice(&status(index).stdout).expect("json");
        assert_eq!(
            (s["status"].as_str(), s["vct"].as_str(), s["commitment"].as_str()),
            (Some("valid"), Some(property), Some(commitment.as_str()))
        );
    }

    // Alice presents the ES256 one to market regulation; it verifies against the chain.
    let wallet = file("alice-wallet");
    std::fs::create_dir_all(&wallet).expect("wallet");
    std::fs::write(dev.dir.path().join("alice-wallet/property.sdjwt"), &second).expect("write");
    let presentation = run(&[
        "credential",
        "present",
        "--wallet",
        &wallet,
        "--name",
        "property",
        "--key",
        &keys("alice"),
        "--claim",
        "parcel",
        "--aud",
        &market,
        "--nonce",
        "n-1",
    ]);
    std::fs::write(file("p.txt"), &presentation).expect("write");
    let said = run(&[
        "credential",
        "verify",
        "--presentation",
        &file("p.txt"),
        "--aud",
        &market,
        "--nonce",
        "n-1",
        "--purpose",
        "market stall permit",
        "--node",
        &node,
    ]);
    assert!(said.starts_with("valid: ") && said.contains("CV-17-008"), "{said}");

    // Refused before the chain, with the reason and a non-zero exit: a tampered signature, a
    // presentation, another issuer's --by. Nothing is anchored at entry 9.
    let jwt_len = third.find('~').expect("~");
    let mut tampered = third.clone().into_bytes();
    tampered[jwt_len - 20] = if tampered[jwt_len - 20] == b'A' { b'B' } else { b'A' };
    std::fs::write(file("tampered.sdjwt"), &tampered).expect("write");
    let out = anchor("tampered.sdjwt");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("cannot be anchored") && said.contains("bad_issuer_signature"), "{said}");
    let out = anchor("p.txt");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_an_issuance"));
    std::fs::write(file("third.sdjwt"), &third).expect("write");
    let out = cli(&[
        "credential",
        "anchor",
        "--key",
        &housing_key,
        "--file",
        &file("third.sdjwt"),
        "--by",
        &market,
        "--node",
        &node,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("an issuer anchors its own credentials"));
    assert!(!status("9").status.success(), "nothing anchored at 9");
    // The chain refuses an entry used twice (exit 3, with its code).
    let out = anchor("first.sdjwt");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("bad_status_index"));

    // A holder binds a P-256 wallet key: Alice makes one, adds it to her DID document as an
    // authentication method, housing issues to it, she presents with it, and the verification
    // (recorded) shows in her access log for that key.
    let wallet_key = file("alice-p256.key");
    let method: Value =
        serde_json::from_str(&run(&["keys", "new", "--p256", "--out", &wallet_key, "--method-id", "wallet"]))
            .expect("method JSON");
    assert_eq!((method["key_type"].as_str(), method["id"].as_str()), (Some("P-256"), Some("wallet")));
    std::fs::write(file("alice-did.json"), json!({ "methods": [method] }).to_string()).expect("write");
    run(&["did", "update", "--key", &keys("alice"), "--document", &file("alice-did.json"), "--node", &node]);
    std::fs::write(file("claims.json"), r#"{"owner":"Alice Li","parcel":"CV-17-010"}"#).expect("write");
    let alice_did = did_of("alice");
    let issue = |holder_key: &str| {
        cli(&[
            "credential",
            "issue",
            "--key",
            &housing_key,
            "--vct",
            property,
            "--claims",
            &file("claims.json"),
            "--holder",
            &alice_did,
            "--holder-key",
            holder_key,
            "--index",
            "10",
            "--wallet",
            &wallet,
            "--name",
            "p256",
            "--node",
            &node,
        ])
    };
    let out = issue("nope");
    assert_eq!(out.status.code(), Some(1), "a method the holder's document does not have");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_listed"));
    let out = issue("wallet");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let present = |key: &str| {
        run(&[
            "credential",
            "present",
            "--wallet",
            &wallet,
            "--name",
            "p256",
            "--key",
            key,
            "--claim",
            "parcel",
            "--aud",
            &market,
            "--nonce",
            "n-2",
        ])
    };
    let verify = |presentation: &str, record: bool| {
        let path = file("p2.txt");
        std::fs::write(&path, presentation).expect("write");
        let mut args = vec![
            "credential",
            "verify",
            "--presentation",
            &path,
            "--aud",
            &market,
            "--nonce",
            "n-2",
            "--purpose",
            "market stall permit",
            "--node",
            &node,
        ];
        let market_key = keys("market-regulation");
        if record {
            args.extend(["--record", "--key", &market_key, "--by", &market]);
        }
        cli(&args)
    };
    let by_account = verify(&present(&keys("alice")), false);
    assert_eq!(by_account.status.code(), Some(4), "the account key is not the key the credential binds");
    let by_wallet = verify(&present(&wallet_key), true);
    let said = String::from_utf8_lossy(&by_wallet.stdout);
    assert!(by_wallet.status.success() && said.starts_with("valid: ") && said.contains("CV-17-010"), "{said}");
    let log = |holder_key: Option<&str>| -> Value {
        let alice_key = keys("alice");
        let mut args = vec!["credential", "access-log", "--key", &alice_key, "--node", &node];
        args.extend(holder_key.iter().flat_map(|k| ["--holder-key", *k]));
        serde_json::from_str(&run(&args)).expect("json")
    };
    let entries = log(Some("wallet"));
    assert_eq!(entries["entries"].as_array().map(Vec::len), Some(1), "{entries}");
    assert_eq!(entries["entries"][0]["outcome"], "ok");
    assert_eq!(log(None)["entries"].as_array().map(Vec::len), Some(0), "none about her account key");
    let alice_key = keys("alice");
    let out = cli(&["credential", "access-log", "--key", &alice_key, "--holder-key", "nope", "--node", &node]);
    assert_eq!(out.status.code(), Some(1), "a method her document does not have");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown_holder_key"));
}

/// Runs `civitas dev` on `data_dir` expecting it to stop by itself with an error; its stderr.
fn dev_refused(data_dir: &Path) -> String {
    let mut child = Command::new(BIN)
        .args(["dev", "--data-dir"])
        .arg(data_dir)
        .args(["--http", &format!("127.0.0.1:{}", free_port())])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start civitas dev");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("civitas dev kept running on {}", data_dir.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr).expect("read");
    assert!(!status.success(), "{stderr}");
    stderr
}

/// Operators' mistakes stop a node with a message that says what to do, before it touches
/// the chain: a second process on a data directory in use, and a genesis file changed after
/// the store was made from it.
#[test]
fn a_second_process_on_one_data_directory_and_a_changed_genesis_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let (first, client) = start_dev(&data, free_port());
    let height = client.status().expect("status").height;
    let said = dev_refused(&data);
    assert!(said.contains("another process has the store") && said.contains("already running"), "{said}");
    assert!(client.status().expect("the first goes on").height >= height);
    drop(first);
    let path = data.join("genesis.json");
    let text = std::fs::read_to_string(&path).expect("genesis");
    std::fs::write(&path, text.replacen("\"balance\": \"10000\"", "\"balance\": \"10001\"", 1)).expect("write");
    assert_ne!(std::fs::read_to_string(&path).expect("genesis"), text, "the genesis changed");
    let said = dev_refused(&data);
    assert!(said.contains("a chain from another genesis"), "{said}");
}
