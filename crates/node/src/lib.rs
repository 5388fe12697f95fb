//! Civitas node assembly: the chain on disk, the mempool, block production and the read
//! views the API serves. This is the one place (with the API and the CLI) that knows tokio.
//!
//! The consensus boundary is [`consensus::Application`]: propose, verify, finalized. The
//! `civitas-consensus` crate drives it with the commonware simplex engine.

pub mod chain;
pub mod consensus;
pub mod demo;
pub mod dev;
mod error;
pub mod genesis;
pub mod mempool;
mod tracking;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use civitas_execution::Failure;
use civitas_execution::accounts::{self, Account};
use civitas_state::Store;
use civitas_types::validators::{VALIDATORS_KEY, ValidatorSet};
use civitas_types::{
    Block, BlockHeader, Did, Hash, PublicKey, SecretKey, SignedTransaction, TxReceipt, VerifiedTransaction,
};

pub use chain::{Chain, Executed};
pub use civitas_execution::audit::query::PAGE_MAX as AUDIT_PAGE_MAX;
pub use civitas_execution::credentials::Verification as ConsentedVerification;
pub use civitas_state::{Committed, History, STORE_FORMAT, StoreError, disk_bytes};
pub use error::{BlockError, NodeError, SubmitError};

/// What an operator does about a node whose store is damaged (at open or met by a read).
pub const DAMAGED_STORE_ADVICE: &str = "Restore its data directory from a backup, or move it aside and start the node again to fetch the chain from the other validators";
pub use genesis::Genesis;
pub use mempool::{AdmitError, DropReason, Mempool, MempoolConfig, NonceBasis};
pub use tracking::{DROPPED_MAX, DroppedTx, SyncStatus};

/// How the node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeConfig {
    /// Least time between a block and the next proposal, so transactions can gather.
    pub block_interval_ms: u64,
    /// Longest a proposer waits for transactions before proposing an empty block (which keeps
    /// block time moving and shows the chain is live).
    pub empty_block_interval_ms: u64,
    /// Most transactions in one block.
    pub block_txs_max: usize,
    /// Most bytes of transactions in one block.
    pub block_bytes_max: usize,
    /// The mempool's limits.
    pub mempool: MempoolConfig,
    /// Whether transactions clients submit here are queued for the other validators (see
    /// [`consensus::Application::outbound`]). Off for a validator alone.
    pub relay_transactions: bool,
    /// How much of the state tree's history the store keeps (ARCHITECTURE.md, "Pruning").
    pub state_history: History,
}

/// Heights before the latest whose state stays provable by default: a day of blocks at one a
/// second (`state_history` in a node's configuration changes it, or keeps every height).
pub const STATE_HISTORY_DEFAULT: u64 = 100_000;

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            block_interval_ms: 50,
            empty_block_interval_ms: 2_000,
            block_txs_max: 20_000,
            block_bytes_max: 16 * 1024 * 1024,
            mempool: MempoolConfig::default(),
            relay_transactions: false,
            state_history: History::Window(STATE_HISTORY_DEFAULT),
        }
    }
}

/// Where a transaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    /// Waiting in the mempool.
    Pending,
    /// In a block, with its outcome.
    Committed {
        /// The block's height.
        height: u64,
        /// Its index in the block.
        index: u32,
        /// Its receipt.
        receipt: TxReceipt,
    },
    /// Let go without a block: it can never run (see [`DroppedTx`]).
    Dropped(DroppedTx),
    /// Neither pending, committed nor dropped lately here.
    Unknown,
}

/// A change of validator set, as a light client walks it from genesis: the block that
/// committed the change, finalized by the outgoing set, and the new set proven in its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorChange {
    /// The boundary block.
    pub header: civitas_types::BlockHeader,
    /// Its finalization certificate (by the outgoing set).
    pub certificate: Vec<u8>,
    /// The new set, encoded, as it is in the boundary block's state.
    pub set: Vec<u8>,
    /// The proof of `set` at [`civitas_types::validators::VALIDATORS_KEY`] against the header's
    /// state root.
    pub proof: Vec<u8>,
}

/// Everything a light client needs to check one state key at one finalized height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateProof {
    /// The block whose state is proven.
    pub header: civitas_types::BlockHeader,
    /// The consensus certificate that finalized it.
    pub certificate: Vec<u8>,
    /// The validator-set changes between genesis and this block, oldest first.
    pub validator_changes: Vec<ValidatorChange>,
    /// The key.
    pub key: Vec<u8>,
    /// Its value, or `None`: proven absent.
    pub value: Option<Vec<u8>>,
    /// The proof against `header.state_root`.
    pub proof: Vec<u8>,
}

/// Everything a light client needs to check that a transaction is in a finalized block, with
/// its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxProof {
    /// The block holding it.
    pub header: civitas_types::BlockHeader,
    /// The consensus certificate that finalized the block.
    pub certificate: Vec<u8>,
    /// The validator-set changes between genesis and this block, oldest first.
    pub validator_changes: Vec<ValidatorChange>,
    /// Its receipt.
    pub receipt: TxReceipt,
    /// Path from its leaf to `tx_root`.
    pub tx_path: Vec<(bool, Hash)>,
    /// Path from its receipt's leaf to `results_root`.
    pub receipt_path: Vec<(bool, Hash)>,
}

/// Which version of a DID to resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DidVersion {
    /// The latest.
    Latest,
    /// The one with this `versionId`.
    Id(u64),
    /// The one in effect at this time (ms since the Unix epoch): after the last block at or
    /// before it.
    Time(u64),
}

/// A DID resolved from chain state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDid {
    /// The account key (`#key-0`) at that version.
    pub account_key: PublicKey,
    /// The document's settable part at that version.
    pub document: civitas_types::did_doc::DidDocumentData,
    /// Its metadata at that version.
    pub meta: civitas_execution::dids::DidMeta,
    /// The next version and the time it took effect, if this is not the latest.
    pub next: Option<(u64, u64)>,
}

/// A summary of the node's view of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The chain's id.
    pub chain_id: String,
    /// The latest committed block.
    pub latest: Committed,
    /// Transactions waiting.
    pub mempool_txs: usize,
    /// This node's validator key; `None` on a full node.
    pub validator: Option<PublicKey>,
    /// Whether it is catching up, and how far.
    pub sync: SyncStatus,
}

/// Where the node's time goes, summed since start. Read by `civitas bench` and logs.
#[derive(Debug, Default)]
pub struct NodeMetrics {
    /// Nanoseconds spent checking and admitting transactions, from clients and relayed.
    pub submit_ns: AtomicU64,
    /// Transactions checked for admission, from clients and relayed (admitted or not).
    pub submit_txs: AtomicU64,
    /// Nanoseconds spent selecting and executing transactions and hashing the state tree.
    pub build_ns: AtomicU64,
    /// Nanoseconds spent checking other validators' proposals (execution included).
    pub verify_ns: AtomicU64,
    /// Nanoseconds spent writing blocks to disk (fsync included).
    pub commit_ns: AtomicU64,
    /// Blocks committed.
    pub blocks: AtomicU64,
    /// Transactions in committed blocks.
    pub block_txs: AtomicU64,
    /// Transactions handed to the relay for the other validators.
    pub relayed_out: AtomicU64,
    /// Transactions not relayed because the relay queue was full (they wait here for this
    /// node's turn to propose).
    pub relay_dropped: AtomicU64,
    /// Transactions other validators relayed here.
    pub relayed_in: AtomicU64,
    /// Signatures in peers' blocks not checked again because the transaction was already
    /// verified here.
    pub verify_reused: AtomicU64,
}

/// Most transactions queued for relaying.
pub const RELAY_TXS_MAX: usize = 100_000;
/// Most bytes of transactions queued for relaying.
pub const RELAY_BYTES_MAX: usize = 32 * 1024 * 1024;

/// Transactions admitted from clients, waiting to be relayed to the other validators.
#[derive(Default)]
struct Relay {
    queue: std::collections::VecDeque<VerifiedTransaction>,
    bytes: usize,
}

fn add_elapsed(counter: &AtomicU64, since: Instant) {
    let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
    counter.fetch_add(ns, Ordering::Relaxed);
}

/// A block step (building, verifying, committing) longer than this is logged: a validator
/// whose steps stall delays its votes, and every block waits for a quorum of votes.
const SLOW_STEP: std::time::Duration = std::time::Duration::from_millis(500);

/// [`add_elapsed`], and an info line naming the step and height when it took [`SLOW_STEP`] or
/// longer.
fn add_step(counter: &AtomicU64, since: Instant, step: &'static str, height: u64, txs: usize) {
    add_elapsed(counter, since);
    let took = since.elapsed();
    if took >= SLOW_STEP {
        tracing::info!(step, height, txs, ms = took.as_millis() as u64, "slow block step");
    }
}

/// A running node's shared core: the API reads it, the producer extends it.
pub struct Node {
    chain: Chain,
    mempool: Mutex<Mempool>,
    relay: Mutex<Relay>,
    config: NodeConfig,
    validator: Option<SecretKey>,
    metrics: NodeMetrics,
    sync: tracking::SyncState,
    dropped: Mutex<tracking::DroppedLog>,
    /// The newest committed blocks' headers, newest last (the explorer's dashboard and chart).
    recent: Mutex<std::collections::VecDeque<BlockHeader>>,
    /// The latest committed height, for those who wait for the next block (`/v1/events`).
    height: tokio::sync::watch::Sender<u64>,
}

/// Most headers [`Node::recent_headers`] keeps in memory (about 1.5 MB).
pub const RECENT_HEADERS_MAX: usize = 8_192;
/// Headers read back from the store when a node opens (enough for the dashboard's list; the
/// chart fills as blocks come).
const RECENT_HEADERS_AT_OPEN: u64 = 32;

impl Node {
    /// Opens a validator's chain in `data_dir/chain`.
    pub fn open(
        data_dir: &Path,
        genesis: Genesis,
        validator: SecretKey,
        config: NodeConfig,
    ) -> Result<Node, NodeError> {
        Node::open_with(data_dir, genesis, Some(validator), config)
    }

    /// Opens a full node's chain in `data_dir/chain`: it checks and applies finalized blocks
    /// and serves them, but proposes and votes on none.
    pub fn open_full(data_dir: &Path, genesis: Genesis, config: NodeConfig) -> Result<Node, NodeError> {
        Node::open_with(data_dir, genesis, None, config)
    }

    fn open_with(
        data_dir: &Path,
        genesis: Genesis,
        validator: Option<SecretKey>,
        config: NodeConfig,
    ) -> Result<Node, NodeError> {
        let dir = data_dir.join("chain");
        std::fs::create_dir_all(&dir).map_err(|source| NodeError::Io { path: dir.display().to_string(), source })?;
        let chain = Chain::open(&dir, genesis, config.state_history)?;
        let top = chain.latest().height;
        let mut recent = std::collections::VecDeque::new();
        for h in top.saturating_sub(RECENT_HEADERS_AT_OPEN - 1).max(1)..=top {
            if let Some(header) = chain.store().header(h)? {
                recent.push_back(header);
            }
        }
        Ok(Node {
            recent: Mutex::new(recent),
            height: tokio::sync::watch::Sender::new(top),
            chain,
            mempool: Mutex::new(Mempool::new(config.mempool)),
            relay: Mutex::default(),
            config,
            validator,
            metrics: NodeMetrics::default(),
            sync: tracking::SyncState::default(),
            dropped: Mutex::default(),
        })
    }

    /// The headers of up to `limit` newest committed blocks (at most [`RECENT_HEADERS_MAX`]),
    /// newest first, from memory.
    pub fn recent_headers(&self, limit: usize) -> Vec<BlockHeader> {
        let recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        recent.iter().rev().take(limit).cloned().collect()
    }

    /// The header of the committed block at `height`, without its transactions.
    pub fn header(&self, height: u64) -> Result<Option<BlockHeader>, NodeError> {
        Ok(self.chain.store().header(height)?)
    }

    /// A receiver of the latest committed height: it changes with each committed block.
    pub fn watch_height(&self) -> tokio::sync::watch::Receiver<u64> {
        self.height.subscribe()
    }

    /// The chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Where the node's time has gone.
    pub fn metrics(&self) -> &NodeMetrics {
        &self.metrics
    }

    /// This node's validator key; `None` on a full node.
    pub fn validator_key(&self) -> Option<&SecretKey> {
        self.validator.as_ref()
    }

    /// The node's configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    fn mempool(&self) -> std::sync::MutexGuard<'_, Mempool> {
        self.mempool.lock().expect("mempool lock is never poisoned: holders do not panic")
    }

    /// Checks and admits transactions, verifying their signatures as one batch, and queues the
    /// admitted ones for the other validators if the node relays. While the node is catching
    /// up it refuses them all (`syncing`): its state is too old to check them against.
    /// CPU-bound: call it off the async runtime.
    pub fn submit(&self, txs: Vec<SignedTransaction>) -> Vec<Result<Hash, SubmitError>> {
        let start = Instant::now();
        self.metrics.submit_txs.fetch_add(txs.len() as u64, Ordering::Relaxed);
        let sync = self.sync_status();
        if sync.catching_up {
            let height = self.chain.latest().height;
            let refuse = || SubmitError::Syncing { height, highest_seen: sync.highest_seen };
            return txs.iter().map(|_| Err(refuse())).collect();
        }
        let (results, admitted) = self.submit_inner(txs, self.config.relay_transactions);
        if !admitted.is_empty() {
            self.queue_relay(admitted);
        }
        add_elapsed(&self.metrics.submit_ns, start);
        results
    }

    fn queue_relay(&self, admitted: Vec<VerifiedTransaction>) {
        let mut relay = self.relay.lock().expect("relay lock is never poisoned: holders do not panic");
        let mut dropped = 0u64;
        let queued = admitted.len() as u64;
        for tx in admitted {
            if relay.queue.len() >= RELAY_TXS_MAX || relay.bytes + tx.encoded_len() > RELAY_BYTES_MAX {
                dropped += 1;
                continue;
            }
            relay.bytes += tx.encoded_len();
            relay.queue.push_back(tx);
        }
        self.metrics.relayed_out.fetch_add(queued - dropped, Ordering::Relaxed);
        self.metrics.relay_dropped.fetch_add(dropped, Ordering::Relaxed);
    }

    /// Admits what passes the checks; with `keep`, also returns the admitted transactions.
    fn submit_inner(
        &self,
        txs: Vec<SignedTransaction>,
        keep: bool,
    ) -> (Vec<Result<Hash, SubmitError>>, Vec<VerifiedTransaction>) {
        let chain_id = self.chain.genesis().chain_id.clone();
        let checked = VerifiedTransaction::check_many(txs, &chain_id);
        let next_height = self.chain.latest().height + 1;
        let prechecked: Vec<Result<(VerifiedTransaction, bool), SubmitError>> = checked
            .into_iter()
            .map(|r| {
                let tx = r?;
                let next = self.stateful_checks(&tx, next_height)?;
                let ready = tx.tx().nonce == next;
                Ok((tx, ready))
            })
            .collect();
        let mut admitted = Vec::new();
        let mut evicted = Vec::new();
        let mut mempool = self.mempool();
        let results = prechecked
            .into_iter()
            .map(|r| {
                let (tx, ready) = r?;
                let hash = tx.hash();
                let copy = keep.then(|| tx.clone());
                evicted.extend(mempool.admit_ready(tx, ready)?);
                admitted.extend(copy);
                Ok(hash)
            })
            .collect::<Vec<_>>();
        drop(mempool);
        self.record_dropped(evicted);
        let readmitted: Vec<&Hash> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        if !readmitted.is_empty() {
            let mut dropped = self.dropped_log();
            readmitted.into_iter().for_each(|h| dropped.forget(h));
        }
        (results, admitted)
    }

    /// The checks against committed state; the signer's next nonce.
    fn stateful_checks(&self, vtx: &VerifiedTransaction, next_height: u64) -> Result<u64, SubmitError> {
        let internal = |e: civitas_state::StoreError| SubmitError::Internal(e.to_string());
        let tx = vtx.tx();
        if tx.valid_until_height < next_height {
            return Err(SubmitError::Expired { valid_until_height: tx.valid_until_height, next_height });
        }
        let store = self.chain.store();
        let acting = match civitas_execution::acting(store, tx) {
            Ok(acting) => acting,
            Err(Failure::Store(e)) => return Err(internal(e)),
            Err(Failure::Tx(_)) => return Err(SubmitError::UnknownSigner),
        };
        if acting.account.is_some() {
            match civitas_execution::dids::check_active(store, &acting.did) {
                Ok(()) => {}
                Err(Failure::Store(e)) => return Err(internal(e)),
                Err(Failure::Tx(_)) => return Err(SubmitError::Deactivated(acting.did)),
            }
        }
        let next = acting.nonce;
        if tx.nonce < next {
            // Only a used nonce can be this very transaction, committed: look it up then (one
            // read less for every transaction that passes).
            if let Some(loc) = store.tx_location(&vtx.hash()).map_err(internal)? {
                return Err(SubmitError::AlreadyCommitted(loc.height));
            }
            return Err(SubmitError::NonceUsed { next, found: tx.nonce });
        }
        if tx.nonce - next >= self.config.mempool.per_signer_max as u64 {
            return Err(SubmitError::NonceTooFar { next, found: tx.nonce });
        }
        Ok(next)
    }

    /// Where the transaction with `hash` stands.
    pub fn tx_status(&self, hash: &Hash) -> Result<TxStatus, NodeError> {
        let committed = || -> Result<Option<TxStatus>, NodeError> {
            Ok(self.chain.store().tx_location(hash)?.map(|loc| TxStatus::Committed {
                height: loc.height,
                index: loc.index,
                receipt: loc.receipt,
            }))
        };
        if let Some(status) = committed()? {
            return Ok(status);
        }
        if self.mempool().contains(hash) {
            return Ok(TxStatus::Pending);
        }
        if let Some(d) = self.dropped_log().get(hash) {
            return Ok(TxStatus::Dropped(d.clone()));
        }
        // A block may have committed it between the store's answer and the mempool's (a commit
        // writes the store, then takes its transactions out of the mempool): ask the store again
        // before calling it unknown.
        Ok(committed()?.unwrap_or(TxStatus::Unknown))
    }

    /// The finalization certificate of the block at `height` (none for genesis).
    pub fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, NodeError> {
        Ok(self.chain.store().certificate(height)?)
    }

    /// The block at `height` with its receipts.
    pub fn block(&self, height: u64) -> Result<Option<(Block, Vec<TxReceipt>)>, NodeError> {
        let store = self.chain.store();
        let Some(block) = store.block(height)? else { return Ok(None) };
        let receipts = store.receipts(height)?.unwrap_or_default();
        Ok(Some((block, receipts)))
    }

    /// The account with `did` in the latest state.
    pub fn account(&self, did: &Did) -> Result<Option<Account>, NodeError> {
        Ok(accounts::query::account(self.chain.store(), did)?)
    }

    /// The node's view of the chain.
    pub fn status(&self) -> Status {
        let latest = self.chain.latest();
        Status {
            chain_id: self.chain.genesis().chain_id.clone(),
            sync: self.sync.status(latest.height),
            latest,
            mempool_txs: self.mempool().len(),
            validator: self.validator.as_ref().map(SecretKey::public_key),
        }
    }

    /// Whether the node is catching up, and how far it is behind the highest finalized height
    /// it has seen.
    pub fn sync_status(&self) -> SyncStatus {
        self.sync.status(self.chain.latest().height)
    }

    /// Marks the node as catching up (or done). Consensus calls it; a validator starts caught
    /// up only once it has asked its peers.
    pub fn set_catching_up(&self, on: bool) {
        self.sync.set_catching_up(on);
    }

    /// Notes a finalized height a peer has (or announced).
    pub fn saw_height(&self, height: u64) {
        self.sync.saw_height(height);
    }

    fn dropped_log(&self) -> std::sync::MutexGuard<'_, tracking::DroppedLog> {
        self.dropped.lock().expect("dropped-log lock is never poisoned: holders do not panic")
    }

    fn record_dropped(&self, dropped: Vec<mempool::Dropped>) {
        if dropped.is_empty() {
            return;
        }
        let mut log = self.dropped_log();
        for (tx, why) in dropped {
            tracing::debug!(hash = %tx.hash(), code = why.code(), "dropped a transaction");
            log.record(tx.hash(), DroppedTx { code: why.code(), message: why.message(tx.tx().nonce) });
        }
    }

    /// Proves the value (or absence) of `key` in the latest finalized state; `None` before the
    /// first block after genesis is finalized (genesis has no certificate).
    pub fn prove(&self, key: &[u8]) -> Result<Option<StateProof>, NodeError> {
        Ok(self.prove_keys(&[key])?.and_then(|mut proofs| proofs.pop()))
    }

    /// Proves several keys against the same finalized block (the block and its certificate
    /// are read once); `None` before the first block after genesis is finalized.
    pub fn prove_keys(&self, keys: &[&[u8]]) -> Result<Option<Vec<StateProof>>, NodeError> {
        let store = self.chain.store();
        let height = self.chain.latest().height;
        let (Some(block), Some(certificate)) = (store.block(height)?, store.certificate(height)?) else {
            return Ok(None);
        };
        let mut proofs = Vec::with_capacity(keys.len());
        let changes = self.validator_changes(height)?;
        for key in keys {
            let (value, proof) = store.prove(key, height)?;
            proofs.push(StateProof {
                header: block.header.clone(),
                certificate: certificate.clone(),
                validator_changes: changes.clone(),
                key: key.to_vec(),
                value,
                proof,
            });
        }
        Ok(Some(proofs))
    }

    /// Proves a committed transaction's inclusion and receipt; `None` if it is not committed.
    pub fn prove_tx(&self, hash: &Hash) -> Result<Option<TxProof>, NodeError> {
        use civitas_types::codec::Encode as _;
        use civitas_types::merkle;
        let store = self.chain.store();
        let Some(loc) = store.tx_location(hash)? else { return Ok(None) };
        let (Some(block), Some(receipts), Some(certificate)) =
            (store.block(loc.height)?, store.receipts(loc.height)?, store.certificate(loc.height)?)
        else {
            return Ok(None);
        };
        let index = loc.index as usize;
        let tx_leaves: Vec<Hash> = receipts.iter().map(|r| merkle::leaf(&r.tx_hash.0)).collect();
        let receipt_leaves: Vec<Hash> = receipts.iter().map(|r| merkle::leaf(&r.encode())).collect();
        let corrupt = || civitas_state::StoreError::Corrupt(format!("tx index points past block {}", loc.height));
        let tx_path = merkle::proof(&tx_leaves, index).ok_or_else(corrupt)?;
        let receipt_path = merkle::proof(&receipt_leaves, index).ok_or_else(corrupt)?;
        let validator_changes = self.validator_changes(loc.height)?;
        Ok(Some(TxProof {
            header: block.header,
            certificate,
            validator_changes,
            receipt: loc.receipt,
            tx_path,
            receipt_path,
        }))
    }

    /// The validator set that finalizes the next block: the one in the latest state (the
    /// genesis set on a chain whose genesis predates sets in state).
    pub fn validators(&self) -> Result<ValidatorSet, NodeError> {
        self.validators_after(self.chain.latest().height)
    }

    /// The validator set in the state after block `height`: the one that finalizes `height + 1`.
    pub fn validators_after(&self, height: u64) -> Result<ValidatorSet, NodeError> {
        match civitas_execution::council::query::validators(&self.chain.store().at(height))? {
            Some(set) => Ok(set),
            None => Ok(self.chain.genesis().validator_set()?),
        }
    }

    /// The validator-set changes a light client walks from genesis to trust block `height`:
    /// every boundary before it, oldest first.
    pub fn validator_changes(&self, height: u64) -> Result<Vec<ValidatorChange>, NodeError> {
        let store = self.chain.store();
        let mut changes = Vec::new();
        let mut set = self.validators_after(height.saturating_sub(1))?;
        while let Some(boundary) = set.boundary() {
            let (Some(block), Some(certificate)) = (store.block(boundary)?, store.certificate(boundary)?) else {
                return Err(civitas_state::StoreError::Corrupt(format!("boundary block {boundary} is missing")).into());
            };
            let (value, proof) = store.prove(VALIDATORS_KEY, boundary)?;
            let Some(value) = value else {
                return Err(civitas_state::StoreError::Corrupt(format!("no validator set at {boundary}")).into());
            };
            changes.push(ValidatorChange { header: block.header, certificate, set: value, proof });
            set = self.validators_after(boundary.saturating_sub(1))?;
        }
        changes.reverse();
        Ok(changes)
    }

    /// Resolves `did` at `version` from committed state; `None` if it did not exist then (or
    /// has no such version).
    pub fn resolve_did(&self, did: &Did, version: DidVersion) -> Result<Option<ResolvedDid>, NodeError> {
        use civitas_execution::dids::query as dq;
        let store = self.chain.store();
        let latest = self.chain.latest().height;
        let height = match version {
            DidVersion::Latest => latest,
            DidVersion::Id(v) => match dq::version_height(store, did, v)? {
                Some(h) => h,
                None => return Ok(None),
            },
            DidVersion::Time(ms) => match self.height_at_time(ms, latest)? {
                Some(h) => h,
                None => return Ok(None),
            },
        };
        let view = store.at(height);
        let Some(account) = accounts::query::account(&view, did)? else { return Ok(None) };
        let meta = dq::meta(&view, did)?
            .unwrap_or(civitas_execution::dids::DidMeta::genesis(self.chain.genesis().genesis_time_ms));
        let next = match dq::version_height(store, did, meta.version + 1)? {
            Some(h) => Some((meta.version + 1, self.block_time(h)?.unwrap_or_default())),
            None => None,
        };
        Ok(Some(ResolvedDid { account_key: account.public_key, document: dq::document(&view, did)?, meta, next }))
    }

    /// The time of block `height`, from the state's tip record.
    fn block_time(&self, height: u64) -> Result<Option<u64>, NodeError> {
        Ok(civitas_execution::chain_tip(&self.chain.store().at(height))?.map(|(_, ms)| ms))
    }

    /// The last height at or before `ms`; `None` if even genesis is later.
    fn height_at_time(&self, ms: u64, latest: u64) -> Result<Option<u64>, NodeError> {
        if self.block_time(0)?.is_some_and(|t| t > ms) {
            return Ok(None);
        }
        // Block times only grow: binary search for the last block at or before `ms`.
        let (mut lo, mut hi) = (0u64, latest);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.block_time(mid)?.is_some_and(|t| t <= ms) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(Some(lo))
    }

    /// The account whose current key is `key`, if any.
    pub fn account_by_key(&self, key: &PublicKey) -> Result<Option<Account>, NodeError> {
        Ok(accounts::query::account_by_key(self.chain.store(), key)?)
    }

    /// Runs a module's read-only query (`civitas_execution::<module>::query`) on the latest
    /// state: the one way the API reads a module's records, so the node has no method per
    /// record. For example `node.query(|s| orgs::query::organization(s, &did))`.
    pub fn query<T>(&self, read: impl FnOnce(&Store) -> Result<T, StoreError>) -> Result<T, NodeError> {
        Ok(read(self.chain.store())?)
    }

    /// What the first damaged read of this node's store found, if any: the node must stop
    /// (consensus and full nodes do) rather than serve or build on it, and say
    /// [`DAMAGED_STORE_ADVICE`].
    pub fn damage(&self) -> Option<String> {
        self.chain.store().damage().map(str::to_owned)
    }

    /// The height the next block will have (what a check "as of now" runs at).
    pub fn next_height(&self) -> u64 {
        self.chain.latest().height + 1
    }
}

impl consensus::Application for Node {
    fn latest(&self) -> Committed {
        self.chain.latest()
    }

    fn has_pending(&self, pending: &[&Executed]) -> bool {
        // Transactions of `pending` stay here until committed: more than they hold must wait.
        let in_pending: usize = pending.iter().map(|p| p.block.transactions.len()).sum();
        self.mempool().len() > in_pending
    }

    fn set_catching_up(&self, on: bool) {
        Node::set_catching_up(self, on);
    }

    fn saw_height(&self, height: u64) {
        Node::saw_height(self, height);
    }

    fn propose(&self, timestamp_ms: u64) -> Result<Executed, NodeError> {
        self.propose_on(&[], timestamp_ms)
    }

    fn verify(&self, block: Block) -> Result<Executed, BlockError> {
        self.verify_on(&[], block)
    }

    fn propose_on(&self, pending: &[&Executed], timestamp_ms: u64) -> Result<Executed, NodeError> {
        let proposer = self.validator.as_ref().ok_or(NodeError::NotAValidator)?.public_key();
        let start = Instant::now();
        let latest = self.chain.latest().height;
        let next_height = pending.last().map_or(latest, |p| p.block.header.height.max(latest)) + 1;
        // Nonces are read where the block will run: after `pending`, which may hold some of the
        // waiting transactions already.
        let basis = if pending.is_empty() { NonceBasis::Committed } else { NonceBasis::Uncommitted };
        let (max_txs, max_bytes) = (self.config.block_txs_max, self.config.block_bytes_max);
        let (txs, dropped) = self.chain.read_on(pending, |state| {
            self.mempool().select(next_height, max_txs, max_bytes, basis, |tx| {
                // A read error here only delays the signer's transactions; the block stays valid.
                civitas_execution::acting(state, tx).ok().map(|a| a.nonce)
            })
        });
        self.record_dropped(dropped);
        let executed = self.chain.build_on(pending, txs, proposer, timestamp_ms)?;
        add_step(
            &self.metrics.build_ns,
            start,
            "build",
            executed.block.header.height,
            executed.block.transactions.len(),
        );
        Ok(executed)
    }

    fn verify_on(&self, pending: &[&Executed], block: Block) -> Result<Executed, BlockError> {
        use civitas_types::codec::Encode as _;
        let start = Instant::now();
        // Transactions relayed to us were verified on admission: reuse them.
        let known: Vec<Option<VerifiedTransaction>> = {
            let mempool = self.mempool();
            block.transactions.iter().map(|t| mempool.get(&Hash::digest(&t.encode())).cloned()).collect()
        };
        let reused = known.iter().filter(|k| k.is_some()).count() as u64;
        self.metrics.verify_reused.fetch_add(reused, Ordering::Relaxed);
        let (height, txs) = (block.header.height, block.transactions.len());
        let verified = self.chain.verify_on(pending, block, known);
        add_step(&self.metrics.verify_ns, start, "verify", height, txs);
        verified
    }

    fn outbound(&self, max_bytes: usize) -> Vec<SignedTransaction> {
        let mut relay = self.relay.lock().expect("relay lock is never poisoned: holders do not panic");
        let mut out = Vec::new();
        let mut bytes = 0;
        while let Some(tx) = relay.queue.front() {
            let len = tx.encoded_len();
            if !out.is_empty() && bytes + len > max_bytes {
                break;
            }
            bytes += len;
            relay.bytes -= len;
            out.extend(relay.queue.pop_front().map(|t| t.signed().clone()));
        }
        out
    }

    fn inbound(&self, txs: Vec<SignedTransaction>) {
        let start = Instant::now();
        let count = txs.len() as u64;
        self.metrics.relayed_in.fetch_add(count, Ordering::Relaxed);
        self.metrics.submit_txs.fetch_add(count, Ordering::Relaxed);
        // Refusals are expected (already pending, already committed) and are no one's error.
        let _ = self.submit_inner(txs, false);
        add_elapsed(&self.metrics.submit_ns, start);
    }

    fn validators(&self) -> Result<ValidatorSet, NodeError> {
        Node::validators(self)
    }

    fn committed_block(&self, height: u64) -> Result<Option<(Block, Vec<u8>)>, NodeError> {
        let store = self.chain.store();
        match (store.block(height)?, store.certificate(height)?) {
            (Some(block), Some(certificate)) => Ok(Some((block, certificate))),
            _ => Ok(None),
        }
    }

    fn damage(&self) -> Option<String> {
        Node::damage(self)
    }

    fn finalized(&self, executed: &Executed, certificate: &[u8]) -> Result<Committed, NodeError> {
        let hashes: Vec<Hash> = executed.receipts().iter().map(|r| r.tx_hash).collect();
        let mut block_nonces: std::collections::BTreeMap<PublicKey, u64> = std::collections::BTreeMap::new();
        for t in &executed.block.transactions {
            let highest = block_nonces.entry(t.tx.signer).or_insert(t.tx.nonce);
            *highest = (*highest).max(t.tx.nonce);
        }
        let header = executed.block.header.clone();
        let start = Instant::now();
        let committed = self.chain.commit(executed, certificate)?;
        add_step(&self.metrics.commit_ns, start, "commit", committed.height, hashes.len());
        {
            let mut recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if recent.len() == RECENT_HEADERS_MAX {
                recent.pop_front();
            }
            recent.push_back(header);
        }
        self.height.send_replace(committed.height);
        self.metrics.blocks.fetch_add(1, Ordering::Relaxed);
        self.metrics.block_txs.fetch_add(hashes.len() as u64, Ordering::Relaxed);
        // Whatever can no longer run goes, with why: the block's signers' used nonces (another
        // node's block may have used a nonce a transaction here waits with) and the expired.
        let store = self.chain.store();
        let dropped = {
            let mut mempool = self.mempool();
            mempool.remove_committed(hashes.iter());
            mempool.prune(committed.height + 1, &block_nonces, |tx| {
                civitas_execution::acting(store, tx).ok().map(|a| a.nonce)
            })
        };
        self.record_dropped(dropped);
        Ok(committed)
    }
}

#[cfg(test)]
mod tests;
