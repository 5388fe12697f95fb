//! Project funds, read side: a project with where its money stands, a contract with its
//! overdue milestones, a payroll, pages of the module's lists (appropriations, contracts,
//! subcontracts, payments, payrolls, a worker's wages), their proofs and the OCDS export.

use civitas_types::Amount;
use civitas_types::fund::{Contract, FundEntry, FundList, Payroll, Project};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Client, ClientError, wire};

/// A project and where its money stands at the block read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProjectJson {
    /// The project as stored.
    pub project: Project,
    /// What its escrow holds: appropriated less paid.
    #[serde(with = "civitas_types::json::amount")]
    #[schema(value_type = String)]
    pub escrow: Amount,
    /// What no contract commits: appropriated less contracted.
    #[serde(with = "civitas_types::json::amount")]
    #[schema(value_type = String)]
    pub uncommitted: Amount,
    /// Released but not paid yet.
    #[serde(with = "civitas_types::json::amount")]
    #[schema(value_type = String)]
    pub unpaid_releases: Amount,
    /// How many contracts it has (top-level).
    pub contracts: u64,
}

impl ProjectJson {
    /// The view of `project` with `contracts` contracts.
    pub fn new(project: Project, contracts: u64) -> ProjectJson {
        ProjectJson {
            escrow: project.escrow(),
            uncommitted: project.uncommitted(),
            unpaid_releases: project.released - project.paid,
            contracts,
            project,
        }
    }
}

/// A contract (or subcontract), with the milestones overdue at the block's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContractJson {
    /// The contract as stored.
    pub contract: Contract,
    /// The indexes of its milestones past their deadline unapproved, or approved late.
    pub overdue: Vec<u16>,
    /// The block time they were judged at (unix seconds).
    pub at: u64,
}

impl ContractJson {
    /// The view of `contract` at `at` (unix seconds).
    pub fn new(contract: Contract, at: u64) -> ContractJson {
        let overdue = (0u16..)
            .zip(&contract.milestones)
            .filter(|(_, m)| contract.status != civitas_types::fund::ContractStatus::Terminated && m.overdue(at))
            .map(|(i, _)| i)
            .collect();
        ContractJson { contract, overdue, at }
    }
}

/// A payroll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PayrollJson {
    /// The payroll as stored.
    pub payroll: Payroll,
}

/// A page of one of the funds module's lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FundListJson {
    /// The list (`projects`, `contracts/0`, `wages/did:civitas:…`).
    pub list: String,
    /// Its length.
    pub total: u64,
    /// The first entry's position.
    pub from: u64,
    /// The entries.
    pub entries: Vec<FundEntry>,
    /// The position of the next page, if the list goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// The route of `list`.
pub fn list_path(list: &FundList) -> String {
    match list {
        FundList::Projects => "/v1/funds/projects".into(),
        FundList::Appropriations(p) => format!("/v1/funds/projects/{p}/appropriations"),
        FundList::Contracts(p) => format!("/v1/funds/projects/{p}/contracts"),
        FundList::Subcontracts(c) => format!("/v1/funds/contracts/{c}/subcontracts"),
        FundList::Payments(c) => format!("/v1/funds/contracts/{c}/payments"),
        FundList::Payrolls(c) => format!("/v1/funds/contracts/{c}/payrolls"),
        FundList::Wages(w) => format!("/v1/funds/wages/{w}"),
    }
}

impl Client {
    /// Project `id`.
    pub fn fund_project(&self, id: u64) -> Result<Option<ProjectJson>, ClientError> {
        self.get(&format!("/v1/funds/projects/{id}"))
    }

    /// Contract (or subcontract) `id`.
    pub fn fund_contract(&self, id: u64) -> Result<Option<ContractJson>, ClientError> {
        self.get(&format!("/v1/funds/contracts/{id}"))
    }

    /// Payroll `id`.
    pub fn fund_payroll(&self, id: u64) -> Result<Option<PayrollJson>, ClientError> {
        self.get(&format!("/v1/funds/payrolls/{id}"))
    }

    /// A proof of a project, contract or payroll record (`project/3`, `contract/5`, `payroll/0`).
    pub fn prove_fund_record(&self, record: &str) -> Result<wire::ProofJson, ClientError> {
        let (kind, id) = record.split_once('/').unwrap_or((record, ""));
        self.proof(&format!("/v1/funds/{kind}s/{id}?prove=true"))
    }

    /// A page of `list` from position `from`.
    pub fn fund_list(&self, list: &FundList, from: u64, limit: u64) -> Result<Option<FundListJson>, ClientError> {
        self.get(&format!("{}?from={from}&limit={limit}", list_path(list)))
    }

    /// A proof of a page of `list` from position `from`.
    pub fn prove_fund_list(&self, list: &FundList, from: u64, limit: u64) -> Result<wire::ProofJson, ClientError> {
        self.proof(&format!("{}?from={from}&limit={limit}&prove=true", list_path(list)))
    }

    /// Project `id` as an OCDS 1.1 release package.
    pub fn fund_ocds(&self, id: u64) -> Result<Option<serde_json::Value>, ClientError> {
        self.get(&format!("/v1/funds/projects/{id}/ocds"))
    }
}
