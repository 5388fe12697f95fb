//! The devices module's lists: the trusted PAAs, a vendor's PAIs and models, a model's software
//! versions, every revocation in order (a revocation list a hub can sync), and the devices an
//! owner has held. State keys are hashed into the tree, so a list is a count at one key and its
//! entries at keys derived from their positions; a page is proven complete by the count and
//! each entry's proof.

use std::fmt;

use super::{KEY_ID_BYTES, passport::DeviceId};
use crate::codec::{Decode, DecodeError, Reader};
use crate::{Did, Hash, PublicKey};

/// Most entries one page of a list holds.
pub const LIST_PAGE_MAX: u64 = 100;

/// A list of the devices module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceList {
    /// The PAAs the council approved, in order (revoked ones stay listed).
    Paas,
    /// A vendor id's PAIs, in order.
    Pais(u16),
    /// A vendor id's models (product ids), in order.
    Models(u16),
    /// A model's software versions, in order.
    Versions(u16, u16),
    /// Every revocation of a PAA, PAI or DAC, in order.
    Revocations,
    /// The devices bound to or accepted by an owner, in order (each passport says whether it
    /// is still theirs).
    Owned(Did),
    /// An owner's scene: the grants made under its name, in order (each grant says whether it
    /// is still in force).
    Scene(Did, String),
}

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListEntry {
    /// A PAA's or PAI's subject key identifier.
    Certificate(Vec<u8>),
    /// A product id.
    Product(u16),
    /// A software version number.
    Version(u32),
    /// A revoked PAA or PAI (by subject key identifier).
    RevokedCertificate(Vec<u8>),
    /// A revoked DAC (by fingerprint).
    RevokedDac(Hash),
    /// A device.
    Device(DeviceId),
    /// A grant of a device to a controller.
    Grant(DeviceId, Did),
}

impl fmt::Display for ListEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListEntry::Certificate(k) => write!(f, "{}", hex::encode(k)),
            ListEntry::Product(p) => write!(f, "{p:04X}"),
            ListEntry::Version(v) => write!(f, "{v}"),
            ListEntry::RevokedCertificate(k) => write!(f, "certificate {}", hex::encode(k)),
            ListEntry::RevokedDac(h) => write!(f, "DAC {h}"),
            ListEntry::Device(d) => write!(f, "{d}"),
            ListEntry::Grant(d, c) => write!(f, "{d} to {c}"),
        }
    }
}

impl DeviceList {
    fn prefix(&self) -> Vec<u8> {
        let mut out = b"dev/list/".to_vec();
        match self {
            DeviceList::Paas => out.push(0),
            DeviceList::Pais(vid) => {
                out.push(1);
                out.extend_from_slice(&vid.to_be_bytes());
            }
            DeviceList::Models(vid) => {
                out.push(2);
                out.extend_from_slice(&vid.to_be_bytes());
            }
            DeviceList::Versions(vid, pid) => {
                out.push(3);
                out.extend_from_slice(&vid.to_be_bytes());
                out.extend_from_slice(&pid.to_be_bytes());
            }
            DeviceList::Revocations => out.push(4),
            DeviceList::Owned(did) => {
                out.push(5);
                out.extend_from_slice(did.as_bytes());
            }
            DeviceList::Scene(did, name) => {
                out.push(6);
                out.extend_from_slice(did.as_bytes());
                out.extend_from_slice(&Hash::digest(name.as_bytes()).0);
            }
        }
        out
    }

    /// Where the list's length is kept.
    pub fn count_key(&self) -> Vec<u8> {
        [self.prefix().as_slice(), b"/count"].concat()
    }

    /// Where entry `position` is kept.
    pub fn entry_key(&self, position: u64) -> Vec<u8> {
        [self.prefix().as_slice(), b"/", &position.to_be_bytes()].concat()
    }

    /// Decodes one of its entries.
    pub fn decode_entry(&self, bytes: &[u8]) -> Result<ListEntry, DecodeError> {
        let mut r = Reader::new(bytes);
        let entry = match self {
            DeviceList::Paas | DeviceList::Pais(_) => {
                ListEntry::Certificate(r.array::<KEY_ID_BYTES>("subject key id")?.to_vec())
            }
            DeviceList::Models(_) => ListEntry::Product(u16::from_be_bytes(r.array("product id")?)),
            DeviceList::Versions(..) => ListEntry::Version(r.u32("software version")?),
            DeviceList::Revocations => match r.u8("revocation kind")? {
                0 => ListEntry::RevokedCertificate(r.array::<KEY_ID_BYTES>("subject key id")?.to_vec()),
                1 => ListEntry::RevokedDac(Hash::decode_from(&mut r)?),
                tag => return Err(DecodeError::UnknownTag { what: "revocation kind", tag }),
            },
            DeviceList::Owned(_) => ListEntry::Device(DeviceId(PublicKey::decode_from(&mut r)?)),
            DeviceList::Scene(..) => {
                ListEntry::Grant(DeviceId(PublicKey::decode_from(&mut r)?), Did::decode_from(&mut r)?)
            }
        };
        r.finish()?;
        Ok(entry)
    }

    /// Its name and parameters, for people and proof documents: `paas`, `pais/FFF1`,
    /// `models/FFF1`, `versions/FFF1/8001`, `revocations`, `owned/did:civitas:…`,
    /// `scene/did:civitas:…/kitchen`.
    pub fn name(&self) -> String {
        match self {
            DeviceList::Paas => "paas".into(),
            DeviceList::Pais(vid) => format!("pais/{vid:04X}"),
            DeviceList::Models(vid) => format!("models/{vid:04X}"),
            DeviceList::Versions(vid, pid) => format!("versions/{vid:04X}/{pid:04X}"),
            DeviceList::Revocations => "revocations".into(),
            DeviceList::Owned(did) => format!("owned/{did}"),
            DeviceList::Scene(did, name) => format!("scene/{did}/{name}"),
        }
    }

    /// Parses [`DeviceList::name`]'s form.
    pub fn parse(s: &str) -> Result<DeviceList, String> {
        let id = |t: &str| {
            (t.len() == 4 && t.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u16::from_str_radix(t, 16).ok())
                .flatten()
                .ok_or_else(|| format!("`{t}` is not four hex digits"))
        };
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            ["paas"] => Ok(DeviceList::Paas),
            ["pais", v] => Ok(DeviceList::Pais(id(v)?)),
            ["models", v] => Ok(DeviceList::Models(id(v)?)),
            ["versions", v, p] => Ok(DeviceList::Versions(id(v)?, id(p)?)),
            ["revocations"] => Ok(DeviceList::Revocations),
            ["owned", did] => Ok(DeviceList::Owned(did.parse().map_err(|e: crate::DidError| e.to_string())?)),
            ["scene", did, name] if scene_name_ok(name) => {
                Ok(DeviceList::Scene(did.parse().map_err(|e: crate::DidError| e.to_string())?, (*name).to_owned()))
            }
            _ => Err(format!("unknown list `{s}`")),
        }
    }
}

/// Whether `name` is a scene name: 1 to 64 of `a-z 0-9 _ -`.
pub fn scene_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= super::passport::SCENE_NAME_BYTES_MAX
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The bytes of a grant's entry in a [`DeviceList::Scene`].
pub fn grant_entry(device: &DeviceId, controller: &Did) -> Vec<u8> {
    [&device.0.0[..], controller.as_bytes()].concat()
}

/// The bytes of a revoked certificate's entry in [`DeviceList::Revocations`].
pub fn revoked_certificate_entry(key_id: &[u8]) -> Vec<u8> {
    [&[0u8][..], key_id].concat()
}

/// The bytes of a revoked DAC's entry in [`DeviceList::Revocations`].
pub fn revoked_dac_entry(fingerprint: &Hash) -> Vec<u8> {
    [&[1u8][..], &fingerprint.0].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_have_distinct_keys_names_that_parse_back_and_entries_that_decode() {
        let did = Did::from_initial_key(&PublicKey([3; 32]));
        let lists = [
            DeviceList::Paas,
            DeviceList::Pais(0xFFF1),
            DeviceList::Models(0xFFF1),
            DeviceList::Versions(0xFFF1, 0x8001),
            DeviceList::Revocations,
            DeviceList::Owned(did),
            DeviceList::Scene(did, "kitchen".into()),
        ];
        let mut keys: Vec<Vec<u8>> = lists.iter().flat_map(|l| [l.count_key(), l.entry_key(0)]).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 2 * lists.len());
        for l in lists {
            assert_eq!(DeviceList::parse(&l.name()), Ok(l));
        }
        assert!(DeviceList::parse("pais/fff").is_err() && DeviceList::parse("nope").is_err());
        assert!(DeviceList::parse(&format!("scene/{did}/Kitchen")).is_err(), "scene names are lowercase");
        let id = DeviceId(PublicKey([4; 32]));
        let scene = DeviceList::Scene(did, "kitchen".into());
        assert_eq!(scene.decode_entry(&grant_entry(&id, &did)), Ok(ListEntry::Grant(id, did)));
        let fp = Hash([7; 32]);
        assert_eq!(DeviceList::Revocations.decode_entry(&revoked_dac_entry(&fp)), Ok(ListEntry::RevokedDac(fp)));
        assert!(DeviceList::Revocations.decode_entry(&[9]).is_err());
        assert!(DeviceList::Paas.decode_entry(&[0; 19]).is_err());
    }
}
