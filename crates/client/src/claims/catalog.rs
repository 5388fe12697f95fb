//! The data catalog: a dataset or access request record (or its absence), and a page of one of
//! the catalog's lists (every dataset, an owner's datasets, a dataset's requests, the uses of a
//! dataset or of all of an owner's datasets) whose count proves where it ends. An owner proves
//! who used what; a grantee proves its grant (`request/N`).

use civitas_types::Did;
use civitas_types::catalog::{
    AccessRequest, CatalogEntry, CatalogList, DataUse, Dataset, LIST_PAGE_MAX, RequestStatus, dataset_key, request_key,
};
use civitas_types::codec::{Decode, DecodeError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Describe, Evidence};
use crate::light::ProofError;
use crate::wire::StateItemJson;

/// One record of the catalog (`dataset/N` or `request/N`) in the state after the block, or its
/// absence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogRecordClaim {
    /// Which record.
    pub record: String,
    /// Its state item.
    pub item: StateItemJson,
}

/// A catalog record, as proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogRecord {
    /// A dataset.
    Dataset(Dataset),
    /// An access request (granted: the grant).
    Request(AccessRequest),
}

/// The record named is this one, or there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRecordFact {
    /// Which record.
    pub record: String,
    /// It, or `None`: proven absent.
    pub value: Option<CatalogRecord>,
    /// The block's time (unix seconds): what a grant's being in force is judged at.
    pub at: u64,
}

/// The state key of `record` (`dataset/N`, `request/N`).
pub fn record_key(record: &str) -> Result<Vec<u8>, String> {
    let (kind, rest) = record.split_once('/').ok_or_else(|| format!("not a record: {record}"))?;
    let number = |n: &str| n.parse::<u64>().map_err(|_| format!("not a number: {n}"));
    match kind {
        "dataset" => Ok(dataset_key(number(rest)?)),
        "request" => Ok(request_key(number(rest)?)),
        _ => Err(format!("unknown record kind {kind:?} (dataset, request)")),
    }
}

impl Claim for CatalogRecordClaim {
    type Fact = CatalogRecordFact;

    fn check(&self, at: &Evidence<'_>) -> Result<CatalogRecordFact, ProofError> {
        let key = record_key(&self.record).map_err(|e| ProofError::Field("record", e))?;
        let value = at.item("item", &self.item, &key, || self.record.clone())?;
        let bad = |e: DecodeError| ProofError::Field("item", e.to_string());
        let value = match value {
            None => None,
            Some(b) => Some(match self.record.split_once('/').map(|(k, _)| k) {
                Some("dataset") => CatalogRecord::Dataset(Dataset::decode(&b).map_err(bad)?),
                _ => CatalogRecord::Request(AccessRequest::decode(&b).map_err(bad)?),
            }),
        };
        Ok(CatalogRecordFact { record: self.record.clone(), value, at: at.header.timestamp_ms / 1000 })
    }
}

/// The date (UTC, `YYYY-MM-DD`) of unix seconds `secs`.
fn date(secs: u64) -> String {
    let t = crate::did::datetime(secs.saturating_mul(1000));
    t.get(..10).map_or(t.clone(), str::to_owned)
}

fn dataset_text(d: &Dataset) -> String {
    format!(
        "dataset {} \"{}\" of {} is {}: version {}, content SHA-256 {}, licence {}, served at {}; registered on {}, \
         last changed on {}",
        d.id,
        d.title,
        d.owner,
        d.status.name(),
        d.version,
        d.content_hash,
        d.licence,
        d.endpoint,
        date(d.registered_at),
        date(d.updated_at)
    )
}

/// Where a request stands at `at`, in words.
fn request_status(r: &AccessRequest, at: u64) -> String {
    let by = r.decided_by.map(|d| format!(" by {d}")).unwrap_or_default();
    let on = r.decided_at.map(|t| format!(" on {}", date(t))).unwrap_or_default();
    match (r.status, r.expires_at) {
        (RequestStatus::Pending, _) => "pending, waiting for the owner".into(),
        (RequestStatus::Granted, Some(e)) if r.in_force(at) => format!("granted{by}{on}, in force until {}", date(e)),
        (RequestStatus::Granted, Some(e)) => format!("granted{by}{on}, expired on {}", date(e)),
        (RequestStatus::Granted, None) => format!("granted{by}{on}"),
        (RequestStatus::Refused, _) => format!("refused{by}{on} (\"{}\")", r.reason),
        (RequestStatus::Revoked, _) => format!("revoked{by}{on} (\"{}\")", r.reason),
    }
}

fn request_text(r: &AccessRequest, at: u64) -> String {
    format!(
        "access request {} by {} (asked by {} on {}) to use dataset {} for \"{}\", {} days, is {}; {} uses logged",
        r.id,
        r.requester,
        r.requested_by,
        date(r.requested_at),
        r.dataset,
        r.purpose,
        r.days,
        request_status(r, at),
        r.uses
    )
}

impl Describe for CatalogRecordFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let record = &self.record;
        match &self.value {
            None => (
                serde_json::json!({ "kind": "catalog_record", "record": record, "exists": false }),
                format!("there is no {}", record.replace('/', " ")),
            ),
            Some(CatalogRecord::Dataset(d)) => (
                serde_json::json!({ "kind": "catalog_record", "record": record, "exists": true, "dataset": d }),
                dataset_text(d),
            ),
            Some(CatalogRecord::Request(r)) => (
                serde_json::json!({ "kind": "catalog_record", "record": record, "exists": true, "request": r,
                    "in_force": r.in_force(self.at), "at": self.at }),
                request_text(r, self.at),
            ),
        }
    }
}

/// A page of one of the catalog's lists: its length and the entries from `from` on, each
/// proven; the count proves where it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogListClaim {
    /// The list (`datasets`, `owned/did:civitas:…`, `requests/0`, `requested/did:civitas:…`,
    /// `uses/0`, `owner-uses/did:civitas:…`).
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
pub struct CatalogListFact {
    /// The list.
    pub list: CatalogList,
    /// Its length.
    pub total: u64,
    /// The first entry's position.
    pub from: u64,
    /// The entries.
    pub entries: Vec<CatalogEntry>,
}

impl Claim for CatalogListClaim {
    type Fact = CatalogListFact;

    fn check(&self, at: &Evidence<'_>) -> Result<CatalogListFact, ProofError> {
        let list = CatalogList::parse(&self.list).map_err(|e| ProofError::Field("list", e))?;
        let (total, values) =
            at.list(&self.list, (&self.count, list.count_key()), &self.entries, (self.from, LIST_PAGE_MAX), |p| {
                list.entry_key(p)
            })?;
        let entries = values
            .iter()
            .map(|v| list.decode_entry(v).map_err(|e| ProofError::Field("entries", e.to_string())))
            .collect::<Result<_, _>>()?;
        Ok(CatalogListFact { list, total, from: self.from, entries })
    }
}

fn use_text(u: &DataUse) -> String {
    format!(
        "{} used dataset {} version {} under grant {} on {} (height {}, logged by {}): \"{}\"",
        u.user,
        u.dataset,
        u.version,
        u.grant,
        date(u.at),
        u.height,
        u.official,
        u.note
    )
}

fn entry_text(e: &CatalogEntry) -> String {
    match e {
        CatalogEntry::Number { id } => id.to_string(),
        CatalogEntry::Use(u) => use_text(u),
    }
}

/// What a list holds, for its sentence.
fn list_name(list: &CatalogList) -> String {
    let did = |d: &Did| d.to_string();
    match list {
        CatalogList::Datasets => "the catalog's datasets".into(),
        CatalogList::Owned(d) => format!("the datasets of {}", did(d)),
        CatalogList::Requests(n) => format!("the requests for dataset {n}"),
        CatalogList::Requested(d) => format!("the requests of {}", did(d)),
        CatalogList::Uses(n) => format!("the uses of dataset {n}"),
        CatalogList::OwnerUses(d) => format!("the uses of {}'s datasets", did(d)),
    }
}

impl Describe for CatalogListFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let name = self.list.to_string();
        let shown: Vec<String> = self.entries.iter().map(entry_text).collect();
        let what = list_name(&self.list);
        let sentence = if self.entries.is_empty() {
            format!("{what} ({name}) has {} entries", self.total)
        } else {
            format!("{what} ({name}) has {} entries; from position {}: {}", self.total, self.from, shown.join("; "))
        };
        (
            serde_json::json!({ "kind": "catalog_list", "list": name, "total": self.total, "from": self.from,
                "entries": self.entries }),
            sentence,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_state::{Store, Writes};
    use civitas_types::catalog::DatasetStatus;
    use civitas_types::codec::Encode;
    use civitas_types::{Block, BlockHeader, GENESIS_PARENT, Hash, PublicKey, TxReceipt};

    const T0: u64 = 1_767_225_600; // 2026-01-01
    const DAY: u64 = 86_400;

    fn did(n: u8) -> Did {
        Did::from_initial_key(&civitas_types::SecretKey::from_seed([n; 32]).public_key())
    }

    fn dataset() -> Dataset {
        Dataset {
            id: 3,
            owner: did(1),
            title: "Metro gate entries by station and hour".into(),
            description: "Entries through the gates of every station, per hour".into(),
            schema: "{\"type\":\"object\"}".into(),
            content_hash: Hash::digest(b"station,hour,entries\n"),
            licence: "CC-BY-4.0".into(),
            endpoint: "https://data.metro.civitas.example/entries".into(),
            version: 2,
            status: DatasetStatus::Active,
            registered_at: T0,
            updated_at: T0 + DAY,
        }
    }

    fn grant() -> AccessRequest {
        AccessRequest {
            id: 4,
            dataset: 3,
            requester: did(2),
            requested_by: did(5),
            purpose: "bus network planning".into(),
            days: 90,
            status: RequestStatus::Granted,
            requested_at: T0,
            decided_at: Some(T0 + DAY),
            decided_by: Some(did(1)),
            expires_at: Some(T0 + 61 * DAY),
            reason: String::new(),
            uses: 1,
        }
    }

    /// A store holding `writes` and a header over its root at block time `at`.
    fn store_with(writes: Writes, at: u64) -> (tempfile::TempDir, Store, BlockHeader) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let update = store.prepare(writes, 0).expect("prepare");
        let header = BlockHeader {
            height: 0,
            parent_hash: GENESIS_PARENT,
            timestamp_ms: at * 1000,
            proposer: PublicKey([0; 32]),
            tx_count: 0,
            tx_root: Block::tx_root(&[]),
            results_root: TxReceipt::results_root(&[]),
            state_root: update.root(),
        };
        let block = Block { header: header.clone(), transactions: vec![] };
        store.commit_genesis(&block, &update, Hash::digest(b"genesis")).expect("commit");
        (dir, store, header)
    }

    fn item(store: &Store, key: &[u8]) -> StateItemJson {
        let (value, proof) = store.prove(key, 0).expect("prove");
        StateItemJson {
            state_key: hex::encode(key),
            value: value.as_ref().map(hex::encode),
            state_proof: hex::encode(proof),
        }
    }

    #[test]
    fn record_keys_name_each_kind_and_refuse_others() {
        assert_eq!(record_key("dataset/3"), Ok(dataset_key(3)));
        assert_eq!(record_key("request/0"), Ok(request_key(0)));
        for bad in ["dataset", "dataset/x", "use/1", "request/-1", ""] {
            assert!(record_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_proven_dataset_and_grant_describe_owner_version_licence_and_expiry() {
        let (d, g) = (dataset(), grant());
        let mut refused = grant();
        refused.id = 5;
        refused.status = RequestStatus::Refused;
        refused.expires_at = None;
        refused.reason = "personal data".into();
        let writes: Writes = [
            (dataset_key(3), Some(d.encode())),
            (request_key(4), Some(g.encode())),
            (request_key(5), Some(refused.encode())),
        ]
        .into();
        let at = T0 + 10 * DAY;
        let (_dir, store, header) = store_with(writes, at);
        let evidence = Evidence { header: &header, chain_id: "test" };

        let claim = CatalogRecordClaim { record: "dataset/3".into(), item: item(&store, &dataset_key(3)) };
        let fact = claim.check(&evidence).expect("checks out");
        assert_eq!(fact.value, Some(CatalogRecord::Dataset(d.clone())));
        let (json, sentence) = fact.describe(0);
        assert_eq!(
            (json["kind"].as_str(), json["dataset"]["licence"].as_str()),
            (Some("catalog_record"), Some("CC-BY-4.0"))
        );
        for part in [
            format!("dataset 3 \"Metro gate entries by station and hour\" of {} is active", did(1)),
            "version 2".to_owned(),
            format!("content SHA-256 {}", d.content_hash),
            "licence CC-BY-4.0".to_owned(),
        ] {
            assert!(sentence.contains(&part), "{part:?} not in {sentence}");
        }

        let claim = CatalogRecordClaim { record: "request/4".into(), item: item(&store, &request_key(4)) };
        let (json, sentence) = claim.check(&evidence).expect("checks out").describe(0);
        assert_eq!((json["in_force"].as_bool(), json["request"]["uses"].as_u64()), (Some(true), Some(1)));
        for part in [
            format!("access request 4 by {}", did(2)),
            "\"bus network planning\", 90 days".to_owned(),
            format!("granted by {} on 2026-01-02, in force until 2026-03-03", did(1)),
            "1 uses logged".to_owned(),
        ] {
            assert!(sentence.contains(&part), "{part:?} not in {sentence}");
        }
        let claim = CatalogRecordClaim { record: "request/5".into(), item: item(&store, &request_key(5)) };
        let (_, sentence) = claim.check(&evidence).expect("checks out").describe(0);
        assert!(sentence.contains("is refused by") && sentence.contains("(\"personal data\")"), "{sentence}");

        // Absent, proven so; another record's proof, a forged value, or a dataset read as a
        // request, is refused.
        let claim = CatalogRecordClaim { record: "request/6".into(), item: item(&store, &request_key(6)) };
        assert_eq!(claim.check(&evidence).expect("absence checks out").describe(0).1, "there is no request 6");
        let claim = CatalogRecordClaim { record: "request/6".into(), item: item(&store, &request_key(4)) };
        assert!(matches!(claim.check(&evidence), Err(ProofError::WrongKey(_))));
        let mut forged = item(&store, &request_key(4));
        forged.value = Some(hex::encode(refused.encode()));
        let claim = CatalogRecordClaim { record: "request/4".into(), item: forged };
        assert!(matches!(claim.check(&evidence), Err(ProofError::State(_))), "another value");
        let mut kind = item(&store, &dataset_key(3));
        kind.state_key = hex::encode(request_key(3));
        let claim = CatalogRecordClaim { record: "request/3".into(), item: kind };
        assert!(claim.check(&evidence).is_err(), "a dataset's bytes under a request's key");
    }

    #[test]
    fn a_proven_page_of_an_owners_uses_says_who_used_which_version_when() {
        let list = CatalogList::OwnerUses(did(1));
        let use_of = |n: u64, version: u32| DataUse {
            dataset: 3,
            version,
            grant: 4,
            user: did(2),
            official: did(5),
            note: "weekly model run".into(),
            at: T0 + n * DAY,
            height: 10 + n,
        };
        let writes: Writes = [
            (list.count_key(), Some(2u64.to_be_bytes().to_vec())),
            (list.entry_key(0), Some(use_of(0, 1).encode())),
            (list.entry_key(1), Some(use_of(1, 2).encode())),
        ]
        .into();
        let (_dir, store, header) = store_with(writes, T0 + 2 * DAY);
        let evidence = Evidence { header: &header, chain_id: "test" };
        let claim = CatalogListClaim {
            list: list.to_string(),
            from: 0,
            count: item(&store, &list.count_key()),
            entries: vec![item(&store, &list.entry_key(0)), item(&store, &list.entry_key(1))],
        };
        let fact = claim.check(&evidence).expect("checks out");
        assert_eq!((fact.total, fact.entries.len()), (2, 2));
        assert_eq!(fact.entries[1], CatalogEntry::Use(use_of(1, 2)));
        let (json, sentence) = fact.describe(0);
        assert_eq!(json["kind"], "catalog_list");
        assert!(sentence.starts_with(&format!("the uses of {}'s datasets (owner-uses/", did(1))), "{sentence}");
        let expected = format!(
            "{} used dataset 3 version 2 under grant 4 on 2026-01-02 (height 11, logged by {}): \"weekly model run\"",
            did(2),
            did(5)
        );
        assert!(sentence.contains(&expected), "{sentence}");
        // An entry past the count is refused; so is a list of another owner.
        let mut past = claim.clone();
        past.entries.push(item(&store, &list.entry_key(2)));
        assert!(past.check(&evidence).is_err());
        let mut other = claim.clone();
        other.list = CatalogList::OwnerUses(did(9)).to_string();
        assert!(matches!(other.check(&evidence), Err(ProofError::WrongKey(_))));
        // A page of numbers decodes too; the claim JSON is tagged as the other kinds are.
        let fact = CatalogListFact {
            list: CatalogList::Datasets,
            total: 1,
            from: 0,
            entries: vec![CatalogEntry::Number { id: 3 }],
        };
        assert_eq!(fact.describe(0).1, "the catalog's datasets (datasets) has 1 entries; from position 0: 3");
        let wire = crate::wire::ClaimJson::CatalogList(claim);
        let json = serde_json::to_value(&wire).expect("json");
        assert_eq!(json["kind"], "catalog_list");
        assert_eq!(serde_json::from_value::<crate::wire::ClaimJson>(json).expect("back"), wire);
    }
}
