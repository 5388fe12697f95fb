//! `civitas bench transfer`: signed transfers from many accounts, driven over HTTP, with
//! throughput, latency and this machine's Ed25519 verification limit measured in the same run.

use civitas_types::AccountInstruction;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::wire::{self, TxState};
use civitas_node::{NodeConfig, dev};
use civitas_types::codec::{Encode, put_bytes, put_len};
use civitas_types::crypto::verify_batch;
use civitas_types::{Did, Hash, Instruction, PublicKey, SecretKey, Signature, Transaction};

use crate::serve::Running;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum BenchCommand {
    /// Signed transfers between many accounts; prints `tps=… p50_ms=… p99_ms=… verify_limit=…
    /// ratio=… store_bytes_per_tx=… tree_bytes_per_tx=…`, with `tps` counting transfers
    /// committed per second, `store_bytes_per_tx` how much the (first) node's store grew on disk
    /// per committed transfer, and `tree_bytes_per_tx` its state tree's live bytes at the end
    /// per committed transfer (both 0 against `--node`).
    Transfer(TransferArgs),
    /// Payment + invoice pairs on a local testnet (four validators by default); prints the same
    /// line with `tps` counting pairs per second, latency from payment submission to the
    /// invoice's block, and `ratio` the transactions per second (two a pair) over the limit.
    Invoice(crate::bench_invoice::InvoiceArgs),
    /// Device registrations on a local testnet (four validators by default), each checking the
    /// device's attestation (DAC chain, certified model version, possession signature); prints
    /// `tps=… p50_ms=… p99_ms=… exec_limit=… ratio=…` and each stage's cost in µs, with `tps`
    /// counting registrations committed per second, latency from submission to the block, and
    /// `exec_limit` the registrations per second this machine's cores could execute (every
    /// validator checking and executing each once, nothing else), measured in process.
    Device(crate::bench_device::DeviceArgs),
    /// Door-lock events from simulated devices (each its own keys) through one `civitas
    /// gateway` process into a local testnet (four validators by default); prints `tps=…
    /// p50_ms=… p99_ms=… acked_tps=… receipt_bytes=… verify_us=…` and where the time goes, with
    /// `tps` counting events anchored per second (the gateway serves their receipt: the anchor
    /// committed), latency from an event's posting to that moment, `acked_tps` events the
    /// gateway acknowledged (stored durably) per second, and a receipt's size and offline
    /// verification time.
    Lock(crate::bench_lock::LockArgs),
    /// Public project funds on a local testnet (four validators by default): milestone
    /// approvals by many officials of the supervisor, each releasing its milestone, then a
    /// disbursement of payrolls (250 lines each) to 1 000 resident workers; prints `tps=…
    /// p50_ms=… p99_ms=… approvals=… payroll_workers=… payroll_ms=…`, with `tps` counting
    /// approvals committed per second, latency from submission to the block, and `payroll_ms`
    /// the time from the first payroll's submission until every worker is credited (each
    /// balance is then checked).
    Funds(crate::bench_funds::FundsArgs),
    /// Rentals on a local testnet (four validators by default): N landlords, each with a
    /// property certificate anchored, consented to, listed and offered to its own tenant (set up
    /// untimed), then two timed phases at the offered rate: the tenants sign their leases (the
    /// deposit into escrow), then pay rent; prints `tps=… p50_ms=… p99_ms=… signings=…
    /// payments=… signing_tps=… payment_tps=…`, with `tps` counting lease signings and rent
    /// payments committed per second over both phases' windows together, latency from
    /// submission to the block; money is checked to be conserved at the end.
    Rental(crate::bench_rental::RentalArgs),
    /// One statistics round on a local testnet (four validators by default): ten operators each
    /// report a random bucket of a 1,000-bucket histogram, two aggregators (run in process) take
    /// it to its published total, which is checked against the buckets; prints `tps=… p50_ms=…
    /// p99_ms=… round_ms=… operators=10 buckets=1000 prep_per_s_leader=… prep_per_s_helper=…`,
    /// with `tps` counting reports prepared per second (opened and their preparation share
    /// computed, in process) by the slower aggregator, latency from a report's submission to
    /// its block, and `round_ms` the time from the round's definition to its publication.
    Stats(crate::bench_stats::StatsArgs),
    /// The explorer's heaviest pages: a dev chain with a block of 1,000 transfers behind a few
    /// hundred others, served on loopback; one client asks for the dashboard and that block's
    /// page in turn; prints `tps=… p50_ms=… p99_ms=… dashboard_p50_ms=… dashboard_p99_ms=…
    /// block_p50_ms=… block_p99_ms=… block_txs=… block_page_bytes=…`, with `tps` counting pages
    /// served per second and latency from request to last byte.
    Explorer(crate::bench_explorer::ExplorerArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct TransferArgs {
    /// How long to offer load, in seconds (at most a day). From two minutes on, it reports each
    /// minute's throughput, latency and the nodes' memory and disk (a soak run); from twenty
    /// minutes on, the last line compares the last ten minutes with the first ten, and memory
    /// in the last ten with the ten after the first (after warm-up).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    duration: u64,
    /// A running node's API (repeat for several: batches go to each in turn); without it, the
    /// bench starts its own chain in a temp dir: a dev node, or with --validators N a local
    /// testnet of N `civitas node` processes.
    #[arg(long)]
    node: Vec<String>,
    /// With --node: a finance key to fund the sender accounts.
    #[arg(long)]
    faucet_key: Option<PathBuf>,
    /// Sending accounts (at most 20 000).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=20_000))]
    accounts: u64,
    /// Offered load in transactions per second; without it, as fast as the node accepts.
    #[arg(long)]
    rate: Option<u64>,
    /// Validators sharing this machine: how many the bench starts (without --node), and what
    /// the machine's verification rate is divided by.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    validators: u16,
    /// Heights of the state tree the bench's own nodes keep (`state_history` in a node's
    /// configuration): older trees are pruned as the chain grows. A soak with a window shorter
    /// than its first ten minutes prunes in both of the spans it compares.
    #[arg(long, default_value_t = civitas_node::STATE_HISTORY_DEFAULT, value_parser = clap::value_parser!(u64).range(1..))]
    state_history: u64,
    /// With --validators N (a testnet the bench starts): copy each node's log into this folder
    /// (`node-<i>.log`) when the run ends, before the testnet's temp folder is removed.
    #[arg(long)]
    keep_logs: Option<PathBuf>,
}

/// Measures Ed25519 batch verification over all cores: signatures per second.
pub(crate) fn verify_limit() -> u64 {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                let items: Vec<(PublicKey, Signature, Vec<u8>)> = (0..64u32)
                    .map(|i| {
                        let key = SecretKey::from_seed(Hash::digest(&[t as u8, i as u8]).0);
                        let msg = [b"civitas bench message ".as_slice(), &i.to_be_bytes(), &[0u8; 100]].concat();
                        (key.public_key(), key.sign(&msg), msg)
                    })
                    .collect();
                let refs: Vec<(PublicKey, Signature, &[u8])> =
                    items.iter().map(|(k, s, m)| (*k, *s, m.as_slice())).collect();
                let start = Instant::now();
                let mut n = 0u64;
                while start.elapsed() < Duration::from_millis(1500) {
                    let ok = verify_batch(&refs);
                    assert!(ok.iter().all(|b| *b), "bench signatures verify");
                    n += refs.len() as u64;
                }
                n as f64 / start.elapsed().as_secs_f64()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum::<f64>() as u64
}

fn sender_key(i: u64) -> SecretKey {
    SecretKey::from_seed(Hash::digest_parts(&[b"civitas bench sender", &i.to_be_bytes()]).0)
}

/// One round: each sender's next transfer, encoded, with its hash.
struct Round {
    txs: Vec<(Hash, Vec<u8>)>,
}

/// What the senders send: round `r` is each sender's transfer with nonce `first_nonce + r`.
/// The first rounds are signed before the clock starts; a longer run (a soak) signs later
/// rounds as it goes.
struct Transfers<'k> {
    keys: &'k [SecretKey],
    dids: Vec<Did>,
    first_nonce: Vec<u64>,
    chain_id: String,
    valid_until_height: u64,
    presigned: Vec<Round>,
}

impl<'k> Transfers<'k> {
    fn new(keys: &'k [SecretKey], first_nonce: Vec<u64>, chain_id: &str, valid_until_height: u64) -> Self {
        let dids = keys.iter().map(|k| Did::from_initial_key(&k.public_key())).collect();
        Transfers { keys, dids, first_nonce, chain_id: chain_id.to_owned(), valid_until_height, presigned: Vec::new() }
    }

    /// Senders `senders` of round `r`, signed now.
    fn sign(&self, r: u64, senders: std::ops::Range<usize>) -> Vec<(Hash, Vec<u8>)> {
        senders
            .map(|i| {
                let key = &self.keys[i];
                let tx = Transaction {
                    chain_id: self.chain_id.clone(),
                    signer: key.public_key(),
                    nonce: self.first_nonce[i] + r,
                    valid_until_height: self.valid_until_height,
                    instructions: vec![Instruction::Accounts(AccountInstruction::Transfer {
                        to: self.dids[(i + 1) % self.dids.len()],
                        amount: 1,
                    })],
                }
                .sign(key);
                let bytes = tx.encode();
                (Hash::digest(&bytes), bytes)
            })
            .collect()
    }

    /// Signs the first `rounds` rounds on all cores.
    fn presign(&mut self, rounds: u64) {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        let per = rounds.div_ceil(threads);
        let this = &*self;
        let presigned = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || {
                        (t * per..((t + 1) * per).min(rounds))
                            .map(|r| Round { txs: this.sign(r, 0..this.keys.len()) })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("signing threads do not panic")).collect()
        });
        self.presigned = presigned;
    }

    /// The `chunk`-th batch of `batch` senders of round `r`: presigned, or signed now.
    fn batch(&self, r: u64, chunk: usize, batch: usize) -> std::borrow::Cow<'_, [(Hash, Vec<u8>)]> {
        let senders = chunk * batch..((chunk + 1) * batch).min(self.keys.len());
        match self.presigned.get(r as usize) {
            Some(round) => std::borrow::Cow::Borrowed(&round.txs[senders]),
            None => std::borrow::Cow::Owned(self.sign(r, senders)),
        }
    }
}

fn batch_body(txs: &[&(Hash, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::with_capacity(txs.iter().map(|t| t.1.len() + 4).sum::<usize>() + 4);
    put_len(&mut body, txs.len());
    for (_, bytes) in txs {
        put_bytes(&mut body, bytes);
    }
    body
}

/// Registers and funds the senders on a remote chain with the faucet (finance) key.
fn fund_remote(client: &Client, faucet: &SecretKey, keys: &[SecretKey], chain_id: &str) -> anyhow::Result<()> {
    let height = client.status()?.height;
    let mut pending = Vec::new();
    let mut registrations = Vec::new();
    for key in keys {
        let did = Did::from_initial_key(&key.public_key());
        if client.account(&did)?.is_none() {
            let t = Transaction {
                chain_id: chain_id.to_owned(),
                signer: key.public_key(),
                nonce: 0,
                valid_until_height: height + 1000,
                instructions: vec![Instruction::Accounts(AccountInstruction::RegisterAccount)],
            };
            registrations.push(t.sign(key));
        }
    }
    for chunk in registrations.chunks(wire::BATCH_TXS_MAX) {
        for item in client.submit_batch(chunk)? {
            pending.push(item.hash.with_context(|| format!("registration refused: {:?}", item.detail))?);
        }
    }
    wait_all(client, &pending)?;
    let faucet_did = Did::from_initial_key(&faucet.public_key());
    let first = client.account(&faucet_did)?.with_context(|| format!("faucet account {faucet_did} not found"))?.nonce;
    let mut mints = Vec::new();
    for (nonce, chunk) in (first..).zip(keys.chunks(civitas_types::limits::TX_INSTRUCTIONS_MAX)) {
        let instructions = chunk
            .iter()
            .map(|k| {
                Instruction::Accounts(AccountInstruction::Mint {
                    to: Did::from_initial_key(&k.public_key()),
                    amount: 1_000_000_000,
                })
            })
            .collect();
        let t = Transaction {
            chain_id: chain_id.to_owned(),
            signer: faucet.public_key(),
            nonce,
            valid_until_height: height + 1000,
            instructions,
        };
        mints.push(t.sign(faucet));
    }
    pending.clear();
    for chunk in mints.chunks(200) {
        for item in client.submit_batch(chunk)? {
            pending.push(item.hash.with_context(|| format!("mint refused: {:?}", item.detail))?);
        }
        wait_all(client, &pending)?;
        pending.clear();
    }
    Ok(())
}

fn wait_all(client: &Client, hashes: &[String]) -> anyhow::Result<()> {
    for h in hashes {
        let hash = Hash::from_hex(h).map_err(|e| anyhow::anyhow!("{e}"))?;
        let s = client.wait_for(&hash, Duration::from_secs(60))?;
        if s.status == TxState::Failed {
            bail!("setup transaction {h} failed: {:?}", s.error_message);
        }
    }
    Ok(())
}

/// The chain the bench drives: nodes it started itself (stopped when dropped), or given URLs.
pub(crate) enum Target {
    Dev(Running),
    Testnet(crate::testnet::Nodes),
    Remote,
}

/// Free loopback ports, found by binding and releasing them.
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    listeners.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

/// Starts the chain the bench runs against, with `keys` funded at genesis.
pub(crate) fn start_chain(
    dir: &std::path::Path,
    validators: u16,
    keys: &[SecretKey],
) -> anyhow::Result<(Vec<String>, Target)> {
    start_chain_keeping(dir, validators, keys, civitas_node::STATE_HISTORY_DEFAULT)
}

/// [`start_chain`] whose nodes keep `state_history` heights of the state tree.
fn start_chain_keeping(
    dir: &std::path::Path,
    validators: u16,
    keys: &[SecretKey],
    state_history: u64,
) -> anyhow::Result<(Vec<String>, Target)> {
    let funded: Vec<(PublicKey, u128)> = keys.iter().map(|k| (k.public_key(), 1_000_000_000_000)).collect();
    if validators == 1 {
        let chain = dev::prepare(dir, true, &funded)?;
        let running = Running::start(
            dir,
            chain.genesis,
            chain.validator,
            "127.0.0.1:0".parse().expect("a valid address"),
            NodeConfig { state_history: civitas_node::History::Window(state_history), ..NodeConfig::default() },
            false,
            None,
        )?;
        return Ok((vec![format!("http://{}", running.addr)], Target::Dev(running)));
    }
    let ports = free_ports(2 * usize::from(validators))?;
    let local = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let addrs: Vec<_> = ports.chunks(2).map(|p| (local(p[0]), local(p[1]))).collect();
    let (urls, nodes) = start_testnet(dir, &addrs, |_| Vec::new(), keys, state_history)?;
    Ok((urls, Target::Testnet(nodes)))
}

/// Writes a testnet of validators at `addrs` (API, p2p) into `dir`, with `keys` funded at
/// genesis; starts each through `launcher(i)` (see [`crate::testnet::spawn_through`]) and waits
/// until every one has finalized a block. Returns their API URLs.
pub(crate) fn start_testnet(
    dir: &std::path::Path,
    addrs: &[(std::net::SocketAddr, std::net::SocketAddr)],
    launcher: impl Fn(usize) -> Vec<std::ffi::OsString>,
    keys: &[SecretKey],
    state_history: u64,
) -> anyhow::Result<(Vec<String>, crate::testnet::Nodes)> {
    let funded: Vec<(PublicKey, u128)> = keys.iter().map(|k| (k.public_key(), 1_000_000_000_000)).collect();
    crate::testnet::write(dir, addrs, &[], &funded, state_history)?;
    eprintln!("starting a local testnet of {} validators in {}...", addrs.len(), dir.display());
    let nodes = crate::testnet::spawn_through(dir, launcher)?;
    let urls: Vec<String> = addrs.iter().map(|(http, _)| format!("http://{http}")).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    for url in &urls {
        let client = Client::new(url);
        while !client.status().is_ok_and(|s| s.height >= 1 && !s.syncing) {
            if Instant::now() > deadline {
                bail!(
                    "the testnet did not start finalizing blocks within 120 s; see {}/node-*/node.log",
                    dir.display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    Ok((urls, nodes))
}

pub(crate) fn run(cmd: BenchCommand) -> anyhow::Result<u8> {
    let args = match cmd {
        BenchCommand::Transfer(args) => args,
        BenchCommand::Invoice(args) => return crate::bench_invoice::run(args),
        BenchCommand::Device(args) => return crate::bench_device::run(args),
        BenchCommand::Lock(args) => return crate::bench_lock::run(args),
        BenchCommand::Funds(args) => return crate::bench_funds::run(args),
        BenchCommand::Rental(args) => return crate::bench_rental::run(args),
        BenchCommand::Stats(args) => return crate::bench_stats::run(args),
        BenchCommand::Explorer(args) => return crate::bench_explorer::run(args),
    };
    if let Some(logs) = &args.keep_logs {
        if args.validators < 2 || !args.node.is_empty() {
            bail!(
                "--keep-logs keeps the logs of a testnet the bench starts: give --validators 2 or more, without --node"
            );
        }
        std::fs::create_dir_all(logs).with_context(|| format!("creating {} for the nodes' logs", logs.display()))?;
    }
    eprintln!("measuring Ed25519 batch verification on all cores...");
    let machine = verify_limit();
    let limit = machine / u64::from(args.validators);
    eprintln!("verify_limit = {machine} signatures/s on this machine / {} validator(s) = {limit}", args.validators);

    let keys: Vec<SecretKey> = (0..args.accounts).map(sender_key).collect();
    let tmp = tempfile::tempdir().context("creating a temp dir for the bench chain")?;
    let (urls, target) = if args.node.is_empty() {
        start_chain_keeping(tmp.path(), args.validators, &keys, args.state_history)?
    } else {
        (args.node.clone(), Target::Remote)
    };
    let clients: Vec<Client> = urls.iter().map(|u| Client::new(u)).collect();
    let client = &clients[0];
    let status = client.status()?;
    if matches!(target, Target::Remote) {
        let faucet =
            args.faucet_key.as_ref().context("--node needs --faucet-key (a finance key) to fund the senders")?;
        let faucet = dev::read_key(faucet)?;
        eprintln!("registering and funding {} senders...", keys.len());
        fund_remote(client, &faucet, &keys, &status.chain_id)?;
    }
    let mut first_nonce = Vec::with_capacity(keys.len());
    for k in &keys {
        let did = Did::from_initial_key(&k.public_key());
        first_nonce.push(client.account(&did)?.with_context(|| format!("sender {did} has no account"))?.nonce);
    }

    let target_rate = args.rate.unwrap_or(limit).max(1);
    let pool = (target_rate.saturating_mul(args.duration) * 11 / 10).clamp(args.accounts, 1_500_000);
    let rounds = pool.div_ceil(args.accounts);
    eprintln!("pre-signing {} transfers ({} rounds of {})...", rounds * args.accounts, rounds, args.accounts);
    let height = client.status()?.height;
    // Valid for a day of blocks at the fastest block interval.
    let mut transfers = Transfers::new(&keys, first_nonce, &status.chain_id, height + 5_000_000);
    transfers.presign(rounds);

    // The first node's store: the dev node's, or node 0's of a testnet.
    let data_dir = match target {
        Target::Dev(_) => Some(tmp.path().to_path_buf()),
        Target::Testnet(_) => Some(tmp.path().join("node-0")),
        Target::Remote => None,
    };
    let store_dir = data_dir.as_ref().map(|d| d.join("chain"));
    let store_before = store_dir.as_deref().map_or(0, civitas_node::disk_bytes);
    let before = scrape(&clients);
    let watched = Watched::of(&target, tmp.path());
    let outcome = drive(&clients, &transfers, &args, height, &watched)?;
    let after = scrape(&clients);
    let store_grown = store_dir.as_deref().map_or(0, civitas_node::disk_bytes).saturating_sub(store_before);
    match target {
        Target::Dev(running) => running.stop()?,
        Target::Testnet(nodes) => {
            let count = nodes.pids().len();
            drop(nodes);
            if let Some(logs) = &args.keep_logs {
                for i in 0..count {
                    let (from, to) =
                        (tmp.path().join(format!("node-{i}/node.log")), logs.join(format!("node-{i}.log")));
                    std::fs::copy(&from, &to)
                        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
                }
                eprintln!("the nodes' logs are in {}", logs.display());
            }
        }
        Target::Remote => {}
    }
    // The tree's share of the store, read once the node has let go of it.
    let tree_bytes = data_dir.as_deref().map_or(0, |dir| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match civitas_node::chain::tree_size(dir) {
                Ok((_, bytes)) => break bytes,
                Err(e) if Instant::now() > deadline => {
                    eprintln!("could not read the store's tree after the run: {e}");
                    break 0;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    });

    let secs = args.duration as f64;
    let tps = outcome.committed_in_window as f64 / secs;
    let soak = soak_summary(&outcome.latencies_ms, &outcome.minutes).map_or(String::new(), |s| format!(" {s}"));
    let mut lat = outcome.latencies_ms;
    lat.sort_unstable();
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    eprintln!(
        "submitted {} (refused {}), committed {} ({} failed) in {} blocks; {} still pending at the end",
        outcome.submitted, outcome.refused, outcome.committed, outcome.failed, outcome.blocks, outcome.unfinished
    );
    for (what, n) in &outcome.refusals {
        eprintln!("  refused or failed, {what}: {n}");
    }
    for (code, n) in &outcome.retries {
        eprintln!("  retried after {code}: {n}");
    }
    report_node_time(&before, &after);
    println!(
        "tps={:.0} p50_ms={} p99_ms={} verify_limit={} ratio={:.3} store_bytes_per_tx={} tree_bytes_per_tx={}{soak}",
        tps,
        pct(0.50),
        pct(0.99),
        limit,
        tps / limit.max(1) as f64,
        store_grown / outcome.committed.max(1),
        tree_bytes / outcome.committed.max(1),
    );
    Ok(0)
}

/// The counters the bench reports, summed over the nodes (missing ones read as zero).
pub(crate) const COUNTERS: [&str; 10] = [
    "civitas_admission_seconds_total",
    "civitas_submitted_transactions_total",
    "civitas_block_build_seconds_total",
    "civitas_block_verify_seconds_total",
    "civitas_block_commit_seconds_total",
    "civitas_blocks_committed_total",
    "civitas_block_transactions_total",
    "civitas_relayed_in_transactions_total",
    "civitas_verify_reused_total",
    "civitas_relay_dropped_transactions_total",
];

pub(crate) fn scrape(clients: &[Client]) -> [f64; COUNTERS.len()] {
    let mut sums = [0.0; COUNTERS.len()];
    for c in clients {
        let Ok(text) = c.metrics() else { continue };
        for (name, value) in samples(&text) {
            if let Some(i) = COUNTERS.iter().position(|c| *c == name) {
                sums[i] += value;
            }
        }
    }
    sums
}

/// The samples of a Prometheus text exposition, name and value (unreadable values as 0).
fn samples(text: &str) -> impl Iterator<Item = (&str, f64)> {
    text.lines().filter(|l| !l.starts_with('#')).filter_map(|line| {
        let mut parts = line.split_whitespace();
        Some((parts.next()?, parts.next()?.parse().unwrap_or(0.0)))
    })
}

/// Where the nodes' time went during the run, summed over all nodes.
pub(crate) fn report_node_time(before: &[f64; COUNTERS.len()], after: &[f64; COUNTERS.len()]) {
    let d: Vec<f64> = before.iter().zip(after).map(|(a, b)| b - a).collect();
    let blocks = d[5].max(1.0);
    eprintln!(
        "node time, all nodes: admission {:.2} s ({:.1} µs/tx over {:.0} tx), proposing {:.2} s, verifying peers' blocks {:.2} s, commit+fsync {:.2} s; {:.0} txs/block committed; relayed in {:.0}, signatures reused {:.0}, relay drops {:.0}",
        d[0],
        d[0] * 1e6 / d[1].max(1.0),
        d[1],
        d[2],
        d[3],
        d[4],
        d[6] / blocks,
        d[7],
        d[8],
        d[9],
    );
}

/// Runs from this long on report each minute (a soak).
const SOAK_MIN: Duration = Duration::from_secs(120);
const MINUTE: Duration = Duration::from_secs(60);
/// Minutes compared at each end of a soak, for runs of at least twice as many.
const SOAK_COMPARED: usize = 10;

/// The node processes and data folders a soak samples each minute.
pub(crate) struct Watched {
    pids: Vec<u32>,
    dirs: Vec<PathBuf>,
}

impl Watched {
    /// A dev node runs in this process (its memory includes the bench's); a testnet's nodes in
    /// theirs; remote nodes are not watched.
    fn of(target: &Target, dir: &std::path::Path) -> Watched {
        match target {
            Target::Dev(_) => Watched { pids: vec![std::process::id()], dirs: vec![dir.to_path_buf()] },
            Target::Testnet(nodes) => Watched {
                pids: nodes.pids(),
                dirs: (0..nodes.pids().len()).map(|i| dir.join(format!("node-{i}"))).collect(),
            },
            Target::Remote => Watched { pids: Vec::new(), dirs: Vec::new() },
        }
    }
}

/// Resident memory of process `pid` in MiB, from `/proc` (0 where it cannot be read).
fn rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn join(values: &[u64]) -> String {
    values.iter().map(u64::to_string).collect::<Vec<_>>().join("/")
}

/// One minute of a soak.
struct Minute {
    tps: f64,
    p50_ms: u64,
    p99_ms: u64,
    /// Each watched node's resident memory and data folder at the minute's end, in MiB.
    rss_mb: Vec<u64>,
    disk_mb: Vec<u64>,
    /// Each node's store block cache at the minute's end, in MiB: part of its resident memory,
    /// growing until the cache is full.
    cache_mb: Vec<u64>,
    /// Each node's store memtables and the filter and index blocks its tables pin outside the
    /// cache, in MiB, and its table files: the store's part of the rest.
    memtable_mb: Vec<u64>,
    pinned_mb: Vec<u64>,
    tables: Vec<u64>,
}

impl Minute {
    fn close(latencies_ms: &[u64], committed: u64, watched: &Watched, clients: &[Client]) -> Minute {
        let (p50_ms, p99_ms) = percentiles(latencies_ms);
        let names = [
            "civitas_store_cache_bytes",
            "civitas_store_write_buffer_bytes",
            "civitas_store_pinned_bytes",
            "civitas_store_tables",
        ];
        let store: Vec<[u64; 4]> = clients
            .iter()
            .map(|c| {
                let text = c.metrics().unwrap_or_default();
                names.map(|name| samples(&text).find_map(|(n, v)| (n == name).then_some(v as u64)).unwrap_or(0))
            })
            .collect();
        Minute {
            tps: committed as f64 / MINUTE.as_secs_f64(),
            p50_ms,
            p99_ms,
            rss_mb: watched.pids.iter().map(|p| rss_mb(*p)).collect(),
            disk_mb: watched.dirs.iter().map(|d| civitas_node::disk_bytes(d) >> 20).collect(),
            cache_mb: store.iter().map(|g| g[0] >> 20).collect(),
            memtable_mb: store.iter().map(|g| g[1] >> 20).collect(),
            pinned_mb: store.iter().map(|g| g[2] >> 20).collect(),
            tables: store.iter().map(|g| g[3]).collect(),
        }
    }
}

/// The median and 99th percentile of `latencies_ms` (0 for none).
fn percentiles(latencies_ms: &[u64]) -> (u64, u64) {
    let mut lat = latencies_ms.to_vec();
    lat.sort_unstable();
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    (pct(0.50), pct(0.99))
}

/// A soak's summary: the first and last [`SOAK_COMPARED`] minutes' throughput and p99, and the
/// largest node's memory, in all and outside the block cache: its median over the
/// [`SOAK_COMPARED`] minutes after the first (`warm`) and over the last (`end`). A median, since
/// memory rises and falls by tens of MiB from minute to minute as memtables fill and flush.
/// `None` for runs shorter than twice [`SOAK_COMPARED`] minutes.
fn soak_summary(latencies_ms: &[u64], minutes: &[(usize, Minute)]) -> Option<String> {
    let n = minutes.len();
    if n < 2 * SOAK_COMPARED {
        return None;
    }
    let span = |from: usize, to: usize| {
        let start = minutes[from].0;
        let end = minutes.get(to).map_or(latencies_ms.len(), |m| m.0);
        let tps = minutes[from..to].iter().map(|(_, m)| m.tps).sum::<f64>() / (to - from) as f64;
        (tps, percentiles(&latencies_ms[start..end]).1)
    };
    let (first_tps, first_p99) = span(0, SOAK_COMPARED);
    let (last_tps, last_p99) = span(n - SOAK_COMPARED, n);
    let most = |m: &Minute| m.rss_mb.iter().copied().max().unwrap_or(0);
    // Memory outside the block cache, which grows until full by design.
    let most_uncached = |m: &Minute| {
        m.rss_mb
            .iter()
            .zip(m.cache_mb.iter().chain(std::iter::repeat(&0)))
            .map(|(r, c)| r.saturating_sub(*c))
            .max()
            .unwrap_or(0)
    };
    let median = |span: &[(usize, Minute)], of: &dyn Fn(&Minute) -> u64| {
        let mut values: Vec<u64> = span.iter().map(|(_, m)| of(m)).collect();
        values.sort_unstable();
        values[values.len() / 2]
    };
    let (warm, end) = (&minutes[SOAK_COMPARED..2 * SOAK_COMPARED], &minutes[n - SOAK_COMPARED..]);
    Some(format!(
        "first10_tps={first_tps:.0} last10_tps={last_tps:.0} first10_p99_ms={first_p99} last10_p99_ms={last_p99} rss_mb_warm={} rss_mb_end={} uncached_mb_warm={} uncached_mb_end={}",
        median(warm, &most),
        median(end, &most),
        median(warm, &most_uncached),
        median(end, &most_uncached),
    ))
}

struct Outcome {
    minutes: Vec<(usize, Minute)>,
    submitted: u64,
    refused: u64,
    /// Refusals for good, and failed requests, by code or error.
    refusals: BTreeMap<String, u64>,
    /// Refusals that were retried, by code.
    retries: BTreeMap<String, u64>,
    committed: u64,
    committed_in_window: u64,
    failed: u64,
    blocks: u64,
    unfinished: usize,
    latencies_ms: Vec<u64>,
}

/// Offers the rounds for `duration` from several submitters while a watcher follows new
/// blocks and times each transaction from submission to its block being visible.
fn drive(
    clients: &[Client],
    transfers: &Transfers<'_>,
    args: &TransferArgs,
    start_height: u64,
    watched: &Watched,
) -> anyhow::Result<Outcome> {
    let client = &clients[0];
    // Batches of about 10 ms of the offered rate (so a paced load is smooth), in round order so
    // each sender's nonces go out in order.
    let batch = args.rate.map_or(1_000, |r| (r / 100).clamp(20, 1_000)) as usize;
    let chunks = transfers.keys.len().div_ceil(batch);
    let submitted_at: Mutex<HashMap<Hash, Instant>> = Mutex::new(HashMap::new());
    let next_round = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let submitted = AtomicU64::new(0);
    let refused = AtomicU64::new(0);
    // By code: refusals for good (and failed requests, which are retried), and retried refusals.
    let refusals: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());
    let retries: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());
    let submitters = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
    let window = Duration::from_secs(args.duration);
    let start = Instant::now();
    let per_batch = Duration::from_secs_f64(batch as f64 / args.rate.unwrap_or(u64::MAX).max(1) as f64);

    std::thread::scope(|s| -> anyhow::Result<Outcome> {
        for _ in 0..submitters {
            s.spawn(|| -> anyhow::Result<()> {
                while !stop.load(Ordering::Relaxed) && start.elapsed() < window {
                    let r = next_round.fetch_add(1, Ordering::Relaxed);
                    let round = transfers.batch((r / chunks) as u64, r % chunks, batch);
                    // Round-robin over the nodes: every validator gets clients.
                    let client = &clients[r % clients.len()];
                    if args.rate.is_some() {
                        let due = per_batch.mul_f64(r as f64);
                        if let Some(wait) = due.checked_sub(start.elapsed()) {
                            std::thread::sleep(wait);
                        }
                    }
                    let mut todo: Vec<&(Hash, Vec<u8>)> = round.iter().collect();
                    while !todo.is_empty() && start.elapsed() < window + Duration::from_secs(5) {
                        {
                            let now = Instant::now();
                            let mut map = submitted_at.lock().expect("not poisoned");
                            for (h, _) in &todo {
                                map.entry(*h).or_insert(now);
                            }
                        }
                        let results = match post_batch(client, &batch_body(&todo)) {
                            Ok(results) => results,
                            Err(e) => {
                                // A node too busy to answer in time: the batch goes again,
                                // since a lost one would leave its senders' later nonces
                                // waiting for good.
                                let mut refusals = refusals.lock().expect("not poisoned");
                                let failed = refusals.entry("request failed (sent again)".to_owned()).or_default();
                                if *failed < 5 {
                                    eprintln!("a batch request failed, sending it again: {e:#}");
                                }
                                *failed += 1;
                                drop(refusals);
                                std::thread::sleep(Duration::from_millis(200));
                                continue;
                            }
                        };
                        let mut retry = Vec::new();
                        for (tx, item) in todo.iter().zip(results) {
                            match item.code.as_deref() {
                                None | Some("already_pending" | "already_committed") => {
                                    submitted.fetch_add(1, Ordering::Relaxed);
                                }
                                // Passing refusals (no room yet, an earlier nonce still to
                                // come, a node catching up): retry, as a wallet would; dropping
                                // the transfer would leave a gap that stops its sender for good.
                                Some(
                                    code @ ("mempool_full" | "signer_full" | "nonce_too_far" | "syncing" | "internal"),
                                ) => {
                                    *retries.lock().expect("not poisoned").entry(code.to_owned()).or_default() += 1;
                                    retry.push(*tx);
                                }
                                Some(code) => {
                                    refused.fetch_add(1, Ordering::Relaxed);
                                    *refusals.lock().expect("not poisoned").entry(code.to_owned()).or_default() += 1;
                                }
                            }
                        }
                        if !retry.is_empty() {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        todo = retry;
                    }
                }
                Ok(())
            });
        }

        // The watcher: follow blocks until the window closes and the submitted load drains.
        let mut seen_height = start_height;
        let mut out = Outcome {
            submitted: 0,
            refused: 0,
            refusals: BTreeMap::new(),
            retries: BTreeMap::new(),
            committed: 0,
            committed_in_window: 0,
            failed: 0,
            blocks: 0,
            unfinished: 0,
            latencies_ms: Vec::new(),
            minutes: Vec::new(),
        };
        let soak = window >= SOAK_MIN;
        let mut minute_from = (0usize, 0u64);
        let drain_deadline = window + Duration::from_secs(30);
        loop {
            let height = client.status()?.height;
            while seen_height < height {
                seen_height += 1;
                let now = Instant::now();
                let mut offset = 0u32;
                loop {
                    let b = client.block(seen_height, offset, wire::BLOCK_PAGE_MAX)?.context("block vanished")?;
                    let mut map = submitted_at.lock().expect("not poisoned");
                    for t in &b.transactions {
                        let hash = Hash::from_hex(&t.hash).map_err(|e| anyhow::anyhow!("{e}"))?;
                        if let Some(at) = map.remove(&hash) {
                            out.committed += 1;
                            if now.duration_since(start) <= window {
                                out.committed_in_window += 1;
                            }
                            if t.status == TxState::Failed {
                                out.failed += 1;
                            }
                            out.latencies_ms.push(now.duration_since(at).as_millis() as u64);
                        }
                    }
                    offset += b.transactions.len() as u32;
                    if b.transactions.is_empty() || offset >= b.tx_count {
                        break;
                    }
                }
                out.blocks += 1;
            }
            let elapsed = start.elapsed();
            let next_minute = MINUTE * (out.minutes.len() as u32 + 1);
            if soak && elapsed >= next_minute && next_minute <= window {
                let latencies = &out.latencies_ms[minute_from.0..];
                let minute = Minute::close(latencies, out.committed - minute_from.1, watched, clients);
                eprintln!(
                    "minute {}: tps={:.0} p50_ms={} p99_ms={} rss_mb={} cache_mb={} memtable_mb={} pinned_mb={} tables={} disk_mb={} refused_so_far={} retried_so_far={}",
                    out.minutes.len() + 1,
                    minute.tps,
                    minute.p50_ms,
                    minute.p99_ms,
                    join(&minute.rss_mb),
                    join(&minute.cache_mb),
                    join(&minute.memtable_mb),
                    join(&minute.pinned_mb),
                    join(&minute.tables),
                    join(&minute.disk_mb),
                    refused.load(Ordering::Relaxed),
                    retries.lock().expect("not poisoned").values().sum::<u64>()
                );
                out.minutes.push((minute_from.0, minute));
                minute_from = (out.latencies_ms.len(), out.committed);
            }
            if elapsed >= window {
                stop.store(true, Ordering::Relaxed);
                let pending = submitted_at.lock().expect("not poisoned").len();
                if pending == 0 || elapsed >= drain_deadline {
                    out.unfinished = pending;
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        out.submitted = submitted.load(Ordering::Relaxed);
        out.refused = refused.load(Ordering::Relaxed);
        out.refusals = std::mem::take(&mut *refusals.lock().expect("not poisoned"));
        out.retries = std::mem::take(&mut *retries.lock().expect("not poisoned"));
        Ok(out)
    })
}

fn post_batch(client: &Client, body: &[u8]) -> anyhow::Result<Vec<wire::BatchItem>> {
    Ok(client.submit_batch_raw(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(p99_ms: u64, rss_mb: [u64; 2], cache_mb: [u64; 2]) -> Minute {
        Minute {
            tps: 100.0,
            p50_ms: 1,
            p99_ms,
            rss_mb: rss_mb.to_vec(),
            disk_mb: vec![0, 0],
            cache_mb: cache_mb.to_vec(),
            memtable_mb: vec![0, 0],
            pinned_mb: vec![0, 0],
            tables: vec![0, 0],
        }
    }

    #[test]
    fn a_soak_compares_its_ends_and_takes_the_largest_nodes_median_memory_after_warm_up() {
        let latency = |m: usize| if m < SOAK_COMPARED { 10 } else { 20 };
        assert_eq!(
            soak_summary(&[10; 19], &(0..19).map(|m| (m, minute(10, [1, 1], [0, 0]))).collect::<Vec<_>>()),
            None
        );
        // 30 minutes of 100 latencies each: 10 ms in the first ten, 20 after. Node 1 is the
        // larger; its memory climbs by 1 MiB a minute, and one spike in each span is ignored.
        let latencies: Vec<u64> = (0..30).flat_map(|m| std::iter::repeat_n(latency(m), 100)).collect();
        let minutes: Vec<(usize, Minute)> = (0..30u64)
            .map(|m| {
                let rss = if m == 12 || m == 25 { 900 } else { 200 + m };
                (m as usize * 100, minute(latency(m as usize), [100, rss], [5, 50]))
            })
            .collect();
        let summary = soak_summary(&latencies, &minutes).expect("a soak");
        assert_eq!(
            summary,
            "first10_tps=100 last10_tps=100 first10_p99_ms=10 last10_p99_ms=20 rss_mb_warm=216 rss_mb_end=226 uncached_mb_warm=166 uncached_mb_end=176"
        );
    }
}
