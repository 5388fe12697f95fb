//! The state tree's update: one pass over the Jellyfish Merkle Tree per block.
//!
//! jmt 0.12's `put_value_set` inserts key by key, so the root and the upper levels are rebuilt
//! and re-hashed once per written key. This module applies a block's sorted writes in one
//! descent: every touched node is read once, rebuilt once and hashed once, and the top of the
//! tree's subtrees are updated on the available cores.
//!
//! The tree is jmt's, node for node: the same node layout (borsh, so jmt reads what is written
//! here and the proofs are jmt's `get_with_proof`), the same hashing and the same canonical
//! shape, so the same contents give the same root. `tests` checks it against jmt on random
//! inserts, updates and deletes: the roots, every proof, and that jmt decodes every node.
//!
//! Two differences from jmt's output, neither visible in roots or proofs: a leaf untouched by
//! the block keeps its version where jmt, depending on the order it applied the keys, may
//! rewrite it; and every node the block replaces is listed as stale (jmt omits the previous
//! root when the root is carried over unchanged, and a previous empty root), which pruning
//! relies on.

use std::collections::BTreeMap;
use std::sync::Mutex;

use borsh::{BorshDeserialize, BorshSerialize};
use sha2::{Digest, Sha256};

use crate::store::StoreError;

/// A 32-byte hash.
pub(crate) type Hash32 = [u8; 32];

/// The hash of an empty subtree (jmt's placeholder).
const PLACEHOLDER: Hash32 = *b"SPARSE_MERKLE_PLACEHOLDER_HASH__";
const LEAF_DOMAIN: &[u8] = b"JMT::LeafNode";
const INTERNAL_DOMAIN: &[u8] = b"JMT::IntrnalNode";

/// Writes at least this many keys are split across threads at the root.
const PARALLEL_MIN_WRITES: usize = 256;

/// A tree node, laid out as jmt's `storage::Node` is in borsh.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) enum Node {
    /// The root of the empty tree.
    Null,
    /// Up to 16 children.
    Internal(Internal),
    /// One key's value hash.
    Leaf(Leaf),
}

/// jmt's `InternalNode`: its children and the number of leaves below it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) struct Internal {
    children: Children,
    leaf_count: u64,
}

/// jmt's `Children`: a slot per nibble and how many are filled.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
struct Children {
    slots: Box<[Option<Child>; 16]>,
    count: u64,
}

/// jmt's `Child`: the child's hash, the version it was written at, and what it is.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
struct Child {
    hash: Hash32,
    version: u64,
    kind: ChildKind,
}

/// jmt's `NodeType`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
enum ChildKind {
    Leaf,
    Internal { leaf_count: u64 },
}

/// jmt's `LeafNode`: the key's hash and its value's hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) struct Leaf {
    key_hash: Hash32,
    value_hash: Hash32,
}

impl Leaf {
    fn hash(&self) -> Hash32 {
        let mut h = Sha256::new();
        h.update(LEAF_DOMAIN);
        h.update(self.key_hash);
        h.update(self.value_hash);
        h.finalize().into()
    }
}

impl Internal {
    fn new(slots: Box<[Option<Child>; 16]>) -> Internal {
        let count = slots.iter().flatten().count() as u64;
        let leaf_count = slots.iter().flatten().map(Child::leaf_count).sum();
        Internal { children: Children { slots, count }, leaf_count }
    }

    /// jmt's hash of an internal node: a four-level binary Merkle tree over the 16 slots, in
    /// which an empty range is the placeholder and a range holding one leaf alone is that leaf.
    fn hash(&self) -> Hash32 {
        let (mut exists, mut leaves) = (0u16, 0u16);
        for (i, child) in self.children.slots.iter().enumerate() {
            if let Some(child) = child {
                exists |= 1 << i;
                if child.kind == ChildKind::Leaf {
                    leaves |= 1 << i;
                }
            }
        }
        self.range_hash(0, 16, exists, leaves)
    }

    fn range_hash(&self, start: u32, width: u32, exists: u16, leaves: u16) -> Hash32 {
        let mask = (((1u32 << width) - 1) << start) as u16;
        let (exists, leaves) = (exists & mask, leaves & mask);
        if exists == 0 {
            PLACEHOLDER
        } else if width == 1 || (exists.count_ones() == 1 && leaves != 0) {
            let only = exists.trailing_zeros() as usize;
            self.children.slots[only].as_ref().map_or(PLACEHOLDER, |c| c.hash)
        } else {
            let left = self.range_hash(start, width / 2, exists, leaves);
            let right = self.range_hash(start + width / 2, width / 2, exists, leaves);
            let mut h = Sha256::new();
            h.update(INTERNAL_DOMAIN);
            h.update(left);
            h.update(right);
            h.finalize().into()
        }
    }
}

impl Child {
    fn leaf_count(&self) -> u64 {
        match self.kind {
            ChildKind::Leaf => 1,
            ChildKind::Internal { leaf_count } => leaf_count,
        }
    }
}

impl Node {
    /// The node's hash: the placeholder for the empty tree.
    pub(crate) fn hash(&self) -> Hash32 {
        match self {
            Node::Null => PLACEHOLDER,
            Node::Internal(n) => n.hash(),
            Node::Leaf(l) => l.hash(),
        }
    }
}

/// A node's place in the tree: the first `len` nibbles of `bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Path {
    bytes: [u8; 32],
    len: usize,
}

impl Path {
    pub(crate) const ROOT: Path = Path { bytes: [0; 32], len: 0 };

    fn child(&self, nibble: u8) -> Path {
        let mut bytes = self.bytes;
        let i = self.len / 2;
        if self.len.is_multiple_of(2) {
            bytes[i] = nibble << 4;
        } else {
            bytes[i] = (bytes[i] & 0xf0) | nibble;
        }
        Path { bytes, len: self.len + 1 }
    }
}

/// Where a node is stored: the version that wrote it and its path (jmt's `NodeKey`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct NodeKey {
    pub(crate) version: u64,
    pub(crate) path: Path,
}

impl NodeKey {
    /// The node's key in the store: jmt's borsh encoding of its `NodeKey` (the version, the
    /// number of nibbles, then the path's bytes, two nibbles a byte, an odd last nibble padded
    /// with zero), except that the version is big-endian ([`storage_key`]).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let n = self.path.len.div_ceil(2);
        let mut out = Vec::with_capacity(20 + n);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&(self.path.len as u64).to_le_bytes());
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&self.path.bytes[..n]);
        out
    }
}

/// A node's key in the store from jmt's borsh encoding of its `NodeKey`, and back: the leading
/// version turned between little- and big-endian. Keyed by the version in big-endian first, a
/// block's nodes sort after every earlier block's, so the database's compactions move them
/// down whole instead of merging them into the older nodes.
pub(crate) fn storage_key(mut borsh: Vec<u8>) -> Vec<u8> {
    if let Some(version) = borsh.get_mut(..8) {
        version.reverse();
    }
    borsh
}

fn nibble(key: &Hash32, depth: usize) -> u8 {
    let b = key[depth / 2];
    if depth.is_multiple_of(2) { b >> 4 } else { b & 0x0f }
}

/// Where the update reads the tree as it was after the previous block.
pub(crate) trait NodeSource: Sync {
    /// The node stored at `key`, if any.
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, StoreError>;
}

/// One write: a key's hash and its new value's hash, or `None` to delete it.
pub(crate) type Write = (Hash32, Option<Hash32>);

/// What one version's update writes and replaces.
#[derive(Debug, Default)]
pub(crate) struct TreeUpdate {
    /// The new root hash.
    pub(crate) root: Hash32,
    /// The nodes written at this version.
    pub(crate) nodes: Vec<(NodeKey, Node)>,
    /// The nodes of the previous version that this one no longer uses.
    pub(crate) stale: Vec<NodeKey>,
}

/// A subtree's outcome and what updating it wrote, from one thread.
type GroupResult = Result<(Outcome, TreeUpdate), StoreError>;

/// What became of a subtree.
enum Outcome {
    /// Nothing in it changed: its parent keeps its entry.
    Same,
    /// No key is left in it.
    Empty,
    /// One leaf is left; the parent places it (a leaf sits as high as it is alone). `moved`
    /// is where it is stored now, if it is an existing leaf that must move.
    Leaf { leaf: Leaf, moved: Option<NodeKey> },
    /// A new internal node, already written at this version.
    Internal { hash: Hash32, leaf_count: u64 },
}

struct Pass<'a, S> {
    source: &'a S,
    version: u64,
    out: TreeUpdate,
}

/// Applies `writes` (sorted by key hash, one per key) to the tree whose root is stored at
/// `(previous, [])`, or to the empty tree when `previous` is `None`, as version `version`.
pub(crate) fn update<S: NodeSource>(
    source: &S,
    previous: Option<u64>,
    version: u64,
    writes: &[Write],
) -> Result<TreeUpdate, StoreError> {
    debug_assert!(writes.windows(2).all(|w| w[0].0 < w[1].0), "writes are sorted and distinct");
    let root_key = previous.map(|v| NodeKey { version: v, path: Path::ROOT });
    let root = match root_key {
        None => Node::Null,
        Some(key) => source
            .node(&key)?
            .ok_or_else(|| StoreError::Corrupt(format!("the state root of version {} is missing", key.version)))?,
    };
    let mut pass = Pass { source, version, out: TreeUpdate::default() };
    // `internal` and `leaf` list the node they replace; an empty root or an unchanged one is
    // replaced too (a carried-over root is rewritten at this version).
    let root_replaced_below = !matches!(root, Node::Null);
    let outcome = match (&root, root_key) {
        (Node::Internal(node), Some(key)) => pass.internal(key, node, writes)?,
        (Node::Leaf(leaf), Some(key)) => pass.leaf(key, *leaf, writes, 0)?,
        (Node::Null, _) | (_, None) => pass.build(Path::ROOT, &inserts(writes), 0),
    };
    let new_root = NodeKey { version, path: Path::ROOT };
    if let Some(old) = root_key
        && (!root_replaced_below || matches!(outcome, Outcome::Same))
    {
        pass.out.stale.push(old);
    }
    let root_node = match outcome {
        // Every version has a root node: an unchanged one is carried over.
        Outcome::Same => Some(root.clone()),
        Outcome::Empty => Some(Node::Null),
        Outcome::Leaf { leaf, moved } => {
            pass.out.stale.extend(moved);
            Some(Node::Leaf(leaf))
        }
        Outcome::Internal { hash, .. } => {
            pass.out.root = hash;
            None
        }
    };
    if let Some(node) = root_node {
        pass.out.root = node.hash();
        pass.out.nodes.push((new_root, node));
    }
    Ok(pass.out)
}

/// The inserts among `writes`: where no node exists yet, a delete changes nothing.
fn inserts(writes: &[Write]) -> Vec<Leaf> {
    writes.iter().filter_map(|(k, v)| v.map(|value_hash| Leaf { key_hash: *k, value_hash })).collect()
}

/// The runs of `writes` that share the nibble at `depth`.
fn groups<T>(items: &[T], key: impl Fn(&T) -> &Hash32, depth: usize) -> Vec<(u8, &[T])> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let n = nibble(key(&items[start]), depth);
        let mut end = start + 1;
        while end < items.len() && nibble(key(&items[end]), depth) == n {
            end += 1;
        }
        out.push((n, &items[start..end]));
        start = end;
    }
    out
}

impl<S: NodeSource> Pass<'_, S> {
    fn read(&self, key: &NodeKey) -> Result<Node, StoreError> {
        self.source.node(key)?.ok_or_else(|| {
            StoreError::Corrupt(format!("state tree node at version {} depth {} is missing", key.version, key.path.len))
        })
    }

    /// Applies `writes` below the internal node stored at `key`.
    fn internal(&mut self, key: NodeKey, node: &Internal, writes: &[Write]) -> Result<Outcome, StoreError> {
        let depth = key.path.len;
        let groups = groups(writes, |w| &w.0, depth);
        let outcomes: Vec<(u8, Outcome, TreeUpdate)> = if depth == 0 && writes.len() >= PARALLEL_MIN_WRITES {
            self.children_in_parallel(key, node, &groups)?
        } else {
            let mut v = Vec::with_capacity(groups.len());
            for (n, group) in &groups {
                let outcome = self.child(key, node, *n, group)?;
                v.push((*n, outcome, TreeUpdate::default()));
            }
            v
        };
        let mut slots = node.children.slots.clone();
        let mut pending: Vec<(u8, Leaf, Option<NodeKey>)> = Vec::new();
        let mut changed = false;
        for (n, outcome, part) in outcomes {
            self.out.nodes.extend(part.nodes);
            self.out.stale.extend(part.stale);
            let slot = &mut slots[n as usize];
            match outcome {
                Outcome::Same => {}
                Outcome::Empty => {
                    changed = true;
                    *slot = None;
                }
                Outcome::Leaf { leaf, moved } => {
                    changed = true;
                    *slot = Some(Child { hash: leaf.hash(), version: self.version, kind: ChildKind::Leaf });
                    pending.push((n, leaf, moved));
                }
                Outcome::Internal { hash, leaf_count } => {
                    changed = true;
                    *slot = Some(Child { hash, version: self.version, kind: ChildKind::Internal { leaf_count } });
                }
            }
        }
        if !changed {
            return Ok(Outcome::Same);
        }
        self.out.stale.push(key);
        let mut filled = slots.iter().enumerate().filter_map(|(i, c)| c.as_ref().map(|c| (i, c)));
        let first = filled.next();
        let alone = filled.next().is_none();
        match first {
            None => Ok(Outcome::Empty),
            Some((i, child)) if alone && child.kind == ChildKind::Leaf => {
                // One leaf is left: it moves up to where this node was.
                if let Some((_, leaf, moved)) = pending.pop() {
                    return Ok(Outcome::Leaf { leaf, moved });
                }
                let at = NodeKey { version: child.version, path: key.path.child(i as u8) };
                match self.read(&at)? {
                    Node::Leaf(leaf) => Ok(Outcome::Leaf { leaf, moved: Some(at) }),
                    _ => Err(StoreError::Corrupt("a leaf child of the state tree is not a leaf".into())),
                }
            }
            Some(_) => {
                for (n, leaf, moved) in pending {
                    self.out.stale.extend(moved);
                    self.out.nodes.push((NodeKey { version: self.version, path: key.path.child(n) }, Node::Leaf(leaf)));
                }
                let internal = Internal::new(slots);
                let (hash, leaf_count) = (internal.hash(), internal.leaf_count);
                self.out.nodes.push((NodeKey { version: self.version, path: key.path }, Node::Internal(internal)));
                Ok(Outcome::Internal { hash, leaf_count })
            }
        }
    }

    /// The root's children, each on a thread of its own share of the cores.
    fn children_in_parallel(
        &self,
        key: NodeKey,
        node: &Internal,
        groups: &[(u8, &[Write])],
    ) -> Result<Vec<(u8, Outcome, TreeUpdate)>, StoreError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 16);
        // Share the groups out by size, largest first, so the threads finish together.
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(groups[i].1.len()));
        let mut shares: Vec<(usize, Vec<usize>)> = (0..threads).map(|_| (0, Vec::new())).collect();
        for i in order {
            let lightest = shares.iter_mut().min_by_key(|s| s.0).expect("at least one thread");
            lightest.0 += groups[i].1.len();
            lightest.1.push(i);
        }
        let mut results: Vec<Option<GroupResult>> = (0..groups.len()).map(|_| None).collect();
        std::thread::scope(|scope| {
            let running: Vec<_> = shares
                .iter()
                .filter(|s| !s.1.is_empty())
                .map(|(_, share)| {
                    scope.spawn(move || {
                        share
                            .iter()
                            .map(|&i| {
                                let (n, group) = groups[i];
                                let mut pass =
                                    Pass { source: self.source, version: self.version, out: TreeUpdate::default() };
                                (i, pass.child(key, node, n, group).map(|o| (o, pass.out)))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for thread in running {
                // The update neither panics nor unwinds; a panic would be a bug, shown as such.
                for (i, r) in thread.join().expect("a tree update thread panicked") {
                    results[i] = Some(r);
                }
            }
        });
        groups
            .iter()
            .zip(results)
            .map(|((n, _), r)| {
                let (outcome, part) = r.expect("every group was run")?;
                Ok((*n, outcome, part))
            })
            .collect()
    }

    /// Applies `writes` to child `n` of the internal node at `parent`.
    fn child(&mut self, parent: NodeKey, node: &Internal, n: u8, writes: &[Write]) -> Result<Outcome, StoreError> {
        let path = parent.path.child(n);
        match &node.children.slots[n as usize] {
            None => {
                let leaves = inserts(writes);
                if leaves.is_empty() {
                    // Only deletes of keys that are not here.
                    return Ok(Outcome::Same);
                }
                Ok(self.build(path, &leaves, path.len))
            }
            Some(child) => {
                let key = NodeKey { version: child.version, path };
                match self.read(&key)? {
                    Node::Internal(inner) => self.internal(key, &inner, writes),
                    Node::Leaf(leaf) => self.leaf(key, leaf, writes, path.len),
                    Node::Null => Err(StoreError::Corrupt("an empty node below the state tree's root".into())),
                }
            }
        }
    }

    /// Applies `writes` where the existing `leaf` stands (stored at `key`, `depth` deep).
    fn leaf(&mut self, key: NodeKey, leaf: Leaf, writes: &[Write], depth: usize) -> Result<Outcome, StoreError> {
        let touches = writes.iter().any(|(k, v)| *k == leaf.key_hash || v.is_some());
        if !touches {
            // Only deletes of keys that are not here.
            return Ok(Outcome::Same);
        }
        self.out.stale.push(key);
        let mut entries = inserts(writes);
        if !writes.iter().any(|(k, _)| *k == leaf.key_hash) {
            let at = entries.partition_point(|l| l.key_hash < leaf.key_hash);
            entries.insert(at, leaf);
        }
        Ok(self.build(key.path, &entries, depth))
    }

    /// A new subtree at `path` holding `leaves` (sorted by key hash).
    fn build(&mut self, path: Path, leaves: &[Leaf], depth: usize) -> Outcome {
        match leaves {
            [] => Outcome::Empty,
            [leaf] => Outcome::Leaf { leaf: *leaf, moved: None },
            _ => {
                let mut slots: Box<[Option<Child>; 16]> = Box::default();
                for (n, group) in groups(leaves, |l| &l.key_hash, depth) {
                    let child = path.child(n);
                    slots[n as usize] = Some(match self.build(child, group, depth + 1) {
                        Outcome::Leaf { leaf, .. } => {
                            let hash = leaf.hash();
                            self.out.nodes.push((NodeKey { version: self.version, path: child }, Node::Leaf(leaf)));
                            Child { hash, version: self.version, kind: ChildKind::Leaf }
                        }
                        Outcome::Internal { hash, leaf_count } => {
                            Child { hash, version: self.version, kind: ChildKind::Internal { leaf_count } }
                        }
                        Outcome::Same | Outcome::Empty => unreachable!("a group holds at least one leaf"),
                    });
                }
                let internal = Internal::new(slots);
                let (hash, leaf_count) = (internal.hash(), internal.leaf_count);
                self.out.nodes.push((NodeKey { version: self.version, path }, Node::Internal(internal)));
                Outcome::Internal { hash, leaf_count }
            }
        }
    }
}

/// Decoded nodes of the upper tree levels, shared across blocks. A node never changes once
/// written under its key, so any cached node is right; the cache only bounds its memory.
pub(crate) struct NodeCache {
    nodes: Mutex<BTreeMap<NodeKey, Node>>,
}

/// Nodes this many nibbles deep or less are cached (1 + 16 + 256 + 4,096 + 65,536 in a full
/// tree, which a tree of some 10^6 keys or more fills; about 1 KiB each): every write's path
/// below them is two or three nodes read from the database.
pub(crate) const CACHE_DEPTH: usize = 4;
/// At most this many nodes are cached; a full cache is emptied and fills again.
const CACHE_MAX: usize = 100_000;

impl NodeCache {
    pub(crate) fn new() -> NodeCache {
        NodeCache { nodes: Mutex::new(BTreeMap::new()) }
    }

    pub(crate) fn get(&self, key: &NodeKey) -> Option<Node> {
        if key.path.len > CACHE_DEPTH {
            return None;
        }
        self.nodes.lock().expect("no thread panics holding it").get(key).cloned()
    }

    pub(crate) fn put(&self, key: NodeKey, node: &Node) {
        if key.path.len > CACHE_DEPTH {
            return;
        }
        let mut nodes = self.nodes.lock().expect("no thread panics holding it");
        if nodes.len() >= CACHE_MAX {
            nodes.clear();
        }
        nodes.insert(key, node.clone());
    }

    pub(crate) fn forget(&self, key: &NodeKey) {
        if key.path.len <= CACHE_DEPTH {
            self.nodes.lock().expect("no thread panics holding it").remove(key);
        }
    }
}

/// The SHA-256 of `bytes` (key and value hashes, as jmt's `KeyHash::with::<Sha256>`).
pub(crate) fn sha256(bytes: &[u8]) -> Hash32 {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests;
