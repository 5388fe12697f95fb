//! Device passports: a device's passport with the revocation status of its whole attestation
//! chain; whether one certificate is revoked (present or absent); and what a controller may do
//! on a device at the block's time.

use civitas_types::codec::Decode;
use civitas_types::device::list::LIST_PAGE_MAX;
use civitas_types::device::passport::{self, DeviceId, Grant, Passport, Refusal, device_key, grant_key};
use civitas_types::device::{DeviceList, ListEntry, Revocation, revoked_cert_key, revoked_dac_key};
use civitas_types::{Did, Hash};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Describe, Evidence};
use crate::light::{ProofError, field_hex};
use crate::wire::StateItemJson;

fn decode<T: Decode>(name: &'static str, bytes: Option<Vec<u8>>) -> Result<Option<T>, ProofError> {
    bytes.as_deref().map(T::decode).transpose().map_err(|e| ProofError::Field(name, e.to_string()))
}

fn device_id(s: &str) -> Result<DeviceId, ProofError> {
    s.parse().map_err(|e: passport::DeviceIdError| ProofError::Field("device", e.to_string()))
}

/// A device's passport (or its absence) in the state after the block and, for a passport, the
/// revocation records of its DAC, PAI and PAA, each proven present or absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceClaim {
    /// The device (`did:key:`).
    pub device: String,
    /// The passport.
    pub passport: StateItemJson,
    /// The DAC's revocation record (absent: not revoked); with a passport.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dac_revocation: Option<StateItemJson>,
    /// The PAI's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pai_revocation: Option<StateItemJson>,
    /// The PAA's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paa_revocation: Option<StateItemJson>,
}

/// The device has this passport (or none), and these certificates of its chain are revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFact {
    /// The device.
    pub device: DeviceId,
    /// Its passport, or `None`: proven unregistered.
    pub passport: Option<Passport>,
    /// Which of `dac`, `pai`, `paa` are revoked (empty: none).
    pub revoked: Vec<&'static str>,
}

impl Claim for DeviceClaim {
    type Fact = DeviceFact;

    fn check(&self, at: &Evidence<'_>) -> Result<DeviceFact, ProofError> {
        let device = device_id(&self.device)?;
        let value = at.item("passport", &self.passport, &device_key(&device), || self.device.clone())?;
        let passport: Option<Passport> = decode("passport", value)?;
        let mut revoked = Vec::new();
        if let Some(p) = &passport {
            let chain = [
                ("dac", &self.dac_revocation, revoked_dac_key(&p.dac_fingerprint)),
                ("pai", &self.pai_revocation, revoked_cert_key(&p.pai_key_id)),
                ("paa", &self.paa_revocation, revoked_cert_key(&p.paa_key_id)),
            ];
            for (name, item, key) in chain {
                let item = item.as_ref().ok_or(ProofError::Field("revocations", format!("the {name}'s is missing")))?;
                if at.item("revocation", item, &key, || format!("the {name} of {}", self.device))?.is_some() {
                    revoked.push(name);
                }
            }
        }
        Ok(DeviceFact { device, passport, revoked })
    }
}

impl Describe for DeviceFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let device = self.device.to_string();
        let Some(p) = &self.passport else {
            return (
                serde_json::json!({ "kind": "device", "device": device, "registered": false }),
                format!("no device {device} is registered"),
            );
        };
        let owner = p.owner.map_or_else(|| "no owner yet".to_owned(), |o| format!("owned by {o}"));
        let chain = if self.revoked.is_empty() {
            "its DAC, PAI and PAA are not revoked".to_owned()
        } else {
            format!("revoked: {}", self.revoked.join(", "))
        };
        (
            serde_json::json!({ "kind": "device", "device": device, "registered": true, "passport": p,
                "revoked": self.revoked }),
            format!(
                "device {device} (vendor {:04X}, product {:04X}, software {}) is {}, {owner}; {chain}",
                p.vendor_id,
                p.product_id,
                p.software_version,
                p.status.name()
            ),
        )
    }
}

/// Whether one attestation certificate is revoked: a PAA or PAI by subject key identifier, or
/// a DAC by fingerprint (exactly one of the two), proven present or absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevocationClaim {
    /// A PAA's or PAI's subject key identifier, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_key_id: Option<String>,
    /// A DAC's SHA-256 fingerprint, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The revocation record, or proven absent.
    pub item: StateItemJson,
}

/// The certificate is revoked (with the record), or proven not revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationFact {
    /// `PAA/PAI <key id>` or `DAC <fingerprint>`.
    pub certificate: String,
    /// The revocation, or `None`: not revoked.
    pub revocation: Option<Revocation>,
}

impl Claim for RevocationClaim {
    type Fact = RevocationFact;

    fn check(&self, at: &Evidence<'_>) -> Result<RevocationFact, ProofError> {
        let (certificate, key) = match (&self.subject_key_id, &self.fingerprint) {
            (Some(k), None) => {
                let id = field_hex("subject_key_id", k)?;
                (format!("PAA/PAI {}", hex::encode(&id)), revoked_cert_key(&id))
            }
            (None, Some(f)) => {
                let fp = Hash::from_hex(f).map_err(|e| ProofError::Field("fingerprint", e.to_string()))?;
                (format!("DAC {}", fp.to_hex()), revoked_dac_key(&fp))
            }
            _ => return Err(ProofError::Field("subject_key_id", "give a subject key id or a fingerprint".into())),
        };
        let value = at.item("revocation", &self.item, &key, || certificate.clone())?;
        Ok(RevocationFact { certificate, revocation: decode("revocation", value)? })
    }
}

impl Describe for RevocationFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let c = &self.certificate;
        match &self.revocation {
            Some(r) => (
                serde_json::json!({ "kind": "revocation", "certificate": c, "revoked": true, "revocation": r }),
                format!("{c} was revoked by {} at height {}: {}", r.by, r.height, r.reason),
            ),
            None => (
                serde_json::json!({ "kind": "revocation", "certificate": c, "revoked": false }),
                format!("{c} is not revoked"),
            ),
        }
    }
}

/// What a controller may do on a device at the block's time: the device's passport and the
/// owner's grant to the controller, each proven present or absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceGrantClaim {
    /// The device (`did:key:`).
    pub device: String,
    /// The controller's DID.
    pub controller: String,
    /// The passport.
    pub passport: StateItemJson,
    /// The grant.
    pub grant: StateItemJson,
}

/// At `at` (unix seconds, the block's time), the controller may use these capabilities, or
/// none, for the reason given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrantFact {
    /// The device.
    pub device: DeviceId,
    /// The controller.
    pub controller: Did,
    /// The block's time, unix seconds.
    pub at: u64,
    /// The grant as recorded (in force or not).
    pub grant: Option<Grant>,
    /// The capabilities in force, or why none.
    pub answer: Result<Vec<String>, Refusal>,
}

impl Claim for DeviceGrantClaim {
    type Fact = DeviceGrantFact;

    fn check(&self, at: &Evidence<'_>) -> Result<DeviceGrantFact, ProofError> {
        let device = device_id(&self.device)?;
        let controller: Did = self
            .controller
            .parse()
            .map_err(|e: civitas_types::DidError| ProofError::Field("controller", e.to_string()))?;
        let p = at.item("passport", &self.passport, &device_key(&device), || self.device.clone())?;
        let passport: Option<Passport> = decode("passport", p)?;
        let g = at.item("grant", &self.grant, &grant_key(&device, &controller), || self.controller.clone())?;
        let grant: Option<Grant> = decode("grant", g)?;
        let now = at.header.timestamp_ms / 1000;
        let answer = passport::allowed(passport.as_ref(), grant.as_ref(), now).map(<[String]>::to_vec);
        Ok(DeviceGrantFact { device, controller, at: now, grant, answer })
    }
}

impl Describe for DeviceGrantFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let (device, controller) = (self.device.to_string(), self.controller.to_string());
        match &self.answer {
            Ok(capabilities) => (
                serde_json::json!({ "kind": "device_grant", "device": device, "controller": controller,
                    "at": self.at, "allowed": true, "capabilities": capabilities, "grant": self.grant }),
                format!(
                    "at {} {controller} may use {} on device {device}",
                    crate::did::datetime(self.at * 1000),
                    capabilities.join(", ")
                ),
            ),
            Err(why) => (
                serde_json::json!({ "kind": "device_grant", "device": device, "controller": controller,
                    "at": self.at, "allowed": false, "code": why.code(), "reason": why.to_string(),
                    "grant": self.grant }),
                format!(
                    "at {} {controller} may do nothing on device {device}: {why}",
                    crate::did::datetime(self.at * 1000)
                ),
            ),
        }
    }
}

/// The state keys a [`DeviceClaim`] of a registered device proves, in its order: passport, DAC,
/// PAI and PAA revocations (for the API to fetch in one consistent read).
pub fn device_claim_keys(id: &DeviceId, passport: Option<&Passport>) -> Vec<Vec<u8>> {
    let mut keys = vec![device_key(id)];
    if let Some(p) = passport {
        keys.push(revoked_dac_key(&p.dac_fingerprint));
        keys.push(revoked_cert_key(&p.pai_key_id));
        keys.push(revoked_cert_key(&p.paa_key_id));
    }
    keys
}

/// A page of one of the devices module's lists (`paas`, `pais/FFF1`, `models/FFF1`,
/// `versions/FFF1/8001`, `revocations`, `owned/<DID>`): its length and the entries from
/// `from` on, each proven; the count proves where the list ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceListClaim {
    /// The list.
    pub list: String,
    /// The first entry's position.
    pub from: u64,
    /// The list's length (absent: empty).
    pub count: StateItemJson,
    /// Its entries from `from` on, in order.
    pub entries: Vec<StateItemJson>,
}

/// The list has `total` entries, and these are the ones from `from` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceListFact {
    /// The list.
    pub list: DeviceList,
    /// Its length.
    pub total: u64,
    /// The first entry's position.
    pub from: u64,
    /// The entries.
    pub entries: Vec<ListEntry>,
}

impl Claim for DeviceListClaim {
    type Fact = DeviceListFact;

    fn check(&self, at: &Evidence<'_>) -> Result<DeviceListFact, ProofError> {
        let list = DeviceList::parse(&self.list).map_err(|e| ProofError::Field("list", e))?;
        let (total, values) =
            at.list(&self.list, (&self.count, list.count_key()), &self.entries, (self.from, LIST_PAGE_MAX), |p| {
                list.entry_key(p)
            })?;
        let entries = values
            .iter()
            .map(|v| list.decode_entry(v).map_err(|e| ProofError::Field("entries", e.to_string())))
            .collect::<Result<_, _>>()?;
        Ok(DeviceListFact { list, total, from: self.from, entries })
    }
}

impl Describe for DeviceListFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let entries: Vec<crate::device::ListEntryJson> =
            self.entries.iter().map(crate::device::ListEntryJson::from_entry).collect();
        let shown: Vec<String> = self.entries.iter().map(ToString::to_string).collect();
        let name = self.list.name();
        let sentence = if self.entries.is_empty() {
            format!("list {name} has {} entries", self.total)
        } else {
            format!("list {name} has {} entries; from position {}: {}", self.total, self.from, shown.join(", "))
        };
        (
            serde_json::json!({ "kind": "device_list", "list": name, "total": self.total, "from": self.from,
                "entries": entries }),
            sentence,
        )
    }
}
