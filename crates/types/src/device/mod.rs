//! Device passports (issue 14, in progress): manufacturer-attested identities of IoT devices,
//! in the manner of the Matter Distributed Compliance Ledger. So far: vendors (a manufacturer's
//! claim of a 16-bit vendor id), the roots of trust (Product Attestation Authorities, added by
//! council vote) and vendors' Product Attestation Intermediates, revocations of either and of
//! individual device certificates, and [`attestation`], the check of a device's certificate
//! chain that registration will run on chain and a hub can run offline.

pub mod attestation;
mod instruction;
pub mod list;
pub mod passport;
#[cfg(any(test, feature = "test-pki"))]
pub mod testing;

pub use instruction::{DeviceInstruction, POSSESSION_BYTES_MAX};
pub use list::{DeviceList, ListEntry};
pub use passport::{DeviceId, DeviceStatus, Grant, Passport};

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes};
use crate::{Did, Hash};

/// Longest vendor name, in bytes.
pub const VENDOR_NAME_BYTES_MAX: usize = 128;
/// Longest revocation reason, in bytes.
pub const REVOCATION_REASON_BYTES_MAX: usize = 256;
/// A subject key identifier's length (Matter requires 20 bytes).
pub const KEY_ID_BYTES: usize = 20;

/// A manufacturer's vendor id, claimed once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Vendor {
    /// The manufacturer organization that claimed it.
    pub org: Did,
    /// The brand, for people.
    pub name: String,
    /// When it was claimed.
    pub height: u64,
}

/// The level of a trusted attestation certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertLevel {
    /// A Product Attestation Authority (root), added by council vote.
    Paa,
    /// A Product Attestation Intermediate, added by its vendor.
    Pai,
}

impl CertLevel {
    /// Its stable name.
    pub fn name(self) -> &'static str {
        match self {
            CertLevel::Paa => "paa",
            CertLevel::Pai => "pai",
        }
    }
}

/// A trusted attestation certificate, kept whole so that anyone can check it again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TrustedCert {
    /// Its level.
    pub level: CertLevel,
    /// Its DER.
    #[serde(with = "crate::json::hex_bytes")]
    #[schema(value_type = String)]
    pub der: Vec<u8>,
    /// The vendor id it names (a PAA may name none).
    pub vendor_id: Option<u16>,
    /// Its issuer's subject key identifier (a PAI's PAA; none for a PAA).
    #[serde(with = "crate::json::hex_bytes_opt")]
    #[schema(value_type = Option<String>)]
    pub issuer_key_id: Option<Vec<u8>>,
    /// When it was added.
    pub height: u64,
    /// Who added it: the council's proposing department for a PAA, the vendor for a PAI.
    pub by: Did,
}

/// A revocation of a PAA, a PAI (by subject key identifier) or a device's DAC (by its
/// fingerprint): final.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Revocation {
    /// Why.
    pub reason: String,
    /// Who revoked: the council's approving department, or the vendor.
    pub by: Did,
    /// When.
    pub height: u64,
}

/// Longest model name, in bytes.
pub const MODEL_NAME_BYTES_MAX: usize = 128;
/// Most capabilities of each kind a model declares.
pub const CAPABILITIES_MAX: usize = 64;
/// Longest capability name, in bytes.
pub const CAPABILITY_NAME_BYTES_MAX: usize = 64;
/// Longest software version string, in bytes.
pub const VERSION_STRING_BYTES_MAX: usize = 64;
/// Longest OTA URL, in bytes.
pub const OTA_URL_BYTES_MAX: usize = 512;

/// What a device model exposes, in the manner of a W3C WoT Thing Model's interaction
/// affordances: named properties, actions and events. Grants name these.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Readable (and perhaps writable) state, e.g. `fan_speed`.
    #[serde(default)]
    pub properties: Vec<String>,
    /// Things it does, e.g. `ignite`.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Things it reports, e.g. `gas_leak`.
    #[serde(default)]
    pub events: Vec<String>,
}

impl Capabilities {
    /// Whether every name is 1 to 64 bytes of `a-z 0-9 _`, unique across the three lists, and
    /// there is at least one.
    pub fn well_formed(&self) -> bool {
        let all: Vec<&String> = self.properties.iter().chain(&self.actions).chain(&self.events).collect();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted.dedup();
        !all.is_empty()
            && sorted.len() == all.len()
            && all.iter().all(|n| {
                !n.is_empty()
                    && n.len() <= CAPABILITY_NAME_BYTES_MAX
                    && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            })
    }

    /// Whether `name` is one of them.
    pub fn contains(&self, name: &str) -> bool {
        self.properties.iter().chain(&self.actions).chain(&self.events).any(|n| n == name)
    }
}

/// A device model a vendor registered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Model {
    /// The Matter device type.
    pub device_type: u32,
    /// Its name, for people.
    pub name: String,
    /// What it exposes.
    pub capabilities: Capabilities,
    /// When it was registered.
    pub height: u64,
}

/// Where a model version's certification stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Certification {
    /// Not certified (yet).
    None,
    /// Certified by a certification body at a height.
    Certified {
        /// The certification body.
        by: Did,
        /// When.
        height: u64,
    },
    /// Certification revoked, for good.
    Revoked {
        /// The certification body.
        by: Did,
        /// When.
        height: u64,
        /// Why.
        reason: String,
    },
}

/// A released software version of a model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ModelVersion {
    /// Its version string, for people (`1.4.2`).
    pub version_string: String,
    /// SHA-256 of the OTA image.
    pub checksum: Hash,
    /// Where the image is (`https://`).
    pub ota_url: String,
    /// The oldest software version it may update.
    pub min_applicable: u32,
    /// The newest software version it may update.
    pub max_applicable: u32,
    /// Its certification.
    pub certification: Certification,
    /// When it was added.
    pub height: u64,
}

/// Where model `vid`/`pid` is kept.
pub fn model_key(vid: u16, pid: u16) -> Vec<u8> {
    [b"dev/model/".as_slice(), &vid.to_be_bytes(), &pid.to_be_bytes()].concat()
}

/// Where software version `version` of model `vid`/`pid` is kept.
pub fn model_version_key(vid: u16, pid: u16, version: u32) -> Vec<u8> {
    [b"dev/model-version/".as_slice(), &vid.to_be_bytes(), &pid.to_be_bytes(), &version.to_be_bytes()].concat()
}

/// Where vendor id `vid`'s claim is kept.
pub fn vendor_key(vid: u16) -> Vec<u8> {
    [b"dev/vendor/".as_slice(), &vid.to_be_bytes()].concat()
}

/// Where the trusted certificate with subject key identifier `key_id` is kept.
pub fn cert_key(key_id: &[u8]) -> Vec<u8> {
    [b"dev/cert/".as_slice(), key_id].concat()
}

/// Where the revocation of a certificate (subject key identifier) is kept; present or absent,
/// it is provable.
pub fn revoked_cert_key(key_id: &[u8]) -> Vec<u8> {
    [b"dev/revoked/cert/".as_slice(), key_id].concat()
}

/// Where the revocation of the device certificate with fingerprint `fingerprint` is kept.
pub fn revoked_dac_key(fingerprint: &Hash) -> Vec<u8> {
    [b"dev/revoked/dac/".as_slice(), &fingerprint.0].concat()
}

fn put_names(out: &mut Vec<u8>, names: &[String]) {
    crate::codec::put_len(out, names.len());
    for n in names {
        put_bytes(out, n.as_bytes());
    }
}

fn names(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<String>, DecodeError> {
    r.seq(CAPABILITIES_MAX, what, |r| r.string(CAPABILITY_NAME_BYTES_MAX, what))
}

impl Encode for Capabilities {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_names(out, &self.properties);
        put_names(out, &self.actions);
        put_names(out, &self.events);
    }
}

impl Decode for Capabilities {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Capabilities {
            properties: names(r, "properties")?,
            actions: names(r, "actions")?,
            events: names(r, "events")?,
        })
    }
}

impl Encode for Model {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.device_type.to_be_bytes());
        put_bytes(out, self.name.as_bytes());
        self.capabilities.encode_to(out);
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for Model {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Model {
            device_type: r.u32("device type")?,
            name: r.string(MODEL_NAME_BYTES_MAX, "model name")?,
            capabilities: Capabilities::decode_from(r)?,
            height: r.u64("height")?,
        })
    }
}

impl Encode for ModelVersion {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.version_string.as_bytes());
        self.checksum.encode_to(out);
        put_bytes(out, self.ota_url.as_bytes());
        out.extend_from_slice(&self.min_applicable.to_be_bytes());
        out.extend_from_slice(&self.max_applicable.to_be_bytes());
        match &self.certification {
            Certification::None => out.push(0),
            Certification::Certified { by, height } => {
                out.push(1);
                by.encode_to(out);
                out.extend_from_slice(&height.to_be_bytes());
            }
            Certification::Revoked { by, height, reason } => {
                out.push(2);
                by.encode_to(out);
                out.extend_from_slice(&height.to_be_bytes());
                put_bytes(out, reason.as_bytes());
            }
        }
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for ModelVersion {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version_string = r.string(VERSION_STRING_BYTES_MAX, "version string")?;
        let checksum = Hash::decode_from(r)?;
        let ota_url = r.string(OTA_URL_BYTES_MAX, "OTA URL")?;
        let min_applicable = r.u32("min applicable")?;
        let max_applicable = r.u32("max applicable")?;
        let certification = match r.u8("certification")? {
            0 => Certification::None,
            1 => Certification::Certified { by: Did::decode_from(r)?, height: r.u64("height")? },
            2 => Certification::Revoked {
                by: Did::decode_from(r)?,
                height: r.u64("height")?,
                reason: r.string(REVOCATION_REASON_BYTES_MAX, "reason")?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "certification", tag }),
        };
        Ok(ModelVersion {
            version_string,
            checksum,
            ota_url,
            min_applicable,
            max_applicable,
            certification,
            height: r.u64("height")?,
        })
    }
}

impl Encode for Vendor {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.org.encode_to(out);
        put_bytes(out, self.name.as_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for Vendor {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Vendor {
            org: Did::decode_from(r)?,
            name: r.string(VENDOR_NAME_BYTES_MAX, "vendor name")?,
            height: r.u64("height")?,
        })
    }
}

impl Encode for TrustedCert {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(match self.level {
            CertLevel::Paa => 0,
            CertLevel::Pai => 1,
        });
        put_bytes(out, &self.der);
        match self.vendor_id {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        match &self.issuer_key_id {
            None => out.push(0),
            Some(k) => {
                out.push(1);
                put_bytes(out, k);
            }
        }
        out.extend_from_slice(&self.height.to_be_bytes());
        self.by.encode_to(out);
    }
}

impl Decode for TrustedCert {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let level = match r.u8("certificate level")? {
            0 => CertLevel::Paa,
            1 => CertLevel::Pai,
            tag => return Err(DecodeError::UnknownTag { what: "certificate level", tag }),
        };
        let der = r.bytes(attestation::CERT_DER_BYTES_MAX, "certificate")?.to_vec();
        let vendor_id = match r.u8("vendor id")? {
            0 => None,
            1 => Some(u16::from_be_bytes(r.array("vendor id")?)),
            tag => return Err(DecodeError::UnknownTag { what: "vendor id", tag }),
        };
        let issuer_key_id = match r.u8("issuer key id")? {
            0 => None,
            1 => Some(r.bytes(KEY_ID_BYTES, "issuer key id")?.to_vec()),
            tag => return Err(DecodeError::UnknownTag { what: "issuer key id", tag }),
        };
        Ok(TrustedCert { level, der, vendor_id, issuer_key_id, height: r.u64("height")?, by: Did::decode_from(r)? })
    }
}

impl Encode for Revocation {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.reason.as_bytes());
        self.by.encode_to(out);
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for Revocation {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Revocation {
            reason: r.string(REVOCATION_REASON_BYTES_MAX, "reason")?,
            by: Did::decode_from(r)?,
            height: r.u64("height")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn records_round_trip(
            der in prop::collection::vec(any::<u8>(), 0..300),
            vid in prop::option::of(any::<u16>()),
            ski in prop::option::of(prop::collection::vec(any::<u8>(), KEY_ID_BYTES)),
            k in any::<[u8; 32]>(),
            height in any::<u64>(),
            text in "[ -~]{0,40}",
        ) {
            let by = Did::from_initial_key(&crate::PublicKey(k));
            let cert = TrustedCert { level: CertLevel::Pai, der, vendor_id: vid, issuer_key_id: ski, height, by };
            prop_assert_eq!(TrustedCert::decode(&cert.encode()), Ok(cert));
            let vendor = Vendor { org: by, name: text.clone(), height };
            prop_assert_eq!(Vendor::decode(&vendor.encode()), Ok(vendor));
            let revocation = Revocation { reason: text.clone(), by, height };
            prop_assert_eq!(Revocation::decode(&revocation.encode()), Ok(revocation));
            let capabilities = Capabilities { properties: vec![text.clone()], actions: vec![], events: vec![text.clone()] };
            let model = Model { device_type: height as u32, name: text.clone(), capabilities, height };
            prop_assert_eq!(Model::decode(&model.encode()), Ok(model));
            for certification in [
                Certification::None,
                Certification::Certified { by, height },
                Certification::Revoked { by, height, reason: text.clone() },
            ] {
                let version = ModelVersion {
                    version_string: text.clone(),
                    checksum: Hash(k),
                    ota_url: format!("https://{text}"),
                    min_applicable: 1,
                    max_applicable: 2,
                    certification,
                    height,
                };
                prop_assert_eq!(ModelVersion::decode(&version.encode()), Ok(version));
            }
        }
    }
}
