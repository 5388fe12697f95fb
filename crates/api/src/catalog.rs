//! Data catalog routes. The catalog is public: every dataset (its owner, schema, content hash,
//! licence and where it is served) and each organization's datasets, each provable. Requests to
//! use a dataset, and the log of its uses, are the parties' business: signed reads
//! (`civitas-key`, `civitas-time`, `civitas-signature`; see `civitas_client::signed`) by
//! officials of the requester or of the dataset's owner. The owner lists who used what
//! (`/v1/catalog/owners/{did}/uses`), provably.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::catalog::{CatalogListJson, DatasetJson, RequestJson};
use civitas_client::claims::catalog::{CatalogListClaim, CatalogRecordClaim, record_key};
use civitas_client::wire;
use civitas_execution::catalog::query;
use civitas_execution::orgs;
use civitas_node::Node;
use civitas_types::Did;
use civitas_types::catalog::{AccessRequest, CatalogList, Dataset, LIST_PAGE_MAX};

use crate::ApiError;
use crate::common::{
    NodeState, PageParams, ProveParam, Window, block_time, forbidden, not_found, parse_did, parse_number, proof_doc,
    prove_item, prove_list, signer_did,
};

/// The catalog routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/catalog/datasets", get(datasets))
        .route("/v1/catalog/datasets/{id}", get(dataset))
        .route("/v1/catalog/datasets/{id}/requests", get(dataset_requests))
        .route("/v1/catalog/datasets/{id}/uses", get(dataset_uses))
        .route("/v1/catalog/owners/{did}/datasets", get(owned))
        .route("/v1/catalog/owners/{did}/uses", get(owner_uses))
        .route("/v1/catalog/requests/{id}", get(request))
        .route("/v1/catalog/requesters/{did}/requests", get(requester_requests))
}

/// The catalog routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(datasets, dataset, dataset_requests, dataset_uses, owned, owner_uses, request, requester_requests),
    components(schemas(wire::Problem, wire::ProofJson, wire::ClaimJson, DatasetJson, RequestJson, CatalogListJson))
)]
pub(crate) struct Doc;

/// A record (`dataset/N`, `request/N`) proven present: its proof document.
fn prove_record(node: &Node, record: String) -> Result<Response, ApiError> {
    let key = record_key(&record).map_err(|e| ApiError::bad_request("bad_record", e))?;
    let (proof, item) = prove_item(node, key)?;
    if item.value.is_none() {
        return Err(ApiError::not_yet_final());
    }
    let claim = wire::ClaimJson::CatalogRecord(CatalogRecordClaim { record, item });
    Ok(Json(proof_doc(node, &proof, claim)).into_response())
}

/// A page of `list` in `window`, or with `prove` its proof: the count and each entry.
fn list_page(node: &Node, list: CatalogList, window: &Window) -> Result<Response, ApiError> {
    let Window { from, limit, prove } = *window;
    if prove {
        let total = node.query(|s| query::list_len(s, &list))?;
        let end = total.min(from.saturating_add(limit)).max(from);
        let (proof, count, items) = prove_list(node, list.count_key(), |p| list.entry_key(p), from, end)?;
        let claim = CatalogListClaim { list: list.to_string(), from, count, entries: items };
        return Ok(Json(proof_doc(node, &proof, wire::ClaimJson::CatalogList(claim))).into_response());
    }
    let (total, entries) = node.query(|s| query::list_page(s, &list, from, limit))?;
    let end = from.saturating_add(entries.len() as u64);
    Ok(Json(CatalogListJson { list: list.to_string(), total, from, entries, next: (end < total).then_some(end) })
        .into_response())
}

/// Whether `who` is an official of `org`.
fn is_official(node: &Node, org: &Did, who: &Did) -> Result<bool, ApiError> {
    Ok(node.query(|s| orgs::query::role(s, org, who))?.is_some())
}

/// Refuses `who` unless an official of `org` (`not_an_official`), naming what it asked for.
fn official_of(node: &Node, org: &Did, who: &Did, what: &str) -> Result<(), ApiError> {
    if is_official(node, org, who)? {
        Ok(())
    } else {
        Err(forbidden("not_an_official", format!("{what} is for officials of {org} to read; {who} is not one")))
    }
}

/// Dataset `id`, or `unknown_dataset`.
fn known_dataset(node: &Node, id: u64) -> Result<Dataset, ApiError> {
    node.query(|s| query::dataset(s, id))?.ok_or_else(|| not_found("unknown_dataset", format!("no dataset {id}")))
}

/// Request `id`, if `who` may see it: an official of its requester or of the dataset's owner.
fn visible_request(node: &Node, id: u64, who: &Did) -> Result<AccessRequest, ApiError> {
    let (request, party) = node.query(|s| {
        let Some(r) = query::request(s, id)? else { return Ok((None, false)) };
        let owner = query::dataset(s, r.dataset)?.map(|d| d.owner);
        let party = orgs::query::role(s, &r.requester, who)?.is_some()
            || match owner {
                Some(o) => orgs::query::role(s, &o, who)?.is_some(),
                None => false,
            };
        Ok((Some(r), party))
    })?;
    let request = request.ok_or_else(|| not_found("unknown_request", format!("no access request {id}")))?;
    if !party {
        return Err(forbidden(
            "not_a_party",
            format!(
                "access request {id} is for officials of its requester and of the dataset's owner to read; not {who}"
            ),
        ));
    }
    Ok(request)
}

/// Every dataset in the catalog, in order (numbers).
#[utoipa::path(
    get, path = "/v1/catalog/datasets",
    params(
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `catalog_list`)"),
    ),
    responses(
        (status = 200, description = "The page (CatalogListJson), or with prove=true its proof", body = crate::common::OrProof<CatalogListJson>),
        (status = 400, description = "Bad query (`bad_query`, `bad_limit`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn datasets(
    State(node): NodeState,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, CatalogList::Datasets, &Window::of(query, LIST_PAGE_MAX)?)
}

/// A dataset: its owner, title, description, schema, content hash of its current version,
/// licence, endpoint and status; with `prove=true`, a proof of it (`catalog_record`,
/// `dataset/N`).
#[utoipa::path(
    get, path = "/v1/catalog/datasets/{id}",
    params(
        ("id" = u64, Path, description = "The dataset's number"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `catalog_record`)"),
    ),
    responses(
        (status = 200, description = "The dataset (DatasetJson), or with prove=true its proof", body = crate::common::OrProof<DatasetJson>),
        (status = 400, description = "Not a number (`bad_number`), or a bad query (`bad_query`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dataset (`unknown_dataset`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not in a finalized block yet", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn dataset(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let id = parse_number(&id, "dataset")?;
    let d = known_dataset(&node, id)?;
    if q.prove() {
        return prove_record(&node, format!("dataset/{id}"));
    }
    Ok(Json(DatasetJson { dataset: d }).into_response())
}

/// An organization's datasets, in order (numbers).
#[utoipa::path(
    get, path = "/v1/catalog/owners/{did}/datasets",
    params(
        ("did" = String, Path, description = "The owner's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `catalog_list`)"),
    ),
    responses(
        (status = 200, description = "The page (CatalogListJson), or with prove=true its proof", body = crate::common::OrProof<CatalogListJson>),
        (status = 400, description = "Bad DID (`bad_did`) or query (`bad_query`, `bad_limit`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn owned(
    State(node): NodeState,
    Path(did): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let window = Window::of(query, LIST_PAGE_MAX)?;
    list_page(&node, CatalogList::Owned(parse_did(&did)?), &window)
}

/// An access request (signed request: an official of its requester or of the dataset's
/// owner): its purpose, the days asked, where it stands, until when a grant lasts, how many uses
/// were logged, and whether it is in force at the latest block's time; with `prove=true`, a
/// proof of it (`catalog_record`, `request/N`).
#[utoipa::path(
    get, path = "/v1/catalog/requests/{id}",
    params(
        ("id" = u64, Path, description = "The request's number"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `catalog_record`)"),
    ),
    responses(
        (status = 200, description = "The request (RequestJson), or with prove=true its proof", body = crate::common::OrProof<RequestJson>),
        (status = 400, description = "Not a number (`bad_number`), or a bad query (`bad_query`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned, badly signed, stale, or by an unknown key", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an official of the requester or of the dataset's owner (`not_a_party`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request (`unknown_request`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not in a finalized block yet", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn request(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let id = parse_number(&id, "request")?;
    let who = signer_did(&node, &uri, &headers)?;
    let r = visible_request(&node, id, &who)?;
    if q.prove() {
        return prove_record(&node, format!("request/{id}"));
    }
    let at = node.query(block_time)?;
    Ok(Json(RequestJson::new(r, at)).into_response())
}

/// The requests to use a dataset, in order (numbers; signed request by an official of its
/// owner).
#[utoipa::path(
    get, path = "/v1/catalog/datasets/{id}/requests",
    params(
        ("id" = u64, Path, description = "The dataset's number"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `catalog_list`)"),
    ),
    responses(
        (status = 200, description = "The page (CatalogListJson), or with prove=true its proof", body = crate::common::OrProof<CatalogListJson>),
        (status = 400, description = "Bad number (`bad_number`) or query (`bad_query`, `bad_limit`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned, badly signed, stale, or by an unknown key", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an official of the dataset's owner (`not_an_official`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dataset (`unknown_dataset`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn dataset_requests(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let window = Window::of(query, LIST_PAGE_MAX)?;
    let id = parse_number(&id, "dataset")?;
    let who = signer_did(&node, &uri, &headers)?;
    let d = known_dataset(&node, id)?;
    official_of(&node, &d.owner, &who, &format!("the requests for dataset {id}"))?;
    list_page(&node, CatalogList::Requests(id), &window)
}

/// The uses of a dataset, in order: who used which version when, under which grant (signed
/// request by an official of its owner).
#[utoipa::path(
    get, path = "/v1/catalog/datasets/{id}/uses",
    params(
        ("id" = u64, Path, description = "The dataset's number"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `catalog_list`)"),
    ),
    responses(
        (status = 200, description = "The page (CatalogListJson), or with prove=true its proof", body = crate::common::OrProof<CatalogListJson>),
        (status = 400, description = "Bad number (`bad_number`) or query (`bad_query`, `bad_limit`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned, badly signed, stale, or by an unknown key", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an official of the dataset's owner (`not_an_official`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dataset (`unknown_dataset`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn dataset_uses(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let window = Window::of(query, LIST_PAGE_MAX)?;
    let id = parse_number(&id, "dataset")?;
    let who = signer_did(&node, &uri, &headers)?;
    let d = known_dataset(&node, id)?;
    official_of(&node, &d.owner, &who, &format!("the uses of dataset {id}"))?;
    list_page(&node, CatalogList::Uses(id), &window)
}

/// The uses of all of an owner's datasets, in order: who used what (signed request by an
/// official of that owner).
#[utoipa::path(
    get, path = "/v1/catalog/owners/{did}/uses",
    params(
        ("did" = String, Path, description = "The owner's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `catalog_list`)"),
    ),
    responses(
        (status = 200, description = "The page (CatalogListJson), or with prove=true its proof", body = crate::common::OrProof<CatalogListJson>),
        (status = 400, description = "Bad DID (`bad_did`) or query (`bad_query`, `bad_limit`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned, badly signed, stale, or by an unknown key", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an official of the owner (`not_an_official`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn owner_uses(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(did): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let window = Window::of(query, LIST_PAGE_MAX)?;
    let owner = parse_did(&did)?;
    let who = signer_did(&node, &uri, &headers)?;
    official_of(&node, &owner, &who, &format!("the uses of {owner}'s datasets"))?;
    list_page(&node, CatalogList::OwnerUses(owner), &window)
}

/// An organization's requests to use datasets, in order (numbers; signed request by an
/// official of that organization).
#[utoipa::path(
    get, path = "/v1/catalog/requesters/{did}/requests",
    params(
        ("did" = String, Path, description = "The requesting organization's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `catalog_list`)"),
    ),
    responses(
        (status = 200, description = "The page (CatalogListJson), or with prove=true its proof", body = crate::common::OrProof<CatalogListJson>),
        (status = 400, description = "Bad DID (`bad_did`) or query (`bad_query`, `bad_limit`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned, badly signed, stale, or by an unknown key", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an official of the organization (`not_an_official`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn requester_requests(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(did): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let window = Window::of(query, LIST_PAGE_MAX)?;
    let requester = parse_did(&did)?;
    let who = signer_did(&node, &uri, &headers)?;
    official_of(&node, &requester, &who, &format!("{requester}'s requests"))?;
    list_page(&node, CatalogList::Requested(requester), &window)
}
