//! Rentals routes. Listings, properties and a property's history are public (each provable):
//! renters compare them, and a property's history shows what happened to it. A lease, its rent
//! payments and the lists of leases are private: signed reads (`civitas-key`, `civitas-time`,
//! `civitas-signature`; see `civitas_client::signed`) by the lease's landlord or tenant, or an
//! official of the housing department it is filed with. A tenant proves their lease
//! (`prove=true`, claim `rental_record`) where a residence permit asks for one.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::claims::rental::{RentalListClaim, RentalRecordClaim, record_key};
use civitas_client::rental::{LeaseJson, ListingJson, PropertyJson, RentalListJson};
use civitas_client::wire;
use civitas_execution::orgs;
use civitas_execution::rentals::query;
use civitas_node::Node;
use civitas_types::Did;
use civitas_types::rental::{LIST_PAGE_MAX, Lease, PROPERTY_REF_BYTES_MAX, RentalList, VERSIONS_MAX};
use serde::Deserialize;

use crate::ApiError;
use crate::common::{
    NodeState, PageParams, ProveParam, Window, block_time, forbidden, not_found, parse_did, parse_number, proof_doc,
    prove_item, prove_list, signer_did,
};

/// The property lookup's query: the housing department and its reference.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefParams {
    housing: Option<String>,
    reference: Option<String>,
}

/// The rentals routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/rentals/listings", get(listings))
        .route("/v1/rentals/listings/{id}", get(listing))
        .route("/v1/rentals/properties", get(property_by_ref))
        .route("/v1/rentals/properties/{id}", get(property))
        .route("/v1/rentals/properties/{id}/history", get(history))
        .route("/v1/rentals/leases/{id}", get(lease))
        .route("/v1/rentals/leases/{id}/payments", get(payments))
        .route("/v1/rentals/filings/{housing}", get(filings))
        .route("/v1/rentals/parties/{did}/leases", get(party_leases))
}

/// The rentals routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(listings, listing, property_by_ref, property, history, lease, payments, filings, party_leases),
    components(schemas(
        wire::Problem,
        wire::ProofJson,
        wire::ClaimJson,
        ListingJson,
        PropertyJson,
        LeaseJson,
        RentalListJson
    ))
)]
pub(crate) struct Doc;

/// A record (`listing/N`, `property/N`, `lease/N`) proven present: its proof document.
fn prove_record(node: &Node, record: String) -> Result<Response, ApiError> {
    let key = record_key(&record).map_err(|e| ApiError::bad_request("bad_record", e))?;
    let (proof, item) = prove_item(node, key)?;
    if item.value.is_none() {
        return Err(ApiError::not_yet_final());
    }
    let claim = wire::ClaimJson::RentalRecord(RentalRecordClaim { record, item });
    Ok(Json(proof_doc(node, &proof, claim)).into_response())
}

/// A page of `list` in `window`, or with `prove` its proof: the count and each entry.
fn list_page(node: &Node, list: RentalList, window: &Window) -> Result<Response, ApiError> {
    let Window { from, limit, prove } = *window;
    if prove {
        let total = node.query(|s| query::list_len(s, &list))?;
        let end = total.min(from.saturating_add(limit)).max(from);
        let (proof, count, items) = prove_list(node, list.count_key(), |p| list.entry_key(p), from, end)?;
        let claim = RentalListClaim { list: list.to_string(), from, count, entries: items };
        return Ok(Json(proof_doc(node, &proof, wire::ClaimJson::RentalList(claim))).into_response());
    }
    let (total, entries) = node.query(|s| query::list_page(s, &list, from, limit))?;
    let end = from.saturating_add(entries.len() as u64);
    Ok(Json(RentalListJson { list: list.to_string(), total, from, entries, next: (end < total).then_some(end) })
        .into_response())
}

/// Lease `id`, if `who` may see it: its landlord, its tenant, or an official of its housing
/// department.
fn visible_lease(node: &Node, id: u64, who: &Did) -> Result<Lease, ApiError> {
    let (lease, official) = node.query(|s| {
        let Some(lease) = query::lease(s, id)? else { return Ok((None, false)) };
        let official = orgs::query::role(s, &lease.housing, who)?.is_some();
        Ok((Some(lease), official))
    })?;
    let lease = lease.ok_or_else(|| not_found("unknown_lease", format!("no lease {id}")))?;
    if !lease.is_party(who) && !official {
        return Err(forbidden(
            "not_a_party",
            format!("lease {id} is for its landlord, its tenant and its housing department; not {who}"),
        ));
    }
    Ok(lease)
}

/// Every listing, in order (numbers).
#[utoipa::path(
    get, path = "/v1/rentals/listings",
    params(
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `rental_list`)"),
    ),
    responses(
        (status = 200, description = "The page (RentalListJson), or with prove=true its proof", body = crate::common::OrProof<RentalListJson>),
        (status = 400, description = "Bad query (`bad_query`, `bad_limit`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn listings(
    State(node): NodeState,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, RentalList::Listings, &Window::of(query, LIST_PAGE_MAX)?)
}

/// A listing: its property, landlord (and agent), terms and status; with `prove=true`, a proof
/// of it (`rental_record`).
#[utoipa::path(
    get, path = "/v1/rentals/listings/{id}",
    params(
        ("id" = u64, Path, description = "The listing's number"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `rental_record`)"),
    ),
    responses(
        (status = 200, description = "The listing (ListingJson), or with prove=true its proof", body = crate::common::OrProof<ListingJson>),
        (status = 400, description = "Not a number (`bad_number`), or a bad query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such listing (`unknown_listing`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not in a finalized block yet", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn listing(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let id = parse_number(&id, "listing")?;
    let l = node
        .query(|s| query::listing(s, id))?
        .ok_or_else(|| not_found("unknown_listing", format!("no listing {id}")))?;
    if q.prove() {
        return prove_record(&node, format!("listing/{id}"));
    }
    Ok(Json(ListingJson { listing: l }).into_response())
}

/// A property: its housing department and reference, owner, active listing and last lease, and
/// how long its history is; with `prove=true`, a proof of it (`rental_record`).
#[utoipa::path(
    get, path = "/v1/rentals/properties/{id}",
    params(
        ("id" = u64, Path, description = "The property's number"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `rental_record`)"),
    ),
    responses(
        (status = 200, description = "The property (PropertyJson), or with prove=true its proof", body = crate::common::OrProof<PropertyJson>),
        (status = 400, description = "Not a number (`bad_number`), or a bad query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such property (`unknown_property`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not in a finalized block yet", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn property(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let id = parse_number(&id, "property")?;
    let (p, history) = node.query(|s| Ok((query::property(s, id)?, query::list_len(s, &RentalList::History(id))?)))?;
    let p = p.ok_or_else(|| not_found("unknown_property", format!("no property {id}")))?;
    if q.prove() {
        return prove_record(&node, format!("property/{id}"));
    }
    Ok(Json(PropertyJson { property: p, history }).into_response())
}

/// The property a housing department certified as `reference` (its number is given at its
/// first listing).
#[utoipa::path(
    get, path = "/v1/rentals/properties",
    params(
        ("housing" = String, Query, description = "The housing department's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("reference" = String, Query, description = "The certificate's `property_id`", pattern = "^.{1,64}$"),
    ),
    responses(
        (status = 200, description = "The property (PropertyJson)", body = PropertyJson),
        (status = 400, description = "A missing or unknown parameter (`bad_query`), a bad DID (`bad_did`) or reference (`bad_reference`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No property listed under this reference (`unknown_property`)", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn property_by_ref(
    State(node): NodeState,
    query: Result<Query<RefParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let (Some(housing), Some(reference)) = (q.housing, q.reference) else {
        return Err(ApiError::bad_request("bad_query", "give both housing and reference"));
    };
    let housing = parse_did(&housing)?;
    if reference.is_empty() || reference.len() > PROPERTY_REF_BYTES_MAX {
        return Err(ApiError::bad_request(
            "bad_reference",
            format!("a reference is 1 to {PROPERTY_REF_BYTES_MAX} bytes"),
        ));
    }
    let found = node.query(|s| {
        let Some(id) = query::property_by_ref(s, &housing, &reference)? else { return Ok(None) };
        let Some(p) = query::property(s, id)? else { return Ok(None) };
        Ok(Some((p, query::list_len(s, &RentalList::History(id))?)))
    })?;
    let (p, history) = found
        .ok_or_else(|| not_found("unknown_property", format!("{housing} has no property {reference:?} listed")))?;
    Ok(Json(PropertyJson { property: p, history }).into_response())
}

/// A property's history, in order: listed, offered, signed, disputed, terminated, deposits
/// released.
#[utoipa::path(
    get, path = "/v1/rentals/properties/{id}/history",
    params(
        ("id" = u64, Path, description = "The property's number"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `rental_list`)"),
    ),
    responses(
        (status = 200, description = "The page (RentalListJson), or with prove=true its proof", body = crate::common::OrProof<RentalListJson>),
        (status = 400, description = "Bad number or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn history(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let window = Window::of(query, LIST_PAGE_MAX)?;
    list_page(&node, RentalList::History(parse_number(&id, "property")?), &window)
}

/// A lease (signed request: its landlord, its tenant, or an official of its housing
/// department): its terms, rent and deposit, where its rent stands at the latest block's time,
/// and every version of its terms; with `prove=true`, a proof of it (`rental_record`,
/// `lease/N`): what a tenant shows for a residence permit.
#[utoipa::path(
    get, path = "/v1/rentals/leases/{id}",
    params(
        ("id" = u64, Path, description = "The lease's number"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `rental_record`)"),
    ),
    responses(
        (status = 200, description = "The lease (LeaseJson), or with prove=true its proof", body = crate::common::OrProof<LeaseJson>),
        (status = 400, description = "Not a number (`bad_number`), or a bad query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned, badly signed, stale, or by an unknown key", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither party nor an official of its housing department (`not_a_party`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lease (`unknown_lease`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not in a finalized block yet", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn lease(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let id = parse_number(&id, "lease")?;
    let who = signer_did(&node, &uri, &headers)?;
    let lease = visible_lease(&node, id, &who)?;
    if q.prove() {
        return prove_record(&node, format!("lease/{id}"));
    }
    let (versions, at) = node.query(|s| {
        let mut versions = Vec::new();
        for v in 1..=lease.latest.min(VERSIONS_MAX) {
            versions.extend(query::version(s, id, v)?);
        }
        Ok((versions, block_time(s)?))
    })?;
    Ok(Json(LeaseJson::new(lease, versions, at)).into_response())
}

/// A lease's rent payments, in order (signed request, as the lease itself).
#[utoipa::path(
    get, path = "/v1/rentals/leases/{id}/payments",
    params(
        ("id" = u64, Path, description = "The lease's number"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `rental_list`)"),
    ),
    responses(
        (status = 200, description = "The page (RentalListJson), or with prove=true its proof", body = crate::common::OrProof<RentalListJson>),
        (status = 400, description = "Bad number or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned, badly signed, stale, or by an unknown key", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither party nor an official of its housing department (`not_a_party`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lease (`unknown_lease`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn payments(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let window = Window::of(query, LIST_PAGE_MAX)?;
    let id = parse_number(&id, "lease")?;
    let who = signer_did(&node, &uri, &headers)?;
    visible_lease(&node, id, &who)?;
    list_page(&node, RentalList::Payments(id), &window)
}

/// The leases filed with a housing department, in order (numbers; signed request by an
/// official of that department).
#[utoipa::path(
    get, path = "/v1/rentals/filings/{housing}",
    params(
        ("housing" = String, Path, description = "The housing department's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `rental_list`)"),
    ),
    responses(
        (status = 200, description = "The page (RentalListJson), or with prove=true its proof", body = crate::common::OrProof<RentalListJson>),
        (status = 400, description = "Bad DID or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned, badly signed, stale, or by an unknown key", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an official of the department (`not_an_official`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn filings(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(housing): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let window = Window::of(query, LIST_PAGE_MAX)?;
    let housing = parse_did(&housing)?;
    let who = signer_did(&node, &uri, &headers)?;
    if node.query(|s| orgs::query::role(s, &housing, &who))?.is_none() {
        return Err(forbidden("not_an_official", format!("{who} is not an official of {housing}")));
    }
    list_page(&node, RentalList::Filings(housing), &window)
}

/// The leases a DID is landlord or tenant of, in order (numbers; signed request by that DID).
#[utoipa::path(
    get, path = "/v1/rentals/parties/{did}/leases",
    params(
        ("did" = String, Path, description = "The party's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `rental_list`)"),
    ),
    responses(
        (status = 200, description = "The page (RentalListJson), or with prove=true its proof", body = crate::common::OrProof<RentalListJson>),
        (status = 400, description = "Bad DID or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned, badly signed, stale, or by an unknown key", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Signed by another than the party (`not_a_party`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn party_leases(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(did): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let window = Window::of(query, LIST_PAGE_MAX)?;
    let did = parse_did(&did)?;
    let who = signer_did(&node, &uri, &headers)?;
    if who != did {
        return Err(forbidden("not_a_party", format!("{did}'s leases are for {did} to read, not {who}")));
    }
    list_page(&node, RentalList::Leases(did), &window)
}
