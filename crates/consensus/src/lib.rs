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

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use civitas_node::consensus::Application;
use civitas_node::{Executed, NodeError};
use civitas_types::{Hash, SecretKey};
use commonware_actor::Feedback;
use commonware_codec::{DecodeExt, Encode as _};
use commonware_consensus::simplex::types::{Activity, Context};
use commonware_consensus::simplex::{self, Plan, elector::RoundRobin, scheme::ed25519::Scheme};
use commonware_consensus::types::{Epoch, ViewDelta};
use commonware_consensus::{Automaton, CertifiableAutomaton, Relay, Reporter};
use commonware_cryptography::sha256::Digest;
use commonware_cryptography::{Sha256, Signer as _, ed25519};
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
}

fn digest_of(hash: Hash) -> Digest {
    Digest::from(hash.0)
}

/// Blocks proposed (or verified) and not yet finalized, by digest.
type Proposals = Arc<Mutex<BTreeMap<Digest, Executed>>>;

/// Most finalizations waiting for the committer. The engine finalizes at most one block per
/// view and a view's proposal waits for its parent's commit, so a handful is the most seen.
const FINALIZED_QUEUE_MAX: usize = 1024;

/// simplex's view of the application, on the runtime `E` (tokio in production, commonware's
/// deterministic runtime in simulation): it waits and spawns only through `E`.
pub struct Adapter<A: Application, E> {
    app: Arc<A>,
    context: E,
    proposals: Proposals,
    finalized: mpsc::Sender<(Digest, Vec<u8>)>,
    block_interval: Duration,
    empty_block_interval: Duration,
}

impl<A: Application, E: Supervisor> Clone for Adapter<A, E> {
    fn clone(&self) -> Self {
        Adapter {
            app: self.app.clone(),
            context: self.context.child("adapter"),
            proposals: self.proposals.clone(),
            finalized: self.finalized.clone(),
            block_interval: self.block_interval,
            empty_block_interval: self.empty_block_interval,
        }
    }
}

fn elapsed(clock: &impl Clock, since: SystemTime) -> Duration {
    clock.current().duration_since(since).unwrap_or_default()
}

impl<A: Application, E: Clock> Adapter<A, E> {
    /// Builds the proposal on `parent` once it is our latest finalized block: waits for
    /// transactions (at most the empty-block interval), then executes them.
    async fn build(&self, parent: Digest) -> Option<(Digest, Executed)> {
        let clock = &self.context;
        let start = clock.current();
        // The parent must be committed before we build on it: our state is the committed state.
        while digest_of(self.app.latest().block_hash) != parent {
            if elapsed(clock, start) > self.empty_block_interval * 2 {
                tracing::warn!("proposal abandoned: parent is not our latest finalized block");
                return None;
            }
            clock.sleep(Duration::from_millis(1)).await;
        }
        clock.sleep(self.block_interval).await;
        while !self.app.has_pending() && elapsed(clock, start) < self.empty_block_interval {
            clock.sleep(Duration::from_millis(2)).await;
        }
        let now_ms = clock.current().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        match self.app.propose(now_ms) {
            Ok(executed) => Some((digest_of(executed.block.header.hash()), executed)),
            Err(e) => {
                tracing::error!(error = %e, "building a proposal failed");
                None
            }
        }
    }
}

impl<A, E> Automaton for Adapter<A, E>
where
    A: Application,
    E: Spawner + Clock + Send + Sync + 'static,
{
    type Context = Context<Digest, ed25519::PublicKey>;
    type Digest = Digest;

    async fn propose(&mut self, context: Self::Context) -> oneshot::Receiver<Digest> {
        let (sender, receiver) = oneshot::channel();
        let this = self.clone();
        let parent = context.parent.1;
        // Building executes a block: hint the runtime that the task holds its thread.
        self.context.child("propose").shared(true).spawn(move |_| async move {
            if let Some((digest, executed)) = this.build(parent).await {
                let mut proposals = this.proposals.lock().expect("not poisoned: holders do not panic");
                if proposals.len() >= PROPOSALS_MAX {
                    proposals.pop_first();
                }
                proposals.insert(digest, executed);
                drop(proposals);
                let _ = sender.send(digest);
            }
        });
        receiver
    }

    async fn verify(&mut self, _context: Self::Context, payload: Digest) -> oneshot::Receiver<bool> {
        // With a committee of one, every proposal is ours; a block we did not build is not one
        // we can vouch for. (Blocks from other validators arrive with the multi-validator
        // network, through `Application::verify`.)
        let (sender, receiver) = oneshot::channel();
        let known = self.proposals.lock().expect("not poisoned: holders do not panic").contains_key(&payload);
        let _ = sender.send(known);
        receiver
    }
}

impl<A, E> CertifiableAutomaton for Adapter<A, E>
where
    A: Application,
    E: Spawner + Clock + Send + Sync + 'static,
{
}

impl<A: Application, E: Supervisor + Send + 'static> Relay for Adapter<A, E> {
    type Digest = Digest;
    type PublicKey = ed25519::PublicKey;
    type Plan = Plan<ed25519::PublicKey>;

    fn broadcast(&mut self, _payload: Digest, _plan: Self::Plan) -> Feedback {
        // No other validator to send the block to.
        Feedback::Ok
    }
}

impl<A: Application, E: Supervisor + Send + 'static> Reporter for Adapter<A, E> {
    type Activity = Activity<Scheme, Digest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        if let Activity::Finalization(finalization) = activity {
            // Committing fsyncs: hand it to the committer task rather than stall the engine.
            let certificate = finalization.encode().to_vec();
            return match self.finalized.try_send((finalization.proposal.payload, certificate)) {
                Ok(()) => Feedback::Ok,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // Cannot happen while proposals wait for their parent's commit; if it did,
                    // the next proposal would wait on the missing commit and the view would time out.
                    tracing::error!("finalization queue full; dropping a finalization");
                    Feedback::Backoff
                }
                Err(mpsc::error::TrySendError::Closed(_)) => Feedback::Closed,
            };
        }
        Feedback::Ok
    }
}

/// Commits finalized blocks in order. Returns on a commit failure (fatal) or when the engine
/// is gone.
async fn committer<A: Application>(
    app: Arc<A>,
    proposals: Proposals,
    mut finalized: mpsc::Receiver<(Digest, Vec<u8>)>,
) -> Result<(), NodeError> {
    while let Some((digest, certificate)) = finalized.recv().await {
        let executed = proposals.lock().expect("not poisoned: holders do not panic").remove(&digest);
        let Some(executed) = executed else {
            tracing::warn!(?digest, "finalized a block this node does not hold");
            continue;
        };
        if digest_of(executed.block.header.parent_hash) != digest_of(app.latest().block_hash) {
            tracing::warn!(height = executed.block.header.height, "finalized block does not extend our chain");
            continue;
        }
        let committed = app.finalized(executed, &certificate)?;
        tracing::debug!(height = committed.height, "committed finalized block");
        proposals
            .lock()
            .expect("not poisoned: holders do not panic")
            .retain(|_, e| e.block.header.height > committed.height);
    }
    Ok(())
}

/// How the solo engine runs.
#[derive(Debug, Clone)]
pub struct SoloConfig {
    /// Where simplex keeps its journal (with the tokio runtime).
    pub journal_dir: PathBuf,
    /// Least time between blocks.
    pub block_interval: Duration,
    /// Longest wait for transactions before an empty block.
    pub empty_block_interval: Duration,
    /// Worker threads for the tokio runtime.
    pub worker_threads: usize,
}

/// Starts a committee-of-one simplex engine over `app` on `context`'s runtime, from the last
/// committed block in a new epoch (that block's height). Returns the committer's handle,
/// which ends with an error only if a commit fails.
pub fn start_solo<A, E>(
    context: E,
    app: Arc<A>,
    key: ed25519::PrivateKey,
    cfg: &SoloConfig,
) -> Result<Handle<Result<(), NodeError>>, ConsensusError>
where
    A: Application,
    E: Spawner + Clock + Storage + Metrics + rand::CryptoRng + Send + Sync + 'static,
{
    let latest = app.latest();
    let participants: Set<ed25519::PublicKey> =
        Set::try_from(vec![key.public_key()]).map_err(|_| ConsensusError::Key("participants".into()))?;
    let scheme = Scheme::signer(NAMESPACE, participants, key)
        .ok_or_else(|| ConsensusError::Key("validator is not in the committee".into()))?;
    let (finalized_tx, finalized_rx) = mpsc::channel(FINALIZED_QUEUE_MAX);
    let proposals: Proposals = Arc::default();
    let adapter = Adapter {
        app: app.clone(),
        context: context.child("adapter"),
        proposals: proposals.clone(),
        finalized: finalized_tx,
        block_interval: cfg.block_interval,
        empty_block_interval: cfg.empty_block_interval,
    };
    // Commits fsync: give the committer its own thread where the runtime has threads.
    let committer = context.child("committer").dedicated().spawn(move |_| committer(app, proposals, finalized_rx));
    let channel = || (alone::NoPeerSender, alone::NoPeerReceiver);
    let engine = simplex::Engine::new(
        context.child("simplex"),
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker: alone::NoPeerBlocker::new(),
            automaton: adapter.clone(),
            relay: adapter.clone(),
            reporter: adapter,
            track_historical_votes: false,
            strategy: Sequential,
            partition: "civitas-simplex".into(),
            mailbox_size: NZUsize!(1024),
            epoch: Epoch::new(latest.height),
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
    engine.start(channel(), channel(), channel());
    Ok(committer)
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
    cfg: SoloConfig,
    service: F,
) -> Result<(), ConsensusError>
where
    A: Application,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let key = ed25519::PrivateKey::decode(validator.seed().to_vec()).map_err(|e| ConsensusError::Key(e.to_string()))?;
    if cfg.journal_dir.exists() {
        std::fs::remove_dir_all(&cfg.journal_dir)
            .map_err(|source| ConsensusError::Io { path: cfg.journal_dir.display().to_string(), source })?;
    }
    let runtime_cfg = commonware_runtime::tokio::Config::new()
        .with_storage_directory(cfg.journal_dir.clone())
        .with_worker_threads(cfg.worker_threads);
    let runner = commonware_runtime::tokio::Runner::new(runtime_cfg);
    runner.start(|context| async move {
        let committer = start_solo(context, app, key, &cfg)?;
        // The committer only stops early on a failed commit: then stop everything.
        tokio::select! {
            _ = service() => Ok(()),
            done = committer => match done {
                Ok(Ok(())) => Err(ConsensusError::Thread("the committer stopped".into())),
                Ok(Err(e)) => Err(ConsensusError::Commit(e)),
                Err(e) => Err(ConsensusError::Thread(format!("the committer failed: {e}"))),
            },
        }
    })
}

#[cfg(test)]
mod tests;
