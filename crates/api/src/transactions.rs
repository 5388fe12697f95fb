//! Transaction routes: submit one, submit a batch, and read a transaction's status (or prove
//! its inclusion).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use civitas_client::wire::{self, BatchItem, BatchResponse, SubmitResponse, TransactionJson, TxState, TxStatusJson};
use civitas_node::{Node, TxStatus};
use civitas_types::codec::Decode;
use civitas_types::{Hash, SignedTransaction};

use crate::common::{NodeState, ProveParam, blocking, changes_json, outcome_fields};
use crate::{ApiError, BATCH_BODY_BYTES_MAX, TX_BODY_BYTES_MAX};

/// The transaction routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/batch", post(submit_batch))
        .route("/v1/transactions/{hash}", get(tx_status))
}

/// The transaction routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(submit, submit_batch, tx_status),
    components(schemas(
        wire::Problem,
        wire::TransactionJson,
        wire::SubmitResponse,
        wire::BatchResponse,
        wire::BatchItem,
        wire::TxStatusJson,
        wire::TxState,
        wire::ProofJson,
        wire::ClaimJson,
        wire::MerkleStepJson,
    ))
)]
pub(crate) struct Doc;

/// Reads at most `limit` bytes of `body`, so that an oversized submission is refused (413)
/// before it is held in memory whole.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", format!("request body is over {limit} bytes"))
    })
}

/// Whether the body is a transaction's JSON form rather than its binary encoding.
fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"))
}

/// Submit one transaction.
#[utoipa::path(
    post, path = "/v1/transactions",
    request_body(
        content((TransactionJson = "application/json"), (Vec<u8> = "application/octet-stream")),
        description = "A signed transaction: its JSON form, or its canonical binary encoding."
    ),
    responses(
        (status = 202, description = "Admitted to the mempool", body = SubmitResponse),
        (status = 400, description = "Malformed, wrong chain, bad signature, unknown signer, expired", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already pending or committed, or nonce used", body = wire::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Mempool full (`mempool_full`), or the node is catching up (`syncing`); retry after `Retry-After` seconds, or send it to another node", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn submit(State(node): NodeState, headers: HeaderMap, body: Body) -> Result<impl IntoResponse, ApiError> {
    let bytes = read_body(body, TX_BODY_BYTES_MAX).await?;
    let tx = if is_json(&headers) {
        // The path names the field (`instructions[1]`); serde's message names the instruction,
        // the field within it and the bad value.
        let json: TransactionJson =
            wire::json_at_path(&bytes).map_err(|e| ApiError::bad_request("malformed_json", e))?;
        json.to_signed().map_err(|e| ApiError::bad_request("malformed_transaction", e.to_string()))?
    } else {
        SignedTransaction::decode(&bytes).map_err(|e| ApiError::bad_request("malformed_transaction", e.to_string()))?
    };
    let result = blocking(move || node.submit(vec![tx])).await?;
    let hash = result.into_iter().next().expect("one result per transaction")?;
    Ok((StatusCode::ACCEPTED, Json(SubmitResponse { hash: hash.to_hex() })))
}

/// Submit up to 10 000 transactions in one binary body; signatures are verified as a batch.
#[utoipa::path(
    post, path = "/v1/transactions/batch",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "A u32 count, then each transaction's canonical encoding with a u32 length prefix (big-endian)."),
    responses(
        (status = 200, description = "One result per transaction, in order", body = BatchResponse),
        (status = 400, description = "The batch framing is broken", body = wire::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn submit_batch(State(node): NodeState, body: Body) -> Result<Json<BatchResponse>, ApiError> {
    let bytes = read_body(body, BATCH_BODY_BYTES_MAX).await?;
    let decoded = wire::decode_batch(&bytes).map_err(|e| ApiError::bad_request("malformed_batch", e.to_string()))?;
    let results = blocking(move || {
        let (ok, errs): (Vec<_>, Vec<_>) = decoded.into_iter().enumerate().partition(|(_, r)| r.is_ok());
        let mut out: Vec<Option<BatchItem>> = vec![None; ok.len() + errs.len()];
        for (i, e) in errs {
            let e = e.expect_err("partitioned on is_ok");
            out[i] =
                Some(BatchItem { hash: None, code: Some("malformed_transaction".into()), detail: Some(e.to_string()) });
        }
        let (idx, txs): (Vec<usize>, Vec<SignedTransaction>) =
            ok.into_iter().map(|(i, r)| (i, r.expect("partitioned on is_ok"))).unzip();
        for (i, r) in idx.into_iter().zip(node.submit(txs)) {
            out[i] = Some(match r {
                Ok(h) => BatchItem { hash: Some(h.to_hex()), code: None, detail: None },
                Err(e) => BatchItem { hash: None, code: Some(e.code().into()), detail: Some(e.to_string()) },
            });
        }
        out.into_iter().map(|o| o.expect("every index is filled")).collect()
    })
    .await?;
    Ok(Json(BatchResponse { results }))
}

/// Parses a transaction hash from the path, as `bad_hash`.
fn parse_hash(s: &str) -> Result<Hash, ApiError> {
    Hash::from_hex(s).map_err(|_| ApiError::bad_request("bad_hash", "a transaction hash is 64 hex digits"))
}

/// A transaction's status; with `prove=true`, a proof of its inclusion and receipt.
#[utoipa::path(
    get, path = "/v1/transactions/{hash}",
    params(
        ("hash" = String, Path, description = "Transaction hash, 64 hex digits", pattern = "^[0-9a-fA-F]{64}$"),
        ("prove" = Option<bool>, Query, description = "Return a proof document of its inclusion and receipt (committed transactions only)"),
    ),
    responses(
        (status = 200, description = "Pending, committed, failed or dropped (TxStatusJson: a dropped transaction can never run, `error_code` says why: `nonce_used` or `expired`), or with prove=true the proof (ProofJson)", body = crate::common::OrProof<TxStatusJson>),
        (status = 409, description = "prove=true on a transaction not committed yet", body = wire::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Not a hash", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown to this node", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn tx_status(
    State(node): NodeState,
    Path(hash): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let hash = parse_hash(&hash)?;
    if query.prove() {
        let Some(p) = node.prove_tx(&hash)? else {
            return Err(match node.tx_status(&hash)? {
                TxStatus::Pending => {
                    ApiError::new(StatusCode::CONFLICT, "not_committed", "the transaction is still pending")
                }
                _ => ApiError::not_found(format!("no committed transaction {hash}")),
            });
        };
        let claim = wire::ClaimJson::Transaction(civitas_client::claims::transaction::TransactionClaim {
            tx_hash: hash.to_hex(),
            tx_path: wire::path_json(&p.tx_path),
            receipt: hex::encode(civitas_types::codec::Encode::encode(&p.receipt)),
            receipt_path: wire::path_json(&p.receipt_path),
        });
        let doc = wire::ProofJson::new(&node.status().chain_id, &p.header, &p.certificate, claim)
            .with_changes(changes_json(&p.validator_changes));
        return Ok(Json(doc).into_response());
    }
    let json = match node.tx_status(&hash)? {
        TxStatus::Unknown => return Err(ApiError::not_found(format!("no transaction {hash}"))),
        TxStatus::Dropped(d) => TxStatusJson {
            hash: hash.to_hex(),
            status: TxState::Dropped,
            height: None,
            index: None,
            error_code: Some(d.code.to_owned()),
            error_message: Some(d.message),
        },
        TxStatus::Pending => TxStatusJson {
            hash: hash.to_hex(),
            status: TxState::Pending,
            height: None,
            index: None,
            error_code: None,
            error_message: None,
        },
        TxStatus::Committed { height, index, receipt } => {
            let (status, error_code, error_message) = outcome_fields(&receipt);
            TxStatusJson {
                hash: hash.to_hex(),
                status,
                height: Some(height),
                index: Some(index),
                error_code,
                error_message,
            }
        }
    };
    Ok(Json(json).into_response())
}
