//! `civitas aggregator`: one aggregator department's part of one statistics round, run by one of
//! its officials until the round is published or failed, or a timeout passes. The leader draws
//! the verification key (kept in the state folder before it is used, so a restart reuses it) and
//! seals it to each helper on chain; a helper opens its copy. Once the round is past its deadline
//! with enough reports, the aggregator opens its input share of each report with its HPKE key,
//! prepares it and posts the preparation shares in report order (64 at a time); once the chain
//! has decided every report, it posts its aggregate share of the accepted ones. The chain adds
//! the aggregate shares and publishes the total. Each step prints one line.
//!
//! Exit codes: 0 when the round is published, 3 if it failed (too few reports), 1 on timeout or
//! error.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::seal::X25519KeyPair;
use civitas_client::stats::{Aggregator, open_verify_key, seal_verify_key};
use civitas_types::stats::vdaf::VERIFY_KEY_BYTES;
use civitas_types::stats::{PREP_BATCH_MAX, Report, Round, RoundStatus};
use civitas_types::{Did, Instruction, StatsInstruction, keyfile};

use crate::common::{DEFAULT_NODE, EXIT_TX_FAILED, TxOpts, submit};

/// Exit code when the round failed (too few reports): nothing to aggregate.
const EXIT_ROUND_FAILED: u8 = 3;
/// Exit code when the round was not published within the timeout.
const EXIT_TIMEOUT: u8 = 1;
/// Largest X25519 key file read.
const KEY_FILE_BYTES_MAX: u64 = 4 * 1024;

/// The options of `civitas aggregator`.
#[derive(Debug, clap::Args)]
pub(crate) struct AggregatorArgs {
    /// The official's account key file (it signs the aggregator's transactions).
    #[arg(long)]
    key: PathBuf,
    /// The aggregator department the official acts for.
    #[arg(long)]
    by: Did,
    /// The department's X25519 key file (`civitas keys new --x25519`): the secret of the key
    /// agreement key in its DID document, which the round's input shares are sealed to.
    #[arg(long)]
    hpke_key: PathBuf,
    /// A folder for the aggregator's state (the leader's verification key of each round).
    #[arg(long)]
    state: PathBuf,
    /// The round.
    #[arg(long)]
    round: u64,
    /// The node's API.
    #[arg(long, default_value = DEFAULT_NODE)]
    node: String,
    /// How often to read the round, in milliseconds.
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
    /// Give up (exit 1) after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
}

/// Reads an X25519 key file (`civitas keys new --x25519`).
fn load_x25519(path: &Path) -> anyhow::Result<[u8; 32]> {
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if size > KEY_FILE_BYTES_MAX {
        bail!("{} is {size} bytes: not a key file", path.display());
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    keyfile::parse_x25519(&text).with_context(|| format!("{} is not an X25519 key file", path.display()))
}

/// Where the leader keeps round `round`'s verification key.
fn verify_key_path(state: &Path, round: u64) -> PathBuf {
    state.join(format!("round-{round}.verify-key"))
}

/// The leader's verification key of `round`: the one saved in `state`, or a fresh one, saved
/// before it is returned (so that it is never sealed to the helpers and then lost).
fn leader_verify_key(state: &Path, round: u64) -> anyhow::Result<[u8; VERIFY_KEY_BYTES]> {
    let path = verify_key_path(state, round);
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let bytes = hex::decode(text.trim()).with_context(|| format!("{} is not hex", path.display()))?;
        return bytes.try_into().map_err(|_| anyhow::anyhow!("{} is not a 32-byte key", path.display()));
    }
    let key = *X25519KeyPair::generate().context("drawing the verification key")?.secret();
    std::fs::create_dir_all(state).with_context(|| format!("creating {}", state.display()))?;
    civitas_node::dev::write_secret_file(&path, &format!("{}\n", hex::encode(key)))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(key)
}

/// Reports `from..to` of `round`.
fn reports(client: &Client, round: u64, from: u32, to: u32) -> anyhow::Result<Vec<Report>> {
    (from..to)
        .map(|i| client.stats_report(round, i)?.with_context(|| format!("round {round} has no report {i}")))
        .collect()
}

/// What the aggregator does next, given the round as read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// The round is published: stop.
    Published,
    /// The round failed: stop.
    Failed,
    /// The leader seals the verification key to the helpers.
    ShareKey,
    /// A helper waits for the leader's key (or it is there to open).
    OpenKey,
    /// Wait: the round is open, or the other aggregators are behind.
    Wait(String),
    /// Post preparation shares of reports `from..to`.
    Prepare { from: u32, to: u32 },
    /// Post the aggregate share.
    Aggregate,
}

/// The next step of aggregator `index` of `r` (whose status is `status`), holding the
/// verification key or not.
fn next_step(r: &Round, status: RoundStatus, index: u8, have_key: bool) -> Step {
    let i = usize::from(index);
    match status {
        RoundStatus::Published => return Step::Published,
        RoundStatus::Failed => return Step::Failed,
        _ => {}
    }
    if index == 0 && !r.key_shared {
        return Step::ShareKey;
    }
    if !have_key {
        return Step::OpenKey;
    }
    if status == RoundStatus::Open {
        return Step::Wait(format!(
            "round {} is open until height {}: {} reports of the {} needed",
            r.id, r.deadline, r.reports, r.min_reports
        ));
    }
    let prepared = r.prepared.get(i).copied().unwrap_or(0);
    if prepared < r.reports {
        let to = r.reports.min(prepared.saturating_add(PREP_BATCH_MAX as u32));
        return Step::Prepare { from: prepared, to };
    }
    if r.decided == r.reports && !r.aggregated.get(i).copied().unwrap_or(false) {
        return Step::Aggregate;
    }
    Step::Wait(format!(
        "waiting for the other aggregators: {} of {} reports decided, aggregate shares {}",
        r.decided,
        r.reports,
        r.aggregated.iter().filter(|a| **a).count()
    ))
}

/// Runs `civitas aggregator` (see the module's documentation for its exit codes).
pub(crate) fn run(args: AggregatorArgs) -> anyhow::Result<u8> {
    let secret = load_x25519(&args.hpke_key)?;
    let public = keyfile::x25519_public(&secret);
    let client = Client::new(&args.node);
    let chain_id = client.status()?.chain_id;
    let id = args.round;
    let give_up = Instant::now() + Duration::from_secs(args.timeout_secs);
    let poll = Duration::from_millis(args.poll_ms.max(1));
    let tx = || TxOpts::new(args.key.clone(), &args.node);
    let mut verify_key: Option<[u8; VERIFY_KEY_BYTES]> = None;
    let mut said = String::new();
    let mut say = |line: String| {
        if line != said {
            println!("{line}");
            said = line;
        }
    };
    loop {
        if Instant::now() >= give_up {
            println!("round {id} not published within {} s; giving up", args.timeout_secs);
            return Ok(EXIT_TIMEOUT);
        }
        let view = client.stats_round(id)?.with_context(|| format!("no statistics round {id}"))?;
        let r = &view.round;
        let index =
            r.aggregator(&args.by).with_context(|| format!("{} is not an aggregator of round {id}", args.by))?;
        if r.aggregators.get(usize::from(index)).map(|a| a.key) != Some(public) {
            bail!("{} is not the key agreement key round {id} seals to {}", args.hpke_key.display(), args.by);
        }
        let live = matches!(view.status, RoundStatus::Open | RoundStatus::Aggregating);
        if index == 0 && verify_key.is_none() && live {
            // The leader's key is drawn and saved (or read back) before it is sealed to anyone.
            let path = verify_key_path(&args.state, id);
            if r.key_shared && !path.exists() {
                bail!("round {id}'s verification key was shared, but {} is missing", path.display());
            }
            verify_key = Some(leader_verify_key(&args.state, id)?);
        }
        let step = next_step(r, view.status, index, verify_key.is_some());
        let code = match step {
            Step::Published => {
                let total: Vec<String> = r.total.iter().map(u128::to_string).collect();
                println!(
                    "round {id} published at height {}: total [{}] from {} accepted reports ({} rejected)",
                    r.published_height.unwrap_or_default(),
                    total.join(", "),
                    r.accepted,
                    view.rejected
                );
                return Ok(0);
            }
            Step::Failed => {
                println!(
                    "round {id} failed: {} reports of the {} needed; nothing to aggregate",
                    r.reports, r.min_reports
                );
                return Ok(EXIT_ROUND_FAILED);
            }
            Step::ShareKey => {
                let key = verify_key.context("the leader's verification key")?;
                let sealed = seal_verify_key(r, &key)?;
                say(format!("sealing round {id}'s verification key to its helpers ({})", sealed.len()));
                let i = StatsInstruction::ShareVerifyKey { round: id, sealed, by: args.by };
                submit(tx(), Instruction::Stats(i))?
            }
            Step::OpenKey => {
                match client.stats_verify_key(id, index)? {
                    Some(sealed) => {
                        verify_key = Some(open_verify_key(r, index, &secret, &sealed)?);
                        say(format!("opened round {id}'s verification key"));
                    }
                    None => say(format!("waiting for the leader to share round {id}'s verification key")),
                }
                0
            }
            Step::Wait(line) => {
                say(line);
                0
            }
            Step::Prepare { from, to } => {
                let key = verify_key.context("the verification key")?;
                let agg = Aggregator { round: r, chain_id: &chain_id, index, secret, verify_key: key };
                let shares = reports(&client, id, from, to)?
                    .iter()
                    .map(|report| agg.prep_share(report))
                    .collect::<Result<Vec<_>, _>>()?;
                let rejected = shares.iter().filter(|s| s.is_empty()).count();
                say(format!(
                    "posting preparation shares of reports {from} to {} ({rejected} not opened or prepared)",
                    to - 1
                ));
                let i = StatsInstruction::PostPrepShares { round: id, from, shares, by: args.by };
                submit(tx(), Instruction::Stats(i))?
            }
            Step::Aggregate => {
                let key = verify_key.context("the verification key")?;
                let agg = Aggregator { round: r, chain_id: &chain_id, index, secret, verify_key: key };
                let all = reports(&client, id, 0, r.reports)?;
                let (share, count) = agg.aggregate_share(&all)?;
                say(format!("posting the aggregate share of {count} accepted reports"));
                let i = StatsInstruction::PostAggregateShare { round: id, reports: count, share, by: args.by };
                submit(tx(), Instruction::Stats(i))?
            }
        };
        if code == EXIT_TX_FAILED {
            say("the transaction failed; reading the round again".to_owned());
        }
        std::thread::sleep(poll);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_types::stats::{AggregatorKey, Measurement};

    fn did(n: u8) -> Did {
        Did::from_initial_key(&civitas_types::SecretKey::from_seed([n; 32]).public_key())
    }

    fn round() -> Round {
        Round {
            id: 2,
            title: "t".into(),
            measurement: Measurement::Histogram { length: 4 },
            operators: vec![did(1), did(2), did(3)],
            aggregators: vec![AggregatorKey { org: did(4), key: [4; 32] }, AggregatorKey { org: did(5), key: [5; 32] }],
            min_reports: 3,
            deadline: 10,
            defined_by: did(6),
            height: 1,
            reports: 70,
            key_shared: false,
            prepared: vec![0, 0],
            decided: 0,
            accepted: 0,
            aggregated: vec![false, false],
            status: RoundStatus::Open,
            total: vec![],
            published_height: None,
        }
    }

    #[test]
    fn the_steps_follow_the_round() {
        let mut r = round();
        assert_eq!(next_step(&r, RoundStatus::Open, 0, true), Step::ShareKey, "the leader shares first");
        assert_eq!(next_step(&r, RoundStatus::Open, 1, false), Step::OpenKey);
        r.key_shared = true;
        assert!(matches!(next_step(&r, RoundStatus::Open, 1, true), Step::Wait(_)), "open: wait");
        assert_eq!(next_step(&r, RoundStatus::Aggregating, 1, true), Step::Prepare { from: 0, to: 64 });
        r.prepared = vec![64, 70];
        assert_eq!(next_step(&r, RoundStatus::Aggregating, 0, true), Step::Prepare { from: 64, to: 70 });
        assert!(matches!(next_step(&r, RoundStatus::Aggregating, 1, true), Step::Wait(_)), "the leader is behind");
        r.prepared = vec![70, 70];
        r.decided = 70;
        assert_eq!(next_step(&r, RoundStatus::Aggregating, 1, true), Step::Aggregate);
        r.aggregated = vec![false, true];
        assert!(matches!(next_step(&r, RoundStatus::Aggregating, 1, true), Step::Wait(_)), "done: wait");
        assert_eq!(next_step(&r, RoundStatus::Published, 1, true), Step::Published);
        assert_eq!(next_step(&r, RoundStatus::Failed, 0, false), Step::Failed);
    }

    #[test]
    fn the_leader_keeps_its_verification_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("agg");
        let key = leader_verify_key(&state, 7).expect("drawn");
        assert!(verify_key_path(&state, 7).exists(), "saved before use");
        assert_eq!(leader_verify_key(&state, 7).expect("read back"), key);
        assert_ne!(leader_verify_key(&state, 8).expect("another round"), key);
    }

    #[test]
    fn arguments_parse_with_their_defaults() {
        use clap::Parser;
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: AggregatorArgs,
        }
        let by = "did:civitas:1111111111111111111111111111111111111111";
        let args = ["agg", "--key", "k", "--by", by, "--hpke-key", "x", "--state", "s", "--round", "3"];
        let cli = Cli::try_parse_from(args).expect("parses");
        assert_eq!((cli.args.round, cli.args.poll_ms, cli.args.timeout_secs), (3, 500, 600));
        assert_eq!(cli.args.node, DEFAULT_NODE);
        assert!(Cli::try_parse_from(&args[..9]).is_err(), "the round is required");
    }

    /// A dev chain whose civil-affairs department is also the transport bureau, its API served
    /// on a local port and a block made every 50 ms: the CLI defines a round, three operators
    /// report with `stats report`, and two `civitas aggregator` runs (leader and helper, at once)
    /// take it to its published total.
    #[test]
    fn two_aggregators_take_a_round_to_its_total() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};

        use civitas_node::consensus::{Application, now_ms};
        use civitas_node::{Node, NodeConfig, dev};
        use civitas_types::did_doc::{DidDocumentData, KeyMaterial, Relations, VerificationMethod};
        use civitas_types::{DidInstruction, SecretKey};

        use crate::stats::StatsCommand;

        let dir = tempfile::tempdir().expect("tempdir");
        let mut chain = dev::prepare(dir.path(), false, &[]).expect("dev");
        let civil = chain.genesis.accounts.iter_mut().find(|a| a.name == "civil-affairs").expect("civil affairs");
        civil.organization.as_mut().expect("a department").functions.push("transport".into());
        let node =
            Arc::new(Node::open(dir.path(), chain.genesis, chain.validator, NodeConfig::default()).expect("node"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let served = node.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                civitas_api::serve(listener, civitas_api::router(served), std::future::pending()).await
            })
        });
        let stop = Arc::new(AtomicBool::new(false));
        let blocks = {
            let (node, stop) = (node.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let executed = node.propose(now_ms()).expect("propose");
                    node.finalized(&executed, b"test certificate").expect("commit");
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        let key_path = |name: &str| dir.path().join(format!("keys/{name}.key"));
        let did = |name: &str| Did::from_initial_key(&dev::read_key(&key_path(name)).expect("key").public_key());
        let tx = |name: &str| TxOpts::new(key_path(name), &url);
        let aggregators = ["education", "audit-office"];
        for name in aggregators {
            let secret = SecretKey::generate().seed();
            std::fs::write(dir.path().join(format!("{name}-x25519.key")), keyfile::render_x25519(&secret))
                .expect("write");
            let document = DidDocumentData {
                methods: vec![VerificationMethod {
                    fragment: "hpke".into(),
                    key: KeyMaterial::X25519(keyfile::x25519_public(&secret)),
                    relations: Relations::KEY_AGREEMENT,
                }],
                ..DidDocumentData::default()
            };
            let update = Instruction::Dids(DidInstruction::UpdateDid { did: did(name), document });
            assert_eq!(submit(tx(name), update).expect("submitted"), 0);
        }
        let operators = ["metro", "bus", "taxi"];
        let define = StatsCommand::Define {
            opts: tx("civil-affairs"),
            title: "Passengers per district".into(),
            histogram: None,
            sum_vec: Some(3),
            max: Some(1_000),
            operators: operators.iter().map(|o| did(o)).collect(),
            aggregators: aggregators.iter().map(|a| did(a)).collect(),
            min_reports: 3,
            deadline_blocks: 60,
            by: did("civil-affairs"),
        };
        assert_eq!(crate::stats::run(define).expect("defined"), 0);
        let runs: Vec<_> = aggregators
            .iter()
            .map(|name| {
                let args = AggregatorArgs {
                    key: key_path(name),
                    by: did(name),
                    hpke_key: dir.path().join(format!("{name}-x25519.key")),
                    state: dir.path().join(format!("{name}-state")),
                    round: 0,
                    node: url.clone(),
                    poll_ms: 50,
                    timeout_secs: 90,
                };
                std::thread::spawn(move || run(args).expect("the aggregator runs"))
            })
            .collect();
        for (name, values) in operators.iter().zip([vec![10, 0, 5], vec![20, 1, 5], vec![30, 2, 5]]) {
            let report =
                StatsCommand::Report { opts: tx(name), round: 0, bucket: None, values: Some(values), by: did(name) };
            assert_eq!(crate::stats::run(report).expect("reported"), 0);
        }
        let codes: Vec<u8> = runs.into_iter().map(|r| r.join().expect("joined")).collect();
        stop.store(true, Ordering::Relaxed);
        blocks.join().expect("blocks");
        assert_eq!(codes, vec![0, 0], "both saw the round published");
        let view = Client::new(&url).stats_round(0).expect("read").expect("round");
        assert_eq!(view.status, RoundStatus::Published);
        assert_eq!(view.round.total, vec![60, 3, 15]);
        assert_eq!((view.round.accepted, view.rejected), (3, 0));
        assert!(verify_key_path(&dir.path().join("education-state"), 0).exists(), "the leader kept its key");
    }
}
