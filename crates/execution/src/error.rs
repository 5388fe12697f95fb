//! Why a transaction failed. Each variant has a stable code that clients can match on.

use civitas_types::Did;

use crate::BlockContext;

/// A transaction's failure: recorded in its receipt, changes nothing else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The block is past the transaction's `valid_until_height`.
    #[error("transaction expired at height {valid_until_height}; the block is at {height}")]
    Expired {
        /// The transaction's last valid height.
        valid_until_height: u64,
        /// The block's height.
        height: u64,
    },
    /// No account has the signing key, and the transaction does not register one.
    #[error("no account has the signing key; register first")]
    UnknownSigner,
    /// The nonce is not the signer's next.
    #[error("nonce {found} is not the signer's next nonce {expected}")]
    BadNonce {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's.
        found: u64,
    },
    /// The signer's key already has an account.
    #[error("an account with this key is already registered")]
    AlreadyRegistered,
    /// The named account does not exist.
    #[error("no account {0}")]
    UnknownAccount(Did),
    /// The signer lacks the role the instruction needs.
    #[error("permission denied: requires the `{0}` role")]
    PermissionDenied(&'static str),
    /// No account, hence no DID, with this id.
    #[error("no DID {0} on this chain")]
    UnknownDid(Did),
    /// An instruction that must come first does not.
    #[error("{0} must be the first instruction")]
    MustBeFirst(&'static str),
    /// A field of an instruction is malformed (which one, and its rule, in the message).
    #[error("malformed {0}")]
    BadField(&'static str),
    /// A module's own failure (see each module's `error.rs`).
    #[error(transparent)]
    Module(#[from] crate::ModuleError),
    /// A passed proposal's action could not execute.
    #[error("the proposal passed but its action failed: {0}")]
    ActionFailed(Box<ExecError>),
    /// An instruction failed; wraps the cause with where it happened.
    #[error("instruction {index} failed at height {height}: {cause}")]
    AtInstruction {
        /// The instruction's index in the transaction.
        index: usize,
        /// The block's height.
        height: u64,
        /// What went wrong.
        cause: Box<ExecError>,
    },
}

impl ExecError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ExecError::Expired { .. } => "expired",
            ExecError::UnknownSigner => "unknown_signer",
            ExecError::BadNonce { .. } => "bad_nonce",
            ExecError::AlreadyRegistered => "already_registered",
            ExecError::UnknownAccount(_) => "unknown_account",
            ExecError::PermissionDenied(_) => "permission_denied",
            ExecError::UnknownDid(_) => "unknown_did",
            ExecError::MustBeFirst(_) => "must_be_first",
            ExecError::BadField(_) => "bad_field",
            ExecError::ActionFailed(cause) => cause.code(),
            ExecError::AtInstruction { cause, .. } => cause.code(),
            ExecError::Module(e) => e.code(),
        }
    }

    pub(crate) fn at_instruction(self, index: usize, ctx: BlockContext) -> ExecError {
        ExecError::AtInstruction { index, height: ctx.height, cause: Box::new(self) }
    }
}
