//! Rentals, read side: a listing, a property (with how long its history is), a lease with where
//! its rent stands and every version of its terms, pages of the module's lists (the listings, a
//! property's history, the leases filed with a housing department, a party's leases, a lease's
//! rent payments) and their proofs.
//!
//! Listings, properties and their history are public. A lease, its payments and the lists of
//! leases are private to the lease's parties and its housing department: those reads are signed
//! (see [`crate::signed`]).

use civitas_types::rental::{Lease, LeaseVersion, Listing, Property, RentStanding, RentalEntry, RentalList};
use civitas_types::{Did, SecretKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Client, ClientError, percent_encode, wire};

/// A listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListingJson {
    /// The listing as stored.
    pub listing: Listing,
}

/// A property, with the length of its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PropertyJson {
    /// The property as stored.
    pub property: Property,
    /// How many events its history lists.
    pub history: u64,
}

/// A lease, where its rent stands at the block read, and every version of its terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeaseJson {
    /// The lease as stored.
    pub lease: Lease,
    /// Where its rent stands at the latest block's time.
    pub standing: RentStanding,
    /// Its versions, 1 to the latest proposed.
    pub versions: Vec<LeaseVersion>,
}

impl LeaseJson {
    /// The view of `lease` with its `versions`, at block time `at` (unix seconds).
    pub fn new(lease: Lease, versions: Vec<LeaseVersion>, at: u64) -> LeaseJson {
        LeaseJson { standing: lease.standing(at), lease, versions }
    }
}

/// A page of one of the rentals module's lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RentalListJson {
    /// The list (`listings`, `history/3`, `filings/did:civitas:…`, `leases/did:civitas:…`,
    /// `payments/0`).
    pub list: String,
    /// Its length.
    pub total: u64,
    /// The first entry's position.
    pub from: u64,
    /// The entries.
    pub entries: Vec<RentalEntry>,
    /// The position of the next page, if the list goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// The route of `list`.
pub fn list_path(list: &RentalList) -> String {
    match list {
        RentalList::Listings => "/v1/rentals/listings".into(),
        RentalList::History(p) => format!("/v1/rentals/properties/{p}/history"),
        RentalList::Filings(d) => format!("/v1/rentals/filings/{d}"),
        RentalList::Leases(d) => format!("/v1/rentals/parties/{d}/leases"),
        RentalList::Payments(l) => format!("/v1/rentals/leases/{l}/payments"),
    }
}

/// A 404 (`unknown_listing`, `unknown_property`, `unknown_lease`, `not_found`) as `None`.
fn absent<T>(read: Result<Option<T>, ClientError>) -> Result<Option<T>, ClientError> {
    match read {
        Err(ClientError::Api(p)) if p.status == 404 => Ok(None),
        other => other,
    }
}

impl Client {
    /// Listing `id`.
    pub fn rental_listing(&self, id: u64) -> Result<Option<ListingJson>, ClientError> {
        absent(self.get(&format!("/v1/rentals/listings/{id}")))
    }

    /// Property `id`.
    pub fn rental_property(&self, id: u64) -> Result<Option<PropertyJson>, ClientError> {
        absent(self.get(&format!("/v1/rentals/properties/{id}")))
    }

    /// The number of the property `housing` certified as `reference`, once listed.
    pub fn rental_property_by_ref(&self, housing: &Did, reference: &str) -> Result<Option<u64>, ClientError> {
        let path = format!("/v1/rentals/properties?housing={housing}&reference={}", percent_encode(reference));
        Ok(absent(self.get::<PropertyJson>(&path))?.map(|p| p.property.id))
    }

    /// A page of a public `list` (the listings, a property's history) from position `from`.
    pub fn rental_list(&self, list: &RentalList, from: u64, limit: u64) -> Result<Option<RentalListJson>, ClientError> {
        absent(self.get(&format!("{}?from={from}&limit={limit}", list_path(list))))
    }

    /// A proof of a public record (`listing/3`, `property/0`); a lease is a signed read
    /// ([`Client::prove_rental_lease`]).
    pub fn prove_rental_record(&self, record: &str) -> Result<wire::ProofJson, ClientError> {
        let (kind, id) = record.split_once('/').unwrap_or((record, ""));
        let route = match kind {
            "listing" => "listings",
            "property" => "properties",
            _ => {
                return Err(ClientError::Protocol {
                    url: self.url("/v1/rentals"),
                    why: format!("{record}: the public rental records are listing/N and property/N"),
                });
            }
        };
        self.proof(&format!("/v1/rentals/{route}/{id}?prove=true"))
    }

    /// A proof of a page of a public `list` from position `from`.
    pub fn prove_rental_list(&self, list: &RentalList, from: u64, limit: u64) -> Result<wire::ProofJson, ClientError> {
        self.proof(&format!("{}?from={from}&limit={limit}&prove=true", list_path(list)))
    }

    /// Lease `id`, read by `key`: its landlord's, its tenant's, or an official's of its housing
    /// department.
    pub fn rental_lease(&self, key: &SecretKey, id: u64) -> Result<Option<LeaseJson>, ClientError> {
        absent(self.get_signed(key, &format!("/v1/rentals/leases/{id}")))
    }

    /// A proof of lease `id` (`lease/N`), read by `key` as [`Client::rental_lease`]: what a
    /// tenant shows for a residence permit.
    pub fn prove_rental_lease(&self, key: &SecretKey, id: u64) -> Result<wire::ProofJson, ClientError> {
        self.signed_proof(key, &format!("/v1/rentals/leases/{id}?prove=true"))
    }

    /// A page of a private `list` (the filings of a housing department, a party's leases, a
    /// lease's payments) read by `key`, from position `from`.
    pub fn rental_signed_list(
        &self,
        key: &SecretKey,
        list: &RentalList,
        from: u64,
        limit: u64,
    ) -> Result<Option<RentalListJson>, ClientError> {
        absent(self.get_signed(key, &format!("{}?from={from}&limit={limit}", list_path(list))))
    }

    /// A proof of a page of a private `list`, read by `key`.
    pub fn prove_rental_signed_list(
        &self,
        key: &SecretKey,
        list: &RentalList,
        from: u64,
        limit: u64,
    ) -> Result<wire::ProofJson, ClientError> {
        self.signed_proof(key, &format!("{}?from={from}&limit={limit}&prove=true", list_path(list)))
    }

    /// A proof document at `path`, read signed by `key` (a 404 is the problem it is).
    fn signed_proof(&self, key: &SecretKey, path: &str) -> Result<wire::ProofJson, ClientError> {
        self.get_signed(key, path)?.ok_or_else(|| ClientError::Protocol { url: self.url(path), why: "404".into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_has_its_route() {
        let did: Did = "did:civitas:00112233445566778899aabbccddeeff00112233".parse().expect("did");
        assert_eq!(list_path(&RentalList::Listings), "/v1/rentals/listings");
        assert_eq!(list_path(&RentalList::History(3)), "/v1/rentals/properties/3/history");
        assert_eq!(list_path(&RentalList::Filings(did)), format!("/v1/rentals/filings/{did}"));
        assert_eq!(list_path(&RentalList::Leases(did)), format!("/v1/rentals/parties/{did}/leases"));
        assert_eq!(list_path(&RentalList::Payments(0)), "/v1/rentals/leases/0/payments");
    }

    #[test]
    fn a_lease_view_judges_its_rent_at_the_time_given() {
        let t0 = 1_767_225_600;
        let key = |n: u8| Did::from_initial_key(&SecretKey::from_seed([n; 32]).public_key());
        let lease = Lease {
            id: 0,
            property: 0,
            listing: 0,
            landlord: key(1),
            tenant: key(2),
            housing: key(3),
            status: civitas_types::rental::LeaseStatus::Active,
            version: 1,
            latest: 1,
            terms: civitas_types::rental::LeaseTerms {
                rent: 100,
                period: civitas_types::rental::RentPeriod::Monthly,
                deposit: 200,
                start: t0,
                end: t0 + 365 * 86_400,
                lock: None,
                claim_days: 30,
                document: civitas_types::Hash::digest(b"text"),
            },
            rent: vec![civitas_types::rental::RentSegment { from_period: 0, rent: 100 }],
            filing: "2026-1".into(),
            filed_at: Some(t0),
            paid: 100,
            to_landlord: 100,
            rent_escrow: 0,
            refunded: 0,
            deposit: civitas_types::rental::Deposit {
                held: 200,
                claimed: None,
                claim_reason: String::new(),
                claim_until: None,
                released: None,
            },
            termination: None,
            dispute: None,
            ended_at: None,
            height: 1,
        };
        let view = LeaseJson::new(lease, vec![], t0 + 40 * 86_400);
        assert_eq!((view.standing.periods_due, view.standing.overdue), (2, 100));
        let json = serde_json::to_value(&view).expect("json");
        assert_eq!(json["standing"]["overdue"], "100");
        assert_eq!(serde_json::from_value::<LeaseJson>(json).expect("back"), view);
    }
}
