//! The funds module's instructions: their one definition, names and canonical encoding.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    MILESTONES_MAX, PAYROLL_LINES_MAX, TEXT_BYTES_MAX, TITLE_BYTES_MAX, opt_did, opt_u64, put_opt_did, put_opt_u64,
};
use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_seq};
use crate::{Amount, Did};

/// A milestone as a contract is awarded with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MilestoneSpec {
    /// Its title.
    pub title: String,
    /// What is to be delivered.
    pub deliverable: String,
    /// What its approval releases.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String, pattern = "^[0-9]+$")]
    pub amount: Amount,
    /// Its deadline (unix seconds).
    pub due: u64,
}

impl Encode for MilestoneSpec {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.title.as_bytes());
        put_bytes(out, self.deliverable.as_bytes());
        out.extend_from_slice(&self.amount.to_be_bytes());
        out.extend_from_slice(&self.due.to_be_bytes());
    }
}

impl Decode for MilestoneSpec {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MilestoneSpec {
            title: r.string(TITLE_BYTES_MAX, "milestone title")?,
            deliverable: r.string(TEXT_BYTES_MAX, "deliverable")?,
            amount: r.u128("amount")?,
            due: r.u64("due")?,
        })
    }
}

/// One worker's wage in a payroll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayrollLine {
    /// The worker's account.
    pub worker: Did,
    /// The wage.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String, pattern = "^[0-9]+$")]
    pub amount: Amount,
}

impl Encode for PayrollLine {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.worker.encode_to(out);
        out.extend_from_slice(&self.amount.to_be_bytes());
    }
}

impl Decode for PayrollLine {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PayrollLine { worker: Did::decode_from(r)?, amount: r.u128("wage")? })
    }
}

/// An instruction of the funds module (tags 41 to 52 of [`crate::Instruction`]). Each is an
/// official act of organization `by`, whose official signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FundInstruction {
    /// Opens a project and appropriates its first budget into its escrow from the finance
    /// bureau `by` (an organization whose account holds the finance role).
    OpenProject {
        /// Its title.
        title: String,
        /// What the money is for.
        purpose: String,
        /// The department that owns it.
        owner: Did,
        /// The organization that approves its milestones.
        supervisor: Did,
        /// An auditor that must approve each milestone too, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        auditor: Option<Did>,
        /// The first appropriation.
        #[serde(with = "crate::json::amount")]
        #[schema(value_type = String, pattern = "^[0-9]+$")]
        amount: Amount,
        /// The finance bureau.
        by: Did,
    },
    /// Appropriates more into a project's escrow, from the finance bureau `by`.
    Appropriate {
        /// The project.
        project: u64,
        /// How much.
        #[serde(with = "crate::json::amount")]
        #[schema(value_type = String, pattern = "^[0-9]+$")]
        amount: Amount,
        /// The finance bureau.
        by: Did,
    },
    /// Awards a contract, by the project's owner `by`; its amount is its milestones' sum and
    /// must fit in what no contract commits yet.
    AwardContract {
        /// The project.
        project: u64,
        /// The contractor (an organization).
        contractor: Did,
        /// Its title.
        title: String,
        /// Its milestones, 1 to 32.
        milestones: Vec<MilestoneSpec>,
        /// The owner department.
        by: Did,
    },
    /// Accepts a contract or subcontract, by its contractor `by`.
    AcceptContract {
        /// The contract.
        contract: u64,
        /// The contractor.
        by: Did,
    },
    /// Subcontracts part of an active contract to `subcontractor`, by its contractor `by`.
    Subcontract {
        /// The contract.
        contract: u64,
        /// The subcontractor (an organization).
        subcontractor: Did,
        /// What it takes on.
        title: String,
        /// The part of the contract it takes on.
        #[serde(with = "crate::json::amount")]
        #[schema(value_type = String, pattern = "^[0-9]+$")]
        amount: Amount,
        /// The contractor.
        by: Did,
    },
    /// Reports a milestone done, by the contractor `by`.
    ReportMilestone {
        /// The contract.
        contract: u64,
        /// The milestone's index.
        milestone: u16,
        /// What was done (a description, or the hash of the evidence).
        report: String,
        /// The contractor.
        by: Did,
    },
    /// Approves or rejects a reported milestone, by the project's supervisor or auditor `by`.
    /// The last approval it needs releases its amount.
    ReviewMilestone {
        /// The contract.
        contract: u64,
        /// The milestone's index.
        milestone: u16,
        /// Approve (true) or reject.
        approve: bool,
        /// Why (required to reject).
        #[serde(default)]
        reason: String,
        /// The supervisor or the auditor.
        by: Did,
    },
    /// Pays out of a released milestone, by the contractor `by`: to itself, or to one of its
    /// subcontractors.
    PayShare {
        /// The contract.
        contract: u64,
        /// The released milestone.
        milestone: u16,
        /// The subcontract paid (absent: the contractor itself).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subcontract: Option<u64>,
        /// How much.
        #[serde(with = "crate::json::amount")]
        #[schema(value_type = String, pattern = "^[0-9]+$")]
        amount: Amount,
        /// The contractor.
        by: Did,
    },
    /// Files a payroll against a released milestone of the parent contract, by the
    /// subcontractor `by`: workers' accounts and wages, at most 250 lines.
    FilePayroll {
        /// The subcontract.
        subcontract: u64,
        /// The parent contract's released milestone.
        milestone: u16,
        /// The workers and their wages.
        lines: Vec<PayrollLine>,
        /// The subcontractor.
        by: Did,
    },
    /// Approves a filed payroll, by the parent contract's contractor `by`: each worker's
    /// account is credited from the escrow.
    ApprovePayroll {
        /// The payroll.
        payroll: u64,
        /// The contractor.
        by: Did,
    },
    /// Rejects a filed payroll, by the parent contract's contractor `by`.
    RejectPayroll {
        /// The payroll.
        payroll: u64,
        /// Why.
        reason: String,
        /// The contractor.
        by: Did,
    },
    /// Terminates a contract, by the project's owner `by` (a subcontract: by its parent's
    /// contractor); what it did not release returns to the project.
    TerminateContract {
        /// The contract.
        contract: u64,
        /// Why.
        reason: String,
        /// The owner (or contractor).
        by: Did,
    },
}

impl crate::ModuleInstruction for FundInstruction {
    const MODULE: &'static str = "funds";
    const NAMES: &'static [&'static str] = &[
        "open_project",
        "appropriate",
        "award_contract",
        "accept_contract",
        "subcontract",
        "report_milestone",
        "review_milestone",
        "pay_share",
        "file_payroll",
        "approve_payroll",
        "reject_payroll",
        "terminate_contract",
    ];

    fn tag(&self) -> u8 {
        match self {
            FundInstruction::OpenProject { .. } => 0,
            FundInstruction::Appropriate { .. } => 1,
            FundInstruction::AwardContract { .. } => 2,
            FundInstruction::AcceptContract { .. } => 3,
            FundInstruction::Subcontract { .. } => 4,
            FundInstruction::ReportMilestone { .. } => 5,
            FundInstruction::ReviewMilestone { .. } => 6,
            FundInstruction::PayShare { .. } => 7,
            FundInstruction::FilePayroll { .. } => 8,
            FundInstruction::ApprovePayroll { .. } => 9,
            FundInstruction::RejectPayroll { .. } => 10,
            FundInstruction::TerminateContract { .. } => 11,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        let amount = |out: &mut Vec<u8>, a: &Amount| out.extend_from_slice(&a.to_be_bytes());
        let number = |out: &mut Vec<u8>, n: &u64| out.extend_from_slice(&n.to_be_bytes());
        match self {
            FundInstruction::OpenProject { title, purpose, owner, supervisor, auditor, amount: a, by } => {
                put_bytes(out, title.as_bytes());
                put_bytes(out, purpose.as_bytes());
                owner.encode_to(out);
                supervisor.encode_to(out);
                put_opt_did(out, auditor);
                amount(out, a);
                by.encode_to(out);
            }
            FundInstruction::Appropriate { project, amount: a, by } => {
                number(out, project);
                amount(out, a);
                by.encode_to(out);
            }
            FundInstruction::AwardContract { project, contractor, title, milestones, by } => {
                number(out, project);
                contractor.encode_to(out);
                put_bytes(out, title.as_bytes());
                put_seq(out, milestones);
                by.encode_to(out);
            }
            FundInstruction::AcceptContract { contract, by }
            | FundInstruction::ApprovePayroll { payroll: contract, by } => {
                number(out, contract);
                by.encode_to(out);
            }
            FundInstruction::Subcontract { contract, subcontractor, title, amount: a, by } => {
                number(out, contract);
                subcontractor.encode_to(out);
                put_bytes(out, title.as_bytes());
                amount(out, a);
                by.encode_to(out);
            }
            FundInstruction::ReportMilestone { contract, milestone, report, by } => {
                number(out, contract);
                out.extend_from_slice(&milestone.to_be_bytes());
                put_bytes(out, report.as_bytes());
                by.encode_to(out);
            }
            FundInstruction::ReviewMilestone { contract, milestone, approve, reason, by } => {
                number(out, contract);
                out.extend_from_slice(&milestone.to_be_bytes());
                out.push(u8::from(*approve));
                put_bytes(out, reason.as_bytes());
                by.encode_to(out);
            }
            FundInstruction::PayShare { contract, milestone, subcontract, amount: a, by } => {
                number(out, contract);
                out.extend_from_slice(&milestone.to_be_bytes());
                put_opt_u64(out, *subcontract);
                amount(out, a);
                by.encode_to(out);
            }
            FundInstruction::FilePayroll { subcontract, milestone, lines, by } => {
                number(out, subcontract);
                out.extend_from_slice(&milestone.to_be_bytes());
                put_seq(out, lines);
                by.encode_to(out);
            }
            FundInstruction::RejectPayroll { payroll: id, reason, by }
            | FundInstruction::TerminateContract { contract: id, reason, by } => {
                number(out, id);
                put_bytes(out, reason.as_bytes());
                by.encode_to(out);
            }
        }
    }

    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match tag {
            0 => FundInstruction::OpenProject {
                title: r.string(TITLE_BYTES_MAX, "title")?,
                purpose: r.string(TEXT_BYTES_MAX, "purpose")?,
                owner: Did::decode_from(r)?,
                supervisor: Did::decode_from(r)?,
                auditor: opt_did(r, "auditor")?,
                amount: r.u128("amount")?,
                by: Did::decode_from(r)?,
            },
            1 => FundInstruction::Appropriate {
                project: r.u64("project")?,
                amount: r.u128("amount")?,
                by: Did::decode_from(r)?,
            },
            2 => FundInstruction::AwardContract {
                project: r.u64("project")?,
                contractor: Did::decode_from(r)?,
                title: r.string(TITLE_BYTES_MAX, "title")?,
                milestones: r.seq(MILESTONES_MAX, "milestones", MilestoneSpec::decode_from)?,
                by: Did::decode_from(r)?,
            },
            3 => FundInstruction::AcceptContract { contract: r.u64("contract")?, by: Did::decode_from(r)? },
            4 => FundInstruction::Subcontract {
                contract: r.u64("contract")?,
                subcontractor: Did::decode_from(r)?,
                title: r.string(TITLE_BYTES_MAX, "title")?,
                amount: r.u128("amount")?,
                by: Did::decode_from(r)?,
            },
            5 => FundInstruction::ReportMilestone {
                contract: r.u64("contract")?,
                milestone: r.u16("milestone")?,
                report: r.string(TEXT_BYTES_MAX, "report")?,
                by: Did::decode_from(r)?,
            },
            6 => FundInstruction::ReviewMilestone {
                contract: r.u64("contract")?,
                milestone: r.u16("milestone")?,
                approve: r.bool("approve")?,
                reason: r.string(TEXT_BYTES_MAX, "reason")?,
                by: Did::decode_from(r)?,
            },
            7 => FundInstruction::PayShare {
                contract: r.u64("contract")?,
                milestone: r.u16("milestone")?,
                subcontract: opt_u64(r, "subcontract")?,
                amount: r.u128("amount")?,
                by: Did::decode_from(r)?,
            },
            8 => FundInstruction::FilePayroll {
                subcontract: r.u64("subcontract")?,
                milestone: r.u16("milestone")?,
                lines: r.seq(PAYROLL_LINES_MAX, "payroll lines", PayrollLine::decode_from)?,
                by: Did::decode_from(r)?,
            },
            9 => FundInstruction::ApprovePayroll { payroll: r.u64("payroll")?, by: Did::decode_from(r)? },
            10 => FundInstruction::RejectPayroll {
                payroll: r.u64("payroll")?,
                reason: r.string(TEXT_BYTES_MAX, "reason")?,
                by: Did::decode_from(r)?,
            },
            11 => FundInstruction::TerminateContract {
                contract: r.u64("contract")?,
                reason: r.string(TEXT_BYTES_MAX, "reason")?,
                by: Did::decode_from(r)?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "funds instruction", tag }),
        })
    }
}

#[cfg(test)]
use proptest::prelude::*;

#[cfg(test)]
impl FundInstruction {
    /// Any instruction of this module, for property tests.
    pub(crate) fn arbitrary() -> BoxedStrategy<FundInstruction> {
        let did = || any::<[u8; 32]>().prop_map(|k| Did::from_initial_key(&crate::PublicKey(k)));
        let text = || "[a-z ]{1,24}";
        let milestone = (text(), text(), any::<u128>(), any::<u64>())
            .prop_map(|(title, deliverable, amount, due)| MilestoneSpec { title, deliverable, amount, due });
        let line = (did(), any::<u128>()).prop_map(|(worker, amount)| PayrollLine { worker, amount });
        prop_oneof![
            (text(), text(), did(), did(), proptest::option::of(did()), any::<u128>(), did()).prop_map(
                |(title, purpose, owner, supervisor, auditor, amount, by)| FundInstruction::OpenProject {
                    title,
                    purpose,
                    owner,
                    supervisor,
                    auditor,
                    amount,
                    by
                }
            ),
            (any::<u64>(), any::<u128>(), did()).prop_map(|(project, amount, by)| FundInstruction::Appropriate {
                project,
                amount,
                by
            }),
            (any::<u64>(), did(), text(), prop::collection::vec(milestone, 0..4), did()).prop_map(
                |(project, contractor, title, milestones, by)| FundInstruction::AwardContract {
                    project,
                    contractor,
                    title,
                    milestones,
                    by
                }
            ),
            (any::<u64>(), did()).prop_map(|(contract, by)| FundInstruction::AcceptContract { contract, by }),
            (any::<u64>(), did(), text(), any::<u128>(), did()).prop_map(
                |(contract, subcontractor, title, amount, by)| FundInstruction::Subcontract {
                    contract,
                    subcontractor,
                    title,
                    amount,
                    by
                }
            ),
            (any::<u64>(), any::<u16>(), text(), did()).prop_map(|(contract, milestone, report, by)| {
                FundInstruction::ReportMilestone { contract, milestone, report, by }
            }),
            (any::<u64>(), any::<u16>(), any::<bool>(), text(), did()).prop_map(
                |(contract, milestone, approve, reason, by)| FundInstruction::ReviewMilestone {
                    contract,
                    milestone,
                    approve,
                    reason,
                    by
                }
            ),
            (any::<u64>(), any::<u16>(), proptest::option::of(any::<u64>()), any::<u128>(), did()).prop_map(
                |(contract, milestone, subcontract, amount, by)| FundInstruction::PayShare {
                    contract,
                    milestone,
                    subcontract,
                    amount,
                    by
                }
            ),
            (any::<u64>(), any::<u16>(), prop::collection::vec(line, 0..4), did()).prop_map(
                |(subcontract, milestone, lines, by)| FundInstruction::FilePayroll {
                    subcontract,
                    milestone,
                    lines,
                    by
                }
            ),
            (any::<u64>(), did()).prop_map(|(payroll, by)| FundInstruction::ApprovePayroll { payroll, by }),
            (any::<u64>(), text(), did()).prop_map(|(payroll, reason, by)| FundInstruction::RejectPayroll {
                payroll,
                reason,
                by
            }),
            (any::<u64>(), text(), did()).prop_map(|(contract, reason, by)| FundInstruction::TerminateContract {
                contract,
                reason,
                by
            }),
        ]
        .boxed()
    }
}
