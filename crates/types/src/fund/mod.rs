//! Public project funds: a project's escrow (appropriated by the finance bureau, held by the
//! chain), its contracts and their milestones, subcontracts, the payments a released milestone
//! pays (a contractor's or subcontractor's share, or a payroll straight into workers'
//! accounts), and the lists that make all of it provable. Light clients decode these records
//! from proven state, so their encoding is part of the public format.
//!
//! Amounts: a project's `appropriated` only grows; `contracted` is what its top-level contracts
//! commit (a terminated contract commits only what it released); `released` is what approved
//! milestones released; `paid` is what left the escrow. The escrow holds
//! `appropriated - paid`, and `paid <= released <= contracted <= appropriated` always.

mod instruction;
pub use instruction::{FundInstruction, MilestoneSpec, PayrollLine};

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_seq};
use crate::{Amount, Did};

/// Longest project, contract or milestone title, in bytes.
pub const TITLE_BYTES_MAX: usize = 160;
/// Longest purpose, deliverable, report or reason, in bytes.
pub const TEXT_BYTES_MAX: usize = 1_000;
/// Most milestones one contract has.
pub const MILESTONES_MAX: usize = 32;
/// Most lines one payroll has (a payroll of more workers is filed in several).
pub const PAYROLL_LINES_MAX: usize = 250;
/// Most entries one page of a list holds.
pub const LIST_PAGE_MAX: u64 = 100;

/// The state key of project `id`.
pub fn project_key(id: u64) -> Vec<u8> {
    [b"fund/p/".as_slice(), &id.to_be_bytes()].concat()
}

/// The state key of contract `id` (a subcontract is a contract with a parent).
pub fn contract_key(id: u64) -> Vec<u8> {
    [b"fund/c/".as_slice(), &id.to_be_bytes()].concat()
}

/// The state key of payroll `id`.
pub fn payroll_key(id: u64) -> Vec<u8> {
    [b"fund/r/".as_slice(), &id.to_be_bytes()].concat()
}

/// The state key of the total held in all projects' escrows (what conservation adds to the
/// accounts' balances to make the supply).
pub const ESCROW_TOTAL_KEY: &[u8] = b"fund/escrow";

pub(crate) fn put_amount(out: &mut Vec<u8>, a: Amount) {
    out.extend_from_slice(&a.to_be_bytes());
}

pub(crate) fn put_opt_did(out: &mut Vec<u8>, d: &Option<Did>) {
    match d {
        None => out.push(0),
        Some(d) => {
            out.push(1);
            d.encode_to(out);
        }
    }
}

pub(crate) fn opt_did(r: &mut Reader<'_>, what: &'static str) -> Result<Option<Did>, DecodeError> {
    match r.u8(what)? {
        0 => Ok(None),
        1 => Ok(Some(Did::decode_from(r)?)),
        tag => Err(DecodeError::UnknownTag { what, tag }),
    }
}

pub(crate) fn opt_u64(r: &mut Reader<'_>, what: &'static str) -> Result<Option<u64>, DecodeError> {
    match r.u8(what)? {
        0 => Ok(None),
        1 => Ok(Some(r.u64(what)?)),
        tag => Err(DecodeError::UnknownTag { what, tag }),
    }
}

pub(crate) fn put_opt_u64(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

/// A project: its purpose, who owns and oversees it, and where its money stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Project {
    /// Its number.
    pub id: u64,
    /// Its title.
    pub title: String,
    /// What the money is for.
    pub purpose: String,
    /// The department that owns it: awards its contracts and may terminate them.
    pub owner: Did,
    /// The organization whose officials approve milestones.
    pub supervisor: Did,
    /// An auditor that must also approve each milestone, where the project demands one.
    pub auditor: Option<Did>,
    /// The finance bureau that opened it.
    pub finance: Did,
    /// Appropriated in all.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub appropriated: Amount,
    /// Committed by its contracts.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub contracted: Amount,
    /// Released by approved milestones.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub released: Amount,
    /// Paid out of the escrow.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub paid: Amount,
    /// When it was opened (block time, ms).
    pub opened_ms: u64,
    /// At which height.
    pub height: u64,
}

impl Project {
    /// What the escrow holds.
    pub fn escrow(&self) -> Amount {
        self.appropriated - self.paid
    }

    /// What no contract commits yet.
    pub fn uncommitted(&self) -> Amount {
        self.appropriated - self.contracted
    }
}

impl Encode for Project {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        put_bytes(out, self.title.as_bytes());
        put_bytes(out, self.purpose.as_bytes());
        self.owner.encode_to(out);
        self.supervisor.encode_to(out);
        put_opt_did(out, &self.auditor);
        self.finance.encode_to(out);
        for a in [self.appropriated, self.contracted, self.released, self.paid] {
            put_amount(out, a);
        }
        out.extend_from_slice(&self.opened_ms.to_be_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for Project {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Project {
            id: r.u64("project")?,
            title: r.string(TITLE_BYTES_MAX, "title")?,
            purpose: r.string(TEXT_BYTES_MAX, "purpose")?,
            owner: Did::decode_from(r)?,
            supervisor: Did::decode_from(r)?,
            auditor: opt_did(r, "auditor")?,
            finance: Did::decode_from(r)?,
            appropriated: r.u128("appropriated")?,
            contracted: r.u128("contracted")?,
            released: r.u128("released")?,
            paid: r.u128("paid")?,
            opened_ms: r.u64("opened")?,
            height: r.u64("height")?,
        })
    }
}

macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $tag:literal, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Its stable name.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl Encode for $name {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.push(match self {
                    $($name::$variant => $tag,)*
                });
            }
        }

        impl Decode for $name {
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                match r.u8($what)? {
                    $($tag => Ok($name::$variant),)*
                    tag => Err(DecodeError::UnknownTag { what: $what, tag }),
                }
            }
        }
    };
}

pub(crate) use status_enum;

status_enum!(
    /// Where a contract stands.
    ContractStatus, "contract status" {
        /// Awarded; the contractor has not accepted yet.
        Offered = 0, "offered";
        /// Accepted: work and payments go on.
        Active = 1, "active";
        /// Ended by the owner (or, for a subcontract, the contractor): what it did not pay,
        /// released or not, is uncommitted again.
        Terminated = 2, "terminated";
    }
);

status_enum!(
    /// Where a milestone stands.
    MilestoneStatus, "milestone status" {
        /// Not reported done yet.
        Pending = 0, "pending";
        /// Reported done; awaiting its approvals.
        Reported = 1, "reported";
        /// Approved by all it needs: its amount is released.
        Approved = 2, "approved";
        /// Rejected (the reason is kept); the contractor may report it again.
        Rejected = 3, "rejected";
    }
);

status_enum!(
    /// Where a payroll stands.
    PayrollStatus, "payroll status" {
        /// Filed by the subcontractor; awaiting the contractor.
        Filed = 0, "filed";
        /// Approved and paid: each worker's account was credited.
        Paid = 1, "paid";
        /// Rejected by the contractor (the reason is kept).
        Rejected = 2, "rejected";
    }
);

/// A milestone of a contract: what it delivers, what it releases, by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Milestone {
    /// Its title.
    pub title: String,
    /// What is to be delivered.
    pub deliverable: String,
    /// What its approval releases.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub amount: Amount,
    /// Its deadline (unix seconds, block time).
    pub due: u64,
    /// Where it stands.
    pub status: MilestoneStatus,
    /// The contractor's last report (empty: none).
    pub report: String,
    /// When it was last reported (unix seconds).
    pub reported_at: Option<u64>,
    /// Whether the supervisor approved the current report.
    pub supervisor_approved: bool,
    /// Whether the auditor approved the current report (only where the project has one).
    pub auditor_approved: bool,
    /// Why it was last rejected (empty: never).
    pub reason: String,
    /// When it was approved (unix seconds).
    pub approved_at: Option<u64>,
    /// Paid out of its release so far.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub paid: Amount,
}

impl Milestone {
    /// Whether it is past its deadline at `now` (unix seconds) without being approved, or was
    /// approved late.
    pub fn overdue(&self, now: u64) -> bool {
        match self.approved_at {
            Some(at) => at > self.due,
            None => now > self.due,
        }
    }
}

impl Encode for Milestone {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.title.as_bytes());
        put_bytes(out, self.deliverable.as_bytes());
        put_amount(out, self.amount);
        out.extend_from_slice(&self.due.to_be_bytes());
        self.status.encode_to(out);
        put_bytes(out, self.report.as_bytes());
        put_opt_u64(out, self.reported_at);
        out.push(u8::from(self.supervisor_approved));
        out.push(u8::from(self.auditor_approved));
        put_bytes(out, self.reason.as_bytes());
        put_opt_u64(out, self.approved_at);
        put_amount(out, self.paid);
    }
}

impl Decode for Milestone {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Milestone {
            title: r.string(TITLE_BYTES_MAX, "milestone title")?,
            deliverable: r.string(TEXT_BYTES_MAX, "deliverable")?,
            amount: r.u128("milestone amount")?,
            due: r.u64("due")?,
            status: MilestoneStatus::decode_from(r)?,
            report: r.string(TEXT_BYTES_MAX, "report")?,
            reported_at: opt_u64(r, "reported at")?,
            supervisor_approved: r.bool("supervisor approved")?,
            auditor_approved: r.bool("auditor approved")?,
            reason: r.string(TEXT_BYTES_MAX, "reason")?,
            approved_at: opt_u64(r, "approved at")?,
            paid: r.u128("milestone paid")?,
        })
    }
}

/// A contract of a project, or a subcontract of a contract (`parent`). A subcontract has no
/// milestones: it is paid from its parent's released milestones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Contract {
    /// Its number.
    pub id: u64,
    /// Its project.
    pub project: u64,
    /// The contract it is a subcontract of.
    pub parent: Option<u64>,
    /// The contractor (an organization).
    pub contractor: Did,
    /// Who awarded it: the project's owner, or for a subcontract the parent's contractor.
    pub awarded_by: Did,
    /// Its title.
    pub title: String,
    /// Its amount: the sum of its milestones' (a subcontract: the part it takes on).
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub amount: Amount,
    /// Where it stands.
    pub status: ContractStatus,
    /// Its milestones (none for a subcontract).
    pub milestones: Vec<Milestone>,
    /// Committed to its subcontracts.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub subcontracted: Amount,
    /// Released by its approved milestones.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub released: Amount,
    /// Paid: for a contract, out of its releases to anyone; for a subcontract, to it and its
    /// workers.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub paid: Amount,
    /// Why it was terminated (empty: it was not).
    pub reason: String,
    /// When it was awarded (unix seconds).
    pub awarded_at: u64,
    /// When it was accepted.
    pub accepted_at: Option<u64>,
    /// When it was terminated.
    pub ended_at: Option<u64>,
}

impl Contract {
    /// What it commits of its project (or, a subcontract, of its parent): its amount, or once
    /// terminated what it was paid.
    pub fn committed(&self) -> Amount {
        if self.status == ContractStatus::Terminated { self.paid } else { self.amount }
    }

    /// What of its releases still counts as released: all of them, or once terminated what
    /// was paid (a termination returns the rest to the project).
    pub fn released_in_force(&self) -> Amount {
        if self.status == ContractStatus::Terminated { self.paid } else { self.released }
    }
}

impl Encode for Contract {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.project.to_be_bytes());
        put_opt_u64(out, self.parent);
        self.contractor.encode_to(out);
        self.awarded_by.encode_to(out);
        put_bytes(out, self.title.as_bytes());
        put_amount(out, self.amount);
        self.status.encode_to(out);
        put_seq(out, &self.milestones);
        for a in [self.subcontracted, self.released, self.paid] {
            put_amount(out, a);
        }
        put_bytes(out, self.reason.as_bytes());
        out.extend_from_slice(&self.awarded_at.to_be_bytes());
        put_opt_u64(out, self.accepted_at);
        put_opt_u64(out, self.ended_at);
    }
}

impl Decode for Contract {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Contract {
            id: r.u64("contract")?,
            project: r.u64("project")?,
            parent: opt_u64(r, "parent")?,
            contractor: Did::decode_from(r)?,
            awarded_by: Did::decode_from(r)?,
            title: r.string(TITLE_BYTES_MAX, "title")?,
            amount: r.u128("amount")?,
            status: ContractStatus::decode_from(r)?,
            milestones: r.seq(MILESTONES_MAX, "milestones", Milestone::decode_from)?,
            subcontracted: r.u128("subcontracted")?,
            released: r.u128("released")?,
            paid: r.u128("paid")?,
            reason: r.string(TEXT_BYTES_MAX, "reason")?,
            awarded_at: r.u64("awarded at")?,
            accepted_at: opt_u64(r, "accepted at")?,
            ended_at: opt_u64(r, "ended at")?,
        })
    }
}

/// A payroll: the wages a subcontractor files against one released milestone of its parent
/// contract; the contractor's approval pays each worker's account directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Payroll {
    /// Its number.
    pub id: u64,
    /// The subcontract whose workers it pays.
    pub subcontract: u64,
    /// The parent contract whose milestone pays it.
    pub contract: u64,
    /// That milestone's index.
    pub milestone: u16,
    /// The workers and their wages (account DIDs only: no names or id numbers on the chain).
    pub lines: Vec<PayrollLine>,
    /// The sum of the lines.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub total: Amount,
    /// Where it stands.
    pub status: PayrollStatus,
    /// Why it was rejected (empty: it was not).
    pub reason: String,
    /// When it was filed (unix seconds).
    pub filed_at: u64,
    /// When it was paid or rejected.
    pub decided_at: Option<u64>,
}

impl Encode for Payroll {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.subcontract.to_be_bytes());
        out.extend_from_slice(&self.contract.to_be_bytes());
        out.extend_from_slice(&self.milestone.to_be_bytes());
        put_seq(out, &self.lines);
        put_amount(out, self.total);
        self.status.encode_to(out);
        put_bytes(out, self.reason.as_bytes());
        out.extend_from_slice(&self.filed_at.to_be_bytes());
        put_opt_u64(out, self.decided_at);
    }
}

impl Decode for Payroll {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Payroll {
            id: r.u64("payroll")?,
            subcontract: r.u64("subcontract")?,
            contract: r.u64("contract")?,
            milestone: r.u16("milestone")?,
            lines: r.seq(PAYROLL_LINES_MAX, "payroll lines", PayrollLine::decode_from)?,
            total: r.u128("total")?,
            status: PayrollStatus::decode_from(r)?,
            reason: r.string(TEXT_BYTES_MAX, "reason")?,
            filed_at: r.u64("filed at")?,
            decided_at: opt_u64(r, "decided at")?,
        })
    }
}

/// An appropriation into a project's escrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Appropriation {
    /// How much.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub amount: Amount,
    /// The finance bureau's account it came from.
    pub from: Did,
    /// When (unix seconds).
    pub at: u64,
    /// At which height.
    pub height: u64,
}

impl Encode for Appropriation {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_amount(out, self.amount);
        self.from.encode_to(out);
        out.extend_from_slice(&self.at.to_be_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for Appropriation {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Appropriation {
            amount: r.u128("amount")?,
            from: Did::decode_from(r)?,
            at: r.u64("at")?,
            height: r.u64("height")?,
        })
    }
}

/// Who a payment out of a contract's release went to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payee {
    /// The contractor's own share.
    Contractor {
        /// Its account.
        account: Did,
    },
    /// A subcontractor's share.
    Subcontractor {
        /// The subcontract.
        subcontract: u64,
        /// Its account.
        account: Did,
    },
    /// A payroll, each line into a worker's account.
    Payroll {
        /// The payroll.
        payroll: u64,
        /// The subcontract it is for.
        subcontract: u64,
        /// How many workers it paid.
        workers: u32,
    },
}

impl Encode for Payee {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Payee::Contractor { account } => {
                out.push(0);
                account.encode_to(out);
            }
            Payee::Subcontractor { subcontract, account } => {
                out.push(1);
                out.extend_from_slice(&subcontract.to_be_bytes());
                account.encode_to(out);
            }
            Payee::Payroll { payroll, subcontract, workers } => {
                out.push(2);
                out.extend_from_slice(&payroll.to_be_bytes());
                out.extend_from_slice(&subcontract.to_be_bytes());
                out.extend_from_slice(&workers.to_be_bytes());
            }
        }
    }
}

impl Decode for Payee {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("payee")? {
            0 => Payee::Contractor { account: Did::decode_from(r)? },
            1 => Payee::Subcontractor { subcontract: r.u64("subcontract")?, account: Did::decode_from(r)? },
            2 => Payee::Payroll {
                payroll: r.u64("payroll")?,
                subcontract: r.u64("subcontract")?,
                workers: r.u32("workers")?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "payee", tag }),
        })
    }
}

/// A payment out of one released milestone of a contract. Its schema is `FundPayment`: the
/// invoices' `Payment` has the name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = FundPayment)]
pub struct Payment {
    /// The milestone whose release paid it.
    pub milestone: u16,
    /// Who it went to.
    pub payee: Payee,
    /// How much.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub amount: Amount,
    /// When (unix seconds).
    pub at: u64,
    /// At which height.
    pub height: u64,
}

impl Encode for Payment {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.milestone.to_be_bytes());
        self.payee.encode_to(out);
        put_amount(out, self.amount);
        out.extend_from_slice(&self.at.to_be_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for Payment {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Payment {
            milestone: r.u16("milestone")?,
            payee: Payee::decode_from(r)?,
            amount: r.u128("amount")?,
            at: r.u64("at")?,
            height: r.u64("height")?,
        })
    }
}

/// A wage paid into a worker's account by a payroll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Wage {
    /// How much.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String)]
    pub amount: Amount,
    /// The project.
    pub project: u64,
    /// The subcontract the worker worked under.
    pub subcontract: u64,
    /// Its subcontractor (the employer).
    pub employer: Did,
    /// The payroll.
    pub payroll: u64,
    /// When (unix seconds).
    pub at: u64,
    /// At which height.
    pub height: u64,
}

impl Encode for Wage {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_amount(out, self.amount);
        out.extend_from_slice(&self.project.to_be_bytes());
        out.extend_from_slice(&self.subcontract.to_be_bytes());
        self.employer.encode_to(out);
        out.extend_from_slice(&self.payroll.to_be_bytes());
        out.extend_from_slice(&self.at.to_be_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for Wage {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Wage {
            amount: r.u128("amount")?,
            project: r.u64("project")?,
            subcontract: r.u64("subcontract")?,
            employer: Did::decode_from(r)?,
            payroll: r.u64("payroll")?,
            at: r.u64("at")?,
            height: r.u64("height")?,
        })
    }
}

/// A list of the funds module: a count at one key and its entries at keys derived from their
/// positions (state keys are hashed into the tree, so never a key prefix); a page is proven
/// complete by the count and each entry's proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundList {
    /// Every project, in order (entries: project numbers).
    Projects,
    /// A project's appropriations, in order.
    Appropriations(u64),
    /// A project's contracts, in order (numbers).
    Contracts(u64),
    /// A contract's subcontracts, in order (numbers).
    Subcontracts(u64),
    /// A contract's payments, in order.
    Payments(u64),
    /// A subcontract's payrolls, in order (numbers).
    Payrolls(u64),
    /// A worker's wages, in order.
    Wages(Did),
}

/// One entry of a [`FundList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FundEntry {
    /// A project, contract or payroll number.
    Number {
        /// The number.
        id: u64,
    },
    /// An appropriation.
    Appropriation(Appropriation),
    /// A payment.
    Payment(Payment),
    /// A wage.
    Wage(Wage),
}

impl fmt::Display for FundList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FundList::Projects => write!(f, "projects"),
            FundList::Appropriations(p) => write!(f, "appropriations/{p}"),
            FundList::Contracts(p) => write!(f, "contracts/{p}"),
            FundList::Subcontracts(c) => write!(f, "subcontracts/{c}"),
            FundList::Payments(c) => write!(f, "payments/{c}"),
            FundList::Payrolls(c) => write!(f, "payrolls/{c}"),
            FundList::Wages(w) => write!(f, "wages/{w}"),
        }
    }
}

impl FundList {
    /// Parses the name [`fmt::Display`] writes (`projects`, `contracts/3`, `wages/did:civitas:…`).
    pub fn parse(s: &str) -> Result<FundList, String> {
        let number = |n: &str| n.parse::<u64>().map_err(|_| format!("not a number: {n}"));
        Ok(match s.split_once('/') {
            None if s == "projects" => FundList::Projects,
            Some(("appropriations", n)) => FundList::Appropriations(number(n)?),
            Some(("contracts", n)) => FundList::Contracts(number(n)?),
            Some(("subcontracts", n)) => FundList::Subcontracts(number(n)?),
            Some(("payments", n)) => FundList::Payments(number(n)?),
            Some(("payrolls", n)) => FundList::Payrolls(number(n)?),
            Some(("wages", d)) => FundList::Wages(d.parse().map_err(|e: crate::DidError| e.to_string())?),
            _ => {
                return Err(format!(
                    "unknown list {s:?} (projects, appropriations/P, contracts/P, subcontracts/C, payments/C, \
                     payrolls/S, wages/DID)"
                ));
            }
        })
    }

    fn prefix(&self) -> Vec<u8> {
        let mut out = b"fund/list/".to_vec();
        match self {
            FundList::Projects => out.push(0),
            FundList::Appropriations(p) => {
                out.push(1);
                out.extend_from_slice(&p.to_be_bytes());
            }
            FundList::Contracts(p) => {
                out.push(2);
                out.extend_from_slice(&p.to_be_bytes());
            }
            FundList::Subcontracts(c) => {
                out.push(3);
                out.extend_from_slice(&c.to_be_bytes());
            }
            FundList::Payments(c) => {
                out.push(4);
                out.extend_from_slice(&c.to_be_bytes());
            }
            FundList::Payrolls(c) => {
                out.push(5);
                out.extend_from_slice(&c.to_be_bytes());
            }
            FundList::Wages(w) => {
                out.push(6);
                w.encode_to(&mut out);
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
    pub fn decode_entry(&self, bytes: &[u8]) -> Result<FundEntry, DecodeError> {
        Ok(match self {
            FundList::Projects | FundList::Contracts(_) | FundList::Subcontracts(_) | FundList::Payrolls(_) => {
                let mut r = Reader::new(bytes);
                let id = r.u64("number")?;
                r.finish()?;
                FundEntry::Number { id }
            }
            FundList::Appropriations(_) => FundEntry::Appropriation(Appropriation::decode(bytes)?),
            FundList::Payments(_) => FundEntry::Payment(Payment::decode(bytes)?),
            FundList::Wages(_) => FundEntry::Wage(Wage::decode(bytes)?),
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

    fn milestone(amount: Amount, status: MilestoneStatus) -> Milestone {
        Milestone {
            title: "Foundations".into(),
            deliverable: "Slab poured and inspected".into(),
            amount,
            due: 1_800_000_000,
            status,
            report: String::new(),
            reported_at: None,
            supervisor_approved: false,
            auditor_approved: false,
            reason: String::new(),
            approved_at: Some(1_700_000_000),
            paid: 0,
        }
    }

    proptest! {
        #[test]
        fn records_round_trip(a in any::<u128>(), n in any::<u64>(), aud in any::<bool>(), parent in proptest::option::of(any::<u64>())) {
            let p = Project {
                id: n, title: "School".into(), purpose: "A primary school".into(), owner: did(1), supervisor: did(2),
                auditor: aud.then(|| did(3)), finance: did(4), appropriated: a, contracted: a / 2, released: a / 3,
                paid: a / 4, opened_ms: n, height: 7,
            };
            prop_assert_eq!(Project::decode(&p.encode()), Ok(p));
            let c = Contract {
                id: n, project: 1, parent, contractor: did(5), awarded_by: did(1), title: "Build".into(), amount: a,
                status: ContractStatus::Active, milestones: vec![milestone(a, MilestoneStatus::Approved)],
                subcontracted: 0, released: a, paid: 0, reason: String::new(), awarded_at: 3, accepted_at: Some(4),
                ended_at: None,
            };
            prop_assert_eq!(Contract::decode(&c.encode()), Ok(c));
            let r = Payroll {
                id: n, subcontract: 2, contract: 1, milestone: 0, lines: vec![PayrollLine { worker: did(9), amount: a }],
                total: a, status: PayrollStatus::Paid, reason: String::new(), filed_at: 1, decided_at: Some(2),
            };
            prop_assert_eq!(Payroll::decode(&r.encode()), Ok(r));
            for payee in [
                Payee::Contractor { account: did(5) },
                Payee::Subcontractor { subcontract: n, account: did(6) },
                Payee::Payroll { payroll: n, subcontract: 2, workers: 3 },
            ] {
                let pay = Payment { milestone: 1, payee, amount: a, at: n, height: 3 };
                prop_assert_eq!(Payment::decode(&pay.encode()), Ok(pay));
            }
            let w = Wage { amount: a, project: 1, subcontract: 2, employer: did(6), payroll: n, at: 5, height: 6 };
            prop_assert_eq!(Wage::decode(&w.encode()), Ok(w));
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = Project::decode(&bytes);
            let _ = Contract::decode(&bytes);
            let _ = Payroll::decode(&bytes);
            let _ = Payment::decode(&bytes);
            let _ = Wage::decode(&bytes);
        }
    }

    #[test]
    fn list_names_round_trip_and_keys_differ() {
        let lists = [
            FundList::Projects,
            FundList::Appropriations(1),
            FundList::Contracts(1),
            FundList::Subcontracts(1),
            FundList::Payments(1),
            FundList::Payrolls(1),
            FundList::Wages(did(1)),
        ];
        let mut keys = std::collections::BTreeSet::new();
        for l in lists {
            assert_eq!(FundList::parse(&l.to_string()), Ok(l));
            assert!(keys.insert(l.count_key()));
            assert!(keys.insert(l.entry_key(0)));
        }
        assert!(FundList::parse("contracts/x").is_err());
        assert!(FundList::parse("nothing").is_err());
    }

    #[test]
    fn overdue_is_by_deadline() {
        let mut m = milestone(5, MilestoneStatus::Pending);
        m.approved_at = None;
        assert!(!m.overdue(m.due));
        assert!(m.overdue(m.due + 1));
        m.approved_at = Some(m.due + 10);
        assert!(m.overdue(0));
    }
}
