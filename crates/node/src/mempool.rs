//! The mempool: verified transactions waiting for a block.
//!
//! Bounded in count, in bytes and per signer; de-duplicated by hash and by (signer, nonce).
//! Signatures are checked before a transaction gets here (a `VerifiedTransaction` can only be
//! made by checking). Blocks take transactions in arrival order, each signer's in nonce order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use civitas_types::{Hash, PublicKey, VerifiedTransaction};

/// The mempool's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub txs_max: usize,
    /// Most bytes of encoded transactions held.
    pub bytes_max: usize,
    /// Most transactions held per signer; also how far past its next nonce a signer may queue.
    pub per_signer_max: usize,
}

/// Most transactions one ready transaction may evict (a large one may need several places).
const EVICTIONS_MAX: usize = 8;
/// How many of the newest arrivals are looked at for a signer to evict from.
const EVICTION_SCAN: usize = 256;

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig { txs_max: 200_000, bytes_max: 128 * 1024 * 1024, per_signer_max: 256 }
    }
}

/// The state [`Mempool::select`]'s next nonces come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceBasis {
    /// Committed state: a transaction below its signer's next nonce can never run, and is
    /// dropped.
    Committed,
    /// The state after blocks that are not committed yet: a transaction below its signer's
    /// next nonce may be in one of them, and a fork can still drop that block, so the
    /// transaction stays (it is skipped). Committing prunes it ([`Mempool::prune`]).
    Uncommitted,
}

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// The same transaction is already waiting.
    #[error("transaction is already pending")]
    AlreadyPending,
    /// Another transaction from the signer already holds this nonce.
    #[error("another pending transaction from this signer has nonce {0}")]
    NonceTaken(u64),
    /// The mempool is full.
    #[error("mempool is full ({0} transactions or bytes at the limit); retry later")]
    Full(usize),
    /// The signer has too many transactions waiting.
    #[error("signer has {0} pending transactions, the most allowed")]
    SignerFull(usize),
}

impl AdmitError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AdmitError::AlreadyPending => "already_pending",
            AdmitError::NonceTaken(_) => "nonce_taken",
            AdmitError::Full(_) => "mempool_full",
            AdmitError::SignerFull(_) => "signer_full",
        }
    }
}

/// Why the mempool let a transaction go without a block: it can never run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Its signer's account has used its nonce (another transaction with it was committed).
    NonceUsed {
        /// The account's next nonce when it was dropped.
        next: u64,
    },
    /// The chain passed its `valid_until_height`.
    Expired {
        /// Its last valid height.
        valid_until_height: u64,
    },
    /// The mempool was full, and a transaction that can run next took its place (it was the
    /// last queued of a signer with several waiting): submit it again.
    Evicted,
}

impl DropReason {
    /// A stable, machine-readable code (the same as admission's refusal of such a transaction).
    pub fn code(&self) -> &'static str {
        match self {
            DropReason::NonceUsed { .. } => "nonce_used",
            DropReason::Expired { .. } => "expired",
            DropReason::Evicted => "evicted",
        }
    }

    /// For people.
    pub fn message(&self, nonce: u64) -> String {
        match self {
            DropReason::NonceUsed { next } => {
                format!("dropped: nonce {nonce} is already used; the signer's next nonce is {next}")
            }
            DropReason::Expired { valid_until_height } => {
                format!("dropped: the chain passed its last valid height {valid_until_height}")
            }
            DropReason::Evicted => format!(
                "dropped: the mempool was full and a transaction that could run next took the place of this one (nonce {nonce}); submit it again"
            ),
        }
    }
}

/// A transaction the mempool let go, and why.
pub type Dropped = (VerifiedTransaction, DropReason);

/// The waiting transactions.
#[derive(Debug, Default)]
pub struct Mempool {
    config: MempoolConfig,
    by_hash: HashMap<Hash, (u64, VerifiedTransaction)>,
    by_signer: HashMap<PublicKey, BTreeMap<u64, Hash>>,
    arrival: BTreeMap<u64, Hash>,
    /// By last valid height, so expired transactions are found without a scan.
    by_expiry: BTreeSet<(u64, Hash)>,
    next_seq: u64,
    bytes: usize,
}

impl Mempool {
    /// An empty mempool with `config`'s limits.
    pub fn new(config: MempoolConfig) -> Mempool {
        Mempool { config, ..Mempool::default() }
    }

    /// How many transactions wait.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether none wait.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Whether `hash` waits here.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The waiting transaction with `hash`, already verified.
    pub fn get(&self, hash: &Hash) -> Option<&VerifiedTransaction> {
        self.by_hash.get(hash).map(|(_, tx)| tx)
    }

    /// Admits `tx`, which is its signer's next nonce in committed state (`ready`, so a block
    /// can take it at once). When the mempool is full, a ready transaction takes the place of
    /// the last queued transaction of another signer with several waiting (never opening a
    /// gap in that signer's nonces): a pool full of later nonces must not keep out the ones
    /// that would let them run. Returns what it evicted.
    pub fn admit_ready(&mut self, tx: VerifiedTransaction, ready: bool) -> Result<Vec<Dropped>, AdmitError> {
        // What room cannot cure is refused before anything is evicted.
        self.refusal(&tx)?;
        let mut evicted = Vec::new();
        while ready && self.is_full_for(&tx) && evicted.len() < EVICTIONS_MAX {
            let Some(victim) = self.eviction_victim(&tx.tx().signer) else { break };
            evicted.extend(self.remove(&victim).map(|v| (v, DropReason::Evicted)));
        }
        match self.admit(tx) {
            Ok(()) => Ok(evicted),
            Err(e) => {
                // Not enough room could be made: put back what was evicted.
                for (v, _) in evicted {
                    let _ = self.admit(v);
                }
                Err(e)
            }
        }
    }

    /// Whether admitting `tx` would pass the count or byte limit.
    fn is_full_for(&self, tx: &VerifiedTransaction) -> bool {
        self.by_hash.len() >= self.config.txs_max || self.bytes + tx.encoded_len() > self.config.bytes_max
    }

    /// The newest arrival's signer, among the last [`EVICTION_SCAN`] arrivals, with at least two
    /// waiting and other than `keep`: that signer's highest-nonce transaction.
    fn eviction_victim(&self, keep: &PublicKey) -> Option<Hash> {
        self.arrival.values().rev().take(EVICTION_SCAN).find_map(|hash| {
            let signer = self.by_hash.get(hash)?.1.tx().signer;
            let queue = self.by_signer.get(&signer)?;
            (signer != *keep && queue.len() >= 2).then(|| queue.last_key_value().map(|(_, h)| *h))?
        })
    }

    /// Why `tx` cannot be admitted whatever the room: a duplicate, a nonce taken, its signer's
    /// queue full.
    fn refusal(&self, tx: &VerifiedTransaction) -> Result<(), AdmitError> {
        if self.by_hash.contains_key(&tx.hash()) {
            return Err(AdmitError::AlreadyPending);
        }
        let nonce = tx.tx().nonce;
        let queue = self.by_signer.get(&tx.tx().signer);
        if queue.is_some_and(|q| q.contains_key(&nonce)) {
            return Err(AdmitError::NonceTaken(nonce));
        }
        if queue.map_or(0, |q| q.len()) >= self.config.per_signer_max {
            return Err(AdmitError::SignerFull(self.config.per_signer_max));
        }
        Ok(())
    }

    /// Admits `tx`. Stateful checks (nonce not yet used, not expired) are the caller's.
    pub fn admit(&mut self, tx: VerifiedTransaction) -> Result<(), AdmitError> {
        self.refusal(&tx)?;
        let hash = tx.hash();
        let signer = tx.tx().signer;
        let nonce = tx.tx().nonce;
        if self.by_hash.len() >= self.config.txs_max {
            return Err(AdmitError::Full(self.config.txs_max));
        }
        if self.bytes + tx.encoded_len() > self.config.bytes_max {
            return Err(AdmitError::Full(self.config.bytes_max));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += tx.encoded_len();
        self.by_signer.entry(signer).or_default().insert(nonce, hash);
        self.arrival.insert(seq, hash);
        self.by_expiry.insert((tx.tx().valid_until_height, hash));
        self.by_hash.insert(hash, (seq, tx));
        Ok(())
    }

    /// Picks up to `max_txs` transactions and `max_bytes` for a block at `height`.
    ///
    /// `next_nonce` gives, for a signer's oldest waiting transaction, the signer's next nonce in
    /// the state of `basis` (`None`: a key with no account, which starts at 0). Transactions
    /// that can never run (expired, or on committed state a nonce already used) are dropped and
    /// returned with why; ones whose turn has not come (a nonce gap) stay.
    pub fn select(
        &mut self,
        height: u64,
        max_txs: usize,
        max_bytes: usize,
        basis: NonceBasis,
        mut next_nonce: impl FnMut(&civitas_types::Transaction) -> Option<u64>,
    ) -> (Vec<VerifiedTransaction>, Vec<Dropped>) {
        let mut expected: HashMap<PublicKey, u64> = HashMap::new();
        let mut taken: std::collections::HashSet<Hash> = std::collections::HashSet::new();
        let mut picked = Vec::new();
        let mut bytes = 0;
        let mut dead = Vec::new();
        'arrivals: for hash in self.arrival.values() {
            if picked.len() >= max_txs {
                break;
            }
            if taken.contains(hash) {
                continue;
            }
            let Some((_, tx)) = self.by_hash.get(hash) else { continue };
            let t = tx.tx();
            if t.valid_until_height < height {
                dead.push((*hash, DropReason::Expired { valid_until_height: t.valid_until_height }));
                continue;
            }
            let want = *expected.entry(t.signer).or_insert_with(|| next_nonce(t).unwrap_or(0));
            if t.nonce < want {
                if basis == NonceBasis::Committed {
                    dead.push((*hash, DropReason::NonceUsed { next: want }));
                }
                continue;
            }
            if t.nonce > want {
                continue;
            }
            // This signer's turn: take its queue from `want` on while the nonces run on.
            let queue = self.by_signer.get(&t.signer).into_iter().flat_map(|q| q.range(want..));
            let mut next = want;
            for (&nonce, h) in queue {
                let Some((_, qtx)) = self.by_hash.get(h) else { continue };
                if nonce != next
                    || qtx.tx().valid_until_height < height
                    || picked.len() >= max_txs
                    || bytes + qtx.encoded_len() > max_bytes
                {
                    break;
                }
                bytes += qtx.encoded_len();
                taken.insert(*h);
                picked.push(qtx.clone());
                next += 1;
            }
            expected.insert(t.signer, next);
            if next == want {
                // Not even the first fitted: the block is full by bytes.
                break 'arrivals;
            }
        }
        let dropped = dead.into_iter().filter_map(|(hash, why)| Some((self.remove(&hash)?, why))).collect();
        (picked, dropped)
    }

    /// Drops what can never run after a block at `height - 1` was committed: transactions
    /// that expire before `height`, and those below their signer's next nonce among the
    /// signers of that block (`block_nonces`: each signer's highest nonce in it), whose nonces
    /// moved. Only a signer whose oldest waiting nonce is at most its highest in the block can
    /// have one used by another transaction, so only those are looked up (`next_nonce` gives
    /// the signer's next nonce for its transaction; `None`: unknown, kept): in the usual
    /// stream, none.
    pub fn prune(
        &mut self,
        height: u64,
        block_nonces: &BTreeMap<PublicKey, u64>,
        mut next_nonce: impl FnMut(&civitas_types::Transaction) -> Option<u64>,
    ) -> Vec<Dropped> {
        let mut dead = Vec::new();
        for (valid_until_height, hash) in self.by_expiry.range(..(height, Hash([0; 32]))) {
            dead.push((*hash, DropReason::Expired { valid_until_height: *valid_until_height }));
        }
        for (signer, highest) in block_nonces {
            let Some(queue) = self.by_signer.get(signer) else { continue };
            let Some((oldest_nonce, oldest)) = queue.first_key_value() else { continue };
            if oldest_nonce > highest {
                continue;
            }
            let Some((_, tx)) = self.by_hash.get(oldest) else { continue };
            let Some(next) = next_nonce(tx.tx()) else { continue };
            dead.extend(queue.range(..next).map(|(_, h)| (*h, DropReason::NonceUsed { next })));
        }
        dead.into_iter().filter_map(|(hash, why)| Some((self.remove(&hash)?, why))).collect()
    }

    /// Removes transactions that made it into a block.
    pub fn remove_committed<'a>(&mut self, hashes: impl IntoIterator<Item = &'a Hash>) {
        for hash in hashes {
            let _ = self.remove(hash);
        }
    }

    fn remove(&mut self, hash: &Hash) -> Option<VerifiedTransaction> {
        let (seq, tx) = self.by_hash.remove(hash)?;
        self.arrival.remove(&seq);
        self.by_expiry.remove(&(tx.tx().valid_until_height, *hash));
        self.bytes -= tx.encoded_len();
        let signer = tx.tx().signer;
        if let Some(q) = self.by_signer.get_mut(&signer) {
            q.remove(&tx.tx().nonce);
            if q.is_empty() {
                self.by_signer.remove(&signer);
            }
        }
        Some(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_types::AccountInstruction;
    use civitas_types::{Did, Instruction, SecretKey, Transaction};

    fn tx(signer: u8, nonce: u64, valid_until_height: u64) -> VerifiedTransaction {
        let key = SecretKey::from_seed([signer; 32]);
        let t = Transaction {
            chain_id: "c".into(),
            signer: key.public_key(),
            nonce,
            valid_until_height,
            instructions: vec![Instruction::Accounts(AccountInstruction::Transfer {
                to: Did::from_initial_key(&key.public_key()),
                amount: 1,
            })],
        };
        VerifiedTransaction::check(t.sign(&key), "c").expect("valid")
    }

    #[test]
    fn limits_and_duplicates_are_enforced() {
        let mut m = Mempool::new(MempoolConfig { txs_max: 3, bytes_max: usize::MAX, per_signer_max: 2 });
        m.admit(tx(1, 0, 9)).expect("admit");
        assert_eq!(m.admit(tx(1, 0, 9)), Err(AdmitError::AlreadyPending));
        assert_eq!(m.admit(tx(1, 0, 8)), Err(AdmitError::NonceTaken(0)));
        m.admit(tx(1, 1, 9)).expect("admit");
        assert_eq!(m.admit(tx(1, 2, 9)), Err(AdmitError::SignerFull(2)));
        m.admit(tx(2, 0, 9)).expect("admit");
        assert_eq!(m.admit(tx(3, 0, 9)), Err(AdmitError::Full(3)));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn a_full_pool_of_later_nonces_makes_room_for_a_transaction_that_can_run_next() {
        let mut m = Mempool::new(MempoolConfig { txs_max: 4, bytes_max: 1 << 20, per_signer_max: 8 });
        // Signers 1 and 2 queued nonces 1 and 2, but their nonce 0 never got in: nothing runs.
        for (signer, nonce) in [(1, 1), (1, 2), (2, 1), (2, 2)] {
            m.admit(tx(signer, nonce, 9)).expect("room");
        }
        let (picked, _) = m.select(1, 10, 1 << 20, NonceBasis::Committed, |_| Some(0));
        assert!(picked.is_empty());
        // A later nonce is still refused when full; a next nonce takes the newest tail's place.
        assert_eq!(m.admit_ready(tx(3, 1, 9), false), Err(AdmitError::Full(4)));
        let evicted = m.admit_ready(tx(1, 0, 9), true).expect("a ready transaction gets in");
        assert_eq!(evicted.len(), 1);
        let (victim, why) = &evicted[0];
        assert_eq!((victim.tx().signer, victim.tx().nonce, why.code()), (tx(2, 2, 9).tx().signer, 2, "evicted"));
        // Signer 1's run is whole now: a block takes all of it.
        let (picked, _) = m.select(1, 10, 1 << 20, NonceBasis::Committed, |_| Some(0));
        let nonces: Vec<(u8, u64)> =
            picked.iter().map(|t| (u8::from(t.tx().signer == tx(2, 0, 9).tx().signer) + 1, t.tx().nonce)).collect();
        assert_eq!(nonces, vec![(1, 0), (1, 1), (1, 2)]);
        // A signer with one waiting is never a victim: its only transaction may be its next.
        let mut m = Mempool::new(MempoolConfig { txs_max: 2, bytes_max: 1 << 20, per_signer_max: 8 });
        m.admit(tx(1, 0, 9)).expect("room");
        m.admit(tx(2, 0, 9)).expect("room");
        assert_eq!(m.admit_ready(tx(3, 0, 9), true), Err(AdmitError::Full(2)));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn selection_follows_nonces_and_drops_the_dead() {
        let mut m = Mempool::new(MempoolConfig::default());
        for t in [tx(1, 1, 9), tx(1, 0, 9), tx(1, 3, 9), tx(2, 0, 1), tx(3, 0, 9)] {
            m.admit(t).expect("admit");
        }
        // Signer 3's nonce 0 is already used in state; signer 2's tx expires before height 5.
        let (picked, dropped) = m.select(5, 10, usize::MAX, NonceBasis::Committed, |t| {
            Some(if t.signer == SecretKey::from_seed([3; 32]).public_key() { 1 } else { 0 })
        });
        let mut why: Vec<&str> = dropped.iter().map(|(_, r)| r.code()).collect();
        why.sort_unstable();
        assert_eq!(why, ["expired", "nonce_used"]);
        let got: Vec<(u8, u64)> = picked.iter().map(|t| (t.tx().signer.0[0], t.tx().nonce)).collect();
        let s1 = SecretKey::from_seed([1; 32]).public_key().0[0];
        // Nonce 1 arrived first but waits for 0; then 0 and 1 go together; 3 waits for 2.
        assert_eq!(got, vec![(s1, 0), (s1, 1)]);
        assert_eq!(m.len(), 3, "the expired and the used transaction are gone");
        m.remove_committed(picked.iter().map(|t| t.hash()).collect::<Vec<_>>().iter());
        assert!(m.select(5, 10, usize::MAX, NonceBasis::Committed, |_| Some(2)).0.is_empty(), "nonce 3 waits for 2");
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn selection_on_uncommitted_blocks_skips_what_they_hold_and_keeps_it() {
        let mut m = Mempool::new(MempoolConfig::default());
        for t in [tx(1, 0, 9), tx(1, 1, 9), tx(1, 2, 9), tx(2, 0, 1)] {
            m.admit(t).expect("admit");
        }
        // A block not yet committed took signer 1's nonces 0 and 1: the next block takes 2.
        let (picked, dropped) = m.select(5, 10, usize::MAX, NonceBasis::Uncommitted, |_| Some(2));
        let got: Vec<u64> = picked.iter().map(|t| t.tx().nonce).collect();
        assert_eq!(got, vec![2]);
        let why: Vec<&str> = dropped.iter().map(|(_, r)| r.code()).collect();
        assert_eq!(why, ["expired"], "only what expired goes");
        // Should that block be dropped by a fork, nonces 0 and 1 are still here for another.
        let (picked, _) = m.select(5, 10, usize::MAX, NonceBasis::Committed, |_| Some(0));
        let got: Vec<u64> = picked.iter().map(|t| t.tx().nonce).collect();
        assert_eq!(got, vec![0, 1, 2]);
    }

    #[test]
    fn pruning_after_a_block_drops_used_nonces_and_the_expired_with_why() {
        let mut m = Mempool::new(MempoolConfig::default());
        for t in [tx(1, 0, 9), tx(1, 1, 9), tx(1, 2, 9), tx(2, 0, 3), tx(3, 0, 9)] {
            m.admit(t).expect("admit");
        }
        let s1 = SecretKey::from_seed([1; 32]).public_key();
        let s3 = SecretKey::from_seed([3; 32]).public_key();
        // Another node's block used signer 1's nonces 0 and 1; the next block is height 4.
        let dropped = m.prune(4, &BTreeMap::from([(s1, 1)]), |_| Some(2));
        let mut got: Vec<(u8, u64, &str)> =
            dropped.iter().map(|(t, r)| (t.tx().signer.0[0], t.tx().nonce, r.code())).collect();
        got.sort_unstable();
        let s2 = SecretKey::from_seed([2; 32]).public_key().0[0];
        let mut want = vec![(s1.0[0], 0, "nonce_used"), (s1.0[0], 1, "nonce_used"), (s2, 0, "expired")];
        want.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(m.len(), 2, "signer 1's nonce 2 and signer 3 (not in the block) stay");
        assert!(m.prune(4, &BTreeMap::from([(s3, 0)]), |_| None).is_empty(), "an unknown next nonce keeps it");
        assert!(m.prune(4, &BTreeMap::from([(s1, 1)]), |_| Some(9)).is_empty(), "signer 1 waits at nonce 2, after 1");
    }
}
