//! Device passports end to end, from the CLI alone, against a real `civitas dev` process: a
//! demo PKI of vendor FFF4 (the dev chain's own demo devices use FFF1 and FFF2), the vendor's
//! claim, the council's vote on its PAA, its PAI, model and version, certification, then one
//! device's life: registration, binding, a grant to another brand's hub proven offline,
//! transfer (which ends the grant), key rotation and decommissioning; and refused inputs with
//! their stable codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use civitas_types::{Did, keyfile};

mod common;

use common::{BIN, Proc, start_dev};

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

    /// Runs the CLI with `args` and `--node` (for commands that talk to the node).
    fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN).args(args).args(["--node", &self.node]).output().expect("run civitas")
    }

    /// Runs a command that talks to the node; it must succeed. Returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        expect_ok(args, self.cli(args))
    }

    /// Runs a transaction as `signer`; it must commit.
    fn tx(&self, signer: &str, args: &[&str]) -> String {
        let key = self.key_path(signer);
        let args = [args, &["--key", &key]].concat();
        let out = self.ok(&args);
        assert!(out.starts_with("committed "), "{args:?}: {out}");
        out
    }

    /// Runs a transaction as `signer`; it must fail on chain (exit 3) with `code`.
    fn refused(&self, signer: &str, args: &[&str], code: &str) {
        let key = self.key_path(signer);
        let args = [args, &["--key", &key]].concat();
        let out = self.cli(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(&format!(": {code}: ")), "{args:?}: expected {code}, got {stdout}");
    }

    /// The council passes `action` (flags of `council propose`): civil affairs proposes,
    /// market regulation approves (two of three).
    fn council_passes(&self, action: &[&str]) {
        let civil = self.did("civil-affairs");
        self.tx("civil-affairs", &[&["council", "propose", "--by", &civil], action].concat());
        // The dev chain's own demo made proposals before: ours is the last.
        let mut id = 0u64;
        while self.cli(&["council", "proposal", &(id + 1).to_string()]).status.success() {
            id += 1;
        }
        let proposal: serde_json::Value =
            serde_json::from_str(&self.ok(&["council", "proposal", &id.to_string()])).expect("proposal JSON");
        assert_eq!(proposal["status"], "open", "{proposal}");
        let by = self.did("market-regulation");
        self.tx("market-regulation", &["council", "approve", "--by", &by, "--proposal", &id.to_string()]);
    }

    /// Writes what `args` prints (a proof document) to `name` and checks it with
    /// `civitas verify` against the genesis file; returns what verify printed.
    fn prove_and_verify(&self, args: &[&str], name: &str) -> String {
        let file = self.dir.path().join(name);
        std::fs::write(&file, self.ok(args)).expect("write the proof");
        let genesis = path(&self.data.join("genesis.json"));
        let verify = ["verify", &path(&file), "--genesis", &genesis];
        expect_ok(&verify, Command::new(BIN).args(verify).output().expect("run civitas verify"))
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
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

/// Runs the CLI offline; it must fail with exit code `code` and say `says` on stderr, without
/// panicking.
fn fails_offline(args: &[&str], code: i32, says: &str) {
    let out = Command::new(BIN).args(args).output().expect("run civitas");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stderr.contains(says), "{args:?}: expected `{says}` in {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

#[test]
fn a_device_lives_its_whole_life_through_the_cli() {
    let dev = Dev::start();
    let pki_dir = dev.dir.path().join("pki");
    let pki: serde_json::Value = serde_json::from_str(&expect_ok(
        &["device", "pki"],
        Command::new(BIN)
            .args(["device", "pki", "--out", &path(&pki_dir), "--vendor-id", "FFF4", "--devices", "2", "--json"])
            .output()
            .expect("run civitas device pki"),
    ))
    .expect("pki JSON");
    let file = |name: &str| path(&pki_dir.join(name));
    let (paa_der, pai_der) = (file("paa.der"), file("pai.der"));
    let (dac_1, dac_2_key, device_1_key) = (file("dac-1.der"), file("dac-2-key.pem"), file("device-1.key"));
    let paa_key_id = pki["paa"]["subject_key_id"].as_str().expect("PAA key id").to_owned();
    let device = pki["devices"][0]["device"].as_str().expect("a device id").to_owned();
    let (hoodworks, certification) = (dev.did("hoodworks"), dev.did("certification"));
    let (alice, bob, homehub) = (dev.did("alice"), dev.did("bob"), dev.did("homehub"));
    let model = ["--vendor-id", "FFF4", "--product-id", "8001"];

    // The vendor's roots of trust: its id, the PAA the council approves, its PAI.
    dev.tx(
        "hoodworks",
        &["device", "vendor", "claim", "--vendor-id", "FFF4", "--name", "Hoodworks", "--by", &hoodworks],
    );
    let flameco = dev.did("flameco");
    let again = ["device", "vendor", "claim", "--vendor-id", "FFF4", "--name", "Copycat", "--by", &flameco];
    dev.refused("flameco", &again, "vendor_id_taken");
    assert!(dev.ok(&["device", "vendor", "show", "FFF4"]).contains(&hoodworks));
    dev.refused("hoodworks", &["device", "pai", "add", "--cert", &pai_der, "--by", &hoodworks], "unknown_paa");
    dev.council_passes(&["--add-paa", &paa_der]);
    assert!(dev.ok(&["device", "cert", &paa_key_id]).starts_with("PAA "));
    dev.tx("hoodworks", &["device", "pai", "add", "--cert", &pai_der, "--by", &hoodworks]);

    // The model, its version (checksum of the image file) and its certification.
    let register_model = [
        &["device", "model", "register"][..],
        &model,
        &["--device-type", "0x007A", "--name", "Range hood H4", "--properties", "fan_speed,light"],
        &["--actions", "boost", "--events", "grease_filter_full", "--by", &hoodworks],
    ]
    .concat();
    dev.tx("hoodworks", &register_model);
    assert!(dev.ok(&["device", "model", "show", "FFF4", "8001"]).contains("fan_speed, light"));
    let image = dev.dir.path().join("hood-1.2.0.ota");
    std::fs::write(&image, b"firmware 1.2.0").expect("write the image");
    let image = path(&image);
    let add_version = [
        &["device", "version", "add"][..],
        &model,
        &["--software-version", "2", "--version-string", "1.2.0", "--image", &image],
        &["--ota-url", "https://ota.hoodworks.example/fff4/8001/1.2.0.ota", "--by", &hoodworks],
    ]
    .concat();
    dev.tx("hoodworks", &add_version);
    let register = |n: usize| -> Vec<String> {
        let d = &pki["devices"][n];
        let p = |k: &str| d[k].as_str().expect("a path").to_owned();
        ["device", "register", "--dac", &p("dac"), "--dac-key", &p("dac_key"), "--device-key", &p("device_key")]
            .into_iter()
            .chain(["--software-version", "2"])
            .map(str::to_owned)
            .collect()
    };
    let reg0 = register(0);
    dev.refused("alice", &strs(&reg0), "not_certified");
    let certify = [&["device", "certify"][..], &model, &["--software-version", "2", "--by", &certification]].concat();
    dev.tx("certification", &certify);
    assert!(dev.ok(&["device", "version", "show", "FFF4", "8001", "2"]).contains(&format!("by {certification}")));

    // A DAC key that is not the DAC's is refused before anything is sent.
    let mismatched = ["device", "register", "--dac", &dac_1, "--dac-key", &dac_2_key];
    let mismatched = [&mismatched[..], &["--device-key", &device_1_key, "--software-version", "2"]].concat();
    let out = dev.cli(&[&mismatched[..], &["--key", &dev.key_path("alice")]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not the key"));

    // Alice registers the device, binds it and grants homehub two of its capabilities.
    dev.tx("alice", &strs(&reg0));
    dev.refused("bob", &strs(&reg0), "dac_registered");
    dev.tx("alice", &["device", "bind", "--device-key", &device_1_key]);
    dev.refused("bob", &["device", "bind", "--device-key", &device_1_key], "device_bound");
    let grant = |caps: &'static str| {
        let base = ["device", "grant", "--device", &device, "--controller", &homehub, "--capabilities", caps];
        [&base[..], &["--hours", "24", "--scene", "kitchen"]]
            .concat()
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    dev.refused("alice", &strs(&grant("ignite")), "capability_not_declared");
    let boost = grant("boost,fan_speed");
    dev.tx("alice", &strs(&boost));
    let may = ["device", "may", "--device", &device, "--controller", &homehub];
    let answer = dev.ok(&may);
    assert!(answer.starts_with("allowed: boost, fan_speed"), "{answer}");
    assert!(answer.contains("scene kitchen"), "{answer}");
    let shown = dev.ok(&["device", "show", &device]);
    assert!(shown.contains(&format!("owner       {alice}")) && shown.contains("FFF4/8001"), "{shown}");

    // Proven offline: the grant, the passport's chain not revoked, the DAC not revoked.
    let verified = dev.prove_and_verify(&[&may[..], &["--prove"]].concat(), "grant.json");
    assert!(verified.contains(&format!("{homehub} may use boost, fan_speed on device {device}")), "{verified}");
    let verified = dev.prove_and_verify(&["device", "show", &device, "--prove"], "device.json");
    assert!(verified.contains("is active") && verified.contains("not revoked"), "{verified}");
    let verified = dev.prove_and_verify(&["device", "dac", "--dac", &dac_1, "--prove"], "dac.json");
    assert!(verified.contains("is not revoked"), "{verified}");

    // Alice offers it to bob; bob accepts, once; homehub's grant ended with the transfer.
    dev.refused("bob", &["device", "accept", "--device", &device], "no_transfer_offer");
    dev.tx("alice", &["device", "offer", "--device", &device, "--to", &bob]);
    dev.tx("bob", &["device", "accept", "--device", &device]);
    dev.refused("bob", &["device", "accept", "--device", &device], "no_transfer_offer");
    let answer = dev.ok(&may);
    assert!(answer.starts_with("not allowed: grant_ended: "), "{answer}");
    dev.refused("alice", &["device", "revoke-grant", "--device", &device, "--controller", &homehub], "not_the_owner");

    // Bob rotates the device's key (the current key signs the new one in), then decommissions it.
    let new_key = dev.dir.path().join("device-1-next.key");
    expect_ok(
        &["keys", "new"],
        Command::new(BIN).args(["keys", "new", "--out", &path(&new_key)]).output().expect("keys"),
    );
    let rotate = ["device", "rotate-key", "--device-key", &device_1_key, "--new-key", &path(&new_key)];
    dev.tx("bob", &rotate);
    assert!(dev.ok(&["device", "show", &device]).contains("(version 1)"));
    let out = dev.cli(&[&rotate[..], &["--key", &dev.key_path("bob")]].concat());
    assert_eq!(out.status.code(), Some(1), "the old key no longer signs for the device");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the current operational key"));
    let set_status = |s: &'static str| ["device", "set-status", "--device", &device, "--status", s];
    dev.tx("bob", &set_status("suspended"));
    dev.tx("bob", &set_status("decommissioned"));
    dev.refused("bob", &set_status("active"), "device_decommissioned");
    dev.refused("bob", &strs(&boost), "device_decommissioned");
    assert!(dev.ok(&may).starts_with("not allowed: device_not_active: "));

    // The council revokes the PAA: provably, and no device attested under it registers any more.
    dev.council_passes(&["--revoke-paa", &paa_key_id, "--reason", "key compromise"]);
    let verified = dev.prove_and_verify(&["device", "cert", &paa_key_id, "--prove"], "paa.json");
    assert!(verified.contains("was revoked") && verified.contains("key compromise"), "{verified}");
    dev.refused("alice", &strs(&register(1)), "certificate_revoked");
    // The vendor revokes its PAI and the second device's certificate (its vendor id read from
    // the file): both for good, and shown so.
    let dac_2 = file("dac-2.der");
    dev.tx("hoodworks", &["device", "revoke-dac", "--dac", &dac_2, "--reason", "cloned", "--by", &hoodworks]);
    assert!(dev.ok(&["device", "dac", "--dac", &dac_2]).contains(&format!("by {hoodworks}: cloned")));
    dev.tx("hoodworks", &["device", "pai", "revoke", "--cert", &pai_der, "--reason", "retired", "--by", &hoodworks]);
    assert!(dev.ok(&["device", "cert", "--cert", &pai_der]).contains("retired"));
    let again = ["device", "pai", "revoke", "--cert", &pai_der, "--reason", "again", "--by", &hoodworks];
    dev.refused("hoodworks", &again, "certificate_revoked");
    // The revocation list, in order and provable a page at a time; alice's and bob's devices.
    let listed = dev.ok(&["device", "list", "revocations"]);
    assert!(listed.starts_with("revocations: 3 entries"), "{listed}");
    let verified = dev.prove_and_verify(&["device", "list", "revocations", "--from", "1", "--prove"], "list.json");
    assert!(verified.contains("list revocations has 3 entries; from position 1: DAC "), "{verified}");
    let bob = dev.did("bob");
    assert!(dev.ok(&["device", "list", &format!("owned/{bob}")]).contains(&device));
    fails_offline(&["device", "list", "nope"], 1, "unknown list");

    // Bad input is a clear error (clap's exit 2, or 1), never a panic.
    fails_offline(&["device", "show", "did:civitas:00"], 2, "not a device id");
    fails_offline(&["device", "vendor", "show", "FFG1"], 2, "four hex digits");
    fails_offline(&["device", "cert", "abcd"], 2, "40 hex digits");
    fails_offline(&["device", "dac", "--fingerprint", "zz"], 2, "64 hex digits");
    let missing = path(&dev.dir.path().join("missing.der"));
    fails_offline(&["device", "dac", "--dac", &missing], 1, "missing.der");
    fails_offline(&["device", "cert", "--cert", &device_1_key], 1, "not a PAA or PAI");
    let reg_bad_key = ["device", "register", "--dac", &dac_1, "--dac-key", &device_1_key, "--device-key"];
    let reg_bad_key = [&reg_bad_key[..], &[&device_1_key, "--software-version", "2", "--key", &device_1_key]].concat();
    fails_offline(&reg_bad_key, 1, "not a P-256 private key");
    fails_offline(&["device", "pki", "--out", &path(&pki_dir)], 1, "exists");
}
