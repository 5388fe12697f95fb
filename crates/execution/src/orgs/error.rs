//! Why an instruction of organizations failed: this module's errors, each with a stable code.
//! They reach receipts and clients as [`crate::ModuleError::Orgs`], unchanged. Other modules
//! raise them too, for the organizations they name.

use civitas_types::Did;

/// A failure particular to organizations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The signer is not an official of the organization.
    #[error("the signer is not an official of {0}")]
    NotAnOfficial(Did),
    /// No organization with this DID.
    #[error("{0} is not an organization")]
    UnknownOrganization(Did),
    /// A name is empty, too long or has control characters.
    #[error("a name is 1 to 128 bytes without control characters")]
    BadName,
}

impl Error {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotAnOfficial(_) => "not_an_official",
            Error::UnknownOrganization(_) => "unknown_organization",
            Error::BadName => "bad_name",
        }
    }
}
