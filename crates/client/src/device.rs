//! Device passports in the SDK: the JSON answers of the `/v1/devices` routes and the reads that
//! fetch them, with or without a proof.

use civitas_types::Did;
use civitas_types::device::passport::{DeviceId, Grant, Passport};
use civitas_types::device::{DeviceList, ListEntry, Model, ModelVersion, Revocation, TrustedCert, Vendor};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Client, ClientError, wire};

/// A device and its passport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceJson {
    /// The device (`did:key:` of its first operational key).
    pub device: DeviceId,
    /// Its passport.
    pub passport: Passport,
}

/// What a controller may do on a device now (the latest block's time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GrantAnswerJson {
    /// The device.
    pub device: DeviceId,
    /// The controller.
    pub controller: Did,
    /// The time asked about: the latest block's, unix seconds.
    pub at: u64,
    /// Whether any capability is in force.
    pub allowed: bool,
    /// The capabilities in force (empty when not allowed).
    pub capabilities: Vec<String>,
    /// Why not, as a stable code (`no_grant`, `grant_expired`, `grant_ended`,
    /// `grant_not_yet_valid`, `device_not_active`, `unknown_device`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why not, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The grant as recorded, in force or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<Grant>,
}

/// A vendor id's holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VendorJson {
    /// The vendor id.
    pub vendor_id: u16,
    /// Its claim.
    pub vendor: Vendor,
}

/// A trusted attestation certificate (PAA or PAI) and its revocation, if revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CertificateJson {
    /// Its subject key identifier, hex.
    pub subject_key_id: String,
    /// The record.
    pub certificate: TrustedCert,
    /// Its revocation, if revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
}

/// Whether a device certificate (by fingerprint) is revoked, and the device registered with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DacStatusJson {
    /// The DAC's SHA-256 fingerprint, hex.
    pub fingerprint: String,
    /// Its revocation, if revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    /// The device registered with it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceId>,
}

/// A model and its software versions' numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModelJson {
    /// The vendor id.
    pub vendor_id: u16,
    /// The product id.
    pub product_id: u16,
    /// The model.
    pub model: Model,
}

/// A model's software version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModelVersionJson {
    /// The vendor id.
    pub vendor_id: u16,
    /// The product id.
    pub product_id: u16,
    /// The software version number.
    pub software_version: u32,
    /// The version.
    pub version: ModelVersion,
}

/// One entry of a device list: what it is and its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListEntryJson {
    /// `certificate` (a subject key id), `product` (four hex digits), `version`,
    /// `revoked_certificate` (a subject key id), `revoked_dac` (a fingerprint), `device`, or
    /// `grant` (the device, with `controller`).
    pub kind: String,
    /// Its id.
    pub id: String,
    /// A grant's controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<Did>,
}

impl ListEntryJson {
    /// The JSON form of `entry`.
    pub fn from_entry(entry: &ListEntry) -> ListEntryJson {
        let mut controller = None;
        let (kind, id) = match entry {
            ListEntry::Certificate(k) => ("certificate", hex::encode(k)),
            ListEntry::Product(p) => ("product", format!("{p:04X}")),
            ListEntry::Version(v) => ("version", v.to_string()),
            ListEntry::RevokedCertificate(k) => ("revoked_certificate", hex::encode(k)),
            ListEntry::RevokedDac(h) => ("revoked_dac", h.to_hex()),
            ListEntry::Device(d) => ("device", d.to_string()),
            ListEntry::Grant(d, c) => {
                controller = Some(*c);
                ("grant", d.to_string())
            }
        };
        ListEntryJson { kind: kind.to_owned(), id, controller }
    }
}

/// A page of a device list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceListJson {
    /// The list (`pais/FFF1`, ...).
    pub list: String,
    /// Its length.
    pub total: u64,
    /// The first entry's position.
    pub from: u64,
    /// The entries.
    pub entries: Vec<ListEntryJson>,
    /// The position of the next page, if the list goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// A vendor or product id in a path: four hex digits, as Matter writes them.
pub fn id_path(id: u16) -> String {
    format!("{id:04X}")
}

/// The route of `list`.
pub fn list_path(list: &DeviceList) -> String {
    match list {
        DeviceList::Paas => "/v1/devices/paas".into(),
        DeviceList::Pais(vid) => format!("/v1/devices/vendors/{}/pais", id_path(*vid)),
        DeviceList::Models(vid) => format!("/v1/devices/vendors/{}/models", id_path(*vid)),
        DeviceList::Versions(vid, pid) => format!("/v1/devices/models/{}/{}/versions", id_path(*vid), id_path(*pid)),
        DeviceList::Revocations => "/v1/devices/revocations".into(),
        DeviceList::Owned(did) => format!("/v1/devices/owned/{did}"),
        DeviceList::Scene(did, name) => format!("/v1/devices/scenes/{did}/{name}"),
    }
}

impl Client {
    /// Device `id`'s passport.
    pub fn device(&self, id: &DeviceId) -> Result<Option<DeviceJson>, ClientError> {
        self.get(&format!("/v1/devices/{id}"))
    }

    /// A proof of device `id`'s passport (or its absence) and of its attestation chain's
    /// revocation status.
    pub fn prove_device(&self, id: &DeviceId) -> Result<wire::ProofJson, ClientError> {
        self.proof(&format!("/v1/devices/{id}?prove=true"))
    }

    /// What `controller` may do on device `id` now.
    pub fn device_grant(&self, id: &DeviceId, controller: &Did) -> Result<Option<GrantAnswerJson>, ClientError> {
        self.get(&format!("/v1/devices/{id}/grants/{controller}"))
    }

    /// A proof of what `controller` may do on device `id` at the latest finalized block's time.
    pub fn prove_device_grant(&self, id: &DeviceId, controller: &Did) -> Result<wire::ProofJson, ClientError> {
        self.proof(&format!("/v1/devices/{id}/grants/{controller}?prove=true"))
    }

    /// Who holds vendor id `vid`.
    pub fn vendor(&self, vid: u16) -> Result<Option<VendorJson>, ClientError> {
        self.get(&format!("/v1/devices/vendors/{}", id_path(vid)))
    }

    /// The trusted certificate with subject key identifier `key_id`.
    pub fn attestation_certificate(&self, key_id: &[u8]) -> Result<Option<CertificateJson>, ClientError> {
        self.get(&format!("/v1/devices/certificates/{}", hex::encode(key_id)))
    }

    /// A proof that the certificate with subject key identifier `key_id` is revoked or not.
    pub fn prove_certificate_revocation(&self, key_id: &[u8]) -> Result<wire::ProofJson, ClientError> {
        self.proof(&format!("/v1/devices/certificates/{}?prove=true", hex::encode(key_id)))
    }

    /// Whether the DAC with this fingerprint is revoked, and which device registered with it.
    pub fn dac_status(&self, fingerprint: &civitas_types::Hash) -> Result<Option<DacStatusJson>, ClientError> {
        self.get(&format!("/v1/devices/dacs/{fingerprint}"))
    }

    /// A proof that the DAC with this fingerprint is revoked or not.
    pub fn prove_dac_revocation(&self, fingerprint: &civitas_types::Hash) -> Result<wire::ProofJson, ClientError> {
        self.proof(&format!("/v1/devices/dacs/{fingerprint}?prove=true"))
    }

    /// A page of `list` from position `from`.
    pub fn device_list(&self, list: &DeviceList, from: u64, limit: u64) -> Result<Option<DeviceListJson>, ClientError> {
        self.get(&format!("{}?from={from}&limit={limit}", list_path(list)))
    }

    /// A proof of a page of `list` from position `from`.
    pub fn prove_device_list(&self, list: &DeviceList, from: u64, limit: u64) -> Result<wire::ProofJson, ClientError> {
        self.proof(&format!("{}?from={from}&limit={limit}&prove=true", list_path(list)))
    }

    /// Model `vid`/`pid`.
    pub fn model(&self, vid: u16, pid: u16) -> Result<Option<ModelJson>, ClientError> {
        self.get(&format!("/v1/devices/models/{}/{}", id_path(vid), id_path(pid)))
    }

    /// Software version `version` of model `vid`/`pid`.
    pub fn model_version(&self, vid: u16, pid: u16, version: u32) -> Result<Option<ModelVersionJson>, ClientError> {
        self.get(&format!("/v1/devices/models/{}/{}/versions/{version}", id_path(vid), id_path(pid)))
    }
}
