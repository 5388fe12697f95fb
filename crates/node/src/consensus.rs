//! The consensus boundary. Consensus orders opaque blocks and never interprets instructions:
//! it asks the application to propose, to verify another validator's proposal, and tells it
//! what was finalized.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use civitas_state::Committed;
use civitas_types::Block;
use tokio::sync::watch;

use crate::chain::Executed;
use crate::error::{BlockError, NodeError};

/// What a consensus engine asks of the application.
pub trait Application: Send + Sync + 'static {
    /// Builds and executes the next block from waiting transactions; `None` when there are none.
    fn propose(&self, timestamp_ms: u64) -> Result<Option<Executed>, NodeError>;
    /// Checks another validator's proposal by executing it.
    fn verify(&self, block: Block) -> Result<Executed, BlockError>;
    /// Makes a finalized block durable and visible.
    fn finalized(&self, executed: Executed) -> Result<Committed, NodeError>;
}

/// Wall-clock milliseconds, for proposers only: execution takes time from the block.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The single-validator engine: every `interval`, propose a block if transactions wait and
/// finalize it at once (one validator is its own quorum). Returns when `shutdown` turns true,
/// or with the error that makes going on unsafe (a store failure).
pub async fn run_solo<A: Application>(
    app: Arc<A>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
    commits: watch::Sender<u64>,
) -> Result<(), NodeError> {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return Ok(());
        }
        let app = app.clone();
        let step = tokio::task::spawn_blocking(move || -> Result<Option<Committed>, NodeError> {
            match app.propose(now_ms())? {
                None => Ok(None),
                Some(executed) => Ok(Some(app.finalized(executed)?)),
            }
        })
        .await
        .expect("the block step does not panic");
        if let Some(committed) = step? {
            tracing::debug!(height = committed.height, "finalized block");
            commits.send_replace(committed.height);
        }
    }
}
