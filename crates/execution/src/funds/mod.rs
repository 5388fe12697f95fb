//! Public project funds (`docs/funds.md`): the finance bureau appropriates into a project's
//! escrow, which the chain holds; the owner department awards contracts with milestones; a
//! contractor may subcontract part of its contract; the supervisor (and the auditor, where the
//! project has one) approves a reported milestone, which releases its amount; released money
//! goes straight to the payees: the contractor's and subcontractors' shares, and payrolls a
//! subcontractor files and the contractor approves, each line into a worker's account.
//!
//! Money is conserved: every amount leaves one account or escrow and enters another, and
//! [`ESCROW_TOTAL_KEY`] holds the sum of all escrows, so the supply is always the accounts'
//! balances plus it. A project pays only what approved milestones released, each release at
//! most once in all (its `paid` never passes its amount), and a termination returns to the
//! project all that the contract has not paid.
//!
//! Every instruction is an official act of the organization it names (`by`) and goes to the
//! audit trail; each handler checks who may act next to its effect.

mod error;
pub use error::Error;

/// Who may perform each of this module's instructions (rendered into `docs/permissions.md`;
/// the permission test runs each under every kind of actor).
pub(crate) const PERMISSIONS: &[Rule] = &[
    Rule { instruction: "open_project", target: "a new project, funded from the bureau", allowed: &[Actor::Finance] },
    Rule { instruction: "appropriate", target: "a project's escrow", allowed: &[Actor::Finance] },
    Rule {
        instruction: "award_contract",
        target: "a contract of the project",
        allowed: &[Actor::ProjectOwnerOfficial],
    },
    Rule {
        instruction: "accept_contract",
        target: "a contract or subcontract offered to the organization",
        allowed: &[Actor::ContractorOfficial],
    },
    Rule { instruction: "subcontract", target: "part of an active contract", allowed: &[Actor::ContractorOfficial] },
    Rule {
        instruction: "report_milestone",
        target: "a milestone of the contract",
        allowed: &[Actor::ContractorOfficial],
    },
    Rule {
        instruction: "review_milestone",
        target: "a reported milestone of the project",
        allowed: &[Actor::SupervisorOfficial, Actor::AuditorOfficial],
    },
    Rule { instruction: "pay_share", target: "a released milestone's money", allowed: &[Actor::ContractorOfficial] },
    Rule {
        instruction: "file_payroll",
        target: "wages under the subcontract, against a released milestone",
        allowed: &[Actor::SubcontractorOfficial],
    },
    Rule {
        instruction: "approve_payroll",
        target: "a payroll under the contract",
        allowed: &[Actor::ContractorOfficial],
    },
    Rule {
        instruction: "reject_payroll",
        target: "a payroll under the contract",
        allowed: &[Actor::ContractorOfficial],
    },
    Rule {
        instruction: "terminate_contract",
        target: "a contract of the project (a subcontract: its contractor)",
        allowed: &[Actor::ProjectOwnerOfficial],
    },
];

pub mod query;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use civitas_state::{StateRead, TxState};
use civitas_types::codec::Encode;
use civitas_types::fund::{
    Appropriation, Contract, ContractStatus, ESCROW_TOTAL_KEY, FundList, MILESTONES_MAX, Milestone, MilestoneSpec,
    MilestoneStatus, PAYROLL_LINES_MAX, Payee, Payment, Payroll, PayrollLine, PayrollStatus, Project, TEXT_BYTES_MAX,
    TITLE_BYTES_MAX, Wage, contract_key, payroll_key, project_key,
};
use civitas_types::org::OrgKind;
use civitas_types::{Amount, Did, FundInstruction, Role, text_ok};

use crate::counters;
use crate::permissions::{Actor, Rule};
use crate::{Context, ExecError, OfficialAct, Outcome, accounts, audited, orgs};

/// Most subcontracts one contract has (termination ends them all in one transaction).
pub const SUBCONTRACTS_MAX: u64 = 64;

const NEXT_PROJECT_KEY: &[u8] = b"fund/n/project";
const NEXT_CONTRACT_KEY: &[u8] = b"fund/n/contract";
const NEXT_PAYROLL_KEY: &[u8] = b"fund/n/payroll";

fn now(cx: &Context<'_>) -> u64 {
    cx.block.timestamp_ms / 1000
}

fn text(t: &str, max: usize, what: &'static str) -> Outcome {
    if text_ok(t, max) { Ok(()) } else { Err(ExecError::BadField(what).into()) }
}

fn put_project(state: &mut TxState<'_, '_>, p: &Project) {
    state.put(project_key(p.id), p.encode());
}

fn put_contract(state: &mut TxState<'_, '_>, c: &Contract) {
    state.put(contract_key(c.id), c.encode());
}

fn project(state: &impl StateRead, id: u64) -> Outcome<Project> {
    Ok(query::project(state, id)?.ok_or(Error::UnknownProject(id))?)
}

fn contract(state: &impl StateRead, id: u64) -> Outcome<Contract> {
    Ok(query::contract(state, id)?.ok_or(Error::UnknownContract(id))?)
}

/// Appends a record (or a number) to `list`.
fn append(state: &mut TxState<'_, '_>, list: FundList, value: Vec<u8>) -> Outcome {
    let position = counters::next(state, &list.count_key())?;
    state.put(list.entry_key(position), value);
    Ok(())
}

fn add(a: Amount, b: Amount) -> Outcome<Amount> {
    Ok(a.checked_add(b).ok_or(accounts::Error::Overflow)?)
}

/// Moves the escrow total by `delta` in (`true`) or out.
fn escrow_total(state: &mut TxState<'_, '_>, amount: Amount, into: bool) -> Outcome {
    let total = query::escrow_total(state)?;
    let next = if into { add(total, amount)? } else { total.checked_sub(amount).ok_or(accounts::Error::Overflow)? };
    state.put(ESCROW_TOTAL_KEY.to_vec(), next.to_be_bytes().to_vec());
    Ok(())
}

/// The signer is an official of `by`, which is the organization `expected` names.
fn party(
    state: &impl StateRead,
    cx: &Context<'_>,
    by: &Did,
    org: &Did,
    expected: &'static str,
) -> Outcome<OfficialAct> {
    if by != org {
        return Err(Error::WrongParty { expected, org: *org }.into());
    }
    Ok(orgs::official(state, cx, by)?.0)
}

/// The signer is an official of `by`, a finance bureau (an organization whose account holds the
/// finance role).
fn finance(state: &impl StateRead, cx: &Context<'_>, by: &Did) -> Outcome<OfficialAct> {
    let (act, _) = orgs::official(state, cx, by)?;
    let holds = accounts::query::account(state, by)?.is_some_and(|a| a.roles.contains(&Role::Finance));
    if !holds {
        return Err(Error::NotFinance(*by).into());
    }
    Ok(act)
}

/// `did` is an organization (of `kind`, if given), for the role `what`.
fn organization(state: &impl StateRead, did: &Did, kind: Option<OrgKind>, what: &'static str) -> Outcome {
    let fits = orgs::query::organization(state, did)?.is_some_and(|o| kind.is_none_or(|k| o.kind == k));
    if fits {
        Ok(())
    } else {
        let needs = if kind.is_some() { "a department" } else { "an organization" };
        Err(Error::WrongKind { did: *did, what, needs }.into())
    }
}

fn positive(amount: Amount) -> Outcome {
    if amount == 0 { Err(Error::ZeroAmount.into()) } else { Ok(()) }
}

fn fits(level: &'static str, available: Amount, asked: Amount) -> Outcome {
    if asked > available { Err(Error::Overspend { level, available, asked }.into()) } else { Ok(()) }
}

/// Takes `amount` from the finance bureau `from` into project `p`'s escrow, and records it.
fn fund(state: &mut TxState<'_, '_>, cx: &Context<'_>, p: &mut Project, from: &Did, amount: Amount) -> Outcome {
    positive(amount)?;
    let balance = accounts::query::account(state, from)?.map_or(0, |a| a.balance);
    if balance < amount {
        return Err(Error::InsufficientFunds { balance, amount }.into());
    }
    p.appropriated = add(p.appropriated, amount)?;
    accounts::debit(state, from, amount)?;
    escrow_total(state, amount, true)?;
    let record = Appropriation { amount, from: *from, at: now(cx), height: cx.block.height };
    append(state, FundList::Appropriations(p.id), record.encode())
}

/// `open_project`: opens a project and appropriates its first budget.
/// Permission: an official of `by`, whose account holds the finance role.
#[allow(clippy::too_many_arguments)]
fn open_project(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    title: &str,
    purpose: &str,
    owner: &Did,
    supervisor: &Did,
    auditor: Option<&Did>,
    amount: Amount,
    by: &Did,
) -> Outcome<OfficialAct> {
    let act = finance(state, cx, by)?;
    text(title, TITLE_BYTES_MAX, "title (1-160 bytes, no control characters)")?;
    text(purpose, TEXT_BYTES_MAX, "purpose (1-1000 bytes, no control characters)")?;
    organization(state, owner, Some(OrgKind::Department), "the owner")?;
    organization(state, supervisor, None, "the supervisor")?;
    if supervisor == owner {
        return Err(Error::ConflictOfInterest("the supervisor must not be the owner").into());
    }
    if let Some(a) = auditor {
        organization(state, a, None, "the auditor")?;
        if a == owner || a == supervisor {
            return Err(Error::ConflictOfInterest("the auditor must be neither the owner nor the supervisor").into());
        }
    }
    let id = counters::next(state, NEXT_PROJECT_KEY)?;
    let mut p = Project {
        id,
        title: title.to_owned(),
        purpose: purpose.to_owned(),
        owner: *owner,
        supervisor: *supervisor,
        auditor: auditor.copied(),
        finance: *by,
        appropriated: 0,
        contracted: 0,
        released: 0,
        paid: 0,
        opened_ms: cx.block.timestamp_ms,
        height: cx.block.height,
    };
    fund(state, cx, &mut p, by, amount)?;
    put_project(state, &p);
    append(state, FundList::Projects, id.to_be_bytes().to_vec())?;
    Ok(act)
}

/// `appropriate`: more budget into a project's escrow.
/// Permission: an official of `by`, whose account holds the finance role.
fn appropriate(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    id: u64,
    amount: Amount,
    by: &Did,
) -> Outcome<OfficialAct> {
    let act = finance(state, cx, by)?;
    let mut p = project(state, id)?;
    fund(state, cx, &mut p, by, amount)?;
    put_project(state, &p);
    Ok(act)
}

/// Whether `did` holds one of the project's oversight roles or owns it.
fn conflicts(p: &Project, did: &Did) -> bool {
    *did == p.owner || *did == p.supervisor || p.auditor.as_ref() == Some(did)
}

/// `award_contract`: a contract of the project, for the sum of its milestones.
/// Permission: an official of the project's owner.
fn award(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    id: u64,
    contractor: &Did,
    title: &str,
    specs: &[MilestoneSpec],
    by: &Did,
) -> Outcome<OfficialAct> {
    let mut p = project(state, id)?;
    let act = party(state, cx, by, &p.owner, "the project's owner")?;
    organization(state, contractor, None, "the contractor")?;
    if conflicts(&p, contractor) {
        return Err(Error::ConflictOfInterest("the contractor must not own, supervise or audit the project").into());
    }
    text(title, TITLE_BYTES_MAX, "title (1-160 bytes, no control characters)")?;
    if specs.is_empty() || specs.len() > MILESTONES_MAX {
        return Err(ExecError::BadField("milestones (1 to 32)").into());
    }
    let mut amount: Amount = 0;
    let mut milestones = Vec::with_capacity(specs.len());
    for (i, s) in specs.iter().enumerate() {
        text(&s.title, TITLE_BYTES_MAX, "milestone title (1-160 bytes, no control characters)")?;
        text(&s.deliverable, TEXT_BYTES_MAX, "deliverable (1-1000 bytes, no control characters)")?;
        positive(s.amount)?;
        if s.due <= now(cx) {
            return Err(Error::DeadlinePassed(i as u16).into());
        }
        amount = add(amount, s.amount)?;
        milestones.push(Milestone {
            title: s.title.clone(),
            deliverable: s.deliverable.clone(),
            amount: s.amount,
            due: s.due,
            status: MilestoneStatus::Pending,
            report: String::new(),
            reported_at: None,
            supervisor_approved: false,
            auditor_approved: false,
            reason: String::new(),
            approved_at: None,
            paid: 0,
        });
    }
    fits("project's uncommitted budget", p.uncommitted(), amount)?;
    let c = Contract {
        id: counters::next(state, NEXT_CONTRACT_KEY)?,
        project: id,
        parent: None,
        contractor: *contractor,
        awarded_by: *by,
        title: title.to_owned(),
        amount,
        status: ContractStatus::Offered,
        milestones,
        subcontracted: 0,
        released: 0,
        paid: 0,
        reason: String::new(),
        awarded_at: now(cx),
        accepted_at: None,
        ended_at: None,
    };
    p.contracted += amount;
    put_project(state, &p);
    put_contract(state, &c);
    append(state, FundList::Contracts(id), c.id.to_be_bytes().to_vec())?;
    Ok(act)
}

/// `accept_contract`: the contractor takes on an offered contract or subcontract.
/// Permission: an official of its contractor.
fn accept(state: &mut TxState<'_, '_>, cx: &Context<'_>, id: u64, by: &Did) -> Outcome<OfficialAct> {
    let mut c = contract(state, id)?;
    let act = party(state, cx, by, &c.contractor, "the contractor")?;
    match c.status {
        ContractStatus::Offered => {}
        ContractStatus::Terminated => return Err(Error::Terminated(id).into()),
        status => return Err(Error::ContractState { contract: id, status, needs: "offered" }.into()),
    }
    c.status = ContractStatus::Active;
    c.accepted_at = Some(now(cx));
    put_contract(state, &c);
    Ok(act)
}

/// The contract is active (a terminated or unaccepted one refuses with its own error).
fn active(c: &Contract) -> Outcome {
    match c.status {
        ContractStatus::Active => Ok(()),
        ContractStatus::Terminated => Err(Error::Terminated(c.id).into()),
        status => Err(Error::ContractState { contract: c.id, status, needs: "active" }.into()),
    }
}

/// A top-level contract (milestones, subcontracting and payments are on those).
fn top_level(state: &impl StateRead, id: u64) -> Outcome<Contract> {
    let c = contract(state, id)?;
    if c.parent.is_some() {
        return Err(Error::IsSubcontract(id).into());
    }
    Ok(c)
}

/// `subcontract`: part of an active contract to a subcontractor.
/// Permission: an official of the contract's contractor.
fn subcontract(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    id: u64,
    subcontractor: &Did,
    title: &str,
    amount: Amount,
    by: &Did,
) -> Outcome<OfficialAct> {
    let mut c = top_level(state, id)?;
    let act = party(state, cx, by, &c.contractor, "the contractor")?;
    active(&c)?;
    organization(state, subcontractor, None, "the subcontractor")?;
    let p = project(state, c.project)?;
    if *subcontractor == c.contractor || conflicts(&p, subcontractor) {
        return Err(Error::ConflictOfInterest(
            "the subcontractor must not be the contractor, nor own, supervise or audit the project",
        )
        .into());
    }
    text(title, TITLE_BYTES_MAX, "title (1-160 bytes, no control characters)")?;
    positive(amount)?;
    fits("contract's unsubcontracted part", c.amount - c.subcontracted, amount)?;
    let list = FundList::Subcontracts(id);
    if counters::read_u64(state, &list.count_key())? >= SUBCONTRACTS_MAX {
        return Err(Error::TooManySubcontracts(id).into());
    }
    let s = Contract {
        id: counters::next(state, NEXT_CONTRACT_KEY)?,
        project: c.project,
        parent: Some(id),
        contractor: *subcontractor,
        awarded_by: *by,
        title: title.to_owned(),
        amount,
        status: ContractStatus::Offered,
        milestones: Vec::new(),
        subcontracted: 0,
        released: 0,
        paid: 0,
        reason: String::new(),
        awarded_at: now(cx),
        accepted_at: None,
        ended_at: None,
    };
    c.subcontracted += amount;
    put_contract(state, &c);
    put_contract(state, &s);
    append(state, list, s.id.to_be_bytes().to_vec())?;
    Ok(act)
}

fn milestone_mut(c: &mut Contract, index: u16) -> Outcome<&mut Milestone> {
    let contract = c.id;
    Ok(c.milestones.get_mut(usize::from(index)).ok_or(Error::UnknownMilestone { contract, index })?)
}

/// `report_milestone`: the contractor reports a milestone done.
/// Permission: an official of the contract's contractor.
fn report(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    id: u64,
    index: u16,
    report: &str,
    by: &Did,
) -> Outcome<OfficialAct> {
    let mut c = top_level(state, id)?;
    let act = party(state, cx, by, &c.contractor, "the contractor")?;
    active(&c)?;
    text(report, TEXT_BYTES_MAX, "report (1-1000 bytes, no control characters)")?;
    let m = milestone_mut(&mut c, index)?;
    match m.status {
        MilestoneStatus::Pending | MilestoneStatus::Rejected => {}
        status => return Err(Error::MilestoneState { index, status, needs: "pending or rejected" }.into()),
    }
    m.status = MilestoneStatus::Reported;
    m.report = report.to_owned();
    m.reported_at = Some(now(cx));
    m.supervisor_approved = false;
    m.auditor_approved = false;
    put_contract(state, &c);
    Ok(act)
}

/// `review_milestone`: the supervisor or auditor approves or rejects a reported milestone; the
/// last approval it needs releases its amount.
/// Permission: an official of the project's supervisor or auditor who is no official of the
/// contractor.
fn review(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    id: u64,
    index: u16,
    approve: bool,
    reason: &str,
    by: &Did,
) -> Outcome<OfficialAct> {
    let mut c = top_level(state, id)?;
    let mut p = project(state, c.project)?;
    let as_auditor = if *by == p.supervisor {
        false
    } else if p.auditor.as_ref() == Some(by) {
        true
    } else {
        return Err(Error::WrongParty { expected: "the project's supervisor or auditor", org: p.supervisor }.into());
    };
    let act = orgs::official(state, cx, by)?.0;
    if orgs::query::role(state, &c.contractor, &act.official)?.is_some() {
        return Err(Error::OwnMilestone.into());
    }
    active(&c)?;
    let needs_auditor = p.auditor.is_some();
    let m = milestone_mut(&mut c, index)?;
    if m.status != MilestoneStatus::Reported {
        return Err(Error::MilestoneState { index, status: m.status, needs: "reported" }.into());
    }
    if !approve {
        text(reason, TEXT_BYTES_MAX, "reason (1-1000 bytes, no control characters)")
            .map_err(|_| Error::ReasonRequired)?;
        m.status = MilestoneStatus::Rejected;
        m.reason = reason.to_owned();
        m.supervisor_approved = false;
        m.auditor_approved = false;
        put_contract(state, &c);
        return Ok(act);
    }
    let flag = if as_auditor { &mut m.auditor_approved } else { &mut m.supervisor_approved };
    if *flag {
        return Err(Error::AlreadyReviewed(if as_auditor { "the auditor" } else { "the supervisor" }).into());
    }
    *flag = true;
    if m.supervisor_approved && (m.auditor_approved || !needs_auditor) {
        m.status = MilestoneStatus::Approved;
        m.approved_at = Some(now(cx));
        let amount = m.amount;
        c.released = add(c.released, amount)?;
        p.released = add(p.released, amount)?;
        put_project(state, &p);
    }
    put_contract(state, &c);
    Ok(act)
}

/// Pays `amount` out of milestone `index` of `c` (approved, with that much unpaid) to
/// `account`, and out of the project's escrow; records the payment.
fn pay_out(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    c: &mut Contract,
    index: u16,
    payee: Payee,
    amount: Amount,
) -> Outcome {
    let m = milestone_mut(c, index)?;
    if m.status != MilestoneStatus::Approved {
        return Err(Error::MilestoneState { index, status: m.status, needs: "approved" }.into());
    }
    fits("milestone's unpaid release", m.amount - m.paid, amount)?;
    m.paid += amount;
    c.paid += amount;
    let mut p = project(state, c.project)?;
    p.paid += amount;
    put_project(state, &p);
    escrow_total(state, amount, false)?;
    append(
        state,
        FundList::Payments(c.id),
        Payment { milestone: index, payee, amount, at: now(cx), height: cx.block.height }.encode(),
    )
}

/// `pay_share`: the contractor pays itself or a subcontractor out of a released milestone.
/// Permission: an official of the contract's contractor.
fn pay_share(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    id: u64,
    index: u16,
    sub: Option<u64>,
    amount: Amount,
    by: &Did,
) -> Outcome<OfficialAct> {
    let mut c = top_level(state, id)?;
    let act = party(state, cx, by, &c.contractor, "the contractor")?;
    active(&c)?;
    positive(amount)?;
    let (payee, account) = match sub {
        None => (Payee::Contractor { account: c.contractor }, c.contractor),
        Some(s_id) => {
            let mut s = contract(state, s_id)?;
            if s.parent != Some(id) {
                return Err(Error::NotUnder { subcontract: s_id, contract: id }.into());
            }
            active(&s)?;
            fits("subcontract's unpaid part", s.amount - s.paid, amount)?;
            s.paid += amount;
            put_contract(state, &s);
            (Payee::Subcontractor { subcontract: s_id, account: s.contractor }, s.contractor)
        }
    };
    pay_out(state, cx, &mut c, index, payee, amount)?;
    put_contract(state, &c);
    accounts::credit(state, &account, amount)?;
    Ok(act)
}

/// The subcontract `id` and its parent contract.
fn subcontract_and_parent(state: &impl StateRead, id: u64) -> Outcome<(Contract, Contract)> {
    let s = contract(state, id)?;
    let parent = s.parent.ok_or(Error::NotASubcontract(id))?;
    Ok((s, contract(state, parent)?))
}

/// `file_payroll`: the subcontractor files its workers' wages against a released milestone of
/// the parent contract.
/// Permission: an official of the subcontractor.
fn file_payroll(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    id: u64,
    index: u16,
    lines: &[PayrollLine],
    by: &Did,
) -> Outcome<OfficialAct> {
    let (s, c) = subcontract_and_parent(state, id)?;
    let act = party(state, cx, by, &s.contractor, "the subcontractor")?;
    active(&s)?;
    active(&c)?;
    if lines.is_empty() {
        return Err(Error::EmptyPayroll.into());
    }
    if lines.len() > PAYROLL_LINES_MAX {
        return Err(ExecError::BadField("payroll lines (at most 250)").into());
    }
    let mut seen = BTreeSet::new();
    let mut total: Amount = 0;
    for line in lines {
        positive(line.amount)?;
        if !seen.insert(line.worker) {
            return Err(Error::DuplicateWorker(line.worker).into());
        }
        if accounts::query::account(state, &line.worker)?.is_none() {
            return Err(ExecError::UnknownAccount(line.worker).into());
        }
        if orgs::query::organization(state, &line.worker)?.is_some() {
            return Err(Error::NotAWorker(line.worker).into());
        }
        if orgs::query::role(state, &s.contractor, &line.worker)?.is_some()
            || orgs::query::role(state, &c.contractor, &line.worker)?.is_some()
        {
            return Err(Error::PayeeIsParty(line.worker).into());
        }
        total = add(total, line.amount)?;
    }
    let m = c.milestones.get(usize::from(index)).ok_or(Error::UnknownMilestone { contract: c.id, index })?;
    if m.status != MilestoneStatus::Approved {
        return Err(Error::MilestoneState { index, status: m.status, needs: "approved" }.into());
    }
    fits("milestone's unpaid release", m.amount - m.paid, total)?;
    fits("subcontract's unpaid part", s.amount - s.paid, total)?;
    let payroll = Payroll {
        id: counters::next(state, NEXT_PAYROLL_KEY)?,
        subcontract: id,
        contract: c.id,
        milestone: index,
        lines: lines.to_vec(),
        total,
        status: PayrollStatus::Filed,
        reason: String::new(),
        filed_at: now(cx),
        decided_at: None,
    };
    state.put(payroll_key(payroll.id), payroll.encode());
    append(state, FundList::Payrolls(id), payroll.id.to_be_bytes().to_vec())?;
    Ok(act)
}

/// A filed payroll, its subcontract and their parent contract, once the signer is shown to be
/// an official of that contract's contractor.
fn payroll_for_decision(
    state: &impl StateRead,
    cx: &Context<'_>,
    id: u64,
    by: &Did,
) -> Outcome<(Payroll, Contract, Contract, OfficialAct)> {
    let payroll = query::payroll(state, id)?.ok_or(Error::UnknownPayroll(id))?;
    let (s, c) = subcontract_and_parent(state, payroll.subcontract)?;
    let act = party(state, cx, by, &c.contractor, "the contractor")?;
    if payroll.status != PayrollStatus::Filed {
        return Err(Error::PayrollDecided { id, status: payroll.status }.into());
    }
    active(&c)?;
    active(&s)?;
    Ok((payroll, s, c, act))
}

/// `approve_payroll`: the contractor approves a payroll; each worker is paid from the escrow.
/// Permission: an official of the parent contract's contractor.
fn approve_payroll(state: &mut TxState<'_, '_>, cx: &Context<'_>, id: u64, by: &Did) -> Outcome<OfficialAct> {
    let (mut payroll, mut s, mut c, act) = payroll_for_decision(state, cx, id, by)?;
    fits("subcontract's unpaid part", s.amount - s.paid, payroll.total)?;
    s.paid += payroll.total;
    let payee = Payee::Payroll { payroll: id, subcontract: s.id, workers: payroll.lines.len() as u32 };
    pay_out(state, cx, &mut c, payroll.milestone, payee, payroll.total)?;
    let wage = |amount| Wage {
        amount,
        project: c.project,
        subcontract: s.id,
        employer: s.contractor,
        payroll: id,
        at: now(cx),
        height: cx.block.height,
    };
    for line in &payroll.lines {
        accounts::credit(state, &line.worker, line.amount)?;
        append(state, FundList::Wages(line.worker), wage(line.amount).encode())?;
    }
    payroll.status = PayrollStatus::Paid;
    payroll.decided_at = Some(now(cx));
    state.put(payroll_key(id), payroll.encode());
    put_contract(state, &s);
    put_contract(state, &c);
    Ok(act)
}

/// `reject_payroll`: the contractor rejects a payroll, with a reason.
/// Permission: an official of the parent contract's contractor.
fn reject_payroll(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    id: u64,
    reason: &str,
    by: &Did,
) -> Outcome<OfficialAct> {
    let (mut payroll, _, _, act) = payroll_for_decision(state, cx, id, by)?;
    text(reason, TEXT_BYTES_MAX, "reason").map_err(|_| Error::ReasonRequired)?;
    payroll.status = PayrollStatus::Rejected;
    payroll.reason = reason.to_owned();
    payroll.decided_at = Some(now(cx));
    state.put(payroll_key(id), payroll.encode());
    Ok(act)
}

/// Ends `c`: what it has not paid is no longer committed.
fn end(c: &mut Contract, reason: &str, at: u64) {
    c.status = ContractStatus::Terminated;
    c.reason = reason.to_owned();
    c.ended_at = Some(at);
}

/// `terminate_contract`: the owner ends a contract (its subcontracts end with it), or a
/// contractor ends one of its subcontracts; everything not paid returns to the project (or
/// the parent contract), released or not.
/// Permission: an official of the project's owner; for a subcontract, of the parent's
/// contractor.
fn terminate(state: &mut TxState<'_, '_>, cx: &Context<'_>, id: u64, reason: &str, by: &Did) -> Outcome<OfficialAct> {
    let mut c = contract(state, id)?;
    let act = match c.parent {
        None => party(state, cx, by, &project(state, c.project)?.owner, "the project's owner")?,
        Some(parent) => party(state, cx, by, &contract(state, parent)?.contractor, "the contractor")?,
    };
    if c.status == ContractStatus::Terminated {
        return Err(Error::Terminated(id).into());
    }
    text(reason, TEXT_BYTES_MAX, "reason").map_err(|_| Error::ReasonRequired)?;
    let before = (c.committed(), c.released);
    end(&mut c, reason, now(cx));
    match c.parent {
        None => {
            let subs = FundList::Subcontracts(id);
            let count = counters::read_u64(state, &subs.count_key())?;
            for position in 0..count {
                let s_id = counters::read_u64(state, &subs.entry_key(position))?;
                let mut s = contract(state, s_id)?;
                if s.status != ContractStatus::Terminated {
                    c.subcontracted -= s.committed() - s.paid;
                    end(&mut s, reason, now(cx));
                    put_contract(state, &s);
                }
            }
            let mut p = project(state, c.project)?;
            p.contracted -= before.0 - c.committed();
            p.released -= before.1 - c.paid;
            put_project(state, &p);
        }
        Some(parent) => {
            let mut parent = contract(state, parent)?;
            parent.subcontracted -= before.0 - c.committed();
            put_contract(state, &parent);
        }
    }
    put_contract(state, &c);
    Ok(act)
}

/// Runs one of this module's instructions; each is an official act, for the audit trail.
pub(crate) fn execute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    instruction: &FundInstruction,
) -> Outcome<Option<OfficialAct>> {
    audited(match instruction {
        FundInstruction::OpenProject { title, purpose, owner, supervisor, auditor, amount, by } => {
            open_project(state, cx, title, purpose, owner, supervisor, auditor.as_ref(), *amount, by)
        }
        FundInstruction::Appropriate { project, amount, by } => appropriate(state, cx, *project, *amount, by),
        FundInstruction::AwardContract { project, contractor, title, milestones, by } => {
            award(state, cx, *project, contractor, title, milestones, by)
        }
        FundInstruction::AcceptContract { contract, by } => accept(state, cx, *contract, by),
        FundInstruction::Subcontract { contract, subcontractor, title, amount, by } => {
            subcontract(state, cx, *contract, subcontractor, title, *amount, by)
        }
        FundInstruction::ReportMilestone { contract, milestone, report: r, by } => {
            report(state, cx, *contract, *milestone, r, by)
        }
        FundInstruction::ReviewMilestone { contract, milestone, approve, reason, by } => {
            review(state, cx, *contract, *milestone, *approve, reason, by)
        }
        FundInstruction::PayShare { contract, milestone, subcontract, amount, by } => {
            pay_share(state, cx, *contract, *milestone, *subcontract, *amount, by)
        }
        FundInstruction::FilePayroll { subcontract, milestone, lines, by } => {
            file_payroll(state, cx, *subcontract, *milestone, lines, by)
        }
        FundInstruction::ApprovePayroll { payroll, by } => approve_payroll(state, cx, *payroll, by),
        FundInstruction::RejectPayroll { payroll, reason, by } => reject_payroll(state, cx, *payroll, reason, by),
        FundInstruction::TerminateContract { contract, reason, by } => terminate(state, cx, *contract, reason, by),
    })
}
