//! The DID route: W3C DID resolution (`did:civitas` from chain state, `did:key` from the key),
//! or a proof of a DID's account, document and metadata.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::wire;
use civitas_node::Node;
use civitas_types::Did;
use serde::Deserialize;

use crate::ApiError;
use crate::common::{NodeState, blocking, proof_doc};

/// The DID routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new().route("/v1/dids/{did}", get(resolve_did))
}

/// The DID routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(resolve_did),
    components(schemas(
        wire::Problem,
        civitas_client::did::ResolutionJson,
        wire::ProofJson,
        wire::ClaimJson,
        wire::MerkleStepJson,
    ))
)]
pub(crate) struct Doc;

/// The resolution options (DID Resolution's `versionId` and `versionTime`) and `prove`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DidParams {
    #[serde(rename = "versionId")]
    version_id: Option<String>,
    #[serde(rename = "versionTime")]
    version_time: Option<String>,
    prove: Option<bool>,
}

/// A proof document of `did`'s account, document and metadata in the latest finalized state.
fn did_proof(node: &Node, did: &Did) -> Result<wire::ProofJson, ApiError> {
    let keys = [
        civitas_types::account::account_key(did),
        civitas_types::did_doc::doc_key(did),
        civitas_types::did_doc::meta_key(did),
    ];
    let proofs = node.prove_keys(&keys.each_ref().map(Vec::as_slice))?.ok_or_else(ApiError::not_yet_final)?;
    let item = |p: &civitas_node::StateProof| wire::StateItemJson {
        state_key: hex::encode(&p.key),
        value: p.value.as_ref().map(hex::encode),
        state_proof: hex::encode(&p.proof),
    };
    let [account, document, meta] = [&proofs[0], &proofs[1], &proofs[2]];
    let claim = wire::ClaimJson::Did(civitas_client::claims::did::DidClaim {
        did: did.to_string(),
        account: item(account),
        document: item(document),
        meta: item(meta),
    });
    Ok(proof_doc(node, account, claim))
}

/// A DID resolution result with its HTTP status (DID Resolution's HTTP binding: 400 for an
/// invalid DID or options, 404 not found, 410 deactivated, 501 for other methods).
fn resolution(status: StatusCode, r: civitas_client::did::ResolutionJson) -> axum::response::Response {
    (status, Json(r)).into_response()
}

/// Resolves a DID to a W3C DID Core 1.0 resolution result: `did:civitas` from chain state (any
/// version), `did:key` (Ed25519, P-256) from the key itself. Errors are resolution results too.
#[utoipa::path(
    get, path = "/v1/dids/{did}",
    params(
        ("did" = String, Path, description = "A `did:civitas:` or `did:key:` DID", pattern = "^did:(civitas:[0-9a-f]{40}|key:z[1-9A-HJ-NP-Za-km-z]{1,128})$"),
        ("versionId" = Option<String>, Query, description = "Resolve this version (1 is the creation)", pattern = "^[1-9][0-9]{0,19}$"),
        ("versionTime" = Option<String>, Query, description = "Resolve the version in effect at this RFC 3339 time", format = DateTime),
        ("prove" = Option<bool>, Query, description = "Instead, a proof document (ProofJson) of the DID's account, document and metadata in the latest finalized state"),
    ),
    responses(
        (status = 200, description = "The DID document with its metadata, or with prove=true the proof (ProofJson)", body = crate::common::OrProof<civitas_client::did::ResolutionJson>),
        (status = 400, description = "invalidDid or invalidOptions (a resolution result); `bad_query` (a problem document) for prove=true with a version", content(
            (civitas_client::did::ResolutionJson = "application/json"),
            (wire::Problem = "application/problem+json"),
        )),
        (status = 404, description = "notFound", body = civitas_client::did::ResolutionJson),
        (status = 410, description = "Deactivated: the document, with `deactivated: true`", body = civitas_client::did::ResolutionJson),
        (status = 501, description = "methodNotSupported", body = civitas_client::did::ResolutionJson),
        (status = 503, description = "prove=true before any block after genesis is finalized (`not_yet_final`, a problem document); retry shortly", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn resolve_did(
    State(node): NodeState,
    Path(did): Path<String>,
    params: Result<Query<DidParams>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    use civitas_client::did::{ResolutionJson, civitas_document, datetime, parse_datetime, resolve_did_key};
    use civitas_node::DidVersion;
    let Ok(Query(params)) = params else {
        let r = ResolutionJson::failed("invalidOptions", "the options are versionId and versionTime");
        return Ok(resolution(StatusCode::BAD_REQUEST, r));
    };
    if did.starts_with("did:key:") {
        let r = resolve_did_key(&did);
        let status = if r.error().is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        return Ok(resolution(status, r));
    }
    if did.starts_with("did:") && !did.starts_with("did:civitas:") {
        let r = ResolutionJson::failed("methodNotSupported", "this node resolves did:civitas and did:key");
        return Ok(resolution(StatusCode::NOT_IMPLEMENTED, r));
    }
    let Ok(parsed) = did.parse::<Did>() else {
        let r = ResolutionJson::failed("invalidDid", "a did:civitas DID is did:civitas: and 40 hex digits");
        return Ok(resolution(StatusCode::BAD_REQUEST, r));
    };
    if params.prove == Some(true) {
        if params.version_id.is_some() || params.version_time.is_some() {
            return Err(ApiError::bad_request("bad_query", "proofs are of the latest finalized version"));
        }
        return Ok(Json(blocking(move || did_proof(&node, &parsed)).await??).into_response());
    }
    let version = match (params.version_id.as_deref(), params.version_time.as_deref()) {
        (None, None) => DidVersion::Latest,
        (Some(v), None) => match v.parse::<u64>() {
            Ok(v) if v >= 1 => DidVersion::Id(v),
            _ => {
                let r = ResolutionJson::failed("invalidOptions", "versionId is a positive integer");
                return Ok(resolution(StatusCode::BAD_REQUEST, r));
            }
        },
        (None, Some(t)) => match parse_datetime(t) {
            Some(ms) => DidVersion::Time(ms),
            None => {
                let r = ResolutionJson::failed("invalidOptions", "versionTime is an RFC 3339 time");
                return Ok(resolution(StatusCode::BAD_REQUEST, r));
            }
        },
        (Some(_), Some(_)) => {
            let r = ResolutionJson::failed("invalidOptions", "give versionId or versionTime, not both");
            return Ok(resolution(StatusCode::BAD_REQUEST, r));
        }
    };
    let Some(resolved) = blocking(move || node.resolve_did(&parsed, version)).await?? else {
        return Ok(resolution(
            StatusCode::NOT_FOUND,
            ResolutionJson::failed("notFound", "no such DID (or version) on this chain"),
        ));
    };
    let m = &resolved.meta;
    let mut meta = serde_json::json!({
        "created": datetime(m.created_ms),
        "updated": datetime(m.updated_ms),
        "versionId": m.version.to_string(),
    });
    if m.deactivated {
        meta["deactivated"] = serde_json::Value::Bool(true);
    }
    if let Some((v, ms)) = resolved.next {
        meta["nextVersionId"] = serde_json::Value::String(v.to_string());
        meta["nextUpdate"] = serde_json::Value::String(datetime(ms));
    }
    let document = civitas_document(&parsed, &resolved.account_key, &resolved.document);
    let status = if m.deactivated { StatusCode::GONE } else { StatusCode::OK };
    Ok(resolution(status, ResolutionJson::found(document, meta)))
}
