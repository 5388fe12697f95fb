//! Why an instruction of device passports failed: this module's errors, each with a stable code.
//! They reach receipts and clients as [`crate::ModuleError::Devices`], unchanged.

use civitas_types::device::DeviceStatus;
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
    /// The model is already registered.
    #[error("the model is already registered")]
    ModelExists,
    /// No such model.
    #[error("no model {0:04X}/{1:04X}")]
    UnknownModel(u16, u16),
    /// The model version is already added.
    #[error("the model version is already added")]
    ModelVersionExists,
    /// No such model version.
    #[error("no model version {0:04X}/{1:04X} v{2}")]
    UnknownModelVersion(u16, u16, u32),
    /// The version is already certified.
    #[error("the model version is already certified")]
    AlreadyCertified,
    /// The version is not certified (nothing to revoke).
    #[error("the model version is not certified")]
    NotCertified,
    /// Its certification was revoked, for good.
    #[error("the model version's certification is revoked")]
    CertificationRevoked,
    /// The device's attestation certificate is registered already.
    #[error("a device with this attestation certificate is registered already")]
    DacRegistered,
    /// A device with this operational key is registered already.
    #[error("a device with this operational key is registered already")]
    DeviceExists,
    /// No such device.
    #[error("no such device")]
    UnknownDevice,
    /// The device is revoked or decommissioned: it can do nothing more.
    #[error("the device is {}: it can do nothing more", .0.name())]
    DeviceFinal(DeviceStatus),
    /// The signer is not the device's owner.
    #[error("only the device's owner may do this")]
    NotTheOwner,
    /// The owner named is not the signer.
    #[error("the owner must sign the binding")]
    OwnerMustSign,
    /// The device has an owner already (it changes hands by transfer).
    #[error("the device has an owner already; it changes hands by offer and acceptance")]
    AlreadyBound,
    /// The device's signature does not verify with its operational key.
    #[error("the device's signature does not verify with its operational key")]
    BadDeviceSignature,
    /// No transfer of the device is offered to the signer.
    #[error("no transfer of this device is offered to the signer")]
    NoOffer,
    /// The device has that status already.
    #[error("the device is {} already", .0.name())]
    StatusUnchanged(DeviceStatus),
    /// A capability named is not in the model's descriptor (or is named twice).
    #[error("every capability granted must be one the model declares, each named once")]
    NotDeclared,
    /// The controller holds no grant in force on the device.
    #[error("the controller holds no grant on this device")]
    NoGrant,
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
            Error::ModelExists => "model_exists",
            Error::UnknownModel(..) => "unknown_model",
            Error::ModelVersionExists => "model_version_exists",
            Error::UnknownModelVersion(..) => "unknown_model_version",
            Error::AlreadyCertified => "already_certified",
            Error::NotCertified => "not_certified",
            Error::CertificationRevoked => "certification_revoked",
            Error::DacRegistered => "dac_registered",
            Error::DeviceExists => "device_exists",
            Error::UnknownDevice => "unknown_device",
            Error::DeviceFinal(DeviceStatus::Decommissioned) => "device_decommissioned",
            Error::DeviceFinal(_) => "device_revoked",
            Error::NotTheOwner => "not_the_owner",
            Error::OwnerMustSign => "owner_must_sign",
            Error::AlreadyBound => "device_bound",
            Error::BadDeviceSignature => "bad_device_signature",
            Error::NoOffer => "no_transfer_offer",
            Error::StatusUnchanged(_) => "status_unchanged",
            Error::NotDeclared => "capability_not_declared",
            Error::NoGrant => "no_grant",
        }
    }
}
