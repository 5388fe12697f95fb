//! The rentals module's instructions: their one definition, names and canonical encoding.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Furnished, Included, PERIODS_MAX, PRESENTATION_BYTES_MAX, REASON_BYTES_MAX, RentPeriod, TITLE_BYTES_MAX};
use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_seq};
use crate::device::DeviceId;
use crate::fund::{opt_did, opt_u64, put_amount, put_opt_did, put_opt_u64};
use crate::{Amount, Did, Hash};

/// What a listing offers, in the terms renters compare (after the RESO data dictionary's lease
/// fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingTerms {
    /// A title for people (`Two rooms by Baiyangdian park`).
    pub title: String,
    /// The rent asked, each period.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String, pattern = "^[0-9]+$")]
    pub rent: Amount,
    /// How often rent falls due.
    pub period: RentPeriod,
    /// The deposit asked.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String, pattern = "^[0-9]+$")]
    pub deposit: Amount,
    /// The shortest term, in months (1 to 120).
    pub min_term_months: u16,
    /// When it is available from (unix seconds).
    pub available_from: u64,
    /// Whether it is furnished.
    pub furnished: Furnished,
    /// What the rent includes (each at most once).
    #[serde(default)]
    pub includes: Vec<Included>,
}

impl Encode for ListingTerms {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.title.as_bytes());
        put_amount(out, self.rent);
        self.period.encode_to(out);
        put_amount(out, self.deposit);
        out.extend_from_slice(&self.min_term_months.to_be_bytes());
        out.extend_from_slice(&self.available_from.to_be_bytes());
        self.furnished.encode_to(out);
        put_seq(out, &self.includes);
    }
}

impl Decode for ListingTerms {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ListingTerms {
            title: r.string(TITLE_BYTES_MAX, "listing title")?,
            rent: r.u128("rent")?,
            period: RentPeriod::decode_from(r)?,
            deposit: r.u128("deposit")?,
            min_term_months: r.u16("minimum term")?,
            available_from: r.u64("available from")?,
            furnished: Furnished::decode_from(r)?,
            includes: r.seq(8, "rent includes", Included::decode_from)?,
        })
    }
}

/// A lease's terms, as one version states them and both parties sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaseTerms {
    /// The rent, each period (an amendment's new rent applies from the first period not yet due).
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String, pattern = "^[0-9]+$")]
    pub rent: Amount,
    /// How often rent falls due (an amendment keeps it).
    pub period: RentPeriod,
    /// The deposit, held in escrow.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String, pattern = "^[0-9]+$")]
    pub deposit: Amount,
    /// When the tenancy starts and the first rent falls due (unix seconds; an amendment keeps
    /// it).
    pub start: u64,
    /// When it ends (unix seconds).
    pub end: u64,
    /// The property's door lock (a device passport the landlord owns): the tenant holds its
    /// entry capability from start to end.
    #[serde(default)]
    pub lock: Option<DeviceId>,
    /// Days after the end the landlord has to claim from the deposit (1 to 90); past them with
    /// no claim, the deposit goes back to the tenant by itself.
    pub claim_days: u16,
    /// SHA-256 of the full lease text both parties hold.
    pub document: Hash,
}

impl LeaseTerms {
    /// Its rent periods: those falling due before the end (at most [`PERIODS_MAX`] + 1 are
    /// counted).
    pub fn periods(&self) -> u32 {
        let mut n = 0;
        while n <= PERIODS_MAX && self.period.due(self.start, n) < self.end {
            n += 1;
        }
        n
    }
}

impl Encode for LeaseTerms {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_amount(out, self.rent);
        self.period.encode_to(out);
        put_amount(out, self.deposit);
        out.extend_from_slice(&self.start.to_be_bytes());
        out.extend_from_slice(&self.end.to_be_bytes());
        match &self.lock {
            None => out.push(0),
            Some(d) => {
                out.push(1);
                d.encode_to(out);
            }
        }
        out.extend_from_slice(&self.claim_days.to_be_bytes());
        self.document.encode_to(out);
    }
}

impl Decode for LeaseTerms {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LeaseTerms {
            rent: r.u128("rent")?,
            period: RentPeriod::decode_from(r)?,
            deposit: r.u128("deposit")?,
            start: r.u64("start")?,
            end: r.u64("end")?,
            lock: match r.u8("lock")? {
                0 => None,
                1 => Some(DeviceId::decode_from(r)?),
                tag => return Err(DecodeError::UnknownTag { what: "lock", tag }),
            },
            claim_days: r.u16("claim days")?,
            document: Hash::decode_from(r)?,
        })
    }
}

/// An instruction of the rentals module (tags 53 to 64 of [`crate::Instruction`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RentalInstruction {
    /// Lists a property: `presentation` is the owner's property certificate (the housing
    /// department's SD-JWT VC, disclosing at least `property_id`) with a key binding signed by
    /// the owner for the lister's DID (`aud`: the owner's own, or the agent's) within the last
    /// day; the chain verifies it as a verifier would (signature, anchoring, status, policy,
    /// the consent where the policy asks one: for the housing department, purpose
    /// `rental listing`). The owner signs, or an official of the agent `by`.
    ListProperty {
        /// The presentation (`<issuer JWT>~<disclosures>~<key binding JWT>`).
        presentation: String,
        /// The holder's consent to the housing department, where the type's policy requires one.
        #[serde(default)]
        consent: Option<u64>,
        /// What is offered.
        terms: ListingTerms,
        /// The agent listing on the owner's authorization.
        #[serde(default)]
        by: Option<Did>,
    },
    /// Withdraws an active listing: by its landlord, or an official of its agent `by`.
    WithdrawListing {
        /// The listing.
        listing: u64,
        /// The agent.
        #[serde(default)]
        by: Option<Did>,
    },
    /// The landlord (the signer) offers a lease on an active listing to `tenant`: version 1,
    /// signed by the landlord.
    OfferLease {
        /// The listing.
        listing: u64,
        /// The tenant (a resident's or company's account).
        tenant: Did,
        /// The terms.
        terms: LeaseTerms,
    },
    /// A party (the signer) proposes new terms for an active lease: the next version, signed by
    /// the proposer; nothing changes until the other party signs it.
    AmendLease {
        /// The lease.
        lease: u64,
        /// The new terms.
        terms: LeaseTerms,
    },
    /// The party that did not propose `version` signs it: the offer (the tenant signs; the
    /// deposit goes into escrow and the lease is filed with the housing department) or an
    /// amendment (it comes into force).
    SignLease {
        /// The lease.
        lease: u64,
        /// The version signed.
        version: u32,
    },
    /// The tenant (the signer) pays rent: to the landlord for periods due within three months,
    /// into escrow beyond.
    PayRent {
        /// The lease.
        lease: u64,
        /// How much.
        #[serde(with = "crate::json::amount")]
        #[schema(value_type = String, pattern = "^[0-9]+$")]
        amount: Amount,
    },
    /// The landlord (the signer) takes the escrowed rent of the periods now within three months.
    CollectRent {
        /// The lease.
        lease: u64,
    },
    /// A party (the signer) asks to terminate an active lease; it ends when the other party asks
    /// too. An unsigned offer is withdrawn (landlord) or declined (tenant) at once.
    TerminateLease {
        /// The lease.
        lease: u64,
        /// Why.
        reason: String,
    },
    /// A party (the signer) takes the lease, or the deposit, to the housing department.
    OpenDispute {
        /// The lease.
        lease: u64,
        /// What it is about.
        reason: String,
    },
    /// The housing department decides an open dispute: an official of `by`, where the lease is
    /// filed. It may terminate the lease now and, once the lease has ended, release the deposit
    /// with `deposit_to_landlord` deducted.
    DecideDispute {
        /// The lease.
        lease: u64,
        /// Whether the lease ends now.
        terminate: bool,
        /// The deposit's part for the landlord (the rest goes to the tenant); none leaves it held.
        #[serde(default, with = "crate::json::amount_opt")]
        #[schema(value_type = Option<String>)]
        deposit_to_landlord: Option<Amount>,
        /// The decision's reasons.
        reason: String,
        /// The housing department.
        by: Did,
    },
    /// The landlord (the signer) claims deductions from the deposit of a lease that has ended,
    /// within its claim days; 0 releases all of it to the tenant at once.
    ClaimDeposit {
        /// The lease.
        lease: u64,
        /// The deduction.
        #[serde(with = "crate::json::amount")]
        #[schema(value_type = String, pattern = "^[0-9]+$")]
        amount: Amount,
        /// Why.
        reason: String,
    },
    /// The tenant (the signer) accepts the landlord's claim: the deduction goes to the landlord,
    /// the rest to the tenant.
    AcceptClaim {
        /// The lease.
        lease: u64,
    },
}

impl crate::ModuleInstruction for RentalInstruction {
    const MODULE: &'static str = "rentals";
    const NAMES: &'static [&'static str] = &[
        "list_property",
        "withdraw_listing",
        "offer_lease",
        "amend_lease",
        "sign_lease",
        "pay_rent",
        "collect_rent",
        "terminate_lease",
        "open_dispute",
        "decide_dispute",
        "claim_deposit",
        "accept_claim",
    ];

    fn tag(&self) -> u8 {
        match self {
            RentalInstruction::ListProperty { .. } => 0,
            RentalInstruction::WithdrawListing { .. } => 1,
            RentalInstruction::OfferLease { .. } => 2,
            RentalInstruction::AmendLease { .. } => 3,
            RentalInstruction::SignLease { .. } => 4,
            RentalInstruction::PayRent { .. } => 5,
            RentalInstruction::CollectRent { .. } => 6,
            RentalInstruction::TerminateLease { .. } => 7,
            RentalInstruction::OpenDispute { .. } => 8,
            RentalInstruction::DecideDispute { .. } => 9,
            RentalInstruction::ClaimDeposit { .. } => 10,
            RentalInstruction::AcceptClaim { .. } => 11,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        let number = |out: &mut Vec<u8>, n: &u64| out.extend_from_slice(&n.to_be_bytes());
        match self {
            RentalInstruction::ListProperty { presentation, consent, terms, by } => {
                put_bytes(out, presentation.as_bytes());
                put_opt_u64(out, *consent);
                terms.encode_to(out);
                put_opt_did(out, by);
            }
            RentalInstruction::WithdrawListing { listing, by } => {
                number(out, listing);
                put_opt_did(out, by);
            }
            RentalInstruction::OfferLease { listing, tenant, terms } => {
                number(out, listing);
                tenant.encode_to(out);
                terms.encode_to(out);
            }
            RentalInstruction::AmendLease { lease, terms } => {
                number(out, lease);
                terms.encode_to(out);
            }
            RentalInstruction::SignLease { lease, version } => {
                number(out, lease);
                out.extend_from_slice(&version.to_be_bytes());
            }
            RentalInstruction::PayRent { lease, amount } => {
                number(out, lease);
                put_amount(out, *amount);
            }
            RentalInstruction::CollectRent { lease } | RentalInstruction::AcceptClaim { lease } => number(out, lease),
            RentalInstruction::TerminateLease { lease, reason } | RentalInstruction::OpenDispute { lease, reason } => {
                number(out, lease);
                put_bytes(out, reason.as_bytes());
            }
            RentalInstruction::DecideDispute { lease, terminate, deposit_to_landlord, reason, by } => {
                number(out, lease);
                out.push(u8::from(*terminate));
                match deposit_to_landlord {
                    None => out.push(0),
                    Some(a) => {
                        out.push(1);
                        put_amount(out, *a);
                    }
                }
                put_bytes(out, reason.as_bytes());
                by.encode_to(out);
            }
            RentalInstruction::ClaimDeposit { lease, amount, reason } => {
                number(out, lease);
                put_amount(out, *amount);
                put_bytes(out, reason.as_bytes());
            }
        }
    }

    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match tag {
            0 => RentalInstruction::ListProperty {
                presentation: r.string(PRESENTATION_BYTES_MAX, "presentation")?,
                consent: opt_u64(r, "consent")?,
                terms: ListingTerms::decode_from(r)?,
                by: opt_did(r, "agent")?,
            },
            1 => RentalInstruction::WithdrawListing { listing: r.u64("listing")?, by: opt_did(r, "agent")? },
            2 => RentalInstruction::OfferLease {
                listing: r.u64("listing")?,
                tenant: Did::decode_from(r)?,
                terms: LeaseTerms::decode_from(r)?,
            },
            3 => RentalInstruction::AmendLease { lease: r.u64("lease")?, terms: LeaseTerms::decode_from(r)? },
            4 => RentalInstruction::SignLease { lease: r.u64("lease")?, version: r.u32("version")? },
            5 => RentalInstruction::PayRent { lease: r.u64("lease")?, amount: r.u128("amount")? },
            6 => RentalInstruction::CollectRent { lease: r.u64("lease")? },
            7 => RentalInstruction::TerminateLease {
                lease: r.u64("lease")?,
                reason: r.string(REASON_BYTES_MAX, "reason")?,
            },
            8 => {
                RentalInstruction::OpenDispute { lease: r.u64("lease")?, reason: r.string(REASON_BYTES_MAX, "reason")? }
            }
            9 => RentalInstruction::DecideDispute {
                lease: r.u64("lease")?,
                terminate: r.bool("terminate")?,
                deposit_to_landlord: match r.u8("deposit to landlord")? {
                    0 => None,
                    1 => Some(r.u128("deposit to landlord")?),
                    tag => return Err(DecodeError::UnknownTag { what: "deposit to landlord", tag }),
                },
                reason: r.string(REASON_BYTES_MAX, "reason")?,
                by: Did::decode_from(r)?,
            },
            10 => RentalInstruction::ClaimDeposit {
                lease: r.u64("lease")?,
                amount: r.u128("amount")?,
                reason: r.string(REASON_BYTES_MAX, "reason")?,
            },
            11 => RentalInstruction::AcceptClaim { lease: r.u64("lease")? },
            tag => return Err(DecodeError::UnknownTag { what: "rentals instruction", tag }),
        })
    }
}

#[cfg(test)]
use proptest::prelude::*;

#[cfg(test)]
impl RentalInstruction {
    /// Any instruction of this module, for property tests.
    pub(crate) fn arbitrary() -> BoxedStrategy<RentalInstruction> {
        let did = || any::<[u8; 32]>().prop_map(|k| Did::from_initial_key(&crate::PublicKey(k)));
        let text = || "[a-z ]{1,24}";
        let listing_terms = (text(), any::<u128>(), 0u8..4, any::<u128>(), any::<u16>(), any::<u64>(), 0u8..3, 0u8..8)
            .prop_map(|(title, rent, p, deposit, min_term_months, available_from, f, inc)| ListingTerms {
                title,
                rent,
                period: RentPeriod::decode(&[p]).expect("period"),
                deposit,
                min_term_months,
                available_from,
                furnished: Furnished::decode(&[f]).expect("furnished"),
                includes: (0..inc).map(|i| Included::decode(&[i]).expect("included")).collect(),
            });
        let lease_terms = (
            any::<u128>(),
            0u8..4,
            any::<u128>(),
            any::<u64>(),
            any::<u64>(),
            proptest::option::of(any::<[u8; 32]>()),
            any::<u16>(),
            any::<[u8; 32]>(),
        )
            .prop_map(|(rent, p, deposit, start, end, lock, claim_days, document)| LeaseTerms {
                rent,
                period: RentPeriod::decode(&[p]).expect("period"),
                deposit,
                start,
                end,
                lock: lock.map(|k| DeviceId(crate::PublicKey(k))),
                claim_days,
                document: Hash(document),
            });
        prop_oneof![
            ("[a-zA-Z0-9~._-]{0,64}", proptest::option::of(any::<u64>()), listing_terms, proptest::option::of(did()))
                .prop_map(|(presentation, consent, terms, by)| RentalInstruction::ListProperty {
                    presentation,
                    consent,
                    terms,
                    by
                }),
            (any::<u64>(), proptest::option::of(did()))
                .prop_map(|(listing, by)| RentalInstruction::WithdrawListing { listing, by }),
            (any::<u64>(), did(), lease_terms.clone())
                .prop_map(|(listing, tenant, terms)| RentalInstruction::OfferLease { listing, tenant, terms }),
            (any::<u64>(), lease_terms).prop_map(|(lease, terms)| RentalInstruction::AmendLease { lease, terms }),
            (any::<u64>(), any::<u32>()).prop_map(|(lease, version)| RentalInstruction::SignLease { lease, version }),
            (any::<u64>(), any::<u128>()).prop_map(|(lease, amount)| RentalInstruction::PayRent { lease, amount }),
            any::<u64>().prop_map(|lease| RentalInstruction::CollectRent { lease }),
            (any::<u64>(), text()).prop_map(|(lease, reason)| RentalInstruction::TerminateLease { lease, reason }),
            (any::<u64>(), text()).prop_map(|(lease, reason)| RentalInstruction::OpenDispute { lease, reason }),
            (any::<u64>(), any::<bool>(), proptest::option::of(any::<u128>()), text(), did()).prop_map(
                |(lease, terminate, deposit_to_landlord, reason, by)| RentalInstruction::DecideDispute {
                    lease,
                    terminate,
                    deposit_to_landlord,
                    reason,
                    by
                }
            ),
            (any::<u64>(), any::<u128>(), text()).prop_map(|(lease, amount, reason)| RentalInstruction::ClaimDeposit {
                lease,
                amount,
                reason
            }),
            any::<u64>().prop_map(|lease| RentalInstruction::AcceptClaim { lease }),
        ]
        .boxed()
    }
}
