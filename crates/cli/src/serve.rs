//! `civitas dev`: the embedded single-validator chain with its API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use civitas_consensus::{ConsensusError, EngineConfig};
use civitas_node::{Node, NodeConfig, dev};

/// Options of `civitas dev`.
#[derive(Debug, clap::Args)]
pub(crate) struct DevArgs {
    /// Where the chain, its genesis and the demo keys live.
    #[arg(long, default_value = ".civitas/dev")]
    data_dir: PathBuf,
    /// Address for the HTTP API.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// Delete the data directory first and start a new chain.
    #[arg(long)]
    reset: bool,
}

/// Longest `civitas dev` waits for its first block before it opens the API anyway.
const FIRST_BLOCK_WAIT: Duration = Duration::from_secs(30);

/// Work to do on the running node before its API opens (the dev chain's demo data).
pub(crate) type BeforeApi = Box<dyn FnOnce(&Node) -> anyhow::Result<()> + Send>;

/// A node with its consensus engine and API running on their own thread; stops when told.
pub(crate) struct Running {
    pub(crate) node: Arc<Node>,
    pub(crate) addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<Result<(), ConsensusError>>,
}

impl Running {
    /// Opens the node in `data_dir` and starts consensus and the API on `http`; returns once
    /// the API listens. With `first_block`, the API opens only once a block after genesis is
    /// finalized (at most [`FIRST_BLOCK_WAIT`]), so that its first proof request can be served;
    /// then `before_api`, if any, runs (blocks keep coming) and the API opens once it is done.
    pub(crate) fn start(
        data_dir: &Path,
        genesis: civitas_node::Genesis,
        validator: civitas_types::SecretKey,
        http: SocketAddr,
        config: NodeConfig,
        first_block: bool,
        before_api: Option<BeforeApi>,
    ) -> anyhow::Result<Running> {
        let node = Arc::new(
            Node::open(data_dir, genesis, validator.clone(), config)
                .map_err(|e| crate::testnet::open_failed(data_dir, e))?,
        );
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<SocketAddr>>();
        let cfg = EngineConfig {
            journal_dir: data_dir.join("consensus"),
            block_interval: Duration::from_millis(config.block_interval_ms),
            empty_block_interval: Duration::from_millis(config.empty_block_interval_ms),
            worker_threads: 2,
        };
        let served = node.clone();
        let thread = std::thread::Builder::new().name("civitas-node".into()).spawn(move || {
            civitas_consensus::run_solo(served.clone(), &validator, cfg, move || async move {
                let waiting = std::time::Instant::now();
                while first_block && served.status().latest.height == 0 && waiting.elapsed() < FIRST_BLOCK_WAIT {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if let Some(work) = before_api {
                    let node = served.clone();
                    let done = tokio::task::spawn_blocking(move || work(&node)).await;
                    let failed = match done {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(e),
                        Err(_) => Some(anyhow::anyhow!("preparing the node panicked")),
                    };
                    if let Some(e) = failed {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                }
                let listener = match tokio::net::TcpListener::bind(http).await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow::Error::new(e).context(format!("binding the API to {http}"))));
                        return;
                    }
                };
                let _ = ready_tx.send(listener.local_addr().context("the API's address"));
                let router = civitas_web::app(served);
                let stopped = async {
                    let _ = stop_rx.await;
                };
                if let Err(e) = civitas_api::serve(listener, router, stopped).await {
                    tracing::error!(error = %e, "API server failed");
                }
            })
        })?;
        match ready_rx.recv() {
            Ok(Ok(addr)) => Ok(Running { node, addr, stop, thread }),
            Ok(Err(e)) => Err(e),
            Err(_) => match thread.join() {
                Ok(Err(e)) => Err(anyhow::Error::new(e).context("starting consensus")),
                _ => anyhow::bail!("the node stopped while starting"),
            },
        }
    }

    /// Stops the API and consensus and waits for them.
    pub(crate) fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        match self.thread.join() {
            Ok(r) => r.context("consensus"),
            Err(_) => anyhow::bail!("the node thread panicked"),
        }
    }

    /// Runs until Ctrl-C or SIGTERM, or until the node stops by itself (a fatal error).
    pub(crate) fn run_until_signal(self) -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(async {
            let signal = shutdown_signal();
            tokio::pin!(signal);
            loop {
                tokio::select! {
                    _ = &mut signal => break,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {
                        if self.thread.is_finished() {
                            break;
                        }
                    }
                }
            }
        });
        let stopped_by_itself = self.thread.is_finished();
        self.stop()?;
        if stopped_by_itself {
            anyhow::bail!("the node stopped unexpectedly");
        }
        Ok(())
    }
}

/// Waits for Ctrl-C or SIGTERM, calling `tick` every `every`; returns early once `tick` says so.
pub(crate) async fn signal_or(every: std::time::Duration, mut tick: impl FnMut() -> bool) {
    let signal = shutdown_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = &mut signal => return,
            _ = tokio::time::sleep(every) => if tick() { return },
        }
    }
}

pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

pub(crate) fn dev(args: DevArgs) -> anyhow::Result<u8> {
    let chain = dev::prepare(&args.data_dir, args.reset, &[]).context("preparing the dev chain")?;
    {
        let running = Running::start(
            &args.data_dir,
            chain.genesis.clone(),
            chain.validator.clone(),
            args.http,
            NodeConfig::default(),
            true,
            // Demo data genesis cannot hold is made once, by transactions, when the chain is
            // new, before the API opens (so no one races it).
            chain.created.then(|| {
                let data_dir = args.data_dir.clone();
                Box::new(move |node: &Node| crate::demo::seed(node, &data_dir).context("making the demo devices"))
                    as BeforeApi
            }),
        )?;
        let devices = civitas_node::demo::devices(&args.data_dir);
        let status = running.node.status();
        let url = format!("http://{}", running.addr);
        let dir = args.data_dir.display();
        println!(
            "Civitas dev chain `{}` {} at height {}, API on {url}",
            status.chain_id,
            if chain.created { "created" } else { "resumed" },
            status.latest.height
        );
        println!("  data: {dir} (genesis.json, keys/, chain/)");
        println!("  explorer: {url}/  (blocks, accounts, every module's records, each fact with its proof)");
        println!(
            "  alice's portal: cargo run --release -- wallet --key {dir}/keys/alice.key --wallet {dir}/wallet --node {url}  (then http://127.0.0.1:8081/)"
        );
        println!("  state root: {}", status.latest.state_root);
        println!("Demo accounts (keys in {dir}/keys/):");
        for (name, did) in &chain.accounts {
            println!("  {name:<18} {did}");
        }
        let did_of =
            |name: &str| chain.accounts.iter().find(|(n, _)| n == name).map(|(_, d)| d.to_string()).unwrap_or_default();
        let bob = did_of("bob");
        let (tax, metro) = (did_of("tax"), did_of("metro"));
        println!("Try, in another terminal:");
        println!(
            "  cargo run --release -- tx transfer --key {dir}/keys/alice.key --to {bob} --amount 250 --node {url}"
        );
        println!("  cargo run --release -- query account {bob} --node {url}");
        println!("  cargo run --release -- query block latest --node {url}");
        println!("  cargo run --release -- did resolve {bob} --node {url}");
        println!(
            "  cargo run --release -- council show --node {url}    (members: civil-affairs, market-regulation, housing)"
        );
        println!("  cargo run --release -- audit --node {url}");
        println!(
            "  cargo run --release -- invoice merchant --key {dir}/keys/tax.key --merchant {metro} --taxpayer-id 91310000METRO01 --street '1 Century Avenue' --city Shanghai --postal-code 200120 --country CN --by {tax} --node {url}"
        );
        println!(
            "    (then invoice pay / issue / submit / reimburse: docs/invoices.md; credentials: docs/credentials.md)"
        );
        let hub = did_of("homehub");
        if let Some(d) = &devices {
            println!(
                "Demo kitchen scene: alice's range hood {} and gas stove {}, granted to homehub {hub}",
                d.hood, d.stove
            );
            println!("  cargo run --release -- device show {} --node {url}", d.hood);
            println!("  cargo run --release -- device list scene/{}/kitchen --node {url}", did_of("alice"));
            println!("  cargo run --release -- device may --device {} --controller {hub} --node {url}", d.stove);
            println!(
                "  cargo run --release -- device may --device {} --controller {hub} --prove --node {url} > grant.json && cargo run --release -- verify grant.json --genesis {dir}/genesis.json",
                d.stove
            );
            println!(
                "    (vendors, PAA vote, register, bind, transfer: docs/devices.md; demo certificates in {dir}/pki/)"
            );
            let gateway = write_gateway_config(&args.data_dir, &url)?;
            println!("Alice's door lock {} logs its entries through homehub's gateway:", d.lock);
            println!("  cargo run --release -- gateway --config {}    (in another terminal)", gateway.display());
            println!(
                "  cargo run --release -- lock event --device-key {dir}/keys/door-lock.key --gateway {DEMO_GATEWAY_URL} --operation unlock --source keypad --who alice --node {url}"
            );
            println!(
                "  cargo run --release -- lock read --gateway {DEMO_GATEWAY_URL} --key {dir}/keys/alice.key --x25519-key {dir}/keys/alice-x25519.key --device {}",
                d.lock
            );
            println!(
                "  cargo run --release -- lock receipt --gateway {DEMO_GATEWAY_URL} --device {} --seq 0 > r.json && cargo run --release -- verify r.json --genesis {dir}/genesis.json",
                d.lock
            );
            println!("    (docs/device-logs.md)");
        }
        if let Some(round) = running.node.query(|s| civitas_execution::stats::query::round(s, 0))? {
            let total: Vec<String> = round.total.iter().map(u128::to_string).collect();
            println!(
                "Statistics round 0, passengers per district ({}) from metro, bus and taxi: total [{}]",
                crate::demo::DISTRICTS.join(", "),
                total.join(", ")
            );
            println!(
                "  cargo run --release -- stats show 0 --prove --node {url} > round.json && cargo run --release -- verify round.json --genesis {dir}/genesis.json"
            );
            println!(
                "    (a round of your own, with `civitas aggregator` for {}: docs/transport-data.md)",
                crate::demo::AGGREGATORS.join(" and ")
            );
        }
        println!("  curl {url}/v1/status    (OpenAPI: {url}/openapi.json)");
        println!("Stop with Ctrl-C; run again to resume the same chain, or add --reset for a new one.");
        running.run_until_signal()?;
    }
    Ok(0)
}

/// Where the dev chain's demo gateway (homehub's) listens.
const DEMO_GATEWAY_URL: &str = "http://127.0.0.1:8090";

/// Writes `DATA_DIR/gateway.toml`, homehub's gateway for the dev chain at `node` (kept if it
/// exists); returns its path.
fn write_gateway_config(data_dir: &Path, node: &str) -> anyhow::Result<PathBuf> {
    let path = data_dir.join("gateway.toml");
    if !path.exists() {
        let listen = DEMO_GATEWAY_URL.trim_start_matches("http://");
        let text = format!(
            "# homehub's gateway for the dev chain's demo door lock (civitas gateway --config THIS)\n\
             node = \"{node}\"\nkey = \"keys/homehub.key\"\nlisten = \"{listen}\"\ndata_dir = \"gateway\"\n"
        );
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(path)
}
