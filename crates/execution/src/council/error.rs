//! Why an instruction of the council failed: this module's errors, each with a stable code.
//! They reach receipts and clients as [`crate::ModuleError::Council`], unchanged.

use civitas_types::Did;

/// A failure particular to the council.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The department is not on the council.
    #[error("{0} is not a council member")]
    NotACouncilMember(Did),
    /// No proposal with this number.
    #[error("no proposal {0}")]
    UnknownProposal(u64),
    /// The proposal already passed or failed.
    #[error("proposal {0} is closed")]
    ProposalClosed(u64),
    /// The proposal expired before this approval.
    #[error("proposal {id} expired at height {expired_at}")]
    ProposalExpired {
        /// The proposal.
        id: u64,
        /// Its last open height.
        expired_at: u64,
    },
    /// The member already approved.
    #[error("{0} already approved this proposal")]
    AlreadyApproved(Did),
    /// A proposal's lifetime is 0 or too long.
    #[error("a proposal stays open 1 to {0} blocks")]
    BadTtl(u64),
    /// A threshold outside 1 to the number of members.
    #[error("threshold {threshold} is not between 1 and the {members} members")]
    BadThreshold {
        /// The threshold asked for.
        threshold: u32,
        /// How many members there are.
        members: usize,
    },
    /// A validator-set change that cannot be made.
    #[error("validator set: {0}")]
    BadValidatorChange(&'static str),
}

impl Error {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotACouncilMember(_) => "not_a_council_member",
            Error::UnknownProposal(_) => "unknown_proposal",
            Error::ProposalClosed(_) => "proposal_closed",
            Error::ProposalExpired { .. } => "proposal_expired",
            Error::AlreadyApproved(_) => "already_approved",
            Error::BadTtl(_) => "bad_ttl",
            Error::BadThreshold { .. } => "bad_threshold",
            Error::BadValidatorChange(_) => "bad_validator_change",
        }
    }
}
