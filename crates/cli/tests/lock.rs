//! Door-lock event logs end to end, with real processes: a `civitas dev` chain and a `civitas
//! gateway` run by homehub. Alice names the gateway for her gas stove (the dev chain's demo
//! device, standing in for a lock) and publishes an X25519 key agreement key, as bob does; she
//! grants bob guest access. The stove's events come from `civitas lock event`. The gateway is
//! killed with SIGKILL while its batch is pending, then made to exit right after its anchor
//! commits and before it marks it, and restarted each time on the same data directory: every
//! acknowledged event still gets a receipt `civitas verify` accepts, alice opens every payload,
//! bob only his own, the gateway none, the audit passes (also after alice erases a payload), and
//! refused inputs say why and store nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use civitas_client::Client;
use civitas_types::device::DeviceId;
use civitas_types::log::{EventHeader, SignedEvent};
use civitas_types::{Did, Hash, SecretKey, keyfile};
use serde_json::{Value, json};

mod common;

use common::{BIN, Proc, free_port, start_dev};

/// A dev chain process, driven through the CLI.
struct Dev {
    dir: tempfile::TempDir,
    data: PathBuf,
    node: String,
    _proc: Proc,
}

impl Dev {
    fn start() -> Dev {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("dev");
        let (proc, node) = start_dev(&data);
        Dev { dir, data, node, _proc: proc }
    }

    fn key_path(&self, name: &str) -> String {
        path(&self.data.join(format!("keys/{name}.key")))
    }

    fn did(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.key_path(name)).expect("key file");
        Did::from_initial_key(&keyfile::parse(&text).expect("valid key file").public_key()).to_string()
    }

    fn file(&self, name: &str) -> String {
        path(&self.dir.path().join(name))
    }

    /// Runs a transaction as `signer`; it must commit.
    fn tx(&self, signer: &str, args: &[&str]) -> String {
        let key = self.key_path(signer);
        let args = [args, &["--key", &key, "--node", &self.node]].concat();
        let out = ok(&args);
        assert!(out.starts_with("committed "), "{args:?}: {out}");
        out
    }
}

fn path(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_owned()
}

fn cli(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run civitas")
}

/// Runs the CLI; it must succeed. Returns its stdout.
fn ok(args: &[&str]) -> String {
    let out = cli(args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the CLI; it must exit with `code` and name `says` on stderr.
fn fails(args: &[&str], code: i32, says: &str) {
    let out = cli(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stderr.contains(says), "{args:?}: expected `{says}` in {stderr}");
}

/// Writes homehub's gateway configuration for `dev` on `port`, anchoring every `interval_ms`;
/// returns its path.
fn gateway_config(dev: &Dev, port: u16, interval_ms: u64) -> String {
    let text = format!(
        "node = \"{}\"\nkey = \"{}\"\nlisten = \"127.0.0.1:{port}\"\ndata_dir = \"gateway\"\n\n[batch]\nevents_max = 100\ninterval_ms = {interval_ms}\n",
        dev.node,
        dev.key_path("homehub")
    );
    let file = dev.file(&format!("gateway-{interval_ms}.toml"));
    std::fs::write(&file, text).expect("write the config");
    file
}

/// A gateway process on `config`, answering at `url` (`crash`: it exits after its first anchor
/// commits).
fn start_gateway(config: &str, url: &str, log: &str, crash: bool) -> Proc {
    let mut command = Command::new(BIN);
    command.args(["gateway", "--config", config]).stdout(Stdio::null());
    command.stderr(std::fs::File::create(log).expect("gateway log"));
    if crash {
        command.env("CIVITAS_GATEWAY_CRASH_AFTER_ANCHOR", "1");
    }
    let proc = Proc(command.spawn().expect("start civitas gateway"));
    let start = Instant::now();
    while ureq::get(&format!("{url}/v1/status")).call().is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "the gateway did not come up: {}", read(log));
        std::thread::sleep(Duration::from_millis(50));
    }
    proc
}

fn read(file: &str) -> String {
    std::fs::read_to_string(file).unwrap_or_default()
}

fn get(url: &str) -> Value {
    ureq::get(url).call().expect("GET").body_mut().read_json().expect("JSON")
}

#[test]
fn lock_events_survive_a_killed_gateway_and_verify_offline() {
    let dev = Dev::start();
    let node = dev.node.as_str();
    let stove_key = dev.key_path("gas-stove");
    let stove_id = DeviceId(keyfile::parse(&read(&stove_key)).expect("the stove's key").public_key());
    let stove = stove_id.to_string();
    let (bob, hub) = (dev.did("bob"), dev.did("homehub"));
    let genesis = path(&dev.data.join("genesis.json"));
    let client = Client::new(node);
    let hub_nonce = || client.account(&hub.parse().expect("a DID")).expect("read").expect("homehub's account").nonce;
    let nonce_before = hub_nonce();

    // The gateway: homehub's account, a batch interval long enough that nothing is anchored
    // before the first kill.
    let port = free_port();
    let gw = format!("http://127.0.0.1:{port}");
    let (slow, quick) = (gateway_config(&dev, port, 600_000), gateway_config(&dev, port, 100));
    let gateway = start_gateway(&slow, &gw, &dev.file("gateway-1.log"), false);

    // Alice names it for her stove; alice and bob publish key agreement keys; bob is her guest.
    dev.tx("alice", &["lock", "gateway", "--device", &stove, "--gateway", &hub]);
    for who in ["alice", "bob", "homehub"] {
        let key = dev.file(&format!("{who}-x25519.key"));
        let made: Value =
            serde_json::from_str(&ok(&["keys", "new", "--x25519", "--json", "--out", &key])).expect("JSON");
        if who != "homehub" {
            let doc = dev.file(&format!("{who}-did.json"));
            std::fs::write(&doc, json!({ "methods": [made["method"]] }).to_string()).expect("write");
            dev.tx(who, &["did", "update", "--document", &doc]);
        }
    }
    dev.tx(
        "alice",
        &["device", "grant", "--device", &stove, "--controller", &bob, "--capabilities", "ignite", "--hours", "1"],
    );

    // The stove's events, signed with `key`.
    let event_by = |key: &str, extra: &[&str]| -> Vec<String> {
        let base = ["lock", "event", "--device-key", key, "--gateway", &gw, "--node", node];
        let what = ["--event", "flame_out", "--operation", "unlock", "--source", "keypad"];
        [&base[..], &what, extra].concat().into_iter().map(str::to_owned).collect()
    };
    let event = |extra: &[&str]| event_by(&stove_key, extra);
    let post = |extra: &[&str]| {
        let args = event(extra);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let refused_by = |key: &str, extra: &[&str], code: &str| {
        let args = event_by(key, extra);
        fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), 3, code);
    };
    let refused = |extra: &[&str], code: &str| refused_by(&stove_key, extra, code);
    assert!(post(&["--who", "Alice", "--credential", "pin 1"]).starts_with("stored event 0 of "));
    assert!(
        post(&["--who", "Bob the guest", "--credential", "guest code", "--guest", &bob]).starts_with("stored event 1 ")
    );
    let status = get(&format!("{gw}/v1/status"));
    assert_eq!(status["pending_events"], 2, "both events wait for their anchor: {status}");

    // SIGKILL with the batch pending; back on the same data directory, the gateway anchors the
    // batch and is made to exit before it can mark it anchored.
    drop(gateway);
    let mut crashing = start_gateway(&quick, &gw, &dev.file("gateway-2.log"), true);
    let start = Instant::now();
    while crashing.0.try_wait().expect("wait").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the gateway did not anchor: {}",
            read(&dev.file("gateway-2.log"))
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = client.log_device(&stove_id).expect("read").expect("the stove's log");
    assert_eq!((log.head.next_seq, log.anchors), (2, 1), "the anchor committed");
    let crashed_anchor = log.head.anchor;

    // Restarted, it finds that anchor on chain rather than anchoring the events twice.
    let _gateway = start_gateway(&quick, &gw, &dev.file("gateway-3.log"), false);
    assert!(post(&["--who", "Alice", "--credential", "rfid tag 7"]).starts_with("stored event 2 "));
    assert!(
        post(&["--who", "Bob the guest", "--credential", "guest code", "--guest", &bob]).starts_with("stored event 3 ")
    );

    // Refused inputs: each says why, and nothing of them is stored.
    refused(&["--who", "Mallory", "--seq", "0"], "sequence_repeat");
    refused(&["--who", "Mallory", "--seq", "9"], "sequence_gap");
    refused(&["--who", "Mallory", "--payload-bytes", "65536"], "payload_too_large");
    refused_by(&dev.key_path("range-hood"), &["--who", "Mallory", "--device", &stove], "bad_signature");
    let stove_by = ["lock", "event", "--device-key", &stove_key, "--gateway", &gw, "--node", node];
    fails(&[&stove_by[..], &["--event", "lock_operation", "--who", "Mallory"]].concat(), 3, "undeclared_event");
    let hood = ["lock", "event", "--device-key", &dev.key_path("range-hood"), "--gateway", &gw, "--node", node];
    fails(&[&hood[..], &["--event", "grease_filter_full", "--who", "Mallory"]].concat(), 3, "not_my_device");
    // Once alice revokes bob's grant, the lock cannot log a guest entry for him.
    dev.tx("alice", &["device", "revoke-grant", "--device", &stove, "--controller", &bob]);
    refused(&["--who", "Bob the guest", "--guest", &bob], "guest_not_granted");
    // Straight to the API, one batch of three bad events, each refused with its own code.
    let head = get(&format!("{gw}/v1/devices/{stove}/head"));
    let last = Hash::from_hex(head["last_hash"].as_str().expect("a hash")).expect("a hash");
    let chain_id = client.status().expect("status").chain_id;
    let stove_secret = keyfile::parse(&read(&stove_key)).expect("the stove's key");
    let signed = |key: &SecretKey, seq: u64, prev: Hash, payload: &[u8]| {
        let header = EventHeader {
            device: DeviceId(key.public_key()),
            seq,
            prev,
            time_ms: 1,
            event: "flame_out".into(),
            fields: vec![],
            payloads: vec![Hash::digest(payload)],
        };
        SignedEvent { signature: key.sign(&header.signing_bytes(&chain_id)), header }
    };
    let sealed = hex::encode([7u8; 64]);
    let batch = json!({ "events": [
        { "event": signed(&SecretKey::from_seed([42; 32]), 0, Hash([0; 32]), &[7; 64]), "payloads": [sealed] },
        { "event": signed(&stove_secret, 4, Hash([0; 32]), &[7; 64]), "payloads": [sealed] },
        { "event": signed(&stove_secret, 4, last, &[7; 64]), "payloads": [hex::encode([8u8; 64])] },
    ]});
    let answer: Value =
        ureq::post(&format!("{gw}/v1/events")).send_json(&batch).expect("POST").body_mut().read_json().expect("JSON");
    let codes: Vec<&str> =
        answer["results"].as_array().expect("results").iter().filter_map(|r| r["error"]["code"].as_str()).collect();
    assert_eq!(codes, ["unknown_device", "wrong_prev", "payload_mismatch"], "{answer}");
    // Nothing of them was stored.
    assert_eq!(get(&format!("{gw}/v1/devices/{stove}/head"))["next_seq"], 4);
    let page = get(&format!("{gw}/v1/events/{stove}"));
    assert_eq!(page["events"].as_array().map(Vec::len), Some(4), "{page}");

    // Every acknowledged event has a receipt that verifies offline; events 0 and 1 are in the
    // anchor the crashed gateway made.
    for seq in 0..4 {
        let receipt = ok(&["lock", "receipt", "--gateway", &gw, "--device", &stove, "--seq", &seq.to_string()]);
        let doc: Value = serde_json::from_str(&receipt).expect("a proof document");
        if seq < 2 {
            assert_eq!(doc["claim"]["anchor"], crashed_anchor, "{doc}");
        }
        let file = dev.file(&format!("receipt-{seq}.json"));
        std::fs::write(&file, receipt).expect("write the receipt");
        let verified = ok(&["verify", &file, "--genesis", &genesis]);
        assert!(verified.contains(&format!("device {stove} signed event {seq} (flame_out")), "{verified}");
        assert!(verified.contains(&format!("gateway {hub} anchored it")), "{verified}");
    }
    let log = client.log_device(&stove_id).expect("read").expect("the stove's log");
    assert_eq!(log.head.next_seq, 4);
    assert_eq!(hub_nonce() - nonce_before, log.anchors, "every anchor transaction succeeded: none was sent twice");

    // Alice opens every payload; bob only his own; the gateway itself, none.
    let read_as = |who: &str, json: bool| {
        let (key, x) = (dev.key_path(who), dev.file(&format!("{who}-x25519.key")));
        let args = ["lock", "read", "--gateway", &gw, "--key", &key, "--x25519-key", &x, "--device", &stove];
        ok(&if json { [&args[..], &["--json"]].concat() } else { args.to_vec() })
    };
    let alice_reads = read_as("alice", false);
    assert_eq!(alice_reads.matches("\"who\":\"Alice\"").count(), 2, "{alice_reads}");
    assert_eq!(alice_reads.matches("\"who\":\"Bob the guest\"").count(), 2, "{alice_reads}");
    assert!(alice_reads.contains("rfid tag 7") && alice_reads.contains(&bob), "{alice_reads}");
    let bob_reads = read_as("bob", false);
    assert_eq!(bob_reads.matches("\"who\":\"Bob the guest\"").count(), 2, "{bob_reads}");
    assert!(!bob_reads.contains("Alice") && !bob_reads.contains("rfid"), "{bob_reads}");
    assert_eq!(bob_reads.matches("(not yours payload").count(), 4, "{bob_reads}");
    let hub_reads = read_as("homehub", false);
    assert!(!hub_reads.contains("\"who\""), "{hub_reads}");
    assert_eq!(hub_reads.matches("(not yours payload").count(), 6, "{hub_reads}");

    // The audit passes: all there, chained, anchored without a gap, receipts verified.
    let audit =
        ["lock", "audit", "--gateway", &gw, "--device", &stove, "--from", "0", "--to", "3", "--genesis", &genesis];
    let passed = ok(&audit);
    assert!(passed.starts_with("audit passed: events 0 to 3"), "{passed}");
    fails(&[&audit[..8], &["--to", "4", "--genesis", &genesis]].concat(), 4, "event 4 is missing");

    // Alice erases event 0's payload (bob may not): the payload is gone, the anchor stays.
    let listed: Value = serde_json::from_str(&read_as("alice", true)).expect("JSON");
    let first = listed[0]["payloads"][0]["hash"].as_str().expect("a payload hash").to_owned();
    let bobs = listed[1]["payloads"][1]["hash"].as_str().expect("the guest's payload").to_owned();
    fails(&["lock", "erase", "--gateway", &gw, "--key", &dev.key_path("bob"), "--blob", &bobs], 1, "not_the_owner");
    let erased = ok(&["lock", "erase", "--gateway", &gw, "--key", &dev.key_path("alice"), "--blob", &first]);
    assert!(erased.starts_with("erased payload"), "{erased}");
    let alice_reads = read_as("alice", false);
    assert!(alice_reads.contains(&format!("(erased payload {first})")), "{alice_reads}");
    assert_eq!(alice_reads.matches("\"who\":\"Alice\"").count(), 1, "{alice_reads}");
    assert!(ok(&audit).starts_with("audit passed"));
}

#[test]
fn a_device_decommissioned_or_moved_while_its_events_wait_is_set_aside_and_the_others_are_anchored() {
    let dev = Dev::start();
    let node = dev.node.as_str();
    let key_of = |file: &str| DeviceId(keyfile::parse(&read(&dev.key_path(file))).expect("a key").public_key());
    let (stove, hood, door) = (key_of("gas-stove"), key_of("range-hood"), key_of("door-lock"));
    let hub = dev.did("homehub");
    let genesis = path(&dev.data.join("genesis.json"));
    let client = Client::new(node);
    // Alice's key agreement key, so the devices can seal for her; her stove and hood join the
    // door lock (which the demo gave homehub already) at homehub's gateway.
    let x25519 = dev.file("alice-x25519.key");
    let made: Value =
        serde_json::from_str(&ok(&["keys", "new", "--x25519", "--json", "--out", &x25519])).expect("JSON");
    let doc = dev.file("alice-did.json");
    std::fs::write(&doc, json!({ "methods": [made["method"]] }).to_string()).expect("write");
    dev.tx("alice", &["did", "update", "--document", &doc]);
    for device in [stove, hood] {
        dev.tx("alice", &["lock", "gateway", "--device", &device.to_string(), "--gateway", &hub]);
    }
    let port = free_port();
    let gw = format!("http://127.0.0.1:{port}");
    let (slow, quick) = (gateway_config(&dev, port, 600_000), gateway_config(&dev, port, 100));
    let gateway = start_gateway(&slow, &gw, &dev.file("gateway-1.log"), false);
    let post = |file: &str, event: &str| {
        let key = dev.key_path(file);
        let args = ["lock", "event", "--device-key", &key, "--gateway", &gw, "--node", node, "--event", event];
        let out = ok(&[&args[..], &["--operation", "unlock", "--source", "keypad", "--who", "Alice"]].concat());
        assert!(out.starts_with("stored event 0 "), "{out}");
    };
    post("gas-stove", "flame_out");
    post("range-hood", "grease_filter_full");
    post("door-lock", "lock_operation");
    // While they wait: alice decommissions the stove and names bob's gateway for the hood.
    dev.tx("alice", &["device", "set-status", "--device", &stove.to_string(), "--status", "decommissioned"]);
    dev.tx("alice", &["lock", "gateway", "--device", &hood.to_string(), "--gateway", &dev.did("bob")]);
    drop(gateway);
    let _gateway = start_gateway(&quick, &gw, &dev.file("gateway-2.log"), false);
    // The door lock's event is anchored and its receipt verifies; the other two are set aside,
    // and say why.
    let receipt = ok(&["lock", "receipt", "--gateway", &gw, "--device", &door.to_string(), "--seq", "0"]);
    let file = dev.file("door-0.json");
    std::fs::write(&file, receipt).expect("write the receipt");
    assert!(ok(&["verify", &file, "--genesis", &genesis]).contains(&format!("gateway {hub} anchored it")));
    let start = Instant::now();
    let status = loop {
        let status = get(&format!("{gw}/v1/status"));
        if status["blocked"].as_array().is_some_and(|b| b.len() == 2) || start.elapsed() > Duration::from_secs(20) {
            break status;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let blocked = status["blocked"].to_string();
    assert!(blocked.contains(&stove.to_string()) && blocked.contains(&hood.to_string()), "{status}");
    for device in [stove, hood] {
        assert_eq!(client.log_device(&device).expect("read").expect("a log").head.next_seq, 0, "nothing anchored");
        let out = cli(&[
            "lock",
            "receipt",
            "--gateway",
            &gw,
            "--device",
            &device.to_string(),
            "--seq",
            "0",
            "--wait-secs",
            "1",
        ]);
        assert!(!out.status.success(), "no receipt for a set-aside device's event");
    }
}
