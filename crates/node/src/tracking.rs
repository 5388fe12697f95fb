//! What the node knows of its own place in the chain, and of the transactions it let go.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use civitas_types::Hash;

/// Whether the node is catching up, and the highest finalized height it has heard of from its
/// peers. Consensus keeps it current; the API reports it and admission consults it. Only
/// consensus decides `catching_up`, from what it checked (finalizations of blocks this node
/// lacks); peers' announced heights are reported, not trusted: a lying peer cannot make a node
/// refuse transactions.
#[derive(Debug, Default)]
pub(crate) struct SyncState {
    catching_up: AtomicBool,
    highest_seen: AtomicU64,
}

impl SyncState {
    pub(crate) fn set_catching_up(&self, on: bool) {
        self.catching_up.store(on, Ordering::Relaxed);
    }

    pub(crate) fn saw_height(&self, height: u64) {
        self.highest_seen.fetch_max(height, Ordering::Relaxed);
    }

    /// The status at `height`, the node's latest committed block.
    pub(crate) fn status(&self, height: u64) -> SyncStatus {
        let highest_seen = self.highest_seen.load(Ordering::Relaxed).max(height);
        SyncStatus {
            catching_up: self.catching_up.load(Ordering::Relaxed),
            highest_seen,
            behind: highest_seen - height,
        }
    }
}

/// A node's place in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncStatus {
    /// Whether it is fetching finalized blocks it missed (reads of the newest state are stale
    /// until it is done, and it refuses new transactions).
    pub catching_up: bool,
    /// The highest finalized height it has seen: its own, or one a peer announced.
    pub highest_seen: u64,
    /// How many blocks it lacks to reach it.
    pub behind: u64,
}

/// A transaction the mempool let go without a block, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedTx {
    /// A stable code: `nonce_used` or `expired`.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

/// Most dropped transactions remembered; the oldest are forgotten first.
pub const DROPPED_MAX: usize = 65_536;

/// The transactions dropped lately, by hash.
#[derive(Debug, Default)]
pub(crate) struct DroppedLog {
    order: VecDeque<Hash>,
    by_hash: HashMap<Hash, DroppedTx>,
}

impl DroppedLog {
    pub(crate) fn record(&mut self, hash: Hash, dropped: DroppedTx) {
        if self.by_hash.insert(hash, dropped).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > DROPPED_MAX {
            if let Some(old) = self.order.pop_front() {
                self.by_hash.remove(&old);
            }
        }
    }

    /// Forgets `hash` (admitted again).
    pub(crate) fn forget(&mut self, hash: &Hash) {
        if self.by_hash.remove(hash).is_some() {
            self.order.retain(|h| h != hash);
        }
    }

    pub(crate) fn get(&self, hash: &Hash) -> Option<&DroppedTx> {
        self.by_hash.get(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_bounded_and_forgets_the_oldest_first() {
        let mut log = DroppedLog::default();
        let dropped = || DroppedTx { code: "expired", message: String::new() };
        let hash = |i: usize| Hash::digest(&i.to_be_bytes());
        for i in 0..DROPPED_MAX + 10 {
            log.record(hash(i), dropped());
        }
        assert!(log.get(&hash(0)).is_none() && log.get(&hash(9)).is_none());
        assert!(log.get(&hash(10)).is_some() && log.get(&hash(DROPPED_MAX + 9)).is_some());
        log.forget(&hash(10));
        assert!(log.get(&hash(10)).is_none());
    }

    #[test]
    fn only_consensus_says_catching_up_and_peers_heights_say_how_far() {
        let s = SyncState::default();
        assert_eq!(s.status(5), SyncStatus { catching_up: false, highest_seen: 5, behind: 0 });
        s.saw_height(9);
        assert_eq!(s.status(5), SyncStatus { catching_up: false, highest_seen: 9, behind: 4 });
        s.set_catching_up(true);
        assert!(s.status(5).catching_up);
        s.saw_height(7);
        assert_eq!(s.status(9), SyncStatus { catching_up: true, highest_seen: 9, behind: 0 });
    }
}
