//! The consensus boundary. Consensus orders opaque blocks and never interprets instructions:
//! it asks the application to propose, to verify another validator's proposal, and tells it
//! what was finalized.

use std::time::{SystemTime, UNIX_EPOCH};

use civitas_state::Committed;
use civitas_types::{Block, SignedTransaction};

use crate::chain::Executed;
use crate::error::{BlockError, NodeError};

/// What a consensus engine asks of the application.
pub trait Application: Send + Sync + 'static {
    /// The latest finalized block.
    fn latest(&self) -> Committed;
    /// Whether transactions wait to be proposed in a block on `pending`
    /// ([`Application::propose_on`]): more than `pending` holds.
    fn has_pending(&self, pending: &[&Executed]) -> bool;
    /// Consensus says whether the node is catching up (fetching finalized blocks it missed).
    fn set_catching_up(&self, _on: bool) {}
    /// A peer announced that it holds finalized blocks up to `height`.
    fn saw_height(&self, _height: u64) {}
    /// Builds and executes the next block from waiting transactions (none is a valid, empty
    /// block): [`Application::propose_on`] the latest committed block.
    fn propose(&self, timestamp_ms: u64) -> Result<Executed, NodeError>;
    /// Checks another validator's proposal by executing it.
    fn verify(&self, block: Block) -> Result<Executed, BlockError>;
    /// Builds the next block on `pending`: blocks executed and not committed yet, in height
    /// order, the first on the latest committed block. Consensus asks for this once it
    /// certified `pending`'s last block, before its finalization: the chain goes on from it
    /// (pipelining), and a descendant's finalization finalizes them all. The block takes
    /// waiting transactions as the state after `pending` allows; those `pending` holds stay
    /// waiting until committed, for a fork may drop their block.
    fn propose_on(&self, pending: &[&Executed], timestamp_ms: u64) -> Result<Executed, NodeError>;
    /// Checks another validator's proposal on `pending` ([`Application::propose_on`]).
    fn verify_on(&self, pending: &[&Executed], block: Block) -> Result<Executed, BlockError>;
    /// The validator set that finalizes the next block (the one in the latest committed state).
    fn validators(&self) -> Result<civitas_types::validators::ValidatorSet, NodeError>;
    /// A committed block and the certificate that finalized it, for a peer catching up.
    fn committed_block(&self, height: u64) -> Result<Option<(Block, Vec<u8>)>, NodeError>;
    /// Transactions clients submitted here, to relay to the other validators so that whoever
    /// leads can propose them: the oldest first, about `max_bytes` of them (at least one if any
    /// wait). Each is handed out once. By default, none: the application does not relay.
    fn outbound(&self, max_bytes: usize) -> Vec<SignedTransaction> {
        let _ = max_bytes;
        Vec::new()
    }
    /// Transactions another validator relayed: checked and admitted like a client's (duplicates
    /// and committed ones are dropped), never relayed again. By default, dropped.
    fn inbound(&self, txs: Vec<SignedTransaction>) {
        drop(txs);
    }
    /// Makes a finalized block durable and visible, with `certificate`: the consensus engine's
    /// encoding of the finalization certificate, opaque to all but consensus and light clients.
    fn finalized(&self, executed: &Executed, certificate: &[u8]) -> Result<Committed, NodeError>;
    /// The damage a read found in the application's store, if any: the engine stops on it. By
    /// default, none.
    fn damage(&self) -> Option<String> {
        None
    }
}

/// Wall-clock milliseconds, for proposers only: execution takes time from the block.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
