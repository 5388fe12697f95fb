//! The account route: an account by DID, or a proof of it.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::wire::{self, AccountJson};
use civitas_node::Node;

use crate::ApiError;
use crate::common::{NodeState, ProveParam, changes_json, parse_did};

/// The account routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new().route("/v1/accounts/{did}", get(account))
}

/// The account routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(account),
    components(schemas(wire::Problem, wire::AccountJson, wire::ProofJson, wire::ClaimJson, wire::MerkleStepJson))
)]
pub(crate) struct Doc;

/// An account by DID; with `prove=true`, a proof document instead (see `docs/proofs.md`).
#[utoipa::path(
    get, path = "/v1/accounts/{did}",
    params(
        ("did" = String, Path, description = "A `did:civitas:` DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("prove" = Option<bool>, Query, description = "Return a proof of the account (or of its absence) in the latest finalized state"),
    ),
    responses(
        (status = 200, description = "The account (AccountJson), or with prove=true the proof (ProofJson)", body = crate::common::OrProof<AccountJson>),
        (status = 400, description = "Not a Civitas DID", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account (without prove)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn account(
    State(node): NodeState,
    Path(did): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let did = parse_did(&did)?;
    if query.prove() {
        let proof = node.prove(&civitas_types::account::account_key(&did))?.ok_or_else(ApiError::not_yet_final)?;
        return Ok(Json(
            wire::ProofJson::for_account(
                &node.status().chain_id,
                &did,
                &proof.header,
                &proof.certificate,
                &proof.key,
                proof.value.as_deref(),
                &proof.proof,
            )
            .with_changes(changes_json(&proof.validator_changes)),
        )
        .into_response());
    }
    let a = node.account(&did)?.ok_or_else(|| ApiError::not_found(format!("no account {did}")))?;
    Ok(Json(AccountJson {
        did: a.did.to_string(),
        public_key: a.public_key.to_hex(),
        nonce: a.nonce,
        balance: a.balance.to_string(),
        roles: a.roles.iter().map(|r| r.name().to_owned()).collect(),
    })
    .into_response())
}
