//! Why an instruction of project funds failed: this module's errors, each with a stable code.
//! They reach receipts and clients as [`crate::ModuleError::Funds`], unchanged.

use civitas_types::fund::{ContractStatus, MilestoneStatus, PayrollStatus};
use civitas_types::{Amount, Did};

/// A failure particular to project funds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No such project.
    #[error("no project {0}")]
    UnknownProject(u64),
    /// No such contract.
    #[error("no contract {0}")]
    UnknownContract(u64),
    /// The contract has no milestone with this index (a subcontract has none).
    #[error("contract {contract} has no milestone {index}")]
    UnknownMilestone {
        /// The contract.
        contract: u64,
        /// The index asked for.
        index: u16,
    },
    /// No such payroll.
    #[error("no payroll {0}")]
    UnknownPayroll(u64),
    /// The organization named as finance bureau holds no finance role.
    #[error("{0} is not the finance bureau: its account holds no finance role")]
    NotFinance(Did),
    /// The account is not an organization of the kind the role needs.
    #[error("{did} cannot be {what}: it is not {needs}")]
    WrongKind {
        /// The account.
        did: Did,
        /// The role it was named for.
        what: &'static str,
        /// What it must be.
        needs: &'static str,
    },
    /// Two roles that must be held by different organizations are held by one.
    #[error("conflict of interest: {0}")]
    ConflictOfInterest(&'static str),
    /// The signer acts for an organization that is not the one this act needs.
    #[error("only {expected} ({org}) may do this")]
    WrongParty {
        /// Whose act it is.
        expected: &'static str,
        /// That organization.
        org: Did,
    },
    /// The signer is an official of the contractor whose milestone it reviews.
    #[error("an official of the contractor cannot review its own milestone")]
    OwnMilestone,
    /// An amount of zero.
    #[error("the amount must be more than zero")]
    ZeroAmount,
    /// More than what is left at some level: the project's uncommitted budget, a contract's
    /// unsubcontracted part, a subcontract's unpaid part, or a milestone's unpaid release.
    #[error("overspend: {asked} asked, but the {level} has only {available} left")]
    Overspend {
        /// Which level.
        level: &'static str,
        /// What is left there.
        available: Amount,
        /// What was asked.
        asked: Amount,
    },
    /// The finance bureau's balance is short.
    #[error("the finance bureau holds {balance}, less than the {amount} appropriated")]
    InsufficientFunds {
        /// Its balance.
        balance: Amount,
        /// The appropriation.
        amount: Amount,
    },
    /// A milestone's deadline is not after the block's time.
    #[error("milestone {0}'s deadline is not in the future")]
    DeadlinePassed(u16),
    /// The contract is terminated: nothing more happens on it.
    #[error("contract {0} is terminated")]
    Terminated(u64),
    /// The contract is not in the state the act needs.
    #[error("contract {contract} is {status}, not {needs}", status = .status.name())]
    ContractState {
        /// The contract.
        contract: u64,
        /// Where it stands.
        status: ContractStatus,
        /// What the act needs.
        needs: &'static str,
    },
    /// Subcontracts cannot be subcontracted further, and have no milestones of their own.
    #[error("contract {0} is a subcontract")]
    IsSubcontract(u64),
    /// The contract is not a subcontract.
    #[error("contract {0} is not a subcontract")]
    NotASubcontract(u64),
    /// The subcontract is not one of this contract's.
    #[error("subcontract {subcontract} is not under contract {contract}")]
    NotUnder {
        /// The subcontract.
        subcontract: u64,
        /// The contract.
        contract: u64,
    },
    /// A contract has as many subcontracts as it may.
    #[error("contract {0} has the most subcontracts allowed")]
    TooManySubcontracts(u64),
    /// The milestone is not in the state the act needs.
    #[error("milestone {index} is {status}, not {needs}", status = .status.name())]
    MilestoneState {
        /// The milestone.
        index: u16,
        /// Where it stands.
        status: MilestoneStatus,
        /// What the act needs.
        needs: &'static str,
    },
    /// The reviewer approved the current report already.
    #[error("{0} approved this report already")]
    AlreadyReviewed(&'static str),
    /// A rejection, termination or payroll rejection needs a reason.
    #[error("a reason is required")]
    ReasonRequired,
    /// A payroll line names an organization's account: wages go to people.
    #[error("{0} is an organization, not a worker")]
    NotAWorker(Did),
    /// A payroll line names an official of the subcontractor or the contractor: the employer
    /// cannot route wages to itself.
    #[error("{0} is an official of the subcontractor or contractor: wages cannot be paid to the employer")]
    PayeeIsParty(Did),
    /// A worker appears twice in one payroll.
    #[error("worker {0} appears twice in the payroll")]
    DuplicateWorker(Did),
    /// A payroll with no lines.
    #[error("a payroll needs at least one line")]
    EmptyPayroll,
    /// The payroll was decided already.
    #[error("payroll {id} is {status} already", status = .status.name())]
    PayrollDecided {
        /// The payroll.
        id: u64,
        /// Where it stands.
        status: PayrollStatus,
    },
}

impl Error {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownProject(_) => "unknown_project",
            Error::UnknownContract(_) => "unknown_contract",
            Error::UnknownMilestone { .. } => "unknown_milestone",
            Error::UnknownPayroll(_) => "unknown_payroll",
            Error::NotFinance(_) => "not_finance",
            Error::WrongKind { .. } => "wrong_kind",
            Error::ConflictOfInterest(_) => "conflict_of_interest",
            Error::WrongParty { .. } => "wrong_party",
            Error::OwnMilestone => "own_milestone",
            Error::ZeroAmount => "zero_amount",
            Error::Overspend { .. } => "overspend",
            Error::InsufficientFunds { .. } => "insufficient_funds",
            Error::DeadlinePassed(_) => "deadline_passed",
            Error::Terminated(_) => "contract_terminated",
            Error::ContractState { .. } => "contract_state",
            Error::IsSubcontract(_) => "is_subcontract",
            Error::NotASubcontract(_) => "not_a_subcontract",
            Error::NotUnder { .. } => "not_under_contract",
            Error::TooManySubcontracts(_) => "too_many_subcontracts",
            Error::MilestoneState { status: MilestoneStatus::Approved, .. } => "already_approved",
            Error::MilestoneState { needs: "approved", .. } => "not_released",
            Error::MilestoneState { needs: "reported", .. } => "not_reported",
            Error::MilestoneState { .. } => "milestone_state",
            Error::AlreadyReviewed(_) => "already_reviewed",
            Error::ReasonRequired => "reason_required",
            Error::NotAWorker(_) => "not_a_worker",
            Error::PayeeIsParty(_) => "payee_is_party",
            Error::DuplicateWorker(_) => "duplicate_worker",
            Error::EmptyPayroll => "empty_payroll",
            Error::PayrollDecided { status: PayrollStatus::Paid, .. } => "already_paid",
            Error::PayrollDecided { .. } => "payroll_decided",
        }
    }
}
