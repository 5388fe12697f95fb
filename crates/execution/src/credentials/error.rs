//! Why an instruction of credentials and consent failed: this module's errors, each with a stable code.
//! They reach receipts and clients as [`crate::ModuleError::Credentials`], unchanged.

use civitas_types::Did;

/// A failure particular to credentials and consent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The issuer is not accredited for the credential type.
    #[error("{issuer} is not accredited to issue `{vct}`")]
    NotAccredited {
        /// The issuer.
        issuer: Did,
        /// The type.
        vct: String,
    },
    /// The issuer has not defined this credential type.
    #[error("no credential type `{0}` is defined by this issuer")]
    UnknownCredentialType(String),
    /// The status list entry is taken, or out of range.
    #[error("status list entry {0} is taken or out of range")]
    StatusIndex(u32),
    /// No credential is anchored at this status list entry.
    #[error("no credential is anchored at status list entry {0}")]
    Unanchored(u32),
    /// A revoked credential's status cannot change.
    #[error("the credential is revoked for good")]
    Revoked,
    /// No such consent.
    #[error("no consent {0}")]
    UnknownConsent(u64),
    /// The consent cannot be used or changed: withdrawn, expired, used up, awaiting the
    /// issuer's approval, or already approved.
    #[error("consent {id} is {why}")]
    ConsentUnusable {
        /// The consent.
        id: u64,
        /// Why (a stable code).
        why: &'static str,
    },
    /// The consent does not cover this verification.
    #[error("consent does not cover this: {0}")]
    ConsentMismatch(&'static str),
    /// Only the consent's holder may do this.
    #[error("only the holder may change this consent")]
    NotTheHolder,
    /// The issuer's policy forbids it.
    #[error("the issuer's policy forbids it: {0}")]
    PolicyForbids(&'static str),
}

impl Error {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotAccredited { .. } => "not_accredited",
            Error::UnknownCredentialType(_) => "unknown_credential_type",
            Error::StatusIndex(_) => "bad_status_index",
            Error::Unanchored(_) => "unanchored_credential",
            Error::Revoked => "credential_revoked",
            Error::UnknownConsent(_) => "unknown_consent",
            Error::ConsentUnusable { why, .. } => why,
            Error::ConsentMismatch(_) => "consent_mismatch",
            Error::NotTheHolder => "not_the_holder",
            Error::PolicyForbids(_) => "policy_forbids",
        }
    }
}
