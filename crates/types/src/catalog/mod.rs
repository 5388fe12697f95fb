//! The data catalog: datasets an organization registers (title, schema, content hash, licence,
//! where it is served), requests by other organizations to use one for a purpose, the owner's
//! grant (with an expiry) or refusal, and every use of a grant, logged so the owner lists who
//! used what. Light clients decode these records from proven state, so their encoding is part of
//! the public format.

mod instruction;
pub use instruction::CatalogInstruction;

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes};
use crate::fund::{opt_u64, put_opt_u64, status_enum};
use crate::{Did, Hash};

/// Longest dataset title, in bytes.
pub const TITLE_BYTES_MAX: usize = 160;
/// Longest description, purpose, note or reason, in bytes.
pub const TEXT_BYTES_MAX: usize = 1_000;
/// Longest schema (JSON Schema, or a CSV header with types), in bytes.
pub const SCHEMA_BYTES_MAX: usize = 8 * 1024;
/// Longest licence (an SPDX identifier or a URL), in bytes.
pub const LICENCE_BYTES_MAX: usize = 128;
/// Longest endpoint (an `https://` URL), in bytes.
pub const ENDPOINT_BYTES_MAX: usize = 256;
/// Longest grant, in days.
pub const GRANT_DAYS_MAX: u32 = 3_660;
/// Most entries one page of a list holds.
pub const LIST_PAGE_MAX: u64 = 100;

/// The state key of dataset `id`.
pub fn dataset_key(id: u64) -> Vec<u8> {
    [b"cat/d/".as_slice(), &id.to_be_bytes()].concat()
}

/// The state key of access request `id` (granted, it is the grant).
pub fn request_key(id: u64) -> Vec<u8> {
    [b"cat/r/".as_slice(), &id.to_be_bytes()].concat()
}

/// Whether `url` is a usable endpoint: `https://`, a host, no spaces or control characters.
pub fn endpoint_ok(url: &str) -> bool {
    url.len() <= ENDPOINT_BYTES_MAX
        && url.strip_prefix("https://").is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
}

status_enum!(
    /// Where a dataset stands.
    DatasetStatus, "dataset status" {
        /// Offered: others may request it.
        Active = 0, "active";
        /// Retired by its owner: no new requests, no new uses.
        Retired = 1, "retired";
    }
);

status_enum!(
    /// Where an access request stands.
    RequestStatus, "request status" {
        /// Waiting for the owner.
        Pending = 0, "pending";
        /// Granted until `expires_at`.
        Granted = 1, "granted";
        /// Refused by the owner (the reason is kept).
        Refused = 2, "refused";
        /// Granted, then revoked by the owner (the reason is kept).
        Revoked = 3, "revoked";
    }
);

/// A dataset in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Dataset {
    /// Its number.
    pub id: u64,
    /// The organization that owns it and decides who may use it.
    pub owner: Did,
    /// Its title.
    pub title: String,
    /// What it holds, for people.
    pub description: String,
    /// Its schema (JSON Schema, or a CSV header with types).
    pub schema: String,
    /// SHA-256 of the content of its current version.
    pub content_hash: Hash,
    /// Its licence (an SPDX identifier or a URL).
    pub licence: String,
    /// Where it is served (`https://`).
    pub endpoint: String,
    /// Its version (1 at registration; each update adds one).
    pub version: u32,
    /// Where it stands.
    pub status: DatasetStatus,
    /// When it was registered (unix seconds).
    pub registered_at: u64,
    /// When it last changed (unix seconds).
    pub updated_at: u64,
}

impl Encode for Dataset {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        self.owner.encode_to(out);
        put_bytes(out, self.title.as_bytes());
        put_bytes(out, self.description.as_bytes());
        put_bytes(out, self.schema.as_bytes());
        self.content_hash.encode_to(out);
        put_bytes(out, self.licence.as_bytes());
        put_bytes(out, self.endpoint.as_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        self.status.encode_to(out);
        out.extend_from_slice(&self.registered_at.to_be_bytes());
        out.extend_from_slice(&self.updated_at.to_be_bytes());
    }
}

impl Decode for Dataset {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Dataset {
            id: r.u64("dataset")?,
            owner: Did::decode_from(r)?,
            title: r.string(TITLE_BYTES_MAX, "title")?,
            description: r.string(TEXT_BYTES_MAX, "description")?,
            schema: r.string(SCHEMA_BYTES_MAX, "schema")?,
            content_hash: Hash::decode_from(r)?,
            licence: r.string(LICENCE_BYTES_MAX, "licence")?,
            endpoint: r.string(ENDPOINT_BYTES_MAX, "endpoint")?,
            version: r.u32("version")?,
            status: DatasetStatus::decode_from(r)?,
            registered_at: r.u64("registered at")?,
            updated_at: r.u64("updated at")?,
        })
    }
}

/// An organization's request to use a dataset for a purpose, and the owner's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccessRequest {
    /// Its number.
    pub id: u64,
    /// The dataset.
    pub dataset: u64,
    /// The requesting organization.
    pub requester: Did,
    /// The official who asked.
    pub requested_by: Did,
    /// What for.
    pub purpose: String,
    /// How many days of access it asks for.
    pub days: u32,
    /// Where it stands.
    pub status: RequestStatus,
    /// When it was made (unix seconds).
    pub requested_at: u64,
    /// When the owner decided (unix seconds).
    pub decided_at: Option<u64>,
    /// The owner's official who decided.
    pub decided_by: Option<Did>,
    /// Until when a grant lasts (unix seconds, inclusive).
    pub expires_at: Option<u64>,
    /// Why it was refused or revoked (empty otherwise).
    pub reason: String,
    /// How many uses were logged under it.
    pub uses: u64,
}

impl AccessRequest {
    /// Whether it lets its requester use the dataset at `now` (unix seconds).
    pub fn in_force(&self, now: u64) -> bool {
        self.status == RequestStatus::Granted && self.expires_at.is_some_and(|e| now <= e)
    }
}

impl Encode for AccessRequest {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.dataset.to_be_bytes());
        self.requester.encode_to(out);
        self.requested_by.encode_to(out);
        put_bytes(out, self.purpose.as_bytes());
        out.extend_from_slice(&self.days.to_be_bytes());
        self.status.encode_to(out);
        out.extend_from_slice(&self.requested_at.to_be_bytes());
        put_opt_u64(out, self.decided_at);
        crate::fund::put_opt_did(out, &self.decided_by);
        put_opt_u64(out, self.expires_at);
        put_bytes(out, self.reason.as_bytes());
        out.extend_from_slice(&self.uses.to_be_bytes());
    }
}

impl Decode for AccessRequest {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AccessRequest {
            id: r.u64("request")?,
            dataset: r.u64("dataset")?,
            requester: Did::decode_from(r)?,
            requested_by: Did::decode_from(r)?,
            purpose: r.string(TEXT_BYTES_MAX, "purpose")?,
            days: r.u32("days")?,
            status: RequestStatus::decode_from(r)?,
            requested_at: r.u64("requested at")?,
            decided_at: opt_u64(r, "decided at")?,
            decided_by: crate::fund::opt_did(r, "decided by")?,
            expires_at: opt_u64(r, "expires at")?,
            reason: r.string(TEXT_BYTES_MAX, "reason")?,
            uses: r.u64("uses")?,
        })
    }
}

/// One use of a dataset under a grant, as the user logged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DataUse {
    /// The dataset.
    pub dataset: u64,
    /// Its version used.
    pub version: u32,
    /// The grant.
    pub grant: u64,
    /// The organization that used it.
    pub user: Did,
    /// The official who logged the use.
    pub official: Did,
    /// What it was used for this time.
    pub note: String,
    /// When (unix seconds).
    pub at: u64,
    /// The height.
    pub height: u64,
}

impl Encode for DataUse {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.dataset.to_be_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.grant.to_be_bytes());
        self.user.encode_to(out);
        self.official.encode_to(out);
        put_bytes(out, self.note.as_bytes());
        out.extend_from_slice(&self.at.to_be_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for DataUse {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(DataUse {
            dataset: r.u64("dataset")?,
            version: r.u32("version")?,
            grant: r.u64("grant")?,
            user: Did::decode_from(r)?,
            official: Did::decode_from(r)?,
            note: r.string(TEXT_BYTES_MAX, "note")?,
            at: r.u64("at")?,
            height: r.u64("height")?,
        })
    }
}

/// A list of the catalog: a count at one key and its entries at keys derived from their
/// positions; a page is proven complete by the count and each entry's proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogList {
    /// Every dataset, in order (entries: numbers).
    Datasets,
    /// An organization's datasets, in order (numbers).
    Owned(Did),
    /// The requests for a dataset, in order (numbers).
    Requests(u64),
    /// An organization's requests, in order (numbers).
    Requested(Did),
    /// The uses of a dataset, in order.
    Uses(u64),
    /// The uses of all of an owner's datasets, in order: who used what.
    OwnerUses(Did),
}

/// One entry of a [`CatalogList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CatalogEntry {
    /// A dataset or request number.
    Number {
        /// The number.
        id: u64,
    },
    /// A use.
    Use(DataUse),
}

impl fmt::Display for CatalogList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogList::Datasets => write!(f, "datasets"),
            CatalogList::Owned(d) => write!(f, "owned/{d}"),
            CatalogList::Requests(n) => write!(f, "requests/{n}"),
            CatalogList::Requested(d) => write!(f, "requested/{d}"),
            CatalogList::Uses(n) => write!(f, "uses/{n}"),
            CatalogList::OwnerUses(d) => write!(f, "owner-uses/{d}"),
        }
    }
}

impl CatalogList {
    /// Parses the name [`fmt::Display`] writes (`datasets`, `uses/3`, `owner-uses/did:civitas:…`).
    pub fn parse(s: &str) -> Result<CatalogList, String> {
        let number = |n: &str| n.parse::<u64>().map_err(|_| format!("not a number: {n}"));
        let did = |d: &str| d.parse::<Did>().map_err(|e| e.to_string());
        Ok(match s.split_once('/') {
            None if s == "datasets" => CatalogList::Datasets,
            Some(("owned", d)) => CatalogList::Owned(did(d)?),
            Some(("requests", n)) => CatalogList::Requests(number(n)?),
            Some(("requested", d)) => CatalogList::Requested(did(d)?),
            Some(("uses", n)) => CatalogList::Uses(number(n)?),
            Some(("owner-uses", d)) => CatalogList::OwnerUses(did(d)?),
            _ => {
                return Err(format!(
                    "unknown list {s:?} (datasets, owned/DID, requests/D, requested/DID, uses/D, owner-uses/DID)"
                ));
            }
        })
    }

    fn prefix(&self) -> Vec<u8> {
        let mut out = b"cat/list/".to_vec();
        match self {
            CatalogList::Datasets => out.push(0),
            CatalogList::Owned(d) => {
                out.push(1);
                d.encode_to(&mut out);
            }
            CatalogList::Requests(n) => {
                out.push(2);
                out.extend_from_slice(&n.to_be_bytes());
            }
            CatalogList::Requested(d) => {
                out.push(3);
                d.encode_to(&mut out);
            }
            CatalogList::Uses(n) => {
                out.push(4);
                out.extend_from_slice(&n.to_be_bytes());
            }
            CatalogList::OwnerUses(d) => {
                out.push(5);
                d.encode_to(&mut out);
            }
        }
        out
    }

    /// The key of its length.
    pub fn count_key(&self) -> Vec<u8> {
        [self.prefix().as_slice(), b"/n"].concat()
    }

    /// The key of its entry at `position`.
    pub fn entry_key(&self, position: u64) -> Vec<u8> {
        [self.prefix().as_slice(), b"/e/", &position.to_be_bytes()].concat()
    }

    /// Decodes one of its entries.
    pub fn decode_entry(&self, bytes: &[u8]) -> Result<CatalogEntry, DecodeError> {
        Ok(match self {
            CatalogList::Uses(_) | CatalogList::OwnerUses(_) => CatalogEntry::Use(DataUse::decode(bytes)?),
            _ => {
                let mut r = Reader::new(bytes);
                let id = r.u64("number")?;
                r.finish()?;
                CatalogEntry::Number { id }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PublicKey;
    use proptest::prelude::*;

    fn did(b: u8) -> Did {
        Did::from_initial_key(&PublicKey([b; 32]))
    }

    proptest! {
        #[test]
        fn records_round_trip(n in any::<u64>(), v in any::<u32>(), granted in any::<bool>()) {
            let d = Dataset {
                id: n, owner: did(1), title: "Metro entries by station and hour".into(),
                description: "Gate entries, 2026".into(), schema: "{\"type\":\"object\"}".into(),
                content_hash: Hash([3; 32]), licence: "CC-BY-4.0".into(),
                endpoint: "https://data.metro.example/entries".into(), version: v,
                status: DatasetStatus::Retired, registered_at: n, updated_at: n,
            };
            prop_assert_eq!(Dataset::decode(&d.encode()), Ok(d));
            let r = AccessRequest {
                id: n, dataset: 2, requester: did(2), requested_by: did(3), purpose: "Bus network planning".into(),
                days: v, status: if granted { RequestStatus::Granted } else { RequestStatus::Refused },
                requested_at: n, decided_at: granted.then_some(n), decided_by: granted.then(|| did(1)),
                expires_at: granted.then_some(n), reason: String::new(), uses: n,
            };
            prop_assert_eq!(AccessRequest::decode(&r.encode()), Ok(r));
            let u = DataUse {
                dataset: 1, version: v, grant: n, user: did(2), official: did(3), note: "weekly model run".into(),
                at: n, height: 4,
            };
            prop_assert_eq!(DataUse::decode(&u.encode()), Ok(u));
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = Dataset::decode(&bytes);
            let _ = AccessRequest::decode(&bytes);
            let _ = DataUse::decode(&bytes);
        }
    }

    #[test]
    fn list_names_round_trip_and_keys_differ() {
        let lists = [
            CatalogList::Datasets,
            CatalogList::Owned(did(1)),
            CatalogList::Requests(1),
            CatalogList::Requested(did(1)),
            CatalogList::Uses(1),
            CatalogList::OwnerUses(did(1)),
        ];
        let mut keys = std::collections::BTreeSet::new();
        for l in lists {
            assert_eq!(CatalogList::parse(&l.to_string()), Ok(l.clone()));
            assert!(keys.insert(l.count_key()));
            assert!(keys.insert(l.entry_key(0)));
        }
        assert!(CatalogList::parse("uses/x").is_err());
    }

    #[test]
    fn endpoints_are_https_urls() {
        assert!(endpoint_ok("https://data.metro.example/entries"));
        for bad in ["http://data.metro.example", "https://", "https:///x", "https://a b", "ftp://x"] {
            assert!(!endpoint_ok(bad), "{bad}");
        }
    }

    #[test]
    fn a_grant_is_in_force_until_it_expires() {
        let mut r = AccessRequest {
            id: 0,
            dataset: 0,
            requester: did(2),
            requested_by: did(2),
            purpose: "p".into(),
            days: 1,
            status: RequestStatus::Granted,
            requested_at: 0,
            decided_at: Some(0),
            decided_by: Some(did(1)),
            expires_at: Some(100),
            reason: String::new(),
            uses: 0,
        };
        assert!(r.in_force(100));
        assert!(!r.in_force(101));
        r.status = RequestStatus::Revoked;
        assert!(!r.in_force(0));
    }
}
