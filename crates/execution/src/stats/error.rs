//! Why an instruction of the statistics rounds failed: this module's errors, each with a stable
//! code. They reach receipts and clients as [`crate::ModuleError::Stats`], unchanged.

use civitas_types::Did;

/// A failure particular to statistics rounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No such round.
    #[error("no round {0}")]
    UnknownRound(u64),
    /// An operator that is no organization.
    #[error("{0} is not an organization")]
    NotAnOrganization(Did),
    /// An aggregator that is no department.
    #[error("{0} is not a department: aggregators are departments")]
    NotADepartment(Did),
    /// An aggregator with no key agreement key to seal shares to.
    #[error("{0} has no X25519 key agreement method in its DID document to seal shares to")]
    NoHpkeKey(Did),
    /// The organization is none of the round's aggregators.
    #[error("{0} is not an aggregator of round {1}")]
    NotAnAggregator(Did, u64),
    /// Only the leader (the first aggregator) shares the verification key.
    #[error("only round {0}'s leader shares its verification key")]
    NotTheLeader(u64),
    /// The operator is not eligible for the round.
    #[error("{0} may not report to round {1}")]
    NotEligible(Did, u64),
    /// The operator reported already.
    #[error("{0} has reported to round {1} already")]
    AlreadyReported(Did, u64),
    /// A report's nonce was used before in the round.
    #[error("the nonce was used in this round before")]
    NonceUsed,
    /// The round's deadline has passed.
    #[error("round {0} takes no more reports: its deadline has passed")]
    Closed(u64),
    /// The round still takes reports.
    #[error("round {0} takes reports until height {1}")]
    StillOpen(u64, u64),
    /// The round has too few reports: it publishes nothing.
    #[error("round {round} has {reports} reports of the {min} it needs: it publishes nothing")]
    TooFewReports {
        /// The round.
        round: u64,
        /// Its reports.
        reports: u32,
        /// Its minimum.
        min: u32,
    },
    /// A share sealed to another key than the aggregator's.
    #[error("share {0} is not sealed to that aggregator's key")]
    WrongKey(usize),
    /// Preparation shares out of order.
    #[error("preparation shares continue at report {expected}, not {found}")]
    OutOfOrder {
        /// Where they continue.
        expected: u32,
        /// Where these start.
        found: u32,
    },
    /// Not every report is decided yet.
    #[error("round {round} has decided {decided} of its {reports} reports")]
    NotDecided {
        /// The round.
        round: u64,
        /// Decided.
        decided: u32,
        /// Reports.
        reports: u32,
    },
    /// An aggregate share over another number of reports than the chain accepted.
    #[error("the chain accepted {accepted} reports, not {found}")]
    WrongCount {
        /// Accepted.
        accepted: u32,
        /// Claimed.
        found: u32,
    },
    /// Posted already.
    #[error("posted already: {0}")]
    AlreadyPosted(&'static str),
    /// A VDAF step failed on the posted bytes.
    #[error("{0}")]
    Vdaf(String),
}

impl Error {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownRound(_) => "unknown_round",
            Error::NotAnOrganization(_) => "not_an_organization",
            Error::NotADepartment(_) => "not_a_department",
            Error::NoHpkeKey(_) => "no_hpke_key",
            Error::NotAnAggregator(..) => "not_an_aggregator",
            Error::NotTheLeader(_) => "not_the_leader",
            Error::NotEligible(..) => "not_eligible",
            Error::AlreadyReported(..) => "already_reported",
            Error::NonceUsed => "nonce_used",
            Error::Closed(_) => "round_closed",
            Error::StillOpen(..) => "round_open",
            Error::TooFewReports { .. } => "too_few_reports",
            Error::WrongKey(_) => "wrong_key",
            Error::OutOfOrder { .. } => "out_of_order",
            Error::NotDecided { .. } => "not_decided",
            Error::WrongCount { .. } => "wrong_count",
            Error::AlreadyPosted(_) => "already_posted",
            Error::Vdaf(_) => "bad_vdaf_message",
        }
    }
}
