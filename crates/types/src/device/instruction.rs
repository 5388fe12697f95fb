//! The devices module's instructions: their one definition, names and canonical encoding.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::passport::{DeviceId, DeviceStatus, SCENE_NAME_BYTES_MAX};
use super::{
    CAPABILITIES_MAX, CAPABILITY_NAME_BYTES_MAX, Capabilities, KEY_ID_BYTES, MODEL_NAME_BYTES_MAX, OTA_URL_BYTES_MAX,
    REVOCATION_REASON_BYTES_MAX, VENDOR_NAME_BYTES_MAX, VERSION_STRING_BYTES_MAX, attestation,
};
use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes};
use crate::{Did, Hash, PublicKey, Signature};

/// Longest possession signature (an ECDSA P-256 signature, DER), in bytes.
pub const POSSESSION_BYTES_MAX: usize = 72;

/// An instruction of the devices module (tags 24 to 38 of [`crate::Instruction`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeviceInstruction {
    /// Claims a 16-bit vendor id for the manufacturer `by` (an official of it signs); a vendor
    /// id is claimed once, a manufacturer may hold several (its brands).
    ClaimVendorId {
        /// The vendor id.
        vendor_id: u16,
        /// The brand, for people.
        name: String,
        /// The manufacturer.
        by: Did,
    },
    /// Adds a Product Attestation Intermediate: a CA certificate of one of `by`'s vendor ids,
    /// issued by a PAA the council approved and no one revoked, valid at the block's time. An
    /// official of the manufacturer `by` signs.
    AddPai {
        /// The certificate, DER.
        #[serde(with = "crate::json::hex_bytes")]
        #[schema(value_type = String, pattern = "^([0-9a-fA-F]{2}){1,2048}$")]
        certificate: Vec<u8>,
        /// The manufacturer holding its vendor id.
        by: Did,
    },
    /// Revokes a PAI of one of `by`'s vendor ids, for good (devices it attests can register no
    /// more). An official of the manufacturer `by` signs.
    RevokePai {
        /// The PAI's subject key identifier (20 bytes).
        #[serde(with = "crate::json::hex_bytes")]
        #[schema(value_type = String, pattern = "^[0-9a-fA-F]{40}$")]
        subject_key_id: Vec<u8>,
        /// Why.
        reason: String,
        /// The manufacturer.
        by: Did,
    },
    /// Revokes one device's attestation certificate (by the SHA-256 of its DER), for good. An
    /// official of the manufacturer `by`, holding the vendor id the certificate names, signs.
    RevokeDac {
        /// SHA-256 of the DAC's DER.
        fingerprint: Hash,
        /// The vendor id it names.
        vendor_id: u16,
        /// Why.
        reason: String,
        /// The manufacturer.
        by: Did,
    },
    /// Registers a model of one of `by`'s vendor ids, with what it exposes. An official of the
    /// manufacturer `by` signs.
    RegisterModel {
        /// The vendor id.
        vendor_id: u16,
        /// The product id (unique within the vendor).
        product_id: u16,
        /// The Matter device type.
        device_type: u32,
        /// Its name.
        name: String,
        /// What it exposes.
        capabilities: Capabilities,
        /// The manufacturer.
        by: Did,
    },
    /// Adds a software version of one of `by`'s models. An official of the manufacturer `by`
    /// signs.
    AddModelVersion {
        /// The vendor id.
        vendor_id: u16,
        /// The product id.
        product_id: u16,
        /// The software version number (unique within the model).
        software_version: u32,
        /// Its version string (`1.4.2`).
        version_string: String,
        /// SHA-256 of the OTA image.
        checksum: Hash,
        /// Where the image is: an `https://` URL.
        ota_url: String,
        /// The oldest software version it may update.
        min_applicable: u32,
        /// The newest software version it may update.
        max_applicable: u32,
        /// The manufacturer.
        by: Did,
    },
    /// Certifies a model version, or revokes its certification for good (with a reason). An
    /// official of `by`, a department with the certification function, signs.
    CertifyModelVersion {
        /// The vendor id.
        vendor_id: u16,
        /// The product id.
        product_id: u16,
        /// The software version number.
        software_version: u32,
        /// Certify (`true`), or revoke the certification (`false`).
        certified: bool,
        /// Why (required to revoke).
        #[serde(default)]
        reason: String,
        /// The certification body.
        by: Did,
    },
    /// Registers a device: its Device Attestation Certificate must chain to a trusted PAI and
    /// PAA (none revoked, all valid at the block's time), name a registered model whose
    /// `software_version` is certified, and not be registered already; `possession` is the
    /// device's signature with its DAC key over
    /// [`registration_challenge`](super::passport::registration_challenge) of `operational_key`.
    /// Anyone with an account may submit it (the factory, an installer, the device's hub); the
    /// passport starts unbound. Its id is the `did:key` of `operational_key`.
    RegisterDevice {
        /// The DAC, DER.
        #[serde(with = "crate::json::hex_bytes")]
        #[schema(value_type = String, pattern = "^([0-9a-fA-F]{2}){1,2048}$")]
        dac: Vec<u8>,
        /// The device's operational key (Ed25519).
        operational_key: PublicKey,
        /// The software version it runs (certified).
        software_version: u32,
        /// ECDSA-SHA256 signature (DER) by the DAC key over the registration challenge.
        #[serde(with = "crate::json::hex_bytes")]
        #[schema(value_type = String, pattern = "^([0-9a-fA-F]{2}){8,72}$")]
        possession: Vec<u8>,
    },
    /// Binds an unbound device to `owner`, who signs the transaction; the device consents with
    /// its operational key over [`binding_statement`](super::passport::binding_statement).
    BindDevice {
        /// The device.
        device: DeviceId,
        /// The new owner (the signer).
        owner: Did,
        /// The device's signature.
        device_signature: Signature,
    },
    /// The owner (the signer) offers the device to `to`; a new offer replaces the last.
    OfferDevice {
        /// The device.
        device: DeviceId,
        /// The recipient.
        to: Did,
    },
    /// The recipient of an offer (the signer) accepts it: the device is theirs, and every grant
    /// the previous owner made ends.
    AcceptDevice {
        /// The device.
        device: DeviceId,
    },
    /// Rotates the device's operational key; the current key signs
    /// [`rotation_statement`](super::passport::rotation_statement), and the owner (if bound)
    /// signs the transaction.
    RotateDeviceKey {
        /// The device.
        device: DeviceId,
        /// The new key.
        new_key: PublicKey,
        /// The current key's signature.
        device_signature: Signature,
    },
    /// The owner (the signer) suspends the device, resumes it (`active`), or decommissions it
    /// for good.
    SetDeviceStatus {
        /// The device.
        device: DeviceId,
        /// `active`, `suspended` or `decommissioned`.
        status: DeviceStatus,
    },
    /// The owner (the signer) grants `controller` named capabilities of the device's model
    /// from `not_before` to `not_after` (unix seconds, block time), replacing any earlier grant
    /// to that controller.
    GrantDevice {
        /// The device.
        device: DeviceId,
        /// Who may act (another brand's hub, say).
        controller: Did,
        /// Names from the model's capabilities.
        capabilities: Vec<String>,
        /// In force from (unix seconds).
        not_before: u64,
        /// Until (unix seconds, inclusive).
        not_after: u64,
        /// The scene it belongs to (`kitchen`), or empty.
        #[serde(default)]
        scene: String,
    },
    /// The owner (the signer) revokes the grant to `controller`.
    RevokeGrant {
        /// The device.
        device: DeviceId,
        /// The controller.
        controller: Did,
    },
}

impl crate::ModuleInstruction for DeviceInstruction {
    const MODULE: &'static str = "devices";
    const NAMES: &'static [&'static str] = &[
        "claim_vendor_id",
        "add_pai",
        "revoke_pai",
        "revoke_dac",
        "register_model",
        "add_model_version",
        "certify_model_version",
        "register_device",
        "bind_device",
        "offer_device",
        "accept_device",
        "rotate_device_key",
        "set_device_status",
        "grant_device",
        "revoke_grant",
    ];

    fn tag(&self) -> u8 {
        match self {
            DeviceInstruction::ClaimVendorId { .. } => 0,
            DeviceInstruction::AddPai { .. } => 1,
            DeviceInstruction::RevokePai { .. } => 2,
            DeviceInstruction::RevokeDac { .. } => 3,
            DeviceInstruction::RegisterModel { .. } => 4,
            DeviceInstruction::AddModelVersion { .. } => 5,
            DeviceInstruction::CertifyModelVersion { .. } => 6,
            DeviceInstruction::RegisterDevice { .. } => 7,
            DeviceInstruction::BindDevice { .. } => 8,
            DeviceInstruction::OfferDevice { .. } => 9,
            DeviceInstruction::AcceptDevice { .. } => 10,
            DeviceInstruction::RotateDeviceKey { .. } => 11,
            DeviceInstruction::SetDeviceStatus { .. } => 12,
            DeviceInstruction::GrantDevice { .. } => 13,
            DeviceInstruction::RevokeGrant { .. } => 14,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        match self {
            DeviceInstruction::ClaimVendorId { vendor_id, name, by } => {
                out.extend_from_slice(&vendor_id.to_be_bytes());
                put_bytes(out, name.as_bytes());
                by.encode_to(out);
            }
            DeviceInstruction::AddPai { certificate, by } => {
                put_bytes(out, certificate);
                by.encode_to(out);
            }
            DeviceInstruction::RevokePai { subject_key_id, reason, by } => {
                put_bytes(out, subject_key_id);
                put_bytes(out, reason.as_bytes());
                by.encode_to(out);
            }
            DeviceInstruction::RevokeDac { fingerprint, vendor_id, reason, by } => {
                fingerprint.encode_to(out);
                out.extend_from_slice(&vendor_id.to_be_bytes());
                put_bytes(out, reason.as_bytes());
                by.encode_to(out);
            }
            DeviceInstruction::RegisterModel { vendor_id, product_id, device_type, name, capabilities, by } => {
                out.extend_from_slice(&vendor_id.to_be_bytes());
                out.extend_from_slice(&product_id.to_be_bytes());
                out.extend_from_slice(&device_type.to_be_bytes());
                put_bytes(out, name.as_bytes());
                capabilities.encode_to(out);
                by.encode_to(out);
            }
            DeviceInstruction::AddModelVersion {
                vendor_id,
                product_id,
                software_version,
                version_string,
                checksum,
                ota_url,
                min_applicable,
                max_applicable,
                by,
            } => {
                out.extend_from_slice(&vendor_id.to_be_bytes());
                out.extend_from_slice(&product_id.to_be_bytes());
                out.extend_from_slice(&software_version.to_be_bytes());
                put_bytes(out, version_string.as_bytes());
                checksum.encode_to(out);
                put_bytes(out, ota_url.as_bytes());
                out.extend_from_slice(&min_applicable.to_be_bytes());
                out.extend_from_slice(&max_applicable.to_be_bytes());
                by.encode_to(out);
            }
            DeviceInstruction::CertifyModelVersion {
                vendor_id,
                product_id,
                software_version,
                certified,
                reason,
                by,
            } => {
                out.extend_from_slice(&vendor_id.to_be_bytes());
                out.extend_from_slice(&product_id.to_be_bytes());
                out.extend_from_slice(&software_version.to_be_bytes());
                out.push(u8::from(*certified));
                put_bytes(out, reason.as_bytes());
                by.encode_to(out);
            }
            DeviceInstruction::RegisterDevice { dac, operational_key, software_version, possession } => {
                put_bytes(out, dac);
                operational_key.encode_to(out);
                out.extend_from_slice(&software_version.to_be_bytes());
                put_bytes(out, possession);
            }
            DeviceInstruction::BindDevice { device, owner, device_signature } => {
                device.encode_to(out);
                owner.encode_to(out);
                device_signature.encode_to(out);
            }
            DeviceInstruction::OfferDevice { device, to } => {
                device.encode_to(out);
                to.encode_to(out);
            }
            DeviceInstruction::AcceptDevice { device } => device.encode_to(out),
            DeviceInstruction::RotateDeviceKey { device, new_key, device_signature } => {
                device.encode_to(out);
                new_key.encode_to(out);
                device_signature.encode_to(out);
            }
            DeviceInstruction::SetDeviceStatus { device, status } => {
                device.encode_to(out);
                out.push(match status {
                    DeviceStatus::Active => 0,
                    DeviceStatus::Suspended => 1,
                    DeviceStatus::Revoked => 2,
                    DeviceStatus::Decommissioned => 3,
                });
            }
            DeviceInstruction::GrantDevice { device, controller, capabilities, not_before, not_after, scene } => {
                device.encode_to(out);
                controller.encode_to(out);
                crate::codec::put_len(out, capabilities.len());
                for c in capabilities {
                    put_bytes(out, c.as_bytes());
                }
                out.extend_from_slice(&not_before.to_be_bytes());
                out.extend_from_slice(&not_after.to_be_bytes());
                put_bytes(out, scene.as_bytes());
            }
            DeviceInstruction::RevokeGrant { device, controller } => {
                device.encode_to(out);
                controller.encode_to(out);
            }
        }
    }

    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match tag {
            0 => DeviceInstruction::ClaimVendorId {
                vendor_id: u16::from_be_bytes(r.array("vendor id")?),
                name: r.string(VENDOR_NAME_BYTES_MAX, "vendor name")?,
                by: Did::decode_from(r)?,
            },
            1 => DeviceInstruction::AddPai {
                certificate: r.bytes(attestation::CERT_DER_BYTES_MAX, "certificate")?.to_vec(),
                by: Did::decode_from(r)?,
            },
            2 => DeviceInstruction::RevokePai {
                subject_key_id: r.bytes(KEY_ID_BYTES, "subject key id")?.to_vec(),
                reason: r.string(REVOCATION_REASON_BYTES_MAX, "reason")?,
                by: Did::decode_from(r)?,
            },
            3 => DeviceInstruction::RevokeDac {
                fingerprint: Hash::decode_from(r)?,
                vendor_id: u16::from_be_bytes(r.array("vendor id")?),
                reason: r.string(REVOCATION_REASON_BYTES_MAX, "reason")?,
                by: Did::decode_from(r)?,
            },
            4 => DeviceInstruction::RegisterModel {
                vendor_id: u16::from_be_bytes(r.array("vendor id")?),
                product_id: u16::from_be_bytes(r.array("product id")?),
                device_type: r.u32("device type")?,
                name: r.string(MODEL_NAME_BYTES_MAX, "model name")?,
                capabilities: Capabilities::decode_from(r)?,
                by: Did::decode_from(r)?,
            },
            5 => DeviceInstruction::AddModelVersion {
                vendor_id: u16::from_be_bytes(r.array("vendor id")?),
                product_id: u16::from_be_bytes(r.array("product id")?),
                software_version: r.u32("software version")?,
                version_string: r.string(VERSION_STRING_BYTES_MAX, "version string")?,
                checksum: Hash::decode_from(r)?,
                ota_url: r.string(OTA_URL_BYTES_MAX, "OTA URL")?,
                min_applicable: r.u32("min applicable")?,
                max_applicable: r.u32("max applicable")?,
                by: Did::decode_from(r)?,
            },
            6 => DeviceInstruction::CertifyModelVersion {
                vendor_id: u16::from_be_bytes(r.array("vendor id")?),
                product_id: u16::from_be_bytes(r.array("product id")?),
                software_version: r.u32("software version")?,
                certified: r.bool("certified")?,
                reason: r.string(REVOCATION_REASON_BYTES_MAX, "reason")?,
                by: Did::decode_from(r)?,
            },
            7 => DeviceInstruction::RegisterDevice {
                dac: r.bytes(attestation::CERT_DER_BYTES_MAX, "DAC")?.to_vec(),
                operational_key: PublicKey::decode_from(r)?,
                software_version: r.u32("software version")?,
                possession: r.bytes(POSSESSION_BYTES_MAX, "possession signature")?.to_vec(),
            },
            8 => DeviceInstruction::BindDevice {
                device: DeviceId::decode_from(r)?,
                owner: Did::decode_from(r)?,
                device_signature: Signature::decode_from(r)?,
            },
            9 => DeviceInstruction::OfferDevice { device: DeviceId::decode_from(r)?, to: Did::decode_from(r)? },
            10 => DeviceInstruction::AcceptDevice { device: DeviceId::decode_from(r)? },
            11 => DeviceInstruction::RotateDeviceKey {
                device: DeviceId::decode_from(r)?,
                new_key: PublicKey::decode_from(r)?,
                device_signature: Signature::decode_from(r)?,
            },
            12 => DeviceInstruction::SetDeviceStatus {
                device: DeviceId::decode_from(r)?,
                status: match r.u8("device status")? {
                    0 => DeviceStatus::Active,
                    1 => DeviceStatus::Suspended,
                    2 => DeviceStatus::Revoked,
                    3 => DeviceStatus::Decommissioned,
                    tag => return Err(DecodeError::UnknownTag { what: "device status", tag }),
                },
            },
            13 => DeviceInstruction::GrantDevice {
                device: DeviceId::decode_from(r)?,
                controller: Did::decode_from(r)?,
                capabilities: r
                    .seq(CAPABILITIES_MAX, "capabilities", |r| r.string(CAPABILITY_NAME_BYTES_MAX, "capability"))?,
                not_before: r.u64("not before")?,
                not_after: r.u64("not after")?,
                scene: r.string(SCENE_NAME_BYTES_MAX, "scene")?,
            },
            14 => {
                DeviceInstruction::RevokeGrant { device: DeviceId::decode_from(r)?, controller: Did::decode_from(r)? }
            }
            tag => return Err(DecodeError::UnknownTag { what: "device instruction", tag }),
        })
    }
}

#[cfg(test)]
use proptest::prelude::*;

#[cfg(test)]
impl DeviceInstruction {
    /// Any instruction of this module, for property tests.
    pub(crate) fn arbitrary() -> BoxedStrategy<DeviceInstruction> {
        (any::<[u8; 32]>(), any::<u16>(), "[a-z_]{1,20}", prop::collection::vec(any::<u8>(), 0..64), 0u8..15)
            .prop_map(|(k, vid, text, bytes, which)| {
                let by = Did::from_initial_key(&crate::PublicKey(k));
                let device = DeviceId(PublicKey(k));
                match which {
                    0 => DeviceInstruction::ClaimVendorId { vendor_id: vid, name: text, by },
                    1 => DeviceInstruction::AddPai { certificate: bytes, by },
                    2 => DeviceInstruction::RevokePai { subject_key_id: k[..KEY_ID_BYTES].to_vec(), reason: text, by },
                    3 => DeviceInstruction::RevokeDac { fingerprint: Hash(k), vendor_id: vid, reason: text, by },
                    4 => DeviceInstruction::RegisterModel {
                        vendor_id: vid,
                        product_id: vid.wrapping_add(1),
                        device_type: u32::from(vid),
                        name: text.clone(),
                        capabilities: Capabilities {
                            properties: vec![text.clone()],
                            actions: vec![],
                            events: vec![text],
                        },
                        by,
                    },
                    5 => DeviceInstruction::AddModelVersion {
                        vendor_id: vid,
                        product_id: vid,
                        software_version: u32::from(vid),
                        version_string: text.clone(),
                        checksum: Hash(k),
                        ota_url: format!("https://{text}"),
                        min_applicable: 0,
                        max_applicable: u32::from(vid),
                        by,
                    },
                    6 => DeviceInstruction::CertifyModelVersion {
                        vendor_id: vid,
                        product_id: vid,
                        software_version: 7,
                        certified: vid % 2 == 0,
                        reason: text,
                        by,
                    },
                    7 => DeviceInstruction::RegisterDevice {
                        dac: bytes.clone(),
                        operational_key: PublicKey(k),
                        software_version: u32::from(vid),
                        possession: bytes[..bytes.len().min(POSSESSION_BYTES_MAX)].to_vec(),
                    },
                    8 => DeviceInstruction::BindDevice {
                        device,
                        owner: by,
                        device_signature: Signature([vid as u8; 64]),
                    },
                    9 => DeviceInstruction::OfferDevice { device, to: by },
                    10 => DeviceInstruction::AcceptDevice { device },
                    11 => DeviceInstruction::RotateDeviceKey {
                        device,
                        new_key: PublicKey([vid as u8; 32]),
                        device_signature: Signature([3; 64]),
                    },
                    12 => DeviceInstruction::SetDeviceStatus {
                        device,
                        status: [DeviceStatus::Active, DeviceStatus::Suspended, DeviceStatus::Decommissioned]
                            [usize::from(vid % 3)],
                    },
                    13 => DeviceInstruction::GrantDevice {
                        device,
                        controller: by,
                        capabilities: vec![text.clone()],
                        not_before: u64::from(vid),
                        not_after: u64::from(vid) + 3600,
                        scene: text,
                    },
                    _ => DeviceInstruction::RevokeGrant { device, controller: by },
                }
            })
            .boxed()
    }
}
