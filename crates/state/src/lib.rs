//! Civitas's authenticated state and chain store.
//!
//! State is a key-value map committed to by a Jellyfish Merkle Tree (SHA-256), whose root goes
//! into every block header. Tree nodes, versioned values, blocks, receipts and the transaction
//! index all live in one `fjall` database, and each block is written with one atomic, fsync'd
//! batch: after a crash the store is at the last committed block or the one before, never in
//! between.
//!
//! Writes are layered: [`BlockState`] collects a block's writes over the committed state and
//! [`TxState`] a transaction's over the block's; dropping a layer rolls it back.
//!
//! This crate is internal: the node and execution use it; clients never see it.

mod layers;
mod store;
mod tree;

pub use layers::{AtHeight, BlockState, StateRead, TxState, Writes};
pub use store::{
    Committed, History, STORE_FORMAT, StateUpdate, Store, StoreError, StoreMemory, StoreOptions, TxLocation, disk_bytes,
};
