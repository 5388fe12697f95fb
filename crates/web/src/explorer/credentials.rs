//! Credentials and invoices, as far as anyone may read them: the credential types the
//! council's accreditations allow (each issuer's type, its policy and its status list), an
//! issuer's status list with one credential's status and the proof of it; and merchants, whose
//! registrations are public while invoices and their totals are for their parties and the tax
//! authority only (the API serves those as signed reads, so no page here shows them).
//!
//! The state keeps no list of credential types or issuers: a type is kept at a key hashed from
//! its issuer and name, an accreditation likewise. What can be listed is the council's
//! proposals, numbered from 0 without gaps: every accreditation passed by one, so the types
//! page reads a page of proposals and, for each accreditation among them, the issuer's type.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use civitas_execution::{council, credentials, invoices, orgs};
use civitas_node::Node;
use civitas_state::{StateRead, StoreError};
use civitas_types::Did;
use civitas_types::council::{CouncilAction, Proposal, ProposalStatus};
use civitas_types::credential::{
    CredentialPolicy, CredentialStatus, CredentialType, STATUS_CHUNK_ENTRIES, STATUS_LIST_SIZE, status_in_chunk,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::accounts::parse_did;
use super::{NodeState, blocking, number};
use crate::error::PageError;
use crate::layout::{self, badge, facts, pager, short};

/// Council proposals read for one page of the types list.
const PROPOSALS_PER_PAGE: u64 = 100;
/// Chunks in an issuer's status list (each a state record of 4,096 two-bit entries).
const CHUNKS: u32 = STATUS_LIST_SIZE / STATUS_CHUNK_ENTRIES;

/// The credential and invoice pages.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/credentials", get(types))
        .route("/credentials/status", get(find_issuer))
        .route("/credentials/status/{issuer}", get(status_list))
        .route("/invoices", get(merchants))
}

/// The first twelve hexadecimal digits of a DID, for the names of proof files.
fn short_id(did: &Did) -> String {
    let text = did.to_string();
    text.trim_start_matches("did:civitas:").chars().take(12).collect()
}

// ---- /credentials ----------------------------------------------------------------------

/// The types list's query: the newest council proposal to read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TypesQuery {
    before: Option<String>,
}

/// Where an accreditation stands.
enum Standing {
    /// Passed: the issuer is accredited from this height.
    Accredited(u64),
    /// Collecting approvals until this height.
    Voting { approvals: usize, expires_height: u64 },
    /// Not passed by this height, and no longer can be.
    Expired(u64),
}

/// An accreditation the council passed or is voting on, and the type its issuer defined.
struct Accreditation {
    proposal: u64,
    issuer: Did,
    issuer_name: Option<String>,
    standing: Standing,
    defined: Option<CredentialType>,
}

/// How many proposals the council has numbered. They are numbered from 0 without gaps and no
/// count is kept where a reader can reach it, so the first missing number is found by
/// doubling, then halving: about 2·log₂ n reads.
fn proposal_count(state: &impl StateRead) -> Result<u64, StoreError> {
    let exists = |id: u64| council::query::proposal(state, id).map(|p| p.is_some());
    if !exists(0)? {
        return Ok(0);
    }
    let (mut present, mut absent) = (0u64, 1u64);
    while exists(absent)? {
        present = absent;
        let Some(doubled) = absent.checked_mul(2) else { return Ok(u64::MAX) };
        absent = doubled;
    }
    while absent - present > 1 {
        let mid = present + (absent - present) / 2;
        if exists(mid)? {
            present = mid;
        } else {
            absent = mid;
        }
    }
    Ok(absent)
}

/// The accreditation proposal `p` makes of `issuer` for `vct`, as it stands after block
/// `latest`.
fn accreditation(
    state: &impl StateRead,
    p: &Proposal,
    (issuer, vct): (&Did, &str),
    latest: u64,
) -> Result<Accreditation, StoreError> {
    let standing = match p.status {
        // A later proposal may have accredited the issuer again; the state keeps the latest.
        ProposalStatus::Executed(h) => {
            Standing::Accredited(council::query::accredited(state, issuer, vct)?.unwrap_or(h))
        }
        // The next block (`latest + 1`) may approve it only up to its expiry.
        ProposalStatus::Open if latest >= p.expires_height => Standing::Expired(p.expires_height),
        ProposalStatus::Open => Standing::Voting { approvals: p.approvals.len(), expires_height: p.expires_height },
    };
    let defined = match standing {
        Standing::Accredited(_) => credentials::query::credential_type(state, issuer, vct)?,
        _ => None,
    };
    Ok(Accreditation {
        proposal: p.id,
        issuer: *issuer,
        issuer_name: orgs::query::organization(state, issuer)?.map(|o| o.name),
        standing,
        defined,
    })
}

/// `GET /credentials?before=N`: the credential types, each with its accredited issuers.
pub(crate) async fn types(
    State(node): NodeState,
    query: Result<Query<TypesQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let Query(query) = query.map_err(|e| PageError::bad(e.body_text()))?;
    let before = query.before.as_deref().map(|b| number("before", b)).transpose()?;
    blocking(move || types_page(&node, before)).await
}

fn types_page(node: &Node, before: Option<u64>) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let (members, threshold) = node.query(|s| Ok((council::query::members(s)?, council::query::threshold(s)?)))?;
    let count = node.query(proposal_count)?;
    let intro = html! {
        p {
            "An organization issues credentials of a type once the council has accredited it for that type (by a vote of "
            (threshold) " of its " (members.len()) " member departments) and it has defined the type: the JSON Schema of the claims, and its policy, which says whether a verifier needs the holder's consent, whether the issuer approves each consent, and which kinds of verifier may see which claims. "
            "The credentials stay with their holders; the chain holds a commitment to each and its status in the issuer's status list."
        }
        form.lookup method="get" action="/credentials/status" {
            label for="issuer" { "An issuer's status list" }
            input #issuer type="text" name="issuer" maxlength="200" placeholder="did:civitas:…" required;
            button type="submit" { "Show" }
        }
    };
    if count == 0 {
        let body = html! {
            (intro)
            p { "The council has made no proposal yet: no issuer is accredited and no credential type is defined." }
        };
        return Ok(layout::page("Credential types", Some(latest), body));
    }
    let top = before.unwrap_or(count - 1).min(count - 1);
    let bottom = top.saturating_sub(PROPOSALS_PER_PAGE - 1);
    let by_type = node.query(|s| {
        let mut by_type: BTreeMap<String, Vec<Accreditation>> = BTreeMap::new();
        for id in (bottom..=top).rev() {
            let Some(p) = council::query::proposal(s, id)? else { continue };
            if let CouncilAction::AccreditIssuer { issuer, vct } = &p.action {
                let row = accreditation(s, &p, (issuer, vct), latest)?;
                by_type.entry(vct.clone()).or_default().push(row);
            }
        }
        Ok(by_type)
    })?;
    let newer = (top + 1 < count).then(|| format!("/credentials?before={}", (top + PROPOSALS_PER_PAGE).min(count - 1)));
    let older = (bottom > 0).then(|| format!("/credentials?before={}", bottom - 1));
    let body = html! {
        (intro)
        p {
            "From council proposals " (bottom) " to " (top) " (of " (count) "), newest first: "
            (by_type.len()) " credential type(s)."
        }
        @if by_type.is_empty() { p { "None of these proposals accredits an issuer." } }
        @for (vct, rows) in &by_type {
            section.credential-type {
                h2 { code { (vct) } }
                table {
                    thead {
                        tr {
                            th scope="col" { "Issuer" }
                            th scope="col" { "Accreditation" }
                            th scope="col" { "Type defined" }
                            th scope="col" { "Policy" }
                            th scope="col" { "Status list" }
                        }
                    }
                    tbody { @for a in rows { (accreditation_row(a, threshold)) } }
                }
            }
        }
        (pager(newer, older))
    };
    Ok(layout::page("Credential types", Some(latest), body))
}

fn accreditation_row(a: &Accreditation, threshold: u32) -> Markup {
    let proposal = format!("/council/proposals/{}", a.proposal);
    html! {
        tr {
            td { (layout::did(&a.issuer)) @if let Some(name) = &a.issuer_name { " " (name) } }
            td {
                @match a.standing {
                    Standing::Accredited(h) => { (badge("accredited", "ok")) " at block " (layout::height(h)) }
                    Standing::Voting { approvals, expires_height } => {
                        (badge("voting", "wait")) " " (approvals) " of " (threshold) " approvals, open until block " (expires_height)
                    }
                    Standing::Expired(h) => { (badge("expired", "bad")) " not passed by block " (h) }
                }
                " (" a href=(proposal) { "proposal " (a.proposal) } ")"
            }
            td {
                @match &a.defined {
                    Some(t) => { "at block " (layout::height(t.height)) (schema(t)) }
                    None => { "not yet" }
                }
            }
            td { @match &a.defined { Some(t) => (policy(&t.policy)), None => "none yet" } }
            td {
                @if matches!(a.standing, Standing::Accredited(_)) {
                    a href=(format!("/credentials/status/{}", a.issuer)) { "status list" }
                } @else { "none" }
            }
        }
    }
}

/// A credential type's policy, in words.
fn policy(p: &CredentialPolicy) -> Markup {
    let required = |yes: bool| if yes { "required" } else { "not required" };
    html! {
        ul.policy {
            li { "Holder's consent: " (required(p.holder_consent)) }
            li { "Issuer's approval of each consent: " (required(p.issuer_approval)) }
            @if p.rules.is_empty() { li { "Any claim to any kind of verifier" } }
            @for rule in &p.rules {
                li {
                    "A " (rule.verifier_kind.name()) " may see "
                    @for (i, claim) in rule.claims.iter().enumerate() { @if i > 0 { ", " } code { (claim) } }
                }
            }
        }
    }
}

/// A credential type's schema, folded: pretty-printed where it is JSON, as stored otherwise.
fn schema(t: &CredentialType) -> Markup {
    let pretty = serde_json::from_str::<serde_json::Value>(&t.schema)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| t.schema.clone());
    html! {
        details {
            summary { "Claims schema (" (t.schema.len()) " bytes)" }
            pre.json { code { (pretty) } }
        }
    }
}

// ---- /credentials/status ---------------------------------------------------------------

/// The issuer form's query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FindQuery {
    issuer: Option<String>,
}

/// `GET /credentials/status?issuer=DID`: a redirect to that issuer's status list (the form on
/// the types page).
pub(crate) async fn find_issuer(query: Result<Query<FindQuery>, QueryRejection>) -> Result<Response, PageError> {
    let Query(query) = query.map_err(|e| PageError::bad(e.body_text()))?;
    let text = query.issuer.as_deref().map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Err(PageError::bad("name the issuer by its DID: /credentials/status?issuer=did:civitas:…"));
    }
    let issuer = parse_did(text)?;
    Ok(Redirect::to(&format!("/credentials/status/{issuer}")).into_response())
}

/// An issuer's status page's query: one entry to look up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusQuery {
    index: Option<String>,
}

/// A status list entry from a query, with the reason if it is not one.
fn entry(text: &str) -> Result<u32, PageError> {
    let n = number("index", text)?;
    u32::try_from(n)
        .ok()
        .filter(|i| *i < STATUS_LIST_SIZE)
        .ok_or_else(|| PageError::bad(format!("a status list entry is 0 to {}; {n} is not one", STATUS_LIST_SIZE - 1)))
}

/// How many entries of a status-list chunk are revoked, and how many suspended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    revoked: u32,
    suspended: u32,
}

fn tally(chunk: &[u8]) -> Tally {
    let mut t = Tally::default();
    for i in 0..STATUS_CHUNK_ENTRIES {
        match status_in_chunk(Some(chunk), i) {
            Some(CredentialStatus::Revoked) => t.revoked += 1,
            Some(CredentialStatus::Suspended) => t.suspended += 1,
            _ => {}
        }
    }
    t
}

fn status_badge(status: CredentialStatus) -> Markup {
    let kind = match status {
        CredentialStatus::Valid => "ok",
        CredentialStatus::Suspended => "wait",
        CredentialStatus::Revoked => "bad",
    };
    badge(status.name(), kind)
}

/// `GET /credentials/status/{issuer}?index=N`: the issuer's status list, and entry N's status.
pub(crate) async fn status_list(
    State(node): NodeState,
    Path(issuer): Path<String>,
    query: Result<Query<StatusQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let Query(query) = query.map_err(|e| PageError::bad(e.body_text()))?;
    let issuer = parse_did(&issuer)?;
    // An empty box submitted is no lookup.
    let index = match query.index.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(i) => Some(entry(i)?),
    };
    blocking(move || status_page(&node, &issuer, index)).await
}

fn status_page(node: &Node, issuer: &Did, index: Option<u32>) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let Some(org) = node.query(|s| orgs::query::organization(s, issuer))? else {
        return Err(PageError::not_found(format!(
            "{issuer} is not an organization at block {latest}: only organizations the council accredits issue credentials"
        )));
    };
    let credential = match index {
        None => None,
        Some(i) => match node.query(|s| credentials::query::anchor_with_status(s, issuer, i))? {
            Some(found) => Some((i, found)),
            None => {
                return Err(PageError::not_found(format!(
                    "nothing is anchored at entry {i} of {issuer}'s status list at block {latest}"
                )));
            }
        },
    };
    let chunks = node.query(|s| {
        let mut out = Vec::new();
        for chunk in 0..CHUNKS {
            if let Some(bytes) = credentials::query::status_chunk(s, issuer, chunk * STATUS_CHUNK_ENTRIES)? {
                out.push((chunk, tally(&bytes)));
            }
        }
        Ok(out)
    })?;
    let revoked: u32 = chunks.iter().map(|(_, t)| t.revoked).sum();
    let suspended: u32 = chunks.iter().map(|(_, t)| t.suspended).sum();
    let id = short_id(issuer);
    let list_api = |chunk: u32| format!("/v1/credentials/status-list/{issuer}/{chunk}");
    let body = html! {
        (facts(&[
            ("Issuer", layout::did(issuer)),
            ("Name", html! { (org.name) }),
            ("Kind", html! { (org.kind.name()) }),
            ("Chunks with an entry set", html! { (chunks.len()) " of " (CHUNKS) }),
            ("Revoked", html! { (revoked) }),
            ("Suspended", html! { (suspended) }),
        ]))
        p {
            "The issuer's status list (IETF Token Status List) has " (STATUS_LIST_SIZE) " entries of two bits (valid, revoked, suspended), kept in "
            (CHUNKS) " chunks of " (STATUS_CHUNK_ENTRIES) ". Each credential the issuer anchors takes one entry; a chunk none of whose entries was ever set is not stored, and all its entries are valid. "
            "A revocation is for good; a suspension the issuer may lift."
        }
        h2 { "Chunks" }
        @if chunks.is_empty() {
            p {
                "No entry of this list was ever set: every credential " (org.name) " anchored is valid. "
                "Chunk 0 as a Token Status List: " a href=(list_api(0)) { (list_api(0)) } "."
            }
        } @else {
            table {
                thead {
                    tr {
                        th scope="col" class="num" { "Chunk" }
                        th scope="col" { "Entries" }
                        th scope="col" class="num" { "Revoked" }
                        th scope="col" class="num" { "Suspended" }
                        th scope="col" { "Token Status List" }
                        th scope="col" { "Proof" }
                    }
                }
                tbody {
                    @for (chunk, t) in &chunks {
                        @let first = chunk * STATUS_CHUNK_ENTRIES;
                        tr {
                            td.num { (chunk) }
                            td { (first) "–" (first + STATUS_CHUNK_ENTRIES - 1) }
                            td.num { (t.revoked) }
                            td.num { (t.suspended) }
                            td { a href=(list_api(*chunk)) { "status_list" } }
                            td { a href=(format!("{}?prove=true", list_api(*chunk))) download=(format!("status-list-{id}-{chunk}.json")) { "proof" } }
                        }
                    }
                }
            }
        }
        h2 { "One credential's status" }
        form.lookup method="get" action=(format!("/credentials/status/{issuer}")) {
            label for="index" { "Status list entry" }
            input #index type="number" name="index" min="0" max=(STATUS_LIST_SIZE - 1) required value=[index];
            button type="submit" { "Look up" }
        }
        @if let Some((i, (anchor, status))) = &credential {
            (facts(&[
                ("Entry", html! { (i) " (chunk " (i / STATUS_CHUNK_ENTRIES) ", position " (i % STATUS_CHUNK_ENTRIES) ")" }),
                ("Status", status_badge(*status)),
                ("Type", html! { code { (anchor.vct) } }),
                ("Commitment", short(&anchor.commitment.to_hex())),
                ("Anchored", html! { "at block " (layout::height(anchor.height)) }),
                ("As JSON", html! { @let api = format!("/v1/credentials/status/{issuer}/{i}"); a href=(api) { (api) } }),
            ]))
            (layout::proof(
                &format!("/v1/credentials/status/{issuer}/{i}?prove=true"),
                &format!("status-{id}-{i}.json"),
                "this credential's status",
            ))
        }
    };
    Ok(layout::page(&format!("Status list of {}", org.name), Some(latest), body))
}

// ---- /invoices -------------------------------------------------------------------------

/// The invoices page's query: a merchant to look up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvoicesQuery {
    merchant: Option<String>,
}

/// `GET /invoices?merchant=DID`: what of invoicing is public (who is a merchant), and why the
/// rest is not here.
pub(crate) async fn merchants(
    State(node): NodeState,
    query: Result<Query<InvoicesQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let Query(query) = query.map_err(|e| PageError::bad(e.body_text()))?;
    // An empty box submitted is no lookup.
    let merchant = match query.merchant.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) => Some(parse_did(m)?),
    };
    blocking(move || invoices_page(&node, merchant)).await
}

fn invoices_page(node: &Node, merchant: Option<Did>) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let found = match merchant {
        None => None,
        Some(did) => {
            let Some(m) = node.query(|s| invoices::query::merchant(s, &did))? else {
                return Err(PageError::not_found(format!("{did} is not a registered merchant at block {latest}")));
            };
            let name = node.query(|s| orgs::query::organization(s, &did))?.map(|o| o.name);
            let registrar = node.query(|s| orgs::query::organization(s, &m.registered_by))?.map(|o| o.name);
            Some((did, m, name, registrar))
        }
    };
    let body = html! {
        p {
            "Invoices on this chain are bound to payments: a payment provider records a payment, the merchant paid issues its one invoice, the buyer may submit it to an employer. "
            strong { "Invoice contents and totals are visible to their parties and the tax authority only." }
            " The API serves invoices (" code { "/v1/invoices" } ") and the running totals per merchant and per day ("
            code { "/v1/invoices/totals" } ") as signed reads, to the buyer, the seller, the employer and the tax department; "
            "this explorer shows what anyone may read, so none of them is here."
        }
        p { "What is public is who is a merchant: the tax authority's registration of each, with its taxpayer id and address." }
        form.lookup method="get" action="/invoices" {
            label for="merchant" { "A merchant's DID" }
            input #merchant type="text" name="merchant" maxlength="200" placeholder="did:civitas:…" required
                value=[merchant.map(|d| d.to_string())];
            button type="submit" { "Look up" }
        }
        @if let Some((did, m, name, registrar)) = &found {
            h2 { "Merchant " @if let Some(n) = name { (n) } }
            (facts(&[
                ("Merchant", layout::did(did)),
                ("Name", html! { @match name { Some(n) => (n), None => "no organization name" } }),
                ("Taxpayer id", html! { code { (m.taxpayer_id) } }),
                ("Address", html! {
                    (m.address.street) ", "
                    @if !m.address.postal_code.is_empty() { (m.address.postal_code) " " }
                    (m.address.city) ", " (m.address.country)
                }),
                ("Registered by", html! { (layout::did(&m.registered_by)) @if let Some(r) = registrar { " " (r) } }),
                ("Registered", html! { "at block " (layout::height(m.registered_height)) }),
            ]))
            p { "As JSON: " a href=(format!("/v1/merchants/{did}")) { "/v1/merchants/" (did) } }
        }
    };
    Ok(layout::page("Invoices", Some(latest), body))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use civitas_types::council::CouncilAction;
    use civitas_types::credential::{CredentialPolicy, CredentialStatus, DisclosureRule};
    use civitas_types::invoice::PostalAddress;
    use civitas_types::org::OrgKind;
    use civitas_types::{CouncilInstruction, CredentialInstruction, Did, Hash, Instruction, InvoiceInstruction};
    use tower::ServiceExt;

    use super::tally;
    use crate::tests::{Fixture, fixture};

    const PROPERTY: &str = "https://civitas.example/vct/property-certificate";
    const PERMIT: &str = "https://civitas.example/vct/residence-permit";

    /// The chain the tests read: the council accredited housing for property certificates
    /// (civil affairs proposed, housing approved: proposal 0) and votes on civil affairs' own
    /// accreditation for residence permits (proposal 1, one approval of two); housing defined
    /// its type (the holder's consent required; departments see two claims), anchored
    /// certificates at entries 5, 7 and 4,100, suspended 5 and revoked 4,100 (chunk 1); the
    /// tax department registered the metro as a merchant.
    struct World {
        f: Fixture,
        housing: Did,
        civil: Did,
        tax: Did,
        metro: Did,
    }

    fn world() -> World {
        let f = fixture();
        let ((_, housing), (_, civil), (_, tax), (_, metro)) =
            (f.key("housing"), f.key("civil-affairs"), f.key("tax"), f.key("metro"));
        let propose = |issuer: Did, vct: &str| {
            let action = CouncilAction::AccreditIssuer { issuer, vct: vct.into() };
            Instruction::Council(CouncilInstruction::Propose { action, ttl_blocks: 100, by: civil })
        };
        f.act("civil-affairs", vec![propose(housing, PROPERTY)]);
        f.act("housing", vec![Instruction::Council(CouncilInstruction::Approve { proposal: 0, by: housing })]);
        f.act("civil-affairs", vec![propose(civil, PERMIT)]);
        let policy = CredentialPolicy {
            holder_consent: true,
            issuer_approval: false,
            rules: vec![DisclosureRule {
                verifier_kind: OrgKind::Department,
                claims: vec!["property_id".into(), "floor_area".into()],
            }],
        };
        let define = Instruction::Credentials(CredentialInstruction::DefineCredentialType {
            vct: PROPERTY.into(),
            schema: r#"{"type":"object","properties":{"property_id":{"type":"string"}}}"#.into(),
            policy,
            by: housing,
        });
        let anchor = |index: u32| {
            Instruction::Credentials(CredentialInstruction::AnchorCredential {
                vct: PROPERTY.into(),
                commitment: Hash::digest(&index.to_be_bytes()),
                status_index: index,
                by: housing,
            })
        };
        f.act("housing", vec![define, anchor(5), anchor(7), anchor(4_100)]);
        let set = |status_index: u32, status| {
            Instruction::Credentials(CredentialInstruction::SetCredentialStatus { status_index, status, by: housing })
        };
        f.act("housing", vec![set(5, CredentialStatus::Suspended), set(4_100, CredentialStatus::Revoked)]);
        let register = InvoiceInstruction::RegisterMerchant {
            merchant: metro,
            taxpayer_id: "METRO2026".into(),
            address: PostalAddress::demo(),
            by: tax,
        };
        f.act("tax", vec![Instruction::Invoices(register)]);
        World { f, housing, civil, tax, metro }
    }

    #[test]
    fn a_chunk_tally_counts_revoked_and_suspended_entries() {
        use civitas_types::credential::set_in_chunk;
        assert_eq!(tally(&set_in_chunk(None, 0, CredentialStatus::Valid)), super::Tally::default());
        let chunk = set_in_chunk(None, 3, CredentialStatus::Revoked);
        let chunk = set_in_chunk(Some(chunk), 4_095, CredentialStatus::Suspended);
        // A chunk's entries are positions within it: entry 8,194 is position 2 of chunk 2.
        let chunk = set_in_chunk(Some(chunk), 8_194, CredentialStatus::Revoked);
        assert_eq!(tally(&chunk), super::Tally { revoked: 2, suspended: 1 });
    }

    #[tokio::test]
    async fn the_types_page_lists_each_type_with_its_issuers_policy_and_status_list() {
        let w = world();
        let page = w.f.page("/credentials").await;
        assert!(page.contains("Credential types") && page.contains("As of finalized block"), "{page}");
        assert!(page.contains(PROPERTY) && page.contains(PERMIT), "{page}");
        assert!(page.contains(&format!("href=\"/accounts/{}\"", w.housing)), "{page}");
        assert!(page.contains("accredited</span> at block <a href=\"/blocks/2\">2</a>"), "{page}");
        assert!(page.contains("href=\"/council/proposals/0\"") && page.contains("href=\"/council/proposals/1\""));
        assert!(page.contains("voting</span> 1 of 2 approvals, open until block 103"), "{page}");
        assert!(page.contains("Holder's consent: required") && page.contains("approval of each consent: not required"));
        assert!(page.contains("A department may see <code>property_id</code>, <code>floor_area</code>"), "{page}");
        assert!(page.contains("Claims schema (") && page.contains("&quot;property_id&quot;"), "{page}");
        assert!(page.contains(&format!("href=\"/credentials/status/{}\"", w.housing)), "{page}");
        assert!(!page.contains(&format!("href=\"/credentials/status/{}\"", w.civil)), "not accredited yet: {page}");
        assert!(page.contains("From council proposals 0 to 1 (of 2)"), "{page}");
        // A page of older proposals: only the first, and a link back to the newer.
        let older = w.f.page("/credentials?before=0").await;
        assert!(older.contains(PROPERTY) && !older.contains(PERMIT), "{older}");
        assert!(older.contains("href=\"/credentials?before=1\""), "{older}");
        // The issuer box goes to the issuer's list.
        let req = Request::builder().uri(format!("/credentials/status?issuer=%20{}", w.housing)).body(Body::empty());
        let resp = crate::app(w.f.node.clone()).oneshot(req.expect("request")).await.expect("infallible");
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(location, format!("/credentials/status/{}", w.housing));
    }

    #[tokio::test]
    async fn an_issuers_status_list_counts_its_chunks_and_proves_one_credential() {
        let w = world();
        let h = w.housing;
        let page = w.f.page(&format!("/credentials/status/{h}")).await;
        assert!(page.contains("Status list of housing"), "{page}");
        assert!(page.contains("<dt>Revoked</dt><dd>1</dd>") && page.contains("<dt>Suspended</dt><dd>1</dd>"), "{page}");
        assert!(page.contains("<dt>Chunks with an entry set</dt><dd>2 of 256</dd>"), "{page}");
        assert!(page.contains("0–4095") && page.contains("4096–8191"), "{page}");
        assert!(page.contains(&format!("href=\"/v1/credentials/status-list/{h}/0\"")), "{page}");
        assert!(page.contains(&format!("href=\"/v1/credentials/status-list/{h}/1?prove=true\"")), "{page}");
        assert!(!page.contains(&format!("/v1/credentials/status-list/{h}/2")), "chunk 2 was never set");
        assert!(!page.contains("Check it yourself"), "no entry asked: no proof box");
        for (index, status, kind) in [(5, "suspended", "wait"), (7, "valid", "ok"), (4_100, "revoked", "bad")] {
            let page = w.f.page(&format!("/credentials/status/{h}?index={index}")).await;
            assert!(page.contains(&format!("<span class=\"badge {kind}\">{status}</span>")), "{index}: {page}");
            assert!(page.contains(&format!("value=\"{index}\"")), "the box keeps the entry");
            let commitment = Hash::digest(&u32::to_be_bytes(index)).to_hex();
            assert!(page.contains(&format!("data-copy=\"{commitment}\"")), "{page}");
            let proof = format!("/v1/credentials/status/{h}/{index}?prove=true");
            assert!(page.contains(&format!("href=\"{proof}\"")) && page.contains("civitas verify status-"), "{page}");
            // The proof the page links is what the API serves.
            let (status, ct, body) = w.f.get(&proof).await;
            assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"), "{body}");
        }
        // An empty box is no lookup.
        let page = w.f.page(&format!("/credentials/status/{h}?index=")).await;
        assert!(!page.contains("Check it yourself"));
    }

    #[tokio::test]
    async fn the_invoices_page_shows_merchants_and_says_totals_are_not_public() {
        let w = world();
        let page = w.f.page("/invoices").await;
        assert!(page.contains("Invoice contents and totals are visible to their parties and the tax authority only"));
        assert!(page.contains("action=\"/invoices\"") && page.contains("name=\"merchant\""), "{page}");
        // What the page says of the API holds: totals are a signed read.
        let (status, _, _) = w.f.get("/v1/invoices/totals").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let page = w.f.page(&format!("/invoices?merchant={}", w.metro)).await;
        assert!(page.contains("Merchant metro") && page.contains("<code>METRO2026</code>"), "{page}");
        assert!(page.contains("1 Century Avenue, 200120 Shanghai, CN"), "{page}");
        assert!(page.contains(&format!("href=\"/accounts/{}\"", w.tax)) && page.contains("tax"), "{page}");
        assert!(page.contains("at block <a href=\"/blocks/6\">6</a>"), "{page}");
        assert!(page.contains(&format!("href=\"/v1/merchants/{}\"", w.metro)), "{page}");
        let (status, _, _) = w.f.get(&format!("/v1/merchants/{}", w.metro)).await;
        assert_eq!(status, StatusCode::OK, "the registration is public");
    }

    #[tokio::test]
    async fn bad_credential_and_invoice_urls_are_a_page_with_the_reason_and_a_4xx() {
        let w = world();
        let (h, bob) = (w.housing, w.f.key("bob").1);
        let zero = format!("did:civitas:{}", "0".repeat(40));
        let cases = [
            ("/credentials?before=x".to_owned(), StatusCode::BAD_REQUEST, "before is a whole number".to_owned()),
            ("/credentials?page=1".to_owned(), StatusCode::BAD_REQUEST, "unknown field".to_owned()),
            ("/credentials/status".to_owned(), StatusCode::BAD_REQUEST, "name the issuer by its DID".to_owned()),
            (
                "/credentials/status?issuer=housing".to_owned(),
                StatusCode::BAD_REQUEST,
                "40 hexadecimal digits".to_owned(),
            ),
            ("/credentials/status?did=x".to_owned(), StatusCode::BAD_REQUEST, "unknown field".to_owned()),
            (
                "/credentials/status/did:civitas:zz".to_owned(),
                StatusCode::BAD_REQUEST,
                "40 hexadecimal digits".to_owned(),
            ),
            (format!("/credentials/status/{bob}"), StatusCode::NOT_FOUND, format!("{bob} is not an organization")),
            (format!("/credentials/status/{zero}"), StatusCode::NOT_FOUND, "is not an organization".to_owned()),
            (format!("/credentials/status/{h}?index=x"), StatusCode::BAD_REQUEST, "index is a whole number".to_owned()),
            (
                format!("/credentials/status/{h}?index=-1"),
                StatusCode::BAD_REQUEST,
                "index is a whole number".to_owned(),
            ),
            (
                format!("/credentials/status/{h}?index=1048576"),
                StatusCode::BAD_REQUEST,
                "a status list entry is 0 to 1048575".to_owned(),
            ),
            (
                format!("/credentials/status/{h}?index=6"),
                StatusCode::NOT_FOUND,
                "nothing is anchored at entry 6".to_owned(),
            ),
            (format!("/credentials/status/{h}?chunk=1"), StatusCode::BAD_REQUEST, "unknown field".to_owned()),
            (
                "/invoices?merchant=did:civitas:zz".to_owned(),
                StatusCode::BAD_REQUEST,
                "40 hexadecimal digits".to_owned(),
            ),
            (format!("/invoices?merchant={h}"), StatusCode::NOT_FOUND, format!("{h} is not a registered merchant")),
            ("/invoices?totals=1".to_owned(), StatusCode::BAD_REQUEST, "unknown field".to_owned()),
            ("/credentials/types".to_owned(), StatusCode::NOT_FOUND, "there is no page /credentials/types".to_owned()),
        ];
        for (uri, status, reason) in cases {
            w.f.refused(&uri, status, &reason).await;
        }
    }
}
