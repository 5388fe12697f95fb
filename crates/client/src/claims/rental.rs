//! Rentals: a listing, property, lease or lease version record (or its absence), and a page of
//! one of the module's lists (a property's history, a lease's rent payments, the leases filed
//! with a housing department…) whose count proves where it ends. A tenant shows the proof of
//! their lease (`lease/N`) where a residence permit asks for one.

use civitas_types::Did;
use civitas_types::codec::{Decode, DecodeError};
use civitas_types::rental::{
    LIST_PAGE_MAX, Lease, LeaseStatus, LeaseVersion, Listing, ListingStatus, Property, RentalEntry, RentalList,
    lease_key, listing_key, property_key, version_key,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Describe, Evidence};
use crate::light::ProofError;
use crate::wire::StateItemJson;

/// One record of rentals (`listing/N`, `property/N`, `lease/N` or `version/N/V`) in the state
/// after the block, or its absence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RentalRecordClaim {
    /// Which record.
    pub record: String,
    /// Its state item.
    pub item: StateItemJson,
}

/// A rentals record, as proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RentalRecord {
    /// A listing.
    Listing(Listing),
    /// A property.
    Property(Property),
    /// A lease (boxed: it is several times the others' size).
    Lease(Box<Lease>),
    /// A version of a lease.
    Version(LeaseVersion),
}

/// The record named is this one, or there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RentalRecordFact {
    /// Which record.
    pub record: String,
    /// It, or `None`: proven absent.
    pub value: Option<RentalRecord>,
    /// The block's time (unix seconds): what a lease's standing is judged at.
    pub at: u64,
}

/// The state key of `record` (`listing/N`, `property/N`, `lease/N`, `version/N/V`).
pub fn record_key(record: &str) -> Result<Vec<u8>, String> {
    let (kind, rest) = record.split_once('/').ok_or_else(|| format!("not a record: {record}"))?;
    let number = |n: &str| n.parse::<u64>().map_err(|_| format!("not a number: {n}"));
    match kind {
        "listing" => Ok(listing_key(number(rest)?)),
        "property" => Ok(property_key(number(rest)?)),
        "lease" => Ok(lease_key(number(rest)?)),
        "version" => {
            let (id, v) = rest.split_once('/').ok_or_else(|| format!("not a version: {record} (version/N/V)"))?;
            let v: u32 = v.parse().map_err(|_| format!("not a version number: {v}"))?;
            Ok(version_key(number(id)?, v))
        }
        _ => Err(format!("unknown record kind {kind:?} (listing, property, lease, version)")),
    }
}

impl Claim for RentalRecordClaim {
    type Fact = RentalRecordFact;

    fn check(&self, at: &Evidence<'_>) -> Result<RentalRecordFact, ProofError> {
        let key = record_key(&self.record).map_err(|e| ProofError::Field("record", e))?;
        let value = at.item("item", &self.item, &key, || self.record.clone())?;
        let bad = |e: DecodeError| ProofError::Field("item", e.to_string());
        let value = match value {
            None => None,
            Some(b) => Some(match self.record.split_once('/').map(|(k, _)| k) {
                Some("listing") => RentalRecord::Listing(Listing::decode(&b).map_err(bad)?),
                Some("property") => RentalRecord::Property(Property::decode(&b).map_err(bad)?),
                Some("lease") => RentalRecord::Lease(Box::new(Lease::decode(&b).map_err(bad)?)),
                _ => RentalRecord::Version(LeaseVersion::decode(&b).map_err(bad)?),
            }),
        };
        Ok(RentalRecordFact { record: self.record.clone(), value, at: at.header.timestamp_ms / 1000 })
    }
}

/// The date (UTC, `YYYY-MM-DD`) of unix seconds `secs`.
fn date(secs: u64) -> String {
    let t = crate::did::datetime(secs.saturating_mul(1000));
    t.get(..10).map_or(t.clone(), str::to_owned)
}

fn listing_text(l: &Listing) -> String {
    let agent = l.agent.map(|a| format!(" through agent {a}")).unwrap_or_default();
    let status = match (l.status, l.ended_at) {
        (ListingStatus::Active, _) => "active".to_owned(),
        (s, Some(t)) => format!("{} on {}", s.name(), date(t)),
        (s, None) => s.name().to_owned(),
    };
    let t = &l.terms;
    format!(
        "listing {} of property {} by landlord {}{agent} is {status}: \"{}\", rent {} {}, deposit {}, available from \
         {}, at least {} months, {}",
        l.id,
        l.property,
        l.landlord,
        t.title,
        t.rent,
        t.period.name(),
        t.deposit,
        date(t.available_from),
        t.min_term_months,
        t.furnished.name()
    )
}

fn property_text(p: &Property) -> String {
    let address = if p.address.is_empty() { String::new() } else { format!(" at {}", p.address) };
    let area = p.floor_area_m2.map(|a| format!(", {a} m²")).unwrap_or_default();
    let listing = p.listing.map_or("no active listing".to_owned(), |l| format!("active listing {l}"));
    let lease = p.lease.map_or("no lease yet".to_owned(), |l| format!("last lease {l}"));
    format!(
        "property {} (reference {}{address}{area}, certified by housing department {}) is owned by {}; {listing}, \
         {lease}",
        p.id, p.reference, p.housing, p.owner
    )
}

/// Where a lease stands at `at`, in words.
fn lease_status(l: &Lease, at: u64) -> String {
    let t = &l.terms;
    match l.status {
        LeaseStatus::Offered => "offered, not yet signed by the tenant".into(),
        LeaseStatus::Active if at < t.start => format!("signed, starting on {}", date(t.start)),
        LeaseStatus::Active if at < t.end => "active and in force".into(),
        LeaseStatus::Active => format!("active, its term ran out on {}", date(t.end)),
        LeaseStatus::Terminated => {
            format!("terminated{}", l.ended_at.map(|e| format!(" on {}", date(e))).unwrap_or_default())
        }
        LeaseStatus::Withdrawn => "withdrawn unsigned".into(),
    }
}

/// Where a lease's deposit stands, in words.
fn deposit_text(l: &Lease) -> String {
    let d = &l.deposit;
    if let Some(r) = &d.released {
        return format!(
            "deposit released on {} ({}): {} to the landlord, {} to the tenant",
            date(r.at),
            r.kind.name(),
            r.to_landlord,
            r.to_tenant
        );
    }
    if l.status == LeaseStatus::Offered || l.status == LeaseStatus::Withdrawn {
        return format!("deposit {} asked, nothing held", l.terms.deposit);
    }
    let mut out = format!("deposit {} held in escrow", d.held);
    if let Some(c) = d.claimed {
        out.push_str(&format!(", the landlord claims {c} of it (\"{}\")", d.claim_reason));
    } else if let Some(until) = d.claim_until {
        out.push_str(&format!(", the landlord may claim from it until {}", date(until)));
    }
    out
}

fn lease_text(l: &Lease, at: u64) -> String {
    let t = &l.terms;
    let filed = match l.filed_at {
        Some(f) if !l.filing.is_empty() => {
            format!("filed with housing department {} as {} on {}", l.housing, l.filing, date(f))
        }
        _ => format!("not filed yet (housing department {})", l.housing),
    };
    let rent = l.rent.last().map_or(t.rent, |s| s.rent);
    let overdue = {
        let s = l.standing(at);
        match s.overdue_since {
            Some(since) if s.overdue > 0 => format!("; rent {} overdue since {}", s.overdue, date(since)),
            _ => String::new(),
        }
    };
    format!(
        "lease {} on property {} (listing {}) between landlord {} and tenant {}, {filed}, is {}: {} to {}, rent {} \
         {} (version {}); rent paid {}; {}{overdue}",
        l.id,
        l.property,
        l.listing,
        l.landlord,
        l.tenant,
        lease_status(l, at),
        date(t.start),
        date(t.end),
        rent,
        t.period.name(),
        l.version,
        l.paid,
        deposit_text(l)
    )
}

fn version_text(v: &LeaseVersion) -> String {
    let t = &v.terms;
    let signed = match (v.signed_at, v.superseded) {
        (Some(s), _) => format!("signed by the other party on {}", date(s)),
        (None, true) => "set aside unsigned".to_owned(),
        (None, false) => "waiting for the other party's signature".to_owned(),
    };
    format!(
        "version {} of lease {}, proposed by {} on {}: rent {} {}, deposit {}, {} to {}, document {}; {signed}",
        v.version,
        v.lease,
        v.proposed_by,
        date(v.proposed_at),
        t.rent,
        t.period.name(),
        t.deposit,
        date(t.start),
        date(t.end),
        t.document
    )
}

impl Describe for RentalRecordFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let record = &self.record;
        match &self.value {
            None => (
                serde_json::json!({ "kind": "rental_record", "record": record, "exists": false }),
                format!("there is no {}", record.replace('/', " ")),
            ),
            Some(RentalRecord::Listing(l)) => (
                serde_json::json!({ "kind": "rental_record", "record": record, "exists": true, "listing": l }),
                listing_text(l),
            ),
            Some(RentalRecord::Property(p)) => (
                serde_json::json!({ "kind": "rental_record", "record": record, "exists": true, "property": p }),
                property_text(p),
            ),
            Some(RentalRecord::Lease(l)) => (
                serde_json::json!({ "kind": "rental_record", "record": record, "exists": true, "lease": l,
                    "standing": l.standing(self.at), "at": self.at }),
                lease_text(l, self.at),
            ),
            Some(RentalRecord::Version(v)) => (
                serde_json::json!({ "kind": "rental_record", "record": record, "exists": true, "version": v }),
                version_text(v),
            ),
        }
    }
}

/// A page of one of the rentals module's lists: its length and the entries from `from` on, each
/// proven; the count proves where it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RentalListClaim {
    /// The list (`listings`, `history/3`, `filings/did:civitas:…`, `leases/did:civitas:…`,
    /// `payments/0`).
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
pub struct RentalListFact {
    /// The list.
    pub list: RentalList,
    /// Its length.
    pub total: u64,
    /// The first entry's position.
    pub from: u64,
    /// The entries.
    pub entries: Vec<RentalEntry>,
}

impl Claim for RentalListClaim {
    type Fact = RentalListFact;

    fn check(&self, at: &Evidence<'_>) -> Result<RentalListFact, ProofError> {
        let list = RentalList::parse(&self.list).map_err(|e| ProofError::Field("list", e))?;
        let (total, values) =
            at.list(&self.list, (&self.count, list.count_key()), &self.entries, (self.from, LIST_PAGE_MAX), |p| {
                list.entry_key(p)
            })?;
        let entries = values
            .iter()
            .map(|v| list.decode_entry(v).map_err(|e| ProofError::Field("entries", e.to_string())))
            .collect::<Result<_, _>>()?;
        Ok(RentalListFact { list, total, from: self.from, entries })
    }
}

fn entry_text(e: &RentalEntry) -> String {
    match e {
        RentalEntry::Number { id } => id.to_string(),
        RentalEntry::Event(h) => {
            let version = if h.version > 0 { format!(" version {}", h.version) } else { String::new() };
            format!("{} {}{version} on {} (height {})", h.kind.name(), h.subject, date(h.at), h.height)
        }
        RentalEntry::Payment(p) => format!(
            "{} paid on {} ({} to the landlord, {} into escrow)",
            p.amount,
            date(p.at),
            p.to_landlord,
            p.to_escrow
        ),
    }
}

/// What a list holds, for its sentence.
fn list_name(list: &RentalList) -> String {
    let did = |d: &Did| d.to_string();
    match list {
        RentalList::Listings => "the listings".into(),
        RentalList::History(p) => format!("property {p}'s history"),
        RentalList::Filings(d) => format!("the leases filed with {}", did(d)),
        RentalList::Leases(d) => format!("the leases of {}", did(d)),
        RentalList::Payments(l) => format!("lease {l}'s rent payments"),
    }
}

impl Describe for RentalListFact {
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
            serde_json::json!({ "kind": "rental_list", "list": name, "total": self.total, "from": self.from,
                "entries": self.entries }),
            sentence,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_state::{Store, Writes};
    use civitas_types::codec::Encode;
    use civitas_types::rental::{Deposit, LeaseTerms, Release, ReleaseKind, RentPayment, RentPeriod, RentSegment};
    use civitas_types::{Block, BlockHeader, GENESIS_PARENT, Hash, PublicKey, TxReceipt};

    const T0: u64 = 1_767_225_600; // 2026-01-01

    fn did(n: u8) -> Did {
        Did::from_initial_key(&civitas_types::SecretKey::from_seed([n; 32]).public_key())
    }

    fn lease() -> Lease {
        Lease {
            id: 4,
            property: 2,
            listing: 3,
            landlord: did(1),
            tenant: did(2),
            housing: did(3),
            status: LeaseStatus::Active,
            version: 1,
            latest: 1,
            terms: LeaseTerms {
                rent: 3_000,
                period: RentPeriod::Monthly,
                deposit: 6_000,
                start: T0,
                end: T0 + 365 * 86_400,
                lock: None,
                claim_days: 30,
                document: Hash::digest(b"lease text"),
            },
            rent: vec![RentSegment { from_period: 0, rent: 3_000 }],
            filing: "2026-1".into(),
            filed_at: Some(T0 - 86_400),
            paid: 3_000,
            to_landlord: 3_000,
            rent_escrow: 0,
            refunded: 0,
            deposit: Deposit {
                held: 6_000,
                claimed: None,
                claim_reason: String::new(),
                claim_until: None,
                released: None,
            },
            termination: None,
            dispute: None,
            ended_at: None,
            height: 7,
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
        assert_eq!(record_key("listing/3"), Ok(listing_key(3)));
        assert_eq!(record_key("property/0"), Ok(property_key(0)));
        assert_eq!(record_key("lease/9"), Ok(lease_key(9)));
        assert_eq!(record_key("version/9/2"), Ok(version_key(9, 2)));
        for bad in ["lease", "lease/x", "version/9", "version/9/x", "deposit/1", ""] {
            assert!(record_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_proven_lease_describes_parties_filing_term_and_deposit() {
        let l = lease();
        let mut released = lease();
        released.id = 5;
        released.status = LeaseStatus::Terminated;
        released.ended_at = Some(T0 + 100 * 86_400);
        released.deposit.held = 0;
        released.deposit.released =
            Some(Release { to_landlord: 500, to_tenant: 5_500, kind: ReleaseKind::Agreed, at: T0 + 120 * 86_400 });
        let writes: Writes = [(lease_key(4), Some(l.encode())), (lease_key(5), Some(released.encode()))].into();
        let at = T0 + 10 * 86_400;
        let (_dir, store, header) = store_with(writes, at);
        let evidence = Evidence { header: &header, chain_id: "test" };

        let claim = RentalRecordClaim { record: "lease/4".into(), item: item(&store, &lease_key(4)) };
        let fact = claim.check(&evidence).expect("checks out");
        assert_eq!(fact.value, Some(RentalRecord::Lease(Box::new(l.clone()))));
        let (json, sentence) = fact.describe(0);
        assert_eq!(json["kind"], "rental_record");
        assert_eq!(json["lease"]["filing"], "2026-1");
        assert_eq!(json["standing"]["periods_due"], 1);
        for part in [
            format!("landlord {}", did(1)),
            format!("tenant {}", did(2)),
            format!("filed with housing department {} as 2026-1 on 2025-12-31", did(3)),
            "active and in force: 2026-01-01 to 2027-01-01".to_owned(),
            "rent 3000 monthly".to_owned(),
            "deposit 6000 held in escrow".to_owned(),
        ] {
            assert!(sentence.contains(&part), "{part:?} not in {sentence}");
        }

        let claim = RentalRecordClaim { record: "lease/5".into(), item: item(&store, &lease_key(5)) };
        let (_, sentence) = claim.check(&evidence).expect("checks out").describe(0);
        assert!(sentence.contains("is terminated on 2026-04-11"), "{sentence}");
        assert!(sentence.contains("deposit released on 2026-05-01 (agreed): 500 to the landlord, 5500 to the tenant"));

        // Absent, proven so; another record's proof, or a lease claimed as another kind, is refused.
        let claim = RentalRecordClaim { record: "lease/6".into(), item: item(&store, &lease_key(6)) };
        let fact = claim.check(&evidence).expect("absence checks out");
        assert_eq!(fact.describe(0).1, "there is no lease 6");
        let claim = RentalRecordClaim { record: "lease/6".into(), item: item(&store, &lease_key(4)) };
        assert!(matches!(claim.check(&evidence), Err(ProofError::WrongKey(_))));
        let mut forged = item(&store, &lease_key(4));
        forged.value = Some(hex::encode(released.encode()));
        let claim = RentalRecordClaim { record: "lease/4".into(), item: forged };
        assert!(matches!(claim.check(&evidence), Err(ProofError::State(_))), "another value");
    }

    #[test]
    fn a_proven_page_of_payments_decodes_and_ends_at_its_count() {
        let list = RentalList::Payments(4);
        let pay = |n: u64| RentPayment { amount: 3_000, to_landlord: 3_000, to_escrow: 0, at: T0 + n, height: n };
        let writes: Writes = [
            (list.count_key(), Some(2u64.to_be_bytes().to_vec())),
            (list.entry_key(0), Some(pay(0).encode())),
            (list.entry_key(1), Some(pay(1).encode())),
        ]
        .into();
        let (_dir, store, header) = store_with(writes, T0);
        let evidence = Evidence { header: &header, chain_id: "test" };
        let claim = RentalListClaim {
            list: list.to_string(),
            from: 0,
            count: item(&store, &list.count_key()),
            entries: vec![item(&store, &list.entry_key(0)), item(&store, &list.entry_key(1))],
        };
        let fact = claim.check(&evidence).expect("checks out");
        assert_eq!((fact.total, fact.entries.len()), (2, 2));
        assert_eq!(fact.entries[1], RentalEntry::Payment(pay(1)));
        let (json, sentence) = fact.describe(0);
        assert_eq!(json["kind"], "rental_list");
        assert!(sentence.starts_with("lease 4's rent payments (payments/4) has 2 entries"), "{sentence}");
        assert!(sentence.contains("3000 paid on 2026-01-01 (3000 to the landlord, 0 into escrow)"), "{sentence}");
        // An entry past the count is refused.
        let mut past = claim.clone();
        past.entries.push(item(&store, &list.entry_key(2)));
        assert!(past.check(&evidence).is_err());
    }

    #[test]
    fn listings_properties_and_versions_describe_themselves() {
        let l = lease();
        let version = LeaseVersion {
            lease: 4,
            version: 2,
            terms: l.terms.clone(),
            proposed_by: did(2),
            proposed_at: T0,
            signed_at: None,
            superseded: false,
        };
        let listing = Listing {
            id: 3,
            property: 2,
            landlord: did(1),
            agent: None,
            terms: civitas_types::rental::ListingTerms {
                title: "Two rooms by the park".into(),
                rent: 3_000,
                period: RentPeriod::Monthly,
                deposit: 6_000,
                min_term_months: 12,
                available_from: T0,
                furnished: civitas_types::rental::Furnished::Partially,
                includes: vec![],
            },
            status: ListingStatus::Leased,
            listed_at: T0,
            ended_at: Some(T0),
            presentation: Hash::digest(b"vp"),
            height: 1,
        };
        let property = Property {
            id: 2,
            housing: did(3),
            reference: "BJ-001".into(),
            address: "1 Park Road".into(),
            floor_area_m2: Some(64),
            owner: did(1),
            listing: None,
            lease: Some(4),
            registered_at: T0,
        };
        for (record, value) in [
            ("listing/3", RentalRecord::Listing(listing)),
            ("property/2", RentalRecord::Property(property)),
            ("version/4/2", RentalRecord::Version(version)),
        ] {
            let fact = RentalRecordFact { record: record.into(), value: Some(value), at: T0 };
            let (json, sentence) = fact.describe(0);
            assert_eq!((json["kind"].as_str(), json["exists"].as_bool()), (Some("rental_record"), Some(true)));
            let expected = match record {
                "listing/3" => "listing 3 of property 2 by landlord",
                "property/2" => "property 2 (reference BJ-001 at 1 Park Road, 64 m²",
                _ => "version 2 of lease 4, proposed by",
            };
            assert!(sentence.starts_with(expected), "{sentence}");
        }
        // The claim JSON is tagged as the other kinds are.
        let claim = crate::wire::ClaimJson::RentalRecord(RentalRecordClaim {
            record: "lease/1".into(),
            item: StateItemJson { state_key: String::new(), value: None, state_proof: String::new() },
        });
        let json = serde_json::to_value(&claim).expect("json");
        assert_eq!(json["kind"], "rental_record");
        assert_eq!(serde_json::from_value::<crate::wire::ClaimJson>(json).expect("back"), claim);
    }
}
