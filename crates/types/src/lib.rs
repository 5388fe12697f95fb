//! Civitas's shared vocabulary: hashes, keys, DIDs, amounts, transactions, blocks and the one
//! canonical binary codec they are encoded with.
//!
//! This crate is an API boundary: the node, the API, the SDK and the light client all speak
//! these types. It knows nothing about storage or the network; each type's JSON form is derived
//! from its definition here (see [`json`]).

pub mod account;
pub mod audit;
mod block;
pub mod catalog;
pub mod codec;
pub mod council;
pub mod credential;
pub mod crypto;
pub mod device;
mod did;
pub mod did_doc;
pub mod fund;
pub mod invoice;
pub mod json;
pub mod keyfile;
pub mod log;
pub mod merkle;
pub mod org;
pub mod rental;
pub mod sdjwt;
pub mod stats;
mod tx;
pub mod validators;

pub use account::AccountInstruction;
pub use block::{Block, BlockHeader, FinalizedThrough, GENESIS_PARENT, TxOutcome, TxReceipt};
pub use catalog::CatalogInstruction;
pub use council::CouncilInstruction;
pub use credential::CredentialInstruction;
pub use crypto::{Hash, PublicKey, SecretKey, Signature};
pub use device::DeviceInstruction;
pub use did::{Did, DidError};
pub use did_doc::DidInstruction;
pub use fund::FundInstruction;
pub use invoice::InvoiceInstruction;
pub use json::TransactionJson;
pub use log::LogInstruction;
pub use org::OrgInstruction;
pub use rental::RentalInstruction;
pub use stats::StatsInstruction;
pub use tx::{
    Amount, Instruction, ModuleInstruction, Role, SignedTransaction, Transaction, TxCheckError, VerifiedTransaction,
};

/// Whether `text` is a short free text: 1 to `max` bytes, no control characters (the rule for
/// every module's names, purposes and reasons).
pub fn text_ok(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && !text.chars().any(char::is_control)
}

/// Domain separation for consensus signatures: validators sign votes with it, and light
/// clients verify certificates with it.
pub const CONSENSUS_NAMESPACE: &[u8] = b"civitas/consensus/v1";

/// Hard limits on everything a peer or client can make us decode or hold.
pub mod limits {
    /// Longest chain id, in bytes.
    pub const CHAIN_ID_BYTES_MAX: usize = 64;
    /// Most instructions in one transaction.
    pub const TX_INSTRUCTIONS_MAX: usize = 16;
    /// Largest encoded signed transaction, in bytes (a statistics report of a 1,024-bucket
    /// histogram carries an 18.5 KB sealed share).
    pub const TX_BYTES_MAX: usize = 32 * 1024;
    /// Most transactions in one block.
    pub const BLOCK_TXS_MAX: usize = 50_000;
    /// Largest encoded block, in bytes.
    pub const BLOCK_BYTES_MAX: usize = 64 * 1024 * 1024;
    /// Longest error message recorded in a receipt, in bytes.
    pub const RECEIPT_MESSAGE_BYTES_MAX: usize = 256;
    /// Most roles one account can hold.
    pub const ROLES_MAX: usize = 8;
    /// Largest consensus finalization certificate, in bytes.
    pub const CERTIFICATE_BYTES_MAX: usize = 64 * 1024;
    /// Most headers between a block finalized through a descendant and that descendant.
    pub const FINALIZED_THROUGH_HEADERS_MAX: usize = 64;
}
