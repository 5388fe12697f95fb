//! Project funds: the projects (newest first), and a project with its money drawn as it flows
//! (appropriated → contracts → milestones → payments, subcontracts and payrolls among the
//! payees), the same figures in tables, and the proofs of the project and of each contract.
//! Everything here is public: the point of the module is that anyone can follow the money.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use civitas_execution::funds::query;
use civitas_node::Node;
use civitas_state::{StateRead, StoreError};
use civitas_types::Did;
use civitas_types::fund::{
    Appropriation, Contract, ContractStatus, FundEntry, FundList, LIST_PAGE_MAX, MilestoneStatus, Payee, Payment,
    Project,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Newest, NoParams, cut, org_names, params, party, scale, svg_text, unix};
use crate::error::PageError;
use crate::explorer::{NodeState, blocking, number};
use crate::layout::{self, amount, badge, facts};

/// Most appropriations, contracts (and subcontracts of each) a project's page reads.
const RECORDS_MAX: u64 = LIST_PAGE_MAX;
/// Most payments of one contract a project's page reads.
const PAYMENTS_MAX: u64 = 2 * LIST_PAGE_MAX;
/// Most contracts the flow diagram draws one by one (the rest are drawn as one).
const FLOW_CONTRACTS_MAX: usize = 20;

/// The funds pages.
pub(super) fn routes() -> Router<Arc<Node>> {
    Router::new().route("/funds", get(projects)).route("/funds/projects/{id}", get(project))
}

/// The projects list's query: the position to list before.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    before: Option<String>,
}

/// `GET /funds?before=N`.
async fn projects(
    State(node): NodeState,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let q = params(query)?;
    let before = q.before.as_deref().map(|b| number("before", b)).transpose()?;
    blocking(move || projects_page(&node, before)).await
}

fn numbers(entries: Vec<FundEntry>) -> Vec<u64> {
    entries.into_iter().filter_map(|e| if let FundEntry::Number { id } = e { Some(id) } else { None }).collect()
}

/// The length of `list` and its first entries, at most `max`.
fn read_list(s: &impl StateRead, list: &FundList, max: u64) -> Result<(u64, Vec<FundEntry>), StoreError> {
    let mut out = Vec::new();
    loop {
        let from = out.len() as u64;
        let (total, page) = query::list_page(s, list, from, max.saturating_sub(from).min(LIST_PAGE_MAX))?;
        let done = page.is_empty();
        out.extend(page);
        if done || out.len() as u64 >= total.min(max) {
            return Ok((total, out));
        }
    }
}

fn projects_page(node: &Node, before: Option<u64>) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let (page, rows, names) = node.query(|s| {
        let total = query::list_len(s, &FundList::Projects)?;
        let page = Newest::of(total, before);
        let (from, limit) = (page.positions.start, page.positions.end - page.positions.start);
        let mut rows = Vec::new();
        for id in numbers(query::list_page(s, &FundList::Projects, from, limit)?.1).into_iter().rev() {
            rows.extend(query::project(s, id)?);
        }
        let names = org_names(s, rows.iter().flat_map(|p: &Project| [p.owner, p.finance]))?;
        Ok((page, rows, names))
    })?;
    let (from, to) = (page.positions.start, page.positions.end);
    let body = html! {
        p { "Each project's money is appropriated into an escrow the chain holds, committed by contracts, released as milestones are approved by the supervisor (and the auditor, where there is one) and paid to contractors, subcontractors and workers. Every figure is on the chain." }
        @if rows.is_empty() {
            p { "No project yet." }
        } @else {
            table {
                thead { tr {
                    th scope="col" class="num" { "#" } th scope="col" { "Project" } th scope="col" { "Owner" }
                    th scope="col" class="num" { "Appropriated" } th scope="col" class="num" { "Contracted" }
                    th scope="col" class="num" { "Released" } th scope="col" class="num" { "Paid" } th scope="col" { "Opened" }
                } }
                tbody {
                    @for p in &rows {
                        tr {
                            td.num { (p.id) }
                            td { a href=(format!("/funds/projects/{}", p.id)) { (p.title) } }
                            td { (party(&p.owner, &names)) }
                            td.num { (amount(p.appropriated)) }
                            td.num { (amount(p.contracted)) }
                            td.num { (amount(p.released)) }
                            td.num { (amount(p.paid)) }
                            td { (layout::time(p.opened_ms)) }
                        }
                    }
                }
            }
            (page.pager("/funds"))
            (layout::proof(&format!("/v1/funds/projects?from={from}&limit={}&prove=true", to - from), &format!("projects-{from}-{to}.json"), "this page of the list of projects"))
        }
    };
    Ok(layout::page("Project funds", Some(latest), body))
}

/// A contract as a project's page shows it: the record, its subcontracts and its payments.
struct ContractView {
    contract: Contract,
    subcontracts: Vec<Contract>,
    payments_total: u64,
    payments: Vec<Payment>,
}

/// What a project's page reads, all from one state.
struct ProjectView {
    project: Project,
    appropriations_total: u64,
    appropriations: Vec<Appropriation>,
    contracts_total: u64,
    contracts: Vec<ContractView>,
    names: BTreeMap<Did, String>,
    /// The latest block's time, unix seconds: what is overdue.
    now: u64,
}

fn read_project(s: &impl StateRead, id: u64) -> Result<Option<ProjectView>, StoreError> {
    let Some(project) = query::project(s, id)? else { return Ok(None) };
    let (appropriations_total, entries) = read_list(s, &FundList::Appropriations(id), RECORDS_MAX)?;
    let appropriations =
        entries.into_iter().filter_map(|e| if let FundEntry::Appropriation(a) = e { Some(a) } else { None }).collect();
    let (contracts_total, entries) = read_list(s, &FundList::Contracts(id), RECORDS_MAX)?;
    let mut contracts = Vec::new();
    for c_id in numbers(entries) {
        let Some(contract) = query::contract(s, c_id)? else { continue };
        let mut subcontracts = Vec::new();
        for s_id in numbers(read_list(s, &FundList::Subcontracts(c_id), RECORDS_MAX)?.1) {
            subcontracts.extend(query::contract(s, s_id)?);
        }
        let (payments_total, entries) = read_list(s, &FundList::Payments(c_id), PAYMENTS_MAX)?;
        let payments =
            entries.into_iter().filter_map(|e| if let FundEntry::Payment(p) = e { Some(p) } else { None }).collect();
        contracts.push(ContractView { contract, subcontracts, payments_total, payments });
    }
    let mut dids = vec![project.owner, project.supervisor, project.finance];
    dids.extend(project.auditor);
    for c in &contracts {
        dids.push(c.contract.contractor);
        dids.extend(c.subcontracts.iter().map(|sc| sc.contractor));
    }
    let names = org_names(s, dids)?;
    let now = civitas_execution::chain_tip(s)?.map_or(0, |(_, ms)| ms / 1000);
    Ok(Some(ProjectView { project, appropriations_total, appropriations, contracts_total, contracts, names, now }))
}

/// `GET /funds/projects/{id}`.
async fn project(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<NoParams>, QueryRejection>,
) -> Result<Markup, PageError> {
    params(query)?;
    let id = number("a project's number", &id)?;
    blocking(move || project_page(&node, id)).await
}

fn project_page(node: &Node, id: u64) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let Some(v) = node.query(|s| read_project(s, id))? else {
        return Err(PageError::not_found(format!("there is no project {id} at block {latest}")));
    };
    let p = &v.project;
    let names = &v.names;
    let body = html! {
        p { (p.purpose) }
        (facts(&[
            ("Owner", party(&p.owner, names)),
            ("Supervisor", party(&p.supervisor, names)),
            ("Auditor", match &p.auditor { Some(a) => party(a, names), None => html! { "none required" } }),
            ("Opened by", party(&p.finance, names)),
            ("Opened", html! { (layout::time(p.opened_ms)) ", block " (layout::height(p.height)) }),
            ("Appropriated", html! { (amount(p.appropriated)) }),
            ("Contracted", html! { (amount(p.contracted)) " (not yet contracted: " (amount(p.appropriated.saturating_sub(p.contracted))) ")" }),
            ("Released", html! { (amount(p.released)) }),
            ("Paid", html! { (amount(p.paid)) }),
            ("In escrow", html! { (amount(p.appropriated.saturating_sub(p.paid))) }),
        ]))
        section aria-labelledby="flow-h" {
            h2 #flow-h { "Where the money goes" }
            (flow_figure(&v))
        }
        (layout::proof(&format!("/v1/funds/projects/{id}?prove=true"), &format!("project-{id}.json"), "this project's owner, overseers and amounts"))
        h2 { "Appropriations" }
        @if v.appropriations.is_empty() { p { "None yet." } } @else {
            table {
                thead { tr { th scope="col" class="num" { "Amount" } th scope="col" { "From" } th scope="col" { "When" } th scope="col" { "Block" } } }
                tbody {
                    @for a in &v.appropriations {
                        tr { td.num { (amount(a.amount)) } td { (party(&a.from, names)) } td { (unix(a.at)) } td { (layout::height(a.height)) } }
                    }
                }
            }
            (more(v.appropriations.len(), v.appropriations_total, &format!("/v1/funds/projects/{id}/appropriations")))
        }
        h2 { "Contracts" }
        @if v.contracts.is_empty() { p { "None awarded yet." } }
        @for c in &v.contracts { (contract_section(c, names, v.now)) }
        (more(v.contracts.len(), v.contracts_total, &format!("/v1/funds/projects/{id}/contracts")))
        p { "The whole project as an Open Contracting (OCDS 1.1) release package: " a href=(format!("/v1/funds/projects/{id}/ocds")) { "/v1/funds/projects/" (id) "/ocds" } "." }
    };
    Ok(layout::page(&p.title, Some(latest), body))
}

/// A note that only the first `shown` of `total` are listed, with where the rest are.
fn more(shown: usize, total: u64, api: &str) -> Markup {
    html! {
        @if (shown as u64) < total {
            p { "The first " (shown) " of " (total) " are listed; all of them, provable page by page: " a href=(api) { (api) } "." }
        }
    }
}

fn contract_status(status: ContractStatus) -> Markup {
    match status {
        ContractStatus::Active => badge("active", "ok"),
        ContractStatus::Offered => badge("offered", "wait"),
        ContractStatus::Terminated => badge("terminated", "bad"),
    }
}

fn milestone_status(status: MilestoneStatus) -> Markup {
    match status {
        MilestoneStatus::Approved => badge("approved", "ok"),
        MilestoneStatus::Reported => badge("reported", "wait"),
        MilestoneStatus::Pending => badge("pending", "wait"),
        MilestoneStatus::Rejected => badge("rejected", "bad"),
    }
}

fn payee(p: &Payee, subcontracts: &[Contract], names: &BTreeMap<Did, String>) -> Markup {
    let title = |id: &u64| subcontracts.iter().find(|sc| sc.id == *id).map(|sc| sc.title.clone());
    html! {
        @match p {
            Payee::Contractor { account } => { "the contractor, " (party(account, names)) }
            Payee::Subcontractor { subcontract, account } => {
                "subcontract " (subcontract) @if let Some(t) = title(subcontract) { " (" (t) ")" } ", " (party(account, names))
            }
            Payee::Payroll { payroll, subcontract, workers } => {
                a href=(format!("/v1/funds/payrolls/{payroll}")) { "payroll " (payroll) } " of subcontract " (subcontract) ": wages straight to " (workers) " workers' accounts"
            }
        }
    }
}

fn contract_section(v: &ContractView, names: &BTreeMap<Did, String>, now: u64) -> Markup {
    let c = &v.contract;
    let milestone_title =
        |m: u16| c.milestones.get(usize::from(m)).map_or_else(|| format!("#{m}"), |m| m.title.clone());
    html! {
        section.contract aria-labelledby=(format!("contract-{}", c.id)) {
            h3 #(format!("contract-{}", c.id)) { "Contract " (c.id) ": " (c.title) " " (contract_status(c.status)) }
            (facts(&[
                ("Contractor", party(&c.contractor, names)),
                ("Awarded", html! { (unix(c.awarded_at)) " by " (party(&c.awarded_by, names)) }),
                ("Accepted", match c.accepted_at { Some(t) => unix(t), None => html! { "not yet" } }),
                ("Amount", html! { (amount(c.amount)) }),
                ("Subcontracted", html! { (amount(c.subcontracted)) }),
                ("Released", html! { (amount(c.released)) }),
                ("Paid", html! { (amount(c.paid)) }),
                ("Proof", html! { a href=(format!("/v1/funds/contracts/{}?prove=true", c.id)) download=(format!("contract-{}.json", c.id)) { "contract-" (c.id) ".json" } }),
            ]))
            @if c.status == ContractStatus::Terminated {
                p.reason { "Terminated" @if let Some(t) = c.ended_at { " " (unix(t)) } ": " (c.reason) }
            }
            table {
                caption { "Milestones" }
                thead { tr { th scope="col" class="num" { "#" } th scope="col" { "Milestone" } th scope="col" { "Due" } th scope="col" { "Status" } th scope="col" class="num" { "Amount" } th scope="col" class="num" { "Paid" } } }
                tbody {
                    @for (i, m) in c.milestones.iter().enumerate() {
                        tr {
                            td.num { (i) }
                            td { strong { (m.title) } br; (m.deliverable) @if !m.report.is_empty() { br; "Reported: " (m.report) } }
                            td { (unix(m.due)) @if m.overdue(now) { " " (badge("overdue", "bad")) } }
                            td {
                                (milestone_status(m.status))
                                @if m.status == MilestoneStatus::Reported || m.status == MilestoneStatus::Approved {
                                    br; "supervisor " (if m.supervisor_approved { "approved" } else { "waiting" })
                                    ", auditor " (if m.auditor_approved { "approved" } else { "waiting or not required" })
                                }
                                @if !m.reason.is_empty() { br; "Rejected: " (m.reason) }
                            }
                            td.num { (amount(m.amount)) }
                            td.num { (amount(m.paid)) }
                        }
                    }
                }
            }
            @if !v.subcontracts.is_empty() {
                table {
                    caption { "Subcontracts" }
                    thead { tr { th scope="col" class="num" { "#" } th scope="col" { "Subcontract" } th scope="col" { "Subcontractor" } th scope="col" { "Status" } th scope="col" class="num" { "Amount" } th scope="col" class="num" { "Paid" } th scope="col" { "Proof" } } }
                    tbody {
                        @for sc in &v.subcontracts {
                            tr {
                                td.num { (sc.id) }
                                td { (sc.title) }
                                td { (party(&sc.contractor, names)) }
                                td { (contract_status(sc.status)) }
                                td.num { (amount(sc.amount)) }
                                td.num { (amount(sc.paid)) }
                                td { a href=(format!("/v1/funds/contracts/{}?prove=true", sc.id)) download=(format!("contract-{}.json", sc.id)) { "contract-" (sc.id) ".json" } }
                            }
                        }
                    }
                }
            }
            @if !v.payments.is_empty() {
                table {
                    caption { "Payments" }
                    thead { tr { th scope="col" { "From milestone" } th scope="col" { "To" } th scope="col" class="num" { "Amount" } th scope="col" { "When" } th scope="col" { "Block" } } }
                    tbody {
                        @for pay in &v.payments {
                            tr {
                                td { (milestone_title(pay.milestone)) }
                                td { (payee(&pay.payee, &v.subcontracts, names)) }
                                td.num { (amount(pay.amount)) }
                                td { (unix(pay.at)) }
                                td { (layout::height(pay.height)) }
                            }
                        }
                    }
                }
                (more(v.payments.len(), v.payments_total, &format!("/v1/funds/contracts/{}/payments", c.id)))
            }
        }
    }
}

/// The diagram's columns, left to right.
const COLUMNS: [&str; 4] = ["Appropriated", "Contracts", "Milestones", "Payments"];

/// A box of the diagram: what it is, for whom can see it and for whom cannot, and its colour.
struct FlowBox {
    label: String,
    /// What the drawing writes beside it (the label, or less of it).
    short: Option<String>,
    amount: u128,
    colour: &'static str,
}

/// A band from one box to another (column and index each), as wide as its amount.
struct Link {
    from: (usize, usize),
    to: (usize, usize),
    amount: u128,
}

/// The flow of a project's money as boxes in four columns and bands between them.
struct Flow {
    columns: [Vec<FlowBox>; 4],
    links: Vec<Link>,
}

const BLUE: &str = "#0b5cad";
const GREY: &str = "#8c959f";
const GREEN: &str = "#116329";
const AMBER: &str = "#9a6700";
const RED: &str = "#a40e26";
const INK: &str = "#1b1f24";

/// The flow of `v`'s money: its appropriation into its contracts (and what is not contracted),
/// each contract into its milestones, each milestone into what it paid to each payee.
fn flow(v: &ProjectView) -> Flow {
    let p = &v.project;
    let mut columns: [Vec<FlowBox>; 4] = Default::default();
    let mut links = Vec::new();
    columns[0].push(FlowBox { label: "Appropriated".into(), short: None, amount: p.appropriated, colour: BLUE });
    let mut payees: Vec<(String, String)> = Vec::new();
    let mut paid: BTreeMap<(usize, usize), u128> = BTreeMap::new();
    for (n, cv) in v.contracts.iter().enumerate() {
        let c = &cv.contract;
        if n == FLOW_CONTRACTS_MAX {
            let rest: u128 = v.contracts[n..].iter().fold(0, |sum, cv| sum.saturating_add(cv.contract.committed()));
            let label = format!("{} more contracts", v.contracts.len() - n);
            links.push(Link { from: (0, 0), to: (1, columns[1].len()), amount: rest });
            columns[1].push(FlowBox { label, short: None, amount: rest, colour: GREY });
            break;
        }
        let contractor = v.names.get(&c.contractor).cloned().unwrap_or_else(|| "the contractor".into());
        let at = (1, columns[1].len());
        links.push(Link { from: (0, 0), to: at, amount: c.committed() });
        let colour = if c.status == ContractStatus::Terminated { GREY } else { BLUE };
        let label = format!("Contract {}: {} ({contractor})", c.id, c.title);
        columns[1].push(FlowBox { label, short: Some(c.title.clone()), amount: c.committed(), colour });
        let first_milestone = columns[2].len();
        for m in &c.milestones {
            links.push(Link { from: at, to: (2, columns[2].len()), amount: m.amount });
            let colour = match m.status {
                MilestoneStatus::Approved => GREEN,
                MilestoneStatus::Reported => AMBER,
                MilestoneStatus::Rejected => RED,
                MilestoneStatus::Pending => GREY,
            };
            columns[2].push(FlowBox { label: m.title.clone(), short: None, amount: m.amount, colour });
        }
        for pay in &cv.payments {
            let key = match &pay.payee {
                Payee::Contractor { account } => format!("c/{account}"),
                Payee::Subcontractor { subcontract, .. } => format!("s/{subcontract}"),
                Payee::Payroll { payroll, .. } => format!("p/{payroll}"),
            };
            let index = match payees.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    let label = match &pay.payee {
                        Payee::Contractor { account } => {
                            v.names.get(account).cloned().unwrap_or_else(|| account.to_string())
                        }
                        Payee::Subcontractor { subcontract, account } => {
                            let who = v.names.get(account).cloned().unwrap_or_else(|| "subcontractor".into());
                            format!("Subcontract {subcontract} ({who})")
                        }
                        Payee::Payroll { payroll, workers, .. } => {
                            format!("Payroll {payroll}: {workers} workers' wages")
                        }
                    };
                    payees.push((key, label));
                    payees.len() - 1
                }
            };
            let from = first_milestone + usize::from(pay.milestone);
            if from < columns[2].len() {
                let sum = paid.entry((from, index)).or_insert(0);
                *sum = sum.saturating_add(pay.amount);
            }
        }
    }
    let uncontracted = p.appropriated.saturating_sub(p.contracted);
    if uncontracted > 0 {
        links.push(Link { from: (0, 0), to: (1, columns[1].len()), amount: uncontracted });
        columns[1].push(FlowBox {
            label: "Not contracted yet".into(),
            short: None,
            amount: uncontracted,
            colour: GREY,
        });
    }
    for (_, label) in payees {
        columns[3].push(FlowBox { label, short: None, amount: 0, colour: INK });
    }
    for ((from, to), amount) in paid {
        if let Some(node) = columns[3].get_mut(to) {
            node.amount = node.amount.saturating_add(amount);
        }
        links.push(Link { from: (2, from), to: (3, to), amount });
    }
    Flow { columns, links }
}

/// The diagram's width, the length the largest column's amount is drawn at, and the box width.
const FLOW_WIDTH: u64 = 1120;
const FLOW_SPAN: u64 = 360;
const BOX_WIDTH: u64 = 12;
/// The room a box takes at least (its label's line), the gap below it, and the top margin.
const ROW_MIN: u64 = 16;
const GAP: u64 = 6;
const TOP: u64 = 28;
/// The columns' distance, and the most characters of a label drawn (the rest is a tooltip).
const COLUMN_STEP: u64 = 250;
const LABEL_CHARS: usize = 28;

/// The flow as an inline SVG drawn from numbers and escaped labels only, each box and band
/// with its figure as a tooltip; the same figures follow in a table for those who cannot see
/// it.
fn flow_figure(v: &ProjectView) -> Markup {
    let f = flow(v);
    let max = f.columns.iter().map(|c| c.iter().fold(0u128, |s, n| s.saturating_add(n.amount))).max().unwrap_or(0);
    let x = |col: usize| col as u64 * COLUMN_STEP;
    // Each box's top and height.
    let mut boxes: [Vec<(u64, u64)>; 4] = Default::default();
    let mut bottom = TOP;
    for (col, nodes) in f.columns.iter().enumerate() {
        let mut y = TOP;
        for n in nodes {
            let h = scale(n.amount, max, FLOW_SPAN).max(2);
            boxes[col].push((y, h));
            y += h.max(ROW_MIN) + GAP;
        }
        bottom = bottom.max(y);
    }
    let height = bottom + 4;
    let mut svg = format!(
        "<svg class=\"flow\" viewBox=\"0 0 {FLOW_WIDTH} {height}\" width=\"100%\" role=\"img\" aria-labelledby=\"flow-h\" aria-describedby=\"flow-d\"><desc id=\"flow-d\">{}</desc>",
        svg_text(&format!(
            "Appropriated {}, contracted {}, released {}, paid {}.",
            amount(v.project.appropriated),
            amount(v.project.contracted),
            amount(v.project.released),
            amount(v.project.paid)
        ))
    );
    for (col, title) in COLUMNS.iter().enumerate() {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"14\" font-size=\"12\" font-weight=\"600\" fill=\"{INK}\">{title}</text>",
            x(col)
        );
    }
    let mut out_used = BTreeMap::new();
    let mut in_used = BTreeMap::new();
    for link in &f.links {
        let (Some(&(y1, _)), Some(&(y2, _))) = (boxes[link.from.0].get(link.from.1), boxes[link.to.0].get(link.to.1))
        else {
            continue;
        };
        let t = scale(link.amount, max, FLOW_SPAN).max(1);
        let out = out_used.entry(link.from).or_insert(0u64);
        let inn = in_used.entry(link.to).or_insert(0u64);
        let (a, b) = (y1 + *out, y2 + *inn);
        *out += t;
        *inn += t;
        let (x1, x2) = (x(link.from.0) + BOX_WIDTH, x(link.to.0));
        let mid = (x1 + x2) / 2;
        let names = |(col, i): (usize, usize)| f.columns[col].get(i).map_or("", |n| n.label.as_str());
        let _ = write!(
            svg,
            "<path d=\"M{x1} {a}C{mid} {a} {mid} {b} {x2} {b}L{x2} {}C{mid} {} {mid} {} {x1} {}Z\" fill=\"{BLUE}\" fill-opacity=\"0.22\"><title>{} → {}: {}</title></path>",
            b + t,
            b + t,
            a + t,
            a + t,
            svg_text(names(link.from)),
            svg_text(names(link.to)),
            amount(link.amount)
        );
    }
    for (col, nodes) in f.columns.iter().enumerate() {
        for (n, &(y, h)) in nodes.iter().zip(&boxes[col]) {
            // The last column has the room to its right to itself.
            let chars = if col == COLUMNS.len() - 1 { LABEL_CHARS + 8 } else { LABEL_CHARS };
            let label = svg_text(&cut(n.short.as_deref().unwrap_or(&n.label), chars));
            let _ = write!(
                svg,
                "<rect x=\"{}\" y=\"{y}\" width=\"{BOX_WIDTH}\" height=\"{h}\" fill=\"{}\"><title>{}: {}</title></rect>\
                 <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{INK}\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{label} · {}</text>",
                x(col),
                n.colour,
                svg_text(&n.label),
                amount(n.amount),
                x(col) + BOX_WIDTH + 4,
                y + h.max(ROW_MIN) / 2 + 4,
                amount(n.amount)
            );
        }
    }
    svg.push_str("</svg>");
    let label = |(col, i): (usize, usize)| f.columns[col].get(i).map_or(String::new(), |n| n.label.clone());
    html! {
        figure {
            (layout::raw(svg))
            figcaption { "Box heights and band widths are to scale. Milestones: green approved, amber reported, grey pending, red rejected." }
            details {
                summary { "The figures" }
                table {
                    thead { tr { th scope="col" { "From" } th scope="col" { "To" } th scope="col" class="num" { "Amount" } } }
                    tbody {
                        @for link in &f.links {
                            tr { td { (label(link.from)) } td { (label(link.to)) } td.num { (amount(link.amount)) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use civitas_node::demo;

    use super::*;
    use crate::tests::fixture;

    #[tokio::test]
    async fn the_demo_school_shows_its_money_flowing_and_its_proofs() {
        let f = fixture();
        let dir = f._dir.path().to_owned();
        f.run_steps(demo::fund_steps(&f.node, &dir).expect("demo steps"));

        let list = f.page("/funds").await;
        assert!(list.contains("href=\"/funds/projects/0\"") && list.contains("Riverside Primary School"), "{list}");
        assert!(list.contains("500,000.00"), "{list}");
        assert!(list.contains("/v1/funds/projects?from=0&amp;limit=1&amp;prove=true"), "{list}");

        let page = f.page("/funds/projects/0").await;
        for expected in [
            "Riverside Primary School",
            "500,000.00",
            "Main construction works",
            "Foundations",
            "Structure",
            "Fit-out",
            "200,000.00",
            "Brickwork and masonry",
            "80,000.00",
            "16,500.00",
            "3 workers",
            "30,000.00",
            "100,000.00",
            "<svg class=\"flow\"",
            "Payroll 0: 3 workers' wages",
            "badge ok\">approved",
            "/v1/funds/projects/0?prove=true",
            "civitas verify project-0.json",
            "/v1/funds/contracts/0?prove=true",
            "/v1/funds/contracts/1?prove=true",
        ] {
            assert!(page.contains(expected), "{expected}: {page}");
        }
        let svg = &page[page.find("<svg").expect("svg")..page.find("</svg>").expect("end")];
        assert!(svg.contains("Foundations → ") && svg.contains("<path d=\"M"), "{svg}");
        assert!(!svg.contains("<script"), "only shapes and escaped text");
        let (s, _, _) = f.get("/v1/funds/projects/0?prove=true").await;
        assert_eq!(s, axum::http::StatusCode::OK);
    }

    #[test]
    fn labels_in_the_flow_are_escaped() {
        let did = civitas_types::Did::from_initial_key(&civitas_types::SecretKey::from_seed([3; 32]).public_key());
        let project = Project {
            id: 0,
            title: "<script>alert(1)</script>".into(),
            purpose: String::new(),
            owner: did,
            supervisor: did,
            auditor: None,
            finance: did,
            appropriated: 100,
            contracted: 60,
            released: 0,
            paid: 0,
            opened_ms: 0,
            height: 1,
        };
        let mut names = BTreeMap::new();
        names.insert(did, "A & <B>".to_owned());
        let contract = Contract {
            id: 0,
            project: 0,
            parent: None,
            contractor: did,
            awarded_by: did,
            title: "<img src=x onerror=alert(1)>".into(),
            amount: 60,
            status: ContractStatus::Active,
            milestones: vec![],
            subcontracted: 0,
            released: 0,
            paid: 0,
            reason: String::new(),
            awarded_at: 0,
            accepted_at: None,
            ended_at: None,
        };
        let v = ProjectView {
            project,
            appropriations_total: 0,
            appropriations: vec![],
            contracts_total: 1,
            contracts: vec![ContractView { contract, subcontracts: vec![], payments_total: 0, payments: vec![] }],
            names,
            now: 0,
        };
        let m = flow_figure(&v).into_string();
        assert!(!m.contains("<img") && m.contains("&lt;img src=x"), "{m}");
        assert!(m.contains("A &amp; &lt;B&gt;"), "{m}");
        assert!(m.contains("Not contracted yet · 0.40"), "100 appropriated, 60 contracted: {m}");
    }
}
