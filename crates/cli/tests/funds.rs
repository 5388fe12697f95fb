//! Project funds end to end, from the CLI alone, against a real `civitas dev` process: the
//! finance bureau opens a project, the owner awards a contract, the contractor subcontracts,
//! the supervisor and auditor approve a milestone, the subcontractor's payroll is approved and
//! each worker paid directly; a worker's wage proof and the project's proof are checked offline
//! with `civitas verify`; refused inputs fail with their stable codes; the OCDS 1.1 export is
//! validated with the Open Contracting Partnership's own tooling (libcoveocds from PyPI, the
//! versions pinned in `ocds-requirements.txt`, in a virtual environment made on first run).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use civitas_types::{Did, keyfile};

mod common;

use common::{BIN, Proc, python_venv, start_dev};

const HERE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");

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

    /// `civitas funds ARGS --by <signer's DID> --key <signer's key>`; it must commit.
    fn act(&self, signer: &str, args: &[&str]) {
        let (key, by) = (self.key_path(signer), self.did(signer));
        let args = [&["funds"], args, &["--by", &by, "--key", &key]].concat();
        let out = self.ok(&args);
        assert!(out.starts_with("committed "), "{args:?}: {out}");
    }

    /// As [`Dev::act`], acting for `org`; it must fail on chain (exit 3) with `code`.
    fn refused(&self, signer: &str, org: &str, args: &[&str], code: &str) {
        let (key, by) = (self.key_path(signer), self.did(org));
        let args = [&["funds"], args, &["--by", &by, "--key", &key]].concat();
        let out = self.cli(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(&format!(": {code}: ")), "{args:?}: expected {code}, got {stdout}");
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(&[args, &["--json"]].concat())).expect("JSON")
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

/// The virtual environment's Python with the OCDS tooling installed (made once, reused).
fn ocds_python() -> PathBuf {
    let ready = |bin: &Path| {
        Command::new(bin.join("python")).args(["-c", "import libcoveocds"]).status().is_ok_and(|s| s.success())
    };
    python_venv("ocds-venv", "ocds-requirements.txt", ready).join("python")
}

#[test]
fn a_project_from_appropriation_to_wages_from_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let (proc, node) = start_dev(&data);
    let dev = Dev { dir, data, node, _proc: proc };

    // The demo made the school project; ours comes after it.
    let (education, supervision, audit) = (dev.did("education"), dev.did("site-supervision"), dev.did("audit-office"));
    let (builder, masonry) = (dev.did("jianye-construction"), dev.did("lianhua-masonry"));
    let open = [
        "open",
        "--title",
        "Riverside sports hall",
        "--purpose",
        "A sports hall for the school",
        "--owner",
        &education,
        "--supervisor",
        &supervision,
        "--auditor",
        &audit,
        "--amount",
        "1000000",
    ];
    dev.act("finance", &open);
    let projects = dev.json(&["funds", "list", "projects"]);
    let project = projects["total"].as_u64().expect("total") - 1;
    let p = project.to_string();
    let award = [
        "award",
        "--project",
        &p,
        "--contractor",
        &builder,
        "--title",
        "Hall works",
        "--milestone",
        "Frame:Steel frame erected:600000:2030-06-30",
        "--milestone",
        "Finish:Floor and lighting:300000:2030-12-31",
    ];
    dev.refused(
        "education",
        "education",
        &[&award[..7], &["--milestone", "Big:Too big:1000001:2030-06-30"]].concat(),
        "overspend",
    );
    dev.act("education", &award);
    let contracts = dev.json(&["funds", "list", &format!("contracts/{p}")]);
    let contract = contracts["entries"][0]["id"].as_u64().expect("contract id").to_string();
    dev.act("jianye-construction", &["accept", "--contract", &contract]);
    let sub = ["subcontract", "--contract", &contract, "--subcontractor", &masonry, "--title", "Concrete", "--amount"];
    dev.refused("jianye-construction", "jianye-construction", &[&sub[..], &["900001"]].concat(), "overspend");
    dev.act("jianye-construction", &[&sub[..], &["200000"]].concat());
    let subs = dev.json(&["funds", "list", &format!("subcontracts/{contract}")]);
    let subcontract = subs["entries"][0]["id"].as_u64().expect("subcontract id").to_string();
    dev.act("lianhua-masonry", &["accept", "--contract", &subcontract]);
    let report = ["report", "--contract", &contract, "--milestone", "0", "--report", "Frame up, photos sha256:77aa"];
    dev.act("jianye-construction", &report);
    let review = ["review", "--contract", &contract, "--milestone", "0"];
    // The contractor cannot approve its own milestone; nothing is paid before approval.
    dev.refused("jianye-construction", "jianye-construction", &review, "wrong_party");
    let pay = ["pay", "--contract", &contract, "--milestone", "0", "--amount", "1000"];
    dev.refused("jianye-construction", "jianye-construction", &pay, "not_released");
    dev.act("site-supervision", &review);
    dev.act("audit-office", &review);
    let c = dev.json(&["funds", "contract", &contract]);
    assert_eq!(c["contract"]["milestones"][0]["status"], "approved", "{c}");
    assert_eq!(c["contract"]["released"], "600000");

    // The payroll: two workers, paid straight into their accounts.
    let (w1, w2) = (dev.did("worker-1"), dev.did("worker-2"));
    let before: u128 = dev.json(&["query", "account", &w1])["balance"].as_str().expect("balance").parse().expect("n");
    let payroll = ["payroll", "--subcontract", &subcontract, "--milestone", "0"];
    let masonry_line = format!("{masonry}:100");
    dev.refused(
        "lianhua-masonry",
        "lianhua-masonry",
        &[&payroll[..], &["--line", &masonry_line]].concat(),
        "not_a_worker",
    );
    let too_much = format!("{w1}:600001");
    dev.refused("lianhua-masonry", "lianhua-masonry", &[&payroll[..], &["--line", &too_much]].concat(), "overspend");
    let (l1, l2) = (format!("{w1}:70000"), format!("{w2}:65000"));
    dev.act("lianhua-masonry", &[&payroll[..], &["--line", &l1, "--line", &l2]].concat());
    let payrolls = dev.json(&["funds", "list", &format!("payrolls/{subcontract}")]);
    let payroll_id = payrolls["entries"][0]["id"].as_u64().expect("payroll id").to_string();
    dev.refused("lianhua-masonry", "lianhua-masonry", &["approve-payroll", "--payroll", &payroll_id], "wrong_party");
    dev.act("jianye-construction", &["approve-payroll", "--payroll", &payroll_id]);
    dev.refused(
        "jianye-construction",
        "jianye-construction",
        &["approve-payroll", "--payroll", &payroll_id],
        "already_paid",
    );
    let after: u128 = dev.json(&["query", "account", &w1])["balance"].as_str().expect("balance").parse().expect("n");
    assert_eq!(after - before, 70_000);
    dev.act(
        "jianye-construction",
        &["pay", "--contract", &contract, "--milestone", "0", "--subcontract", &subcontract, "--amount", "50000"],
    );
    dev.act("jianye-construction", &pay);

    // A worker proves their wages offline; anyone proves the project's totals.
    let verified = dev.prove_and_verify(&["funds", "wages", &w1, "--prove"], "wages.json");
    assert!(verified.contains(&format!("wages/{w1}")) && verified.contains("70000 from payroll"), "{verified}");
    let verified = dev.prove_and_verify(&["funds", "project", &p, "--prove"], "project.json");
    assert!(verified.contains("released 600000, paid 186000"), "{verified}");
    let shown = dev.ok(&["funds", "project", &p]);
    assert!(shown.contains("escrow:       814000"), "{shown}");

    // The OCDS 1.1 export passes the Open Contracting Partnership's validator.
    let ocds = dev.dir.path().join("ocds.json");
    dev.ok(&["funds", "export", &p, "--ocds", "--out", &path(&ocds)]);
    let out =
        Command::new(ocds_python()).arg(format!("{HERE}/ocds_validate.py")).arg(&ocds).output().expect("validator");
    assert!(
        out.status.success(),
        "the OCDS export is not valid: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let package: serde_json::Value = serde_json::from_slice(&std::fs::read(&ocds).expect("read")).expect("JSON");
    let tags: Vec<&str> = package["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .flat_map(|r| r["tag"].as_array().expect("tag").iter().map(|t| t.as_str().expect("tag")))
        .collect();
    for tag in ["planning", "award", "contract", "implementation"] {
        assert!(tags.contains(&tag), "no {tag} release: {tags:?}");
    }

    // The owner terminates the contract: nothing more happens on it, its unpaid money returns.
    dev.act("education", &["terminate", "--contract", &contract, "--reason", "scope cut by the council"]);
    let report2 = ["report", "--contract", &contract, "--milestone", "1", "--report", "done"];
    dev.refused("jianye-construction", "jianye-construction", &report2, "contract_terminated");
    let project = dev.json(&["funds", "project", &p]);
    assert_eq!(project["uncommitted"], "814000", "{project}");
}
