//! Device log routes: a device's log (gateway and head, provable), its anchors, and one anchor
//! (provable: a gateway turns that proof into its events' receipts).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::claims::log::{LogAnchorClaim, LogHeadClaim};
use civitas_client::log::{AnchorJson, DeviceAnchorsJson, LogDeviceJson};
use civitas_client::wire;
use civitas_execution::logs::query;
use civitas_node::Node;
use civitas_types::log::{anchor_key, head_key};

use crate::ApiError;
use crate::common::{NodeState, ProveParam, parse_device, proof_doc, prove_item};

/// Most anchor numbers one page lists.
const ANCHORS_PAGE_MAX: u64 = 1000;

/// The device log routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/logs/devices/{device}", get(device))
        .route("/v1/logs/devices/{device}/anchors", get(device_anchors))
        .route("/v1/logs/anchors/{number}", get(anchor))
}

/// The device log routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(device, device_anchors, anchor),
    components(schemas(
        wire::Problem,
        wire::ProofJson,
        wire::ClaimJson,
        LogDeviceJson,
        AnchorJson,
        DeviceAnchorsJson
    ))
)]
pub(crate) struct Doc;

/// A device's log: the gateway its owner named and its head (the next sequence number, the
/// last anchored event's hash); with `prove=true`, a proof of the head (`log_head`).
#[utoipa::path(
    get, path = "/v1/logs/devices/{device}",
    params(
        ("device" = String, Path, description = "The device (did:key)", pattern = "^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{40,50}$"),
        ("prove" = Option<bool>, Query, description = "Return a proof of the head (ProofJson, claim `log_head`)"),
    ),
    responses(
        (status = 200, description = "The log (LogDeviceJson), or with prove=true the proof", body = crate::common::OrProof<LogDeviceJson>),
        (status = 400, description = "Not a device id", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such device (without prove)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn device(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let id = parse_device(&id)?;
    if q.prove() {
        let (proof, item) = prove_item(&node, head_key(&id))?;
        let claim = wire::ClaimJson::LogHead(LogHeadClaim { device: id.to_string(), item });
        return Ok(Json(proof_doc(&node, &proof, claim)).into_response());
    }
    let (passport, gateway, head, (anchors, _)) = node.query(|s| {
        Ok((
            civitas_execution::devices::query::passport(s, &id)?,
            query::gateway(s, &id)?,
            query::head(s, &id)?,
            query::device_anchors(s, &id, 0, 0)?,
        ))
    })?;
    if passport.is_none() {
        return Err(ApiError::not_found(format!("no device {id}")));
    }
    Ok(Json(LogDeviceJson { device: id, gateway, head, anchors }).into_response())
}

/// A page's query.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParams {
    from: Option<u64>,
    limit: Option<u64>,
}

/// The anchors holding a device's events, in order.
#[utoipa::path(
    get, path = "/v1/logs/devices/{device}/anchors",
    params(
        ("device" = String, Path, description = "The device (did:key)", pattern = "^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{40,50}$"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 1000 (default 1000)", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "The page", body = DeviceAnchorsJson),
        (status = 400, description = "Not a device id, or a bad query", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn device_anchors(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<DeviceAnchorsJson>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let id = parse_device(&id)?;
    let (from, limit) = (q.from.unwrap_or(0), q.limit.unwrap_or(ANCHORS_PAGE_MAX));
    if limit == 0 || limit > ANCHORS_PAGE_MAX {
        return Err(ApiError::bad_request("bad_limit", format!("limit is 1 to {ANCHORS_PAGE_MAX}")));
    }
    let (total, anchors) = node.query(|s| query::device_anchors(s, &id, from, limit))?;
    let end = from.saturating_add(anchors.len() as u64);
    Ok(Json(DeviceAnchorsJson { device: id, total, from, anchors, next: (end < total).then_some(end) }))
}

/// An anchor: a gateway's batch root and the devices' ranges it covers; with `prove=true`, a
/// proof of it (`log_anchor`), which the gateway turns into its events' receipts.
#[utoipa::path(
    get, path = "/v1/logs/anchors/{number}",
    params(
        ("number" = u64, Path, description = "The anchor's number"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `log_anchor`)"),
    ),
    responses(
        (status = 200, description = "The anchor (AnchorJson), or with prove=true the proof", body = crate::common::OrProof<AnchorJson>),
        (status = 400, description = "Not a number", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such anchor", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The anchor is not in a finalized block yet", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn anchor(
    State(node): NodeState,
    Path(number): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let number: u64 = number.parse().map_err(|_| ApiError::bad_request("bad_number", "an anchor is a number"))?;
    let anchor =
        node.query(|s| query::anchor(s, number))?.ok_or_else(|| ApiError::not_found(format!("no anchor {number}")))?;
    if q.prove() {
        let (proof, item) = prove_item(&node, anchor_key(number))?;
        if item.value.is_none() {
            return Err(ApiError::not_yet_final());
        }
        let claim = wire::ClaimJson::LogAnchor(LogAnchorClaim { anchor: number, item });
        return Ok(Json(proof_doc(&node, &proof, claim)).into_response());
    }
    Ok(Json(AnchorJson { number, anchor }).into_response())
}
