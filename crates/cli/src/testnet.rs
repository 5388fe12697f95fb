//! `civitas node` (one department's validator) and `civitas testnet` (several on this machine).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use civitas_consensus::{EngineConfig, ValidatorConfig};
use civitas_node::dev::{create_demo_accounts, read_key, write_key};
use civitas_node::genesis::{Genesis, GenesisAccountJson, GenesisValidator};
use civitas_node::{Node, NodeConfig};
use civitas_types::SecretKey;
use serde::{Deserialize, Serialize};

/// A node's configuration file. Relative paths are relative to the file's folder.
///
/// A validator has `validator_key` and `p2p`; a full node has neither, and `follow` instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeFile {
    /// Where the chain and the consensus journal live.
    data_dir: PathBuf,
    /// The chain's genesis file.
    genesis: PathBuf,
    /// This validator's key file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    validator_key: Option<PathBuf>,
    /// The HTTP API's address.
    http: SocketAddr,
    /// The p2p address this validator listens on (its address in genesis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p2p: Option<SocketAddr>,
    /// A full node: the validators' API URLs it fetches blocks from and forwards
    /// transactions to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    follow: Vec<String>,
    /// How many heights before the latest stay provable (older state-tree nodes are pruned;
    /// values, blocks and receipts are kept), or `"archive"` to keep every height; 100000 when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state_history: Option<StateHistory>,
}

/// `state_history` in a node's configuration.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(untagged, expecting = "a number of heights, or \"archive\" to keep every height")]
pub(crate) enum StateHistory {
    /// Heights kept.
    Blocks(u64),
    /// Every height.
    Archive(Archive),
}

/// The word `"archive"`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) enum Archive {
    /// Keep every height.
    #[serde(rename = "archive")]
    Archive,
}

impl NodeFile {
    fn history(&self) -> civitas_node::History {
        match self.state_history {
            None => civitas_node::History::Window(civitas_node::STATE_HISTORY_DEFAULT),
            Some(StateHistory::Blocks(n)) => civitas_node::History::Window(n),
            Some(StateHistory::Archive(_)) => civitas_node::History::Archive,
        }
    }
}

/// Options of `civitas node`.
#[derive(Debug, clap::Args)]
pub(crate) struct NodeArgs {
    /// The node's configuration file (`config.toml`).
    #[arg(long)]
    config: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum TestnetCommand {
    /// Write a genesis with N validators and one configuration per node.
    Init {
        /// How many validators.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
        validators: u16,
        /// Where to write it.
        #[arg(long)]
        dir: PathBuf,
        /// HTTP port of node 0; node i gets this plus i.
        #[arg(long, default_value_t = 8080)]
        http_base_port: u16,
        /// p2p port of node 0; node i gets this plus i.
        #[arg(long, default_value_t = 9000)]
        p2p_base_port: u16,
        /// Full nodes (non-validating) to add, in `full-<j>`, with HTTP ports after the
        /// validators'.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=16))]
        full_nodes: u16,
        /// Validators to add later by council vote: configured and keyed like the others (in
        /// `node-<i>` after them) but not in the genesis set; started, they follow the chain
        /// until the council adds them. Their HTTP ports come after the full nodes'.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=16))]
        joining: u16,
    },
    /// Run every node of a testnet as its own process, a log file each; Ctrl-C stops them.
    Up {
        /// The testnet's folder.
        #[arg(long)]
        dir: PathBuf,
    },
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_owned() } else { base.join(p) }
}

pub(crate) fn node(args: NodeArgs) -> anyhow::Result<u8> {
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    let file: NodeFile =
        toml::from_str(&text).with_context(|| format!("{} is not a node configuration", args.config.display()))?;
    let base = args.config.parent().unwrap_or(Path::new("."));
    let data_dir = resolve(base, &file.data_dir);
    let genesis = Genesis::load(&resolve(base, &file.genesis))?;
    let (key_file, p2p) = match (&file.validator_key, file.p2p, file.follow.is_empty()) {
        (Some(key), Some(p2p), true) => (key, p2p),
        (None, None, false) => return full_node(&file, &data_dir, genesis),
        (Some(_), Some(_), false) => bail!("{}: a validator does not `follow`; remove it", args.config.display()),
        _ => bail!(
            "{}: a validator needs both `validator_key` and `p2p`; a full node has neither and lists the validators' API URLs in `follow`",
            args.config.display()
        ),
    };
    let key = read_key(&resolve(base, key_file))?;
    // A validator of the genesis set must listen where the genesis says; one that is not in it
    // yet follows the chain from the set's validators until the council adds it.
    if let Some((_, address)) = genesis.committee()?.iter().find(|(k, _)| *k == key.public_key())
        && *address != p2p
    {
        bail!("the genesis has this validator at {address}, the configuration says `p2p = {p2p}`");
    }
    let config = NodeConfig {
        block_bytes_max: civitas_consensus::NETWORK_BLOCK_BYTES_MAX,
        block_interval_ms: 20,
        relay_transactions: true,
        state_history: file.history(),
        ..NodeConfig::default()
    };
    say_when_the_disk_is_full(&data_dir);
    let node = Arc::new(Node::open(&data_dir, genesis, key.clone(), config).map_err(|e| open_failed(&data_dir, e))?);
    let cfg = ValidatorConfig {
        engine: EngineConfig {
            journal_dir: data_dir.join("consensus"),
            block_interval: Duration::from_millis(config.block_interval_ms),
            empty_block_interval: Duration::from_millis(config.empty_block_interval_ms),
            worker_threads: 2,
        },
        listen: p2p,
    };
    let served = node.clone();
    let http = file.http;
    let set = node.validators().context("reading the validator set")?;
    eprintln!(
        "civitas node: validator {} at height {}, epoch {} ({}), API on http://{http}",
        key.public_key().to_hex(),
        node.status().latest.height,
        set.epoch,
        if set.contains(&key.public_key()) {
            "in the validator set"
        } else {
            "not in the validator set yet: following until the council adds it"
        }
    );
    let run = civitas_consensus::run_validator(node, &key, cfg, move || async move {
        tracing::info!(%http, "starting the API");
        let listener = match tokio::net::TcpListener::bind(http).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, %http, "cannot bind the API");
                return;
            }
        };
        let stop = crate::serve::shutdown_signal();
        if let Err(e) = civitas_api::serve(listener, civitas_web::app(served), stop).await {
            tracing::error!(error = %e, "API server failed");
        }
    });
    run.map_err(|e| explain_stop(&data_dir, e.into()))?;
    Ok(0)
}

/// A node's failure `e`, saying so when the disk holding `data_dir` is full.
fn explain_stop(data_dir: &Path, e: anyhow::Error) -> anyhow::Error {
    if disk_full(&e) || disk_nearly_full(data_dir) { e.context(full_disk_message(data_dir)) } else { e }
}

/// Why a node's chain in `data_dir` did not open, with what to do when its store is damaged.
pub(crate) fn open_failed(data_dir: &Path, e: civitas_node::NodeError) -> anyhow::Error {
    let damaged = matches!(e, civitas_node::NodeError::Store(civitas_node::StoreError::Corrupt(_)));
    let what = format!("opening the chain in {}", data_dir.display());
    anyhow::Error::new(e).context(if damaged {
        format!("{what}: its store is damaged. {}", civitas_node::DAMAGED_STORE_ADVICE)
    } else {
        what
    })
}

/// Below this many free bytes, a node that stops says its disk is full.
const DISK_FULL_BYTES: u64 = 16 << 20;

/// What a node that stopped on a full disk says.
fn full_disk_message(data_dir: &Path) -> String {
    format!(
        "the disk holding {} is full: the node stopped before committing the next block. Free space, then start it again; it resumes from its last committed block and catches up",
        data_dir.display()
    )
}

/// Whether the filesystem holding `dir` has less than [`DISK_FULL_BYTES`] free for this user.
fn disk_nearly_full(dir: &Path) -> bool {
    rustix::fs::statvfs(dir).is_ok_and(|s| s.f_bavail.saturating_mul(s.f_frsize) < DISK_FULL_BYTES)
}

/// Some parts of the engine (the consensus journal) panic when a write fails; a node whose
/// disk is full then says so after the panic's own message.
fn say_when_the_disk_is_full(data_dir: &Path) {
    let data_dir = data_dir.to_path_buf();
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        if disk_nearly_full(&data_dir) {
            eprintln!("error: {}", full_disk_message(&data_dir));
        }
    }));
}

/// Whether `error`, or any error beneath it, is the operating system's "no space left".
fn disk_full(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::StorageFull)
            // Some layers keep the cause only in their message.
            || e.to_string().contains("No space left on device")
    })
}

/// Runs a full node: the follower and forwarder threads, and the API, until Ctrl-C or until
/// the follower fails.
fn full_node(file: &NodeFile, data_dir: &Path, genesis: Genesis) -> anyhow::Result<u8> {
    let mut peers = Vec::with_capacity(file.follow.len());
    for url in &file.follow {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("`follow` entry {url:?} is not an http(s) URL");
        }
        peers.push(civitas_client::Client::new(url));
    }
    let config = NodeConfig { relay_transactions: true, state_history: file.history(), ..NodeConfig::default() };
    say_when_the_disk_is_full(data_dir);
    let node = Arc::new(Node::open_full(data_dir, genesis, config).map_err(|e| open_failed(data_dir, e))?);
    // Until a validator has no block after its latest, it is behind (and refuses transactions).
    node.set_catching_up(true);
    let http = file.http;
    eprintln!(
        "civitas node: full node at height {}, following {}, API on http://{http}",
        node.status().latest.height,
        file.follow.join(", ")
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (follower, forwarder) = crate::follow::spawn(node.clone(), peers, stop.clone());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let served = rt.block_on(async {
        let listener =
            tokio::net::TcpListener::bind(http).await.with_context(|| format!("binding the API to {http}"))?;
        let watched = stop.clone();
        let checked = node.clone();
        // Stops when the follower does, or when a read finds the store damaged.
        let until = crate::serve::signal_or(Duration::from_millis(200), move || {
            watched.load(std::sync::atomic::Ordering::Relaxed) || checked.damage().is_some()
        });
        civitas_api::serve(listener, civitas_web::app(node.clone()), until).await.context("API server failed")
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(why) = node.damage() {
        bail!(
            "the node's store is damaged ({why}); the node stopped rather than serve it. {}",
            civitas_node::DAMAGED_STORE_ADVICE
        );
    }
    let followed = follower.join().map_err(|_| anyhow::anyhow!("the follower panicked"))?;
    let _ = forwarder.join();
    served.and(followed).map_err(|e| explain_stop(data_dir, e))?;
    Ok(0)
}

pub(crate) fn testnet(cmd: TestnetCommand) -> anyhow::Result<u8> {
    match cmd {
        TestnetCommand::Init { validators, dir, http_base_port, p2p_base_port, full_nodes, joining } => {
            init(validators, full_nodes, joining, &dir, http_base_port, p2p_base_port)
        }
        TestnetCommand::Up { dir } => up(&dir),
    }
}

fn init(n: u16, full: u16, joining: u16, dir: &Path, http_base_port: u16, p2p_base_port: u16) -> anyhow::Result<u8> {
    let port = |base: u16, i: u16| base.checked_add(i).context("port out of range");
    let ports =
        (0..n).map(|i| Ok((port(http_base_port, i)?, port(p2p_base_port, i)?))).collect::<anyhow::Result<Vec<_>>>()?;
    let full_ports = (0..full).map(|j| port(http_base_port, n + j)).collect::<anyhow::Result<Vec<_>>>()?;
    let joining_ports = (0..joining)
        .map(|j| Ok((port(http_base_port, n + full + j)?, port(p2p_base_port, n + j)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let local = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let validators: Vec<(SocketAddr, SocketAddr)> = ports.iter().map(|(h, p)| (local(*h), local(*p))).collect();
    let full_addrs: Vec<SocketAddr> = full_ports.iter().map(|h| local(*h)).collect();
    write(dir, &validators, &full_addrs, &[], civitas_node::STATE_HISTORY_DEFAULT)?;
    let joining_keys = write_joining(dir, n, &joining_ports)?;
    println!("testnet of {n} validators in {}", dir.display());
    println!("  genesis: {}/genesis.json; demo keys: {}/keys/", dir.display(), dir.display());
    for (i, (http, p2p)) in ports.iter().enumerate() {
        println!("  node-{i}: API http://127.0.0.1:{http}, p2p 127.0.0.1:{p2p}");
    }
    for (j, http) in full_ports.iter().enumerate() {
        println!("  full-{j}: full node, API http://127.0.0.1:{http}");
    }
    for (j, ((http, p2p), key)) in joining_ports.iter().zip(&joining_keys).enumerate() {
        let i = usize::from(n) + j;
        println!("  node-{i}: joining validator {}, API http://127.0.0.1:{http}, p2p 127.0.0.1:{p2p}", key.to_hex());
    }
    println!("Run it: civitas testnet up --dir {}", dir.display());
    if let (Some(key), Some((_, p2p))) = (joining_keys.first(), joining_ports.first()) {
        let node = format!("http://127.0.0.1:{}", ports[0].0);
        let keys = dir.join("keys");
        let did = |name: &str| -> anyhow::Result<civitas_types::Did> {
            Ok(civitas_types::Did::from_initial_key(&read_key(&keys.join(format!("{name}.key")))?.public_key()))
        };
        println!("Add node-{n} by council vote (two of civil-affairs, market-regulation, housing):");
        println!(
            "  civitas council propose --key {k}/civil-affairs.key --by {by} --add-validator {key} --p2p 127.0.0.1:{p2p} --name department-{n} --node {node}",
            k = keys.display(),
            by = did("civil-affairs")?,
            key = key.to_hex()
        );
        println!(
            "  civitas council approve --key {k}/housing.key --by {by} --proposal <id> --node {node}",
            k = keys.display(),
            by = did("housing")?
        );
    }
    Ok(0)
}

/// Writes `node-<first + j>/config.toml` and a key for each validator in `ports` that is not in
/// the genesis set; returns their public keys.
fn write_joining(dir: &Path, first: u16, ports: &[(u16, u16)]) -> anyhow::Result<Vec<civitas_types::PublicKey>> {
    let mut keys = Vec::with_capacity(ports.len());
    for (j, (http_port, p2p_port)) in ports.iter().enumerate() {
        let node_dir = dir.join(format!("node-{}", usize::from(first) + j));
        std::fs::create_dir_all(&node_dir)?;
        let key = SecretKey::generate();
        write_key(&node_dir.join("validator.key"), &key)?;
        let file = NodeFile {
            data_dir: PathBuf::from("."),
            genesis: PathBuf::from("../genesis.json"),
            validator_key: Some(PathBuf::from("validator.key")),
            http: ([127, 0, 0, 1], *http_port).into(),
            p2p: Some(([127, 0, 0, 1], *p2p_port).into()),
            follow: vec![],
            state_history: Some(StateHistory::Blocks(civitas_node::STATE_HISTORY_DEFAULT)),
        };
        std::fs::write(node_dir.join("config.toml"), toml::to_string(&file)?)?;
        keys.push(key.public_key());
    }
    Ok(keys)
}

/// Writes a testnet of one validator per `(http, p2p)` address pair into `dir`: the genesis
/// (demo accounts, plus `funded`) and `node-<i>/config.toml` with its key.
///
/// Full nodes: one per address of `full`, in `full-<j>/config.toml`, following every validator.
pub(crate) fn write(
    dir: &Path,
    validators_at: &[(SocketAddr, SocketAddr)],
    full: &[SocketAddr],
    funded: &[(civitas_types::PublicKey, u128)],
    state_history: u64,
) -> anyhow::Result<()> {
    if dir.join("genesis.json").exists() {
        bail!("{} already holds a testnet", dir.display());
    }
    let mut accounts = create_demo_accounts(&dir.join("keys"))?;
    accounts.extend(
        funded
            .iter()
            .enumerate()
            .map(|(i, (key, balance))| GenesisAccountJson::new(format!("funded-{i}"), key, *balance)),
    );
    let mut validators = Vec::new();
    for (i, (http, p2p)) in validators_at.iter().copied().enumerate() {
        let node_dir = dir.join(format!("node-{i}"));
        std::fs::create_dir_all(&node_dir)?;
        let key = SecretKey::generate();
        write_key(&node_dir.join("validator.key"), &key)?;
        let file = NodeFile {
            data_dir: PathBuf::from("."),
            genesis: PathBuf::from("../genesis.json"),
            validator_key: Some(PathBuf::from("validator.key")),
            http,
            p2p: Some(p2p),
            follow: vec![],
            state_history: Some(StateHistory::Blocks(state_history)),
        };
        std::fs::write(node_dir.join("config.toml"), toml::to_string(&file)?)?;
        validators.push(GenesisValidator::new(format!("department-{i}"), &key.public_key(), Some(p2p)));
    }
    let genesis = Genesis {
        chain_id: "civitas-testnet".into(),
        genesis_time_ms: civitas_node::consensus::now_ms(),
        validators,
        accounts,
        council: Some(civitas_node::dev::demo_council()),
    };
    genesis.validate()?;
    let follow: Vec<String> = validators_at.iter().map(|(http, _)| format!("http://{http}")).collect();
    for (j, http) in full.iter().enumerate() {
        let node_dir = dir.join(format!("full-{j}"));
        std::fs::create_dir_all(&node_dir)?;
        let file = NodeFile {
            data_dir: PathBuf::from("."),
            genesis: PathBuf::from("../genesis.json"),
            validator_key: None,
            http: *http,
            p2p: None,
            follow: follow.clone(),
            state_history: Some(StateHistory::Blocks(civitas_node::STATE_HISTORY_DEFAULT)),
        };
        std::fs::write(node_dir.join("config.toml"), toml::to_string(&file)?)?;
    }
    std::fs::write(dir.join("genesis.json"), genesis.to_json())?;
    Ok(())
}

/// The node processes; killed when dropped.
pub(crate) struct Nodes(Vec<RunningNode>);

/// One node process, and how it was started (so a restart starts it the same way).
struct RunningNode {
    name: String,
    child: Child,
    /// A command that runs the node's command line: empty, or for example `nsenter` into the
    /// node's network namespace.
    launcher: Vec<OsString>,
}

impl Nodes {
    /// The nodes' process ids (benchmarks read their CPU time).
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.0.iter().map(|n| n.child.id()).collect()
    }

    /// The `i`-th node's folder name (`node-<i>` for validators).
    pub(crate) fn name(&self, i: usize) -> &str {
        &self.0[i].name
    }

    /// Kills the `i`-th node with SIGKILL (a stopped process dies too) and reaps it.
    pub(crate) fn kill(&mut self, i: usize) -> anyhow::Result<()> {
        let node = &mut self.0[i];
        node.child.kill().with_context(|| format!("killing {}", node.name))?;
        node.child.wait()?;
        Ok(())
    }

    /// Starts the `i`-th node of the testnet in `dir` again, after [`Nodes::kill`].
    pub(crate) fn restart(&mut self, i: usize, dir: &Path) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("finding the civitas binary")?;
        let node = &mut self.0[i];
        node.child = spawn_node(&node.launcher, &exe, dir, &node.name)?;
        Ok(())
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for node in &mut self.0 {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
    }
}

/// Starts `civitas node` for every `node-<i>/config.toml` (validators) and `full-<j>/config.toml`
/// (full nodes) in `dir`, each logging to its `node.log`.
pub(crate) fn spawn(dir: &Path) -> anyhow::Result<Nodes> {
    spawn_through(dir, |_| Vec::new())
}

/// [`spawn`], each validator's command line run by `launcher(i)` (empty: run directly).
pub(crate) fn spawn_through(dir: &Path, launcher: impl Fn(usize) -> Vec<OsString>) -> anyhow::Result<Nodes> {
    let exe = std::env::current_exe().context("finding the civitas binary")?;
    let mut nodes = Nodes(Vec::new());
    let exists = |name: &String| dir.join(name).join("config.toml").exists();
    let validators =
        (0..).map(|i| (format!("node-{i}"), i)).take_while(|(n, _)| exists(n)).map(|(n, i)| (n, launcher(i)));
    let full = (0..).map(|j| format!("full-{j}")).take_while(exists).map(|n| (n, Vec::new()));
    for (name, launcher) in validators.chain(full) {
        let child = spawn_node(&launcher, &exe, dir, &name)?;
        eprintln!("{name}: pid {}, log {}", child.id(), dir.join(&name).join("node.log").display());
        nodes.0.push(RunningNode { name, child, launcher });
    }
    if nodes.0.is_empty() {
        bail!("{} holds no node-<i>/config.toml; run civitas testnet init first", dir.display());
    }
    Ok(nodes)
}

/// Starts `exe node` for `dir/name/config.toml` through `launcher` (empty: directly),
/// appending to its `node.log` (a restarted node's log follows the earlier run's).
fn spawn_node(launcher: &[OsString], exe: &Path, dir: &Path, name: &str) -> anyhow::Result<Child> {
    let node_dir = dir.join(name);
    let log = std::fs::OpenOptions::new().create(true).append(true).open(node_dir.join("node.log"))?;
    let mut command = match launcher.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    command
        .args(["node", "--config"])
        .arg(node_dir.join("config.toml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {name}"))
}

fn up(dir: &Path) -> anyhow::Result<u8> {
    let mut nodes = spawn(dir)?;
    println!("{} nodes running; Ctrl-C stops them all", nodes.0.len());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut reported = vec![false; nodes.0.len()];
    rt.block_on(crate::serve::signal_or(Duration::from_millis(500), || {
        for (i, node) in nodes.0.iter_mut().enumerate() {
            if !reported[i]
                && let Ok(Some(status)) = node.child.try_wait()
            {
                eprintln!("{} exited with {status}; see its log", node.name);
                reported[i] = true;
            }
        }
        false
    }));
    drop(nodes);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &str) -> Result<NodeFile, toml::de::Error> {
        toml::from_str(&format!("data_dir = \".\"\ngenesis = \"g.json\"\nhttp = \"127.0.0.1:8080\"\n{extra}"))
    }

    #[test]
    fn state_history_is_a_number_of_heights_or_archive_and_anything_else_is_refused_by_name() {
        let default = parse("").expect("no state_history");
        assert_eq!(default.history(), civitas_node::History::Window(civitas_node::STATE_HISTORY_DEFAULT));
        assert_eq!(parse("state_history = 5000").expect("heights").history(), civitas_node::History::Window(5000));
        assert_eq!(parse("state_history = \"archive\"").expect("archive").history(), civitas_node::History::Archive);
        for bad in ["state_history = \"forever\"", "state_history = -1", "state_history = 1.5"] {
            let e = parse(bad).err().unwrap_or_else(|| panic!("{bad} was accepted")).to_string();
            assert!(e.contains("state_history") && e.contains("a number of heights, or \"archive\""), "{bad}: {e}");
        }
    }
}
