//! The write layers: committed state → block in progress → transaction in progress.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::store::{StateUpdate, Store, StoreError};

/// Writes collected by a layer, in key order: `None` deletes the key.
pub type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Read access to state, whichever layer it comes from.
pub trait StateRead {
    /// The value at `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
}

impl StateRead for Store {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_latest(key)
    }
}

/// The state as it was after block `height`: reads for historical queries (DID versions).
pub struct AtHeight<'s> {
    store: &'s Store,
    height: u64,
}

impl Store {
    /// A read-only view of the state after block `height` (every version is kept).
    pub fn at(&self, height: u64) -> AtHeight<'_> {
        AtHeight { store: self, height }
    }
}

impl StateRead for AtHeight<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get_at(key, self.height)
    }
}

/// A block's writes over the committed state, or over blocks executed on it and not
/// committed yet.
pub struct BlockState<'s> {
    store: &'s Store,
    pending: &'s [Arc<StateUpdate>],
    writes: Writes,
}

impl<'s> BlockState<'s> {
    /// An empty block layer over `store`'s latest committed state.
    pub fn new(store: &'s Store) -> Self {
        BlockState::on(store, &[])
    }

    /// An empty block layer over the state after the uncommitted blocks whose updates are
    /// `pending`, in height order, the first on `store`'s latest committed block
    /// ([`Store::get_through`]).
    pub fn on(store: &'s Store, pending: &'s [Arc<StateUpdate>]) -> Self {
        BlockState { store, pending, writes: Writes::new() }
    }

    /// A transaction layer over this block.
    pub fn begin_tx(&mut self) -> TxState<'_, 's> {
        TxState { block: self, writes: Writes::new() }
    }

    /// Writes `value` at `key` directly in the block layer (for block-level bookkeeping).
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    /// The block's writes, in key order.
    pub fn into_writes(self) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        self.writes
    }

    /// How many keys the block has written so far.
    pub fn write_count(&self) -> usize {
        self.writes.len()
    }
}

impl StateRead for BlockState<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.store.get_through(self.pending, key),
        }
    }
}

/// A transaction's writes over its block. [`TxState::commit`] folds them into the block;
/// dropping the layer discards them.
pub struct TxState<'b, 's> {
    block: &'b mut BlockState<'s>,
    writes: Writes,
}

impl TxState<'_, '_> {
    /// Writes `value` at `key`.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    /// Deletes `key`.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// Folds this transaction's writes into its block.
    pub fn commit(self) {
        let TxState { block, writes } = self;
        block.writes.extend(writes);
    }
}

impl StateRead for TxState<'_, '_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.block.get(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_read_through_and_roll_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let mut block = BlockState::new(&store);
        {
            let mut tx = block.begin_tx();
            tx.put(b"a".to_vec(), b"1".to_vec());
            assert_eq!(tx.get(b"a").expect("read"), Some(b"1".to_vec()));
            // dropped: rolled back
        }
        assert_eq!(block.get(b"a").expect("read"), None);
        let mut tx = block.begin_tx();
        tx.put(b"a".to_vec(), b"2".to_vec());
        tx.commit();
        assert_eq!(block.get(b"a").expect("read"), Some(b"2".to_vec()));
        let mut tx = block.begin_tx();
        tx.delete(b"a".to_vec());
        assert_eq!(tx.get(b"a").expect("read"), None);
        assert_eq!(block.get(b"a").expect("read"), Some(b"2".to_vec()));
    }
}
