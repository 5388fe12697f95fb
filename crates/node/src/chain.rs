//! The chain: builds, verifies and commits blocks on the store. This is the application side
//! of consensus; it is deterministic given the store and the block.

use std::path::Path;
use std::sync::Arc;

use civitas_execution::{BlockContext, accounts, execute_block};
use civitas_state::{BlockState, Committed, StateUpdate, Store};
use civitas_types::{Block, BlockHeader, GENESIS_PARENT, Hash, PublicKey, TxReceipt, VerifiedTransaction};

use crate::error::{BlockError, NodeError};
use crate::genesis::Genesis;

/// A block executed against the latest state, or on blocks executed and not committed yet:
/// ready to commit once they are.
pub struct Executed {
    /// The block.
    pub block: Block,
    receipts: Vec<TxReceipt>,
    /// Shared with the blocks executed on this one before it commits.
    update: Arc<StateUpdate>,
}

impl Executed {
    /// The receipts, in transaction order.
    pub fn receipts(&self) -> &[TxReceipt] {
        &self.receipts
    }

    /// Whether executing the block wrote (or deleted) `key`.
    pub fn writes(&self, key: &[u8]) -> bool {
        self.update.writes(key)
    }
}

/// Upgrades the chain store of the node whose data directory is `data_dir` (stopped) to this
/// build's format in place; returns the format it was in.
pub fn migrate(data_dir: &Path) -> Result<u32, NodeError> {
    Ok(Store::migrate(&data_dir.join("chain"))?)
}

/// The state tree's stored nodes and their bytes in the chain store of the (stopped) node
/// whose data directory is `data_dir`: a scan, for benchmarks and operators' checks.
pub fn tree_size(data_dir: &Path) -> Result<(u64, u64), NodeError> {
    Ok(Store::open(&data_dir.join("chain"))?.tree_size()?)
}

/// The store plus the rules for extending it.
pub struct Chain {
    store: Store,
    genesis: Genesis,
}

impl Chain {
    /// Opens the chain in `dir`, writing the genesis block if the store is new, and refusing a
    /// store that was started from another genesis.
    /// The store keeps `history`; the validator set's proof at every boundary outlives
    /// pruning, since light clients walk the sets from genesis.
    pub fn open(dir: &Path, genesis: Genesis, history: civitas_state::History) -> Result<Chain, NodeError> {
        genesis.validate()?;
        let options = civitas_state::StoreOptions {
            history,
            kept_keys: vec![civitas_types::validators::VALIDATORS_KEY.to_vec()],
        };
        let store = Store::open_with(dir, options)?;
        let digest = Hash::digest(genesis.to_json().as_bytes());
        let chain = Chain { store, genesis };
        match chain.store.genesis_digest()? {
            Some(stored) if stored != digest => return Err(NodeError::GenesisMismatch { stored, given: digest }),
            Some(_) => {}
            None => chain.write_genesis(digest)?,
        }
        Ok(chain)
    }

    fn write_genesis(&self, digest: Hash) -> Result<(), NodeError> {
        let accounts = self.genesis.accounts()?;
        let proposer = self.genesis.validator_keys()?[0];
        let mut state = BlockState::new(&self.store);
        let mut tx = state.begin_tx();
        accounts::apply_genesis(&mut tx, &accounts).map_err(|e| {
            NodeError::Genesis(crate::genesis::GenesisError::Field { field: "accounts".into(), why: e.to_string() })
        })?;
        let dids: Vec<civitas_types::Did> =
            accounts.iter().map(|a| civitas_types::Did::from_initial_key(&a.public_key)).collect();
        civitas_execution::dids::apply_genesis(&mut tx, &dids, self.genesis.genesis_time_ms);
        civitas_execution::orgs::apply_genesis(&mut tx, &self.genesis.organizations()?);
        civitas_execution::council::apply_genesis_validators(&mut tx, self.genesis.validator_set()?.validators);
        let (members, threshold) = self.genesis.council()?;
        if !members.is_empty() {
            civitas_execution::council::apply_genesis(&mut tx, &members, threshold);
        }
        tx.commit();
        let ctx = BlockContext { height: 0, timestamp_ms: self.genesis.genesis_time_ms };
        execute_block(&mut state, &[], ctx)?;
        let update = self.store.prepare(state.into_writes(), 0)?;
        let block = Block {
            header: BlockHeader {
                height: 0,
                parent_hash: GENESIS_PARENT,
                timestamp_ms: self.genesis.genesis_time_ms,
                proposer,
                tx_count: 0,
                tx_root: Block::tx_root(&[]),
                results_root: TxReceipt::results_root(&[]),
                state_root: update.root(),
            },
            transactions: vec![],
        };
        self.store.commit_genesis(&block, &update, digest)?;
        Ok(())
    }

    /// The store, for reads.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The latest committed block. Genesis is always committed once the chain is open.
    pub fn latest(&self) -> Committed {
        self.store.latest().expect("the genesis block is committed when the chain opens")
    }

    /// Executes `txs` as the next block, proposed by `proposer` at `timestamp_ms` (moved past
    /// the parent's time if the clock lags it).
    pub fn build(
        &self,
        txs: Vec<VerifiedTransaction>,
        proposer: PublicKey,
        timestamp_ms: u64,
    ) -> Result<Executed, NodeError> {
        self.build_on(&[], txs, proposer, timestamp_ms)
    }

    /// [`Chain::build`] on `pending`: blocks executed and not committed yet, in height order,
    /// the first on the latest committed block. The new block extends the last of them, and
    /// its execution reads the state they leave.
    pub fn build_on(
        &self,
        pending: &[&Executed],
        txs: Vec<VerifiedTransaction>,
        proposer: PublicKey,
        timestamp_ms: u64,
    ) -> Result<Executed, NodeError> {
        let (parent, pending) = self.parent(pending)?;
        let height = parent.height + 1;
        let timestamp_ms = timestamp_ms.max(parent.timestamp_ms + 1);
        let updates: Vec<Arc<StateUpdate>> = pending.iter().map(|p| p.update.clone()).collect();
        let mut state = BlockState::on(&self.store, &updates);
        let receipts = execute_block(&mut state, &txs, BlockContext { height, timestamp_ms })?;
        let update = self.store.prepare_on(&updates, state.into_writes(), height)?;
        let hashes: Vec<Hash> = txs.iter().map(|t| t.hash()).collect();
        let header = BlockHeader {
            height,
            parent_hash: parent.block_hash,
            timestamp_ms,
            proposer,
            tx_count: u32::try_from(txs.len()).expect("blocks are bounded far below u32::MAX transactions"),
            tx_root: Block::tx_root(&hashes),
            results_root: TxReceipt::results_root(&receipts),
            state_root: update.root(),
        };
        let transactions = txs.into_iter().map(|t| t.signed().clone()).collect();
        Ok(Executed { block: Block { header, transactions }, receipts, update: Arc::new(update) })
    }

    /// Reads, with `read`, the state after `pending` (blocks executed and not committed, as
    /// for [`Chain::build_on`]): what a block on them would read.
    pub fn read_on<T>(&self, pending: &[&Executed], read: impl FnOnce(&BlockState<'_>) -> T) -> T {
        let updates: Vec<Arc<StateUpdate>> = pending.iter().map(|p| p.update.clone()).collect();
        read(&BlockState::on(&self.store, &updates))
    }

    /// The block a block on `pending` extends (the last of them, or the latest committed
    /// block), and those of `pending` that are not committed: the ones after the latest
    /// committed block, if it is among them (committed meanwhile), else all. They must extend
    /// the latest committed block, each block its predecessor.
    fn parent<'p>(&self, pending: &[&'p Executed]) -> Result<(Committed, Vec<&'p Executed>), NodeError> {
        let latest = self.latest();
        let committed = pending.iter().rposition(|p| p.block.header.hash() == latest.block_hash);
        let pending = committed.map_or(pending, |i| &pending[i + 1..]);
        let mut parent = latest;
        for p in pending {
            let h = &p.block.header;
            if h.height != parent.height + 1 || h.parent_hash != parent.block_hash {
                let out_of_order =
                    civitas_state::StoreError::OutOfOrder { latest: Some(latest.height), height: h.height };
                return Err(out_of_order.into());
            }
            parent = Committed {
                height: h.height,
                block_hash: h.hash(),
                state_root: h.state_root,
                timestamp_ms: h.timestamp_ms,
            };
        }
        Ok((parent, pending.to_vec()))
    }

    /// Checks a block from elsewhere by executing it: it must extend our latest block, its
    /// transactions must verify, and every root in its header must be what execution gives.
    pub fn verify(&self, block: Block) -> Result<Executed, BlockError> {
        let known = vec![None; block.transactions.len()];
        self.verify_with(block, known)
    }

    /// [`Chain::verify`], reusing `known[i]` (a transaction this node already verified, with
    /// the same hash, hence the same bytes) instead of checking the block's `i`-th signature
    /// again.
    pub fn verify_with(&self, block: Block, known: Vec<Option<VerifiedTransaction>>) -> Result<Executed, BlockError> {
        self.verify_on(&[], block, known)
    }

    /// [`Chain::verify_with`] for a block on `pending`, blocks executed and not committed yet
    /// ([`Chain::build_on`]): the block must extend the last of them.
    pub fn verify_on(
        &self,
        pending: &[&Executed],
        block: Block,
        known: Vec<Option<VerifiedTransaction>>,
    ) -> Result<Executed, BlockError> {
        let (parent, pending) = self.parent(pending)?;
        let h = &block.header;
        if h.height != parent.height + 1 {
            return Err(BlockError::NotNext { height: h.height, latest: parent.height });
        }
        if h.parent_hash != parent.block_hash {
            return Err(BlockError::WrongParent);
        }
        if h.timestamp_ms <= parent.timestamp_ms {
            return Err(BlockError::TimeNotAfterParent { found: h.timestamp_ms, parent: parent.timestamp_ms });
        }
        let in_pending: std::collections::BTreeSet<Hash> =
            pending.iter().flat_map(|p| p.receipts.iter().map(|r| r.tx_hash)).collect();
        if let Some(index) = block
            .transactions
            .iter()
            .position(|t| in_pending.contains(&Hash::digest(&civitas_types::codec::Encode::encode(t))))
        {
            return Err(BlockError::RepeatsPending { index });
        }
        let chain_id = &self.genesis.chain_id;
        let unknown: Vec<_> =
            block.transactions.iter().zip(&known).filter(|(_, k)| k.is_none()).map(|(t, _)| t.clone()).collect();
        let mut checked = VerifiedTransaction::check_many(unknown, chain_id).into_iter();
        let txs = known
            .into_iter()
            .enumerate()
            .map(|(index, k)| match k {
                Some(tx) => Ok(tx),
                None => checked
                    .next()
                    .expect("one check per unknown transaction")
                    .map_err(|error| BlockError::BadTransaction { index, error }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let executed = self.build_on(&pending, txs, h.proposer, h.timestamp_ms)?;
        let mine = &executed.block.header;
        for (what, header, computed) in [
            ("tx_root", h.tx_root, mine.tx_root),
            ("results_root", h.results_root, mine.results_root),
            ("state_root", h.state_root, mine.state_root),
        ] {
            if header != computed {
                return Err(BlockError::Mismatch { what, header, computed });
            }
        }
        Ok(executed)
    }

    /// Makes an executed block and the certificate that finalized it durable: one atomic,
    /// fsync'd write.
    pub fn commit(&self, executed: &Executed, certificate: &[u8]) -> Result<Committed, NodeError> {
        Ok(self.store.commit(&executed.block, &executed.receipts, &executed.update, certificate)?)
    }
}
