//! Audit trail routes: a page of official acts, and one entry (or a proof of it).

use civitas_execution::audit;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::wire;
use civitas_node::Node;
use serde::Deserialize;

use crate::ApiError;
use crate::common::{NodeState, ProveParam, blocking, parse_did, proof_doc};

/// The audit trail routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new().route("/v1/audit", get(audit)).route("/v1/audit/{index}", get(audit_entry))
}

/// The audit trail routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(audit, audit_entry),
    components(schemas(
        wire::Problem,
        wire::AuditEntryJson,
        wire::AuditPageJson,
        wire::ProofJson,
        wire::ClaimJson,
        wire::MerkleStepJson,
    ))
)]
pub(crate) struct Doc;

/// One audit trail entry; with `prove=true`, a proof document of it (see `docs/proofs.md`).
#[utoipa::path(
    get, path = "/v1/audit/{index}",
    params(
        ("index" = u64, Path, description = "The entry's number"),
        ("prove" = Option<bool>, Query, description = "Return a proof of the entry in the latest finalized state"),
    ),
    responses(
        (status = 200, description = "The entry (AuditEntryJson), or with prove=true the proof (ProofJson)", body = crate::common::OrProof<wire::AuditEntryJson>),
        (status = 400, description = "Bad number", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn audit_entry(
    State(node): NodeState,
    Path(index): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let index: u64 = index.parse().map_err(|_| ApiError::bad_request("bad_index", "an entry number is an integer"))?;
    let missing = || ApiError::not_found(format!("no audit entry {index}"));
    let (mut entries, _) = node.query(|s| audit::query::page(s, None, index, 1))?;
    let Some((_, entry)) = entries.pop() else { return Err(missing()) };
    if query.prove() {
        let key = civitas_types::audit::entry_key(index);
        let proof = node.prove(&key)?.ok_or_else(ApiError::not_yet_final)?;
        let Some(value) = proof.value.clone() else { return Err(missing()) };
        let claim = wire::ClaimJson::AuditEntry(civitas_client::claims::audit::AuditEntryClaim {
            index,
            state_key: hex::encode(&key),
            value: hex::encode(value),
            state_proof: hex::encode(&proof.proof),
        });
        return Ok(Json(proof_doc(&node, &proof, claim)).into_response());
    }
    Ok(Json(wire::AuditEntryJson {
        index,
        height: entry.height,
        timestamp_ms: entry.timestamp_ms,
        tx_hash: entry.tx_hash.to_hex(),
        org: entry.org.to_string(),
        official: entry.official.to_string(),
        instruction: entry.instruction,
    })
    .into_response())
}

/// The audit page's filter and window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    org: Option<String>,
    from: Option<u64>,
    limit: Option<u64>,
}

/// The audit trail of official acts, in order; all of it or one organization's.
#[utoipa::path(
    get, path = "/v1/audit",
    params(
        ("org" = Option<String>, Query, description = "Only this organization's acts", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("from" = Option<u64>, Query, description = "First position (default 0)"),
        ("limit" = Option<u64>, Query, description = "Page size, at most 1000 (default 100)", maximum = 1000),
    ),
    responses(
        (status = 200, description = "A page of entries", body = wire::AuditPageJson),
        (status = 400, description = "Bad query", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn audit(
    State(node): NodeState,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<wire::AuditPageJson>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let org = params.org.as_deref().map(parse_did).transpose()?;
    let from = params.from.unwrap_or(0);
    let limit = params.limit.unwrap_or(100);
    let max = civitas_node::AUDIT_PAGE_MAX;
    if limit > max {
        return Err(ApiError::bad_request("bad_query", format!("limit is at most {max}")));
    }
    let (entries, total) = blocking(move || node.query(|s| audit::query::page(s, org.as_ref(), from, limit))).await??;
    Ok(Json(wire::AuditPageJson {
        total,
        from,
        entries: entries
            .into_iter()
            .map(|(index, e)| wire::AuditEntryJson {
                index,
                height: e.height,
                timestamp_ms: e.timestamp_ms,
                tx_hash: e.tx_hash.to_hex(),
                org: e.org.to_string(),
                official: e.official.to_string(),
                instruction: e.instruction,
            })
            .collect(),
    }))
}
