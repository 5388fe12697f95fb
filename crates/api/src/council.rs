//! Governance routes: the council, its proposals, and the validator set it governs.

use civitas_execution::council;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::wire;
use civitas_node::Node;

use crate::ApiError;
use crate::common::NodeState;

/// The council and validator routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/council", get(council))
        .route("/v1/council/proposals/{id}", get(proposal))
        .route("/v1/validators", get(validators))
}

/// The council and validator routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(council, proposal, validators),
    components(schemas(
        wire::Problem,
        wire::CouncilJson,
        wire::ProposalJson,
        wire::ValidatorSetJson,
        wire::ValidatorJson,
    ))
)]
pub(crate) struct Doc;

/// The council: its member departments and threshold.
#[utoipa::path(
    get, path = "/v1/council",
    responses((status = 200, description = "The council", body = wire::CouncilJson))
)]
async fn council(State(node): NodeState) -> Result<Json<wire::CouncilJson>, ApiError> {
    let (members, threshold) = node.query(|s| Ok((council::query::members(s)?, council::query::threshold(s)?)))?;
    Ok(Json(wire::CouncilJson { members: members.iter().map(ToString::to_string).collect(), threshold }))
}

/// The validator set that finalizes the next block: its epoch, and each validator's key,
/// p2p address and department.
#[utoipa::path(
    get, path = "/v1/validators",
    responses((status = 200, description = "The validator set", body = wire::ValidatorSetJson))
)]
async fn validators(State(node): NodeState) -> Result<Json<wire::ValidatorSetJson>, ApiError> {
    Ok(Json(wire::ValidatorSetJson::from_set(&node.validators()?)))
}

/// A council proposal.
#[utoipa::path(
    get, path = "/v1/council/proposals/{id}",
    params(("id" = u64, Path, description = "The proposal's number")),
    responses(
        (status = 200, description = "The proposal", body = wire::ProposalJson),
        (status = 400, description = "Bad number", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposal", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn proposal(State(node): NodeState, Path(id): Path<String>) -> Result<Json<wire::ProposalJson>, ApiError> {
    use civitas_types::council::ProposalStatus;
    let id: u64 = id.parse().map_err(|_| ApiError::bad_request("bad_proposal", "a proposal number is an integer"))?;
    let p = node
        .query(|s| council::query::proposal(s, id))?
        .ok_or_else(|| ApiError::not_found(format!("no proposal {id}")))?;
    let (status, executed_height) = match p.status {
        ProposalStatus::Open => ("open", None),
        ProposalStatus::Executed(h) => ("executed", Some(h)),
    };
    Ok(Json(wire::ProposalJson {
        id: p.id,
        action: p.action.clone(),
        proposer: p.proposer.to_string(),
        created_height: p.created_height,
        expires_height: p.expires_height,
        approvals: p.approvals.iter().map(ToString::to_string).collect(),
        status: status.into(),
        executed_height,
    }))
}
