//! `civitas dev`: the embedded single-validator chain with its API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use civitas_node::{Node, NodeConfig, consensus, dev};
use tokio::sync::watch;

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

/// A node with its producer and API running on a tokio runtime; stops when dropped or told.
pub(crate) struct Running {
    pub(crate) node: Arc<Node>,
    pub(crate) addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    producer: tokio::task::JoinHandle<Result<(), civitas_node::NodeError>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Opens the node in `data_dir` and starts block production and the API on `http`.
    pub(crate) async fn start(
        data_dir: &Path,
        genesis: civitas_node::Genesis,
        validator: civitas_types::SecretKey,
        http: SocketAddr,
        config: NodeConfig,
    ) -> anyhow::Result<Running> {
        let node = Arc::new(Node::open(data_dir, genesis, validator, config).context("opening the chain")?);
        let (shutdown, rx) = watch::channel(false);
        let (commits, _) = watch::channel(node.status().latest.height);
        let producer = tokio::spawn(consensus::run_solo(
            node.clone(),
            Duration::from_millis(config.block_interval_ms),
            rx.clone(),
            commits,
        ));
        let listener =
            tokio::net::TcpListener::bind(http).await.with_context(|| format!("binding the API to {http}"))?;
        let addr = listener.local_addr()?;
        let mut stop = rx;
        let server = tokio::spawn(civitas_api::serve(listener, civitas_api::router(node.clone()), async move {
            let _ = stop.wait_for(|s| *s).await;
        }));
        Ok(Running { node, addr, shutdown, producer, server })
    }

    /// Stops production and the API, and waits for both.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.send_replace(true);
        self.server.await.context("API task")?.context("API server")?;
        self.producer.await.context("producer task")?.context("block producer")?;
        Ok(())
    }

    /// Waits until the producer stops on its own (a fatal error) or `signal` completes.
    pub(crate) async fn run_until(mut self, signal: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        tokio::select! {
            r = &mut self.producer => {
                // The producer only stops by itself on a store failure: going on would be unsafe.
                r.context("producer task")?.context("block producer stopped")?;
                anyhow::bail!("block producer stopped unexpectedly")
            }
            _ = signal => self.stop().await,
        }
    }
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

async fn shutdown_signal() {
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
    let rt = runtime()?;
    rt.block_on(async {
        let running = Running::start(
            &args.data_dir,
            chain.genesis.clone(),
            chain.validator.clone(),
            args.http,
            NodeConfig::default(),
        )
        .await?;
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
        println!("  state root: {}", status.latest.state_root);
        println!("Demo accounts (keys in {dir}/keys/):");
        for (name, did) in &chain.accounts {
            println!("  {name:<18} {did}");
        }
        let bob = chain.accounts.iter().find(|(n, _)| n == "bob").map(|(_, d)| d.to_string()).unwrap_or_default();
        println!("Try, in another terminal:");
        println!(
            "  cargo run --release -- tx transfer --key {dir}/keys/alice.key --to {bob} --amount 250 --node {url}"
        );
        println!("  cargo run --release -- query account {bob} --node {url}");
        println!("  cargo run --release -- query block latest --node {url}");
        println!("  curl {url}/v1/status    (OpenAPI: {url}/openapi.json)");
        println!("Stop with Ctrl-C; run again to resume the same chain, or add --reset for a new one.");
        running.run_until(shutdown_signal()).await
    })?;
    Ok(0)
}
