//! Project funds under a validator crash: four real `civitas node` validator processes on
//! loopback; a project, a contract with four released milestones and a subcontract are set up,
//! then disbursements stream in (payrolls filed and approved, shares paid to the contractor and
//! the subcontractor) while one validator is killed with SIGKILL and restarted. At the end every
//! acknowledged transaction is committed on every node at the same height, the nodes agree on
//! the block and state root at a common height, and money is conserved: the accounts involved
//! plus the escrow (what was appropriated less what was paid) hold what they held before.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use civitas_client::Client;
use civitas_client::wire::TxState;
use civitas_types::fund::{MilestoneSpec, PayrollLine};
use civitas_types::{
    AccountInstruction, Amount, Did, FundInstruction, Hash, Instruction, SecretKey, SignedTransaction, Transaction,
    keyfile,
};

mod common;

use common::{BIN, Proc, free_port_block, start_node, wait_until};

/// What the finance bureau appropriates.
const APPROPRIATED: Amount = 500_000;
/// Each of the contract's four milestones.
const MILESTONE: Amount = 50_000;
/// The subcontract's part.
const SUBCONTRACT: Amount = 100_000;
/// Each share paid (to the contractor or the subcontractor).
const SHARE: Amount = 25;
/// Most disbursement rounds (each a payroll filed and approved, and a share paid).
const ROUNDS_MAX: u64 = 200;
/// Workers registered for the test, besides alice and bob.
const NEW_WORKERS: u64 = 6;
/// Lines in each payroll.
const LINES: u64 = 3;

fn start(dir: &Path, i: usize) -> Proc {
    start_node(dir, &format!("node-{i}"))
}

fn key(dir: &Path, name: &str) -> SecretKey {
    keyfile::parse(&std::fs::read_to_string(dir.join(format!("keys/{name}.key"))).expect("key")).expect("key file")
}

fn did(k: &SecretKey) -> Did {
    Did::from_initial_key(&k.public_key())
}

/// A key and the nonce its next transaction carries.
struct Signer {
    key: SecretKey,
    nonce: u64,
}

impl Signer {
    fn new(client: &Client, key: SecretKey) -> Signer {
        let nonce = client.account(&did(&key)).expect("read").expect("an account").nonce;
        Signer { key, nonce }
    }

    fn did(&self) -> Did {
        did(&self.key)
    }

    fn sign(&mut self, chain_id: &str, instructions: Vec<FundInstruction>) -> SignedTransaction {
        let tx = Transaction {
            chain_id: chain_id.to_owned(),
            signer: self.key.public_key(),
            nonce: self.nonce,
            valid_until_height: 1_000_000,
            instructions: instructions.into_iter().map(Instruction::Funds).collect(),
        }
        .sign(&self.key);
        self.nonce += 1;
        tx
    }
}

/// Submits `txs` to `client`, then waits for each; every one is committed (not failed): its
/// hash and height.
fn commit(client: &Client, txs: &[SignedTransaction]) -> Vec<(Hash, u64)> {
    let hashes: Vec<Hash> = txs.iter().map(|t| client.submit(t).expect("admitted")).collect();
    hashes
        .into_iter()
        .map(|h| {
            let s = client.wait_for(&h, Duration::from_secs(60)).expect("an outcome");
            assert_eq!(s.status, TxState::Committed, "{} {:?}: {:?}", h.to_hex(), s.error_code, s.error_message);
            (h, s.height.expect("a height"))
        })
        .collect()
}

fn balance(client: &Client, did: &Did) -> Amount {
    client.account(did).expect("read").expect("an account").balance.parse().expect("a number")
}

#[test]
fn disbursements_survive_a_sigkill_and_conserve_money() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
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
        wait_until(&format!("node-{i}'s API"), Duration::from_secs(120), || c.status().is_ok_and(|s| !s.syncing));
    }
    let client = &clients[0];
    let chain_id = client.status().expect("status").chain_id;

    // Residents to pay: alice, bob and new accounts, each registered by its own key.
    let fresh: Vec<SecretKey> = (0..NEW_WORKERS)
        .map(|i| SecretKey::from_seed(Hash::digest_parts(&[b"funds fault worker", &i.to_be_bytes()]).0))
        .collect();
    let registrations: Vec<SignedTransaction> = fresh
        .iter()
        .map(|k| {
            let tx = Transaction {
                chain_id: chain_id.clone(),
                signer: k.public_key(),
                nonce: 0,
                valid_until_height: 1_000_000,
                instructions: vec![Instruction::Accounts(AccountInstruction::RegisterAccount)],
            };
            tx.sign(k)
        })
        .collect();
    commit(client, &registrations);
    let mut workers: Vec<Did> = fresh.iter().map(did).collect();
    workers.push(did(&key(dir, "alice")));
    workers.push(did(&key(dir, "bob")));

    let mut finance = Signer::new(client, key(dir, "finance"));
    let mut owner = Signer::new(client, key(dir, "housing"));
    let mut supervisor = Signer::new(client, key(dir, "civil-affairs"));
    let mut auditor = Signer::new(client, key(dir, "market-regulation"));
    let mut contractor = Signer::new(client, key(dir, "metro"));
    let mut subcontractor = Signer::new(client, key(dir, "acme"));
    let involved: Vec<Did> = [&finance, &owner, &supervisor, &auditor, &contractor, &subcontractor]
        .iter()
        .map(|s| s.did())
        .chain(workers.iter().copied())
        .collect();
    let opening: BTreeMap<Did, Amount> = involved.iter().map(|d| (*d, balance(client, d))).collect();

    // Project 0 (with an auditor), contract 0 to metro (four milestones), subcontract 1 to acme;
    // every milestone reported and approved by both reviewers.
    let open = FundInstruction::OpenProject {
        title: "Harbour bridge repair".into(),
        purpose: "Repairs to the harbour bridge".into(),
        owner: owner.did(),
        supervisor: supervisor.did(),
        auditor: Some(auditor.did()),
        amount: APPROPRIATED,
        by: finance.did(),
    };
    commit(client, &[finance.sign(&chain_id, vec![open])]);
    let due = civitas_node::consensus::now_ms() / 1000 + 30 * 24 * 3600;
    let milestones = (0..4)
        .map(|i| MilestoneSpec {
            title: format!("Span {i}"),
            deliverable: "Span resurfaced".into(),
            amount: MILESTONE,
            due,
        })
        .collect();
    let award = FundInstruction::AwardContract {
        project: 0,
        contractor: contractor.did(),
        title: "Repairs".into(),
        milestones,
        by: owner.did(),
    };
    commit(client, &[owner.sign(&chain_id, vec![award])]);
    let by = contractor.did();
    let mut steps = vec![
        FundInstruction::AcceptContract { contract: 0, by },
        FundInstruction::Subcontract {
            contract: 0,
            subcontractor: subcontractor.did(),
            title: "Crew".into(),
            amount: SUBCONTRACT,
            by,
        },
    ];
    steps.extend((0..4).map(|m| FundInstruction::ReportMilestone {
        contract: 0,
        milestone: m,
        report: "done".into(),
        by,
    }));
    commit(client, &[contractor.sign(&chain_id, steps)]);
    let accept = FundInstruction::AcceptContract { contract: 1, by: subcontractor.did() };
    commit(client, &[subcontractor.sign(&chain_id, vec![accept])]);
    let reviews = |by: Did| -> Vec<FundInstruction> {
        (0..4)
            .map(|m| FundInstruction::ReviewMilestone {
                contract: 0,
                milestone: m,
                approve: true,
                reason: String::new(),
                by,
            })
            .collect()
    };
    let (s, a) = (supervisor.did(), auditor.did());
    commit(client, &[supervisor.sign(&chain_id, reviews(s)), auditor.sign(&chain_id, reviews(a))]);

    // The stream: each round, acme files a payroll and metro pays a share (to acme or itself),
    // then metro approves the payroll; sent to the survivors in turn while node-3 is killed.
    let stop = AtomicBool::new(false);
    let down = AtomicBool::new(false);
    let rounds_while_down = AtomicU64::new(0);
    let ((acked, wages, shares), outage) = std::thread::scope(|scope| {
        let load = scope.spawn(|| {
            let mut acked: Vec<(Hash, u64)> = Vec::new();
            let mut wages: BTreeMap<Did, Amount> = BTreeMap::new();
            let mut shares: BTreeMap<Did, Amount> = BTreeMap::new();
            let (c, s) = (contractor.did(), subcontractor.did());
            for round in 0..ROUNDS_MAX {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let node = &clients[round as usize % 3];
                let milestone = (round % 4) as u16;
                let lines: Vec<PayrollLine> = (0..LINES)
                    .map(|k| PayrollLine {
                        worker: workers[((round * LINES + k) % workers.len() as u64) as usize],
                        amount: Amount::from(10 + round % 7),
                    })
                    .collect();
                let to_sub = round % 2 == 0;
                let file = FundInstruction::FilePayroll { subcontract: 1, milestone, lines: lines.clone(), by: s };
                let share = FundInstruction::PayShare {
                    contract: 0,
                    milestone,
                    subcontract: to_sub.then_some(1),
                    amount: SHARE,
                    by: c,
                };
                let txs = [subcontractor.sign(&chain_id, vec![file]), contractor.sign(&chain_id, vec![share])];
                acked.extend(commit(node, &txs));
                *shares.entry(if to_sub { s } else { c }).or_default() += SHARE;
                // Payrolls are numbered as filed: this round's is `round`.
                let approve = FundInstruction::ApprovePayroll { payroll: round, by: c };
                acked.extend(commit(node, &[contractor.sign(&chain_id, vec![approve])]));
                for l in &lines {
                    *wages.entry(l.worker).or_default() += l.amount;
                }
                if down.load(Ordering::Relaxed) {
                    rounds_while_down.fetch_add(1, Ordering::Relaxed);
                }
            }
            (acked, wages, shares)
        });
        std::thread::sleep(Duration::from_secs(2));
        // SIGKILL (Child::kill) of the process this test started, by its pid.
        nodes[3] = None;
        down.store(true, Ordering::Relaxed);
        let killed = Instant::now();
        while (killed.elapsed() < Duration::from_secs(4) || rounds_while_down.load(Ordering::Relaxed) < 2)
            && killed.elapsed() < Duration::from_secs(30)
            && !load.is_finished()
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        down.store(false, Ordering::Relaxed);
        let outage = killed.elapsed();
        nodes[3] = Some(start(dir, 3));
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::Relaxed);
        (load.join().expect("load thread"), outage)
    });
    let while_down = rounds_while_down.load(Ordering::Relaxed);
    assert!(while_down >= 2, "the survivors kept disbursing: {while_down} rounds while node-3 was down");

    // The victim catches up; every node holds every acknowledged transaction at its height and
    // the same block and state root at a common height.
    let last = acked.iter().map(|(_, h)| *h).max().expect("some transactions");
    for (i, c) in clients.iter().enumerate() {
        wait_until(&format!("node-{i} to reach {last}"), Duration::from_secs(120), || {
            c.status().is_ok_and(|s| s.height >= last && !s.syncing)
        });
    }
    let common = clients.iter().map(|c| c.status().expect("status").height).min().expect("four nodes");
    let reference = client.block(common, 0, 1).expect("read").expect("block");
    for (i, c) in clients.iter().enumerate() {
        let b = c.block(common, 0, 1).expect("read").expect("block");
        assert_eq!((&b.hash, &b.state_root), (&reference.hash, &reference.state_root), "node-{i} at {common}");
        for (hash, at) in &acked {
            let s = c.tx(hash).expect("read").unwrap_or_else(|| panic!("node-{i} lost {}", hash.to_hex()));
            assert_eq!((s.status, s.height), (TxState::Committed, Some(*at)), "node-{i}: {}", hash.to_hex());
        }
    }

    // Money is conserved, on every node: the escrow holds what was appropriated less what was
    // paid, and each payee gained exactly what it was paid.
    let paid: Amount = wages.values().sum::<Amount>() + shares.values().sum::<Amount>();
    let escrow = APPROPRIATED - paid;
    let before: Amount = opening.values().sum();
    for (i, c) in clients.iter().enumerate() {
        let closing: BTreeMap<Did, Amount> = involved.iter().map(|d| (*d, balance(c, d))).collect();
        assert_eq!(closing.values().sum::<Amount>() + escrow, before, "node-{i}: money is conserved");
        for d in &involved {
            let gained = wages.get(d).copied().unwrap_or(0) + shares.get(d).copied().unwrap_or(0);
            let expected = if *d == finance.did() { opening[d] - APPROPRIATED } else { opening[d] + gained };
            assert_eq!(closing[d], expected, "node-{i}: {d}'s balance");
        }
    }
    eprintln!(
        "{} rounds ({while_down} in the {:.1} s node-3 was down), {} transactions, {paid} paid, {escrow} left in escrow",
        acked.len() / 3,
        outage.as_secs_f64(),
        acked.len()
    );
}
