//! Binary Merkle trees over ordered lists (transactions, receipts, anchored event batches), in
//! the shape of RFC 6962 and RFC 9162 (the same root as their Merkle Tree Hash, tested below):
//! leaves and inner nodes are hashed with distinct prefixes so one can't pose as the other, and
//! an odd node is promoted, not duplicated, so no two lists share a root.

use crate::crypto::Hash;

/// The leaf hash of `data`.
pub fn leaf(data: &[u8]) -> Hash {
    Hash::digest_parts(&[&[0x00], data])
}

fn node(left: &Hash, right: &Hash) -> Hash {
    Hash::digest_parts(&[&[0x01], &left.0, &right.0])
}

/// The root over `leaves` (already leaf-hashed). The empty list has the hash of no bytes.
pub fn root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Hash::digest(&[]);
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => node(l, r),
                [only] => *only,
                _ => unreachable!("chunks(2) yields one or two items"),
            })
            .collect();
    }
    level[0]
}

/// The sibling path proving the leaf at `index` is in the tree over `leaves`; `None` when
/// `index` is out of range. Each step says whether the sibling sits on the left.
pub fn proof(leaves: &[Hash], index: usize) -> Option<Vec<(bool, Hash)>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    let mut level = leaves.to_vec();
    let mut i = index;
    while level.len() > 1 {
        let sibling = i ^ 1;
        if sibling < level.len() {
            path.push((sibling < i, level[sibling]));
        }
        level = level.chunks(2).map(|pair| if let [l, r] = pair { node(l, r) } else { pair[0] }).collect();
        i /= 2;
    }
    Some(path)
}

/// A whole tree kept level by level, for many proofs of one tree (a batch's receipts): each
/// path is read off in O(log n) instead of rebuilding the tree per proof.
#[derive(Debug, Clone)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// The tree over `leaves` (already leaf-hashed).
    pub fn new(leaves: Vec<Hash>) -> Tree {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().map(Vec::as_slice).unwrap_or_default();
            let up = below.chunks(2).map(|pair| if let [l, r] = pair { node(l, r) } else { pair[0] }).collect();
            levels.push(up);
        }
        Tree { levels }
    }

    /// Its root ([`root`] of its leaves).
    pub fn root(&self) -> Hash {
        match self.levels.last().and_then(|l| l.first()) {
            Some(r) => *r,
            None => Hash::digest(&[]),
        }
    }

    /// Its number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether it has no leaves.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The path of leaf `index` ([`proof`]'s), or `None` out of range.
    pub fn path(&self, index: usize) -> Option<Vec<(bool, Hash)>> {
        if index >= self.len() {
            return None;
        }
        let mut path = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = i ^ 1;
            if sibling < level.len() {
                path.push((sibling < i, level[sibling]));
            }
            i /= 2;
        }
        Some(path)
    }
}

/// Folds `leaf` up a sibling path to the root it proves membership in.
pub fn root_from_proof(leaf: Hash, path: &[(bool, Hash)]) -> Hash {
    path.iter().fold(
        leaf,
        |acc, (sibling_left, sibling)| {
            if *sibling_left { node(sibling, &acc) } else { node(&acc, sibling) }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 9162's Merkle Tree Hash, as the RFC defines it (section 2.1.1): split at the largest
    /// power of two below n.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Hash::digest(&[]),
            1 => leaves[0],
            n => {
                let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
                node(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    proptest! {
        #[test]
        fn the_root_is_rfc_9162s_and_every_kept_path_is_a_proof(n in 0usize..70) {
            let leaves: Vec<Hash> = (0..n as u32).map(|i| leaf(&i.to_be_bytes())).collect();
            let tree = Tree::new(leaves.clone());
            prop_assert_eq!(tree.root(), mth(&leaves));
            prop_assert_eq!(tree.root(), root(&leaves));
            for i in 0..n {
                prop_assert_eq!(tree.path(i), proof(&leaves, i));
                prop_assert_eq!(root_from_proof(leaves[i], &tree.path(i).expect("in range")), tree.root());
            }
            prop_assert!(tree.path(n).is_none());
        }
    }

    #[test]
    fn odd_node_is_promoted_not_duplicated() {
        let l: Vec<Hash> = (0u8..3).map(|i| leaf(&[i])).collect();
        assert_eq!(root(&l), node(&node(&l[0], &l[1]), &l[2]));
        assert_ne!(root(&l), root(&[l[0], l[1], l[2], l[2]]));
    }

    proptest! {
        #[test]
        fn every_leaf_proves_into_the_root(n in 1usize..70, pick in any::<prop::sample::Index>()) {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf(&(i as u64).to_be_bytes())).collect();
            let i = pick.index(n);
            let path = proof(&leaves, i).expect("index is in range");
            prop_assert_eq!(root_from_proof(leaves[i], &path), root(&leaves));
            prop_assert_ne!(root_from_proof(leaf(b"other"), &path), root(&leaves));
        }
    }
}
