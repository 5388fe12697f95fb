//! Why an instruction of DID documents failed: this module's errors, each with a stable code.
//! They reach receipts and clients as [`crate::ModuleError::Dids`], unchanged.

use civitas_types::Did;
use civitas_types::did_doc::DocumentError;

/// A failure particular to DID documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The DID was deactivated and can no longer act or change.
    #[error("DID {0} is deactivated")]
    DidDeactivated(Did),
    /// The signer is neither the DID nor one of its controllers.
    #[error("the signer is neither {0} nor one of its controllers")]
    NotController(Did),
    /// The new DID document is invalid (other than in its key agreement keys).
    #[error("invalid DID document: {0}")]
    BadDocument(DocumentError),
    /// An X25519 method of the new document is not in `keyAgreement` alone (the fragment).
    #[error("invalid DID document: {}", DocumentError::X25519OutsideKeyAgreement(.0.clone()))]
    X25519OutsideKeyAgreement(String),
    /// A signing key of the new document is in `keyAgreement` (the fragment).
    #[error("invalid DID document: {}", DocumentError::KeyAgreementNotX25519(.0.clone()))]
    KeyAgreementNotX25519(String),
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
            Error::X25519OutsideKeyAgreement(_) => "x25519_outside_key_agreement",
            Error::KeyAgreementNotX25519(_) => "key_agreement_not_x25519",
            Error::BadRecoveryKey(_) => "bad_recovery_key",
            Error::BadRecoveryProof => "bad_recovery_proof",
        }
    }
}

/// A document's key agreement faults get codes of their own, so a client can tell "this key
/// cannot be used for encryption here" from any other bad document.
impl From<DocumentError> for Error {
    fn from(e: DocumentError) -> Error {
        match e {
            DocumentError::X25519OutsideKeyAgreement(fragment) => Error::X25519OutsideKeyAgreement(fragment),
            DocumentError::KeyAgreementNotX25519(fragment) => Error::KeyAgreementNotX25519(fragment),
            other => Error::BadDocument(other),
        }
    }
}
