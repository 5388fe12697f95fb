//! Why an instruction of rentals failed: this module's errors, each with a stable code. They
//! reach receipts and clients as [`crate::ModuleError::Rentals`], unchanged.

use civitas_types::rental::{LeaseStatus, ListingStatus};
use civitas_types::{Amount, Did};

/// A failure particular to rentals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No such listing.
    #[error("no listing {0}")]
    UnknownListing(u64),
    /// No such lease.
    #[error("no lease {0}")]
    UnknownLease(u64),
    /// The property certificate presented does not stand: `code` says which check failed
    /// (an SD-JWT failure's own code, `not_accredited`, `unanchored_credential`,
    /// `commitment_mismatch`, `credential_revoked`, `credential_suspended`, `policy_forbids`,
    /// `consent_required`, `no_property_id`, …).
    #[error("the property certificate does not stand ({code}): {detail}")]
    Credential {
        /// The failed check's code.
        code: &'static str,
        /// What it found.
        detail: String,
    },
    /// The certificate's issuer is no department with the housing function.
    #[error("{0} is not a housing department: property certificates come from one")]
    NotHousing(Did),
    /// The certificate names another owner, or its key binding is not the owner's key.
    #[error("not the owner: {0}")]
    NotTheOwner(&'static str),
    /// This presentation listed a property before: an authorization lists once.
    #[error("this presentation was used before; present the certificate again")]
    PresentationUsed,
    /// The property has an active listing.
    #[error("property {property} already has active listing {listing}")]
    AlreadyListed {
        /// The property.
        property: u64,
        /// Its active listing.
        listing: u64,
    },
    /// The listing is not active.
    #[error("listing {listing} is {}, not active", status.name())]
    ListingNotActive {
        /// The listing.
        listing: u64,
        /// Where it stands.
        status: ListingStatus,
    },
    /// The signer is neither party of the lease (nor, where it may act, the agent).
    #[error("not a party to this: {0}")]
    NotAParty(&'static str),
    /// The signer is a party, but not the one this act needs.
    #[error("only {0} may do this")]
    WrongParty(&'static str),
    /// The lease does not stand where this act needs it.
    #[error("lease {lease} is {}: {needs}", status.name())]
    LeaseState {
        /// The lease.
        lease: u64,
        /// Where it stands.
        status: LeaseStatus,
        /// What the act needs.
        needs: &'static str,
    },
    /// The lease was terminated or ran out: no more rent, amendments or terminations.
    #[error("lease {0} has ended")]
    LeaseEnded(u64),
    /// The lease has not ended yet: its deposit is not due.
    #[error("lease {0} has not ended yet")]
    NotEnded(u64),
    /// Terms that do not hold together.
    #[error("bad terms: {0}")]
    BadTerms(&'static str),
    /// No such version waits for the signer's signature.
    #[error("lease {lease} has no version {version} waiting for a signature")]
    UnknownVersion {
        /// The lease.
        lease: u64,
        /// The version asked for.
        version: u32,
    },
    /// The signer proposed this version, so signed it already: the other party signs it.
    #[error("the signer proposed version {0}: the other party signs it")]
    AlreadySigned(u32),
    /// The lease has as many versions as it may.
    #[error("a lease has at most {0} versions")]
    TooManyVersions(u32),
    /// An amount of zero.
    #[error("the amount must be more than zero")]
    ZeroAmount,
    /// More rent than the schedule has left.
    #[error("overpayment: {asked} asked, but the schedule has only {left} left to pay")]
    Overpayment {
        /// What was paid.
        asked: Amount,
        /// What the schedule has left.
        left: Amount,
    },
    /// No escrowed rent has fallen within three months yet.
    #[error("no escrowed rent is the landlord's yet")]
    NothingToCollect,
    /// The signer asked already; the other party's request ends it.
    #[error("already requested: the other party's request ends the lease")]
    AlreadyRequested,
    /// A dispute is open already.
    #[error("a dispute is open on lease {0}")]
    DisputeOpen(u64),
    /// No dispute is open.
    #[error("no dispute is open on lease {0}")]
    NoDispute(u64),
    /// The landlord claimed already.
    #[error("the landlord claimed from the deposit already")]
    AlreadyClaimed,
    /// The landlord made no claim to accept.
    #[error("the landlord made no claim")]
    NoClaim,
    /// The claim window is closed: the deposit goes back to the tenant.
    #[error("the claim window closed at {0}")]
    ClaimWindowClosed(u64),
    /// The deposit was released already.
    #[error("the deposit of lease {0} was released already")]
    DepositReleased(u64),
    /// A deduction larger than the deposit.
    #[error("{asked} asked, but the deposit holds {held}")]
    ExceedsDeposit {
        /// The deduction.
        asked: Amount,
        /// What the deposit holds.
        held: Amount,
    },
    /// The named lock is not one the lease can grant: not the landlord's, or not a lock.
    #[error("not a lock the lease can grant: {0}")]
    NotALock(&'static str),
    /// A reason is required.
    #[error("a reason is required (1 to 1,000 bytes)")]
    ReasonRequired,
}

impl Error {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownListing(_) => "unknown_listing",
            Error::UnknownLease(_) => "unknown_lease",
            Error::Credential { code, .. } => code,
            Error::NotHousing(_) => "not_housing",
            Error::NotTheOwner(_) => "not_the_owner",
            Error::PresentationUsed => "presentation_used",
            Error::AlreadyListed { .. } => "already_listed",
            Error::ListingNotActive { .. } => "listing_not_active",
            Error::NotAParty(_) => "not_a_party",
            Error::WrongParty(_) => "wrong_party",
            Error::LeaseState { .. } => "lease_state",
            Error::LeaseEnded(_) => "lease_ended",
            Error::NotEnded(_) => "lease_not_ended",
            Error::BadTerms(_) => "bad_terms",
            Error::UnknownVersion { .. } => "unknown_version",
            Error::AlreadySigned(_) => "already_signed",
            Error::TooManyVersions(_) => "too_many_versions",
            Error::ZeroAmount => "zero_amount",
            Error::Overpayment { .. } => "overpayment",
            Error::NothingToCollect => "nothing_to_collect",
            Error::AlreadyRequested => "already_requested",
            Error::DisputeOpen(_) => "dispute_open",
            Error::NoDispute(_) => "no_dispute",
            Error::AlreadyClaimed => "already_claimed",
            Error::NoClaim => "no_claim",
            Error::ClaimWindowClosed(_) => "claim_window_closed",
            Error::DepositReleased(_) => "deposit_released",
            Error::ExceedsDeposit { .. } => "exceeds_deposit",
            Error::NotALock(_) => "not_a_lock",
            Error::ReasonRequired => "reason_required",
        }
    }
}
