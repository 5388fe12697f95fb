//! Civitas on the commonware simplex BFT engine.
//!
//! [`Adapter`] is simplex's `Automaton`, `Relay` and `Reporter` over the node's
//! [`Application`]: simplex orders block digests; the adapter builds the blocks behind them,
//! keeps them until they are finalized, and commits each finalized block in order.
//! [`run_solo`] runs one validator: simplex with a committee of one, on the commonware tokio
//! runtime, with an in-process network that has no other peer.
//!
//! This crate is internal; it is the only one that knows commonware's types.

mod alone;
mod network;
mod relay;
mod sync;

pub use network::{NETWORK_BLOCK_BYTES_MAX, P2P_MESSAGE_BYTES_MAX, ValidatorConfig, run_validator};

/// The decoders of the relay and sync channels, which read what peers send, for the fuzz
/// targets (`crates/fuzz`). Not an API: nothing else calls them.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::relay::{decode as decode_relay_message, encode as encode_relay_message};
    pub use crate::sync::{Message as SyncMessage, decode as decode_sync_message, encode as encode_sync_message};
}

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use civitas_node::consensus::Application;
use civitas_node::{Executed, NodeError};
use civitas_types::validators::ValidatorSet;
use civitas_types::{Hash, SecretKey};
use commonware_actor::Feedback;
use commonware_codec::{DecodeExt, Encode as _};
use commonware_consensus::simplex::types::{Activity, Attributable as _, Context};
use commonware_consensus::simplex::{self, Plan, elector::RoundRobin, scheme::ed25519::Scheme};
use commonware_consensus::types::{Epoch, ViewDelta};
use commonware_consensus::{Automaton, CertifiableAutomaton, Relay, Reporter};
use commonware_cryptography::sha256::Digest;
use commonware_cryptography::{Sha256, Signer as _, ed25519};
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Handle, Metrics, Runner as _, Spawner, Storage, Supervisor};
use commonware_utils::channel::{mpsc, oneshot};
use commonware_utils::ordered::Set;
use commonware_utils::{NZU16, NZUsize};

use civitas_types::CONSENSUS_NAMESPACE as NAMESPACE;

/// Most proposals kept while they wait to be finalized.
const PROPOSALS_MAX: usize = 64;

/// Why the consensus runner failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// The validator key is not a valid commonware key.
    #[error("validator key: {0}")]
    Key(String),
    /// The consensus journal directory could not be prepared.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The node failed while committing a finalized block; going on would be unsafe.
    #[error("committing a finalized block: {0}")]
    Commit(#[from] NodeError),
    /// A thread of the node failed.
    #[error("{0}")]
    Thread(String),
    /// A read found the node's store damaged; serving it, or building on it, would spread the
    /// damage.
    #[error(
        "the node's store is damaged ({0}); the node stopped rather than serve or build on it. {advice}",
        advice = civitas_node::DAMAGED_STORE_ADVICE
    )]
    Damaged(String),
}

pub(crate) fn digest_of(hash: Hash) -> Digest {
    Digest::from(hash.0)
}

/// Blocks proposed (or verified) and not yet finalized, by digest. Shared: a block built on
/// an uncommitted parent reads through the parent's state.
type Proposals = Arc<Mutex<BTreeMap<Digest, Arc<Executed>>>>;

/// The blocks after the latest committed one up to `parent`, oldest first, if this node holds
/// each of them executed in `proposals`: what a block on `parent` builds on while they are not
/// committed. Empty when `parent` is the latest committed block. `None` when one of them is
/// not held, or, unless `across_epochs`, when one changes the validator set (its epoch must
/// end with it committed, not extended).
fn pending_to<A: Application>(
    app: &A,
    proposals: &Proposals,
    parent: Digest,
    across_epochs: bool,
) -> Option<Vec<Arc<Executed>>> {
    let latest = digest_of(app.latest().block_hash);
    let proposals = proposals.lock().expect("not poisoned: holders do not panic");
    let mut chain = Vec::new();
    let mut at = parent;
    while at != latest {
        if chain.len() >= PROPOSALS_MAX {
            return None;
        }
        let executed = proposals.get(&at)?.clone();
        if !across_epochs && executed.writes(civitas_types::validators::VALIDATORS_KEY) {
            return None;
        }
        at = digest_of(executed.block.header.parent_hash);
        chain.push(executed);
    }
    chain.reverse();
    Some(chain)
}

/// The blocks of `pending`, borrowed.
fn borrowed(pending: &[Arc<Executed>]) -> Vec<&Executed> {
    pending.iter().map(AsRef::as_ref).collect()
}

/// Most finalizations waiting for the committer. The engine finalizes at most one block per
/// view, and a proposal builds on at most [`PROPOSALS_MAX`] uncommitted blocks, so far fewer
/// than this wait.
const FINALIZED_QUEUE_MAX: usize = 1024;

/// simplex's view of the application, on the runtime `E` (tokio in production, commonware's
/// deterministic runtime in simulation): it waits and spawns only through `E`.
pub struct Adapter<A: Application, E, S> {
    app: Arc<A>,
    context: E,
    rule: EpochRule,
    proposals: Proposals,
    received: Arc<Received>,
    blocks: S,
    finalized: mpsc::Sender<sync::ToCommit>,
    block_interval: Duration,
    empty_block_interval: Duration,
    /// When this node saw the latest views notarized, to log finalizations that come late.
    notarized: Arc<Mutex<std::collections::VecDeque<(u64, std::time::Instant)>>>,
}

/// Views whose notarization time is remembered for [`LATE_FINALIZATION`].
const NOTARIZED_KEPT: usize = 64;

/// A finalization this long after its view's notarization is logged: a block's finality waits
/// for the slowest of a quorum's finalize votes, and its latency with it.
const LATE_FINALIZATION: Duration = Duration::from_millis(1000);

impl<A: Application, E: Supervisor, S: Clone> Clone for Adapter<A, E, S> {
    fn clone(&self) -> Self {
        Adapter {
            app: self.app.clone(),
            context: self.context.child("adapter"),
            rule: self.rule,
            proposals: self.proposals.clone(),
            received: self.received.clone(),
            blocks: self.blocks.clone(),
            finalized: self.finalized.clone(),
            block_interval: self.block_interval,
            empty_block_interval: self.empty_block_interval,
            notarized: self.notarized.clone(),
        }
    }
}

/// Which blocks an engine may build or vote for, given the validator set in the state they
/// build on.
#[derive(Debug, Clone, Copy)]
enum EpochRule {
    /// A committee of one (`run_solo`): only while the set is this validator alone. Its epochs
    /// are restarts, not set changes.
    Solo(civitas_types::PublicKey),
    /// A committee: only blocks whose parent state's set is the engine's epoch. The block
    /// that commits a change is the last its epoch finalizes; the next epoch's engine takes
    /// over from it.
    Network,
}

impl EpochRule {
    /// Whether an engine in `epoch` may build on, or vote for a block on, the app's latest
    /// committed state.
    fn allows<A: Application>(self, app: &A, epoch: Epoch) -> bool {
        let set = match app.validators() {
            Ok(set) => set,
            Err(e) => {
                tracing::error!(error = %e, "reading the validator set failed");
                return false;
            }
        };
        match self {
            EpochRule::Solo(me) => {
                let alone = set.validators.len() == 1 && set.contains(&me);
                if !alone {
                    tracing::error!(
                        validators = set.validators.len(),
                        "the validator set changed; a validator running alone stops here: run the set's validators with `civitas node`"
                    );
                }
                alone
            }
            EpochRule::Network => set.epoch == epoch.get(),
        }
    }
}

/// Most blocks from other validators kept while they wait to be verified.
const RECEIVED_MAX: usize = 256;

/// Blocks other validators relayed to us, by digest, and a wake-up for those waiting on one.
#[derive(Default)]
struct Received {
    blocks: Mutex<BTreeMap<Digest, civitas_types::Block>>,
    arrived: tokio::sync::Notify,
}

impl Received {
    fn insert(&self, digest: Digest, block: civitas_types::Block) {
        let mut blocks = self.blocks.lock().expect("not poisoned: holders do not panic");
        if blocks.len() >= RECEIVED_MAX {
            blocks.pop_first();
        }
        blocks.insert(digest, block);
        drop(blocks);
        self.arrived.notify_waiters();
    }

    fn take(&self, digest: &Digest) -> Option<civitas_types::Block> {
        self.blocks.lock().expect("not poisoned: holders do not panic").remove(digest)
    }
}

pub(crate) fn elapsed(clock: &impl Clock, since: SystemTime) -> Duration {
    clock.current().duration_since(since).unwrap_or_default()
}

impl<A: Application, E: Clock, S> Adapter<A, E, S> {
    /// What a block on `parent` builds on: nothing uncommitted once `parent` is our latest
    /// committed block, else the blocks up to `parent` that this node holds executed
    /// ([`pending_to`]). simplex names as parent only a block it certified, and a certified
    /// block may never be finalized itself (its view gathered too few finalize votes): the
    /// chain must be able to go on from it, and a descendant's finalization then finalizes
    /// it. Waits (for a block still being verified, or for the commit of one that changes the
    /// validator set) at most twice the empty-block interval; `None` if neither comes.
    async fn parent_ready(&self, parent: Digest) -> Option<Vec<Arc<Executed>>> {
        let start = self.context.current();
        loop {
            if digest_of(self.app.latest().block_hash) == parent {
                return Some(Vec::new());
            }
            if let Some(pending) = pending_to(self.app.as_ref(), &self.proposals, parent, false) {
                return Some(pending);
            }
            if elapsed(&self.context, start) > self.empty_block_interval * 2 {
                return None;
            }
            self.context.sleep(Duration::from_millis(1)).await;
        }
    }

    /// Waits for another validator's block with `digest`, for at most `wait_max`.
    async fn received_block(&self, digest: Digest, wait_max: Duration) -> Option<civitas_types::Block> {
        let start = self.context.current();
        loop {
            if let Some(block) = self.received.take(&digest) {
                return Some(block);
            }
            if elapsed(&self.context, start) > wait_max {
                return None;
            }
            // Woken when a block arrives; the sleep bounds a missed wake-up.
            let arrived = self.received.arrived.notified();
            let tick = self.context.sleep(Duration::from_millis(5));
            first_of(arrived, tick).await;
        }
    }

    /// Checks another validator's proposal: it names `parent`, arrives, and re-executes to the
    /// roots in its header. Keeps the executed block for the commit.
    async fn check(&self, epoch: Epoch, parent: Digest, payload: Digest) -> bool {
        let Some(block) = self.received_block(payload, self.empty_block_interval * 2).await else {
            tracing::warn!(?payload, "proposal's block never arrived");
            return false;
        };
        if digest_of(block.header.parent_hash) != parent || digest_of(block.header.hash()) != payload {
            tracing::warn!(?payload, "proposal's block does not match its digest or parent");
            return false;
        }
        // Verifying on an uncommitted parent is as sound as on a committed one.
        let Some(pending) = self.parent_ready(parent).await else {
            return false;
        };
        if !self.rule.allows(self.app.as_ref(), epoch) {
            tracing::info!(?payload, "refused a proposal past the end of its epoch");
            return false;
        }
        let verified =
            if pending.is_empty() { self.app.verify(block) } else { self.app.verify_on(&borrowed(&pending), block) };
        match verified {
            Ok(executed) => {
                self.keep(payload, executed);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "refused another validator's block");
                false
            }
        }
    }

    fn keep(&self, digest: Digest, executed: Executed) {
        let mut proposals = self.proposals.lock().expect("not poisoned: holders do not panic");
        if proposals.len() >= PROPOSALS_MAX {
            // The lowest goes: a block on an uncommitted parent needs the parent more than a
            // stale fork needs anything.
            let lowest = proposals.iter().min_by_key(|(_, e)| e.block.header.height).map(|(d, _)| *d);
            if let Some(lowest) = lowest {
                proposals.remove(&lowest);
            }
        }
        proposals.insert(digest, Arc::new(executed));
    }

    /// Builds the proposal on `parent`, without waiting for its finalization (pipelining):
    /// on the latest committed block, or on the certified blocks up to `parent` that this node
    /// holds executed ([`pending_to`]). Waits for transactions (at most the empty-block
    /// interval), then executes them on the state `parent` leaves.
    async fn build(&self, epoch: Epoch, parent: Digest) -> Option<(Digest, Executed)> {
        let clock = &self.context;
        let start = clock.current();
        if self.parent_ready(parent).await.is_none() {
            tracing::warn!("proposal abandoned: parent is neither finalized nor held");
            return None;
        }
        if !self.rule.allows(self.app.as_ref(), epoch) {
            tracing::info!("no proposal: the parent ends this epoch");
            return None;
        }
        clock.sleep(self.block_interval).await;
        // The block after genesis is proposed at once, even empty: until it is finalized there
        // is no certificate, so no proof of anything can be served.
        let after_genesis = self.app.latest().height == 0;
        let pending = loop {
            // Read afresh each time: the parent and its ancestors may be committed meanwhile.
            let Some(pending) = self.parent_ready(parent).await else {
                tracing::warn!("proposal abandoned: parent is neither finalized nor held");
                return None;
            };
            let waited = elapsed(clock, start) >= self.empty_block_interval;
            if after_genesis || waited || self.app.has_pending(&borrowed(&pending)) {
                break pending;
            }
            clock.sleep(Duration::from_millis(2)).await;
        };
        if !pending.is_empty() {
            tracing::debug!(pending = pending.len(), "building on certified blocks not yet finalized");
        }
        let now_ms = clock.current().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        match self.app.propose_on(&borrowed(&pending), now_ms) {
            Ok(executed) => Some((digest_of(executed.block.header.hash()), executed)),
            Err(e) => {
                tracing::error!(error = %e, "building a proposal failed");
                None
            }
        }
    }
}

impl<A, E, S> Automaton for Adapter<A, E, S>
where
    A: Application,
    E: Spawner + Clock + Send + Sync + 'static,
    S: Clone + Send + Sync + 'static,
{
    type Context = Context<Digest, ed25519::PublicKey>;
    type Digest = Digest;

    async fn propose(&mut self, context: Self::Context) -> oneshot::Receiver<Digest> {
        let (sender, receiver) = oneshot::channel();
        let this = self.clone();
        let (epoch, parent) = (context.round.epoch(), context.parent.1);
        // Building executes a block: hint the runtime that the task holds its thread.
        self.context.child("propose").shared(true).spawn(move |_| async move {
            if let Some((digest, executed)) = this.build(epoch, parent).await {
                this.keep(digest, executed);
                let _ = sender.send(digest);
            }
        });
        receiver
    }

    async fn verify(&mut self, context: Self::Context, payload: Digest) -> oneshot::Receiver<bool> {
        let (sender, receiver) = oneshot::channel();
        if self.proposals.lock().expect("not poisoned: holders do not panic").contains_key(&payload) {
            let _ = sender.send(true);
            return receiver;
        }
        let this = self.clone();
        let (epoch, parent) = (context.round.epoch(), context.parent.1);
        // Verifying executes a block: hint the runtime that the task holds its thread.
        self.context.child("verify").shared(true).spawn(move |_| async move {
            let _ = sender.send(this.check(epoch, parent, payload).await);
        });
        receiver
    }
}

impl<A, E, S> CertifiableAutomaton for Adapter<A, E, S>
where
    A: Application,
    E: Spawner + Clock + Send + Sync + 'static,
    S: Clone + Send + Sync + 'static,
{
}

impl<A, E, S> Relay for Adapter<A, E, S>
where
    A: Application,
    E: Supervisor + Send + 'static,
    S: Sender<PublicKey = ed25519::PublicKey>,
{
    type Digest = Digest;
    type PublicKey = ed25519::PublicKey;
    type Plan = Plan<ed25519::PublicKey>;

    fn broadcast(&mut self, payload: Digest, plan: Self::Plan) -> Feedback {
        // simplex orders digests; the validators that vote need the block behind one.
        let bytes = match self.proposals.lock().expect("not poisoned: holders do not panic").get(&payload) {
            Some(executed) => civitas_types::codec::Encode::encode(&executed.block),
            None => return Feedback::Ok,
        };
        if bytes.len() > network::P2P_MESSAGE_BYTES_MAX as usize {
            // Sending it would overflow the p2p limit; the others will time the view out.
            tracing::error!(bytes = bytes.len(), "block too large to relay; lower block_bytes_max");
            return Feedback::Ok;
        }
        let recipients = match plan {
            Plan::Forward { recipients, .. } => recipients,
            _ => Recipients::All,
        };
        Sender::send(&mut self.blocks, recipients, bytes, true);
        Feedback::Ok
    }
}

/// Receives the blocks other validators relay, bounded in size, for `verify` to find.
async fn receive_blocks<R: Receiver<PublicKey = ed25519::PublicKey>>(mut blocks: R, received: Arc<Received>) {
    use civitas_types::codec::Decode as _;
    while let Ok((from, bytes)) = blocks.recv().await {
        if bytes.len() > civitas_types::limits::BLOCK_BYTES_MAX {
            tracing::warn!(?from, "oversized block message dropped");
            continue;
        }
        match civitas_types::Block::decode(bytes.as_ref()) {
            Ok(block) => received.insert(digest_of(block.header.hash()), block),
            Err(e) => tracing::warn!(?from, error = %e, "malformed block message dropped"),
        }
    }
}

/// Waits for whichever of two futures finishes first.
async fn first_of(a: impl std::future::Future<Output = ()>, b: impl std::future::Future<Output = ()>) {
    tokio::select! {
        _ = a => {}
        _ = b => {}
    }
}

impl<A: Application, E: Supervisor + Send + 'static, S: Clone + Send + 'static> Reporter for Adapter<A, E, S> {
    type Activity = Activity<Scheme, Digest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        match &activity {
            Activity::ConflictingNotarize(c) => {
                tracing::warn!(signer = %c.signer(), "a validator signed two conflicting notarize votes; blocked");
            }
            Activity::ConflictingFinalize(c) => {
                tracing::warn!(signer = %c.signer(), "a validator signed two conflicting finalize votes; blocked");
            }
            Activity::NullifyFinalize(c) => {
                tracing::warn!(signer = %c.signer(), "a validator signed both nullify and finalize in one view; blocked");
            }
            Activity::Notarization(n) => {
                // Wall time, for the log only: nothing decided reads it.
                let mut notarized = self.notarized.lock().expect("not poisoned: holders do not panic");
                if notarized.len() == NOTARIZED_KEPT {
                    notarized.pop_front();
                }
                notarized.push_back((n.proposal.round.view().get(), std::time::Instant::now()));
            }
            Activity::Nullification(n) => {
                tracing::info!(view = n.round.view().get(), "view nullified: no block notarized in time");
            }
            Activity::Finalization(f) => {
                let view = f.proposal.round.view().get();
                let notarized = self.notarized.lock().expect("not poisoned: holders do not panic");
                if let Some((_, at)) = notarized.iter().find(|(v, _)| *v == view) {
                    let after = at.elapsed();
                    if after >= LATE_FINALIZATION {
                        let ms = after.as_millis() as u64;
                        tracing::info!(view, ms, "finalization came late after the notarization");
                    }
                }
            }
            _ => {}
        }
        if let Activity::Finalization(finalization) = activity {
            // Committing fsyncs: hand it to the committer task rather than stall the engine.
            let certificate = finalization.encode().to_vec();
            return match self.finalized.try_send(sync::ToCommit::Finalized(finalization.proposal.payload, certificate))
            {
                Ok(()) => Feedback::Ok,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // Cannot happen while the committer keeps up (a proposal builds on at most
                    // PROPOSALS_MAX uncommitted blocks); if it did, the next finalization would
                    // find its ancestor missing and catch up.
                    tracing::error!("finalization queue full; dropping a finalization");
                    Feedback::Backoff
                }
                Err(mpsc::error::TrySendError::Closed(_)) => Feedback::Closed,
            };
        }
        Feedback::Ok
    }
}

/// Longest the committer waits for a finalized block that this node is still receiving or
/// verifying (the other validators' votes can finalize a block before a slow one has checked it).
const HELD_WAIT_MAX: Duration = Duration::from_secs(1);

/// The executed block behind a finalized `digest`: one this node verified, or is verifying, or
/// received and can verify now on its parent (committed, or held executed). `None` if it does
/// not arrive in [`HELD_WAIT_MAX`], or at once if `wait` is false.
async fn held<A: Application>(
    clock: &impl Clock,
    app: &A,
    proposals: &Proposals,
    received: &Received,
    digest: Digest,
    wait: bool,
) -> Option<Arc<Executed>> {
    let start = clock.current();
    loop {
        if let Some(executed) = proposals.lock().expect("not poisoned: holders do not panic").get(&digest) {
            return Some(executed.clone());
        }
        if let Some(block) = received.take(&digest) {
            let pending = pending_to(app, proposals, digest_of(block.header.parent_hash), true)?;
            // simplex checked the finalization; the block must still execute to its header.
            return match app.verify_on(&borrowed(&pending), block) {
                Ok(executed) => Some(Arc::new(executed)),
                Err(e) => {
                    tracing::error!(error = %e, "a finalized block does not execute to its header");
                    None
                }
            };
        }
        if !wait || elapsed(clock, start) > HELD_WAIT_MAX {
            return None;
        }
        clock.sleep(Duration::from_millis(2)).await;
    }
}

/// Commits finalized blocks in order, from simplex or fetched from peers. A finalized block
/// this node does not get hold of, or that does not extend its chain, means it is behind: the
/// fetcher is woken. Returns on a commit failure (fatal) or when the engine is gone.
async fn committer<A: Application>(
    clock: impl Clock,
    app: Arc<A>,
    proposals: Proposals,
    received: Arc<Received>,
    behind: Arc<sync::Behind>,
    mut finalized: mpsc::Receiver<sync::ToCommit>,
) -> Result<(), NodeError> {
    // The latest blocks committed here, newest last: a block committed through a descendant
    // whose own finalization comes after (a proposal does not wait for its parent's), is
    // passed over rather than looked for.
    let mut committed_recently: std::collections::VecDeque<Digest> = std::collections::VecDeque::new();
    while let Some(item) = finalized.recv().await {
        let live = matches!(item, sync::ToCommit::Finalized(..));
        let (executed, certificate): (Arc<Executed>, Vec<u8>) = match item {
            sync::ToCommit::Finalized(digest, _) if committed_recently.contains(&digest) => continue,
            sync::ToCommit::Finalized(digest, certificate) => {
                // Catching up, finalizations of blocks we lack come faster than we could wait
                // for each: skip them, the fetcher brings the blocks.
                let wait = !behind.is_set();
                let executed = held(&clock, app.as_ref(), &proposals, &received, digest, wait).await;
                match executed {
                    Some(executed) => (executed, certificate),
                    None => {
                        tracing::info!(?digest, "finalized a block this node does not hold; catching up");
                        behind.set();
                        continue;
                    }
                }
            }
            sync::ToCommit::Fetched(executed, certificate) => (Arc::from(executed), certificate),
        };
        // The blocks between our latest and this one, which its finalization finalizes too.
        let parent = digest_of(executed.block.header.parent_hash);
        let Some(pending) = pending_to(app.as_ref(), &proposals, parent, true) else {
            tracing::info!(
                height = executed.block.header.height,
                "finalized block does not extend our chain; catching up"
            );
            behind.set();
            continue;
        };
        for (i, ancestor) in pending.iter().enumerate() {
            let headers = pending[i + 1..].iter().chain([&executed]).map(|e| e.block.header.clone()).collect();
            let record = civitas_types::FinalizedThrough { headers, certificate: certificate.clone() };
            let committed = app.finalized(ancestor, &record.encode())?;
            tracing::info!(height = committed.height, "committed a block finalized through a descendant");
        }
        let committed = app.finalized(&executed, &certificate)?;
        for block in pending.iter().chain([&executed]) {
            if committed_recently.len() == PROPOSALS_MAX {
                committed_recently.pop_front();
            }
            committed_recently.push_back(digest_of(block.block.header.hash()));
        }
        if live && !behind.is_set() {
            app.set_catching_up(false);
        }
        tracing::debug!(height = committed.height, "committed finalized block");
        proposals
            .lock()
            .expect("not poisoned: holders do not panic")
            .retain(|_, e| e.block.header.height > committed.height);
    }
    Ok(())
}

/// How a validator's engine runs, alone or in a committee.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where simplex keeps its journal (with the tokio runtime).
    pub journal_dir: PathBuf,
    /// Least time between blocks.
    pub block_interval: Duration,
    /// Longest wait for transactions before an empty block.
    pub empty_block_interval: Duration,
    /// Worker threads for the tokio runtime.
    pub worker_threads: usize,
}

/// One validator's four channels: votes, certificates, resolver (simplex's) and blocks (ours).
pub struct Channels<S, R> {
    /// Votes.
    pub votes: (S, R),
    /// Certificates.
    pub certificates: (S, R),
    /// Certificate fetches.
    pub resolver: (S, R),
    /// Full blocks behind proposals.
    pub blocks: (S, R),
    /// Catch-up requests and answers.
    pub sync: (S, R),
    /// Transactions relayed between validators.
    pub relay: (S, R),
}

/// How a validator follows the validator set on its p2p network: every set it runs with is
/// tracked (the p2p layer connects to, and accepts, the peers of its recent sets).
pub trait PeerSets: Send + 'static {
    /// Tracks `set` as peer set number `set.epoch`.
    fn track(&mut self, set: &ValidatorSet);
}

/// A network whose peers are fixed (a simulation, or a committee of one).
pub struct FixedPeers;

impl PeerSets for FixedPeers {
    fn track(&mut self, _set: &ValidatorSet) {}
}

/// What a validator runs across epochs: its blocks, their commits, catch-up and relay.
struct Services<A: Application, E, S> {
    adapter: Adapter<A, E, S>,
    behind: Arc<sync::Behind>,
    committer: Handle<Result<(), NodeError>>,
}

/// Starts what outlives an epoch: receiving blocks, serving and fetching catch-up, relaying
/// transactions (in a committee) and the committer.
fn start_services<A, E, S, R>(
    context: &E,
    app: Arc<A>,
    rule: EpochRule,
    cfg: &EngineConfig,
    (blocks_out, blocks_in): (S, R),
    (sync_out, sync_in): (S, R),
    relay: Option<(S, R)>,
) -> Services<A, E, S>
where
    A: Application,
    E: Spawner + Clock + Storage + Metrics + rand::CryptoRng + Send + Sync + 'static,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
{
    let (finalized_tx, finalized_rx) = mpsc::channel(FINALIZED_QUEUE_MAX);
    let proposals: Proposals = Arc::default();
    let received: Arc<Received> = Arc::default();
    let behind: Arc<sync::Behind> = Arc::default();
    if relay.is_some() {
        // In a committee a validator says it is catching up until it follows live consensus
        // (it commits a block simplex finalized) or catch-up finds no peer ahead: it may have
        // been down while they finalized blocks, and its state is what it was then.
        app.set_catching_up(true);
    }
    let responses: Arc<sync::Responses> = Arc::default();
    let adapter = Adapter {
        app: app.clone(),
        context: context.child("adapter"),
        rule,
        proposals: proposals.clone(),
        received: received.clone(),
        blocks: blocks_out,
        finalized: finalized_tx.clone(),
        block_interval: cfg.block_interval,
        empty_block_interval: cfg.empty_block_interval,
        notarized: Arc::default(),
    };
    let receiving = received.clone();
    context.child("blocks").spawn(move |_| receive_blocks(blocks_in, receiving));
    if let Some((relay_out, relay_in)) = relay {
        let relaying = app.clone();
        context.child("relay_out").spawn(move |ctx| relay::send(ctx, relaying, relay_out));
        let admitting = app.clone();
        // Admission verifies signatures: a thread of its own where the runtime has threads.
        context.child("relay_in").dedicated().spawn(move |_| relay::receive(admitting, relay_in));
    }
    let serving = app.clone();
    let fetching = app.clone();
    let answers = responses.clone();
    let answering = sync_out.clone();
    context.child("sync").spawn(move |_| sync::serve(serving, answering, sync_in, answers));
    let waker = behind.clone();
    context
        .child("catch_up")
        .shared(true)
        .spawn(move |ctx| sync::catch_up(ctx, fetching, sync_out, responses, waker, finalized_tx));
    // Commits fsync: give the committer its own thread where the runtime has threads.
    let held = received.clone();
    let lagging = behind.clone();
    let committer = context
        .child("committer")
        .dedicated()
        .spawn(move |ctx| committer(ctx, app, proposals, held, lagging, finalized_rx));
    Services { adapter, behind, committer }
}

/// Starts epoch `epoch`'s simplex engine, with `participants`, from the last committed block;
/// its journal is `partition`.
#[allow(clippy::too_many_arguments)]
fn start_engine<A, E, S, SV, RV, B>(
    context: E,
    adapter: Adapter<A, E, S>,
    key: ed25519::PrivateKey,
    participants: Set<ed25519::PublicKey>,
    epoch: Epoch,
    partition: String,
    cfg: &EngineConfig,
    (votes, certificates, resolver): ((SV, RV), (SV, RV), (SV, RV)),
    blocker: B,
) -> Result<Handle<()>, ConsensusError>
where
    A: Application,
    E: Spawner + Clock + Storage + Metrics + rand::CryptoRng + Send + Sync + 'static,
    S: Sender<PublicKey = ed25519::PublicKey>,
    SV: Sender<PublicKey = ed25519::PublicKey>,
    RV: Receiver<PublicKey = ed25519::PublicKey>,
    B: commonware_p2p::Blocker<PublicKey = ed25519::PublicKey>,
{
    let latest = adapter.app.latest();
    let scheme = Scheme::signer(NAMESPACE, participants, key)
        .ok_or_else(|| ConsensusError::Key("validator is not in the committee".into()))?;
    let engine = simplex::Engine::new(
        context,
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: adapter.clone(),
            relay: adapter.clone(),
            reporter: adapter,
            track_historical_votes: false,
            strategy: Sequential,
            partition,
            mailbox_size: NZUsize!(1024),
            epoch,
            floor: simplex::Floor::Genesis(digest_of(latest.block_hash)),
            replay_buffer: NZUsize!(1024 * 1024),
            write_buffer: NZUsize!(1024 * 1024),
            page_cache: CacheRef::new(NZU16!(16_384), NZUsize!(1_000)),
            leader_timeout: cfg.empty_block_interval * 3,
            certification_timeout: cfg.empty_block_interval * 4,
            timeout_retry: Duration::from_secs(10),
            view_retention: ViewDelta::new(16),
            skip: simplex::SkipPolicy::Disabled,
            fetch_timeout: commonware_utils::NZDuration!(Duration::from_secs(1)),
            fetch_retry_delay: Duration::from_millis(100),
            forward: simplex::ForwardPolicy::Disabled,
        },
    );
    Ok(engine.start(votes, certificates, resolver))
}

/// simplex's journal of `epoch` for validator `key` (per validator, so validators sharing a
/// simulated disk keep separate journals; epoch 0 keeps the name it had before epochs).
fn partition(key: &ed25519::PublicKey, epoch: u64) -> String {
    let key = hex::encode(key.as_ref());
    if epoch == 0 { format!("civitas-simplex-{key}") } else { format!("civitas-simplex-{key}-{epoch}") }
}

/// How often the epoch keeper looks at the committed validator set.
const EPOCH_POLL: Duration = Duration::from_millis(10);

/// Starts one validator of a committee over `app` on `context`'s runtime: the services that
/// outlive epochs, and an epoch keeper that runs simplex for the validator set in the latest
/// committed state. When a committed block changes the set, the keeper stops that epoch's
/// engine and starts the next one's from that block (if this validator is in the new set);
/// outside the set, the node keeps catching up from its peers. simplex's three channels are
/// multiplexed by epoch, so an engine only ever hears its own epoch. Returns the committer's
/// handle, which ends with an error only if a commit fails.
pub fn start_validator<A, E, S, R, B, P>(
    context: E,
    app: Arc<A>,
    key: ed25519::PrivateKey,
    cfg: &EngineConfig,
    channels: Channels<S, R>,
    blocker: B,
    peers: P,
) -> Result<Handle<Result<(), NodeError>>, ConsensusError>
where
    A: Application,
    E: Spawner + Clock + Storage + Metrics + rand::CryptoRng + Send + Sync + 'static,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
    B: commonware_p2p::Blocker<PublicKey = ed25519::PublicKey> + Clone,
    P: PeerSets,
{
    let Channels { votes, certificates, resolver, blocks, sync, relay } = channels;
    let services = start_services(&context, app, EpochRule::Network, cfg, blocks, sync, Some(relay));
    let cfg = cfg.clone();
    let Services { adapter, behind, committer } = services;
    context.child("epochs").spawn(move |ctx| async move {
        if let Err(e) =
            keep_epochs(ctx, adapter, behind, key, cfg, (votes, certificates, resolver), blocker, peers).await
        {
            tracing::error!(error = %e, "the epoch keeper stopped");
        }
    });
    Ok(committer)
}

/// Runs the engine of each epoch in turn; see [`start_validator`].
#[allow(clippy::too_many_arguments)]
async fn keep_epochs<A, E, S, R, B, P>(
    context: E,
    adapter: Adapter<A, E, S>,
    behind: Arc<sync::Behind>,
    key: ed25519::PrivateKey,
    cfg: EngineConfig,
    (votes, certificates, resolver): ((S, R), (S, R), (S, R)),
    blocker: B,
    mut peers: P,
) -> Result<(), ConsensusError>
where
    A: Application,
    E: Spawner + Clock + Storage + Metrics + rand::CryptoRng + Send + Sync + 'static,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
    B: commonware_p2p::Blocker<PublicKey = ed25519::PublicKey> + Clone,
    P: PeerSets,
{
    use commonware_p2p::utils::mux::Muxer;
    let (mux, mut votes) = Muxer::new(context.child("votes_mux"), votes.0, votes.1);
    mux.start();
    let (mux, mut certificates) = Muxer::new(context.child("certificates_mux"), certificates.0, certificates.1);
    mux.start();
    let (mux, mut resolver) = Muxer::new(context.child("resolver_mux"), resolver.0, resolver.1);
    mux.start();
    let me = key.public_key();
    let my_key = civitas_types::PublicKey(me.as_ref().try_into().map_err(|_| ConsensusError::Key("length".into()))?);
    // The epoch whose engine runs (if this validator is in its set), and the last set tracked.
    let mut running: Option<(u64, Handle<()>)> = None;
    let mut tracked: Option<u64> = None;
    let mut seen_height = None;
    let mut outside = None;
    loop {
        let height = adapter.app.latest().height;
        if seen_height == Some(height) {
            context.sleep(EPOCH_POLL).await;
            continue;
        }
        seen_height = Some(height);
        let set = adapter.app.validators()?;
        if tracked != Some(set.epoch) {
            peers.track(&set);
            tracked = Some(set.epoch);
        }
        if running.as_ref().map(|(epoch, _)| *epoch) == Some(set.epoch) {
            continue;
        }
        if let Some((epoch, engine)) = running.take() {
            engine.abort();
            tracing::info!(epoch, height, "epoch ended");
            if let Err(e) = context.remove(&partition(&me, epoch), None).await {
                tracing::warn!(epoch, error = %e, "removing the ended epoch's journal failed");
            }
        }
        if !set.contains(&my_key) {
            if outside != Some(set.epoch) {
                tracing::info!(epoch = set.epoch, height, "not in the validator set; following the chain");
                outside = Some(set.epoch);
            }
            // Nothing finalizes blocks to us from outside the set: fetch them from the peers.
            behind.set();
            seen_height = None;
            context.sleep(Duration::from_millis(200)).await;
            continue;
        }
        let participants = participants(&set)?;
        let channel = set.epoch;
        let (Ok(v), Ok(c), Ok(r)) =
            (votes.register(channel).await, certificates.register(channel).await, resolver.register(channel).await)
        else {
            return Err(ConsensusError::Thread("the p2p multiplexer stopped".into()));
        };
        let engine = start_engine(
            context.child("simplex").with_attribute("epoch", set.epoch),
            adapter.clone(),
            key.clone(),
            participants,
            Epoch::new(set.epoch),
            partition(&me, set.epoch),
            &cfg,
            (v, c, r),
            blocker.clone(),
        )?;
        tracing::info!(epoch = set.epoch, validators = set.validators.len(), height, "epoch started");
        running = Some((set.epoch, engine));
    }
}

/// Starts a committee-of-one simplex engine over `app` on `context`'s runtime, from the last
/// committed block in a new epoch (that block's height). It builds blocks only while the
/// validator set is this validator alone.
pub fn start_solo<A, E>(
    context: E,
    app: Arc<A>,
    key: ed25519::PrivateKey,
    cfg: &EngineConfig,
) -> Result<Handle<Result<(), NodeError>>, ConsensusError>
where
    A: Application,
    E: Spawner + Clock + Storage + Metrics + rand::CryptoRng + Send + Sync + 'static,
{
    let epoch = Epoch::new(app.latest().height);
    let me = key.public_key();
    let participants: Set<ed25519::PublicKey> =
        Set::try_from(vec![me.clone()]).map_err(|_| ConsensusError::Key("participants".into()))?;
    let my_key = civitas_types::PublicKey(me.as_ref().try_into().map_err(|_| ConsensusError::Key("length".into()))?);
    let channel = || (alone::NoPeerSender, alone::NoPeerReceiver);
    let Services { adapter, committer, .. } =
        start_services(&context, app, EpochRule::Solo(my_key), cfg, channel(), channel(), None);
    start_engine(
        context.child("simplex"),
        adapter,
        key,
        participants,
        epoch,
        partition(&me, 0),
        cfg,
        (channel(), channel(), channel()),
        alone::NoPeerBlocker::new(),
    )?;
    Ok(committer)
}

/// The commonware form of a validator's public key.
pub(crate) fn consensus_key(k: &civitas_types::PublicKey) -> Result<ed25519::PublicKey, ConsensusError> {
    ed25519::PublicKey::decode(k.0.to_vec()).map_err(|e| ConsensusError::Key(e.to_string()))
}

/// The commonware form of a validator set's keys.
pub(crate) fn participants(set: &ValidatorSet) -> Result<Set<ed25519::PublicKey>, ConsensusError> {
    let keys = set.validators.iter().map(|v| consensus_key(&v.key)).collect::<Result<Vec<_>, _>>()?;
    Set::try_from(keys).map_err(|_| ConsensusError::Key("duplicate validator keys".into()))
}

/// The commonware form of a validator's key.
pub(crate) fn signing_key(validator: &SecretKey) -> Result<ed25519::PrivateKey, ConsensusError> {
    ed25519::PrivateKey::decode(validator.seed().to_vec()).map_err(|e| ConsensusError::Key(e.to_string()))
}

/// How often the runner looks for damage found by the application's reads.
const DAMAGE_POLL: Duration = Duration::from_millis(200);

/// Runs `service` until it completes, or until the committer stops, or until `app` reports a
/// damaged store: it stops early only on a failed commit or damage, and then everything stops
/// with that error.
pub(crate) async fn serve_until<A: Application>(
    service: impl std::future::Future<Output = ()>,
    committer: Handle<Result<(), NodeError>>,
    app: &A,
) -> Result<(), ConsensusError> {
    let damaged = async {
        loop {
            if let Some(why) = app.damage() {
                return why;
            }
            tokio::time::sleep(DAMAGE_POLL).await;
        }
    };
    tokio::select! {
        _ = service => Ok(()),
        done = committer => match done {
            Ok(Ok(())) => Err(ConsensusError::Thread("the committer stopped".into())),
            Ok(Err(e)) => Err(ConsensusError::Commit(e)),
            Err(e) => Err(ConsensusError::Thread(format!("the committer failed: {e}"))),
        },
        why = damaged => Err(ConsensusError::Damaged(why)),
    }
}

/// Runs one validator's simplex engine over `app` until `service` completes, on the
/// commonware tokio runtime (which `service` shares: the API runs inside it).
///
/// A committee of one cannot equivocate to anyone, so each start wipes the journal and begins a
/// new epoch from the last committed block (the epoch number is that block's height). Blocks
/// finalized by simplex but not yet committed when the process died are lost with it, and
/// their transactions were never reported committed.
pub fn run_solo<A, F, Fut>(
    app: Arc<A>,
    validator: &SecretKey,
    cfg: EngineConfig,
    service: F,
) -> Result<(), ConsensusError>
where
    A: Application,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let key = signing_key(validator)?;
    if cfg.journal_dir.exists() {
        std::fs::remove_dir_all(&cfg.journal_dir)
            .map_err(|source| ConsensusError::Io { path: cfg.journal_dir.display().to_string(), source })?;
    }
    let runtime_cfg = commonware_runtime::tokio::Config::new()
        .with_storage_directory(cfg.journal_dir.clone())
        .with_worker_threads(cfg.worker_threads);
    let runner = commonware_runtime::tokio::Runner::new(runtime_cfg);
    runner.start(|context| async move {
        let committer = start_solo(context, app.clone(), key, &cfg)?;
        serve_until(service(), committer, app.as_ref()).await
    })
}

#[cfg(test)]
mod simulation;
#[cfg(test)]
mod tests;
