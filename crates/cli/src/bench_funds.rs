//! `civitas bench funds`: public project funds on a local testnet (four validators by default),
//! with the demo organizations of the genesis: the finance bureau funds one project that the
//! housing department owns and civil affairs supervises; the metro company holds its contracts
//! and subcontracts to acme.
//!
//! Two measurements, each of transactions signed before it starts:
//! - milestone approvals: contracts of up to 32 milestones, all reported, approved at the
//!   offered rate by many officials of the supervisor (each signing its own nonce sequence);
//!   each approval releases its milestone (the project has no auditor);
//! - a disbursement: acme's payrolls for every worker (250 lines each, the most a payroll
//!   holds), filed, then approved by metro, timed from the first submission until every
//!   payroll's approval is committed (each worker credited); every worker's balance is then
//!   checked.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use civitas_client::Client;
use civitas_node::dev;
use civitas_types::codec::Encode;
use civitas_types::fund::{MILESTONES_MAX, MilestoneSpec, PAYROLL_LINES_MAX, PayrollLine};
use civitas_types::limits::TX_BYTES_MAX;
use civitas_types::org::OrgRole;
use civitas_types::{Amount, Did, FundInstruction, Hash, Instruction, OrgInstruction, SecretKey, SignedTransaction};

use crate::bench::{Target, report_node_time, scrape, start_chain};
use crate::bench_device::{Setup, did, drive, in_parallel, sign, wait_committed};

/// Most approvals a run prepares (each a contract milestone awarded and reported first).
const APPROVALS_MAX: u64 = 100_000;
/// What each approved milestone releases.
pub(crate) const MILESTONE_AMOUNT: Amount = 10;
/// Each worker's wage in the disbursement.
const WAGE: Amount = 1_000;
/// How long a setup or payroll transaction may take to commit.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(120);
/// The chain is new: its payrolls are numbered from this one, in the order they are filed.
const FIRST_PAYROLL: u64 = 0;

#[derive(Debug, clap::Args)]
pub(crate) struct FundsArgs {
    /// How long to offer approvals, in seconds (at most 600).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    duration: u64,
    /// Validators the bench starts as processes on this machine (1: a dev node).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    validators: u16,
    /// Offered load in milestone approvals per second.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    rate: u64,
    /// Officials of the supervisor approving, each signing its own nonce sequence.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    reviewers: u64,
    /// Workers the disbursement pays, in payrolls of 250 lines.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    workers: u64,
}

fn reviewer_key(i: u64) -> SecretKey {
    SecretKey::from_seed(Hash::digest_parts(&[b"civitas bench funds reviewer", &i.to_be_bytes()]).0)
}

fn worker_key(i: u64) -> SecretKey {
    SecretKey::from_seed(Hash::digest_parts(&[b"civitas bench funds worker", &i.to_be_bytes()]).0)
}

/// The demo organizations that play each part, by their own keys (each is admin of itself).
pub(crate) struct Parties {
    pub(crate) finance: SecretKey,
    owner: SecretKey,
    pub(crate) supervisor: SecretKey,
    pub(crate) contractor: SecretKey,
    subcontractor: SecretKey,
}

impl Parties {
    pub(crate) fn read(keys_dir: &Path) -> anyhow::Result<Parties> {
        let key = |name: &str| dev::read_key(&keys_dir.join(format!("{name}.key"))).context("reading a demo key");
        Ok(Parties {
            finance: key("finance")?,
            owner: key("housing")?,
            supervisor: key("civil-affairs")?,
            contractor: key("metro")?,
            subcontractor: key("acme")?,
        })
    }
}

fn f(i: FundInstruction) -> Instruction {
    Instruction::Funds(i)
}

fn milestones(count: u64, amount: Amount, due: u64) -> Vec<MilestoneSpec> {
    (0..count).map(|i| MilestoneSpec { title: format!("m{i}"), deliverable: "d".into(), amount, due }).collect()
}

/// The world the measurements need, made through the API: the reviewers made officials of the
/// supervisor; project 0 funded for both measurements; contract 0 (one milestone, the
/// payroll's) subcontracted whole to acme and released; contracts 1 to `contracts` (the
/// approvals', of 32 milestones but the last) accepted and every milestone reported.
/// Returns the subcontract's id.
pub(crate) fn setup(
    setup: &mut Setup<'_>,
    parties: &Parties,
    reviewers: &[SecretKey],
    approvals: u64,
    workers: u64,
) -> anyhow::Result<u64> {
    let p = parties;
    let (supervisor, owner, contractor, subcontractor) =
        (did(&p.supervisor), did(&p.owner), did(&p.contractor), did(&p.subcontractor));
    let officials = reviewers
        .iter()
        .map(|k| {
            Instruction::Orgs(OrgInstruction::SetMember {
                org: supervisor,
                member: did(k),
                role: Some(OrgRole::Officer),
            })
        })
        .collect();
    setup.run(&p.supervisor, officials)?;

    let payroll_total = Amount::from(workers) * WAGE;
    let open = FundInstruction::OpenProject {
        title: "Bench works".into(),
        purpose: "Milestone approvals and a payroll under load".into(),
        owner,
        supervisor,
        auditor: None,
        amount: Amount::from(approvals) * MILESTONE_AMOUNT + payroll_total,
        by: did(&p.finance),
    };
    setup.run(&p.finance, vec![f(open)])?;

    // Due in a year: the deadline must be after every block of the run.
    let due = civitas_node::consensus::now_ms() / 1000 + 365 * 24 * 3600;
    let per = MILESTONES_MAX as u64;
    let contracts = approvals.div_ceil(per);
    let award = |title: String, specs| {
        f(FundInstruction::AwardContract { project: 0, contractor, title, milestones: specs, by: owner })
    };
    let mut awards = vec![award("Payroll works".into(), milestones(1, payroll_total, due))];
    awards.extend((0..contracts).map(|c| {
        let count = per.min(approvals - c * per);
        award(format!("Works {c}"), milestones(count, MILESTONE_AMOUNT, due))
    }));
    setup.run(&p.owner, awards)?;

    let subcontract = contracts + 1;
    let mut steps: Vec<Instruction> =
        (0..=contracts).map(|c| f(FundInstruction::AcceptContract { contract: c, by: contractor })).collect();
    steps.push(f(FundInstruction::Subcontract {
        contract: 0,
        subcontractor,
        title: "Payroll crew".into(),
        amount: payroll_total,
        by: contractor,
    }));
    setup.run(&p.contractor, steps)?;
    setup
        .run(&p.subcontractor, vec![f(FundInstruction::AcceptContract { contract: subcontract, by: subcontractor })])?;

    let report = |contract, milestone| {
        f(FundInstruction::ReportMilestone { contract, milestone, report: "done".into(), by: contractor })
    };
    let mut reports = vec![report(0, 0)];
    reports.extend((0..approvals).map(|j| report(1 + j / per, (j % per) as u16)));
    setup.run(&p.contractor, reports)?;
    let release = FundInstruction::ReviewMilestone {
        contract: 0,
        milestone: 0,
        approve: true,
        reason: String::new(),
        by: supervisor,
    };
    setup.run(&p.supervisor, vec![f(release)])?;
    Ok(subcontract)
}

pub(crate) fn run(args: FundsArgs) -> anyhow::Result<u8> {
    let reviewers: Vec<SecretKey> = (0..args.reviewers).map(reviewer_key).collect();
    let workers: Vec<SecretKey> = (0..args.workers).map(worker_key).collect();
    let funded: Vec<SecretKey> = reviewers.iter().chain(&workers).cloned().collect();
    let tmp = tempfile::tempdir().context("creating a temp dir for the bench chain")?;
    let (urls, target) = start_chain(tmp.path(), args.validators, &funded)?;
    let clients: Vec<Client> = urls.iter().map(|u| Client::new(u)).collect();
    let client = &clients[0];
    let chain_id = client.status()?.chain_id;
    let parties = Parties::read(&tmp.path().join("keys"))?;

    let approvals = (args.rate.saturating_mul(args.duration) * 11 / 10).clamp(1, APPROVALS_MAX);
    eprintln!(
        "setting up: {} officials of the supervisor, a project, {} contracts with {approvals} milestones reported, a subcontract for {} workers...",
        args.reviewers,
        approvals.div_ceil(MILESTONES_MAX as u64) + 1,
        args.workers
    );
    let made = Instant::now();
    let mut s = Setup {
        client,
        chain_id: chain_id.clone(),
        valid_until: client.status()?.height + 1_000_000,
        nonces: HashMap::new(),
    };
    let subcontract = setup(&mut s, &parties, &reviewers, approvals, args.workers)?;

    let mut first_nonce = Vec::with_capacity(reviewers.len());
    for k in &reviewers {
        first_nonce
            .push(client.account(&did(k))?.with_context(|| format!("reviewer {} has no account", did(k)))?.nonce);
    }
    let height = client.status()?.height;
    let (n, per) = (reviewers.len() as u64, MILESTONES_MAX as u64);
    let supervisor = did(&parties.supervisor);
    let reviews = in_parallel(approvals, |j| {
        let who = (j % n) as usize;
        let review = FundInstruction::ReviewMilestone {
            contract: 1 + j / per,
            milestone: (j % per) as u16,
            approve: true,
            reason: String::new(),
            by: supervisor,
        };
        let tx = sign(&chain_id, &reviewers[who], first_nonce[who] + j / n, height + 1_000_000, vec![f(review)]);
        let bytes = tx.encode();
        (Hash::digest(&bytes), bytes)
    });
    // The disbursement: acme files its payrolls, metro approves each (numbered as filed).
    let lines: Vec<PayrollLine> = workers.iter().map(|k| PayrollLine { worker: did(k), amount: WAGE }).collect();
    let mut files = Vec::new();
    let mut decisions = Vec::new();
    for (p, chunk) in (FIRST_PAYROLL..).zip(lines.chunks(PAYROLL_LINES_MAX)) {
        let file = FundInstruction::FilePayroll {
            subcontract,
            milestone: 0,
            lines: chunk.to_vec(),
            by: did(&parties.subcontractor),
        };
        let nonce = s.next_nonce(&parties.subcontractor)?;
        files.push(sign(&chain_id, &parties.subcontractor, nonce, s.valid_until, vec![f(file)]));
        let approve = FundInstruction::ApprovePayroll { payroll: p, by: did(&parties.contractor) };
        let nonce = s.next_nonce(&parties.contractor)?;
        decisions.push(sign(&chain_id, &parties.contractor, nonce, s.valid_until, vec![f(approve)]));
    }
    let largest = files.iter().map(|t| t.encode().len()).max().unwrap_or(0);
    ensure!(largest <= TX_BYTES_MAX, "a payroll transaction of {largest} bytes is over {TX_BYTES_MAX}");
    eprintln!(
        "set up and signed in {:.1} s; a {}-line payroll transaction is {largest} bytes (at most {TX_BYTES_MAX})",
        made.elapsed().as_secs_f64(),
        PAYROLL_LINES_MAX.min(lines.len())
    );

    let before = scrape(&clients);
    let outcome = drive(&clients, &reviews, (args.rate, args.duration, "approvals"), height)?;
    let after = scrape(&clients);
    eprintln!(
        "offered {} approvals, admitted {} (refused {}, never admitted {}), committed {} ({} failed) in {} blocks; {} still pending at the end",
        outcome.offered,
        outcome.submitted,
        outcome.refused,
        outcome.unadmitted,
        outcome.committed,
        outcome.failed,
        outcome.blocks,
        outcome.unfinished
    );
    if let Some(why) = &outcome.first_problem {
        eprintln!("first refusal or failure: {why}");
    }
    report_node_time(&before, &after);

    eprintln!("disbursing: {} payrolls for {} workers...", files.len(), workers.len());
    let mut opening = Vec::with_capacity(workers.len());
    for k in &workers {
        opening.push(balance(client, &did(k))?);
    }
    let paid = disburse(client, &files, &decisions)?;
    for (k, was) in workers.iter().zip(&opening) {
        let now = balance(client, &did(k))?;
        ensure!(now == was + WAGE, "worker {} holds {now}, not {was} + its wage {WAGE}", did(k));
    }
    eprintln!(
        "every worker credited: payrolls filed in {} ms, approved {} ms later; all {} balances checked",
        paid.filed.as_millis(),
        (paid.total - paid.filed).as_millis(),
        workers.len()
    );
    match target {
        Target::Dev(running) => running.stop()?,
        Target::Testnet(nodes) => drop(nodes),
        Target::Remote => {}
    }

    let mut lat = outcome.latencies_ms;
    lat.sort_unstable();
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    let tps = outcome.in_window as f64 / args.duration as f64;
    println!(
        "tps={:.0} p50_ms={} p99_ms={} approvals={} payroll_workers={} payroll_ms={} payroll_file_ms={} payroll_approve_ms={}",
        tps,
        pct(0.50),
        pct(0.99),
        outcome.committed - outcome.failed,
        workers.len(),
        paid.total.as_millis(),
        paid.filed.as_millis(),
        (paid.total - paid.filed).as_millis(),
    );
    Ok(0)
}

/// `did`'s balance as `client` sees it.
pub(crate) fn balance(client: &Client, did: &Did) -> anyhow::Result<Amount> {
    let account = client.account(did)?.with_context(|| format!("{did} has no account"))?;
    account.balance.parse().with_context(|| format!("{did}'s balance {:?} is not a number", account.balance))
}

struct Disbursed {
    /// From the first submission until every payroll was filed (committed).
    filed: Duration,
    /// From the first submission until every approval was committed: every worker credited.
    total: Duration,
}

/// Files the payrolls, then (once they are committed: an approval needs its payroll) approves
/// them; all through one node.
fn disburse(
    client: &Client,
    files: &[SignedTransaction],
    decisions: &[SignedTransaction],
) -> anyhow::Result<Disbursed> {
    let submit = |txs: &[SignedTransaction]| -> anyhow::Result<Vec<Hash>> {
        let mut hashes = Vec::with_capacity(txs.len());
        for item in client.submit_batch(txs)? {
            let hash = item.hash.with_context(|| format!("payroll transaction refused: {:?}", item.detail))?;
            hashes.push(Hash::from_hex(&hash).map_err(|e| anyhow::anyhow!("{e}"))?);
        }
        Ok(hashes)
    };
    let start = Instant::now();
    wait_committed(client, &submit(files)?, COMMIT_TIMEOUT)?;
    let filed = start.elapsed();
    wait_committed(client, &submit(decisions)?, COMMIT_TIMEOUT)?;
    Ok(Disbursed { filed, total: start.elapsed() })
}
