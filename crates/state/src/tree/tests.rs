//! The one-pass update against jmt's own `put_value_set`, on random inserts, updates and
//! deletes: the same roots, the same proofs, nodes jmt decodes, and stale lists that pruning
//! can trust.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use jmt::storage::{LeafNode, Node as JmtNode, NodeKey as JmtNodeKey, TreeReader};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, Version};
use proptest::prelude::*;
use sha2::Sha256;

use super::*;

/// Values by key hash and version.
type Values = BTreeMap<(Hash32, u64), Option<Vec<u8>>>;

/// A tree in memory, stored as the node does it: borsh bytes under borsh keys.
#[derive(Default)]
struct Mem {
    nodes: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    values: Mutex<Values>,
    /// Stale node keys by the version they became stale at.
    stale: Mutex<BTreeMap<u64, Vec<Vec<u8>>>>,
}

impl NodeSource for Mem {
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, StoreError> {
        let nodes = self.nodes.lock().expect("lock");
        Ok(nodes.get(&key.encode()).map(|b| borsh::from_slice(b).expect("our decoder reads the node")))
    }
}

impl TreeReader for Mem {
    fn get_node_option(&self, node_key: &JmtNodeKey) -> anyhow::Result<Option<JmtNode>> {
        let key = storage_key(borsh::to_vec(node_key)?);
        let nodes = self.nodes.lock().expect("lock");
        Ok(nodes.get(&key).map(|b| borsh::from_slice(b).expect("jmt decodes the node")))
    }

    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
        let values = self.values.lock().expect("lock");
        Ok(values.range((key_hash.0, 0)..=(key_hash.0, max_version)).next_back().and_then(|(_, v)| v.clone()))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(JmtNodeKey, LeafNode)>> {
        unimplemented!("not used by these tests")
    }
}

impl Mem {
    fn put_values(&self, version: u64, block: &BTreeMap<Hash32, Option<Vec<u8>>>) {
        let mut values = self.values.lock().expect("lock");
        for (k, v) in block {
            values.insert((*k, version), v.clone());
        }
    }

    /// Applies a block with jmt; returns its root and how many nodes it wrote.
    fn apply_jmt(&self, version: u64, block: &BTreeMap<Hash32, Option<Vec<u8>>>) -> (Hash32, usize) {
        let tree: JellyfishMerkleTree<'_, Mem, Sha256> = JellyfishMerkleTree::new(self);
        let (root, batch) = tree
            .put_value_set(block.iter().map(|(k, v)| (KeyHash(*k), v.clone())), version)
            .expect("jmt applies the block");
        let mut nodes = self.nodes.lock().expect("lock");
        for (key, node) in batch.node_batch.nodes() {
            nodes.insert(storage_key(borsh::to_vec(key).expect("encode")), borsh::to_vec(node).expect("encode"));
        }
        drop(nodes);
        self.put_values(version, block);
        (root.0, batch.node_batch.nodes().len())
    }

    /// Applies a block with the one-pass update; returns its root and how many nodes it wrote.
    fn apply_ours(&self, version: u64, block: &BTreeMap<Hash32, Option<Vec<u8>>>) -> (Hash32, usize) {
        let writes: Vec<Write> = block.iter().map(|(k, v)| (*k, v.as_deref().map(sha256))).collect();
        let update = update(self, version.checked_sub(1), version, &writes).expect("the update applies");
        let mut nodes = self.nodes.lock().expect("lock");
        for (key, node) in &update.nodes {
            let bytes = borsh::to_vec(node).expect("encode");
            // Our encoding is jmt's: jmt decodes it and encodes it back to the same bytes.
            let theirs: JmtNode = borsh::from_slice(&bytes).expect("jmt decodes our node");
            assert_eq!(borsh::to_vec(&theirs).expect("encode"), bytes);
            assert!(nodes.insert(key.encode(), bytes).is_none(), "a node key is written once");
        }
        drop(nodes);
        let stale = update.stale.iter().map(NodeKey::encode).collect::<Vec<_>>();
        assert_eq!(stale.iter().collect::<BTreeSet<_>>().len(), stale.len(), "a node goes stale once");
        self.stale.lock().expect("lock").insert(version, stale);
        self.put_values(version, block);
        (update.root, update.nodes.len())
    }

    /// Deletes every node stale since `version` or before.
    fn prune_through(&self, version: u64) {
        let mut stale = self.stale.lock().expect("lock");
        let mut nodes = self.nodes.lock().expect("lock");
        let later = stale.split_off(&(version + 1));
        for keys in stale.values() {
            for k in keys {
                assert!(nodes.remove(k).is_some(), "a stale node existed");
            }
        }
        *stale = later;
    }

    fn proof(&self, key: Hash32, version: u64) -> (Option<Vec<u8>>, Vec<u8>) {
        let tree: JellyfishMerkleTree<'_, Mem, Sha256> = JellyfishMerkleTree::new(self);
        let (value, proof) = tree.get_with_proof(KeyHash(key), version).expect("a proof");
        (value, borsh::to_vec(&proof).expect("encode"))
    }

    /// How many nodes the tree of `version` has.
    fn reachable(&self, version: u64) -> usize {
        fn walk(mem: &Mem, key: NodeKey) -> usize {
            match mem.node(&key).expect("read").expect("every reachable node is stored") {
                Node::Internal(n) => {
                    1 + n
                        .children
                        .slots
                        .iter()
                        .enumerate()
                        .filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
                        .map(|(i, c)| walk(mem, NodeKey { version: c.version, path: key.path.child(i as u8) }))
                        .sum::<usize>()
                }
                _ => 1,
            }
        }
        walk(self, NodeKey { version, path: Path::ROOT })
    }
}

/// Key hashes that share long prefixes, so trees grow deep, chains of single children form
/// and deletes collapse them: each byte is drawn from a few values.
fn key_hashes() -> impl Strategy<Value = Vec<Hash32>> {
    prop::collection::btree_set(prop::collection::vec(prop::sample::select(vec![0x00u8, 0x01, 0x10, 0xf0]), 4), 8..48)
        .prop_map(|set| {
            set.into_iter()
                .map(|head| {
                    let mut k = sha256(&head);
                    k[..4].copy_from_slice(&head);
                    k
                })
                .collect()
        })
}

type Blocks = Vec<BTreeMap<usize, Option<Vec<u8>>>>;

fn blocks() -> impl Strategy<Value = Blocks> {
    let write = prop::option::weighted(0.7, prop::collection::vec(any::<u8>(), 0..3));
    prop::collection::vec(prop::collection::btree_map(0usize..48, write, 0..24), 1..8)
}

fn resolve(keys: &[Hash32], block: &BTreeMap<usize, Option<Vec<u8>>>) -> BTreeMap<Hash32, Option<Vec<u8>>> {
    block.iter().map(|(i, v)| (keys[i % keys.len()], v.clone())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn one_pass_gives_jmt_roots_proofs_and_nodes(keys in key_hashes(), blocks in blocks()) {
        let theirs = Mem::default();
        let ours = Mem::default();
        // Every other block by jmt, so each reads the other's nodes.
        let mixed = Mem::default();
        for (version, block) in blocks.iter().enumerate() {
            let version = version as u64;
            let block = resolve(&keys, block);
            let (root, jmt_nodes) = theirs.apply_jmt(version, &block);
            let (our_root, our_nodes) = ours.apply_ours(version, &block);
            prop_assert_eq!(our_root, root, "version {}", version);
            prop_assert!(our_nodes <= jmt_nodes, "at most jmt's nodes: {} > {} at version {} block {:?}", our_nodes, jmt_nodes, version, block);
            let (mixed_root, _) =
                if version.is_multiple_of(2) { mixed.apply_ours(version, &block) } else { mixed.apply_jmt(version, &block) };
            prop_assert_eq!(mixed_root, root);
            for key in &keys {
                prop_assert_eq!(ours.proof(*key, version), theirs.proof(*key, version));
                prop_assert_eq!(mixed.proof(*key, version), theirs.proof(*key, version));
            }
        }
    }

    #[test]
    fn stale_lists_are_complete_and_exact(keys in key_hashes(), blocks in blocks(), window in 0u64..3) {
        // Pruning every node stale since `version - window` keeps every height from there on
        // provable, and with no window leaves exactly the latest tree.
        let theirs = Mem::default();
        let ours = Mem::default();
        for (version, block) in blocks.iter().enumerate() {
            let version = version as u64;
            let block = resolve(&keys, block);
            theirs.apply_jmt(version, &block);
            ours.apply_ours(version, &block);
            let keep = version.saturating_sub(window);
            ours.prune_through(keep);
            for v in keep..=version {
                for key in &keys {
                    prop_assert_eq!(ours.proof(*key, v), theirs.proof(*key, v));
                }
            }
            if window == 0 {
                prop_assert_eq!(ours.nodes.lock().expect("lock").len(), ours.reachable(version));
            }
        }
    }
}

#[test]
fn the_empty_tree_and_a_tree_emptied_have_the_placeholder_root() {
    let mem = Mem::default();
    let k = sha256(b"k");
    let empty = BTreeMap::new();
    assert_eq!(mem.apply_ours(0, &empty).0, PLACEHOLDER);
    assert_ne!(mem.apply_ours(1, &BTreeMap::from([(k, Some(b"v".to_vec()))])).0, PLACEHOLDER);
    assert_eq!(mem.apply_ours(2, &BTreeMap::from([(k, None)])).0, PLACEHOLDER);
    // A delete of a key that is not there changes nothing but the root's version.
    assert_eq!(mem.apply_ours(3, &BTreeMap::from([(sha256(b"absent"), None)])).0, PLACEHOLDER);
}

#[test]
fn a_large_block_split_across_threads_matches_jmt() {
    let theirs = Mem::default();
    let ours = Mem::default();
    for version in 0..3u64 {
        let block: BTreeMap<Hash32, Option<Vec<u8>>> = (0..2_000u64)
            .map(|i| {
                let k = sha256(&(i * 7 + version * 1_000).to_be_bytes());
                (k, (i % 9 != 0).then(|| version.to_be_bytes().to_vec()))
            })
            .collect();
        assert!(block.len() >= PARALLEL_MIN_WRITES);
        assert_eq!(ours.apply_ours(version, &block).0, theirs.apply_jmt(version, &block).0, "version {version}");
    }
}

#[test]
fn a_missing_node_is_a_corrupt_store_not_a_panic() {
    let mem = Mem::default();
    let writes: Vec<Write> = (0..20u8).map(|i| (sha256(&[i]), Some(sha256(b"v")))).collect();
    mem.apply_ours(0, &writes.iter().map(|(k, _)| (*k, Some(b"v".to_vec()))).collect());
    mem.nodes.lock().expect("lock").retain(|k, _| k.len() <= 20);
    assert!(matches!(update(&mem, Some(0), 1, &writes[..1]), Err(StoreError::Corrupt(_))));
    assert!(matches!(update(&mem, Some(5), 6, &writes[..1]), Err(StoreError::Corrupt(_))));
}

proptest! {
    #[test]
    fn storage_keys_sort_by_version_first_and_turn_into_jmts(
        versions in (0u64..u64::MAX, 0u64..u64::MAX),
        nibbles in (prop::collection::vec(0u8..16, 0..64), prop::collection::vec(0u8..16, 0..64)),
    ) {
        let key = |version: u64, nibbles: &[u8]| {
            let path = nibbles.iter().fold(Path::ROOT, |path, &n| path.child(n));
            NodeKey { version, path }
        };
        let (a, b) = (key(versions.0, &nibbles.0), key(versions.1, &nibbles.1));
        if versions.0 != versions.1 {
            prop_assert_eq!(a.encode() < b.encode(), versions.0 < versions.1);
        }
        // jmt's encoding is the same with the version little-endian (the differential tests
        // above read our nodes with jmt through `storage_key`).
        prop_assert_eq!(storage_key(a.encode()), {
            let mut jmt = a.encode();
            jmt[..8].copy_from_slice(&versions.0.to_le_bytes());
            jmt
        });
    }
}
