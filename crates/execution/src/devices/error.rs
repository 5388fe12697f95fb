//! Why an instruction of device passports failed: this module's errors, each with a stable code.
//! They reach receipts and clients as [`crate::ModuleError::Devices`], unchanged.

use civitas_types::device::attestation::AttestationError;

/// A failure particular to device passports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Another manufacturer holds the vendor id (or it is 0, which Matter reserves).
    #[error("vendor id {0:04X} is taken or reserved")]
    VendorIdTaken(u16),
    /// No manufacturer holds the vendor id.
    #[error("no manufacturer holds vendor id {0:04X}")]
    UnknownVendor(u16),
    /// The manufacturer acting does not hold the vendor id.
    #[error("vendor id {0:04X} is another manufacturer's")]
    NotTheVendor(u16),
    /// A certificate does not attest (its own code: malformed, profile, signature, validity,
    /// vendor or product mismatch).
    #[error(transparent)]
    Attestation(#[from] AttestationError),
    /// The certificate's issuer is no PAA the council approved.
    #[error("the issuer is not a Product Attestation Authority the council approved")]
    UnknownRoot,
    /// The certificate, or one above it, is revoked.
    #[error("{0} is revoked")]
    Revoked(&'static str),
    /// The certificate is already trusted.
    #[error("the certificate is already trusted")]
    AlreadyTrusted,
    /// No trusted certificate of that kind has the key identifier.
    #[error("no trusted {0} has that subject key identifier")]
    UnknownCertificate(&'static str),
}

impl Error {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::VendorIdTaken(_) => "vendor_id_taken",
            Error::UnknownVendor(_) => "unknown_vendor",
            Error::NotTheVendor(_) => "not_the_vendor",
            Error::Attestation(e) => e.code(),
            Error::UnknownRoot => "unknown_paa",
            Error::Revoked(_) => "certificate_revoked",
            Error::AlreadyTrusted => "already_trusted",
            Error::UnknownCertificate(_) => "unknown_certificate",
        }
    }
}
