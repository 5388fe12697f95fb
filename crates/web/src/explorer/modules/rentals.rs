//! Rentals: the listings renters compare (newest first), and a property with its history: its
//! listings, and each lease on it offered, signed (and each amendment), disputed, terminated and
//! its deposit released, with the proofs of the property and of the history. A lease's terms,
//! parties and rent stay private to its landlord, its tenant and its housing department, as the
//! API keeps them: the history says what happened and when, never to whom or for how much.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use civitas_execution::rentals::query;
use civitas_node::Node;
use civitas_types::Did;
use civitas_types::rental::{
    HistoryEntry, HistoryKind, LIST_PAGE_MAX, Listing, ListingStatus, Property, RentalEntry, RentalList,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Newest, org_names, params, party, unix};
use crate::error::PageError;
use crate::explorer::{NodeState, blocking, number};
use crate::layout::{self, amount, badge, facts};

/// History events a property's page lists.
const HISTORY_PER_PAGE: u64 = LIST_PAGE_MAX;

/// The rentals pages.
pub(super) fn routes() -> Router<Arc<Node>> {
    Router::new().route("/rentals", get(listings)).route("/rentals/properties/{id}", get(property))
}

/// The listings page's query: the position to list before.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    before: Option<String>,
}

/// `GET /rentals?before=N`.
async fn listings(
    State(node): NodeState,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let q = params(query)?;
    let before = q.before.as_deref().map(|b| number("before", b)).transpose()?;
    blocking(move || listings_page(&node, before)).await
}

fn listing_status(status: ListingStatus) -> Markup {
    match status {
        ListingStatus::Active => badge("open to offers", "ok"),
        ListingStatus::Leased => badge("leased", "wait"),
        ListingStatus::Withdrawn => badge("withdrawn", "bad"),
    }
}

fn rent(l: &Listing) -> Markup {
    html! { (amount(l.terms.rent)) " " (l.terms.period.name()) }
}

fn listings_page(node: &Node, before: Option<u64>) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let (page, rows) = node.query(|s| {
        let total = query::list_len(s, &RentalList::Listings)?;
        let page = Newest::of(total, before);
        let (from, limit) = (page.positions.start, page.positions.end - page.positions.start);
        let mut rows = Vec::new();
        for entry in query::list_page(s, &RentalList::Listings, from, limit)?.1.into_iter().rev() {
            if let RentalEntry::Number { id } = entry {
                rows.extend(query::listing(s, id)?);
            }
        }
        Ok((page, rows))
    })?;
    let (from, to) = (page.positions.start, page.positions.end);
    let body = html! {
        p { "Each listing is bound to the housing department's certificate of the property; a lease on it is signed by both parties and filed with that department, and its deposit waits in escrow on the chain." }
        @if rows.is_empty() {
            p { "Nothing is listed yet." }
        } @else {
            table {
                thead { tr {
                    th scope="col" class="num" { "#" } th scope="col" { "Listing" } th scope="col" { "Landlord" }
                    th scope="col" class="num" { "Rent" } th scope="col" class="num" { "Deposit" } th scope="col" { "Available" }
                    th scope="col" { "Status" } th scope="col" { "Proof" }
                } }
                tbody {
                    @for l in &rows {
                        tr {
                            td.num { (l.id) }
                            td { a href=(format!("/rentals/properties/{}", l.property)) { (l.terms.title) } }
                            td { (layout::did(&l.landlord)) @if let Some(a) = &l.agent { br; "agent " (layout::did(a)) } }
                            td.num { (rent(l)) }
                            td.num { (amount(l.terms.deposit)) }
                            td { (unix(l.terms.available_from)) }
                            td { (listing_status(l.status)) }
                            td { a href=(format!("/v1/rentals/listings/{}?prove=true", l.id)) download=(format!("listing-{}.json", l.id)) { "listing-" (l.id) ".json" } }
                        }
                    }
                }
            }
            (page.pager("/rentals"))
            (layout::proof(&format!("/v1/rentals/listings?from={from}&limit={}&prove=true", to - from), &format!("listings-{from}-{to}.json"), "this page of the list of listings"))
        }
    };
    Ok(layout::page("Rentals", Some(latest), body))
}

/// A property page's query: the first history event to list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PropertyQuery {
    from: Option<String>,
}

/// `GET /rentals/properties/{id}?from=N`.
async fn property(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<PropertyQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let q = params(query)?;
    let id = number("a property's number", &id)?;
    let from = q.from.as_deref().map(|f| number("from", f)).transpose()?.unwrap_or(0);
    blocking(move || property_page(&node, id, from)).await
}

/// What a property's page reads, all from one state.
struct PropertyView {
    property: Property,
    history_total: u64,
    history: Vec<HistoryEntry>,
    /// The listings the page's events name.
    listings: BTreeMap<u64, Listing>,
    names: BTreeMap<Did, String>,
}

/// A history event in words.
fn event(e: &HistoryEntry) -> String {
    match e.kind {
        HistoryKind::Listed => format!("Listed (listing {})", e.subject),
        HistoryKind::Withdrawn => format!("Listing {} withdrawn", e.subject),
        HistoryKind::Offered => format!("Lease {} offered to a tenant", e.subject),
        HistoryKind::Signed if e.version <= 1 => format!("Lease {} signed by both and filed", e.subject),
        HistoryKind::Signed => format!("Lease {} amended: version {} signed by both", e.subject, e.version),
        HistoryKind::Terminated => format!("Lease {} terminated by both parties", e.subject),
        HistoryKind::Disputed => format!("A dispute over lease {} opened", e.subject),
        HistoryKind::Decided => format!("The housing department decided the dispute over lease {}", e.subject),
        HistoryKind::DepositReleased => format!("Lease {}'s deposit released", e.subject),
        HistoryKind::OfferWithdrawn => format!("The offer of lease {} withdrawn or declined", e.subject),
    }
}

/// Whether an event concerns a listing (else a lease).
fn about_listing(kind: HistoryKind) -> bool {
    matches!(kind, HistoryKind::Listed | HistoryKind::Withdrawn)
}

/// One lease as the history tells it: when each thing happened (unix seconds).
#[derive(Default)]
struct LeaseStory {
    offered: Option<u64>,
    filed: Option<u64>,
    versions: u32,
    disputes: u32,
    terminated: Option<u64>,
    released: Option<u64>,
    withdrawn: Option<u64>,
}

fn stories(history: &[HistoryEntry]) -> BTreeMap<u64, LeaseStory> {
    let mut out: BTreeMap<u64, LeaseStory> = BTreeMap::new();
    for e in history.iter().filter(|e| !about_listing(e.kind)) {
        let s = out.entry(e.subject).or_default();
        match e.kind {
            HistoryKind::Offered => s.offered = Some(e.at),
            HistoryKind::Signed => {
                if e.version <= 1 {
                    s.filed = Some(e.at);
                }
                s.versions = s.versions.max(e.version);
            }
            HistoryKind::Disputed => s.disputes += 1,
            HistoryKind::Terminated => s.terminated = Some(e.at),
            HistoryKind::DepositReleased => s.released = Some(e.at),
            HistoryKind::OfferWithdrawn => s.withdrawn = Some(e.at),
            _ => {}
        }
    }
    out
}

fn property_page(node: &Node, id: u64, from: u64) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let read = node.query(|s| {
        let Some(property) = query::property(s, id)? else { return Ok(None) };
        let (history_total, entries) = query::list_page(s, &RentalList::History(id), from, HISTORY_PER_PAGE)?;
        let history: Vec<HistoryEntry> =
            entries.into_iter().filter_map(|e| if let RentalEntry::Event(h) = e { Some(h) } else { None }).collect();
        let mut listings = BTreeMap::new();
        for e in history.iter().filter(|e| about_listing(e.kind)) {
            if let Some(l) = query::listing(s, e.subject)? {
                listings.insert(e.subject, l);
            }
        }
        let names = org_names(s, [property.housing])?;
        Ok(Some(PropertyView { property, history_total, history, listings, names }))
    })?;
    let Some(v) = read else {
        return Err(PageError::not_found(format!("there is no property {id} at block {latest}")));
    };
    let total = v.history_total;
    if from > 0 && from >= total {
        return Err(PageError::not_found(format!("property {id}'s history has {total} events; none from {from}")));
    }
    let p = &v.property;
    let shown = v.history.len() as u64;
    let leases = stories(&v.history);
    let link = |f: u64| format!("/rentals/properties/{id}?from={f}");
    let title = if p.address.is_empty() { format!("Property {}", p.reference) } else { p.address.clone() };
    let body = html! {
        (facts(&[
            ("Reference", html! { code { (p.reference) } " (the housing department's certificate)" }),
            ("Address", html! { @if p.address.is_empty() { "not disclosed" } @else { (p.address) } }),
            ("Floor area", html! { @match p.floor_area_m2 { Some(a) => { (a) " m²" }, None => "not disclosed" } }),
            ("Housing department", party(&p.housing, &v.names)),
            ("Owner", layout::did(&p.owner)),
            ("Listing now", html! { @match p.listing { Some(l) => { a href=(format!("#listing-{l}")) { "listing " (l) } }, None => "none open" } }),
            ("Last lease", html! { @match p.lease { Some(l) => { "lease " (l) }, None => "none signed" } }),
            ("First listed", unix(p.registered_at)),
            ("History", html! { (v.history_total) " events" }),
        ]))
        (layout::proof(&format!("/v1/rentals/properties/{id}?prove=true"), &format!("property-{id}.json"), "this property's reference, owner, listing and last lease"))
        @if !v.listings.is_empty() {
            h2 { "Listings" }
            table {
                thead { tr {
                    th scope="col" class="num" { "#" } th scope="col" { "Title" } th scope="col" { "Landlord" } th scope="col" class="num" { "Rent" }
                    th scope="col" class="num" { "Deposit" } th scope="col" class="num" { "Shortest term" } th scope="col" { "Furnished" }
                    th scope="col" { "Rent includes" } th scope="col" { "Listed" } th scope="col" { "Status" } th scope="col" { "Proof" }
                } }
                tbody {
                    @for (lid, l) in &v.listings {
                        tr #(format!("listing-{lid}")) {
                            td.num { (lid) }
                            td { (l.terms.title) }
                            td { (layout::did(&l.landlord)) }
                            td.num { (rent(l)) }
                            td.num { (amount(l.terms.deposit)) }
                            td.num { (l.terms.min_term_months) " months" }
                            td { (l.terms.furnished.name()) }
                            td { @if l.terms.includes.is_empty() { "nothing" } @else { (l.terms.includes.iter().map(|i| i.name()).collect::<Vec<_>>().join(", ")) } }
                            td { (unix(l.listed_at)) }
                            td { (listing_status(l.status)) }
                            td { a href=(format!("/v1/rentals/listings/{lid}?prove=true")) download=(format!("listing-{lid}.json")) { "listing-" (lid) ".json" } }
                        }
                    }
                }
            }
        }
        @if !leases.is_empty() {
            h2 { "Leases" }
            p { "A lease's terms, parties and rent are private to its landlord, its tenant and its housing department (they read it signed, at " code { "/v1/rentals/leases/N" } "); its history is public." }
            table {
                thead { tr {
                    th scope="col" class="num" { "Lease" } th scope="col" { "Offered" } th scope="col" { "Signed and filed" }
                    th scope="col" class="num" { "Versions signed" } th scope="col" class="num" { "Disputes" } th scope="col" { "Terminated" } th scope="col" { "Deposit released" }
                } }
                tbody {
                    @for (lease, s) in &leases {
                        tr {
                            td.num { (lease) }
                            td { @if let Some(t) = s.offered { (unix(t)) } }
                            td { @match (s.filed, s.withdrawn) { (Some(t), _) => (unix(t)), (None, Some(t)) => { "offer withdrawn or declined " (unix(t)) }, (None, None) => (badge("waiting for the tenant", "wait")) } }
                            td.num { (s.versions) }
                            td.num { (s.disputes) }
                            td { @if let Some(t) = s.terminated { (unix(t)) } @else { "no" } }
                            td { @if let Some(t) = s.released { (unix(t)) } @else { "not yet" } }
                        }
                    }
                }
            }
        }
        h2 { "History" }
        @if v.history.is_empty() {
            p { "Nothing has happened to it yet." }
        } @else {
            table {
                thead { tr { th scope="col" class="num" { "#" } th scope="col" { "When" } th scope="col" { "What" } th scope="col" class="num" { "Version" } th scope="col" { "Block" } } }
                tbody {
                    @for (i, e) in v.history.iter().enumerate() {
                        tr {
                            td.num { (from + i as u64) }
                            td { (unix(e.at)) }
                            td { code { (e.kind.name()) } " " (event(e)) }
                            td.num { @if e.version > 0 { (e.version) } }
                            td { (layout::height(e.height)) }
                        }
                    }
                }
            }
            (layout::pager((from > 0).then(|| link(from.saturating_sub(HISTORY_PER_PAGE))), (from + shown < total).then(|| link(from + shown))))
            (layout::proof(&format!("/v1/rentals/properties/{id}/history?from={from}&limit={}&prove=true", shown.max(1)), &format!("history-{id}-{from}.json"), "these events of this property's history"))
        }
    };
    Ok(layout::page(&title, Some(latest), body))
}

#[cfg(test)]
mod tests {
    use civitas_node::demo;

    use crate::tests::fixture;

    #[tokio::test]
    async fn the_demo_flat_shows_its_listing_and_lease_history_with_proofs() {
        let f = fixture();
        let dir = f._dir.path().to_owned();
        // The lease names alice's door lock, so the devices come first.
        f.run_steps(demo::device_steps(&f.node, &dir).expect("device steps"));
        f.run_steps(demo::rental_steps(&f.node, &dir).expect("rental steps"));

        let list = f.page("/rentals").await;
        assert!(list.contains("Two rooms on Rongxi Road, partly furnished"), "{list}");
        assert!(list.contains("href=\"/rentals/properties/0\"") && list.contains("12.00 monthly"), "{list}");
        assert!(list.contains("/v1/rentals/listings/0?prove=true") && list.contains("badge wait\">leased"), "{list}");

        let page = f.page("/rentals/properties/0").await;
        for expected in [
            "XA-RX-0417",
            "Building 4, Unit 2, 17 Rongxi Road, Xiong'an",
            "86 m²",
            "24.00",
            "water, internet, management",
            "Listed (listing 0)",
            "Lease 0 offered to a tenant",
            "Lease 0 signed by both and filed",
            "/v1/rentals/properties/0?prove=true",
            "/v1/rentals/properties/0/history?from=0&amp;limit=3&amp;prove=true",
            "civitas verify property-0.json",
        ] {
            assert!(page.contains(expected), "{expected}: {page}");
        }
        let (_, bob) = f.key("bob");
        assert!(!page.contains(&bob.to_string()), "the tenant stays private");
        let (s, _, _) = f.get("/v1/rentals/properties/0?prove=true").await;
        assert_eq!(s, axum::http::StatusCode::OK);
    }
}
