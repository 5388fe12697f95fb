//! `civitas bench explorer`: how fast a node renders its explorer's heaviest pages. A dev chain
//! in a temp dir gets a block of 1,000 transfers (100 senders, ten each) and a few hundred more
//! blocks (so the dashboard's chart and list are full); its whole HTTP surface is served on a
//! loopback port, and one client asks for the dashboard and the big block's page in turn,
//! timing each answer from request to last byte.
//!
//! Prints `tps=… p50_ms=… p99_ms=… dashboard_p50_ms=… dashboard_p99_ms=… block_p50_ms=…
//! block_p99_ms=… block_txs=… block_page_bytes=…`, with `tps` counting pages served per second
//! to the one client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use civitas_node::consensus::{Application, now_ms};
use civitas_node::{Node, NodeConfig, dev};
use civitas_types::{AccountInstruction, Did, Hash, Instruction, SecretKey, Transaction};

/// The options of `civitas bench explorer`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExplorerArgs {
    /// Requests of each page (at most 10 000).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    requests: u64,
    /// Blocks before the big one (the dashboard charts the newest five minutes of them).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=8_000))]
    blocks: u64,
}

const SENDERS: u64 = 100;
const PER_SENDER: u64 = 10;

fn sender(i: u64) -> SecretKey {
    SecretKey::from_seed(Hash::digest_parts(&[b"civitas bench explorer sender", &i.to_be_bytes()]).0)
}

/// Proposes and commits one block of whatever waits.
fn commit(node: &Node) -> anyhow::Result<u64> {
    let executed = node.propose(now_ms())?;
    Ok(node.finalized(&executed, b"bench certificate")?.height)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the benchmark.
pub(crate) fn run(args: ExplorerArgs) -> anyhow::Result<u8> {
    let dir = tempfile::tempdir().context("temp dir")?;
    let keys: Vec<SecretKey> = (0..SENDERS).map(sender).collect();
    let funded: Vec<_> = keys.iter().map(|k| (k.public_key(), 1_000_000u128)).collect();
    let chain = dev::prepare(dir.path(), false, &funded).context("preparing the chain")?;
    let node = Arc::new(Node::open(dir.path(), chain.genesis, chain.validator, NodeConfig::default())?);
    eprintln!("committing {} blocks, then one of {} transfers", args.blocks, SENDERS * PER_SENDER);
    let alice = dev::read_key(&dir.path().join("keys/alice.key"))?;
    let bob = Did::from_initial_key(&dev::read_key(&dir.path().join("keys/bob.key"))?.public_key());
    for b in 0..args.blocks {
        // A transfer every third block, so the chart has something to draw.
        if b % 3 == 0 {
            let tx = Transaction {
                chain_id: dev::DEV_CHAIN_ID.into(),
                signer: alice.public_key(),
                nonce: b / 3,
                valid_until_height: node.next_height() + 10,
                instructions: vec![Instruction::Accounts(AccountInstruction::Transfer { to: bob, amount: 1 })],
            }
            .sign(&alice);
            node.submit(vec![tx]).remove(0).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        commit(&node)?;
    }
    let mut txs = Vec::new();
    for nonce in 0..PER_SENDER {
        for (i, key) in keys.iter().enumerate() {
            let to = Did::from_initial_key(&keys[(i + 1) % keys.len()].public_key());
            txs.push(
                Transaction {
                    chain_id: dev::DEV_CHAIN_ID.into(),
                    signer: key.public_key(),
                    nonce,
                    valid_until_height: node.next_height() + 10,
                    instructions: vec![Instruction::Accounts(AccountInstruction::Transfer { to, amount: 1 })],
                }
                .sign(key),
            );
        }
    }
    for r in node.submit(txs) {
        r.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let big = commit(&node)?;
    let block_txs = node.block(big)?.map(|(b, _)| b.transactions.len()).unwrap_or(0);
    if block_txs != (SENDERS * PER_SENDER) as usize {
        bail!("the big block holds {block_txs} transactions, not {}", SENDERS * PER_SENDER);
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    listener.set_nonblocking(true)?;
    let base = format!("http://{}", listener.local_addr()?);
    let served = node.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            civitas_api::serve(listener, civitas_web::app(served), async {
                let _ = stop_rx.await;
            })
            .await
        })?;
        Ok(())
    });
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).build().into();
    let get = |path: &str| -> anyhow::Result<(f64, usize)> {
        let start = Instant::now();
        let mut resp = agent.get(&format!("{base}{path}")).call().with_context(|| format!("GET {path}"))?;
        let body = resp.body_mut().read_to_string().with_context(|| format!("reading {path}"))?;
        Ok((start.elapsed().as_secs_f64() * 1000.0, body.len()))
    };
    // Warm up (the first answers open the connection and page in the store).
    get("/")?;
    let (_, block_page_bytes) = get(&format!("/blocks/{big}"))?;
    let mut dashboard = Vec::new();
    let mut block = Vec::new();
    let start = Instant::now();
    for _ in 0..args.requests {
        dashboard.push(get("/")?.0);
        block.push(get(&format!("/blocks/{big}"))?.0);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = stop_tx.send(());
    server.join().map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
    let mut all: Vec<f64> = dashboard.iter().chain(&block).copied().collect();
    for v in [&mut dashboard, &mut block, &mut all] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "tps={:.0} p50_ms={:.2} p99_ms={:.2} dashboard_p50_ms={:.2} dashboard_p99_ms={:.2} block_p50_ms={:.2} block_p99_ms={:.2} block_txs={block_txs} block_page_bytes={block_page_bytes}",
        all.len() as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&dashboard, 0.5),
        percentile(&dashboard, 0.99),
        percentile(&block, 0.5),
        percentile(&block, 0.99),
    );
    Ok(0)
}
