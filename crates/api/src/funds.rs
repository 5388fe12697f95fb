//! Project funds routes: projects, contracts and payrolls (each provable), the module's lists
//! (provable pages: a worker proves their wages with one), and a project's OCDS 1.1 release
//! package. Everything here is public: the point of the module is that anyone can follow the
//! money.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::claims::fund::{FundListClaim, FundRecordClaim, record_key};
use civitas_client::fund::{ContractJson, FundListJson, PayrollJson, ProjectJson};
use civitas_client::fund_ocds::{ContractBook, ProjectBook};
use civitas_client::wire;
use civitas_execution::funds::query;
use civitas_node::Node;
use civitas_types::fund::{FundEntry, FundList, LIST_PAGE_MAX};

use crate::ApiError;
use crate::common::{NodeState, ProveParam, parse_did, parse_number, proof_doc, prove_item, prove_list};

/// Most contracts (each with its payments and subcontracts) an OCDS export reads.
const OCDS_CONTRACTS_MAX: u64 = 200;
/// Most payments per contract an OCDS export reads.
const OCDS_PAYMENTS_MAX: u64 = 2_000;

/// A list page's query: where to start, how many (at most 100, the default), and `prove`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParams {
    from: Option<u64>,
    limit: Option<u64>,
    prove: Option<bool>,
}

/// The project funds routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/funds/projects", get(projects))
        .route("/v1/funds/projects/{id}", get(project))
        .route("/v1/funds/projects/{id}/appropriations", get(appropriations))
        .route("/v1/funds/projects/{id}/contracts", get(contracts))
        .route("/v1/funds/projects/{id}/ocds", get(ocds))
        .route("/v1/funds/contracts/{id}", get(contract))
        .route("/v1/funds/contracts/{id}/subcontracts", get(subcontracts))
        .route("/v1/funds/contracts/{id}/payments", get(payments))
        .route("/v1/funds/contracts/{id}/payrolls", get(payrolls))
        .route("/v1/funds/payrolls/{id}", get(payroll))
        .route("/v1/funds/wages/{worker}", get(wages))
}

/// The project funds routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        projects,
        project,
        appropriations,
        contracts,
        ocds,
        contract,
        subcontracts,
        payments,
        payrolls,
        payroll,
        wages
    ),
    components(schemas(
        wire::Problem,
        wire::ProofJson,
        wire::ClaimJson,
        ProjectJson,
        ContractJson,
        PayrollJson,
        FundListJson
    ))
)]
pub(crate) struct Doc;

/// A record (`project/N`, `contract/N`, `payroll/N`) proven present: its proof document.
fn prove_record(node: &Node, record: String) -> Result<Response, ApiError> {
    let key = record_key(&record).map_err(|e| ApiError::bad_request("bad_record", e))?;
    let (proof, item) = prove_item(node, key)?;
    if item.value.is_none() {
        return Err(ApiError::not_yet_final());
    }
    let claim = wire::ClaimJson::FundRecord(FundRecordClaim { record, item });
    Ok(Json(proof_doc(node, &proof, claim)).into_response())
}

/// The block time of the latest state, in unix seconds.
fn block_time(s: &impl civitas_state::StateRead) -> Result<u64, civitas_state::StoreError> {
    Ok(civitas_execution::chain_tip(s)?.map_or(0, |(_, ms)| ms / 1000))
}

/// A project: its owner, overseers and amounts (appropriated, contracted, released, paid, and
/// what the escrow holds); with `prove=true`, a proof of it (`fund_record`).
#[utoipa::path(
    get, path = "/v1/funds/projects/{id}",
    params(
        ("id" = u64, Path, description = "The project's number"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `fund_record`)"),
    ),
    responses(
        (status = 200, description = "The project (ProjectJson), or with prove=true its proof", body = crate::common::OrProof<ProjectJson>),
        (status = 400, description = "Not a number, or a bad query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not in a finalized block yet", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn project(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let id = parse_number(&id, "project")?;
    let (p, n) = node.query(|s| Ok((query::project(s, id)?, query::list_len(s, &FundList::Contracts(id))?)))?;
    let p = p.ok_or_else(|| ApiError::not_found(format!("no project {id}")))?;
    if q.prove() {
        return prove_record(&node, format!("project/{id}"));
    }
    Ok(Json(ProjectJson::new(p, n)).into_response())
}

/// A contract or subcontract: its milestones (with which are overdue by block time), what it
/// released and paid; with `prove=true`, a proof of it (`fund_record`).
#[utoipa::path(
    get, path = "/v1/funds/contracts/{id}",
    params(
        ("id" = u64, Path, description = "The contract's number"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `fund_record`)"),
    ),
    responses(
        (status = 200, description = "The contract (ContractJson), or with prove=true its proof", body = crate::common::OrProof<ContractJson>),
        (status = 400, description = "Not a number, or a bad query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not in a finalized block yet", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn contract(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let id = parse_number(&id, "contract")?;
    let (c, at) = node.query(|s| Ok((query::contract(s, id)?, block_time(s)?)))?;
    let c = c.ok_or_else(|| ApiError::not_found(format!("no contract {id}")))?;
    if q.prove() {
        return prove_record(&node, format!("contract/{id}"));
    }
    Ok(Json(ContractJson::new(c, at)).into_response())
}

/// A payroll: the subcontract and milestone it is for, its lines (worker accounts and wages)
/// and whether it was paid; with `prove=true`, a proof of it (`fund_record`).
#[utoipa::path(
    get, path = "/v1/funds/payrolls/{id}",
    params(
        ("id" = u64, Path, description = "The payroll's number"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `fund_record`)"),
    ),
    responses(
        (status = 200, description = "The payroll (PayrollJson), or with prove=true its proof", body = crate::common::OrProof<PayrollJson>),
        (status = 400, description = "Not a number, or a bad query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such payroll", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not in a finalized block yet", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn payroll(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let id = parse_number(&id, "payroll")?;
    let r = node.query(|s| query::payroll(s, id))?.ok_or_else(|| ApiError::not_found(format!("no payroll {id}")))?;
    if q.prove() {
        return prove_record(&node, format!("payroll/{id}"));
    }
    Ok(Json(PayrollJson { payroll: r }).into_response())
}

/// A page of `list`, or with `prove` its proof: the count and each entry.
fn list_page(
    node: &Node,
    list: FundList,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let (from, limit) = (q.from.unwrap_or(0), q.limit.unwrap_or(LIST_PAGE_MAX));
    if limit == 0 || limit > LIST_PAGE_MAX {
        return Err(ApiError::bad_request("bad_limit", format!("limit is 1 to {LIST_PAGE_MAX}")));
    }
    if q.prove == Some(true) {
        let total = node.query(|s| query::list_len(s, &list))?;
        let end = total.min(from.saturating_add(limit)).max(from);
        let (proof, count, items) = prove_list(node, list.count_key(), |p| list.entry_key(p), from, end)?;
        let claim = FundListClaim { list: list.to_string(), from, count, entries: items };
        return Ok(Json(proof_doc(node, &proof, wire::ClaimJson::FundList(claim))).into_response());
    }
    let (total, entries) = node.query(|s| query::list_page(s, &list, from, limit))?;
    let end = from.saturating_add(entries.len() as u64);
    Ok(Json(FundListJson { list: list.to_string(), total, from, entries, next: (end < total).then_some(end) })
        .into_response())
}

/// Every project, in order (numbers).
#[utoipa::path(
    get, path = "/v1/funds/projects",
    params(
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `fund_list`)"),
    ),
    responses(
        (status = 200, description = "The page (FundListJson), or with prove=true its proof", body = crate::common::OrProof<FundListJson>),
        (status = 400, description = "Bad query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn projects(
    State(node): NodeState,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, FundList::Projects, query)
}

/// A project's appropriations, in order.
#[utoipa::path(
    get, path = "/v1/funds/projects/{id}/appropriations",
    params(
        ("id" = u64, Path, description = "The project's number"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `fund_list`)"),
    ),
    responses(
        (status = 200, description = "The page (FundListJson), or with prove=true its proof", body = crate::common::OrProof<FundListJson>),
        (status = 400, description = "Bad number or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn appropriations(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, FundList::Appropriations(parse_number(&id, "project")?), query)
}

/// A project's contracts, in order (numbers).
#[utoipa::path(
    get, path = "/v1/funds/projects/{id}/contracts",
    params(
        ("id" = u64, Path, description = "The project's number"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `fund_list`)"),
    ),
    responses(
        (status = 200, description = "The page (FundListJson), or with prove=true its proof", body = crate::common::OrProof<FundListJson>),
        (status = 400, description = "Bad number or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn contracts(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, FundList::Contracts(parse_number(&id, "project")?), query)
}

/// A contract's subcontracts, in order (numbers).
#[utoipa::path(
    get, path = "/v1/funds/contracts/{id}/subcontracts",
    params(
        ("id" = u64, Path, description = "The contract's number"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `fund_list`)"),
    ),
    responses(
        (status = 200, description = "The page (FundListJson), or with prove=true its proof", body = crate::common::OrProof<FundListJson>),
        (status = 400, description = "Bad number or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn subcontracts(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, FundList::Subcontracts(parse_number(&id, "contract")?), query)
}

/// The payments out of a contract's released milestones, in order.
#[utoipa::path(
    get, path = "/v1/funds/contracts/{id}/payments",
    params(
        ("id" = u64, Path, description = "The contract's number"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `fund_list`)"),
    ),
    responses(
        (status = 200, description = "The page (FundListJson), or with prove=true its proof", body = crate::common::OrProof<FundListJson>),
        (status = 400, description = "Bad number or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn payments(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, FundList::Payments(parse_number(&id, "contract")?), query)
}

/// The payrolls filed under a subcontract, in order (numbers).
#[utoipa::path(
    get, path = "/v1/funds/contracts/{id}/payrolls",
    params(
        ("id" = u64, Path, description = "The subcontract's number"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `fund_list`)"),
    ),
    responses(
        (status = 200, description = "The page (FundListJson), or with prove=true its proof", body = crate::common::OrProof<FundListJson>),
        (status = 400, description = "Bad number or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn payrolls(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, FundList::Payrolls(parse_number(&id, "subcontract")?), query)
}

/// The wages paid into a worker's account, in order: what a worker proves with `prove=true`.
#[utoipa::path(
    get, path = "/v1/funds/wages/{worker}",
    params(
        ("worker" = String, Path, description = "The worker's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `fund_list`)"),
    ),
    responses(
        (status = 200, description = "The page (FundListJson), or with prove=true its proof", body = crate::common::OrProof<FundListJson>),
        (status = 400, description = "Bad DID or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn wages(
    State(node): NodeState,
    Path(worker): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, FundList::Wages(parse_did(&worker)?), query)
}

fn numbers(entries: Vec<FundEntry>) -> Vec<u64> {
    entries.into_iter().filter_map(|e| if let FundEntry::Number { id } = e { Some(id) } else { None }).collect()
}

/// Reads all of `list` up to `max` entries, page by page.
fn read_all(
    s: &impl civitas_state::StateRead,
    list: &FundList,
    max: u64,
) -> Result<Vec<FundEntry>, civitas_state::StoreError> {
    let mut out = Vec::new();
    let mut from = 0;
    loop {
        let (total, page) = query::list_page(s, list, from, LIST_PAGE_MAX)?;
        from += page.len() as u64;
        out.extend(page);
        if from >= total.min(max) || out.is_empty() {
            return Ok(out);
        }
    }
}

/// A project as an OCDS 1.1 release package: a planning release per appropriation, an award
/// and a contract release per contract, and an implementation release with each contract's
/// payments as transactions (a payroll as one transaction to its workers, never naming them).
#[utoipa::path(
    get, path = "/v1/funds/projects/{id}/ocds",
    params(("id" = u64, Path, description = "The project's number")),
    responses(
        (status = 200, description = "The OCDS 1.1 release package", body = Object),
        (status = 400, description = "Not a number", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn ocds(State(node): NodeState, Path(id): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let id = parse_number(&id, "project")?;
    let chain_id = node.status().chain_id.clone();
    let base = format!("https://{chain_id}.civitas.example");
    let book = node.query(|s| {
        let Some(project) = query::project(s, id)? else { return Ok(None) };
        let (height, published_ms) = civitas_execution::chain_tip(s)?.unwrap_or((0, 0));
        let appropriations = read_all(s, &FundList::Appropriations(id), u64::MAX)?
            .into_iter()
            .filter_map(|e| if let FundEntry::Appropriation(a) = e { Some(a) } else { None })
            .collect();
        let mut contracts = Vec::new();
        let mut names = BTreeMap::new();
        for did in [project.owner, project.supervisor, project.finance].into_iter().chain(project.auditor) {
            if let Some(o) = civitas_execution::orgs::query::organization(s, &did)? {
                names.insert(did, o.name);
            }
        }
        for c_id in numbers(read_all(s, &FundList::Contracts(id), OCDS_CONTRACTS_MAX)?) {
            let Some(contract) = query::contract(s, c_id)? else { continue };
            let payments = read_all(s, &FundList::Payments(c_id), OCDS_PAYMENTS_MAX)?
                .into_iter()
                .filter_map(|e| if let FundEntry::Payment(p) = e { Some(p) } else { None })
                .collect();
            let mut subcontracts = Vec::new();
            for s_id in numbers(read_all(s, &FundList::Subcontracts(c_id), u64::MAX)?) {
                if let Some(sc) = query::contract(s, s_id)? {
                    subcontracts.push(sc);
                }
            }
            for did in std::iter::once(contract.contractor).chain(subcontracts.iter().map(|sc| sc.contractor)) {
                if let Some(o) = civitas_execution::orgs::query::organization(s, &did)? {
                    names.insert(did, o.name);
                }
            }
            contracts.push(ContractBook { contract, payments, subcontracts });
        }
        Ok(Some(ProjectBook {
            chain_id: chain_id.clone(),
            height,
            published_ms,
            project,
            appropriations,
            contracts,
            names,
        }))
    })?;
    let book = book.ok_or_else(|| ApiError::not_found(format!("no project {id}")))?;
    Ok(Json(civitas_client::fund_ocds::release_package(&book, &base)))
}
