//! Credential routes: verify a presentation against the chain (issuer key from its DID
//! document, accreditation, credential type, anchored commitment, status, policy and consent),
//! read a credential's status, and the holder's access log and consents (signed reads: the
//! signer's key is the holder's).

use civitas_execution::{council, credentials, orgs};
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use civitas_client::sdjwt::{self, Expectations, VerifyingKey};
use civitas_client::wire::{self, CredentialVerifyRequest as VerifyRequest, VerificationJson};
use civitas_node::{DidVersion, Node};
use civitas_types::credential::CredentialStatus;
use civitas_types::did_doc::Relations;
use civitas_types::{Did, Hash};
use serde::Deserialize;

use crate::ApiError;
use crate::common::{NodeState, ProveParam, blocking, proof_doc, signer_key};

/// The credential routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/credentials/verify", post(verify))
        .route("/v1/credentials/status/{issuer}/{index}", get(status))
        .route("/v1/credentials/status-list/{issuer}/{chunk}", get(status_list))
        .route("/v1/credentials/access", get(access))
        .route("/v1/credentials/consents", get(consents))
}

/// The credential routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(verify, status, status_list, access, consents),
    components(schemas(
        wire::Problem,
        wire::CredentialVerifyRequest,
        wire::VerificationJson,
        wire::ProofJson,
        wire::ClaimJson,
        wire::MerkleStepJson,
    ))
)]
pub(crate) struct Doc;

fn failed(outcome: &str, detail: impl Into<String>) -> VerificationJson {
    VerificationJson {
        valid: false,
        outcome: outcome.to_owned(),
        detail: detail.into(),
        issuer: None,
        vct: None,
        claims: serde_json::Value::Null,
        disclosed: vec![],
        holder_ref: None,
        presentation: None,
    }
}

/// The issuer's key named by `kid` (`#key-0` is the account key; others must be in the
/// document's assertion methods).
fn issuer_key(
    node: &Node,
    issuer: &Did,
    kid: Option<&str>,
) -> Result<Result<VerifyingKey, (String, String)>, ApiError> {
    let Some(resolved) = node.resolve_did(issuer, DidVersion::Latest)? else {
        return Ok(Err(("unknown_issuer".into(), format!("no DID {issuer}"))));
    };
    if resolved.meta.deactivated {
        return Ok(Err(("issuer_deactivated".into(), format!("{issuer} is deactivated"))));
    }
    let fragment = kid.map_or("key-0", |k| k.rsplit('#').next().unwrap_or(k));
    if fragment == "key-0" {
        return Ok(
            VerifyingKey::ed25519(&resolved.account_key).ok_or(("unknown_issuer_key".into(), "bad account key".into()))
        );
    }
    let Some(method) = resolved.document.method(fragment, Relations::ASSERTION_METHOD) else {
        return Ok(Err(("unknown_issuer_key".into(), format!("{issuer} has no assertion method #{fragment}"))));
    };
    let key = VerifyingKey::from_key_material(&method.key);
    Ok(key.ok_or(("unknown_issuer_key".into(), "the method's key is not a curve point".into())))
}

/// Verifies a presentation against the chain. Does not write: the verifier records the
/// outcome with `record_access` (`civitas credential verify --record`).
#[utoipa::path(
    post, path = "/v1/credentials/verify",
    request_body = wire::CredentialVerifyRequest,
    responses(
        (status = 200, description = "The verification's outcome (valid or not)", body = wire::VerificationJson),
        (status = 400, description = "Malformed request", body = wire::Problem, content_type = "application/problem+json"),
        (status = 413, description = "A presentation over 64 KiB (`body_too_large`)", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn verify(
    State(node): NodeState,
    body: Result<Json<VerifyRequest>, JsonRejection>,
) -> Result<Json<VerificationJson>, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_request("bad_json", e.body_text()))?;
    if req.presentation.len() > sdjwt::PRESENTATION_BYTES_MAX {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "presentation over 64 KiB"));
    }
    let verifier: Did =
        req.aud.parse().map_err(|e: civitas_types::DidError| ApiError::bad_request("bad_did", format!("aud: {e}")))?;
    let node2 = node.clone();
    let result = blocking(move || check(&node2, &req, &verifier)).await??;
    Ok(Json(result))
}

fn check(node: &Node, req: &VerifyRequest, verifier: &Did) -> Result<VerificationJson, ApiError> {
    let seen = match sdjwt::inspect(&req.presentation) {
        Ok(s) => s,
        Err(e) => return Ok(failed(e.code(), e.to_string())),
    };
    let mut out = failed("ok", "");
    out.issuer = Some(seen.issuer.clone());
    out.vct = Some(seen.vct.clone());
    out.presentation = Some(hex::encode(seen.presentation));
    let fail = |mut out: VerificationJson, code: &str, detail: String| {
        out.outcome = code.to_owned();
        out.detail = detail;
        Ok(out)
    };
    let Ok(issuer) = seen.issuer.parse::<Did>() else {
        return fail(out, "unknown_issuer", format!("iss {} is not a did:civitas DID", seen.issuer));
    };
    let key = match issuer_key(node, &issuer, seen.kid.as_deref())? {
        Ok(k) => k,
        Err((code, detail)) => return fail(out, &code, detail),
    };
    let now = civitas_node::consensus::now_ms() / 1000;
    let expect = Expectations {
        now,
        typ: Some(sdjwt::VC_TYP),
        key_binding: Some((req.aud.as_str(), req.nonce.as_str())),
        kb_max_age_secs: 300,
    };
    let verified = match sdjwt::verify(&req.presentation, |_, _| Ok(key), &expect) {
        Ok(v) => v,
        Err(e) => return fail(out, e.code(), e.to_string()),
    };
    out.holder_ref = verified.holder.as_ref().map(|h| hex::encode(h.thumbprint()));
    out.disclosed = verified.disclosed.clone();
    if node.query(|s| council::query::accredited(s, &issuer, &seen.vct))?.is_none() {
        return fail(out, "not_accredited", format!("{issuer} is not accredited for {}", seen.vct));
    }
    let Some(kind) = node.query(|s| credentials::query::credential_type(s, &issuer, &seen.vct))? else {
        return fail(out, "unknown_credential_type", format!("{issuer} defined no type {}", seen.vct));
    };
    let Some(index) = seen.status_index.and_then(|i| u32::try_from(i).ok()) else {
        return fail(out, "no_status", "the credential has no status list entry".into());
    };
    let Some((anchor, status)) = node.query(|s| credentials::query::anchor_with_status(s, &issuer, index))? else {
        return fail(out, "unanchored_credential", format!("nothing is anchored at entry {index}"));
    };
    if anchor.commitment != Hash(seen.commitment) || anchor.vct != seen.vct {
        return fail(out, "commitment_mismatch", "the credential is not the one anchored at its entry".into());
    }
    match status {
        CredentialStatus::Valid => {}
        CredentialStatus::Revoked => return fail(out, "credential_revoked", "the issuer revoked it".into()),
        CredentialStatus::Suspended => return fail(out, "credential_suspended", "the issuer suspended it".into()),
    }
    let verifier_kind = node.query(|s| orgs::query::organization(s, verifier))?.map(|o| o.kind);
    let Some(verifier_kind) = verifier_kind else {
        return fail(out, "unknown_verifier", format!("{verifier} is not an organization"));
    };
    if !kind.policy.allows(verifier_kind, &verified.disclosed) {
        return fail(out, "policy_forbids", "the issuer's policy keeps these claims from this kind of verifier".into());
    }
    match req.consent {
        None if kind.policy.holder_consent => {
            return fail(out, "consent_required", "the issuer's policy requires the holder's consent".into());
        }
        None => {}
        Some(id) => {
            let v = civitas_node::ConsentedVerification {
                verifier,
                issuer: &issuer,
                vct: &seen.vct,
                purpose: &req.purpose,
                disclosed: &verified.disclosed,
            };
            let height = node.next_height();
            if let Err(e) = node.query(|s| credentials::query::consent_covers(s, id, &v, height))? {
                return fail(out, e.code(), e.to_string());
            }
        }
    }
    out.valid = true;
    out.claims = serde_json::Value::Object(verified.claims);
    Ok(out)
}

/// The entries of the status-list chunk holding `index` (all valid if none was ever set).
fn chunk_entries(node: &Node, issuer: &Did, index: u32) -> Result<Vec<u8>, ApiError> {
    use civitas_types::credential::set_in_chunk;
    let stored = node.query(|s| credentials::query::status_chunk(s, issuer, index))?;
    Ok(stored.unwrap_or_else(|| set_in_chunk(None, index, CredentialStatus::Valid)))
}

/// A proof document of the status-list chunk holding `index`.
fn chunk_proof(node: &Node, issuer: &Did, index: u32) -> Result<wire::ProofJson, ApiError> {
    let key = civitas_types::credential::status_chunk_key(issuer, index);
    let (proof, chunk) = crate::common::prove_item(node, key)?;
    let claim = wire::ClaimJson::CredentialStatus(civitas_client::claims::credential::CredentialStatusClaim {
        issuer: issuer.to_string(),
        index,
        chunk,
    });
    Ok(proof_doc(node, &proof, claim))
}

/// A credential's status, from the issuer's status list; with `prove=true`, a proof document
/// of the list chunk holding it.
#[utoipa::path(
    get, path = "/v1/credentials/status/{issuer}/{index}",
    params(
        ("issuer" = String, Path, description = "The issuer's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("index" = u32, Path, description = "The status list entry"),
        ("prove" = Option<bool>, Query, description = "Return a proof of the chunk"),
    ),
    responses(
        (status = 200, description = "`{status, commitment, vct}`, or with prove=true a proof (ProofJson)", body = serde_json::Value),
        (status = 400, description = "Bad DID or index", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Nothing anchored there", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn status(
    State(node): NodeState,
    Path((issuer, index)): Path<(String, String)>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let issuer: Did =
        issuer.parse().map_err(|e: civitas_types::DidError| ApiError::bad_request("bad_did", e.to_string()))?;
    let index: u32 = index.parse().map_err(|_| ApiError::bad_request("bad_index", "a status entry is an integer"))?;
    let (anchor, status) = node
        .query(|s| credentials::query::anchor_with_status(s, &issuer, index))?
        .ok_or_else(|| ApiError::not_found(format!("nothing is anchored at {issuer}'s entry {index}")))?;
    if query.prove() {
        return Ok(Json(chunk_proof(&node, &issuer, index)?).into_response());
    }
    // The chunk holding the entry, as a Token Status List `status_list` (for the issuer to sign
    // into a status list token: `civitas credential status-list-token`).
    use civitas_types::credential::STATUS_CHUNK_ENTRIES;
    let chunk = chunk_entries(&node, &issuer, index)?;
    Ok(Json(serde_json::json!({
        "issuer": issuer.to_string(), "index": index, "status": status.name(),
        "commitment": anchor.commitment.to_hex(), "vct": anchor.vct, "anchored_height": anchor.height,
        "chunk": index / STATUS_CHUNK_ENTRIES, "index_in_chunk": index % STATUS_CHUNK_ENTRIES,
        "status_list": sdjwt::status_list::encode(&chunk),
    }))
    .into_response())
}

/// Chunk `chunk` of the issuer's status list (entries `chunk·4096` to `chunk·4096 + 4095`) as a
/// Token Status List `status_list` object; with `prove=true`, a proof document of the chunk.
#[utoipa::path(
    get, path = "/v1/credentials/status-list/{issuer}/{chunk}",
    params(
        ("issuer" = String, Path, description = "The issuer's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("chunk" = u32, Path, description = "The chunk (status entry / 4096), 0 to 255", minimum = 0, maximum = 255),
        ("prove" = Option<bool>, Query, description = "Return a proof of the chunk"),
    ),
    responses(
        (status = 200, description = "`{issuer, chunk, status_list: {bits, lst}}`, or a proof (ProofJson)", body = serde_json::Value),
        (status = 400, description = "Bad DID or chunk", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "prove=true before any block after genesis is finalized (`not_yet_final`); retry shortly", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn status_list(
    State(node): NodeState,
    Path((issuer, chunk)): Path<(String, String)>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    use civitas_types::credential::{STATUS_CHUNK_ENTRIES, STATUS_LIST_SIZE};
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let issuer: Did =
        issuer.parse().map_err(|e: civitas_types::DidError| ApiError::bad_request("bad_did", e.to_string()))?;
    let chunk: u32 = chunk
        .parse()
        .ok()
        .filter(|c| *c < STATUS_LIST_SIZE / STATUS_CHUNK_ENTRIES)
        .ok_or_else(|| ApiError::bad_request("bad_chunk", "a chunk is 0 to 255"))?;
    let first = chunk * STATUS_CHUNK_ENTRIES;
    if query.prove() {
        return Ok(Json(chunk_proof(&node, &issuer, first)?).into_response());
    }
    let entries = chunk_entries(&node, &issuer, first)?;
    Ok(Json(serde_json::json!({
        "issuer": issuer.to_string(), "chunk": chunk, "first_index": first,
        "status_list": sdjwt::status_list::encode(&entries),
    }))
    .into_response())
}

/// The access log's window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParams {
    from: Option<u64>,
    limit: Option<u64>,
    holder_key: Option<String>,
}

/// The key a holder's credentials bind, for its access log: the signing (account) key, or the
/// `authentication` method `fragment` of the signer's own DID document (a P-256 wallet key).
fn holder_binding(
    node: &Node,
    signer: &civitas_types::PublicKey,
    fragment: Option<&str>,
) -> Result<VerifyingKey, ApiError> {
    let account_key =
        || VerifyingKey::ed25519(signer).ok_or_else(|| ApiError::bad_request("bad_key", "not a curve point"));
    let Some(fragment) = fragment.map(|f| f.trim_start_matches('#')).filter(|f| *f != "key-0") else {
        return account_key();
    };
    let account = node
        .query(|s| civitas_execution::accounts::query::account_by_key(s, signer))?
        .ok_or_else(|| ApiError::bad_request("unknown_signer", "no account has the signing key"))?;
    let document = node.query(|s| civitas_execution::dids::query::document(s, &account.did))?;
    let method = document.method(fragment, Relations::AUTHENTICATION).ok_or_else(|| {
        ApiError::bad_request("unknown_holder_key", format!("{} has no authentication method #{fragment}", account.did))
    })?;
    let key = VerifyingKey::from_key_material(&method.key);
    key.ok_or_else(|| ApiError::bad_request("bad_key", "the method's key is not a curve point"))
}

/// The access log about the caller, a holder (signed request: the holder reference is the
/// thumbprint of the signing key, or, with `holder_key`, of that authentication method of the
/// signer's own DID document: the key its credentials bind).
#[utoipa::path(
    get, path = "/v1/credentials/access",
    params(
        ("from" = Option<u64>, Query, description = "Position to start at"),
        ("limit" = Option<u64>, Query, description = "At most this many (1 to 100)", minimum = 1, maximum = 100),
        ("holder_key" = Option<String>, Query, description = "An authentication method of the signer's DID document whose credentials' log to read (default `key-0`, the signing key)", pattern = "^#?[A-Za-z0-9._-]{1,64}$"),
    ),
    responses(
        (status = 200, description = "The entries about the signer", body = serde_json::Value),
        (status = 400, description = "An unknown or malformed query parameter (`bad_query`), a limit outside 1 to 100 (`bad_limit`), or a `holder_key` the signer's DID document has no authentication method for (`unknown_holder_key`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned or badly signed", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn access(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(20);
    if limit == 0 || limit > 100 {
        return Err(ApiError::bad_request("bad_limit", "limit is 1 to 100"));
    }
    let key = signer_key(&uri, &headers)?;
    let holder = holder_binding(&node, &key, q.holder_key.as_deref())?;
    let holder_ref = Hash(holder.thumbprint());
    let (entries, next) =
        node.query(|s| credentials::query::access_about(s, &holder_ref, q.from.unwrap_or(0), limit))?;
    let entries: Vec<serde_json::Value> = entries
        .iter()
        .map(|(n, e)| {
            serde_json::json!({
                "index": n, "verifier": e.verifier.to_string(), "official": e.official.to_string(),
                "issuer": e.issuer.to_string(), "vct": e.vct, "purpose": e.purpose, "consent": e.consent,
                "disclosed": e.disclosed, "outcome": e.outcome, "height": e.height, "timestamp_ms": e.timestamp_ms,
                "presentation": e.presentation.to_hex(),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "holder_ref": holder_ref.to_hex(), "entries": entries, "next": next })))
}

/// A page of the caller's consents.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentParams {
    from: Option<u64>,
    limit: Option<u64>,
}

/// The consents the caller granted, with their numbers (signed request: the signer's account
/// is the holder): what a holder cites when a verifier, or a rental listing, uses one.
#[utoipa::path(
    get, path = "/v1/credentials/consents",
    params(
        ("from" = Option<u64>, Query, description = "Position in the holder's list to start at"),
        ("limit" = Option<u64>, Query, description = "At most this many (1 to 100)", minimum = 1, maximum = 100),
    ),
    responses(
        (status = 200, description = "The signer's consents: number, verifier, issuer, type, purpose, claims, lifetime, uses, approval, withdrawal", body = serde_json::Value),
        (status = 400, description = "An unknown or malformed query parameter (`bad_query`) or a limit outside 1 to 100 (`bad_limit`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned or badly signed, or a key with no account (`unknown_signer`)", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn consents(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<ConsentParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(20);
    if limit == 0 || limit > 100 {
        return Err(ApiError::bad_request("bad_limit", "limit is 1 to 100"));
    }
    let key = signer_key(&uri, &headers)?;
    let account = node
        .query(|s| civitas_execution::accounts::query::account_by_key(s, &key))?
        .ok_or_else(|| crate::common::unauthorized("unknown_signer", "no account has the signing key"))?;
    let (page, next) = node.query(|s| credentials::query::consents_of(s, &account.did, q.from.unwrap_or(0), limit))?;
    let consents: Vec<serde_json::Value> = page
        .iter()
        .map(|(id, c)| {
            let approval = match c.approval {
                civitas_types::credential::Approval::NotRequired => serde_json::json!("not_required"),
                civitas_types::credential::Approval::Pending => serde_json::json!("pending"),
                civitas_types::credential::Approval::Approved(h) => serde_json::json!({ "approved_at_height": h }),
            };
            serde_json::json!({
                "id": id, "verifier": c.verifier.to_string(), "issuer": c.issuer.to_string(), "vct": c.vct,
                "purpose": c.purpose, "claims": c.claims, "expires_height": c.expires_height,
                "max_uses": c.max_uses, "uses": c.uses, "approval": approval, "withdrawn": c.withdrawn,
                "granted_height": c.granted_height,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "holder": account.did.to_string(), "consents": consents, "next": next })))
}
