//! Rentals end to end, from the CLI alone, against a real `civitas dev` process. The demo made
//! listing 0 and lease 0 (alice the landlord, bob the tenant, the deposit of 2,400 in escrow,
//! the first month paid, bob granted the front-door lock). Here anyone proves the listing and the
//! property offline with `civitas verify`; bob proves his lease (what a tenant shows for a
//! residence permit); bob pays another month; both parties terminate; alice claims 400 from the
//! deposit and bob accepts, which releases it and ends bob's lock grant; refused inputs fail with
//! their stable codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use civitas_types::{Did, keyfile};

mod common;

use common::{BIN, Proc, start_dev};

struct Dev {
    dir: tempfile::TempDir,
    data: PathBuf,
    node: String,
    _proc: Proc,
}

impl Dev {
    fn key_path(&self, name: &str) -> String {
        path(&self.data.join(format!("keys/{name}.key")))
    }

    fn did(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.key_path(name)).expect("key file");
        Did::from_initial_key(&keyfile::parse(&text).expect("valid key file").public_key()).to_string()
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN).args(args).args(["--node", &self.node]).output().expect("run civitas")
    }

    fn ok(&self, args: &[&str]) -> String {
        expect_ok(args, self.cli(args))
    }

    /// `civitas rental ARGS --key <signer's key>`; it must commit.
    fn act(&self, signer: &str, args: &[&str]) {
        let key = self.key_path(signer);
        let args = [&["rental"], args, &["--key", &key]].concat();
        let out = self.ok(&args);
        assert!(out.starts_with("committed "), "{args:?}: {out}");
    }

    /// As [`Dev::act`]; it must fail on chain (exit 3) with `code`.
    fn refused(&self, signer: &str, args: &[&str], code: &str) {
        let key = self.key_path(signer);
        let args = [&["rental"], args, &["--key", &key]].concat();
        let out = self.cli(&args);
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(3), "{args:?}: {said}");
        assert!(said.contains(&format!(": {code}: ")), "{args:?}: expected {code}, got {said}");
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(&[args, &["--json"]].concat())).expect("JSON")
    }

    /// Lease `id` as its party `signer` reads it (a signed read).
    fn lease(&self, signer: &str, id: &str) -> serde_json::Value {
        self.json(&["rental", "lease", id, "--key", &self.key_path(signer)])
    }

    fn prove_and_verify(&self, args: &[&str], name: &str) -> String {
        let file = self.dir.path().join(name);
        std::fs::write(&file, self.ok(args)).expect("write the proof");
        let genesis = path(&self.data.join("genesis.json"));
        let verify = ["verify", &path(&file), "--genesis", &genesis];
        expect_ok(&verify, Command::new(BIN).args(verify).output().expect("run civitas verify"))
    }
}

fn path(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_owned()
}

fn expect_ok(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An amount in the JSON, written as a string or a number.
fn amount(v: &serde_json::Value) -> u128 {
    match v {
        serde_json::Value::String(s) => s.parse().expect("an amount"),
        serde_json::Value::Number(n) => n.as_u64().expect("an amount").into(),
        other => panic!("not an amount: {other}"),
    }
}

#[test]
fn a_lease_from_listing_to_deposit_release_from_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let (proc, node) = start_dev(&data);
    let dev = Dev { dir, data, node, _proc: proc };
    let (alice, bob) = (dev.did("alice"), dev.did("bob"));

    // (a) Anyone proves the demo's listing and property; the proofs check offline.
    let listing = dev.json(&["rental", "show-listing", "0"]);
    assert_eq!(listing["listing"]["landlord"], alice.as_str(), "{listing}");
    let verified = dev.prove_and_verify(&["rental", "show-listing", "0", "--prove"], "listing.json");
    assert!(verified.starts_with("verified: listing 0 of property 0 by landlord"), "{verified}");
    let property = dev.json(&["rental", "property", "0"]);
    assert_eq!(property["property"]["owner"], alice.as_str(), "{property}");
    assert_eq!(property["property"]["lease"], 0, "{property}");
    let verified = dev.prove_and_verify(&["rental", "property", "0", "--prove"], "property.json");
    assert!(verified.starts_with("verified: property 0"), "{verified}");

    // (b) Bob proves his lease: what a tenant shows for a residence permit.
    let lease = dev.lease("bob", "0");
    let l = &lease["lease"];
    assert_eq!(l["tenant"], bob.as_str(), "{lease}");
    assert_eq!(l["landlord"], alice.as_str(), "{lease}");
    assert_eq!(amount(&l["deposit"]["held"]), 2_400, "{lease}");
    assert_eq!(amount(&l["paid"]), 1_200, "{lease}");
    let bob_key = dev.key_path("bob");
    let verified = dev.prove_and_verify(&["rental", "lease", "0", "--key", &bob_key, "--prove"], "lease.json");
    assert!(verified.starts_with("verified: lease 0") && verified.contains(&bob), "{verified}");
    // A stranger cannot read it.
    let stranger_read = dev.cli(&["rental", "lease", "0", "--key", &dev.key_path("worker-1"), "--json"]);
    assert!(!stranger_read.status.success(), "a stranger read lease 0");

    // (c) The lease granted bob the demo's door lock.
    let lock = l["terms"]["lock"].as_str().expect("the lease names the lock").to_owned();
    let grant = dev.json(&["device", "may", "--device", &lock, "--controller", &bob]);
    assert!(grant["grant"].is_object(), "no grant for bob on the lock: {grant}");

    // (e) A stranger is no party to lease 0.
    dev.refused("worker-1", &["sign", "--lease", "0", "--version", "1"], "not_a_party");
    dev.refused("worker-1", &["terminate", "--lease", "0", "--reason", "not mine"], "not_a_party");

    // (d) Bob pays another month; both parties terminate; alice claims 400, bob accepts.
    dev.act("bob", &["pay", "--lease", "0", "--amount", "1200"]);
    assert_eq!(amount(&dev.lease("bob", "0")["lease"]["paid"]), 2_400);
    dev.act("alice", &["terminate", "--lease", "0", "--reason", "moving back in"]);
    dev.act("bob", &["terminate", "--lease", "0", "--reason", "agreed"]);
    dev.refused("bob", &["pay", "--lease", "0", "--amount", "1200"], "lease_ended");
    dev.act("alice", &["claim", "--lease", "0", "--amount", "400", "--reason", "a broken window"]);
    dev.act("bob", &["accept-claim", "--lease", "0"]);
    let lease = dev.lease("alice", "0");
    let released = &lease["lease"]["deposit"]["released"];
    assert_eq!(amount(&released["to_landlord"]), 400, "{lease}");
    assert_eq!(amount(&released["to_tenant"]), 2_000, "{lease}");
    let grant = dev.json(&["device", "may", "--device", &lock, "--controller", &bob]);
    assert!(grant["grant"].is_null() && grant["allowed"] == false, "bob's lock grant outlived the lease: {grant}");

    // The deposit's release, proven offline from bob's lease.
    let verified = dev.prove_and_verify(&["rental", "lease", "0", "--key", &bob_key, "--prove"], "released.json");
    assert!(verified.contains("400") && verified.contains("2000"), "{verified}");

    // (e) What the ended lease refuses.
    dev.refused("bob", &["accept-claim", "--lease", "0"], "deposit_released");
    dev.refused("bob", &["pay", "--lease", "0", "--amount", "1200"], "lease_ended");
    dev.refused("worker-1", &["terminate", "--lease", "0", "--reason", "not mine"], "not_a_party");

    // Alice lists the flat again from her wallet: the CLI grants the consent the policy asks
    // for, presents her certificate and lists; a second listing of it is refused.
    let wallet = path(&dev.data.join("wallet"));
    let list = |consent: &[&str]| {
        [
            &["rental", "list", "--key", &dev.key_path("alice"), "--wallet", &wallet, "--name", "alice-property"][..],
            consent,
            &[
                "--title",
                "Two rooms on Rongxi Road, again",
                "--rent",
                "1300",
                "--period",
                "monthly",
                "--deposit",
                "2600",
                "--min-term-months",
                "12",
                "--available-from",
                "2027-01-01",
            ],
        ]
        .concat()
        .iter()
        .map(|a| (*a).to_owned())
        .collect::<Vec<String>>()
    };
    let args = list(&["--grant-consent"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    dev.ok(&args);
    let relisted = dev.json(&["rental", "show-listing", "1"]);
    assert_eq!(
        (relisted["listing"]["property"].as_u64(), relisted["listing"]["status"].as_str()),
        (Some(0), Some("active"))
    );
    let consents = dev.json(&["credential", "consent", "list", "--key", &dev.key_path("alice")]);
    assert_eq!(consents["consents"].as_array().map(Vec::len), Some(2), "{consents}");
    let args = list(&["--grant-consent"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = dev.cli(&args);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("already_listed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
