//! Passports: a registered device's identity, owner and status, and the grants its owner gives
//! other controllers. Also the messages a device signs: the registration challenge (with its
//! DAC key, P-256) and the binding and key-rotation statements (with its operational key,
//! Ed25519), each bound to one chain.

use std::fmt;

use super::{CAPABILITIES_MAX, CAPABILITY_NAME_BYTES_MAX, Capabilities, KEY_ID_BYTES};
use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes};
use crate::{Did, Hash, PublicKey};

/// Longest scene name, in bytes.
pub const SCENE_NAME_BYTES_MAX: usize = 64;
/// Longest `did:key` text accepted.
const DID_KEY_CHARS_MAX: usize = 64;

/// A device's identifier: its first operational key (Ed25519), written as the `did:key` of
/// that key. Rotating the key later changes the key the passport records, never the id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(pub PublicKey);

/// Why a text is not a device id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a device id: {0} (expected did:key:z6Mk… of an Ed25519 key)")]
pub struct DeviceIdError(&'static str);

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = [&[0xed, 0x01][..], &self.0.0].concat();
        write!(f, "did:key:z{}", bs58::encode(bytes).into_string())
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({self})")
    }
}

impl std::str::FromStr for DeviceId {
    type Err = DeviceIdError;

    fn from_str(s: &str) -> Result<DeviceId, DeviceIdError> {
        if s.len() > DID_KEY_CHARS_MAX {
            return Err(DeviceIdError("too long"));
        }
        let encoded = s.strip_prefix("did:key:z").ok_or(DeviceIdError("no did:key:z prefix"))?;
        let bytes = bs58::decode(encoded).into_vec().map_err(|_| DeviceIdError("not base58btc"))?;
        match bytes.as_slice() {
            [0xed, 0x01, key @ ..] => {
                Ok(DeviceId(PublicKey(key.try_into().map_err(|_| DeviceIdError("not 32 bytes of key"))?)))
            }
            _ => Err(DeviceIdError("not an Ed25519 key")),
        }
    }
}

impl Encode for DeviceId {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl Decode for DeviceId {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(DeviceId(PublicKey::decode_from(r)?))
    }
}

/// Where a device stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// In service: its grants are in force.
    Active,
    /// Suspended by its owner: no grant is in force until it is resumed.
    Suspended,
    /// Its attestation certificate was revoked: final.
    Revoked,
    /// Taken out of service by its owner: final, it can do nothing more.
    Decommissioned,
}

impl DeviceStatus {
    /// Its stable name.
    pub fn name(self) -> &'static str {
        match self {
            DeviceStatus::Active => "active",
            DeviceStatus::Suspended => "suspended",
            DeviceStatus::Revoked => "revoked",
            DeviceStatus::Decommissioned => "decommissioned",
        }
    }

    /// Whether it can never change again.
    pub fn is_final(self) -> bool {
        matches!(self, DeviceStatus::Revoked | DeviceStatus::Decommissioned)
    }

    fn tag(self) -> u8 {
        match self {
            DeviceStatus::Active => 0,
            DeviceStatus::Suspended => 1,
            DeviceStatus::Revoked => 2,
            DeviceStatus::Decommissioned => 3,
        }
    }
}

/// A registered device's passport.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Passport {
    /// SHA-256 of its Device Attestation Certificate's DER.
    pub dac_fingerprint: Hash,
    /// Its vendor id (the DAC's).
    pub vendor_id: u16,
    /// Its product id (the DAC's).
    pub product_id: u16,
    /// The certified software version it registered with.
    pub software_version: u32,
    /// The subject key identifier of the PAI that issued its DAC.
    #[serde(with = "crate::json::hex_bytes")]
    #[schema(value_type = String)]
    pub pai_key_id: Vec<u8>,
    /// The subject key identifier of that PAI's PAA.
    #[serde(with = "crate::json::hex_bytes")]
    #[schema(value_type = String)]
    pub paa_key_id: Vec<u8>,
    /// Its current operational key (events and statements are signed with it).
    pub operational_key: PublicKey,
    /// How many times the key was rotated.
    pub key_version: u32,
    /// Its owner, once bound.
    pub owner: Option<Did>,
    /// A transfer its owner offered and the recipient has not accepted yet.
    pub offered_to: Option<Did>,
    /// Counts changes of owner: grants made under an earlier one are no longer in force.
    pub owner_epoch: u32,
    /// Where it stands.
    pub status: DeviceStatus,
    /// Who registered it.
    pub registered_by: Did,
    /// When.
    pub height: u64,
}

/// A grant: what an owner lets a controller do on one device, and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Grant {
    /// Names from the model's capabilities.
    pub capabilities: Vec<String>,
    /// In force from (unix seconds, block time).
    pub not_before: u64,
    /// Until (unix seconds, inclusive).
    pub not_after: u64,
    /// The scene it belongs to (empty: none), for people.
    pub scene: String,
    /// The owner who granted it.
    pub by: Did,
    /// The passport's owner epoch when granted.
    pub owner_epoch: u32,
    /// When it was granted.
    pub height: u64,
}

/// Why a controller may not use a capability now: the stable code and the sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The device is not registered.
    UnknownDevice,
    /// The device is suspended, revoked or decommissioned.
    DeviceNotActive(DeviceStatus),
    /// The owner gave this controller no grant (or revoked it).
    NoGrant,
    /// The grant was made by an earlier owner.
    GrantEnded,
    /// The grant's window has not begun.
    GrantNotYetValid,
    /// The grant's window has passed.
    GrantExpired,
    /// The grant does not name the capability.
    NotGranted,
}

impl Refusal {
    /// A stable, machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::UnknownDevice => "unknown_device",
            Refusal::DeviceNotActive(_) => "device_not_active",
            Refusal::NoGrant => "no_grant",
            Refusal::GrantEnded => "grant_ended",
            Refusal::GrantNotYetValid => "grant_not_yet_valid",
            Refusal::GrantExpired => "grant_expired",
            Refusal::NotGranted => "capability_not_granted",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownDevice => write!(f, "no such device"),
            Refusal::DeviceNotActive(s) => write!(f, "the device is {}", s.name()),
            Refusal::NoGrant => write!(f, "the owner gave this controller no grant"),
            Refusal::GrantEnded => write!(f, "the grant was made by an earlier owner and ended at the transfer"),
            Refusal::GrantNotYetValid => write!(f, "the grant is not in force yet"),
            Refusal::GrantExpired => write!(f, "the grant has expired"),
            Refusal::NotGranted => write!(f, "the grant does not name that capability"),
        }
    }
}

/// What a controller may do on a device at `now` (unix seconds): the granted capabilities, or
/// why none. One rule for the chain's answers, proofs and hubs alike.
pub fn allowed<'g>(passport: Option<&Passport>, grant: Option<&'g Grant>, now: u64) -> Result<&'g [String], Refusal> {
    let passport = passport.ok_or(Refusal::UnknownDevice)?;
    if passport.status != DeviceStatus::Active {
        return Err(Refusal::DeviceNotActive(passport.status));
    }
    let grant = grant.ok_or(Refusal::NoGrant)?;
    if grant.owner_epoch != passport.owner_epoch || passport.owner != Some(grant.by) {
        return Err(Refusal::GrantEnded);
    }
    if now < grant.not_before {
        return Err(Refusal::GrantNotYetValid);
    }
    if now > grant.not_after {
        return Err(Refusal::GrantExpired);
    }
    Ok(&grant.capabilities)
}

/// Whether `names` are 1 to 64 distinct capabilities of `declared`.
pub fn grantable(names: &[String], declared: &Capabilities) -> bool {
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    !names.is_empty()
        && names.len() <= CAPABILITIES_MAX
        && sorted.len() == names.len()
        && names.iter().all(|n| declared.contains(n))
}

/// Where device `id`'s passport is kept.
pub fn device_key(id: &DeviceId) -> Vec<u8> {
    [b"dev/device/".as_slice(), &id.0.0].concat()
}

/// Where the device registered with the DAC of fingerprint `fingerprint` is named (a DAC
/// registers one device, once).
pub fn dac_device_key(fingerprint: &Hash) -> Vec<u8> {
    [b"dev/dac/".as_slice(), &fingerprint.0].concat()
}

/// Where the grant of device `id` to `controller` is kept; present or absent, it is provable.
pub fn grant_key(id: &DeviceId, controller: &Did) -> Vec<u8> {
    [b"dev/grant/".as_slice(), &id.0.0, controller.as_bytes()].concat()
}

fn statement(domain: &[u8], chain_id: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = domain.to_vec();
    put_bytes(&mut out, chain_id.as_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// What a device signs with its DAC key (ECDSA P-256, SHA-256) to register: that on chain
/// `chain_id` its operational key is `key`.
pub fn registration_challenge(chain_id: &str, key: &PublicKey) -> Vec<u8> {
    statement(b"civitas/device/register/v1\0", chain_id, &[&key.0])
}

/// What a device signs with its operational key to be bound to `owner`.
pub fn binding_statement(chain_id: &str, id: &DeviceId, owner: &Did, owner_epoch: u32) -> Vec<u8> {
    statement(b"civitas/device/bind/v1\0", chain_id, &[&id.0.0, owner.as_bytes(), &owner_epoch.to_be_bytes()])
}

/// What a device signs with its current operational key to rotate to `new_key`.
pub fn rotation_statement(chain_id: &str, id: &DeviceId, new_key: &PublicKey, key_version: u32) -> Vec<u8> {
    statement(b"civitas/device/rotate-key/v1\0", chain_id, &[&id.0.0, &new_key.0, &key_version.to_be_bytes()])
}

fn put_option_did(out: &mut Vec<u8>, did: &Option<Did>) {
    match did {
        None => out.push(0),
        Some(d) => {
            out.push(1);
            d.encode_to(out);
        }
    }
}

fn option_did(r: &mut Reader<'_>, what: &'static str) -> Result<Option<Did>, DecodeError> {
    match r.u8(what)? {
        0 => Ok(None),
        1 => Ok(Some(Did::decode_from(r)?)),
        tag => Err(DecodeError::UnknownTag { what, tag }),
    }
}

impl Encode for Passport {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.dac_fingerprint.encode_to(out);
        out.extend_from_slice(&self.vendor_id.to_be_bytes());
        out.extend_from_slice(&self.product_id.to_be_bytes());
        out.extend_from_slice(&self.software_version.to_be_bytes());
        put_bytes(out, &self.pai_key_id);
        put_bytes(out, &self.paa_key_id);
        self.operational_key.encode_to(out);
        out.extend_from_slice(&self.key_version.to_be_bytes());
        put_option_did(out, &self.owner);
        put_option_did(out, &self.offered_to);
        out.extend_from_slice(&self.owner_epoch.to_be_bytes());
        out.push(self.status.tag());
        self.registered_by.encode_to(out);
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for Passport {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Passport {
            dac_fingerprint: Hash::decode_from(r)?,
            vendor_id: u16::from_be_bytes(r.array("vendor id")?),
            product_id: u16::from_be_bytes(r.array("product id")?),
            software_version: r.u32("software version")?,
            pai_key_id: r.bytes(KEY_ID_BYTES, "PAI key id")?.to_vec(),
            paa_key_id: r.bytes(KEY_ID_BYTES, "PAA key id")?.to_vec(),
            operational_key: PublicKey::decode_from(r)?,
            key_version: r.u32("key version")?,
            owner: option_did(r, "owner")?,
            offered_to: option_did(r, "offered to")?,
            owner_epoch: r.u32("owner epoch")?,
            status: match r.u8("device status")? {
                0 => DeviceStatus::Active,
                1 => DeviceStatus::Suspended,
                2 => DeviceStatus::Revoked,
                3 => DeviceStatus::Decommissioned,
                tag => return Err(DecodeError::UnknownTag { what: "device status", tag }),
            },
            registered_by: Did::decode_from(r)?,
            height: r.u64("height")?,
        })
    }
}

impl Encode for Grant {
    fn encode_to(&self, out: &mut Vec<u8>) {
        crate::codec::put_len(out, self.capabilities.len());
        for c in &self.capabilities {
            put_bytes(out, c.as_bytes());
        }
        out.extend_from_slice(&self.not_before.to_be_bytes());
        out.extend_from_slice(&self.not_after.to_be_bytes());
        put_bytes(out, self.scene.as_bytes());
        self.by.encode_to(out);
        out.extend_from_slice(&self.owner_epoch.to_be_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for Grant {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Grant {
            capabilities: r
                .seq(CAPABILITIES_MAX, "capabilities", |r| r.string(CAPABILITY_NAME_BYTES_MAX, "capability"))?,
            not_before: r.u64("not before")?,
            not_after: r.u64("not after")?,
            scene: r.string(SCENE_NAME_BYTES_MAX, "scene")?,
            by: Did::decode_from(r)?,
            owner_epoch: r.u32("owner epoch")?,
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
        fn records_round_trip(k in any::<[u8; 32]>(), n in any::<u32>(), height in any::<u64>(), text in "[a-z_]{1,20}") {
            let did = Did::from_initial_key(&PublicKey(k));
            let id = DeviceId(PublicKey(k));
            prop_assert_eq!(id.to_string().parse::<DeviceId>(), Ok(id));
            for status in [DeviceStatus::Active, DeviceStatus::Suspended, DeviceStatus::Revoked, DeviceStatus::Decommissioned] {
                let passport = Passport {
                    dac_fingerprint: Hash(k),
                    vendor_id: n as u16,
                    product_id: (n >> 16) as u16,
                    software_version: n,
                    pai_key_id: k[..20].to_vec(),
                    paa_key_id: k[12..].to_vec(),
                    operational_key: PublicKey(k),
                    key_version: n,
                    owner: (n % 2 == 0).then_some(did),
                    offered_to: (n % 3 == 0).then_some(did),
                    owner_epoch: n,
                    status,
                    registered_by: did,
                    height,
                };
                prop_assert_eq!(Passport::decode(&passport.encode()), Ok(passport));
            }
            let grant = Grant { capabilities: vec![text.clone()], not_before: height / 2, not_after: height, scene: text, by: did, owner_epoch: n, height };
            prop_assert_eq!(Grant::decode(&grant.encode()), Ok(grant));
        }
    }

    #[test]
    fn device_ids_are_did_key_of_ed25519_and_nothing_else() {
        // The did:key method's Ed25519 test vector.
        let s = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
        let id: DeviceId = s.parse().expect("an Ed25519 did:key");
        assert_eq!(id.to_string(), s);
        for bad in
            ["did:civitas:00", "did:key:zzz0OIl", "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169", ""]
        {
            assert!(bad.parse::<DeviceId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_grant_is_in_force_only_in_its_window_under_its_owner_on_an_active_device() {
        let owner = Did::from_initial_key(&PublicKey([1; 32]));
        let mut passport = Passport {
            dac_fingerprint: Hash([0; 32]),
            vendor_id: 1,
            product_id: 2,
            software_version: 3,
            pai_key_id: vec![0; 20],
            paa_key_id: vec![0; 20],
            operational_key: PublicKey([2; 32]),
            key_version: 0,
            owner: Some(owner),
            offered_to: None,
            owner_epoch: 1,
            status: DeviceStatus::Active,
            registered_by: owner,
            height: 1,
        };
        let grant = Grant {
            capabilities: vec!["ignite".into()],
            not_before: 100,
            not_after: 200,
            scene: String::new(),
            by: owner,
            owner_epoch: 1,
            height: 2,
        };
        assert_eq!(allowed(Some(&passport), Some(&grant), 150), Ok(&grant.capabilities[..]));
        assert_eq!(allowed(Some(&passport), Some(&grant), 99), Err(Refusal::GrantNotYetValid));
        assert_eq!(allowed(Some(&passport), Some(&grant), 201), Err(Refusal::GrantExpired));
        assert_eq!(allowed(Some(&passport), None, 150), Err(Refusal::NoGrant));
        assert_eq!(allowed(None, Some(&grant), 150), Err(Refusal::UnknownDevice));
        passport.owner_epoch = 2;
        assert_eq!(allowed(Some(&passport), Some(&grant), 150), Err(Refusal::GrantEnded));
        passport.status = DeviceStatus::Suspended;
        assert_eq!(allowed(Some(&passport), Some(&grant), 150), Err(Refusal::DeviceNotActive(DeviceStatus::Suspended)));
    }
}
