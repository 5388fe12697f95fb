//! Why an instruction of the catalog failed: this module's errors, each with a stable code. They
//! reach receipts and clients as [`crate::ModuleError::Catalog`], unchanged.

use civitas_types::Did;
use civitas_types::catalog::RequestStatus;

/// A failure particular to the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No such dataset.
    #[error("no dataset {0}")]
    UnknownDataset(u64),
    /// No such access request.
    #[error("no access request {0}")]
    UnknownRequest(u64),
    /// The organization acted for does not own the dataset.
    #[error("{0} does not own dataset {1}")]
    NotTheOwner(Did, u64),
    /// The organization acted for is not the one the grant was made to.
    #[error("{0} holds no grant {1}")]
    NotTheGrantee(Did, u64),
    /// The dataset was retired.
    #[error("dataset {0} is retired")]
    Retired(u64),
    /// An owner asking for its own dataset.
    #[error("{0} owns dataset {1}: no request needed")]
    OwnDataset(Did, u64),
    /// The request was decided already.
    #[error("request {id} is {}, not pending", status.name())]
    Decided {
        /// The request.
        id: u64,
        /// Where it stands.
        status: RequestStatus,
    },
    /// The request is not a grant (pending, refused or revoked).
    #[error("request {id} is {}, not granted", status.name())]
    NotGranted {
        /// The request.
        id: u64,
        /// Where it stands.
        status: RequestStatus,
    },
    /// The grant has expired.
    #[error("grant {id} expired at {expired_at}")]
    Expired {
        /// The grant.
        id: u64,
        /// When (unix seconds).
        expired_at: u64,
    },
    /// Days outside 1 to the maximum (for a grant: to what was asked).
    #[error("days must be 1 to {0}")]
    BadDays(u32),
    /// A refusal or revocation without a reason.
    #[error("a reason is required (1 to 1,000 bytes)")]
    ReasonRequired,
}

impl Error {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownDataset(_) => "unknown_dataset",
            Error::UnknownRequest(_) => "unknown_request",
            Error::NotTheOwner(..) => "not_the_owner",
            Error::NotTheGrantee(..) => "not_the_grantee",
            Error::Retired(_) => "dataset_retired",
            Error::OwnDataset(..) => "own_dataset",
            Error::Decided { .. } => "already_decided",
            Error::NotGranted { .. } => "not_granted",
            Error::Expired { .. } => "grant_expired",
            Error::BadDays(_) => "bad_days",
            Error::ReasonRequired => "reason_required",
        }
    }
}
