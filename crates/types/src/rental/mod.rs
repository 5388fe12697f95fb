//! Rentals: listings bound to the housing department's property certificate, leases signed by
//! both parties and filed with that department, deposits and rent paid more than three months
//! ahead held in supervised escrow by the chain, rent against its schedule, and the lists that
//! make a property's history provable. Light clients decode these records from proven state,
//! so their encoding is part of the public format.
//!
//! Times are unix seconds of block time. A lease's schedule is computed, never stored: period
//! `k` falls due at `start` plus `k` periods (calendar months keep the day of the month,
//! clamped to the month's last day), and its rent is that of the [`RentSegment`] in force.

mod calendar;
mod instruction;
pub use calendar::{add_months, civil_from_days, days_from_civil, year_of};
pub use instruction::{LeaseTerms, ListingTerms, RentalInstruction};

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_seq};
use crate::fund::{opt_did, opt_u64, put_amount, put_opt_did, put_opt_u64, status_enum};
use crate::{Amount, Did, Hash};

/// Longest listing title or reason, in bytes.
pub const TITLE_BYTES_MAX: usize = 160;
/// Longest reason (a dispute, a deduction, a termination), in bytes.
pub const REASON_BYTES_MAX: usize = 1_000;
/// Longest property reference (the certificate's `property_id`), in bytes.
pub const PROPERTY_REF_BYTES_MAX: usize = 64;
/// Longest address kept from the certificate, in bytes.
pub const ADDRESS_BYTES_MAX: usize = 256;
/// Largest presentation a listing carries.
pub const PRESENTATION_BYTES_MAX: usize = 8 * 1024;
/// Most rent periods one lease has (ten years of weekly rent).
pub const PERIODS_MAX: u32 = 520;
/// Most versions one lease has (the first and its amendments).
pub const VERSIONS_MAX: u32 = 16;
/// Fewest and most days a landlord has to claim from the deposit after the lease ends.
pub const CLAIM_DAYS: std::ops::RangeInclusive<u16> = 1..=90;
/// How far ahead rent is the landlord's when paid; beyond, it waits in escrow (months).
pub const CUSTODY_MONTHS: u32 = 3;
/// How old a listing's key binding may be (the landlord's signed authorization), in seconds.
pub const AUTHORIZATION_MAX_AGE_SECS: u64 = 24 * 3600;
/// Most entries one page of a list holds.
pub const LIST_PAGE_MAX: u64 = 100;
/// Seconds in a day.
pub const DAY_SECS: u64 = 86_400;

/// The state key of listing `id`.
pub fn listing_key(id: u64) -> Vec<u8> {
    [b"rent/l/".as_slice(), &id.to_be_bytes()].concat()
}

/// The state key of property `id`.
pub fn property_key(id: u64) -> Vec<u8> {
    [b"rent/p/".as_slice(), &id.to_be_bytes()].concat()
}

/// The state key mapping a housing department's property reference to the property's number.
pub fn property_ref_key(housing: &Did, reference: &str) -> Vec<u8> {
    let mut out = b"rent/ref/".to_vec();
    housing.encode_to(&mut out);
    put_bytes(&mut out, reference.as_bytes());
    out
}

/// The state key of lease `id`.
pub fn lease_key(id: u64) -> Vec<u8> {
    [b"rent/lease/".as_slice(), &id.to_be_bytes()].concat()
}

/// The state key of version `version` of lease `id` (every proposed version is kept).
pub fn version_key(id: u64, version: u32) -> Vec<u8> {
    [b"rent/v/".as_slice(), &id.to_be_bytes(), &version.to_be_bytes()].concat()
}

/// The state key of the total held in all leases' escrows (deposits and rent paid ahead): what
/// conservation adds to the balances and the funds escrow to make the supply.
pub const ESCROW_TOTAL_KEY: &[u8] = b"rent/escrow";

status_enum!(
    /// How often rent falls due.
    RentPeriod, "rent period" {
        /// Every 7 days.
        Weekly = 0, "weekly";
        /// Every calendar month.
        Monthly = 1, "monthly";
        /// Every 3 calendar months.
        Quarterly = 2, "quarterly";
        /// Every 12 calendar months.
        Yearly = 3, "yearly";
    }
);

impl RentPeriod {
    /// When period `k` of a schedule starting at `start` falls due.
    pub fn due(self, start: u64, k: u32) -> u64 {
        match self {
            RentPeriod::Weekly => start.saturating_add(u64::from(k) * 7 * DAY_SECS),
            RentPeriod::Monthly => add_months(start, k),
            RentPeriod::Quarterly => add_months(start, k.saturating_mul(3)),
            RentPeriod::Yearly => add_months(start, k.saturating_mul(12)),
        }
    }
}

status_enum!(
    /// Whether the property is let furnished (RESO `Furnished`).
    Furnished, "furnished" {
        /// Unfurnished.
        Unfurnished = 0, "unfurnished";
        /// Partly furnished.
        Partially = 1, "partially";
        /// Furnished.
        Furnished = 2, "furnished";
    }
);

status_enum!(
    /// What the rent includes (RESO `RentIncludes`).
    Included, "rent includes" {
        /// Water.
        Water = 0, "water";
        /// Electricity.
        Electricity = 1, "electricity";
        /// Gas.
        Gas = 2, "gas";
        /// Heating.
        Heating = 3, "heating";
        /// Internet.
        Internet = 4, "internet";
        /// The building's management fee.
        Management = 5, "management";
        /// A parking space.
        Parking = 6, "parking";
        /// Cleaning.
        Cleaning = 7, "cleaning";
    }
);

status_enum!(
    /// Where a listing stands.
    ListingStatus, "listing status" {
        /// Open to offers.
        Active = 0, "active";
        /// Withdrawn by the landlord or its agent.
        Withdrawn = 1, "withdrawn";
        /// A lease on it was signed and filed.
        Leased = 2, "leased";
    }
);

status_enum!(
    /// Where a lease stands. A signed lease is `active` from signing; whether it has started or
    /// run out is a matter of block time against its start and end.
    LeaseStatus, "lease status" {
        /// Offered by the landlord; the tenant has not signed.
        Offered = 0, "offered";
        /// Signed by both and filed.
        Active = 1, "active";
        /// Ended early: by both parties, or by the housing department deciding a dispute.
        Terminated = 2, "terminated";
        /// An offer withdrawn by the landlord or declined by the tenant.
        Withdrawn = 3, "withdrawn";
    }
);

status_enum!(
    /// How a deposit was released.
    ReleaseKind, "deposit release" {
        /// The landlord claimed nothing.
        Unclaimed = 0, "unclaimed";
        /// The tenant accepted the landlord's claim.
        Agreed = 1, "agreed";
        /// The housing department decided a dispute.
        Decided = 2, "decided";
        /// The claim window passed with no claim: all of it went back to the tenant.
        Automatic = 3, "automatic";
    }
);

/// A property, as its housing department's certificate names it; numbered at its first
/// listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Property {
    /// Its number.
    pub id: u64,
    /// The housing department that certified it (the certificate's issuer); leases on it are
    /// filed there.
    pub housing: Did,
    /// The certificate's `property_id`.
    pub reference: String,
    /// The certificate's `address`, if disclosed.
    pub address: String,
    /// The certificate's `floor_area` in square metres, if disclosed.
    pub floor_area_m2: Option<u32>,
    /// The owner named by the last certificate presented.
    pub owner: Did,
    /// The active listing.
    pub listing: Option<u64>,
    /// The lease last signed on it.
    pub lease: Option<u64>,
    /// When it was first listed (unix seconds).
    pub registered_at: u64,
}

impl Encode for Property {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        self.housing.encode_to(out);
        put_bytes(out, self.reference.as_bytes());
        put_bytes(out, self.address.as_bytes());
        put_opt_u64(out, self.floor_area_m2.map(u64::from));
        self.owner.encode_to(out);
        put_opt_u64(out, self.listing);
        put_opt_u64(out, self.lease);
        out.extend_from_slice(&self.registered_at.to_be_bytes());
    }
}

impl Decode for Property {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Property {
            id: r.u64("property")?,
            housing: Did::decode_from(r)?,
            reference: r.string(PROPERTY_REF_BYTES_MAX, "property reference")?,
            address: r.string(ADDRESS_BYTES_MAX, "address")?,
            floor_area_m2: opt_u64(r, "floor area")?
                .map(u32::try_from)
                .transpose()
                .map_err(|_| DecodeError::UnknownTag { what: "floor area", tag: 0xff })?,
            owner: Did::decode_from(r)?,
            listing: opt_u64(r, "listing")?,
            lease: opt_u64(r, "lease")?,
            registered_at: r.u64("registered at")?,
        })
    }
}

/// A listing: a property offered for rent on the terms renters compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Listing {
    /// Its number.
    pub id: u64,
    /// The property.
    pub property: u64,
    /// The landlord (the certificate's owner).
    pub landlord: Did,
    /// The agent that listed it on the landlord's signed authorization, if any.
    pub agent: Option<Did>,
    /// Its terms.
    pub terms: ListingTerms,
    /// Where it stands.
    pub status: ListingStatus,
    /// When it was listed (unix seconds).
    pub listed_at: u64,
    /// When it was withdrawn or leased.
    pub ended_at: Option<u64>,
    /// The presentation it was listed with, as a commitment (SHA-256).
    pub presentation: Hash,
    /// The height it was listed at.
    pub height: u64,
}

impl Encode for Listing {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.property.to_be_bytes());
        self.landlord.encode_to(out);
        put_opt_did(out, &self.agent);
        self.terms.encode_to(out);
        self.status.encode_to(out);
        out.extend_from_slice(&self.listed_at.to_be_bytes());
        put_opt_u64(out, self.ended_at);
        self.presentation.encode_to(out);
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for Listing {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Listing {
            id: r.u64("listing")?,
            property: r.u64("property")?,
            landlord: Did::decode_from(r)?,
            agent: opt_did(r, "agent")?,
            terms: ListingTerms::decode_from(r)?,
            status: ListingStatus::decode_from(r)?,
            listed_at: r.u64("listed at")?,
            ended_at: opt_u64(r, "ended at")?,
            presentation: Hash::decode_from(r)?,
            height: r.u64("height")?,
        })
    }
}

/// Rent from one period of the schedule on (an amendment's new rent starts at the first period
/// not yet due when both have signed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RentSegment {
    /// The first period it applies to.
    pub from_period: u32,
    /// The rent of each period.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub rent: Amount,
}

impl Encode for RentSegment {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.from_period.to_be_bytes());
        put_amount(out, self.rent);
    }
}

impl Decode for RentSegment {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RentSegment { from_period: r.u32("from period")?, rent: r.u128("rent")? })
    }
}

/// A version of a lease: its terms, who proposed them and whether the other party signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeaseVersion {
    /// The lease.
    pub lease: u64,
    /// Its number (1: the offer).
    pub version: u32,
    /// The terms.
    pub terms: LeaseTerms,
    /// The party that proposed (and so signed) it.
    pub proposed_by: Did,
    /// When it was proposed (unix seconds).
    pub proposed_at: u64,
    /// When the other party signed it (unix seconds); until then it binds no one.
    pub signed_at: Option<u64>,
    /// Whether a later version or the lease's end set it aside unsigned.
    pub superseded: bool,
}

impl Encode for LeaseVersion {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.lease.to_be_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        self.terms.encode_to(out);
        self.proposed_by.encode_to(out);
        out.extend_from_slice(&self.proposed_at.to_be_bytes());
        put_opt_u64(out, self.signed_at);
        out.push(u8::from(self.superseded));
    }
}

impl Decode for LeaseVersion {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LeaseVersion {
            lease: r.u64("lease")?,
            version: r.u32("version")?,
            terms: LeaseTerms::decode_from(r)?,
            proposed_by: Did::decode_from(r)?,
            proposed_at: r.u64("proposed at")?,
            signed_at: opt_u64(r, "signed at")?,
            superseded: r.bool("superseded")?,
        })
    }
}

/// What a party asked for or did at a moment: a termination request, a dispute, a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Request {
    /// Who.
    pub by: Did,
    /// Why.
    pub reason: String,
    /// When (unix seconds).
    pub at: u64,
}

impl Encode for Request {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.by.encode_to(out);
        put_bytes(out, self.reason.as_bytes());
        out.extend_from_slice(&self.at.to_be_bytes());
    }
}

impl Decode for Request {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Request { by: Did::decode_from(r)?, reason: r.string(REASON_BYTES_MAX, "reason")?, at: r.u64("at")? })
    }
}

fn put_opt<T: Encode>(out: &mut Vec<u8>, v: &Option<T>) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            v.encode_to(out);
        }
    }
}

fn opt<T: Decode>(r: &mut Reader<'_>, what: &'static str) -> Result<Option<T>, DecodeError> {
    match r.u8(what)? {
        0 => Ok(None),
        1 => Ok(Some(T::decode_from(r)?)),
        tag => Err(DecodeError::UnknownTag { what, tag }),
    }
}

/// How a deposit left the escrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Release {
    /// To the landlord (deductions).
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub to_landlord: Amount,
    /// To the tenant.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub to_tenant: Amount,
    /// How.
    pub kind: ReleaseKind,
    /// When (unix seconds).
    pub at: u64,
}

impl Encode for Release {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_amount(out, self.to_landlord);
        put_amount(out, self.to_tenant);
        self.kind.encode_to(out);
        out.extend_from_slice(&self.at.to_be_bytes());
    }
}

impl Decode for Release {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Release {
            to_landlord: r.u128("to landlord")?,
            to_tenant: r.u128("to tenant")?,
            kind: ReleaseKind::decode_from(r)?,
            at: r.u64("released at")?,
        })
    }
}

/// A lease's deposit: held in escrow from signing, claimed from and released after the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Deposit {
    /// What the escrow holds.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub held: Amount,
    /// The landlord's claim for deductions, and its reason, once made.
    #[serde(with = "crate::json::amount_opt")]
    #[schema(value_type = Option<String>)]
    pub claimed: Option<Amount>,
    /// Why the landlord claims.
    pub claim_reason: String,
    /// When the landlord must claim by (unix seconds; set when the lease ends or is terminated);
    /// past it with no claim, the deposit goes back to the tenant by itself.
    pub claim_until: Option<u64>,
    /// How it was released.
    pub released: Option<Release>,
}

impl Encode for Deposit {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_amount(out, self.held);
        match self.claimed {
            None => out.push(0),
            Some(a) => {
                out.push(1);
                put_amount(out, a);
            }
        }
        put_bytes(out, self.claim_reason.as_bytes());
        put_opt_u64(out, self.claim_until);
        put_opt(out, &self.released);
    }
}

impl Decode for Deposit {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Deposit {
            held: r.u128("deposit held")?,
            claimed: match r.u8("claimed")? {
                0 => None,
                1 => Some(r.u128("claimed")?),
                tag => return Err(DecodeError::UnknownTag { what: "claimed", tag }),
            },
            claim_reason: r.string(REASON_BYTES_MAX, "claim reason")?,
            claim_until: opt_u64(r, "claim until")?,
            released: opt(r, "release")?,
        })
    }
}

/// A lease: its parties, its current (signed) terms and version, its rent account and its
/// deposit.
///
/// Rent: `paid` is everything the tenant paid; `to_landlord` went to the landlord (at payment
/// for periods due within three months, later from the escrow as periods fall due);
/// `rent_escrow` waits in escrow; `refunded` went back to the tenant when the lease was
/// terminated. `paid == to_landlord + rent_escrow + refunded` always.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lease {
    /// Its number.
    pub id: u64,
    /// The property.
    pub property: u64,
    /// The listing it was offered on.
    pub listing: u64,
    /// The landlord.
    pub landlord: Did,
    /// The tenant.
    pub tenant: Did,
    /// The housing department it is filed with.
    pub housing: Did,
    /// Where it stands.
    pub status: LeaseStatus,
    /// The version in force (0 until the tenant signs the offer).
    pub version: u32,
    /// The latest version proposed (equal to `version` when nothing waits for a signature).
    pub latest: u32,
    /// The terms in force (the offer's until it is signed).
    pub terms: LeaseTerms,
    /// Rent by period, in order of `from_period`.
    pub rent: Vec<RentSegment>,
    /// Its filing number with the housing department (`<year>-<number>`), once signed.
    pub filing: String,
    /// When it was signed and filed (unix seconds).
    pub filed_at: Option<u64>,
    /// Rent paid in all.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub paid: Amount,
    /// Rent that went to the landlord.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub to_landlord: Amount,
    /// Rent paid ahead, held in escrow.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub rent_escrow: Amount,
    /// Rent returned to the tenant at termination.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub refunded: Amount,
    /// The deposit.
    pub deposit: Deposit,
    /// A party's request to terminate, waiting for the other's.
    pub termination: Option<Request>,
    /// An open dispute, waiting for the housing department.
    pub dispute: Option<Request>,
    /// When it was terminated or withdrawn (unix seconds).
    pub ended_at: Option<u64>,
    /// The height it was offered at.
    pub height: u64,
}

impl Encode for Lease {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.property.to_be_bytes());
        out.extend_from_slice(&self.listing.to_be_bytes());
        self.landlord.encode_to(out);
        self.tenant.encode_to(out);
        self.housing.encode_to(out);
        self.status.encode_to(out);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.latest.to_be_bytes());
        self.terms.encode_to(out);
        put_seq(out, &self.rent);
        put_bytes(out, self.filing.as_bytes());
        put_opt_u64(out, self.filed_at);
        for a in [self.paid, self.to_landlord, self.rent_escrow, self.refunded] {
            put_amount(out, a);
        }
        self.deposit.encode_to(out);
        put_opt(out, &self.termination);
        put_opt(out, &self.dispute);
        put_opt_u64(out, self.ended_at);
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for Lease {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Lease {
            id: r.u64("lease")?,
            property: r.u64("property")?,
            listing: r.u64("listing")?,
            landlord: Did::decode_from(r)?,
            tenant: Did::decode_from(r)?,
            housing: Did::decode_from(r)?,
            status: LeaseStatus::decode_from(r)?,
            version: r.u32("version")?,
            latest: r.u32("latest version")?,
            terms: LeaseTerms::decode_from(r)?,
            rent: r.seq(VERSIONS_MAX as usize, "rent segments", RentSegment::decode_from)?,
            filing: r.string(32, "filing number")?,
            filed_at: opt_u64(r, "filed at")?,
            paid: r.u128("paid")?,
            to_landlord: r.u128("to landlord")?,
            rent_escrow: r.u128("rent escrow")?,
            refunded: r.u128("refunded")?,
            deposit: Deposit::decode_from(r)?,
            termination: opt(r, "termination")?,
            dispute: opt(r, "dispute")?,
            ended_at: opt_u64(r, "ended at")?,
            height: r.u64("height")?,
        })
    }
}

/// Where a lease's rent stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RentStanding {
    /// Periods in the schedule (to the end, or to the termination).
    pub periods: u32,
    /// Periods fallen due by now.
    pub periods_due: u32,
    /// The rent of the periods fallen due.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub due: Amount,
    /// The rent of the whole schedule.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub total: Amount,
    /// What is due and not paid.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub overdue: Amount,
    /// Since when it is overdue: the due date of the first period not fully paid.
    pub overdue_since: Option<u64>,
    /// When the next period falls due, if one is left.
    pub next_due: Option<u64>,
}

impl Lease {
    /// The rent of period `k`.
    pub fn rent_of(&self, k: u32) -> Amount {
        self.rent.iter().rev().find(|s| s.from_period <= k).map_or(0, |s| s.rent)
    }

    /// The rent of the first `n` periods.
    pub fn cumulative(&self, n: u32) -> Amount {
        (0..n).fold(0u128, |sum, k| sum.saturating_add(self.rent_of(k)))
    }

    /// How many periods fall due by `t` (inclusive), of those the schedule has.
    pub fn due_count(&self, t: u64) -> u32 {
        let n = self.periods();
        (0..n).take_while(|&k| self.terms.period.due(self.terms.start, k) <= t).fold(0, |c, _| c + 1)
    }

    /// The schedule's periods: those falling due before the end, or by the termination.
    pub fn periods(&self) -> u32 {
        let all = self.terms.periods();
        match (self.status, self.ended_at) {
            (LeaseStatus::Terminated, Some(t)) => {
                (0..all).take_while(|&k| self.terms.period.due(self.terms.start, k) <= t).fold(0, |c, _| c + 1)
            }
            _ => all,
        }
    }

    /// The rent of the whole schedule.
    pub fn total_rent(&self) -> Amount {
        self.cumulative(self.periods())
    }

    /// What the landlord may have had by `t`: the rent of the periods falling due within
    /// [`CUSTODY_MONTHS`] of `t`, up to what was paid.
    pub fn landlords_share(&self, t: u64) -> Amount {
        let within = if self.status == LeaseStatus::Terminated {
            self.periods()
        } else {
            self.due_count(add_months(t, CUSTODY_MONTHS))
        };
        self.cumulative(within).min(self.paid)
    }

    /// Where its rent stands at `now`.
    pub fn standing(&self, now: u64) -> RentStanding {
        let periods = self.periods();
        let live = self.status == LeaseStatus::Active || self.status == LeaseStatus::Terminated;
        let periods_due = if live { self.due_count(now) } else { 0 };
        let due = self.cumulative(periods_due);
        let overdue = due.saturating_sub(self.paid);
        let overdue_since = (overdue > 0).then(|| {
            let mut k = 0;
            while k < periods_due && self.cumulative(k + 1) <= self.paid {
                k += 1;
            }
            self.terms.period.due(self.terms.start, k)
        });
        let next_due = (live && periods_due < periods).then(|| self.terms.period.due(self.terms.start, periods_due));
        RentStanding { periods, periods_due, due, total: self.total_rent(), overdue, overdue_since, next_due }
    }

    /// Whether `who` is the landlord or the tenant.
    pub fn is_party(&self, who: &Did) -> bool {
        self.landlord == *who || self.tenant == *who
    }
}

status_enum!(
    /// What happened to a property, as its history lists it.
    HistoryKind, "history event" {
        /// Listed (`listing`).
        Listed = 0, "listed";
        /// A listing withdrawn.
        Withdrawn = 1, "withdrawn";
        /// A lease offered on a listing.
        Offered = 2, "offered";
        /// A lease version signed by both (version 1: signed and filed).
        Signed = 3, "signed";
        /// A lease terminated by both parties.
        Terminated = 4, "terminated";
        /// A dispute opened.
        Disputed = 5, "disputed";
        /// The housing department decided a dispute.
        Decided = 6, "decided";
        /// A deposit released.
        DepositReleased = 7, "deposit_released";
        /// An unsigned offer withdrawn or declined.
        OfferWithdrawn = 8, "offer_withdrawn";
    }
);

/// One event of a property's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    /// What happened.
    pub kind: HistoryKind,
    /// The listing or lease it concerns.
    pub subject: u64,
    /// The lease version (signed events), else 0.
    pub version: u32,
    /// When (unix seconds).
    pub at: u64,
    /// The height.
    pub height: u64,
}

impl Encode for HistoryEntry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.kind.encode_to(out);
        out.extend_from_slice(&self.subject.to_be_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.at.to_be_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for HistoryEntry {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(HistoryEntry {
            kind: HistoryKind::decode_from(r)?,
            subject: r.u64("subject")?,
            version: r.u32("version")?,
            at: r.u64("at")?,
            height: r.u64("height")?,
        })
    }
}

/// One rent payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RentPayment {
    /// What the tenant paid.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub amount: Amount,
    /// Of which went to the landlord at once.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub to_landlord: Amount,
    /// Of which went into escrow (rent for periods due more than three months ahead).
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub to_escrow: Amount,
    /// When (unix seconds).
    pub at: u64,
    /// The height.
    pub height: u64,
}

impl Encode for RentPayment {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_amount(out, self.amount);
        put_amount(out, self.to_landlord);
        put_amount(out, self.to_escrow);
        out.extend_from_slice(&self.at.to_be_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for RentPayment {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RentPayment {
            amount: r.u128("amount")?,
            to_landlord: r.u128("to landlord")?,
            to_escrow: r.u128("to escrow")?,
            at: r.u64("at")?,
            height: r.u64("height")?,
        })
    }
}

/// A list of the rentals module: a count at one key and its entries at keys derived from their
/// positions; a page is proven complete by the count and each entry's proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RentalList {
    /// Every listing, in order (entries: listing numbers).
    Listings,
    /// A property's history.
    History(u64),
    /// The leases filed with a housing department, in order (numbers).
    Filings(Did),
    /// The leases a DID is landlord or tenant of, in order (numbers).
    Leases(Did),
    /// A lease's rent payments.
    Payments(u64),
}

/// One entry of a [`RentalList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RentalEntry {
    /// A listing or lease number.
    Number {
        /// The number.
        id: u64,
    },
    /// A history event.
    Event(HistoryEntry),
    /// A rent payment.
    Payment(RentPayment),
}

impl fmt::Display for RentalList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RentalList::Listings => write!(f, "listings"),
            RentalList::History(p) => write!(f, "history/{p}"),
            RentalList::Filings(d) => write!(f, "filings/{d}"),
            RentalList::Leases(d) => write!(f, "leases/{d}"),
            RentalList::Payments(l) => write!(f, "payments/{l}"),
        }
    }
}

impl RentalList {
    /// Parses the name [`fmt::Display`] writes (`listings`, `history/3`, `leases/did:civitas:…`).
    pub fn parse(s: &str) -> Result<RentalList, String> {
        let number = |n: &str| n.parse::<u64>().map_err(|_| format!("not a number: {n}"));
        let did = |d: &str| d.parse::<Did>().map_err(|e| e.to_string());
        Ok(match s.split_once('/') {
            None if s == "listings" => RentalList::Listings,
            Some(("history", n)) => RentalList::History(number(n)?),
            Some(("filings", d)) => RentalList::Filings(did(d)?),
            Some(("leases", d)) => RentalList::Leases(did(d)?),
            Some(("payments", n)) => RentalList::Payments(number(n)?),
            _ => return Err(format!("unknown list {s:?} (listings, history/P, filings/DID, leases/DID, payments/L)")),
        })
    }

    fn prefix(&self) -> Vec<u8> {
        let mut out = b"rent/list/".to_vec();
        match self {
            RentalList::Listings => out.push(0),
            RentalList::History(p) => {
                out.push(1);
                out.extend_from_slice(&p.to_be_bytes());
            }
            RentalList::Filings(d) => {
                out.push(2);
                d.encode_to(&mut out);
            }
            RentalList::Leases(d) => {
                out.push(3);
                d.encode_to(&mut out);
            }
            RentalList::Payments(l) => {
                out.push(4);
                out.extend_from_slice(&l.to_be_bytes());
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
    pub fn decode_entry(&self, bytes: &[u8]) -> Result<RentalEntry, DecodeError> {
        Ok(match self {
            RentalList::Listings | RentalList::Filings(_) | RentalList::Leases(_) => {
                let mut r = Reader::new(bytes);
                let id = r.u64("number")?;
                r.finish()?;
                RentalEntry::Number { id }
            }
            RentalList::History(_) => RentalEntry::Event(HistoryEntry::decode(bytes)?),
            RentalList::Payments(_) => RentalEntry::Payment(RentPayment::decode(bytes)?),
        })
    }
}

#[cfg(test)]
mod tests;
