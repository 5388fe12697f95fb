//! Governance: the council (its members, threshold and proposals, newest first), one proposal
//! (what it would do, who approved it, where it stands), the audit trail of official acts
//! (newest first, all of it or one organization's) with each entry's proof, and an
//! organization (its record, and one official's role looked up by DID).
//!
//! Neither the council's proposals nor an organization's officials can be proven by the API,
//! so their pages link the JSON the API serves and offer no proof box; audit entries can be.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use civitas_execution::{audit, council, orgs};
use civitas_node::Node;
use civitas_state::{StateRead, StoreError};
use civitas_types::audit::AuditEntry;
use civitas_types::council::{CouncilAction, Proposal, ProposalStatus};
use civitas_types::org::{OrgKind, OrgRole};
use civitas_types::{Did, Instruction};
use maud::{Markup, html};
use serde::Deserialize;

use super::accounts::parse_did;
use super::{NodeState, blocking, clip, number};
use crate::error::PageError;
use crate::layout::{self, badge, facts, json_block, pager, short, short_link, time};

/// Proposals per page of the council's list.
const PROPOSALS_PER_PAGE: u64 = 25;
/// Entries per page of the audit trail.
const ENTRIES_PER_PAGE: u64 = 25;
/// Longest DID taken from a form field; a DID is 52 characters, so this only bounds the echo.
const DID_CHARS_MAX: usize = 200;

/// The governance pages.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/council", get(council_list))
        .route("/council/proposals/{id}", get(proposal))
        .route("/audit", get(audit_trail))
        .route("/audit/{index}", get(audit_entry))
        .route("/orgs/{did}", get(organization))
}

/// The names of the organizations among some DIDs (a DID that is no organization is absent).
type Names = BTreeMap<Did, String>;

/// Reads the names of the organizations among `dids`.
fn names<'a>(state: &impl StateRead, dids: impl IntoIterator<Item = &'a Did>) -> Result<Names, StoreError> {
    let mut out = Names::new();
    for did in dids {
        if out.contains_key(did) {
            continue;
        }
        if let Some(o) = orgs::query::organization(state, did)? {
            out.insert(*did, o.name);
        }
    }
    Ok(out)
}

/// A DID linked to its account, after the organization's name linked to its page if it is one.
fn party(did: &Did, names: &Names) -> Markup {
    html! {
        @if let Some(name) = names.get(did) { a href=(format!("/orgs/{did}")) { (name) } " " }
        (layout::did(did))
    }
}

/// A form field that names a DID: none if it is empty (an empty form sends `org=`).
fn optional_did(field: Option<&str>) -> Result<Option<Did>, PageError> {
    let Some(text) = field.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    if text.chars().count() > DID_CHARS_MAX {
        return Err(PageError::bad(format!("a DID is at most {DID_CHARS_MAX} characters; `{}` is longer", clip(text))));
    }
    parse_did(text).map(Some)
}

/// The part of a list of `total` items, numbered from 0, that a page shows newest first: from
/// `top` (the page's `before`, or the newest) down to `bottom`, and the `before` of the newer
/// and the older page where there are any.
#[derive(Debug, PartialEq, Eq)]
struct Window {
    bottom: u64,
    top: u64,
    newer: Option<u64>,
    older: Option<u64>,
}

impl Window {
    /// The window of a list of `total` shown from `before` in pages of `per_page` (at least
    /// 1); `None` if the list is empty.
    fn of(total: u64, before: Option<u64>, per_page: u64) -> Option<Window> {
        let newest = total.checked_sub(1)?;
        let top = before.map_or(newest, |b| b.min(newest));
        let bottom = top.saturating_sub(per_page.max(1) - 1);
        let newer = (top < newest).then(|| top.saturating_add(per_page).min(newest));
        Some(Window { bottom, top, newer, older: bottom.checked_sub(1) })
    }
}

/// A list page's query: the number of the newest item to show.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    before: Option<String>,
}

/// How many proposals the council has had. They are numbered densely from 0 and never
/// removed, and the state offers no count, so the first missing number is found by doubling
/// then halving: about twice log2(n) reads.
fn proposal_count(state: &impl StateRead) -> Result<u64, StoreError> {
    let exists = |id: u64| council::query::proposal(state, id).map(|p| p.is_some());
    if !exists(0)? {
        return Ok(0);
    }
    // `low` exists; `high` does not (or is the end of the number space).
    let (mut low, mut high) = (0u64, 1u64);
    while exists(high)? {
        low = high;
        match high.checked_mul(2) {
            Some(h) => high = h,
            None => {
                high = u64::MAX;
                break;
            }
        }
    }
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if exists(mid)? {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(low + 1)
}

/// Where a proposal stands at the block after `latest`.
fn standing(p: &Proposal, latest: u64) -> Markup {
    match p.status {
        ProposalStatus::Executed(_) => badge("executed", "ok"),
        ProposalStatus::Open if latest.saturating_add(1) > p.expires_height => badge("expired", "bad"),
        ProposalStatus::Open => badge("open", "wait"),
    }
}

/// `GET /council?before=N`.
pub(crate) async fn council_list(
    State(node): NodeState,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let Query(query) = query.map_err(|e| PageError::bad(e.body_text()))?;
    let before = query.before.as_deref().map(|b| number("before", b)).transpose()?;
    blocking(move || council_page(&node, before)).await
}

fn council_page(node: &Node, before: Option<u64>) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let (members, threshold, total, proposals, names) = node.query(|s| {
        let members = council::query::members(s)?;
        let threshold = council::query::threshold(s)?;
        let total = proposal_count(s)?;
        let mut proposals = Vec::new();
        if let Some(w) = Window::of(total, before, PROPOSALS_PER_PAGE) {
            for id in (w.bottom..=w.top).rev() {
                proposals.extend(council::query::proposal(s, id)?);
            }
        }
        let names = names(s, members.iter().chain(proposals.iter().map(|p| &p.proposer)))?;
        Ok((members, threshold, total, proposals, names))
    })?;
    let window = Window::of(total, before, PROPOSALS_PER_PAGE);
    let link = |b: u64| format!("/council?before={b}");
    let body = html! {
        @if members.is_empty() {
            p { "This chain has no council: nothing the council decides can happen." }
        } @else {
            p { "A proposal passes with the approval of " strong { (threshold) } " of the council's " (members.len())
                " member departments before it expires, and executes in the transaction of the approval that reaches the threshold." }
            h2 { "Members" }
            table {
                thead { tr { th scope="col" { "Department" } th scope="col" { "DID" } } }
                tbody {
                    @for m in &members {
                        tr {
                            td { @match names.get(m) { Some(n) => a href=(format!("/orgs/{m}")) { (n) }, None => "(not an organization)" } }
                            td { (layout::did(m)) }
                        }
                    }
                }
            }
        }
        h2 { "Proposals" }
        @if proposals.is_empty() {
            p { "No proposals yet." }
        } @else {
            p { (total) " proposal(s), newest first." }
            table {
                thead { tr {
                    th scope="col" class="num" { "#" } th scope="col" { "Action" } th scope="col" { "Proposed by" }
                    th scope="col" class="num" { "Approvals" } th scope="col" { "State" } th scope="col" { "Made at" } th scope="col" { "Can pass until" }
                } }
                tbody {
                    @for p in &proposals {
                        tr {
                            td.num { a href=(format!("/council/proposals/{}", p.id)) { (p.id) } }
                            td { code { (p.action.name()) } }
                            td { (party(&p.proposer, &names)) }
                            td.num { (p.approvals.len()) }
                            td { (standing(p, latest)) }
                            td { (layout::height(p.created_height)) }
                            td { "block " (p.expires_height) }
                        }
                    }
                }
            }
            (pager(window.as_ref().and_then(|w| w.newer).map(link), window.as_ref().and_then(|w| w.older).map(link)))
        }
        p { "As JSON: " a href="/v1/council" { "/v1/council" } " (members and threshold), " code { "/v1/council/proposals/{id}" } " (a proposal)." }
    };
    Ok(layout::page("Council", Some(latest), body))
}

/// What `action` does, in words.
fn describe(action: &CouncilAction, names: &Names) -> Markup {
    match action {
        CouncilAction::AccreditIssuer { issuer, vct } => html! {
            "Accredit " (party(issuer, names)) " to issue credentials of type " code { (vct) } "."
        },
        CouncilAction::RegisterOrganization { org, kind, name, functions } => html! {
            "Register the account " (layout::did(org)) " as the " (kind.name()) " “" (name) "”"
            @if !functions.is_empty() {
                ", with the function(s) " (functions.iter().map(|f| f.name()).collect::<Vec<_>>().join(", "))
            }
            "."
        },
        CouncilAction::SetThreshold { threshold } => html! {
            "Make a proposal need " (threshold) " approval(s)."
        },
        CouncilAction::AddValidator { validator } => html! {
            "Add a validator run by " (validator.name) ", consensus key " (short(&validator.key.to_hex()))
            @if !validator.address.is_empty() { ", at " code { (validator.address) } }
            "; it votes from the block after the one that executes this."
        },
        CouncilAction::RemoveValidator { key } => html! {
            "Remove the validator with consensus key " (short(&key.to_hex())) "; it stops voting after the block that executes this."
        },
        CouncilAction::AddPaa { certificate } => html! {
            "Trust a Product Attestation Authority: a root certificate of " (certificate.len())
            " bytes (below, in hexadecimal) that devices' attestation chains may end at."
        },
        CouncilAction::RevokePaa { subject_key_id, reason } => html! {
            "Revoke for good the Product Attestation Authority with subject key identifier "
            (short(&hex::encode(subject_key_id))) ", because: " q { (reason) }
        },
    }
}

/// `GET /council/proposals/{id}`.
pub(crate) async fn proposal(State(node): NodeState, Path(id): Path<String>) -> Result<Markup, PageError> {
    let id = number("a proposal number", &id)?;
    blocking(move || proposal_page(&node, id)).await
}

fn proposal_page(node: &Node, id: u64) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let found = node.query(|s| {
        let Some(p) = council::query::proposal(s, id)? else { return Ok(Err(proposal_count(s)?)) };
        let threshold = council::query::threshold(s)?;
        let mut involved = vec![p.proposer];
        involved.extend(&p.approvals);
        if let CouncilAction::AccreditIssuer { issuer, .. } = &p.action {
            involved.push(*issuer);
        }
        let names = names(s, &involved)?;
        Ok(Ok((p, threshold, names)))
    })?;
    let (p, threshold, names) = found.map_err(|total| {
        PageError::not_found(format!(
            "there is no council proposal {id} at block {latest}; there are {total}, numbered from 0"
        ))
    })?;
    let action = serde_json::to_value(&p.action).unwrap_or_default();
    let state = match p.status {
        ProposalStatus::Executed(h) => html! { (standing(&p, latest)) " at block " (layout::height(h)) },
        ProposalStatus::Open if latest.saturating_add(1) > p.expires_height => {
            html! { (standing(&p, latest)) " after block " (p.expires_height) " without reaching the threshold" }
        }
        ProposalStatus::Open => {
            let missing = u64::from(threshold).saturating_sub(p.approvals.len() as u64);
            html! { (standing(&p, latest)) " needs " (missing) " more approval(s) of the threshold of " (threshold) }
        }
    };
    let body = html! {
        (facts(&[
            ("Action", html! { code { (p.action.name()) } }),
            ("What it does", describe(&p.action, &names)),
            ("Proposed by", party(&p.proposer, &names)),
            ("State", state),
            ("Made at", html! { "block " (layout::height(p.created_height)) }),
            ("Can pass until", html! {
                "block " @if p.expires_height <= latest { (layout::height(p.expires_height)) } @else { (p.expires_height) }
            }),
        ]))
        h2 { "Approvals" }
        @if p.approvals.is_empty() {
            p { "None." }
        } @else {
            ol { @for a in &p.approvals { li { (party(a, &names)) } } }
        }
        h2 { "The action as signed" }
        (json_block(&action))
        p {
            "As JSON: " a href=(format!("/v1/council/proposals/{id}")) { "/v1/council/proposals/" (id) }
            ". The API serves proposals without a proof; the transactions that made and approved this one are in the "
            a href="/audit" { "audit trail" } ", each with the proof of its inclusion."
        }
        p { a href="/council" { "All proposals" } }
    };
    Ok(layout::page(&format!("Proposal {id}"), Some(latest), body))
}

/// The audit trail's query: one organization's acts, and the position of the newest to show.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    org: Option<String>,
    before: Option<String>,
}

/// An instruction's name with its module's, as `module.instruction`. Names are unique across
/// modules, so the name alone says which.
fn act_name(instruction: &str) -> String {
    match Instruction::MODULES.iter().find(|(_, _, names)| names.contains(&instruction)) {
        Some((module, _, _)) => format!("{module}.{instruction}"),
        None => instruction.to_owned(),
    }
}

/// The transaction of an entry, linked, if it holds one.
fn entry_tx(entry: &AuditEntry) -> Markup {
    if entry.tx_hash.0 == [0; 32] {
        return html! { "none" };
    }
    let hex = entry.tx_hash.to_hex();
    short_link(&hex, &format!("/tx/{hex}"))
}

/// `GET /audit?org=DID&before=N`.
pub(crate) async fn audit_trail(
    State(node): NodeState,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let Query(query) = query.map_err(|e| PageError::bad(e.body_text()))?;
    let org = optional_did(query.org.as_deref())?;
    let before = query.before.as_deref().map(|b| number("before", b)).transpose()?;
    blocking(move || audit_page(&node, org, before)).await
}

fn audit_page(node: &Node, org: Option<Did>, before: Option<u64>) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let read = node.query(|s| {
        let name = match &org {
            None => None,
            Some(o) => match orgs::query::organization(s, o)? {
                Some(record) => Some(record.name),
                None => return Ok(None),
            },
        };
        let (_, total) = audit::query::page(s, org.as_ref(), 0, 0)?;
        let mut entries = match Window::of(total, before, ENTRIES_PER_PAGE) {
            Some(w) => audit::query::page(s, org.as_ref(), w.bottom, w.top - w.bottom + 1)?.0,
            None => vec![],
        };
        entries.reverse();
        let names = names(s, entries.iter().flat_map(|(_, e)| [&e.org, &e.official]))?;
        Ok(Some((name, total, entries, names)))
    })?;
    let Some((name, total, entries, names)) = read else {
        let o = org.map(|o| o.to_string()).unwrap_or_default();
        return Err(PageError::not_found(format!(
            "{o} is not an organization at block {latest}; the audit trail lists organizations' official acts"
        )));
    };
    let window = Window::of(total, before, ENTRIES_PER_PAGE);
    let link = |b: u64| match &org {
        Some(o) => format!("/audit?org={o}&before={b}"),
        None => format!("/audit?before={b}"),
    };
    // Departments suggested in the filter: the genesis ones (genesis was checked at start).
    let departments: Vec<(Did, String)> = node
        .chain()
        .genesis()
        .organizations()
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.kind == OrgKind::Department)
        .map(|o| (o.did, o.name))
        .collect();
    let org_text = org.map(|o| o.to_string()).unwrap_or_default();
    let body = html! {
        p { "Every act an official performs for an organization is recorded in the chain's state, numbered in the order it happened; each entry can be proven." }
        form.filter action="/audit" method="get" {
            label for="org" { "Organization (DID)" } " "
            input #org type="text" name="org" list="departments" value=(org_text) maxlength="200" size="56" placeholder="did:civitas:…";
            datalist #departments { @for (did, n) in &departments { option value=(did.to_string()) { (n) } } }
            " " button type="submit" { "Filter" }
            @if org.is_some() { " " a href="/audit" { "All organizations" } }
        }
        @if let (Some(o), Some(n)) = (&org, &name) {
            p { "The official acts of " a href=(format!("/orgs/{o}")) { (n) } " " (layout::did(o)) ": " (total) "." }
        } @else {
            p { (total) " official act(s) recorded." }
        }
        @if entries.is_empty() {
            p { "No official acts yet." }
        } @else {
            table {
                thead { tr {
                    th scope="col" class="num" { "#" } th scope="col" { "Block" } th scope="col" { "Time" } th scope="col" { "Official" }
                    th scope="col" { "Organization" } th scope="col" { "Act" } th scope="col" { "Transaction" }
                } }
                tbody {
                    @for (index, e) in &entries {
                        tr {
                            td.num { a href=(format!("/audit/{index}")) { (index) } }
                            td { (layout::height(e.height)) }
                            td { (time(e.timestamp_ms)) }
                            td { (party(&e.official, &names)) }
                            td { (party(&e.org, &names)) }
                            td { code { (act_name(&e.instruction)) } }
                            td { (entry_tx(e)) }
                        }
                    }
                }
            }
            (pager(window.as_ref().and_then(|w| w.newer).map(link), window.as_ref().and_then(|w| w.older).map(link)))
        }
        p { "As JSON: " a href="/v1/audit" { "/v1/audit" } }
    };
    Ok(layout::page("Audit trail", Some(latest), body))
}

/// `GET /audit/{index}`.
pub(crate) async fn audit_entry(State(node): NodeState, Path(index): Path<String>) -> Result<Markup, PageError> {
    let index = number("an audit entry number", &index)?;
    blocking(move || audit_entry_page(&node, index)).await
}

fn audit_entry_page(node: &Node, index: u64) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let (entry, total, names) = node.query(|s| {
        let (mut entries, total) = audit::query::page(s, None, index, 1)?;
        let entry = entries.pop().map(|(_, e)| e);
        let names = match &entry {
            Some(e) => names(s, [&e.org, &e.official])?,
            None => Names::new(),
        };
        Ok((entry, total, names))
    })?;
    let Some(e) = entry else {
        return Err(PageError::not_found(format!(
            "there is no audit entry {index} at block {latest}; the trail holds {total}, numbered from 0"
        )));
    };
    let body = html! {
        (facts(&[
            ("Act", html! { code { (act_name(&e.instruction)) } }),
            ("Official", party(&e.official, &names)),
            ("Organization", party(&e.org, &names)),
            ("Block", html! { (layout::height(e.height)) ", " (time(e.timestamp_ms)) }),
            ("Transaction", entry_tx(&e)),
        ]))
        nav.pager aria-label="Entries" {
            @if index > 0 { a rel="prev" href=(format!("/audit/{}", index - 1)) { "← Entry " (index - 1) } }
            @if index + 1 < total { a rel="next" href=(format!("/audit/{}", index + 1)) { "Entry " (index + 1) " →" } }
        }
        p {
            a href=(format!("/audit?org={}", e.org)) { "All acts of this organization" } " · "
            a href="/audit" { "The whole trail" } " · As JSON: "
            a href=(format!("/v1/audit/{index}")) { "/v1/audit/" (index) }
        }
        (layout::proof(&format!("/v1/audit/{index}?prove=true"), &format!("audit-{index}.json"), "this audit entry"))
    };
    Ok(layout::page(&format!("Audit entry {index}"), Some(latest), body))
}

/// An organization page's query: a member whose role to look up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrgQuery {
    member: Option<String>,
}

/// `GET /orgs/{did}?member=DID`.
pub(crate) async fn organization(
    State(node): NodeState,
    Path(did): Path<String>,
    query: Result<Query<OrgQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let Query(query) = query.map_err(|e| PageError::bad(e.body_text()))?;
    let did = parse_did(&did)?;
    let member = optional_did(query.member.as_deref())?;
    blocking(move || organization_page(&node, &did, member)).await
}

fn organization_page(node: &Node, did: &Did, member: Option<Did>) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let read = node.query(|s| {
        let Some(o) = orgs::query::organization(s, did)? else { return Ok(None) };
        let on_council = council::query::members(s)?.contains(did);
        let role = member.map(|m| orgs::query::role(s, did, &m)).transpose()?.flatten();
        let names = names(s, [did].into_iter().chain(&o.registered_by).chain(&member))?;
        Ok(Some((o, on_council, role, names)))
    })?;
    let Some((o, on_council, role, names)) = read else {
        return Err(PageError::not_found(format!(
            "{did} is not an organization at block {latest}; its account, if it has one, is at /accounts/{did}"
        )));
    };
    let functions: Vec<&str> = o.functions.iter().map(|f| f.name()).collect();
    let registered_by = match (&o.registered_by, o.registered_height) {
        (Some(by), _) => party(by, &names),
        (None, 0) => html! { "genesis" },
        (None, _) => html! { "the " a href="/council" { "council" } },
    };
    let body = html! {
        (facts(&[
            ("DID", layout::did(did)),
            ("Name", html! { (o.name) }),
            ("Kind", html! { (o.kind.name()) }),
            ("Functions", html! { @if functions.is_empty() { "none" } @else { (functions.join(", ")) } }),
            ("Registered", html! { @if o.registered_height == 0 { "at genesis" } @else { "at block " (layout::height(o.registered_height)) } }),
            ("Registered by", registered_by),
            ("Council", html! { @if on_council { "a member of the " a href="/council" { "council" } } @else { "not a member" } }),
        ]))
        p {
            a href=(format!("/audit?org={did}")) { "Its official acts" } " · "
            a href=(format!("/accounts/{did}")) { "Its account" } " · As JSON: "
            a href=(format!("/v1/orgs/{did}")) { "/v1/orgs/" (did) }
        }
        h2 { "Officials" }
        p { "The state keeps each official's role under the organization and the official, not as a list, so look one up by DID. The organization's own account is always its admin." }
        form.filter action=(format!("/orgs/{did}")) method="get" {
            label for="member" { "Official (DID)" } " "
            input #member type="text" name="member" value=(member.map(|m| m.to_string()).unwrap_or_default()) maxlength="200" size="56" placeholder="did:civitas:…" required;
            " " button type="submit" { "Look up" }
        }
        @if let Some(m) = &member {
            p #role {
                (party(m, &names))
                @match role {
                    Some(OrgRole::Admin) => { " is an " (badge("admin", "ok")) " of " (o.name) ": it manages its officials and acts for it." }
                    Some(OrgRole::Officer) => { " is an " (badge("officer", "ok")) " of " (o.name) ": it acts for it." }
                    None => { " holds " (badge("no role", "bad")) " in " (o.name) "." }
                }
            }
            p {
                "As JSON: " a href=(format!("/v1/orgs/{did}/officials/{m}")) { "/v1/orgs/…/officials/…" }
                " (the API serves roles without a proof)."
            }
        }
    };
    Ok(layout::page(&o.name, Some(latest), body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use civitas_types::OrgInstruction;
    use civitas_types::council::CouncilInstruction;

    fn propose(action: CouncilAction, by: Did) -> Instruction {
        Instruction::Council(CouncilInstruction::Propose { action, ttl_blocks: 100, by })
    }

    #[test]
    fn windows_page_newest_first() {
        #[track_caller]
        fn check(total: u64, before: Option<u64>, expected: Option<(u64, u64, Option<u64>, Option<u64>)>) {
            let got = Window::of(total, before, 25).map(|w| (w.bottom, w.top, w.newer, w.older));
            assert_eq!(got, expected, "{total} from {before:?}");
        }
        check(0, None, None);
        check(0, Some(7), None);
        check(1, None, Some((0, 0, None, None)));
        check(25, None, Some((0, 24, None, None)));
        check(26, None, Some((1, 25, None, Some(0))));
        check(26, Some(0), Some((0, 0, Some(25), None)));
        check(60, Some(30), Some((6, 30, Some(55), Some(5))));
        check(60, Some(40), Some((16, 40, Some(59), Some(15))));
        check(60, Some(u64::MAX), Some((35, 59, None, Some(34))));
    }

    #[test]
    fn acts_are_named_with_their_module() {
        assert_eq!(act_name("register_organization"), "orgs.register_organization");
        assert_eq!(act_name("propose"), "council.propose");
        assert_eq!(act_name("no_such_act"), "no_such_act");
    }

    #[tokio::test]
    async fn the_council_lists_its_members_and_proposals_and_a_proposal_what_it_does() {
        let f = crate::tests::fixture();
        let (_, civil) = f.key("civil-affairs");
        let (_, housing) = f.key("housing");
        let (_, market) = f.key("market-regulation");
        let vct = "https://civitas.example/vct/permit";
        // Proposal 0, approved by housing (block 2): it passes with two of three.
        f.act(
            "civil-affairs",
            vec![propose(CouncilAction::AccreditIssuer { issuer: housing, vct: vct.into() }, civil)],
        );
        f.act("housing", vec![Instruction::Council(CouncilInstruction::Approve { proposal: 0, by: housing })]);
        // Proposal 1, left open.
        let org = CouncilAction::RegisterOrganization {
            org: f.bob,
            kind: OrgKind::Manufacturer,
            name: "Bob <Sensors> & Co".into(),
            functions: vec![],
        };
        f.act("market-regulation", vec![propose(org, market)]);

        let page = f.page("/council").await;
        for m in [civil, housing, market] {
            assert!(page.contains(&format!("href=\"/accounts/{m}\"")), "member {m}: {page}");
            assert!(page.contains(&format!("href=\"/orgs/{m}\"")), "member {m} named");
        }
        assert!(page.contains(">civil-affairs</a>") && page.contains(">housing</a>"), "{page}");
        assert!(page.contains("<strong>2</strong> of the council's 3"), "{page}");
        let first = page.find("/council/proposals/1\"").expect("proposal 1 listed");
        let second = page.find("/council/proposals/0\"").expect("proposal 0 listed");
        assert!(first < second, "newest first");
        assert!(page.contains("register_organization") && page.contains("accredit_issuer"));
        assert!(page.contains("badge ok\">executed") && page.contains("badge wait\">open"), "{page}");
        assert!(page.contains("th scope=\"col\" class=\"num\""), "{page}");

        let p0 = f.page("/council/proposals/0").await;
        assert!(p0.contains("Proposal 0"));
        assert!(p0.contains(vct) && p0.contains("accredit_issuer"), "{p0}");
        assert!(p0.contains("executed</span> at block <a href=\"/blocks/2\">2</a>"), "{p0}");
        let approvals = &p0[p0.find("Approvals").expect("approvals")..];
        let (c, h) = (approvals.find(&format!("/orgs/{civil}")), approvals.find(&format!("/orgs/{housing}")));
        assert!(c.is_some() && h.is_some() && c < h, "both approvals, in order: {p0}");
        assert!(p0.contains("href=\"/v1/council/proposals/0\""));
        assert!(!p0.contains("Check it yourself"), "the API does not prove proposals");
        let p1 = f.page("/council/proposals/1").await;
        assert!(p1.contains("Bob &lt;Sensors&gt; &amp; Co") && p1.contains("manufacturer"), "{p1}");
        assert!(p1.contains("needs 1 more approval(s) of the threshold of 2"), "{p1}");
        assert!(p1.contains("&quot;type&quot;: &quot;register_organization&quot;"), "{p1}");
    }

    #[tokio::test]
    async fn the_council_pages_its_proposals() {
        let f = crate::tests::fixture();
        let (_, civil) = f.key("civil-affairs");
        // 16 and 10: 26 proposals, one more than a page.
        for n in [16, 10] {
            let batch = (0..n).map(|_| propose(CouncilAction::SetThreshold { threshold: 2 }, civil)).collect();
            f.act("civil-affairs", batch);
        }
        let page = f.page("/council").await;
        assert!(page.contains("26 proposal(s)"), "{page}");
        assert!(page.contains("/council/proposals/25\"") && page.contains("/council/proposals/1\""));
        assert!(!page.contains("/council/proposals/0\""), "one more than a page");
        assert!(page.contains("href=\"/council?before=0\""), "{page}");
        let older = f.page("/council?before=0").await;
        assert!(older.contains("/council/proposals/0\"") && !older.contains("/council/proposals/1\""));
        assert!(older.contains("href=\"/council?before=25\""), "{older}");
        assert_eq!(f.node.query(proposal_count).expect("count"), 26);
    }

    #[tokio::test]
    async fn the_audit_trail_lists_official_acts_and_an_entry_offers_its_proof() {
        let f = crate::tests::fixture();
        let (_, civil) = f.key("civil-affairs");
        let (_, market) = f.key("market-regulation");
        let (_, alice) = f.key("alice");
        // Entry 0: civil-affairs proposes (block 1); entry 1: market-regulation registers
        // alice as a company (block 2); entries 2 and 3: alice makes bob an officer and then
        // an admin (block 3).
        f.act("civil-affairs", vec![propose(CouncilAction::SetThreshold { threshold: 3 }, civil)]);
        let register = OrgInstruction::RegisterOrganization {
            org: alice,
            kind: OrgKind::Company,
            name: "Alice & Daughters".into(),
            by: market,
        };
        f.act("market-regulation", vec![Instruction::Orgs(register)]);
        let set = |role| Instruction::Orgs(OrgInstruction::SetMember { org: alice, member: f.bob, role: Some(role) });
        f.act("alice", vec![set(OrgRole::Officer), set(OrgRole::Admin)]);

        let page = f.page("/audit").await;
        assert!(page.contains("4 official act(s)"), "{page}");
        for i in 0..4 {
            assert!(page.contains(&format!("href=\"/audit/{i}\"")), "entry {i}: {page}");
        }
        assert!(page.find("href=\"/audit/3\"") < page.find("href=\"/audit/0\""), "newest first");
        assert!(page.contains("council.propose") && page.contains("orgs.register_organization"));
        assert!(page.contains("orgs.set_member"));
        assert!(page.contains(&format!("href=\"/orgs/{market}\">market-regulation</a>")), "{page}");
        assert!(page.contains("Alice &amp; Daughters"), "the new company named: {page}");
        assert!(page.contains("<a href=\"/blocks/2\">2</a>"));
        assert!(page.contains("href=\"/tx/"), "each entry links its transaction");
        assert!(page.contains("<datalist id=\"departments\">") && page.contains(&format!("value=\"{civil}\"")));

        let only = f.page(&format!("/audit?org={market}")).await;
        assert!(only.contains("The official acts of") && only.contains(": 1."), "{only}");
        assert!(only.contains("href=\"/audit/1\"") && !only.contains("href=\"/audit/0\""), "{only}");
        assert_eq!(f.page("/audit?org=").await, page, "an empty filter is no filter");

        let entry = f.page("/audit/1").await;
        assert!(entry.contains("Audit entry 1") && entry.contains("orgs.register_organization"), "{entry}");
        assert!(entry.contains(&format!("/accounts/{market}")));
        assert!(entry.contains("/v1/audit/1?prove=true") && entry.contains("civitas verify audit-1.json"), "{entry}");
        let (status, ct, proof) = f.get("/v1/audit/1?prove=true").await;
        assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"), "{proof}");
        // The transaction the entry links is the one that registered alice.
        let tx_at = entry.find("href=\"/tx/").expect("tx link") + "href=\"/tx/".len();
        let tx = f.page(&format!("/tx/{}", &entry[tx_at..tx_at + 64])).await;
        assert!(tx.contains("orgs.register_organization"), "{tx}");
    }

    #[tokio::test]
    async fn the_audit_trail_pages_by_organization() {
        let f = crate::tests::fixture();
        let (_, alice) = f.key("alice");
        let (_, market) = f.key("market-regulation");
        let register = OrgInstruction::RegisterOrganization {
            org: alice,
            kind: OrgKind::Employer,
            name: "Alice".into(),
            by: market,
        };
        f.act("market-regulation", vec![Instruction::Orgs(register)]);
        // 16 and 14: 30 acts of alice's, entries 1 to 30.
        for n in [16, 14] {
            let batch = (0..n)
                .map(|i| {
                    let role = if i % 2 == 0 { OrgRole::Officer } else { OrgRole::Admin };
                    Instruction::Orgs(OrgInstruction::SetMember { org: alice, member: f.bob, role: Some(role) })
                })
                .collect();
            f.act("alice", batch);
        }
        let page = f.page(&format!("/audit?org={alice}")).await;
        assert!(page.contains(": 30."), "{page}");
        assert!(page.contains("href=\"/audit/30\"") && page.contains("href=\"/audit/6\""), "{page}");
        assert!(!page.contains("href=\"/audit/5\""), "25 a page");
        // Positions in alice's list: 29 down to 5; the older page starts at 4.
        let older = format!("/audit?org={alice}&amp;before=4");
        assert!(page.contains(&older), "{page}");
        let page = f.page(&format!("/audit?org={alice}&before=4")).await;
        assert!(page.contains("href=\"/audit/5\"") && page.contains("href=\"/audit/1\""), "{page}");
        assert!(!page.contains("href=\"/audit/0\""), "entry 0 is market-regulation's");
        assert!(page.contains(&format!("/audit?org={alice}&amp;before=29")), "{page}");
        let all = f.page("/audit").await;
        assert!(all.contains("31 official act(s)") && all.contains("href=\"/audit?before=5\""), "{all}");
    }

    #[tokio::test]
    async fn an_organization_shows_its_record_and_looks_up_a_role() {
        let f = crate::tests::fixture();
        let (_, alice) = f.key("alice");
        let (_, market) = f.key("market-regulation");
        let (_, tax) = f.key("tax");
        let register = OrgInstruction::RegisterOrganization {
            org: alice,
            kind: OrgKind::Company,
            name: "Alice's".into(),
            by: market,
        };
        f.act("market-regulation", vec![Instruction::Orgs(register)]);
        f.act(
            "alice",
            vec![Instruction::Orgs(OrgInstruction::SetMember {
                org: alice,
                member: f.bob,
                role: Some(OrgRole::Officer),
            })],
        );
        let page = f.page(&format!("/orgs/{alice}")).await;
        assert!(page.contains("Alice&#39;s") || page.contains("Alice's"), "{page}");
        assert!(page.contains("company") && page.contains("at block <a href=\"/blocks/1\">1</a>"), "{page}");
        assert!(page.contains(&format!("href=\"/orgs/{market}\">market-regulation</a>")), "registered by: {page}");
        assert!(page.contains(&format!("href=\"/audit?org={alice}\"")));
        assert!(page.contains("name=\"member\""), "the lookup form");
        let bob = f.page(&format!("/orgs/{alice}?member={}", f.bob)).await;
        assert!(bob.contains("badge ok\">officer"), "{bob}");
        assert!(bob.contains(&format!("/v1/orgs/{alice}/officials/{}", f.bob)), "{bob}");
        let own = f.page(&format!("/orgs/{alice}?member={alice}")).await;
        assert!(own.contains("badge ok\">admin"), "the organization is its own admin: {own}");
        let none = f.page(&format!("/orgs/{alice}?member={tax}")).await;
        assert!(none.contains("badge bad\">no role"), "{none}");
        let dept = f.page(&format!("/orgs/{market}")).await;
        assert!(dept.contains("market_regulation") && dept.contains("at genesis"), "{dept}");
        assert!(dept.contains("a member of the <a href=\"/council\">council</a>"), "{dept}");
        let tax_page = f.page(&format!("/orgs/{tax}")).await;
        assert!(tax_page.contains("not a member") && tax_page.contains(">tax<"), "{tax_page}");
    }

    #[tokio::test]
    async fn bad_governance_urls_are_a_page_with_the_reason_and_a_4xx() {
        let f = crate::tests::fixture();
        let (_, civil) = f.key("civil-affairs");
        f.act("civil-affairs", vec![propose(CouncilAction::SetThreshold { threshold: 3 }, civil)]);
        let zero = format!("did:civitas:{}", "0".repeat(40));
        let long = "a".repeat(300);
        let cases = [
            ("/council?before=x", StatusCode::BAD_REQUEST, "before is a whole number"),
            ("/council?page=2", StatusCode::BAD_REQUEST, "unknown field"),
            ("/council/proposals/x", StatusCode::BAD_REQUEST, "a proposal number is a whole number"),
            ("/council/proposals/-1", StatusCode::BAD_REQUEST, "a proposal number is a whole number"),
            ("/council/proposals/7", StatusCode::NOT_FOUND, "there is no council proposal 7 at block 1; there are 1"),
            ("/audit?before=soon", StatusCode::BAD_REQUEST, "before is a whole number"),
            ("/audit?from=3", StatusCode::BAD_REQUEST, "unknown field"),
            ("/audit?org=did:civitas:zz", StatusCode::BAD_REQUEST, "40 hexadecimal digits"),
            (&format!("/audit?org={long}"), StatusCode::BAD_REQUEST, "a DID is at most 200 characters"),
            (&format!("/audit?org={zero}"), StatusCode::NOT_FOUND, "is not an organization at block 1"),
            ("/audit/x", StatusCode::BAD_REQUEST, "an audit entry number is a whole number"),
            ("/audit/99", StatusCode::NOT_FOUND, "there is no audit entry 99 at block 1; the trail holds 1"),
            ("/orgs/nobody", StatusCode::BAD_REQUEST, "40 hexadecimal digits"),
            ("/orgs/did:key:z6Mk", StatusCode::NOT_FOUND, "not an account"),
            (&format!("/orgs/{zero}"), StatusCode::NOT_FOUND, "is not an organization at block 1"),
            (&format!("/orgs/{civil}?member=bob"), StatusCode::BAD_REQUEST, "40 hexadecimal digits"),
            (&format!("/orgs/{civil}?role=admin"), StatusCode::BAD_REQUEST, "unknown field"),
        ];
        for (uri, status, reason) in cases {
            f.refused(uri, status, reason).await;
        }
    }
}
