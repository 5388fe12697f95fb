//! Organization routes: an organization, and an official's role in one.

use civitas_execution::orgs;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::wire;
use civitas_node::Node;

use crate::ApiError;
use crate::common::{NodeState, parse_did};

/// The organization routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new().route("/v1/orgs/{did}", get(organization)).route("/v1/orgs/{did}/officials/{member}", get(official))
}

/// The organization routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(organization, official), components(schemas(wire::Problem, wire::OrgJson, wire::OfficialJson)))]
pub(crate) struct Doc;

/// An organization by DID.
#[utoipa::path(
    get, path = "/v1/orgs/{did}",
    params(("did" = String, Path, description = "The organization's DID", pattern = "^did:civitas:[0-9a-f]{40}$")),
    responses(
        (status = 200, description = "The organization", body = wire::OrgJson),
        (status = 400, description = "Not a Civitas DID", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not an organization", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn organization(State(node): NodeState, Path(did): Path<String>) -> Result<Json<wire::OrgJson>, ApiError> {
    let did = parse_did(&did)?;
    let o = node
        .query(|s| orgs::query::organization(s, &did))?
        .ok_or_else(|| ApiError::not_found(format!("{did} is not an organization")))?;
    Ok(Json(wire::OrgJson {
        did: did.to_string(),
        kind: o.kind.name().into(),
        name: o.name,
        functions: o.functions.iter().map(|f| f.name().to_owned()).collect(),
        registered_height: o.registered_height,
        registered_by: o.registered_by.map(|d| d.to_string()),
    }))
}

/// An official's role in an organization.
#[utoipa::path(
    get, path = "/v1/orgs/{did}/officials/{member}",
    params(
        ("did" = String, Path, description = "The organization's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("member" = String, Path, description = "The official's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
    ),
    responses(
        (status = 200, description = "The role", body = wire::OfficialJson),
        (status = 400, description = "Not a Civitas DID", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization or no role in it", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn official(
    State(node): NodeState,
    Path((org, member)): Path<(String, String)>,
) -> Result<Json<wire::OfficialJson>, ApiError> {
    let (org, member) = (parse_did(&org)?, parse_did(&member)?);
    let role = node
        .query(|s| orgs::query::role(s, &org, &member))?
        .ok_or_else(|| ApiError::not_found(format!("{member} holds no role in {org}")))?;
    Ok(Json(wire::OfficialJson { org: org.to_string(), member: member.to_string(), role: role.name().into() }))
}
