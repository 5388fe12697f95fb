//! The on-disk store: JMT nodes and versioned values, blocks, receipts, the transaction index.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use civitas_types::codec::{Decode, DecodeError, Encode, put_seq};
use civitas_types::{Block, Hash, TxReceipt, limits};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, Version};
use sha2::Sha256;

use crate::layers::Writes;
use crate::tree::{self, NodeCache, NodeSource};

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
        "the store in {dir} is in format {found}, and this build of civitas reads format {expected}: stop the node and run `civitas migrate --data-dir` on its data directory, or run the build that wrote it (ARCHITECTURE.md, \"Store format\")"
    )]
    Format {
        /// The store's folder.
        dir: String,
        /// The format the store records.
        found: u32,
        /// The format this build reads.
        expected: u32,
    },
    /// The tree of that height was pruned (the store keeps a window of recent heights).
    #[error("the state at height {height} is no longer provable: this node keeps proofs from height {oldest} on")]
    Pruned {
        /// The height asked for.
        height: u64,
        /// The oldest height this store can prove.
        oldest: u64,
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

/// The bytes of the files under `dir` (a store's folder; 0 for what cannot be read).
pub fn disk_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
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
    /// The tree nodes this version writes.
    nodes: Vec<(tree::NodeKey, tree::Node)>,
    /// The previous version's nodes this one replaces.
    stale: Vec<tree::NodeKey>,
    /// Each written key's hash and its new value (`None`: deleted), sorted by key hash.
    values: Vec<(tree::Hash32, Option<Vec<u8>>)>,
    /// `nodes`' positions sorted by node key, built the first time a block built on this one
    /// reads a node through it ([`Store::prepare_on`]).
    index: OnceLock<Vec<(tree::NodeKey, usize)>>,
}

impl StateUpdate {
    /// The state root the update leads to.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The height whose state the update makes.
    pub fn height(&self) -> u64 {
        self.version
    }

    /// Whether the update writes (or deletes) `key`.
    pub fn writes(&self, key: &[u8]) -> bool {
        self.value(&tree::sha256(key)).is_some()
    }

    /// What the update writes at the key whose hash is `key_hash`: `None` if it does not write
    /// it, `Some(None)` if it deletes it.
    fn value(&self, key_hash: &tree::Hash32) -> Option<Option<&[u8]>> {
        let i = self.values.binary_search_by(|(k, _)| k.cmp(key_hash)).ok()?;
        Some(self.values[i].1.as_deref())
    }

    /// The node the update writes at `key`, if any.
    fn node(&self, key: &tree::NodeKey) -> Option<&tree::Node> {
        let index = self.index.get_or_init(|| {
            let mut index: Vec<(tree::NodeKey, usize)> =
                self.nodes.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect();
            index.sort_unstable_by_key(|(k, _)| *k);
            index
        });
        let i = index.binary_search_by(|(k, _)| k.cmp(key)).ok()?;
        Some(&self.nodes[index[i].1].1)
    }
}

/// The tree as it is after uncommitted blocks: a node written at one of their heights is read
/// from that block's update, any other from the store.
struct Through<'a> {
    store: &'a Store,
    pending: &'a [Arc<StateUpdate>],
}

impl NodeSource for Through<'_> {
    fn node(&self, key: &tree::NodeKey) -> Result<Option<tree::Node>, StoreError> {
        match self.pending.iter().find(|u| u.version == key.version) {
            Some(update) => Ok(update.node(key).cloned()),
            None => self.store.node(key),
        }
    }
}

const LATEST: &[u8] = b"latest";
const GENESIS: &[u8] = b"genesis";
/// Marks a store whose `current` keyspace is complete (stores from before it are rebuilt).
const CURRENT_INDEXED: &[u8] = b"current_indexed";
/// The meta key of the store's format.
const FORMAT: &[u8] = b"format";

/// The meta key of the oldest height whose state tree is whole (absent: every height).
const OLDEST_PROVABLE: &[u8] = b"oldest_provable";

/// The store format this build reads and writes (in `meta`, written when a store is created).
/// A change of layout takes the next number and a migration ([`Store::migrate`]).
///
/// - 1: the tree, values, blocks, receipts, the transaction index and `current`.
/// - 2: adds the stale-node index (`stale_nodes`) that pruning reads, and kept proofs
///   (`kept_proofs`). A store of format 1 migrates in place; the tree nodes it wrote before
///   are not indexed, so they are kept.
/// - 3: the tree nodes (`tree_nodes`, was `jmt_nodes`) and the stale lists (`tree_stale`, was
///   `stale_nodes`) key a node by its version in big-endian first ([`tree::storage_key`]):
///   each block's nodes sort after all earlier ones, and the database's compactions move them
///   down instead of rewriting them with the older nodes (little-endian versions scattered
///   every block's nodes across the whole keyspace). A store of format 1 or 2 migrates in
///   place, copying both into their new keyspaces.
pub const STORE_FORMAT: u32 = 3;

/// The formats [`Store::migrate`] upgrades from.
const MIGRATES_FROM: &[u32] = &[1, 2];

/// The keyspace of the tree nodes, and the one formats 1 and 2 kept them in.
const NODES: &str = "tree_nodes";
const NODES_BEFORE_3: &str = "jmt_nodes";

/// The keyspace of the stale lists, and the one format 2 kept them in.
const STALE: &str = "tree_stale";
const STALE_BEFORE_3: &str = "stale_nodes";

/// Rows copied per batch by a migration.
const MIGRATE_BATCH: usize = 10_000;

/// At most this many stale tree nodes are deleted per committed block; a backlog (after the
/// window is shortened) is worked off over the following blocks.
const PRUNE_PER_BLOCK: usize = 50_000;

/// The database's block cache: tree nodes below the cached top levels are read through it.
const BLOCK_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// How far the database's worker threads (flushes and compactions) are niced below the node's
/// own threads (up to the lowest priority, 19). Those run in bursts of seconds; at the node's
/// priority they took the cores from consensus and execution, and a validator whose commit
/// stalls votes late and delays every block. Lowered, they use the cores the node leaves idle;
/// when they fall behind, fjall's write stalls hold the node back until they catch up. The same
/// as RocksDB's low-priority compaction pool.
const BACKGROUND_NICE: i32 = 10;

/// Each keyspace's memtable size (fjall's default is 64 MiB). When a memtable rotates, fjall
/// frees the memtables flushed since the last rotation while it holds locks that every commit
/// waits for; at 64 MiB that held commits for 1 to 4.5 s every five minutes in the four-validator
/// soak, at 16 MiB for at most 0.6 s. fjall records it when it creates a keyspace, so a store
/// created earlier keeps the size it was created with.
const MEMTABLE_BYTES: u64 = 16 * 1024 * 1024;

/// Stale node keys per row of the stale list.
const STALE_CHUNK: usize = 8_192;

/// What a store's database holds in memory ([`Store::memory`]), for the node's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreMemory {
    /// The block cache, which fills up to its capacity ([`BLOCK_CACHE_BYTES`]).
    pub cache_bytes: u64,
    /// Memtables, active and sealed (written, not yet flushed to tables).
    pub write_buffer_bytes: u64,
    /// Filter and index blocks the tables hold outside the cache (those of the first levels).
    pub pinned_bytes: u64,
    /// Table files, over all keyspaces.
    pub tables: u64,
    /// Superseded versions of the keyspaces' table sets still held (for readers that began
    /// before a flush or compaction), over all keyspaces.
    pub versions: u64,
}

/// How much of the state tree's history a store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// Every height's tree: the state at any height is provable.
    Archive,
    /// The trees of the newest `blocks` heights before the latest, and the latest: older
    /// heights' tree nodes are deleted as blocks commit. Values (so the state at any height
    /// can still be read), blocks, receipts and certificates are all kept, and so are the
    /// proofs of kept keys ([`StoreOptions::kept_keys`]) at the heights that wrote them.
    Window(u64),
}

/// How a store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How much tree history to keep.
    pub history: History,
    /// Keys whose proof at each height that writes them outlives pruning (the validator set,
    /// which light clients walk from genesis).
    pub kept_keys: Vec<Vec<u8>>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { history: History::Archive, kept_keys: Vec::new() }
    }
}

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
    /// Stale tree nodes: the version from which they are no longer used (8 bytes, big-endian)
    /// and a chunk number (4) → up to `STALE_CHUNK` node keys, each after its length byte.
    /// Pruning walks it in order.
    stale: Keyspace,
    /// Proofs kept past pruning, keyed as `values` is (key hash ‖ height) → proof.
    kept: Keyspace,
    latest: RwLock<Option<Committed>>,
    /// The oldest height whose tree is whole.
    oldest: AtomicU64,
    cache: NodeCache,
    history: History,
    /// The kept keys ([`StoreOptions::kept_keys`]) with their hashes.
    kept_keys: Vec<(tree::Hash32, Vec<u8>)>,
    /// The first damage a read met ([`Store::damage`]).
    damage: std::sync::OnceLock<String>,
}

impl Store {
    /// Opens (or creates) the store in `dir`, recovering to the last committed block, as an
    /// archive (every height's tree kept).
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(dir, StoreOptions::default())
    }

    /// Opens (or creates) the store in `dir` with `options`.
    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        let store = Store::open_db(dir, options)?;
        match store.format()? {
            None => store.meta.insert(FORMAT, STORE_FORMAT.to_be_bytes())?,
            Some(STORE_FORMAT) => {}
            Some(found) => {
                return Err(StoreError::Format { dir: dir.display().to_string(), found, expected: STORE_FORMAT });
            }
        }
        store.load()?;
        Ok(store)
    }

    /// Upgrades the store in `dir` to this build's format in place; returns the format it
    /// was in (`STORE_FORMAT` when there was nothing to do). Format 1 → 2 adds the two empty
    /// keyspaces; the tree nodes written before are in no stale list, so they are kept.
    pub fn migrate(dir: &Path) -> Result<u32, StoreError> {
        let store = Store::open_db(dir, StoreOptions::default())?;
        let found = store.format()?.unwrap_or(STORE_FORMAT);
        if found == STORE_FORMAT {
            return Ok(found);
        }
        if !MIGRATES_FROM.contains(&found) {
            return Err(StoreError::Format { dir: dir.display().to_string(), found, expected: STORE_FORMAT });
        }
        // The new keyspaces exist now (opening made them). The copies overwrite what an
        // interrupted migration copied, and the format is the last thing written: until then
        // the store stays in its old format, whole, and `migrate` can run again.
        store.copy_rekeyed(NODES_BEFORE_3, &store.nodes, |key, value| {
            Ok((tree::storage_key(key.to_vec()), value.to_vec()))
        })?;
        store.copy_rekeyed(STALE_BEFORE_3, &store.stale, |key, row| {
            let mut rekeyed = Vec::with_capacity(row.len());
            for node in stale_list(row)? {
                push_stale(&mut rekeyed, &tree::storage_key(node.to_vec()));
            }
            Ok((key.to_vec(), rekeyed))
        })?;
        store.db.persist(PersistMode::SyncAll)?;
        store.meta.insert(FORMAT, STORE_FORMAT.to_be_bytes())?;
        store.db.persist(PersistMode::SyncAll)?;
        for old in [NODES_BEFORE_3, STALE_BEFORE_3] {
            if store.db.keyspace_exists(old) {
                store.db.delete_keyspace(store.db.keyspace(old, KeyspaceCreateOptions::default)?)?;
            }
        }
        Ok(found)
    }

    /// Copies the keyspace `from`, if the store has it, into `to`, each row through `rekey`.
    fn copy_rekeyed(
        &self,
        from: &str,
        to: &Keyspace,
        rekey: impl Fn(&[u8], &[u8]) -> Result<(Vec<u8>, Vec<u8>), StoreError>,
    ) -> Result<(), StoreError> {
        if !self.db.keyspace_exists(from) {
            return Ok(());
        }
        let from = self.db.keyspace(from, KeyspaceCreateOptions::default)?;
        let mut batch = self.db.batch();
        for (i, guard) in from.iter().enumerate() {
            let (key, value) = guard.into_inner()?;
            let (key, value) = rekey(&key, &value)?;
            batch.insert(to, key, value);
            if (i + 1) % MIGRATE_BATCH == 0 {
                std::mem::replace(&mut batch, self.db.batch()).commit()?;
            }
        }
        batch.commit()?;
        Ok(())
    }

    /// The store's format: `None` for a new, empty store; 1 for a store written before formats
    /// were recorded (it has blocks but no format).
    fn format(&self) -> Result<Option<u32>, StoreError> {
        match self.meta.get(FORMAT)? {
            None if self.meta.get(LATEST)?.is_some() => Ok(Some(1)),
            None => Ok(None),
            Some(bytes) => <[u8; 4]>::try_from(bytes.as_ref())
                .map(|b| Some(u32::from_be_bytes(b)))
                .map_err(|_| StoreError::Corrupt("the store's format is not 4 bytes".into())),
        }
    }

    fn open_db(dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        // fjall starts its worker threads while opening, and a thread starts with the nice
        // value of the thread that made it (on Linux, nice is per thread): opened from a thread
        // of lowered priority, the workers have it and the node's own threads keep theirs.
        let opened = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let lowered = rustix::process::getpriority_process(None)
                        .and_then(|own| rustix::process::setpriority_process(None, (own + BACKGROUND_NICE).min(19)));
                    if let Err(e) = lowered {
                        tracing::warn!(error = %e, "could not lower the store workers' priority; they run at the node's");
                    }
                    Database::builder(dir).cache_size(BLOCK_CACHE_BYTES).open()
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        let db = opened.map_err(|e| match e {
            fjall::Error::Locked => StoreError::Locked { dir: dir.display().to_string() },
            e => StoreError::Db(e),
        })?;
        let ks = |name: &str| db.keyspace(name, || KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES));
        let store = Store {
            nodes: ks(NODES)?,
            values: ks("jmt_values")?,
            current: ks("current_values")?,
            blocks: ks("blocks")?,
            certificates: ks("certificates")?,
            receipts: ks("receipts")?,
            txs: ks("tx_index")?,
            meta: ks("meta")?,
            stale: ks(STALE)?,
            kept: ks("kept_proofs")?,
            latest: RwLock::new(None),
            oldest: AtomicU64::new(0),
            cache: NodeCache::new(),
            kept_keys: options.kept_keys.into_iter().map(|k| (tree::sha256(&k), k)).collect(),
            damage: std::sync::OnceLock::new(),
            history: options.history,
            db,
        };
        Ok(store)
    }

    /// Reads the latest block and the pruning mark, rebuilds `current` if it is missing, and
    /// keeps any kept key's proof that a crash left unkept.
    fn load(&self) -> Result<(), StoreError> {
        let latest = match self.meta.get(LATEST)? {
            None => None,
            Some(bytes) => Some(decode_committed(&bytes)?),
        };
        *self.latest.write().expect("lock is never poisoned: holders do not panic") = latest;
        if let Some(bytes) = self.meta.get(OLDEST_PROVABLE)? {
            let b = <[u8; 8]>::try_from(bytes.as_ref())
                .map_err(|_| StoreError::Corrupt("the oldest provable height is not 8 bytes".into()))?;
            self.oldest.store(u64::from_be_bytes(b), Ordering::Release);
        }
        if let Some(latest) = latest {
            self.check_latest(&latest)?;
        }
        if latest.is_some() && self.meta.get(CURRENT_INDEXED)?.is_none() {
            self.rebuild_current()?;
        }
        self.keep_missing_proofs()
    }

    /// Refuses a store whose latest block, or the root of its state tree, is not what its
    /// record says: a damaged disk must stop the node, not let it serve or extend wrong state.
    fn check_latest(&self, latest: &Committed) -> Result<(), StoreError> {
        let height = latest.height;
        let block = self
            .block(height)
            .map_err(|e| StoreError::Corrupt(format!("the latest block (height {height}) cannot be read: {e}")))?;
        let Some(block) = block else {
            return Err(StoreError::Corrupt(format!("the latest block (height {height}) is missing")));
        };
        if block.header.hash() != latest.block_hash || block.header.state_root != latest.state_root {
            return Err(StoreError::Corrupt(format!(
                "the latest block (height {height}) does not match the store's record of it: its bytes were changed"
            )));
        }
        let root = tree::NodeKey { version: height, path: tree::Path::ROOT };
        match NodeSource::node(self, &root) {
            Ok(Some(node)) if node.hash() == latest.state_root.0 => Ok(()),
            Ok(Some(_)) => Err(StoreError::Corrupt(format!(
                "the state tree's root at height {height} does not hash to the block's state root"
            ))),
            Ok(None) => Err(StoreError::Corrupt(format!("the state tree's root at height {height} is missing"))),
            Err(e) => Err(StoreError::Corrupt(format!("the state tree's root at height {height} cannot be read: {e}"))),
        }
    }

    /// Keeps the proof of every kept key at each height that wrote it and is still provable,
    /// where the proof is not kept yet (a crash between a commit and its kept proofs).
    fn keep_missing_proofs(&self) -> Result<(), StoreError> {
        let oldest = self.oldest_provable();
        for (key_hash, key) in &self.kept_keys {
            let key_hash = *key_hash;
            let heights: Vec<u64> = self
                .values
                .prefix(key_hash)
                .map(|g| {
                    let k = g.key()?;
                    <[u8; 8]>::try_from(&k[32..])
                        .map(u64::from_be_bytes)
                        .map_err(|_| StoreError::Corrupt("versioned value key is not 40 bytes".into()))
                })
                .collect::<Result<_, _>>()?;
            for height in heights.into_iter().filter(|h| *h >= oldest) {
                if self.kept.get(value_key(KeyHash(key_hash), height))?.is_none() {
                    let (_, proof) = self.prove_tree(key, height)?;
                    self.kept.insert(value_key(KeyHash(key_hash), height), proof)?;
                }
            }
        }
        Ok(())
    }

    /// The tree nodes stored and their bytes (keys and values), by a scan of the whole tree:
    /// for benchmarks and operators' checks, not for a hot path.
    pub fn tree_size(&self) -> Result<(u64, u64), StoreError> {
        let (mut nodes, mut bytes) = (0u64, 0u64);
        for guard in self.nodes.iter() {
            let (k, v) = guard.into_inner()?;
            nodes += 1;
            bytes += (k.len() + v.len()) as u64;
        }
        Ok((nodes, bytes))
    }

    /// The oldest height whose state this store can prove (kept keys aside).
    pub fn oldest_provable(&self) -> u64 {
        self.oldest.load(Ordering::Acquire)
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

    /// What the database holds in memory now, outside the block cache too.
    pub fn memory(&self) -> StoreMemory {
        use fjall::AbstractTree as _;
        let keyspaces = [
            &self.nodes,
            &self.values,
            &self.current,
            &self.blocks,
            &self.certificates,
            &self.receipts,
            &self.txs,
            &self.meta,
            &self.stale,
            &self.kept,
        ];
        // `tree` and `write_buffer_size` are fjall's hidden, experimental accessors; the
        // workspace pins fjall's exact version, so a change to them shows at the upgrade.
        StoreMemory {
            cache_bytes: self.db.cache_size(),
            write_buffer_bytes: self.db.write_buffer_size(),
            pinned_bytes: keyspaces
                .iter()
                .map(|ks| (ks.tree.pinned_filter_size() + ks.tree.pinned_block_index_size()) as u64)
                .sum(),
            tables: keyspaces.iter().map(|ks| ks.table_count() as u64).sum(),
            versions: keyspaces.iter().map(|ks| ks.tree.version_free_list_len() as u64).sum(),
        }
    }

    /// The latest committed block, or `None` before genesis.
    pub fn latest(&self) -> Option<Committed> {
        *self.latest.read().expect("lock is never poisoned: holders do not panic")
    }

    /// The value at `key` in the latest committed state: one point read.
    pub fn get_latest(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.checked(
            || "the latest value of a key".to_owned(),
            || match self.current.get(KeyHash::with::<Sha256>(key).0)? {
                None => Ok(None),
                Some(record) => decode_record(&record),
            },
        )
    }

    /// The value at `key` in the state after the uncommitted blocks whose updates are
    /// `pending` (in height order, the first on the latest committed block): the newest of
    /// them that writes the key decides, else the committed state.
    pub fn get_through(&self, pending: &[Arc<StateUpdate>], key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if !pending.is_empty() {
            let key_hash = tree::sha256(key);
            if let Some(value) = pending.iter().rev().find_map(|u| u.value(&key_hash)) {
                return Ok(value.map(<[u8]>::to_vec));
            }
        }
        self.get_latest(key)
    }

    /// The value at `key` in the state after block `height`.
    pub fn get_at(&self, key: &[u8], height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.value_at(height, KeyHash::with::<Sha256>(key))
    }

    fn value_at(&self, max_version: Version, key_hash: KeyHash) -> Result<Option<Vec<u8>>, StoreError> {
        let lo = value_key(key_hash, 0);
        let hi = value_key(key_hash, max_version);
        self.checked(
            || format!("a value at height {max_version}"),
            || match self.values.range(lo..=hi).next_back() {
                None => Ok(None),
                Some(guard) => {
                    let (_, v) = guard.into_inner()?;
                    decode_record(&v)
                }
            },
        )
    }

    /// The value at `key` after block `height`, with its proof (present or absent) against
    /// that block's state root: jmt's `SparseMerkleProof<Sha256>`, borsh-encoded.
    ///
    /// A height older than the pruning window is refused ([`StoreError::Pruned`]), unless
    /// `key` is a kept key that the block at `height` wrote.
    pub fn prove(&self, key: &[u8], height: u64) -> Result<(Option<Vec<u8>>, Vec<u8>), StoreError> {
        let oldest = self.oldest_provable();
        if height < oldest {
            let key_hash = tree::sha256(key);
            return match self.kept.get(value_key(KeyHash(key_hash), height))? {
                Some(proof) => Ok((self.get_at(key, height)?, proof.to_vec())),
                None => Err(StoreError::Pruned { height, oldest }),
            };
        }
        self.prove_tree(key, height)
    }

    fn prove_tree(&self, key: &[u8], height: u64) -> Result<(Option<Vec<u8>>, Vec<u8>), StoreError> {
        let tree: JellyfishMerkleTree<'_, Self, Sha256> = JellyfishMerkleTree::new(self);
        let (value, proof) =
            tree.get_with_proof(KeyHash(tree::sha256(key)), height).map_err(|e| StoreError::Tree(e.to_string()))?;
        Ok((value, borsh_bytes(&proof)?))
    }

    /// Hashes `writes` into the tree as version `height` (over the tree of `height - 1`)
    /// without writing anything: one pass over the tree ([`crate::tree`]).
    pub fn prepare(&self, writes: Writes, height: u64) -> Result<StateUpdate, StoreError> {
        self.prepare_on(&[], writes, height)
    }

    /// [`Store::prepare`] for a block built on uncommitted blocks: `pending` are their updates
    /// in height order, the first on the latest committed block, and `height` follows the
    /// last. The update reads the tree through theirs, so once they are committed in order it
    /// commits as if it had been prepared then. Those committed meanwhile are read from the
    /// store; the rest must follow the latest committed block, one height after another.
    pub fn prepare_on(
        &self,
        pending: &[Arc<StateUpdate>],
        writes: Writes,
        height: u64,
    ) -> Result<StateUpdate, StoreError> {
        let latest = self.latest();
        let first = latest.map_or(0, |c| c.height + 1);
        let pending = &pending[pending.iter().take_while(|u| u.version < first).count()..];
        if !pending.is_empty() {
            let follows = pending.iter().zip(first..).all(|(u, h)| u.version == h);
            if latest.is_none() || !follows || height != first + pending.len() as u64 {
                return Err(StoreError::OutOfOrder { latest: latest.map(|c| c.height), height });
            }
        }
        let mut values: Vec<(tree::Hash32, Option<Vec<u8>>)> =
            writes.into_iter().map(|(k, v)| (tree::sha256(&k), v)).collect();
        values.sort_unstable_by_key(|v| v.0);
        let hashed: Vec<tree::Write> = values.iter().map(|(k, v)| (*k, v.as_deref().map(tree::sha256))).collect();
        let previous = height.checked_sub(1);
        let update = tree::update(&Through { store: self, pending }, previous, height, &hashed)?;
        Ok(StateUpdate {
            version: height,
            root: Hash(update.root),
            nodes: update.nodes,
            stale: update.stale,
            values,
            index: OnceLock::new(),
        })
    }

    /// Writes a block, its receipts, its state update and the certificate that finalized it
    /// in one atomic, fsync'd batch.
    pub fn commit(
        &self,
        block: &Block,
        receipts: &[TxReceipt],
        update: &StateUpdate,
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
        update: &StateUpdate,
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
        update: &StateUpdate,
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
        for (key, node) in &update.nodes {
            batch.insert(&self.nodes, key.encode(), borsh_bytes(node)?);
        }
        // The stale list goes in chunks, not a row per node: a block replaces thousands.
        for (i, chunk) in update.stale.chunks(STALE_CHUNK).enumerate() {
            let mut value = Vec::with_capacity(chunk.len() * 40);
            for key in chunk {
                push_stale(&mut value, &key.encode());
            }
            let index = u32::try_from(i).expect("fewer than 2^32 chunks");
            batch.insert(&self.stale, [&height.to_be_bytes()[..], &index.to_be_bytes()].concat(), value);
        }
        let mut kept_written = Vec::new();
        for (key_hash, value) in &update.values {
            let record = match value {
                None => vec![0],
                Some(v) => [&[1u8][..], v].concat(),
            };
            batch.insert(&self.current, key_hash, record.clone());
            batch.insert(&self.values, value_key(KeyHash(*key_hash), height), record);
            if let Some(kept) = self.kept_keys.iter().find(|(h, _)| h == key_hash) {
                kept_written.push(kept);
            }
        }
        let oldest = self.prune(&mut batch, height)?;
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
        if let Some(oldest) = oldest {
            self.oldest.store(oldest, Ordering::Release);
        }
        for key in &update.stale {
            self.cache.forget(key);
        }
        for (key, node) in &update.nodes {
            self.cache.put(*key, node);
        }
        // Kept proofs follow their block; a crash in between is made good on open.
        for (key_hash, key) in kept_written {
            let (_, proof) = self.prove_tree(key, height)?;
            self.kept.insert(value_key(KeyHash(*key_hash), height), proof)?;
        }
        Ok(committed)
    }

    /// Adds to `batch` the deletion of tree nodes no height in the window uses, when the
    /// store keeps a window; returns the new oldest provable height if it moves.
    fn prune(&self, batch: &mut fjall::OwnedWriteBatch, height: u64) -> Result<Option<u64>, StoreError> {
        let History::Window(window) = self.history else { return Ok(None) };
        // Heights from `keep` on stay whole: a node stale since `v` was last used by `v - 1`.
        let keep = height.saturating_sub(window);
        let from = self.oldest_provable();
        if keep <= from {
            return Ok(None);
        }
        let hi = [&keep.to_be_bytes()[..], &[0xff; 4][..]].concat();
        let mut deleted = 0;
        for guard in self.stale.range(from.to_be_bytes().to_vec()..=hi) {
            let (key, value) = guard.into_inner()?;
            let since = key
                .get(..8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| StoreError::Corrupt("a stale-list key is not 12 bytes".into()))?;
            if deleted >= PRUNE_PER_BLOCK {
                // Stopped inside or before version `since`: heights before it are whole.
                batch.insert(&self.meta, OLDEST_PROVABLE, since.to_be_bytes());
                return Ok(Some(since));
            }
            for node in stale_list(&value)? {
                batch.remove(&self.nodes, node.to_vec());
                deleted += 1;
            }
            batch.remove(&self.stale, key.to_vec());
        }
        batch.insert(&self.meta, OLDEST_PROVABLE, keep.to_be_bytes());
        Ok(Some(keep))
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        self.checked(
            || format!("block {height}"),
            || match self.blocks.get(height.to_be_bytes())? {
                None => Ok(None),
                Some(bytes) => Ok(Some(Block::decode(&bytes)?)),
            },
        )
    }

    /// The header of the block at `height`, decoded alone (the block's transactions are not).
    pub fn header(&self, height: u64) -> Result<Option<civitas_types::BlockHeader>, StoreError> {
        self.checked(
            || format!("block {height}"),
            || match self.blocks.get(height.to_be_bytes())? {
                None => Ok(None),
                Some(bytes) => {
                    Ok(Some(civitas_types::BlockHeader::decode_from(&mut civitas_types::codec::Reader::new(&bytes))?))
                }
            },
        )
    }

    /// The receipts of the block at `height`.
    pub fn receipts(&self, height: u64) -> Result<Option<Vec<TxReceipt>>, StoreError> {
        self.checked(
            || format!("the receipts of block {height}"),
            || match self.receipts.get(height.to_be_bytes())? {
                None => Ok(None),
                Some(bytes) => {
                    let mut r = civitas_types::codec::Reader::new(&bytes);
                    let receipts = r.seq(limits::BLOCK_TXS_MAX, "receipts", TxReceipt::decode_from)?;
                    r.finish()?;
                    Ok(Some(receipts))
                }
            },
        )
    }

    /// Where the transaction with `hash` was committed, if it was.
    pub fn tx_location(&self, hash: &Hash) -> Result<Option<TxLocation>, StoreError> {
        self.checked(
            || format!("the index entry of transaction {hash}"),
            || match self.txs.get(hash.0)? {
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
            },
        )
    }

    /// What the first damaged read found (stored bytes that do not decode, or a database that
    /// cannot read its own files), if any read has. A node stops on it rather than serve, or
    /// build on, a store that is no longer what it committed.
    pub fn damage(&self) -> Option<&str> {
        self.damage.get().map(String::as_str)
    }

    /// Runs the read `read` of `what`; a corrupt record or a database failure is recorded as
    /// the store's damage (the first one is kept) and passed on.
    fn checked<T>(
        &self,
        what: impl FnOnce() -> String,
        read: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        read().map_err(|e| {
            let e = match e {
                StoreError::Corrupt(why) => StoreError::Corrupt(format!("{}: {why}", what())),
                StoreError::Db(db) => {
                    let _ = self.damage.set(format!("{}: {db}", what()));
                    return StoreError::Db(db);
                }
                other => return other,
            };
            let _ = self.damage.set(e.to_string());
            e
        })
    }
}

impl NodeSource for Store {
    fn node(&self, key: &tree::NodeKey) -> Result<Option<tree::Node>, StoreError> {
        if let Some(node) = self.cache.get(key) {
            return Ok(Some(node));
        }
        self.checked(
            || format!("a state tree node of height {}", key.version),
            || match self.nodes.get(key.encode())? {
                None => Ok(None),
                Some(bytes) => {
                    let node: tree::Node = borsh::from_slice(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    self.cache.put(*key, &node);
                    Ok(Some(node))
                }
            },
        )
    }
}

impl TreeReader for Store {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        match self.nodes.get(tree::storage_key(borsh_bytes(node_key)?))? {
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
/// Appends a node key to a row of a stale list ([`stale_list`] reads it).
fn push_stale(row: &mut Vec<u8>, key: &[u8]) {
    row.push(u8::try_from(key.len()).expect("a node key is at most 52 bytes"));
    row.extend_from_slice(key);
}

/// The node keys of one row of a stale list: each a length byte, then the key.
fn stale_list(row: &[u8]) -> Result<Vec<&[u8]>, StoreError> {
    let mut keys = Vec::new();
    let mut rest = row;
    while let Some((&len, tail)) = rest.split_first() {
        let key =
            tail.get(..usize::from(len)).ok_or_else(|| StoreError::Corrupt("a stale list is cut short".into()))?;
        keys.push(key);
        rest = &tail[usize::from(len)..];
    }
    Ok(keys)
}

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
        store.commit(&b, &[], &update, b"cert").expect("commit")
    }

    /// The nice value of each of this process's threads with the given name (Linux's
    /// `/proc/self/task/TID/stat`, field 19).
    fn nice_of_threads(name: &str) -> Vec<i32> {
        let tasks = std::fs::read_dir("/proc/self/task").expect("a Linux /proc");
        tasks
            .filter_map(|task| {
                let path = task.expect("task").path();
                let comm = std::fs::read_to_string(path.join("comm")).ok()?;
                let stat = std::fs::read_to_string(path.join("stat")).ok()?;
                let after_name = &stat[stat.rfind(')')? + 2..];
                (comm.trim() == name).then(|| after_name.split(' ').nth(16)?.parse().ok())?
            })
            .collect()
    }

    #[test]
    fn the_store_flushes_and_compacts_at_a_lower_priority_than_its_caller() {
        let dir = tempfile::tempdir().expect("tempdir");
        let before = rustix::process::getpriority_process(None).expect("own priority");
        let _store = Store::open(dir.path()).expect("open");
        assert_eq!(rustix::process::getpriority_process(None).expect("own priority"), before);
        let workers = nice_of_threads("fjall:worker");
        assert!(!workers.is_empty(), "the store's worker threads are found by name");
        assert!(workers.iter().all(|&nice| nice == (before + BACKGROUND_NICE).min(19)), "{workers:?}");
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
            store.meta.insert(FORMAT, 9u32.to_be_bytes()).expect("write");
        }
        match Store::open(dir.path()) {
            Err(e @ StoreError::Format { found: 9, expected: STORE_FORMAT, .. }) => {
                assert!(e.to_string().contains("in format 9, and this build of civitas reads format 3"), "{e}");
                assert!(e.to_string().contains("civitas migrate"), "{e}");
            }
            other => panic!("another format: {:?}", other.map(|_| ())),
        }
        // Nothing migrates from a format this build does not know, and the store is untouched.
        assert!(matches!(Store::migrate(dir.path()), Err(StoreError::Format { found: 9, .. })));
        // A store of format 1 (before the stale-node index) is refused, then migrates in place.
        {
            let db = Database::builder(dir.path()).open().expect("open");
            db.keyspace("meta", KeyspaceCreateOptions::default)
                .expect("meta")
                .insert(FORMAT, 1u32.to_be_bytes())
                .expect("write");
        }
        assert!(matches!(Store::open(dir.path()), Err(StoreError::Format { found: 1, .. })));
        assert_eq!(Store::migrate(dir.path()).expect("migrates"), 1);
        assert_eq!(Store::migrate(dir.path()).expect("nothing to do"), STORE_FORMAT);
        let store = Store::open(dir.path()).expect("a migrated store opens");
        assert_eq!(store.format().expect("read"), Some(STORE_FORMAT));
        assert_eq!(store.get_latest(b"k").expect("read"), Some(b"v".to_vec()));
        commit(&store, [(b"k".to_vec(), Some(b"w".to_vec()))].into_iter().collect());
        assert_eq!(store.prove(b"k", 0).expect("the old height still proves").0, Some(b"v".to_vec()));
        drop(store);
        // A store from before formats were recorded has blocks and no format: it is format 1.
        {
            let db = Database::builder(dir.path()).open().expect("open");
            db.keyspace("meta", KeyspaceCreateOptions::default).expect("meta").remove(FORMAT).expect("remove");
        }
        assert!(matches!(Store::open(dir.path()), Err(StoreError::Format { found: 1, .. })));
        assert_eq!(Store::migrate(dir.path()).expect("migrates"), 1);
        assert_eq!(Store::open(dir.path()).expect("opens").get_latest(b"k").expect("read"), Some(b"w".to_vec()));
        // A new store is marked with this build's format.
        let fresh = tempfile::tempdir().expect("tempdir");
        assert_eq!(Store::open(fresh.path()).expect("open").format().expect("read"), Some(STORE_FORMAT));
    }

    #[test]
    fn a_store_of_format_2_migrates_its_tree_to_big_endian_keys_and_still_proves_and_prunes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let roots: Vec<Hash> = {
            let store = Store::open(dir.path()).expect("open");
            (0..12u64)
                .map(|h| {
                    let writes =
                        (0..30u64).map(|i| ((i * 7 + h).to_be_bytes().to_vec(), Some(h.to_be_bytes().to_vec())));
                    commit(&store, writes.collect()).state_root
                })
                .collect()
        };
        // Written back as format 2 wrote it: jmt's little-endian versions, the old keyspaces.
        {
            let db = Database::builder(dir.path()).open().expect("open");
            let move_rekeyed = |from: &str, to: &str, stale: bool| {
                let (from, to) = (
                    db.keyspace(from, KeyspaceCreateOptions::default).expect("from"),
                    db.keyspace(to, KeyspaceCreateOptions::default).expect("to"),
                );
                for guard in from.iter() {
                    let (key, value) = guard.into_inner().expect("row");
                    if stale {
                        let mut row = Vec::new();
                        for node in stale_list(&value[..]).expect("a stale list") {
                            push_stale(&mut row, &tree::storage_key(node.to_vec()));
                        }
                        to.insert(key, row).expect("write");
                    } else {
                        to.insert(tree::storage_key(key.to_vec()), value).expect("write");
                    }
                }
                assert!(!to.is_empty().expect("read"), "the store had rows to move");
                db.delete_keyspace(from).expect("delete");
            };
            move_rekeyed(NODES, NODES_BEFORE_3, false);
            move_rekeyed(STALE, STALE_BEFORE_3, true);
            db.keyspace("meta", KeyspaceCreateOptions::default)
                .expect("meta")
                .insert(FORMAT, 2u32.to_be_bytes())
                .expect("write");
        }
        assert!(matches!(Store::open(dir.path()), Err(StoreError::Format { found: 2, expected: 3, .. })));
        assert_eq!(Store::migrate(dir.path()).expect("migrates"), 2);
        assert_eq!(Store::migrate(dir.path()).expect("nothing left to do"), STORE_FORMAT);
        {
            let db = Database::builder(dir.path()).open().expect("open");
            assert!(!db.keyspace_exists(NODES_BEFORE_3) && !db.keyspace_exists(STALE_BEFORE_3));
        }
        // Every height still proves against its root, and the stale lists still prune.
        let store = Store::open_with(dir.path(), StoreOptions { history: History::Window(2), kept_keys: vec![] })
            .expect("open");
        for (h, root) in roots.iter().enumerate() {
            assert_eq!(store.block(h as u64).expect("read").expect("block").header.state_root, *root);
            assert_eq!(verify(&store, &(h as u64).to_be_bytes(), h as u64), Some((h as u64).to_be_bytes().to_vec()));
        }
        let before = store.nodes.iter().count();
        commit(&store, BTreeMap::from([(b"k".to_vec(), Some(b"v".to_vec()))]));
        assert_eq!(store.oldest_provable(), 10);
        assert!(store.nodes.iter().count() < before, "the nodes stale before height 10 are pruned");
        assert_eq!(verify(&store, b"k", 12), Some(b"v".to_vec()));
    }

    fn verify(store: &Store, key: &[u8], height: u64) -> Option<Vec<u8>> {
        let (value, proof) = store.prove(key, height).expect("provable");
        let proof: jmt::proof::SparseMerkleProof<Sha256> = borsh::from_slice(&proof).expect("a proof");
        let root = store.block(height).expect("read").expect("block").header.state_root;
        proof.verify(jmt::RootHash(root.0), KeyHash::with::<Sha256>(key), value.as_ref()).expect("the proof holds");
        value
    }

    #[test]
    fn a_window_prunes_old_trees_but_keeps_values_and_kept_proofs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = StoreOptions { history: History::Window(3), kept_keys: vec![b"set".to_vec()] };
        let nodes_after = |store: &Store| store.nodes.iter().count();
        {
            let store = Store::open_with(dir.path(), options.clone()).expect("open");
            let mut sizes = Vec::new();
            for h in 0..40u64 {
                let mut writes: Writes =
                    (0..50u64).map(|i| (i.to_be_bytes().to_vec(), Some(h.to_be_bytes().to_vec()))).collect();
                if h == 4 || h == 37 {
                    writes.insert(b"set".to_vec(), Some(h.to_be_bytes().to_vec()));
                }
                commit(&store, writes);
                sizes.push(nodes_after(&store));
            }
            // The tree's nodes stop growing: four heights' worth at most, not forty.
            assert!(sizes[39] <= sizes[9] + sizes[9] / 4, "nodes kept: {sizes:?}");
            assert_eq!(store.oldest_provable(), 36);
            for h in 36..40 {
                assert_eq!(verify(&store, &7u64.to_be_bytes(), h), Some(h.to_be_bytes().to_vec()));
            }
            match store.prove(&7u64.to_be_bytes(), 35) {
                Err(e @ StoreError::Pruned { height: 35, oldest: 36 }) => {
                    assert!(e.to_string().contains("from height 36 on"), "{e}")
                }
                other => panic!("a pruned height: {other:?}"),
            }
            // Values are all kept: the state at a pruned height still reads.
            assert_eq!(store.get_at(&7u64.to_be_bytes(), 2).expect("read"), Some(2u64.to_be_bytes().to_vec()));
            // A kept key's proof at each height that wrote it outlives pruning.
            assert_eq!(verify(&store, b"set", 4), Some(4u64.to_be_bytes().to_vec()));
            assert!(matches!(store.prove(b"set", 5), Err(StoreError::Pruned { .. })));
            // A crash between a commit and its kept proof (within the window): made good on open.
            store.kept.remove(value_key(KeyHash(tree::sha256(b"set")), 37)).expect("remove");
        }
        let store = Store::open_with(dir.path(), options).expect("reopen");
        assert_eq!(store.oldest_provable(), 36);
        assert!(store.kept.get(value_key(KeyHash(tree::sha256(b"set")), 37)).expect("read").is_some());
        assert_eq!(verify(&store, b"set", 37), Some(37u64.to_be_bytes().to_vec()));
        assert_eq!(verify(&store, b"set", 4), Some(4u64.to_be_bytes().to_vec()));
        // Reopened as an archive, it prunes no more but cannot bring back what was pruned.
        drop(store);
        let store = Store::open(dir.path()).expect("reopen as an archive");
        commit(&store, BTreeMap::from([(b"x".to_vec(), Some(b"1".to_vec()))]));
        assert_eq!(store.oldest_provable(), 36);
    }

    #[test]
    fn an_archive_proves_every_height() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        for h in 0..12u64 {
            commit(&store, BTreeMap::from([(b"a".to_vec(), Some(h.to_be_bytes().to_vec()))]));
        }
        for h in 0..12u64 {
            assert_eq!(verify(&store, b"a", h), Some(h.to_be_bytes().to_vec()));
        }
        assert_eq!(store.oldest_provable(), 0);
    }

    #[test]
    fn the_memory_report_counts_memtables_until_they_flush_and_then_tables_and_their_pinned_blocks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let empty = store.memory();
        // Only the store's format record is written on opening.
        assert!(empty.write_buffer_bytes < 1_000 && empty.tables == 0 && empty.pinned_bytes == 0, "{empty:?}");
        for h in 0..20u64 {
            commit(&store, (0..50u64).map(|k| ((h * 50 + k).to_be_bytes().to_vec(), Some(vec![7u8; 100]))).collect());
        }
        let written = store.memory();
        assert!(written.write_buffer_bytes > empty.write_buffer_bytes + 1_000 * 100, "{written:?}");
        assert_eq!(written.tables, 0, "{written:?}");
        store.values.rotate_memtable_and_wait().expect("flush");
        let flushed = store.memory();
        assert!(flushed.write_buffer_bytes < written.write_buffer_bytes, "{written:?} → {flushed:?}");
        assert!(flushed.tables >= 1 && flushed.pinned_bytes > 0, "{flushed:?}");
    }

    #[test]
    fn a_damaged_latest_block_or_state_root_stops_the_store_from_opening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (good, root_key) = {
            let store = Store::open(dir.path()).expect("open");
            for h in 0..3u64 {
                commit(&store, BTreeMap::from([(h.to_be_bytes().to_vec(), Some(b"v".to_vec()))]));
            }
            let good = store.blocks.get(2u64.to_be_bytes()).expect("read").expect("block").to_vec();
            // A changed byte that still decodes: the block's hash no longer matches the record.
            let mut changed = good.clone();
            changed[8] ^= 1;
            store.blocks.insert(2u64.to_be_bytes(), changed).expect("write");
            (good, tree::NodeKey { version: 2, path: tree::Path::ROOT }.encode())
        };
        let refused = |what: &str| match Store::open(dir.path()) {
            Err(e @ StoreError::Corrupt(_)) => assert!(e.to_string().contains(what), "{e}"),
            other => panic!("a damaged store opened: {:?}", other.map(|_| ())),
        };
        refused("the latest block (height 2) does not match the store's record");
        let reopen = |f: &dyn Fn(&Database)| {
            let db = Database::builder(dir.path()).open().expect("open");
            f(&db);
        };
        // Cut short: it does not decode.
        reopen(&|db| {
            let blocks = db.keyspace("blocks", KeyspaceCreateOptions::default).expect("blocks");
            blocks.insert(2u64.to_be_bytes(), &good[..good.len() / 2]).expect("write");
        });
        refused("the latest block (height 2) cannot be read");
        // The block is whole again, the tree's root is gone.
        reopen(&|db| {
            db.keyspace("blocks", KeyspaceCreateOptions::default)
                .expect("blocks")
                .insert(2u64.to_be_bytes(), &good[..])
                .expect("write");
            db.keyspace(NODES, KeyspaceCreateOptions::default).expect("nodes").remove(&root_key[..]).expect("remove");
        });
        refused("the state tree's root at height 2 is missing");
        // A root is there, but it is not the block's.
        reopen(&|db| {
            let tree = tree::Node::Null;
            db.keyspace(NODES, KeyspaceCreateOptions::default)
                .expect("nodes")
                .insert(&root_key[..], borsh::to_vec(&tree).expect("encode"))
                .expect("write");
        });
        refused("does not hash to the block's state root");
    }

    #[test]
    fn a_read_that_meets_damage_records_it_for_the_node_to_stop_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        for h in 0..3u64 {
            commit(&store, BTreeMap::from([(h.to_be_bytes().to_vec(), Some(b"v".to_vec()))]));
        }
        assert!(store.receipts(1).expect("read").is_some());
        assert_eq!(store.damage(), None);
        store.receipts.insert(1u64.to_be_bytes(), [0xffu8; 3]).expect("write");
        let e = store.receipts(1).expect_err("damaged receipts do not decode");
        assert!(e.to_string().contains("the receipts of block 1"), "{e}");
        assert!(store.damage().is_some_and(|d| d.contains("the receipts of block 1")), "{:?}", store.damage());
        // The first damage is kept; reads of what is whole still work.
        store.blocks.insert(0u64.to_be_bytes(), [1u8]).expect("write");
        assert!(store.block(0).is_err());
        assert!(store.damage().is_some_and(|d| d.contains("receipts")));
        assert!(store.block(2).expect("read").is_some());
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
        assert!(matches!(store.commit(&b, &[], &update, b"cert"), Err(StoreError::OutOfOrder { height: 5, .. })));
        assert_eq!(store.latest(), Some(c0));
        assert_eq!(store.get_latest(b"a").expect("read"), Some(b"1".to_vec()));
    }

    fn commit_update(store: &Store, update: &StateUpdate) -> Committed {
        let parent = store.latest().map_or(GENESIS_PARENT, |c| c.block_hash);
        let b = block(update.height(), parent, update.root());
        store.commit(&b, &[], update, b"cert").expect("commit")
    }

    #[test]
    fn a_block_on_uncommitted_blocks_that_do_not_follow_the_latest_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let c0 = commit(&store, BTreeMap::from([(b"a".to_vec(), Some(b"1".to_vec()))]));
        let writes = || BTreeMap::from([(b"a".to_vec(), Some(b"2".to_vec()))]);
        let next = Arc::new(store.prepare(writes(), 1).expect("prepare"));
        let refused = |r: Result<StateUpdate, StoreError>| matches!(r, Err(StoreError::OutOfOrder { .. }));
        // Not the height after the pending block.
        assert!(refused(store.prepare_on(std::slice::from_ref(&next), writes(), 3)));
        // A pending chain with a gap, or one that does not start after the latest block.
        let skipped = Arc::new(store.prepare_on(std::slice::from_ref(&next), writes(), 2).expect("prepare"));
        assert!(refused(store.prepare_on(std::slice::from_ref(&skipped), writes(), 3)));
        assert!(refused(store.prepare_on(&[next.clone(), next.clone()], writes(), 3)));
        // A pending block committed meanwhile is read from the store.
        let genesis = Arc::new(store.prepare(writes(), 0).expect("prepare"));
        assert!(store.prepare_on(&[genesis, next.clone()], writes(), 2).is_ok());
        assert!(store.prepare_on(std::slice::from_ref(&next), writes(), 2).is_ok());
        assert_eq!(store.latest(), Some(c0));
        assert_eq!(store.get_latest(b"a").expect("read"), Some(b"1".to_vec()));
        assert_eq!(store.get_through(std::slice::from_ref(&next), b"a").expect("read"), Some(b"2".to_vec()));
    }

    /// One block's writes over the keys `k0` to `k23`: a value, or `None` to delete the key.
    fn block_writes() -> impl Strategy<Value = Writes> {
        let key = (0u8..24).prop_map(|k| vec![b'k', k]);
        prop::collection::btree_map(key, prop::option::of(prop::collection::vec(any::<u8>(), 0..6)), 0..12)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn blocks_prepared_on_uncommitted_blocks_are_those_prepared_after_each_commit(
            start in block_writes(),
            blocks in prop::collection::vec(block_writes(), 1..5),
        ) {
            // `ahead` prepares every block before committing any; `step` commits each block
            // before it prepares the next.
            let (d1, d2) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
            let (ahead, step) = (Store::open(d1.path()).expect("open"), Store::open(d2.path()).expect("open"));
            commit(&ahead, start.clone());
            commit(&step, start);
            let base = ahead.latest().expect("committed").height;
            let mut pending: Vec<Arc<StateUpdate>> = Vec::new();
            for (height, writes) in (base + 1..).zip(&blocks) {
                let update = ahead.prepare_on(&pending, writes.clone(), height).expect("prepare on pending");
                let reference = step.prepare(writes.clone(), height).expect("prepare");
                prop_assert_eq!(update.root(), reference.root());
                prop_assert_eq!(&update.nodes, &reference.nodes);
                prop_assert_eq!(&update.stale, &reference.stale);
                prop_assert_eq!(&update.values, &reference.values);
                pending.push(Arc::new(update));
                commit_update(&step, &reference);
                for k in 0u8..24 {
                    let key = [b'k', k];
                    prop_assert_eq!(ahead.get_through(&pending, &key).expect("read"), step.get_latest(&key).expect("read"));
                }
            }
            for update in pending {
                commit_update(&ahead, &update);
            }
            prop_assert_eq!(ahead.latest(), step.latest());
            let height = ahead.latest().expect("committed").height;
            for k in 0u8..24 {
                let key = [b'k', k];
                prop_assert_eq!(ahead.get_latest(&key).expect("read"), step.get_latest(&key).expect("read"));
                prop_assert_eq!(ahead.prove(&key, height).expect("prove"), step.prove(&key, height).expect("prove"));
            }
        }
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
