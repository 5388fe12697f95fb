//! Several validators in one process, on commonware's deterministic runtime and simulated
//! network: real adapters, stores and execution; replayable from a seed.

use civitas_types::{AccountInstruction, CouncilInstruction};
use std::sync::Arc;
use std::time::Duration;

use civitas_node::consensus::Application;
use civitas_node::genesis::{Genesis, GenesisAccountJson, GenesisValidator};
use civitas_node::{Node, NodeConfig};
use civitas_types::{Did, Hash, Instruction, SecretKey, Transaction};
use commonware_codec::DecodeExt as _;
use commonware_cryptography::{Signer as _, ed25519};
use commonware_p2p::simulated::{self, Link};
use commonware_runtime::{Clock as _, Quota, Runner as _, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::ordered::Set;
use commonware_utils::{NZU32, NZUsize, probability};

use commonware_consensus::simplex::scheme::ed25519::Scheme;

use crate::{Channels, EngineConfig, FixedPeers, start_validator};

const CHAIN: &str = "civitas-sim";

/// A committee of `n` and its nodes, each on its own temp dir, from one fixed genesis; and
/// the nodes of validators that are not in the genesis set (they follow until the council adds
/// them).
struct Committee {
    _dirs: Vec<tempfile::TempDir>,
    nodes: Vec<Arc<Node>>,
    keys: Vec<SecretKey>,
    /// Every block the validators executed in the committee's runs.
    executed: ExecutedLog,
}

/// The council's one department (threshold 1): what it proposes passes at once.
fn council_key() -> SecretKey {
    SecretKey::from_seed([40; 32])
}

/// The p2p address validator `i` is recorded at (the simulated network ignores it).
fn address(i: usize) -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 9000 + i as u16))
}

fn committee(n: u8) -> Committee {
    committee_with(n, 0)
}

fn committee_with(n: u8, joining: u8) -> Committee {
    let keys: Vec<SecretKey> = (0..n + joining).map(|i| SecretKey::from_seed([i + 10; 32])).collect();
    let alice = SecretKey::from_seed([2; 32]);
    let department = GenesisAccountJson {
        organization: Some(civitas_node::genesis::GenesisOrgJson { kind: "department".into(), functions: vec![] }),
        ..GenesisAccountJson::new("council-department", &council_key().public_key(), 0)
    };
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        genesis_time_ms: 1_000,
        validators: keys[..usize::from(n)]
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisValidator::new(format!("department-{i}"), &k.public_key(), Some(address(i))))
            .collect(),
        accounts: vec![
            GenesisAccountJson::new("alice", &alice.public_key(), 1000),
            GenesisAccountJson::new("bob", &SecretKey::from_seed([3; 32]).public_key(), 0),
            department,
        ],
        council: Some(civitas_node::genesis::GenesisCouncilJson {
            members: vec!["council-department".into()],
            threshold: 1,
        }),
    };
    let dirs: Vec<tempfile::TempDir> = (0..n + joining).map(|_| tempfile::tempdir().expect("tempdir")).collect();
    let nodes = dirs
        .iter()
        .zip(&keys)
        .map(|(d, k)| Arc::new(Node::open(d.path(), genesis.clone(), k.clone(), relaying()).expect("open")))
        .collect();
    Committee { _dirs: dirs, nodes, keys, executed: ExecutedLog::default() }
}

/// How networked validators run: relaying their clients' transactions to each other, and
/// keeping the state trees of only their four latest heights, so every run (crashes, restarts,
/// catch-up, a light client's walk across a validator-set change) also runs with pruning.
fn relaying() -> NodeConfig {
    NodeConfig { relay_transactions: true, state_history: civitas_node::History::Window(4), ..NodeConfig::default() }
}

fn transfers(count: u64) -> Vec<civitas_types::SignedTransaction> {
    let alice = SecretKey::from_seed([2; 32]);
    let to = Did::from_initial_key(&SecretKey::from_seed([3; 32]).public_key());
    (0..count)
        .map(|nonce| {
            Transaction {
                chain_id: CHAIN.into(),
                signer: alice.public_key(),
                nonce,
                valid_until_height: 1_000,
                instructions: vec![Instruction::Accounts(AccountInstruction::Transfer { to, amount: 1 })],
            }
            .sign(&alice)
        })
        .collect()
}

/// Runs the committee under `seed`, with the validators in `offline` never started, until every
/// running node has committed `height`; returns each running node's block hashes for heights 1
/// to `height`.
fn run(c: &Committee, seed: u64, height: u64, offline: &[usize]) -> Vec<Vec<Hash>> {
    run_with(c, seed, height, Faults { offline, ..Faults::default() })
}

/// A crash: validator `validator` stops (all its tasks aborted) when the others reach `at`,
/// and starts again, on the same store and journal, when they reach `restart_at`.
#[derive(Clone, Copy)]
struct Crash {
    validator: usize,
    at: u64,
    restart_at: u64,
}

/// Registers a validator's six channels and starts it inside a task of its own, whose abort
/// stops everything the validator runs (a crash). Its receivers lose what `lose` names.
async fn launch(
    context: &deterministic::Context,
    oracle: &simulated::Oracle<ed25519::PublicKey, deterministic::Context>,
    app: Watched,
    key: ed25519::PrivateKey,
    cfg: &EngineConfig,
    lose: &[Lost],
) -> commonware_runtime::Handle<()> {
    let control = oracle.control(key.public_key());
    let quota = Quota::per_second(NZU32!(10_000));
    let register = async |channel| {
        let (sender, inner) = control.register(channel, quota).await.expect("register");
        let lose = lose.iter().copied().filter(|l| l.channel() == channel).collect();
        (sender, Lossy { inner, channel, lose })
    };
    let channels = Channels {
        votes: register(0).await,
        certificates: register(1).await,
        resolver: register(2).await,
        blocks: register(3).await,
        sync: register(4).await,
        relay: register(5).await,
    };
    let cfg = cfg.clone();
    context.child("validator").spawn(move |ctx| async move {
        let name = if app.liar { "liar" } else { "honest" };
        let started = start_validator(ctx.child(name), Arc::new(app), key, &cfg, channels, control, FixedPeers);
        let committer = started.expect("validator starts");
        // Lives as long as the validator: a commit failure ends it.
        committer.await.expect("committer runs").expect("commits succeed");
    })
}

/// A vote or certificate that a validator's receiver loses, as a network that dropped it
/// would: its kind and view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lost {
    /// Finalize votes of a view (votes channel).
    Finalize(u64),
    /// Notarize votes of a view (votes channel).
    Notarize(u64),
    /// Notarization certificates of a view (certificates channel).
    Notarization(u64),
}

impl Lost {
    /// The channel that carries it.
    fn channel(self) -> u64 {
        match self {
            Lost::Finalize(_) | Lost::Notarize(_) => 0,
            Lost::Notarization(_) => 1,
        }
    }

    /// What a message on `channel` is, if it is of a kind that can be lost. Both channels
    /// carry the epoch's subchannel, then a tag (a vote's or a certificate's) and the proposal.
    fn of(channel: u64, bytes: &[u8]) -> Option<Lost> {
        use commonware_codec::{Copying, ReadExt as _, varint::UInt};
        use commonware_consensus::simplex::types::{Proposal, Vote};
        use commonware_cryptography::sha256::Digest;
        let mut bytes = Copying(bytes);
        let UInt(_epoch) = UInt::<u64>::read(&mut bytes).ok()?;
        match channel {
            0 => match Vote::<Scheme, Digest>::read(&mut bytes).ok()? {
                Vote::Finalize(vote) => Some(Lost::Finalize(vote.proposal.round.view().get())),
                Vote::Notarize(vote) => Some(Lost::Notarize(vote.proposal.round.view().get())),
                Vote::Nullify(_) => None,
            },
            1 => {
                // Tag 0 is a notarization; its proposal comes first.
                let tag = u8::read(&mut bytes).ok()?;
                let proposal = Proposal::<Digest>::read(&mut bytes).ok()?;
                (tag == 0).then_some(Lost::Notarization(proposal.round.view().get()))
            }
            _ => None,
        }
    }
}

/// A validator's receiver on `channel` that loses every message `lose` names (all its
/// arrivals are checked).
#[derive(Debug)]
struct Lossy<R> {
    inner: R,
    channel: u64,
    lose: Vec<Lost>,
}

impl<R: commonware_p2p::Receiver<PublicKey = ed25519::PublicKey>> commonware_p2p::Receiver for Lossy<R> {
    type Error = R::Error;
    type PublicKey = ed25519::PublicKey;

    async fn recv(&mut self) -> Result<commonware_p2p::Message<ed25519::PublicKey>, R::Error> {
        loop {
            let (from, bytes) = self.inner.recv().await?;
            if !self.lose.is_empty() && Lost::of(self.channel, bytes.as_ref()).is_some_and(|l| self.lose.contains(&l)) {
                continue;
            }
            return Ok((from, bytes));
        }
    }

    fn capacity(&self) -> std::num::NonZeroUsize {
        self.inner.capacity()
    }
}

/// Runs validator `key` as a Byzantine one: commonware's conflicter signs a second, conflicting
/// vote for every vote it sees, and every other channel gets garbage.
async fn equivocate(
    context: &deterministic::Context,
    oracle: &simulated::Oracle<ed25519::PublicKey, deterministic::Context>,
    key: ed25519::PrivateKey,
    participants: &Set<ed25519::PublicKey>,
) {
    use commonware_consensus::simplex::mocks::conflicter;
    use commonware_cryptography::Sha256;
    let control = oracle.control(key.public_key());
    let quota = Quota::per_second(NZU32!(10_000));
    let votes = control.register(0, quota).await.expect("register");
    let mut senders = Vec::new();
    for channel in 1..6 {
        senders.push(control.register(channel, quota).await.expect("register").0);
    }
    let scheme = Scheme::signer(crate::NAMESPACE, participants.clone(), key).expect("member");
    let byzantine =
        conflicter::Conflicter::<_, _, Sha256>::new(context.child("conflicter"), conflicter::Config { scheme });
    byzantine.start(votes);
    context.child("garbage").spawn(move |ctx| send_garbage(ctx, senders));
}

/// A network partition: validator `isolated` is cut off from the others until they reach
/// `heal_at`, then reconnected.
#[derive(Clone, Copy)]
struct Partition {
    isolated: usize,
    heal_at: u64,
}

/// Every block a run's validators executed (proposed or verified), by height, hash and count of
/// transactions: the forks a run saw, beside what it committed.
type ExecutedLog = Arc<std::sync::Mutex<std::collections::BTreeSet<(u64, Hash, u32)>>>;

/// A validator's node as its engine sees it in a run: each block it executes goes into the
/// run's log and, for a `liar`, each block it proposes has a header that lies about the state
/// root.
struct Watched {
    node: Arc<Node>,
    liar: bool,
    executed: ExecutedLog,
}

impl Watched {
    /// `executed`, logged (and forged, for a liar's proposal).
    fn log(&self, mut executed: civitas_node::Executed, proposed: bool) -> civitas_node::Executed {
        if self.liar && proposed {
            executed.block.header.state_root = Hash([0xba; 32]);
        }
        let header = &executed.block.header;
        self.executed.lock().expect("not poisoned").insert((header.height, header.hash(), header.tx_count));
        executed
    }
}

impl Application for Watched {
    fn latest(&self) -> civitas_node::Committed {
        self.node.latest()
    }
    fn has_pending(&self, pending: &[&civitas_node::Executed]) -> bool {
        self.node.has_pending(pending)
    }
    fn propose(&self, timestamp_ms: u64) -> Result<civitas_node::Executed, civitas_node::NodeError> {
        Ok(self.log(self.node.propose(timestamp_ms)?, true))
    }
    fn verify(&self, block: civitas_types::Block) -> Result<civitas_node::Executed, civitas_node::BlockError> {
        Ok(self.log(self.node.verify(block)?, false))
    }
    fn outbound(&self, max_bytes: usize) -> Vec<civitas_types::SignedTransaction> {
        self.node.outbound(max_bytes)
    }
    fn inbound(&self, txs: Vec<civitas_types::SignedTransaction>) {
        self.node.inbound(txs)
    }
    fn committed_block(&self, height: u64) -> Result<Option<(civitas_types::Block, Vec<u8>)>, civitas_node::NodeError> {
        self.node.committed_block(height)
    }
    fn validators(&self) -> Result<civitas_types::validators::ValidatorSet, civitas_node::NodeError> {
        self.node.validators()
    }
    fn propose_on(
        &self,
        pending: &[&civitas_node::Executed],
        timestamp_ms: u64,
    ) -> Result<civitas_node::Executed, civitas_node::NodeError> {
        Ok(self.log(self.node.propose_on(pending, timestamp_ms)?, true))
    }
    fn verify_on(
        &self,
        pending: &[&civitas_node::Executed],
        block: civitas_types::Block,
    ) -> Result<civitas_node::Executed, civitas_node::BlockError> {
        Ok(self.log(self.node.verify_on(pending, block)?, false))
    }
    fn set_catching_up(&self, on: bool) {
        self.node.set_catching_up(on)
    }
    fn saw_height(&self, height: u64) {
        self.node.saw_height(height)
    }
    fn finalized(
        &self,
        executed: &civitas_node::Executed,
        certificate: &[u8],
    ) -> Result<civitas_node::Committed, civitas_node::NodeError> {
        self.node.finalized(executed, certificate)
    }
    fn damage(&self) -> Option<String> {
        self.node.damage()
    }
}

/// What goes wrong in a run.
#[derive(Default, Clone, Copy)]
struct Faults<'a> {
    /// Validators never started.
    offline: &'a [usize],
    /// A validator proposing forged blocks.
    liar: Option<usize>,
    /// A validator cut off for a while.
    partition: Option<Partition>,
    /// A validator that crashes and restarts.
    crash: Option<Crash>,
    /// A validator that signs conflicting votes (equivocates) and sends garbage on every
    /// other channel, instead of running the engine.
    equivocator: Option<usize>,
    /// A peer outside the committee that sends garbage on every channel.
    stranger: bool,
    /// A view whose finalize votes every validator loses: its block is notarized (and so
    /// certified) but never finalized by a certificate of its own.
    lost_finalizes: Option<u64>,
    /// A view whose notarize votes and notarization reach only one validator, `keeper`: the
    /// keeper holds the view's block notarized, the others time out and nullify the view,
    /// and the chain goes on without the block (a fork of a notarized block).
    lone_notarization: Option<LoneNotarization>,
}

/// See [`Faults::lone_notarization`].
#[derive(Clone, Copy)]
struct LoneNotarization {
    view: u64,
    keeper: usize,
}

/// How many garbage messages a Byzantine peer sends per channel (bounded: it stops by itself).
const GARBAGE_ROUNDS: u64 = 100;

/// Sends deterministic garbage of assorted sizes (empty, short, up to the network's limit) on
/// each of `senders`, every 50 ms, [`GARBAGE_ROUNDS`] times.
async fn send_garbage(
    context: deterministic::Context,
    mut senders: Vec<simulated::Sender<ed25519::PublicKey, deterministic::Context>>,
) {
    use commonware_p2p::{Recipients, Sender as _};
    for round in 0..GARBAGE_ROUNDS {
        context.sleep(Duration::from_millis(50)).await;
        for (channel, sender) in senders.iter_mut().enumerate() {
            let seed = Hash::digest_parts(&[&round.to_be_bytes(), &(channel as u64).to_be_bytes()]);
            let len = [0, 1, 7, 64, 1_000, 64 * 1024, 1024 * 1024 - 64][(round as usize + channel) % 7];
            let bytes: Vec<u8> = seed.0.iter().copied().cycle().take(len).collect();
            sender.send(Recipients::All, bytes, false);
        }
    }
}

/// [`run`], with the faults in `faults`. A liar or equivocator is left out of the nodes that
/// must reach `height` and of the returned chains.
fn run_with(c: &Committee, seed: u64, height: u64, faults: Faults<'_>) -> Vec<Vec<Hash>> {
    let Faults { offline, liar, partition, crash, equivocator, stranger, lost_finalizes, lone_notarization } = faults;
    let liar = liar.or(equivocator);
    // What validator `i`'s receivers lose.
    let lose_for = move |i: usize| -> Vec<Lost> {
        let mut lose: Vec<Lost> = lost_finalizes.map(Lost::Finalize).into_iter().collect();
        if let Some(lone) = lone_notarization
            && lone.keeper != i
        {
            lose.extend([Lost::Notarize(lone.view), Lost::Notarization(lone.view)]);
        }
        lose
    };
    let executed_log = c.executed.clone();
    let cfg = EngineConfig {
        journal_dir: std::path::PathBuf::new(),
        block_interval: Duration::from_millis(5),
        empty_block_interval: Duration::from_millis(200),
        worker_threads: 1,
    };
    let executor = deterministic::Runner::new(
        deterministic::Config::new().with_seed(seed).with_timeout(Some(Duration::from_secs(600))),
    );
    let offline = offline.to_vec();
    let nodes: Vec<Arc<Node>> =
        c.nodes.iter().enumerate().filter(|(i, _)| !offline.contains(i)).map(|(_, n)| n.clone()).collect();
    let running = nodes.clone();
    let liar_node = liar.map(|i| c.nodes[i].clone());
    let liar_for_start = liar_node.clone();
    let liar_for_wait = liar_node.clone();
    let keys: Vec<ed25519::PrivateKey> =
        c.keys.iter().map(|k| ed25519::PrivateKey::decode(k.seed().to_vec()).expect("key")).collect();
    let genesis_set = c.nodes[0].chain().genesis().validators.len();
    executor.start(|context| async move {
        // Every node is a peer of the simulated network, the joining ones too; the genesis
        // set is the first `genesis_set` of them.
        let participants_by_index: Vec<ed25519::PublicKey> = keys.iter().map(|k| k.public_key()).collect();
        let participants: Set<ed25519::PublicKey> = Set::try_from(participants_by_index.clone()).expect("distinct");
        let genesis_set: Set<ed25519::PublicKey> =
            Set::try_from(participants_by_index[..genesis_set].to_vec()).expect("distinct");
        let (network, oracle) = simulated::Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: 1024 * 1024,
                max_peers_per_set: NZUsize!(16),
                disconnect_on_block: false,
                tracked_peer_sets: NZUsize!(1),
            },
            participants.clone(),
        )
        .await;
        network.start();
        let link = Link {
            latency: Duration::from_millis(10),
            jitter: Duration::from_millis(3),
            success_rate: probability!(1.0),
        };
        for a in participants.iter() {
            for b in participants.iter() {
                if a != b {
                    oracle.add_link(a.clone(), b.clone(), link.clone()).await.expect("link");
                }
            }
        }
        let mut handles = Vec::new();
        for (i, node, key) in online(&keys, &nodes, &offline) {
            let is_liar = liar_for_start.as_ref().is_some_and(|l| Arc::ptr_eq(l, node));
            if is_liar && equivocator.is_some() {
                equivocate(&context, &oracle, key, &genesis_set).await;
                continue;
            }
            let app = Watched { node: node.clone(), liar: is_liar, executed: executed_log.clone() };
            handles.push(launch(&context, &oracle, app, key, &cfg, &lose_for(i)).await);
        }
        if stranger {
            let outsider = ed25519::PrivateKey::decode([99u8; 32].to_vec()).expect("key").public_key();
            for p in participants.iter() {
                oracle.add_link(outsider.clone(), p.clone(), link.clone()).await.expect("link");
                oracle.add_link(p.clone(), outsider.clone(), link.clone()).await.expect("link");
            }
            let control = oracle.control(outsider);
            let mut senders = Vec::new();
            for channel in 0..6 {
                senders.push(control.register(channel, Quota::per_second(NZU32!(10_000))).await.expect("register").0);
            }
            context.child("stranger").spawn(move |ctx| send_garbage(ctx, senders));
        }
        if let Some(p) = partition {
            let cut = participants_by_index[p.isolated].clone();
            for other in participants.iter().filter(|o| **o != cut) {
                oracle.remove_link(cut.clone(), other.clone()).await.expect("unlink");
                oracle.remove_link(other.clone(), cut.clone()).await.expect("unlink");
            }
            let others: Vec<&Arc<Node>> =
                nodes.iter().enumerate().filter(|(i, _)| *i != p.isolated).map(|(_, n)| n).collect();
            while others.iter().any(|n| n.latest().height < p.heal_at) {
                context.sleep(Duration::from_millis(20)).await;
            }
            assert!(nodes[p.isolated].latest().height < p.heal_at, "the isolated validator fell behind");
            for other in participants.iter().filter(|o| **o != cut) {
                oracle.add_link(cut.clone(), other.clone(), link.clone()).await.expect("link");
                oracle.add_link(other.clone(), cut.clone(), link.clone()).await.expect("link");
            }
        }
        if let Some(crash) = crash {
            let others: Vec<&Arc<Node>> =
                nodes.iter().enumerate().filter(|(i, _)| *i != crash.validator).map(|(_, n)| n).collect();
            while others.iter().any(|n| n.latest().height < crash.at) {
                context.sleep(Duration::from_millis(20)).await;
            }
            let handle = handles.remove(crash.validator);
            handle.abort();
            let _ = handle.await;
            let down_at = nodes[crash.validator].latest().height;
            while others.iter().any(|n| n.latest().height < crash.restart_at) {
                context.sleep(Duration::from_millis(20)).await;
            }
            assert!(nodes[crash.validator].latest().height == down_at, "a crashed validator commits nothing");
            let key = keys[crash.validator].clone();
            let app = Watched { node: nodes[crash.validator].clone(), liar: false, executed: executed_log.clone() };
            handles.push(launch(&context, &oracle, app, key, &cfg, &lose_for(crash.validator)).await);
        }
        while honest(&nodes, liar_for_wait.as_ref()).any(|n| n.latest().height < height) {
            context.sleep(Duration::from_millis(20)).await;
        }
        if let Some(e) = equivocator {
            // simplex proved the equivocation from its signed votes and blocked the signer.
            let culprit = &participants_by_index[e];
            let blocked = oracle.blocked().await.expect("blocked peers");
            assert!(blocked.iter().any(|(_, b)| b == culprit), "no honest validator blocked the equivocator");
        }
    });
    honest(&running, liar_node.as_ref())
        .map(|n| (1..=height).map(|h| n.block(h).expect("read").expect("committed").0.header.hash()).collect())
        .collect()
}

/// The nodes that are not the liar.
fn honest<'a>(nodes: &'a [Arc<Node>], liar: Option<&'a Arc<Node>>) -> impl Iterator<Item = &'a Arc<Node>> + 'a {
    nodes.iter().filter(move |n| !liar.is_some_and(|l| Arc::ptr_eq(l, n)))
}

/// Pairs each running node with its validator index and key, skipping the offline validators.
fn online<'a>(
    keys: &'a [ed25519::PrivateKey],
    running: &'a [Arc<Node>],
    offline: &'a [usize],
) -> impl Iterator<Item = (usize, &'a Arc<Node>, ed25519::PrivateKey)> + 'a {
    let indices: Vec<usize> = (0..keys.len()).filter(|i| !offline.contains(i)).collect();
    running.iter().zip(indices).map(move |(node, i)| (i, node, keys[i].clone()))
}

#[test]
fn four_validators_finalize_the_same_blocks_and_states() {
    let c = committee(4);
    // Transactions sent to one department reach every leader through the relay.
    c.nodes[0].submit(transfers(5)).into_iter().for_each(|r| {
        r.expect("admitted");
    });
    let chains = run(&c, 7, 8, &[]);
    for (i, chain) in chains.iter().enumerate() {
        assert_eq!(chain, &chains[0], "validator {i} finalized other blocks");
    }
    for h in 1..=8 {
        let roots: Vec<Hash> =
            c.nodes.iter().map(|n| n.block(h).expect("read").expect("committed").0.header.state_root).collect();
        assert!(roots.iter().all(|r| *r == roots[0]), "state roots differ at height {h}");
    }
    let proposers: std::collections::BTreeSet<_> =
        (1..=8).map(|h| c.nodes[0].block(h).expect("read").expect("block").0.header.proposer).collect();
    assert!(proposers.len() > 1, "more than one department proposed blocks");
    let bob = Did::from_initial_key(&SecretKey::from_seed([3; 32]).public_key());
    for n in &c.nodes {
        assert_eq!(n.account(&bob).expect("read").map(|a| a.balance), Some(5), "every node applied the transfers");
    }
}

#[test]
fn transactions_sent_to_one_validator_are_relayed_and_committed_once() {
    use std::sync::atomic::Ordering;
    let c = committee(4);
    // The same five at two departments (a client retrying elsewhere), three more at a third.
    let all = transfers(8);
    for (node, txs) in [(0, &all[..5]), (2, &all[..5]), (3, &all[5..])] {
        c.nodes[node].submit(txs.to_vec()).into_iter().for_each(|r| {
            r.expect("admitted");
        });
    }
    let chains = run(&c, 23, 10, &[]);
    assert!(chains.iter().all(|chain| chain == &chains[0]));
    let bob = Did::from_initial_key(&SecretKey::from_seed([3; 32]).public_key());
    for (i, n) in c.nodes.iter().enumerate() {
        assert_eq!(n.account(&bob).expect("read").map(|a| a.balance), Some(8), "node {i}: each transfer once");
        assert_eq!(n.status().mempool_txs, 0, "node {i}: nothing left waiting");
    }
    let committed: u64 =
        (1..=10).map(|h| u64::from(c.nodes[0].block(h).expect("read").expect("block").0.header.tx_count)).sum();
    assert_eq!(committed, 8, "duplicates were not committed");
    assert!(c.nodes[1].metrics().relayed_in.load(Ordering::Relaxed) >= 8, "node 1 got every transaction relayed");
    let reused: u64 = c.nodes.iter().map(|n| n.metrics().verify_reused.load(Ordering::Relaxed)).sum();
    assert!(reused > 0, "relayed transactions were not verified twice");
}

#[test]
fn three_of_four_keep_finalizing_while_one_is_down() {
    let c = committee(4);
    let chains = run(&c, 11, 6, &[2]);
    assert_eq!(chains.len(), 3);
    assert!(chains.iter().all(|chain| chain == &chains[0]), "the running validators agree");
    assert_eq!(c.nodes[2].latest().height, 0, "the validator that never started has nothing");
}

#[test]
fn a_seed_replays_the_same_multi_validator_chain() {
    let first = run(&committee(4), 5, 5, &[]);
    let second = run(&committee(4), 5, 5, &[]);
    assert_eq!(first, second);
}

#[test]
fn honest_validators_refuse_forged_blocks_and_keep_going() {
    let c = committee(4);
    let chains = run_with(&c, 3, 8, Faults { liar: Some(1), ..Faults::default() });
    assert_eq!(chains.len(), 3);
    assert!(chains.iter().all(|chain| chain == &chains[0]), "the honest validators agree");
    let liar = c.keys[1].public_key();
    for h in 1..=8 {
        let block = c.nodes[0].block(h).expect("read").expect("block").0;
        assert_ne!(block.header.proposer, liar, "a forged block was finalized at height {h}");
        assert_ne!(block.header.state_root, Hash([0xba; 32]));
    }
}

#[test]
fn an_equivocating_validator_and_a_garbling_stranger_cannot_stop_or_fork_the_chain() {
    let c = committee(4);
    c.nodes[0].submit(transfers(4)).into_iter().for_each(|r| {
        r.expect("admitted");
    });
    let faults = Faults { equivocator: Some(2), stranger: true, ..Faults::default() };
    let chains = run_with(&c, 29, 10, faults);
    assert_eq!(chains.len(), 3);
    assert!(chains.iter().all(|chain| chain == &chains[0]), "the honest validators agree");
    let equivocator = c.keys[2].public_key();
    for h in 1..=10 {
        let roots: Vec<Hash> = [0, 1, 3]
            .iter()
            .map(|&i| c.nodes[i].block(h).expect("read").expect("committed").0.header.state_root)
            .collect();
        assert!(roots.iter().all(|r| *r == roots[0]), "state roots differ at height {h}");
        let proposer = c.nodes[0].block(h).expect("read").expect("block").0.header.proposer;
        assert_ne!(proposer, equivocator, "the equivocator's leader turns time out");
    }
    let bob = Did::from_initial_key(&SecretKey::from_seed([3; 32]).public_key());
    assert_eq!(c.nodes[3].account(&bob).expect("read").map(|a| a.balance), Some(4));
}

#[test]
fn a_cut_off_validator_catches_up_after_the_partition_heals() {
    let c = committee(4);
    c.nodes[0].submit(transfers(3)).into_iter().for_each(|r| {
        r.expect("admitted");
    });
    let partition = Partition { isolated: 3, heal_at: 6 };
    let chains = run_with(&c, 9, 12, Faults { partition: Some(partition), ..Faults::default() });
    assert_eq!(chains.len(), 4);
    assert!(chains.iter().all(|chain| chain == &chains[0]), "after healing, all four hold the same chain");
    let roots: Vec<Hash> =
        c.nodes.iter().map(|n| n.block(12).expect("read").expect("block").0.header.state_root).collect();
    assert!(roots.iter().all(|r| *r == roots[0]));
    // The blocks it fetched came with certificates it stored, like any other.
    assert!(c.nodes[3].certificate(3).expect("read").is_some());
}

#[test]
fn a_crashed_validator_recovers_and_catches_up() {
    let c = committee(4);
    let crash = Crash { validator: 2, at: 3, restart_at: 8 };
    let chains = run_with(&c, 13, 12, Faults { crash: Some(crash), ..Faults::default() });
    assert!(chains.iter().all(|chain| chain == &chains[0]), "after recovery, all four hold the same chain");
}

#[test]
fn a_block_notarized_but_never_finalized_itself_is_finalized_through_its_child() {
    let c = committee(4);
    c.nodes[0].submit(transfers(6)).into_iter().for_each(|r| {
        r.expect("admitted");
    });
    // Every finalize vote of view 4 is lost: its block is certified, so the next leader must
    // build on it, and only a descendant's finalization can make it final.
    let chains = run_with(&c, 41, 10, Faults { lost_finalizes: Some(4), ..Faults::default() });
    assert!(chains.iter().all(|chain| chain == &chains[0]), "the four hold the same chain");
    let bob = Did::from_initial_key(&SecretKey::from_seed([3; 32]).public_key());
    for n in &c.nodes {
        assert_eq!(n.account(&bob).expect("read").map(|a| a.balance), Some(6), "every node applied the transfers");
    }
    // The block of view 4 is stored with the record of its descendant's finalization, which a
    // light client checks like a certificate; every other block has its own.
    let keys = c.nodes[0].chain().genesis().validator_keys().expect("keys");
    let mut through = Vec::new();
    for h in 1..=10 {
        let block = c.nodes[0].block(h).expect("read").expect("committed").0;
        let certificate = c.nodes[0].certificate(h).expect("read").expect("certified");
        let finality = civitas_client::light::verify_finalization(&certificate, &keys, &block.header.hash())
            .unwrap_or_else(|e| panic!("block {h} is not final: {e}"));
        assert_eq!(finality.block_hash, block.header.hash());
        if finality.through > 0 {
            assert!(civitas_types::FinalizedThrough::parse(&certificate).is_some());
            through.push(h);
        }
    }
    assert_eq!(through.len(), 1, "exactly the block of view 4 was finalized through a descendant: {through:?}");
}

#[test]
fn a_notarized_block_the_chain_drops_loses_none_of_its_transactions() {
    let c = committee(4);
    c.nodes[0].submit(transfers(6)).into_iter().for_each(|r| {
        r.expect("admitted");
    });
    // Only validator 0 sees view 2's block notarized; the others nullify the view, and the
    // chain goes on without that block.
    let lone = LoneNotarization { view: 2, keeper: 0 };
    let chains = run_with(&c, 43, 8, Faults { lone_notarization: Some(lone), ..Faults::default() });
    assert!(chains.iter().all(|chain| chain == &chains[0]), "the four hold the same chain");
    let executed = c.executed.lock().expect("not poisoned");
    let dropped: Vec<u64> = executed
        .iter()
        .filter(|(height, hash, txs)| *txs > 0 && chains[0].get(*height as usize - 1) != Some(hash))
        .map(|(height, ..)| *height)
        .collect();
    assert!(!dropped.is_empty(), "no block with transactions was dropped: {executed:?}");
    // The dropped block's transfers stayed waiting and were committed once each.
    let bob = Did::from_initial_key(&SecretKey::from_seed([3; 32]).public_key());
    for n in &c.nodes {
        assert_eq!(n.account(&bob).expect("read").map(|a| a.balance), Some(6), "every node applied each once");
    }
}

#[test]
fn seven_validators_agree() {
    let c = committee(7);
    let chains = run(&c, 17, 6, &[]);
    assert_eq!(chains.len(), 7);
    assert!(chains.iter().all(|chain| chain == &chains[0]));
}

#[test]
fn seven_validators_keep_going_with_two_down() {
    let c = committee(7);
    let chains = run(&c, 19, 5, &[1, 4]);
    assert_eq!(chains.len(), 5);
    assert!(chains.iter().all(|chain| chain == &chains[0]));
}

/// Seeds for the sweep: a fixed few in CI; `CIVITAS_SIM_SEEDS=N` runs seeds 0 to N-1.
fn seeds() -> Vec<u64> {
    match std::env::var("CIVITAS_SIM_SEEDS").ok().and_then(|v| v.parse::<u64>().ok()) {
        Some(n) => (0..n).collect(),
        None => vec![101, 202, 303],
    }
}

#[test]
fn safety_and_recovery_hold_across_seeds() {
    for seed in seeds() {
        let c = committee(4);
        c.nodes[1].submit(transfers(2)).into_iter().for_each(|r| {
            r.expect("admitted");
        });
        let isolated = (seed % 4) as usize;
        let partition = Partition { isolated, heal_at: 4 };
        let chains = run_with(&c, seed, 9, Faults { partition: Some(partition), ..Faults::default() });
        assert!(chains.iter().all(|chain| chain == &chains[0]), "seed {seed}: validators disagree");
    }
}

/// The council department's proposal of `action`, which passes at once (threshold 1).
fn council_proposal(action: civitas_types::council::CouncilAction) -> civitas_types::SignedTransaction {
    let department = council_key();
    Transaction {
        chain_id: CHAIN.into(),
        signer: department.public_key(),
        nonce: 0,
        valid_until_height: 1_000,
        instructions: vec![Instruction::Council(CouncilInstruction::Propose {
            action,
            ttl_blocks: 100,
            by: Did::from_initial_key(&department.public_key()),
        })],
    }
    .sign(&department)
}

#[test]
fn a_removed_validator_stops_voting_and_follows_while_the_others_go_on() {
    use civitas_types::council::CouncilAction;
    let c = committee(4);
    let removed = c.keys[3].public_key();
    c.nodes[1].submit(vec![council_proposal(CouncilAction::RemoveValidator { key: removed })]).into_iter().for_each(
        |r| {
            r.expect("admitted");
        },
    );
    let height = 16;
    let chains = run(&c, 37, height, &[]);
    assert!(chains.iter().all(|chain| chain == &chains[0]), "the three and the removed one hold the same chain");
    let set = c.nodes[3].validators().expect("set");
    assert_eq!((set.epoch, set.validators.len()), (1, 3));
    assert!(!set.contains(&removed));
    let boundary = set.boundary().expect("a change");
    assert!(boundary < height - 5, "the change passed early (at {boundary})");
    for h in boundary + 1..=height {
        let block = c.nodes[0].block(h).expect("read").expect("committed").0;
        assert_ne!(block.header.proposer, removed, "the removed validator proposed block {h}");
        let certificate = c.nodes[3].certificate(h).expect("read").expect("certified");
        civitas_client::light::verify_finalization(&certificate, &set.keys(), &block.header.hash())
            .unwrap_or_else(|e| panic!("block {h} is not finalized by the three: {e}"));
    }
}

#[test]
fn the_council_adds_a_fifth_validator_that_validates_from_the_next_epoch() {
    use civitas_client::light::verify_proof;
    use civitas_client::wire::{ProofJson, ValidatorChangeJson};
    use civitas_types::council::CouncilAction;
    use civitas_types::validators::Validator;
    let c = committee_with(4, 1);
    let joining = c.keys[4].public_key();
    let add = CouncilAction::AddValidator {
        validator: Validator { key: joining, address: address(4).to_string(), name: "department-4".into() },
    };
    let proposal = council_proposal(add);
    c.nodes[0].submit(vec![proposal]).into_iter().for_each(|r| {
        r.expect("admitted");
    });
    c.nodes[1].submit(transfers(3)).into_iter().for_each(|r| {
        r.expect("admitted");
    });
    let height = 20;
    let chains = run(&c, 31, height, &[]);
    assert_eq!(chains.len(), 5);
    assert!(chains.iter().all(|chain| chain == &chains[0]), "the four and the joining node hold the same chain");
    let set = c.nodes[4].validators().expect("set");
    assert_eq!((set.epoch, set.validators.len()), (1, 5));
    let boundary = set.boundary().expect("a change");
    assert!(boundary < height - 5, "the change passed early (at {boundary})");
    let genesis_keys = c.nodes[0].chain().genesis().validator_keys().expect("keys");
    for h in 1..=height {
        let block = c.nodes[2].block(h).expect("read").expect("committed").0;
        let certificate = c.nodes[2].certificate(h).expect("read").expect("certified");
        let signers = if h <= boundary { &genesis_keys } else { &set.keys() };
        civitas_client::light::verify_finalization(&certificate, signers, &block.header.hash())
            .unwrap_or_else(|e| panic!("block {h} is not finalized by its epoch's set: {e}"));
        if h <= boundary {
            assert_ne!(block.header.proposer, joining, "the joining validator proposed before it was added");
        }
    }
    let proposed_after: Vec<u64> = (boundary + 1..=height)
        .filter(|h| c.nodes[0].block(*h).expect("read").expect("block").0.header.proposer == joining)
        .collect();
    assert!(!proposed_after.is_empty(), "the fifth validator never led a view after joining");
    // A light client that trusts only the genesis set checks a fact at the tip by walking the
    // change: the boundary block, certified by the four, holds the five in its state. The
    // nodes keep four heights' trees, so the boundary's proof is the kept one.
    assert!(c.nodes[4].chain().store().oldest_provable() > boundary, "the boundary's tree was pruned");
    let bob = Did::from_initial_key(&SecretKey::from_seed([3; 32]).public_key());
    let p = c.nodes[4].prove(&civitas_types::account::account_key(&bob)).expect("prove").expect("final");
    assert_eq!(p.validator_changes.len(), 1);
    let changes: Vec<ValidatorChangeJson> = p
        .validator_changes
        .iter()
        .map(|ch| ValidatorChangeJson::new(&ch.header, &ch.certificate, &ch.set, &ch.proof))
        .collect();
    let doc = ProofJson::for_account(CHAIN, &bob, &p.header, &p.certificate, &p.key, p.value.as_deref(), &p.proof)
        .with_changes(changes);
    let proven = verify_proof(&doc, CHAIN, &genesis_keys).expect("the walk from genesis verifies");
    assert_eq!(proven.height, p.header.height);
    // Without the change, or with the set in it altered, the genesis set cannot vouch for it.
    let bare = ProofJson { validator_changes: vec![], ..doc.clone() };
    assert!(verify_proof(&bare, CHAIN, &genesis_keys).is_err());
    let mut forged = doc.clone();
    let value = forged.validator_changes[0].validators.value.as_mut().expect("value");
    let last = value.pop().expect("hex");
    value.push(if last == '0' { '1' } else { '0' });
    assert!(verify_proof(&forged, CHAIN, &genesis_keys).is_err());
}

#[test]
fn adding_a_validator_holds_across_seeds() {
    use civitas_types::council::CouncilAction;
    use civitas_types::validators::Validator;
    for seed in seeds() {
        let c = committee_with(4, 1);
        let joining = c.keys[4].public_key();
        let add = CouncilAction::AddValidator {
            validator: Validator { key: joining, address: address(4).to_string(), name: "department-4".into() },
        };
        c.nodes[(seed % 4) as usize].submit(vec![council_proposal(add)]).into_iter().for_each(|r| {
            r.expect("admitted");
        });
        let height = 16;
        let chains = run(&c, seed, height, &[]);
        assert!(chains.iter().all(|chain| chain == &chains[0]), "seed {seed}: nodes disagree");
        let set = c.nodes[4].validators().expect("set");
        assert_eq!((set.epoch, set.validators.len()), (1, 5), "seed {seed}");
        let boundary = set.boundary().expect("a change");
        let led = (boundary + 1..=height)
            .any(|h| c.nodes[0].block(h).expect("read").expect("block").0.header.proposer == joining);
        assert!(led, "seed {seed}: the fifth validator never led a view after joining at {boundary}");
    }
}
