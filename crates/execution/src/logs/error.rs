//! Why an instruction of device logs failed: this module's errors, each with a stable code.
//! They reach receipts and clients as [`crate::ModuleError::Logs`], unchanged.

use civitas_types::device::{DeviceId, DeviceStatus};

/// A failure particular to device logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No such device.
    #[error("no device {0}")]
    UnknownDevice(DeviceId),
    /// The device is revoked or decommissioned: it logs nothing more.
    #[error("device {0} is {status}: it logs nothing more", status = .1.name())]
    DeviceFinal(DeviceId, DeviceStatus),
    /// The signer is not the device's owner.
    #[error("only the device's owner names its gateway")]
    NotTheOwner,
    /// The signer is not the gateway the device's owner named.
    #[error("the device's owner did not name the signer as its gateway: {0}")]
    NotTheGateway(DeviceId),
    /// A range starts after the device's next sequence number: events would be missing.
    #[error("device {device}: events {expected} to {} are missing (the range starts at {found})", found - 1)]
    SequenceGap {
        /// The device.
        device: DeviceId,
        /// Its next sequence number.
        expected: u64,
        /// Where the range starts.
        found: u64,
    },
    /// A range starts before the device's next sequence number: events would be anchored twice.
    #[error("device {device}: events from {found} are anchored already (the next is {expected})")]
    SequenceRepeat {
        /// The device.
        device: DeviceId,
        /// Its next sequence number.
        expected: u64,
        /// Where the range starts.
        found: u64,
    },
    /// A device has two ranges in one anchor.
    #[error("device {0} has two ranges in one anchor")]
    DuplicateDevice(DeviceId),
}

impl Error {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownDevice(_) => "unknown_device",
            Error::DeviceFinal(_, DeviceStatus::Decommissioned) => "device_decommissioned",
            Error::DeviceFinal(..) => "device_revoked",
            Error::NotTheOwner => "not_the_owner",
            Error::NotTheGateway(_) => "not_the_gateway",
            Error::SequenceGap { .. } => "sequence_gap",
            Error::SequenceRepeat { .. } => "sequence_repeat",
            Error::DuplicateDevice(_) => "duplicate_device",
        }
    }
}
