//! `civitas bench stats`: one statistics round on a local testnet (four validators by default)
//! with ten operators and a 1,000-bucket histogram, its two aggregators run in process.
//!
//! Setup (untimed): the two aggregator departments (education, the leader, and the audit
//! office) publish X25519 key agreement keys in their DID documents. Timed: the transport bureau
//! defines the round, the leader shares the verification key, each operator reports a random
//! bucket, and once the deadline passes both aggregators post their preparation shares (64 at a
//! time), then their aggregate shares, until the round is published; the total must equal the
//! histogram of the submitted buckets. Separately, each aggregator's preparation of the round's
//! reports is timed in process.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use civitas_client::Client;
use civitas_client::seal::X25519KeyPair;
use civitas_client::stats::{Aggregator, open_verify_key, report, seal_verify_key};
use civitas_client::wire::TxState;
use civitas_node::dev;
use civitas_types::did_doc::{DidDocumentData, KeyMaterial, Relations, VerificationMethod};
use civitas_types::stats::vdaf::Value;
use civitas_types::stats::{Measurement, PREP_BATCH_MAX, Report, RoundStatus};
use civitas_types::{DidInstruction, Hash, Instruction, SecretKey, SignedTransaction, StatsInstruction};

use crate::bench::{Target, start_chain};
use crate::bench_device::{Setup, did};

/// The round's operators: organizations of the dev genesis.
const OPERATORS: [&str; 10] = [
    "metro",
    "bus",
    "taxi",
    "acme",
    "globex",
    "hoodworks",
    "flameco",
    "lockworks",
    "jianye-construction",
    "lianhua-masonry",
];
/// The round's aggregators, leader first: departments of the dev genesis.
const AGGREGATORS: [&str; 2] = ["education", "audit-office"];
/// The histogram's buckets.
const BUCKETS: u32 = 1_000;
/// How long the round may take before the bench gives up.
const ROUND_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, clap::Args)]
pub(crate) struct StatsArgs {
    /// Validators the bench starts as processes on this machine (1: a dev node).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    validators: u16,
    /// Blocks the round takes reports for (the reports are submitted right after the
    /// definition commits, so this must leave them time to commit).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=1_000))]
    deadline_blocks: u64,
    /// How many times the in-process preparation timing goes over the round's reports.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    prep_repeats: u64,
}

/// A random bucket, from the operating system's randomness.
fn random_bucket() -> anyhow::Result<u32> {
    let kp = X25519KeyPair::generate().map_err(|e| anyhow::anyhow!("drawing randomness: {e}"))?;
    let mut b = [0; 4];
    b.copy_from_slice(&kp.secret()[..4]);
    Ok(u32::from_be_bytes(b) % BUCKETS)
}

/// Submits `txs` at once; gives each one's hash and submission time.
fn submit(client: &Client, txs: &[SignedTransaction]) -> anyhow::Result<Vec<(Hash, Instant)>> {
    let at = Instant::now();
    client
        .submit_batch(txs)?
        .into_iter()
        .map(|item| {
            let hash = item.hash.with_context(|| format!("a transaction was refused: {:?}", item.detail))?;
            Ok((Hash::from_hex(&hash).map_err(|e| anyhow::anyhow!("{e}"))?, at))
        })
        .collect()
}

/// Waits, polling every 5 ms, until each of `pending` is committed; gives each one's latency
/// from submission to the moment it was seen committed, in ms. Fails if one failed.
fn committed(client: &Client, pending: &[(Hash, Instant)]) -> anyhow::Result<Vec<u64>> {
    let start = Instant::now();
    let mut lat = vec![None; pending.len()];
    while lat.iter().any(Option::is_none) {
        for (i, (h, at)) in pending.iter().enumerate() {
            if lat[i].is_some() {
                continue;
            }
            match client.tx(h)? {
                Some(s) if s.status == TxState::Committed => lat[i] = Some(at.elapsed().as_millis() as u64),
                Some(s) if s.status == TxState::Pending => {}
                None => {}
                Some(s) => bail!("transaction {} {:?}: {:?} {:?}", h.to_hex(), s.status, s.error_code, s.error_message),
            }
        }
        ensure!(start.elapsed() < ROUND_TIMEOUT, "transactions not committed within {} s", ROUND_TIMEOUT.as_secs());
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(lat.into_iter().flatten().collect())
}

fn stats(i: StatsInstruction) -> Instruction {
    Instruction::Stats(i)
}

pub(crate) fn run(args: StatsArgs) -> anyhow::Result<u8> {
    let tmp = tempfile::tempdir().context("creating a temp dir for the bench chain")?;
    let (urls, target) = start_chain(tmp.path(), args.validators, &[])?;
    let client = Client::new(&urls[0]);
    let chain_id = client.status()?.chain_id;
    let keys_dir = tmp.path().join("keys");
    let key = |name: &str| dev::read_key(&keys_dir.join(format!("{name}.key"))).context("reading a demo key");
    let bureau = key("transport")?;
    let operators: Vec<SecretKey> = OPERATORS.iter().map(|n| key(n)).collect::<anyhow::Result<_>>()?;
    let aggregators: Vec<SecretKey> = AGGREGATORS.iter().map(|n| key(n)).collect::<anyhow::Result<_>>()?;
    let mut s = Setup {
        client: &client,
        chain_id: chain_id.clone(),
        valid_until: client.status()?.height + 1_000_000,
        nonces: HashMap::new(),
    };

    // Setup: each aggregator's key agreement key in its DID document.
    eprintln!("setting up: {} aggregators publish their key agreement keys...", AGGREGATORS.len());
    let mut hpke = Vec::new();
    let mut updates = Vec::new();
    for k in &aggregators {
        let kp = X25519KeyPair::generate().map_err(|e| anyhow::anyhow!("drawing an X25519 key: {e}"))?;
        let document = DidDocumentData {
            methods: vec![VerificationMethod {
                fragment: "hpke".into(),
                key: KeyMaterial::X25519(kp.public()),
                relations: Relations::KEY_AGREEMENT,
            }],
            ..DidDocumentData::default()
        };
        updates.push(s.one(k, vec![Instruction::Dids(DidInstruction::UpdateDid { did: did(k), document })])?);
        hpke.push(*kp.secret());
    }
    s.settle(&updates)?;
    let id = client.stats_rounds(0, 1)?["total"].as_u64().context("the rounds' total")?;
    let buckets: Vec<u32> = (0..OPERATORS.len()).map(|_| random_bucket()).collect::<anyhow::Result<_>>()?;

    // The timed round.
    eprintln!(
        "round {id}: {} operators, {BUCKETS} buckets, deadline in {} blocks",
        OPERATORS.len(),
        args.deadline_blocks
    );
    let round_start = Instant::now();
    let define = StatsInstruction::DefineRound {
        title: "Bench passengers per stop".into(),
        measurement: Measurement::Histogram { length: BUCKETS },
        operators: operators.iter().map(did).collect(),
        aggregators: aggregators.iter().map(did).collect(),
        min_reports: OPERATORS.len() as u32,
        deadline_blocks: args.deadline_blocks,
        by: did(&bureau),
    };
    let define = s.one(&bureau, vec![stats(define)])?;
    committed(&client, &submit(&client, &[define])?)?;
    let round = client.stats_round(id)?.with_context(|| format!("no round {id}"))?.round;
    let verify_key = *X25519KeyPair::generate().map_err(|e| anyhow::anyhow!("drawing the key: {e}"))?.secret();
    let share = StatsInstruction::ShareVerifyKey {
        round: id,
        sealed: seal_verify_key(&round, &verify_key)?,
        by: did(&aggregators[0]),
    };
    let share = s.one(&aggregators[0], vec![stats(share)])?;
    let mut reports = Vec::with_capacity(operators.len());
    for (k, b) in operators.iter().zip(&buckets) {
        let i = report(&chain_id, &round, &Value::Bucket(*b), did(k))?;
        reports.push(s.one(k, vec![stats(i)])?);
    }
    let pending = submit(&client, &reports)?;
    let key_shared = submit(&client, &[share])?;
    let mut lat = committed(&client, &pending)?;
    committed(&client, &key_shared)?;
    let sealed = client.stats_verify_key(id, 1)?.context("the leader's sealed key")?;
    ensure!(open_verify_key(&round, 1, &hpke[1], &sealed)? == verify_key, "the helper opened another key");

    // Past the deadline: each aggregator prepares and posts its shares, then its aggregate.
    let view = loop {
        let view = client.stats_round(id)?.with_context(|| format!("no round {id}"))?;
        if view.status != RoundStatus::Open {
            break view;
        }
        ensure!(round_start.elapsed() < ROUND_TIMEOUT, "round {id} still open after {} s", ROUND_TIMEOUT.as_secs());
        std::thread::sleep(Duration::from_millis(10));
    };
    ensure!(view.status == RoundStatus::Aggregating, "round {id} is {:?}, not aggregating", view.status);
    let r = view.round;
    let all: Vec<Report> = (0..r.reports)
        .map(|i| client.stats_report(id, i)?.with_context(|| format!("round {id} has no report {i}")))
        .collect::<anyhow::Result<_>>()?;
    let aggs: Vec<Aggregator<'_>> = hpke
        .iter()
        .enumerate()
        .map(|(i, secret)| Aggregator { round: &r, chain_id: &chain_id, index: i as u8, secret: *secret, verify_key })
        .collect();
    let mut posts = Vec::new();
    for (agg, k) in aggs.iter().zip(&aggregators) {
        for (b, chunk) in all.chunks(PREP_BATCH_MAX).enumerate() {
            let shares = chunk.iter().map(|rep| agg.prep_share(rep)).collect::<Result<Vec<_>, _>>()?;
            ensure!(shares.iter().all(|s| !s.is_empty()), "aggregator {} could not prepare a report", agg.index);
            let from = (b * PREP_BATCH_MAX) as u32;
            posts
                .push(s.one(k, vec![stats(StatsInstruction::PostPrepShares { round: id, from, shares, by: did(k) })])?);
        }
    }
    committed(&client, &submit(&client, &posts)?)?;
    let r = client.stats_round(id)?.with_context(|| format!("no round {id}"))?.round;
    ensure!(r.decided == r.reports, "round {id}: {} of {} reports decided", r.decided, r.reports);
    let all: Vec<Report> = (0..r.reports)
        .map(|i| client.stats_report(id, i)?.with_context(|| format!("round {id} has no report {i}")))
        .collect::<anyhow::Result<_>>()?;
    let aggs: Vec<Aggregator<'_>> = hpke
        .iter()
        .enumerate()
        .map(|(i, secret)| Aggregator { round: &r, chain_id: &chain_id, index: i as u8, secret: *secret, verify_key })
        .collect();
    let mut posts = Vec::new();
    for (agg, k) in aggs.iter().zip(&aggregators) {
        let (share, count) = agg.aggregate_share(&all)?;
        let post = StatsInstruction::PostAggregateShare { round: id, reports: count, share, by: did(k) };
        posts.push(s.one(k, vec![stats(post)])?);
    }
    committed(&client, &submit(&client, &posts)?)?;
    let view = loop {
        let view = client.stats_round(id)?.with_context(|| format!("no round {id}"))?;
        if matches!(view.status, RoundStatus::Published | RoundStatus::Failed) {
            break view;
        }
        ensure!(round_start.elapsed() < ROUND_TIMEOUT, "round {id} not published after {} s", ROUND_TIMEOUT.as_secs());
        std::thread::sleep(Duration::from_millis(10));
    };
    let round_ms = round_start.elapsed().as_millis();
    ensure!(view.status == RoundStatus::Published, "round {id} is {:?}, not published", view.status);
    let mut expected = vec![0u128; BUCKETS as usize];
    for b in &buckets {
        expected[*b as usize] += 1;
    }
    ensure!(view.round.total == expected, "round {id}'s total is not the histogram of the submitted buckets");
    eprintln!(
        "round {id} published at height {:?} in {round_ms} ms: {} accepted, {} rejected; total matches",
        view.round.published_height, view.round.accepted, view.rejected
    );

    // The chain is stopped first, so the validators do not share the cores with the timing.
    match target {
        Target::Dev(running) => running.stop()?,
        Target::Testnet(nodes) => drop(nodes),
        Target::Remote => {}
    }

    // Preparation, in process: each aggregator over the round's reports, repeated.
    let mut prep_per_s = Vec::with_capacity(aggs.len());
    for agg in &aggs {
        let start = Instant::now();
        for _ in 0..args.prep_repeats {
            for rep in &all {
                ensure!(!agg.prep_share(rep)?.is_empty(), "aggregator {} could not prepare a report", agg.index);
            }
        }
        prep_per_s.push((args.prep_repeats * all.len() as u64) as f64 / start.elapsed().as_secs_f64());
    }

    lat.sort_unstable();
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    println!(
        "tps={:.0} p50_ms={} p99_ms={} round_ms={round_ms} operators={} buckets={BUCKETS} prep_per_s_leader={:.0} prep_per_s_helper={:.0}",
        prep_per_s[0].min(prep_per_s[1]),
        pct(0.50),
        pct(0.99),
        OPERATORS.len(),
        prep_per_s[0],
        prep_per_s[1],
    );
    Ok(0)
}
