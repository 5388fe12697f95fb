//! Why an instruction of DID documents failed: this module's errors, each with a stable code.
//! They reach receipts and clients as [`crate::ModuleError::Dids`], unchanged.

use civitas_types::Did;

/// A failure particular to DID documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The DID was deactivated and can no longer act or change.
    #[error("DID {0} is deactivated")]
    DidDeactivated(Did),
    /// The signer is neither the DID nor one of its controllers.
    #[error("the signer is neither {0} nor one of its controllers")]
    NotController(Did),
    /// The new DID document is invalid.
    #[error("invalid DID document: {0}")]
    BadDocument(#[from] civitas_types::did_doc::DocumentError),
    /// The DID has no recovery key, or the revealed key is not the registered one.
    #[error("the revealed key is not {0}'s registered recovery key")]
    BadRecoveryKey(Did),
    /// The recovery key did not sign the recovery message for this signer.
    #[error("the recovery key's signature over the recovery message does not verify")]
    BadRecoveryProof,
}

impl Error {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::DidDeactivated(_) => "did_deactivated",
            Error::NotController(_) => "not_controller",
            Error::BadDocument(_) => "bad_document",
            Error::BadRecoveryKey(_) => "bad_recovery_key",
            Error::BadRecoveryProof => "bad_recovery_proof",
        }
    }
}
