//! Project funds: a project, contract or payroll record (or its absence), and a page of one of
//! the module's lists (a worker's wages, a contract's payments, a project's contracts…) whose
//! count proves where it ends.

use civitas_types::codec::Decode;
use civitas_types::fund::{
    Contract, FundEntry, FundList, LIST_PAGE_MAX, Payee, Payroll, Project, contract_key, payroll_key, project_key,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Describe, Evidence};
use crate::light::ProofError;
use crate::wire::StateItemJson;

/// One record of project funds (`project/N`, `contract/N` or `payroll/N`) in the state after
/// the block, or its absence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FundRecordClaim {
    /// Which record.
    pub record: String,
    /// Its state item.
    pub item: StateItemJson,
}

/// A funds record, as proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FundRecord {
    /// A project.
    Project(Project),
    /// A contract or subcontract.
    Contract(Contract),
    /// A payroll.
    Payroll(Payroll),
}

/// The record named is this one, or there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundRecordFact {
    /// Which record.
    pub record: String,
    /// It, or `None`: proven absent.
    pub value: Option<FundRecord>,
}

/// The state key of `record` (`project/N`, `contract/N`, `payroll/N`).
pub fn record_key(record: &str) -> Result<Vec<u8>, String> {
    let (kind, id) = record.split_once('/').ok_or_else(|| format!("not a record: {record}"))?;
    let id: u64 = id.parse().map_err(|_| format!("not a number: {id}"))?;
    match kind {
        "project" => Ok(project_key(id)),
        "contract" => Ok(contract_key(id)),
        "payroll" => Ok(payroll_key(id)),
        _ => Err(format!("unknown record kind {kind:?} (project, contract, payroll)")),
    }
}

impl Claim for FundRecordClaim {
    type Fact = FundRecordFact;

    fn check(&self, at: &Evidence<'_>) -> Result<FundRecordFact, ProofError> {
        let key = record_key(&self.record).map_err(|e| ProofError::Field("record", e))?;
        let value = at.item("item", &self.item, &key, || self.record.clone())?;
        let bad = |e: civitas_types::codec::DecodeError| ProofError::Field("item", e.to_string());
        let value = match value {
            None => None,
            Some(b) => Some(match self.record.split_once('/').map(|(k, _)| k) {
                Some("project") => FundRecord::Project(Project::decode(&b).map_err(bad)?),
                Some("contract") => FundRecord::Contract(Contract::decode(&b).map_err(bad)?),
                _ => FundRecord::Payroll(Payroll::decode(&b).map_err(bad)?),
            }),
        };
        Ok(FundRecordFact { record: self.record.clone(), value })
    }
}

impl Describe for FundRecordFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let record = &self.record;
        match &self.value {
            None => (
                serde_json::json!({ "kind": "fund_record", "record": record, "exists": false }),
                format!("there is no {}", record.replace('/', " ")),
            ),
            Some(FundRecord::Project(p)) => (
                serde_json::json!({ "kind": "fund_record", "record": record, "exists": true, "project": p,
                    "escrow": p.escrow().to_string() }),
                format!(
                    "project {} \"{}\" of {}: appropriated {}, contracted {}, released {}, paid {}, escrow holds {}",
                    p.id,
                    p.title,
                    p.owner,
                    p.appropriated,
                    p.contracted,
                    p.released,
                    p.paid,
                    p.escrow()
                ),
            ),
            Some(FundRecord::Contract(c)) => {
                let approved = c.milestones.iter().filter(|m| m.status.name() == "approved").count();
                let what = if c.parent.is_some() { "subcontract" } else { "contract" };
                (
                    serde_json::json!({ "kind": "fund_record", "record": record, "exists": true, "contract": c }),
                    format!(
                        "{what} {} of project {} to {} is {}: amount {}, released {}, paid {}; {approved} of {} \
                         milestones approved",
                        c.id,
                        c.project,
                        c.contractor,
                        c.status.name(),
                        c.amount,
                        c.released,
                        c.paid,
                        c.milestones.len()
                    ),
                )
            }
            Some(FundRecord::Payroll(r)) => (
                serde_json::json!({ "kind": "fund_record", "record": record, "exists": true, "payroll": r }),
                format!(
                    "payroll {} of subcontract {} ({} workers, {} in all) is {}",
                    r.id,
                    r.subcontract,
                    r.lines.len(),
                    r.total,
                    r.status.name()
                ),
            ),
        }
    }
}

/// A page of one of the funds module's lists: its length and the entries from `from` on, each
/// proven; the count proves where the list ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FundListClaim {
    /// The list (`projects`, `contracts/0`, `payments/3`, `wages/did:civitas:…`).
    pub list: String,
    /// The first entry's position.
    pub from: u64,
    /// The list's length (absent: empty).
    pub count: StateItemJson,
    /// Its entries from `from` on, in order.
    pub entries: Vec<StateItemJson>,
}

/// The list has `total` entries, and these are the ones from `from` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundListFact {
    /// The list.
    pub list: FundList,
    /// Its length.
    pub total: u64,
    /// The first entry's position.
    pub from: u64,
    /// The entries.
    pub entries: Vec<FundEntry>,
}

impl Claim for FundListClaim {
    type Fact = FundListFact;

    fn check(&self, at: &Evidence<'_>) -> Result<FundListFact, ProofError> {
        let list = FundList::parse(&self.list).map_err(|e| ProofError::Field("list", e))?;
        let (total, values) =
            at.list(&self.list, (&self.count, list.count_key()), &self.entries, (self.from, LIST_PAGE_MAX), |p| {
                list.entry_key(p)
            })?;
        let entries = values
            .iter()
            .map(|v| list.decode_entry(v).map_err(|e| ProofError::Field("entries", e.to_string())))
            .collect::<Result<_, _>>()?;
        Ok(FundListFact { list, total, from: self.from, entries })
    }
}

fn entry_text(e: &FundEntry) -> String {
    match e {
        FundEntry::Number { id } => id.to_string(),
        FundEntry::Appropriation(a) => format!("{} from {}", a.amount, a.from),
        FundEntry::Payment(p) => {
            let to = match &p.payee {
                Payee::Contractor { account } => format!("contractor {account}"),
                Payee::Subcontractor { subcontract, account } => format!("subcontractor {account} ({subcontract})"),
                Payee::Payroll { payroll, workers, .. } => format!("payroll {payroll} ({workers} workers)"),
            };
            format!("{} to {to} from milestone {}", p.amount, p.milestone)
        }
        FundEntry::Wage(w) => format!(
            "{} from payroll {} of project {} (employer {}) at {}",
            w.amount,
            w.payroll,
            w.project,
            w.employer,
            crate::did::datetime(w.at * 1000)
        ),
    }
}

impl Describe for FundListFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let name = self.list.to_string();
        let shown: Vec<String> = self.entries.iter().map(entry_text).collect();
        let sentence = if self.entries.is_empty() {
            format!("list {name} has {} entries", self.total)
        } else {
            format!("list {name} has {} entries; from position {}: {}", self.total, self.from, shown.join("; "))
        };
        (
            serde_json::json!({ "kind": "fund_list", "list": name, "total": self.total, "from": self.from,
                "entries": self.entries }),
            sentence,
        )
    }
}
