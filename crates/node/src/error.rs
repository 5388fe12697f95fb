//! The node's errors.

use civitas_state::StoreError;
use civitas_types::{Hash, TxCheckError, codec::DecodeError};

use crate::genesis::GenesisError;
use crate::mempool::AdmitError;

/// An operating failure of the node. None of these is a client's mistake.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The genesis is unusable.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// The data directory holds another chain.
    #[error("the data directory holds a chain from another genesis (stored {stored}, given {given})")]
    GenesisMismatch {
        /// The digest the store was started from.
        stored: Hash,
        /// The digest of the genesis given now.
        given: Hash,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A full node was asked to do a validator's work.
    #[error("this node is a full node, not a validator: it does not propose blocks")]
    NotAValidator,
    /// A key file is unusable.
    #[error("key file {path}: {why}")]
    KeyFile {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// Why a submitted transaction was refused before reaching the mempool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// It does not decode.
    #[error("transaction does not decode: {0}")]
    Malformed(#[from] DecodeError),
    /// It fails a check that needs no state.
    #[error(transparent)]
    Check(#[from] TxCheckError),
    /// The mempool refused it.
    #[error(transparent)]
    Admit(#[from] AdmitError),
    /// It is already in a block.
    #[error("transaction is already committed at height {0}")]
    AlreadyCommitted(u64),
    /// Its nonce is below the signer's next.
    #[error("nonce {found} is already used; the signer's next nonce is {next}")]
    NonceUsed {
        /// The account's next nonce.
        next: u64,
        /// The transaction's.
        found: u64,
    },
    /// Its nonce is too far ahead of the signer's next.
    #[error("nonce {found} is too far ahead of the signer's next nonce {next}")]
    NonceTooFar {
        /// The account's next nonce.
        next: u64,
        /// The transaction's.
        found: u64,
    },
    /// It expires before the next block.
    #[error("transaction expired at height {valid_until_height}; the next block is {next_height}")]
    Expired {
        /// The transaction's last valid height.
        valid_until_height: u64,
        /// The next block's height.
        next_height: u64,
    },
    /// No account has the signing key, and it does not register one.
    #[error("no account has the signing key; register it first")]
    UnknownSigner,
    /// The signer's DID is deactivated.
    #[error("the signer's DID {0} is deactivated and can no longer act")]
    Deactivated(civitas_types::Did),
    /// The node is catching up: its state is too old to check transactions against.
    #[error(
        "the node is catching up (at height {height}, the chain is at {highest_seen} or more); retry shortly or send it to another node"
    )]
    Syncing {
        /// The node's latest height.
        height: u64,
        /// The highest finalized height it has seen.
        highest_seen: u64,
    },
    /// The node failed while checking it (not the client's fault).
    #[error("node error: {0}")]
    Internal(String),
}

impl SubmitError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SubmitError::Malformed(_) => "malformed_transaction",
            SubmitError::Check(e) => e.code(),
            SubmitError::Admit(e) => e.code(),
            SubmitError::AlreadyCommitted(_) => "already_committed",
            SubmitError::NonceUsed { .. } => "nonce_used",
            SubmitError::NonceTooFar { .. } => "nonce_too_far",
            SubmitError::Expired { .. } => "expired",
            SubmitError::UnknownSigner => "unknown_signer",
            SubmitError::Deactivated(_) => "did_deactivated",
            SubmitError::Syncing { .. } => "syncing",
            SubmitError::Internal(_) => "internal",
        }
    }
}

/// Why a block from another validator (or from a peer during catch-up) is refused.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// It does not extend our latest block.
    #[error("block {height} does not extend our latest block {latest}")]
    NotNext {
        /// Its height.
        height: u64,
        /// Our latest height.
        latest: u64,
    },
    /// Its parent hash is not our latest block's.
    #[error("block's parent hash is not our latest block's")]
    WrongParent,
    /// Its time does not move forward.
    #[error("block timestamp {found} is not after its parent's {parent}")]
    TimeNotAfterParent {
        /// The block's timestamp.
        found: u64,
        /// The parent's.
        parent: u64,
    },
    /// A transaction in it is invalid.
    #[error("transaction {index}: {error}")]
    BadTransaction {
        /// Its index.
        index: usize,
        /// What is wrong.
        error: TxCheckError,
    },
    /// A transaction in it is already in a block it extends that is not committed yet.
    #[error("transaction {index} is already in an uncommitted block this one extends")]
    RepeatsPending {
        /// Its index.
        index: usize,
    },
    /// A commitment in the header does not match the contents.
    #[error("header {what} does not match: header says {header}, execution gives {computed}")]
    Mismatch {
        /// Which root.
        what: &'static str,
        /// The header's.
        header: Hash,
        /// Ours.
        computed: Hash,
    },
    /// Our store failed while checking it.
    #[error(transparent)]
    Node(#[from] NodeError),
}
