//! The on-disk store: JMT nodes and versioned values, blocks, receipts, the transaction index.

use std::path::Path;
use std::sync::RwLock;

use civitas_types::codec::{Decode, DecodeError, Encode, put_seq};
use civitas_types::{Block, Hash, TxReceipt, limits};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use jmt::storage::{LeafNode, Node, NodeBatch, NodeKey, TreeReader};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, Version};
use sha2::Sha256;

use crate::layers::Writes;

/// Why the store failed. Every variant is an operating error (disk, corruption); callers stop
/// rather than guess.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database engine failed.
    #[error("database: {0}")]
    Db(#[from] fjall::Error),
    /// Stored bytes do not decode: the store is corrupt or from another version.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The Merkle tree failed.
    #[error("state tree: {0}")]
    Tree(String),
    /// The store was written in another format than this build reads.
    #[error(
        "the store in {dir} is in format {found}, and this build of civitas reads format {expected}: run the build that wrote it, or migrate it (ARCHITECTURE.md, \"Store format\")"
    )]
    Format {
        /// The store's folder.
        dir: String,
        /// The format the store records.
        found: u32,
        /// The format this build reads.
        expected: u32,
    },
    /// Another process has the store open.
    #[error(
        "another process has the store in {dir} open (is a node already running on this data directory?); stop it first: two processes on one store would diverge"
    )]
    Locked {
        /// The store's folder.
        dir: String,
    },
    /// A commit that does not extend the latest block.
    #[error("commit out of order: latest height is {latest:?}, block is {height}")]
    OutOfOrder {
        /// The latest committed height.
        latest: Option<u64>,
        /// The height offered.
        height: u64,
    },
}

impl From<DecodeError> for StoreError {
    fn from(e: DecodeError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// The latest committed block, as the store knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// Its height.
    pub height: u64,
    /// Its header hash.
    pub block_hash: Hash,
    /// The state root after it.
    pub state_root: Hash,
    /// Its timestamp.
    pub timestamp_ms: u64,
}

/// Where a committed transaction sits and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxLocation {
    /// The block's height.
    pub height: u64,
    /// Its index in the block.
    pub index: u32,
    /// Its receipt.
    pub receipt: TxReceipt,
}

/// A block's state changes, hashed into the tree but not yet written.
pub struct StateUpdate {
    version: Version,
    root: Hash,
    nodes: NodeBatch,
}

impl StateUpdate {
    /// The state root the update leads to.
    pub fn root(&self) -> Hash {
        self.root
    }
}

const LATEST: &[u8] = b"latest";
const GENESIS: &[u8] = b"genesis";
/// Marks a store whose `current` keyspace is complete (stores from before it are rebuilt).
const CURRENT_INDEXED: &[u8] = b"current_indexed";
/// The meta key of the store's format.
const FORMAT: &[u8] = b"format";

/// The store format this build reads and writes (in `meta`, written when a store is created).
/// A store written before formats were recorded has this layout and is marked with it when
/// opened. A change of layout takes the next number and a migration.
pub const STORE_FORMAT: u32 = 1;

/// The node's one database.
pub struct Store {
    db: Database,
    nodes: Keyspace,
    values: Keyspace,
    /// The latest value of every key (key hash → the same record as `values`): point reads
    /// for execution and admission, which always read the latest state.
    current: Keyspace,
    blocks: Keyspace,
    certificates: Keyspace,
    receipts: Keyspace,
    txs: Keyspace,
    meta: Keyspace,
    latest: RwLock<Option<Committed>>,
}

impl Store {
    /// Opens (or creates) the store in `dir`, recovering to the last committed block.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = Database::builder(dir).open().map_err(|e| match e {
            fjall::Error::Locked => StoreError::Locked { dir: dir.display().to_string() },
            e => StoreError::Db(e),
        })?;
        let ks = |name: &str| db.keyspace(name, KeyspaceCreateOptions::default);
        let store = Store {
            nodes: ks("jmt_nodes")?,
            values: ks("jmt_values")?,
            current: ks("current_values")?,
            blocks: ks("blocks")?,
            certificates: ks("certificates")?,
            receipts: ks("receipts")?,
            txs: ks("tx_index")?,
            meta: ks("meta")?,
            latest: RwLock::new(None),
            db,
        };
        match store.meta.get(FORMAT)? {
            None => store.meta.insert(FORMAT, STORE_FORMAT.to_be_bytes())?,
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt("the store's format is not 4 bytes".into()))?;
                if found != STORE_FORMAT {
                    return Err(StoreError::Format { dir: dir.display().to_string(), found, expected: STORE_FORMAT });
                }
            }
        }
        let latest = match store.meta.get(LATEST)? {
            None => None,
            Some(bytes) => Some(decode_committed(&bytes)?),
        };
        *store.latest.write().expect("lock is never poisoned: holders do not panic") = latest;
        if latest.is_some() && store.meta.get(CURRENT_INDEXED)?.is_none() {
            store.rebuild_current()?;
        }
        Ok(store)
    }

    /// Fills `current` from the versioned values (a store written before `current` existed):
    /// the last version of each key hash wins.
    fn rebuild_current(&self) -> Result<(), StoreError> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for guard in self.values.iter() {
            let (key, value) = guard.into_inner()?;
            if key.len() != 40 {
                return Err(StoreError::Corrupt("versioned value key is not 40 bytes".into()));
            }
            // Keys sort by key hash, then version: a later version overwrites in the batch.
            batch.insert(&self.current, key[..32].to_vec(), value.to_vec());
        }
        batch.insert(&self.meta, CURRENT_INDEXED, [1u8]);
        batch.commit()?;
        Ok(())
    }

    /// The latest committed block, or `None` before genesis.
    pub fn latest(&self) -> Option<Committed> {
        *self.latest.read().expect("lock is never poisoned: holders do not panic")
    }

    /// The value at `key` in the latest committed state: one point read.
    pub fn get_latest(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.current.get(KeyHash::with::<Sha256>(key).0)? {
            None => Ok(None),
            Some(record) => decode_record(&record),
        }
    }

    /// The value at `key` in the state after block `height`.
    pub fn get_at(&self, key: &[u8], height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.value_at(height, KeyHash::with::<Sha256>(key))
    }

    fn value_at(&self, max_version: Version, key_hash: KeyHash) -> Result<Option<Vec<u8>>, StoreError> {
        let lo = value_key(key_hash, 0);
        let hi = value_key(key_hash, max_version);
        match self.values.range(lo..=hi).next_back() {
            None => Ok(None),
            Some(guard) => {
                let (_, v) = guard.into_inner()?;
                decode_record(&v)
            }
        }
    }

    /// The value at `key` after block `height`, with its proof (present or absent) against
    /// that block's state root: jmt's `SparseMerkleProof<Sha256>`, borsh-encoded.
    pub fn prove(&self, key: &[u8], height: u64) -> Result<(Option<Vec<u8>>, Vec<u8>), StoreError> {
        let tree: JellyfishMerkleTree<'_, Self, Sha256> = JellyfishMerkleTree::new(self);
        let (value, proof) =
            tree.get_with_proof(KeyHash::with::<Sha256>(key), height).map_err(|e| StoreError::Tree(e.to_string()))?;
        Ok((value, borsh_bytes(&proof)?))
    }

    /// Hashes `writes` into the tree as version `height` without writing anything.
    pub fn prepare(&self, writes: Writes, height: u64) -> Result<StateUpdate, StoreError> {
        let tree: JellyfishMerkleTree<'_, Self, Sha256> = JellyfishMerkleTree::new(self);
        let set = writes.into_iter().map(|(k, v)| (KeyHash::with::<Sha256>(&k), v));
        let (root, batch) = tree.put_value_set(set, height).map_err(|e| StoreError::Tree(e.to_string()))?;
        Ok(StateUpdate { version: height, root: Hash(root.0), nodes: batch.node_batch })
    }

    /// Writes a block, its receipts, its state update and the certificate that finalized it
    /// in one atomic, fsync'd batch.
    pub fn commit(
        &self,
        block: &Block,
        receipts: &[TxReceipt],
        update: StateUpdate,
        certificate: &[u8],
    ) -> Result<Committed, StoreError> {
        self.commit_with_meta(block, receipts, update, Some(certificate), None)
    }

    /// The consensus certificate that finalized the block at `height` (none for genesis).
    pub fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.certificates.get(height.to_be_bytes())?.map(|v| v.to_vec()))
    }

    /// Commits the genesis block together with the digest of the genesis it came from, so a
    /// restart with another genesis is caught.
    pub fn commit_genesis(
        &self,
        block: &Block,
        update: StateUpdate,
        genesis_digest: Hash,
    ) -> Result<Committed, StoreError> {
        self.commit_with_meta(block, &[], update, None, Some(genesis_digest))
    }

    /// The digest of the genesis this store was started from.
    pub fn genesis_digest(&self) -> Result<Option<Hash>, StoreError> {
        match self.meta.get(GENESIS)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(Hash::decode(&bytes)?)),
        }
    }

    fn commit_with_meta(
        &self,
        block: &Block,
        receipts: &[TxReceipt],
        update: StateUpdate,
        certificate: Option<&[u8]>,
        genesis_digest: Option<Hash>,
    ) -> Result<Committed, StoreError> {
        let height = block.header.height;
        let latest = self.latest();
        let expected = latest.map_or(0, |c| c.height + 1);
        if height != expected || update.version != height {
            return Err(StoreError::OutOfOrder { latest: latest.map(|c| c.height), height });
        }
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for (key, node) in update.nodes.nodes() {
            batch.insert(&self.nodes, borsh_bytes(key)?, borsh_bytes(node)?);
        }
        for ((version, key_hash), value) in update.nodes.values() {
            let record = match value {
                None => vec![0],
                Some(v) => [&[1u8][..], v].concat(),
            };
            batch.insert(&self.current, key_hash.0, record.clone());
            batch.insert(&self.values, value_key(*key_hash, *version), record);
        }
        let hb = height.to_be_bytes();
        batch.insert(&self.blocks, hb, block.encode());
        if let Some(certificate) = certificate {
            batch.insert(&self.certificates, hb, certificate);
        }
        let mut r = Vec::new();
        put_seq(&mut r, receipts);
        batch.insert(&self.receipts, hb, r);
        for (i, receipt) in receipts.iter().enumerate() {
            let index = u32::try_from(i).expect("blocks hold far fewer than u32::MAX transactions");
            let mut record = [&hb[..], &index.to_be_bytes()].concat();
            receipt.encode_to(&mut record);
            batch.insert(&self.txs, receipt.tx_hash.0, record);
        }
        let committed = Committed {
            height,
            block_hash: block.header.hash(),
            state_root: update.root,
            timestamp_ms: block.header.timestamp_ms,
        };
        batch.insert(&self.meta, LATEST, encode_committed(&committed));
        if let Some(digest) = genesis_digest {
            batch.insert(&self.meta, GENESIS, digest.0);
        }
        // `open` rebuilt `current` if it was missing, so it is complete from here on.
        batch.insert(&self.meta, CURRENT_INDEXED, [1u8]);
        batch.commit()?;
        *self.latest.write().expect("lock is never poisoned: holders do not panic") = Some(committed);
        Ok(committed)
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        match self.blocks.get(height.to_be_bytes())? {
            None => Ok(None),
            Some(bytes) => Ok(Some(Block::decode(&bytes)?)),
        }
    }

    /// The header of the block at `height`, decoded alone (the block's transactions are not).
    pub fn header(&self, height: u64) -> Result<Option<civitas_types::BlockHeader>, StoreError> {
        match self.blocks.get(height.to_be_bytes())? {
            None => Ok(None),
            Some(bytes) => {
                Ok(Some(civitas_types::BlockHeader::decode_from(&mut civitas_types::codec::Reader::new(&bytes))?))
            }
        }
    }

    /// The receipts of the block at `height`.
    pub fn receipts(&self, height: u64) -> Result<Option<Vec<TxReceipt>>, StoreError> {
        match self.receipts.get(height.to_be_bytes())? {
            None => Ok(None),
            Some(bytes) => {
                let mut r = civitas_types::codec::Reader::new(&bytes);
                let receipts = r.seq(limits::BLOCK_TXS_MAX, "receipts", TxReceipt::decode_from)?;
                r.finish()?;
                Ok(Some(receipts))
            }
        }
    }

    /// Where the transaction with `hash` was committed, if it was.
    pub fn tx_location(&self, hash: &Hash) -> Result<Option<TxLocation>, StoreError> {
        match self.txs.get(hash.0)? {
            None => Ok(None),
            Some(bytes) => {
                let mut r = civitas_types::codec::Reader::new(&bytes);
                let loc = TxLocation {
                    height: r.u64("height")?,
                    index: r.u32("index")?,
                    receipt: TxReceipt::decode_from(&mut r)?,
                };
                r.finish()?;
                Ok(Some(loc))
            }
        }
    }
}

impl TreeReader for Store {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        match self.nodes.get(borsh_bytes(node_key)?)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(borsh::from_slice(&bytes)?)),
        }
    }

    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self.value_at(max_version, key_hash)?)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only the tree's restore-from-snapshot path asks for this, and Civitas never restores a
        // tree from a chunked snapshot; catch-up replays blocks instead.
        anyhow::bail!("the Civitas store does not support JMT restore")
    }
}

fn borsh_bytes<T: borsh::BorshSerialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    borsh::to_vec(value).map_err(|e| StoreError::Tree(e.to_string()))
}

/// A value record: `0` for deleted, `1` then the value.
fn decode_record(record: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    match record.split_first() {
        Some((0, [])) => Ok(None),
        Some((1, rest)) => Ok(Some(rest.to_vec())),
        _ => Err(StoreError::Corrupt("value record has a bad tag".into())),
    }
}

fn value_key(key_hash: KeyHash, version: Version) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(&key_hash.0);
    k[32..].copy_from_slice(&version.to_be_bytes());
    k
}

fn encode_committed(c: &Committed) -> Vec<u8> {
    let mut out = c.height.to_be_bytes().to_vec();
    c.block_hash.encode_to(&mut out);
    c.state_root.encode_to(&mut out);
    out.extend_from_slice(&c.timestamp_ms.to_be_bytes());
    out
}

fn decode_committed(bytes: &[u8]) -> Result<Committed, StoreError> {
    let mut r = civitas_types::codec::Reader::new(bytes);
    let c = Committed {
        height: r.u64("height")?,
        block_hash: Hash::decode_from(&mut r)?,
        state_root: Hash::decode_from(&mut r)?,
        timestamp_ms: r.u64("timestamp")?,
    };
    r.finish()?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_types::{BlockHeader, GENESIS_PARENT, PublicKey};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn block(height: u64, parent: Hash, root: Hash) -> Block {
        Block {
            header: BlockHeader {
                height,
                parent_hash: parent,
                timestamp_ms: height,
                proposer: PublicKey([0; 32]),
                tx_count: 0,
                tx_root: Block::tx_root(&[]),
                results_root: TxReceipt::results_root(&[]),
                state_root: root,
            },
            transactions: vec![],
        }
    }

    fn commit(store: &Store, writes: Writes) -> Committed {
        let height = store.latest().map_or(0, |c| c.height + 1);
        let parent = store.latest().map_or(GENESIS_PARENT, |c| c.block_hash);
        let update = store.prepare(writes, height).expect("prepare");
        let b = block(height, parent, update.root());
        store.commit(&b, &[], update, b"cert").expect("commit")
    }

    #[test]
    fn a_store_of_another_format_or_open_elsewhere_is_refused_with_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            commit(&store, [(b"k".to_vec(), Some(b"v".to_vec()))].into_iter().collect());
            // A second process (here, a second open) is refused while the first holds it.
            match Store::open(dir.path()) {
                Err(e @ StoreError::Locked { .. }) => assert!(e.to_string().contains("already running"), "{e}"),
                other => panic!("a second open: {:?}", other.map(|_| ())),
            }
            store.meta.insert(FORMAT, 2u32.to_be_bytes()).expect("write");
        }
        match Store::open(dir.path()) {
            Err(e @ StoreError::Format { found: 2, expected: STORE_FORMAT, .. }) => {
                assert!(e.to_string().contains("in format 2, and this build of civitas reads format 1"), "{e}")
            }
            other => panic!("another format: {:?}", other.map(|_| ())),
        }
        // A store from before formats were recorded is this layout: it is marked and opens.
        {
            let db = Database::builder(dir.path()).open().expect("open");
            db.keyspace("meta", KeyspaceCreateOptions::default).expect("meta").remove(FORMAT).expect("remove");
        }
        let store = Store::open(dir.path()).expect("an unmarked store opens");
        assert_eq!(store.meta.get(FORMAT).expect("read").as_deref(), Some(&STORE_FORMAT.to_be_bytes()[..]));
        assert_eq!(store.get_latest(b"k").expect("read"), Some(b"v".to_vec()));
    }

    #[test]
    fn values_are_versioned_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (c1, c2) = {
            let store = Store::open(dir.path()).expect("open");
            let c1 = commit(&store, BTreeMap::from([(b"k".to_vec(), Some(b"v1".to_vec()))]));
            let c2 = commit(&store, BTreeMap::from([(b"k".to_vec(), None), (b"j".to_vec(), Some(b"x".to_vec()))]));
            (c1, c2)
        };
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(store.latest(), Some(c2));
        assert_ne!(c1.state_root, c2.state_root);
        assert_eq!(store.get_at(b"k", 0).expect("read"), Some(b"v1".to_vec()));
        assert_eq!(store.get_latest(b"k").expect("read"), None);
        assert_eq!(store.get_latest(b"j").expect("read"), Some(b"x".to_vec()));
        assert_eq!(store.block(1).expect("read").map(|b| b.header.state_root), Some(c2.state_root));
    }

    #[test]
    fn a_store_without_the_current_index_is_rebuilt_on_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            commit(
                &store,
                BTreeMap::from([(b"k".to_vec(), Some(b"v1".to_vec())), (b"g".to_vec(), Some(b"1".to_vec()))]),
            );
            commit(&store, BTreeMap::from([(b"k".to_vec(), Some(b"v2".to_vec())), (b"g".to_vec(), None)]));
            // As written by a build before the index existed.
            let keys: Vec<Vec<u8>> = store.current.iter().map(|g| g.into_inner().expect("read").0.to_vec()).collect();
            for k in keys {
                store.current.remove(k).expect("remove");
            }
            store.meta.remove(CURRENT_INDEXED).expect("remove");
            assert_eq!(store.get_latest(b"k").expect("read"), None, "the index is gone");
        }
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(store.get_latest(b"k").expect("read"), Some(b"v2".to_vec()));
        assert_eq!(store.get_latest(b"g").expect("read"), None);
        assert_eq!(store.get_at(b"g", 0).expect("read"), Some(b"1".to_vec()));
    }

    #[test]
    fn out_of_order_commit_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let c0 = commit(&store, BTreeMap::from([(b"a".to_vec(), Some(b"1".to_vec()))]));
        let update = store.prepare(BTreeMap::from([(b"a".to_vec(), Some(b"2".to_vec()))]), 1).expect("prepare");
        let b = block(5, c0.block_hash, update.root());
        assert!(matches!(store.commit(&b, &[], update, b"cert"), Err(StoreError::OutOfOrder { height: 5, .. })));
        assert_eq!(store.latest(), Some(c0));
        assert_eq!(store.get_latest(b"a").expect("read"), Some(b"1".to_vec()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn root_depends_only_on_contents(
            entries in prop::collection::btree_map(prop::collection::vec(any::<u8>(), 1..8), prop::collection::vec(any::<u8>(), 0..8), 1..20)
        ) {
            // The same contents reached in one block or in two give the same root.
            let d1 = tempfile::tempdir().expect("tempdir");
            let d2 = tempfile::tempdir().expect("tempdir");
            let s1 = Store::open(d1.path()).expect("open");
            let s2 = Store::open(d2.path()).expect("open");
            let all: Writes = entries.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
            commit(&s1, all.clone());
            commit(&s1, BTreeMap::new());
            let half = entries.len() / 2;
            commit(&s2, all.iter().take(half).map(|(k, v)| (k.clone(), v.clone())).collect());
            commit(&s2, all.iter().skip(half).map(|(k, v)| (k.clone(), v.clone())).collect());
            prop_assert_eq!(s1.latest().map(|c| c.state_root), s2.latest().map(|c| c.state_root));
            // The point-read index agrees with the versioned values.
            let height = s2.latest().expect("committed").height;
            for (k, v) in &entries {
                prop_assert_eq!(s2.get_latest(k).expect("read"), Some(v.clone()));
                prop_assert_eq!(s2.get_at(k, height).expect("read"), Some(v.clone()));
            }
        }
    }
}
