//! `civitas dev`'s demo data that genesis cannot hold (see [`civitas_node::demo`]): its
//! transactions, submitted in order through the running node, each waited for; and the demo
//! statistics round, which needs the SDK's Prio3 and HPKE steps as operators and aggregators
//! run them.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use civitas_client::seal::X25519KeyPair;
use civitas_client::stats::{Aggregator, report, seal_verify_key};
use civitas_execution::stats::query;
use civitas_node::dev::{read_key, write_secret_file};
use civitas_node::{Node, TxStatus, demo};
use civitas_types::did_doc::{DidDocumentData, KeyMaterial, Relations, VerificationMethod};
use civitas_types::stats::vdaf::Value;
use civitas_types::stats::{Measurement, Report, Round, RoundStatus};
use civitas_types::{
    Did, DidInstruction, Hash, Instruction, SecretKey, StatsInstruction, Transaction, TxOutcome, keyfile,
};

/// Longest the demo waits for one of its transactions, or for the round's deadline.
const STEP_WAIT: Duration = Duration::from_secs(30);

/// Makes the demo devices, the demo school project, the demo rental (a listed flat and a
/// signed lease), the demo data catalog (metro's dataset, granted to bus and used) and the demo
/// statistics round on a newly created dev chain in `data_dir`.
pub(crate) fn seed(node: &Node, data_dir: &Path) -> anyhow::Result<()> {
    run(node, demo::device_steps(node, data_dir)?)?;
    run(node, demo::fund_steps(node, data_dir)?)?;
    run(node, demo::rental_steps(node, data_dir)?)?;
    run(node, demo::catalog_steps(node, data_dir)?)?;
    stats_round(node, data_dir)
}

fn run(node: &Node, steps: Vec<demo::Step>) -> anyhow::Result<()> {
    for step in steps {
        run_together(node, vec![step])?;
    }
    Ok(())
}

/// Submits `steps` at once (each signer at most once) and waits until each is committed.
fn run_together(node: &Node, steps: Vec<demo::Step>) -> anyhow::Result<()> {
    let chain_id = node.status().chain_id.clone();
    let mut txs = Vec::with_capacity(steps.len());
    for step in &steps {
        let signer = &step.signer;
        let nonce = node.account_by_key(&signer.public_key())?.map_or(0, |a| a.nonce);
        txs.push(
            Transaction {
                chain_id: chain_id.clone(),
                signer: signer.public_key(),
                nonce,
                valid_until_height: node.next_height() + 100,
                instructions: step.instructions.clone(),
            }
            .sign(signer),
        );
    }
    let hashes = node
        .submit(txs)
        .into_iter()
        .map(|r| r.map_err(|e| anyhow::anyhow!("{e}")))
        .collect::<anyhow::Result<Vec<Hash>>>()?;
    let start = Instant::now();
    for (step, hash) in steps.iter().zip(hashes) {
        loop {
            match node.tx_status(&hash)? {
                TxStatus::Committed { receipt, .. } => match receipt.outcome {
                    TxOutcome::Success => break,
                    TxOutcome::Failed { code, message } => bail!("demo step `{}` failed: {code}: {message}", step.what),
                },
                TxStatus::Pending if start.elapsed() < STEP_WAIT => std::thread::sleep(Duration::from_millis(20)),
                other => bail!("demo step `{}` did not commit: {other:?}", step.what),
            }
        }
    }
    Ok(())
}

/// The demo round's districts, in the order of its sum vector.
pub(crate) const DISTRICTS: [&str; 6] = ["Rongdong", "Rongxi", "Civic Centre", "Qidong", "Lakeside", "Old Town"];

/// The demo round's aggregators, leader first: the statistics bureau and the audit office. Each
/// keeps its HPKE secret in `DATA_DIR/keys/<name>-x25519.key` (its DID document's key agreement
/// key) and its aggregator state in `DATA_DIR/stats/<name>/`.
pub(crate) const AGGREGATORS: [&str; 2] = ["statistics", "audit-office"];

/// The demo operators and the passengers each counted entering per district in the hour; only
/// the total is ever published.
const OPERATORS: [(&str, [u64; 6]); 3] = [
    ("metro", [2611, 955, 1577, 0, 0, 410]),
    ("bus", [412, 688, 530, 220, 95, 301]),
    ("taxi", [85, 60, 140, 33, 12, 48]),
];

/// The demo round's title.
const ROUND_TITLE: &str = "Passengers entering per district, 2 March 2026, 08:00-09:00 (Rongdong, Rongxi, Civic Centre, Qidong, Lakeside, Old Town)";

/// The demo statistics round, taken to its published total by the real operator and aggregator
/// steps: the statistics bureau and the audit office publish X25519 key agreement keys in their
/// DID documents; the transport bureau defines a round of passengers per district (a Prio3
/// sum vector over six districts, at most 100,000 per entry) for metro, bus and taxi, with
/// the two as aggregators, three reports at least, open for three blocks; the statistics
/// bureau (the leader) seals the verification key to the audit office while the three operators
/// each split their counts and seal one share to each aggregator; past the deadline each
/// aggregator opens and prepares its shares, the chain decides each report, and their aggregate
/// shares make the published total. The round's number is the next free one.
fn stats_round(node: &Node, data_dir: &Path) -> anyhow::Result<()> {
    let keys = data_dir.join("keys");
    let key = |name: &str| read_key(&keys.join(format!("{name}.key")));
    let did = |k: &SecretKey| Did::from_initial_key(&k.public_key());
    let step = |what, signer: &SecretKey, i: StatsInstruction| demo::Step {
        what,
        signer: signer.clone(),
        instructions: vec![Instruction::Stats(i)],
    };
    let mut secrets = Vec::new();
    let mut steps = Vec::new();
    for name in AGGREGATORS {
        let k = key(name)?;
        let secret = *X25519KeyPair::generate().context("drawing an X25519 key")?.secret();
        write_secret_file(&keys.join(format!("{name}-x25519.key")), &keyfile::render_x25519(&secret))?;
        let method = VerificationMethod {
            fragment: "hpke".into(),
            key: KeyMaterial::X25519(keyfile::x25519_public(&secret)),
            relations: Relations::KEY_AGREEMENT,
        };
        let document = DidDocumentData { methods: vec![method], ..DidDocumentData::default() };
        steps.push(demo::Step {
            what: "an aggregator publishes its key agreement key",
            signer: k.clone(),
            instructions: vec![Instruction::Dids(DidInstruction::UpdateDid { did: did(&k), document })],
        });
        secrets.push((k, secret));
    }
    run_together(node, steps)?;

    let transport = key("transport")?;
    let operators = OPERATORS.iter().map(|(name, _)| key(name)).collect::<Result<Vec<_>, _>>()?;
    let id = node.query(query::rounds)?;
    let define = StatsInstruction::DefineRound {
        title: ROUND_TITLE.into(),
        measurement: Measurement::SumVec { length: DISTRICTS.len() as u32, max: 100_000 },
        operators: operators.iter().map(did).collect(),
        aggregators: secrets.iter().map(|(k, _)| did(k)).collect(),
        min_reports: 3,
        deadline_blocks: 3,
        by: did(&transport),
    };
    run(node, vec![step("the transport bureau defines a round", &transport, define)])?;
    let round = read_round(node, id)?;

    // The leader's verification key is kept where `civitas aggregator --state` keeps it.
    let leader = &secrets[0].0;
    let verify_key = *X25519KeyPair::generate().context("drawing the verification key")?.secret();
    let state = data_dir.join("stats").join(AGGREGATORS[0]);
    std::fs::create_dir_all(&state).with_context(|| format!("creating {}", state.display()))?;
    write_secret_file(&state.join(format!("round-{id}.verify-key")), &format!("{}\n", hex::encode(verify_key)))?;
    let sealed = seal_verify_key(&round, &verify_key)?;
    let mut steps = vec![step(
        "the leader shares the verification key",
        leader,
        StatsInstruction::ShareVerifyKey { round: id, sealed, by: did(leader) },
    )];
    let chain_id = node.status().chain_id.clone();
    for ((_, counts), k) in OPERATORS.iter().zip(&operators) {
        let instruction = report(&chain_id, &round, &Value::Vector(counts.to_vec()), did(k))?;
        steps.push(step("an operator reports", k, instruction));
    }
    run_together(node, steps)?;

    let start = Instant::now();
    while read_round(node, id)?.status_at(node.next_height()) == RoundStatus::Open {
        if start.elapsed() > STEP_WAIT {
            bail!("the demo round's deadline did not pass");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let round = read_round(node, id)?;
    let aggregators: Vec<Aggregator<'_>> = secrets
        .iter()
        .enumerate()
        .map(|(i, (_, secret))| Aggregator {
            round: &round,
            chain_id: &chain_id,
            index: i as u8,
            secret: *secret,
            verify_key,
        })
        .collect();
    let reports = read_reports(node, &round)?;
    let mut steps = Vec::new();
    for (agg, (k, _)) in aggregators.iter().zip(&secrets) {
        let shares = reports.iter().map(|r| agg.prep_share(r)).collect::<Result<Vec<_>, _>>()?;
        let i = StatsInstruction::PostPrepShares { round: id, from: 0, shares, by: did(k) };
        steps.push(step("an aggregator posts its preparation shares", k, i));
    }
    run_together(node, steps)?;

    let reports = read_reports(node, &round)?;
    let mut steps = Vec::new();
    for (agg, (k, _)) in aggregators.iter().zip(&secrets) {
        let (share, count) = agg.aggregate_share(&reports)?;
        let i = StatsInstruction::PostAggregateShare { round: id, reports: count, share, by: did(k) };
        steps.push(step("an aggregator posts its aggregate share", k, i));
    }
    run_together(node, steps)?;
    let published = read_round(node, id)?;
    if published.status != RoundStatus::Published {
        bail!("the demo round was not published: {:?}", published.status);
    }
    Ok(())
}

fn read_round(node: &Node, id: u64) -> anyhow::Result<Round> {
    node.query(|s| query::round(s, id))?.with_context(|| format!("no round {id}"))
}

fn read_reports(node: &Node, round: &Round) -> anyhow::Result<Vec<Report>> {
    (0..round.reports)
        .map(|i| node.query(|s| query::report(s, round.id, i))?.with_context(|| format!("no report {i}")))
        .collect()
}
