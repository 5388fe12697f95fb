//! Route handlers. Each turns a request into node calls and node answers into wire forms;
//! every failure is an [`ApiError`].

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use civitas_client::wire::{
    self, AccountJson, BatchItem, BatchResponse, BlockJson, BlockTxJson, StatusJson, SubmitResponse, TransactionJson,
    TxState, TxStatusJson,
};
use civitas_node::{Node, TxStatus};
use civitas_types::codec::Decode;
use civitas_types::{Did, Hash, SignedTransaction, TxOutcome, TxReceipt};
use serde::Deserialize;
use utoipa::OpenApi;

use crate::{ApiDoc, ApiError, BATCH_BODY_BYTES_MAX, TX_BODY_BYTES_MAX};

type NodeState = State<Arc<Node>>;

async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", format!("request body is over {limit} bytes"))
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"))
}

pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "a worker failed"))
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
        (status = 503, description = "Mempool full; retry later", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn submit(
    State(node): NodeState,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = read_body(body, TX_BODY_BYTES_MAX).await?;
    let tx = if is_json(&headers) {
        let json: TransactionJson =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request("malformed_json", e.to_string()))?;
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
pub(crate) async fn submit_batch(State(node): NodeState, body: Body) -> Result<Json<BatchResponse>, ApiError> {
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

fn parse_hash(s: &str) -> Result<Hash, ApiError> {
    Hash::from_hex(s).map_err(|_| ApiError::bad_request("bad_hash", "a transaction hash is 64 hex digits"))
}

fn outcome_fields(receipt: &TxReceipt) -> (TxState, Option<String>, Option<String>) {
    match &receipt.outcome {
        TxOutcome::Success => (TxState::Committed, None, None),
        TxOutcome::Failed { code, message } => (TxState::Failed, Some(code.clone()), Some(message.clone())),
    }
}

/// A transaction's status; with `prove=true`, a proof of its inclusion and receipt.
#[utoipa::path(
    get, path = "/v1/transactions/{hash}",
    params(
        ("hash" = String, Path, description = "Transaction hash, 64 hex digits"),
        ("prove" = Option<bool>, Query, description = "Return a proof document of its inclusion and receipt (committed transactions only)"),
    ),
    responses(
        (status = 200, description = "Pending, committed or failed (TxStatusJson), or with prove=true the proof (ProofJson)", body = TxStatusJson),
        (status = 409, description = "prove=true on a transaction not committed yet", body = wire::Problem, content_type = "application/problem+json"),
        (status = 400, description = "Not a hash", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown to this node", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn tx_status(
    State(node): NodeState,
    Path(hash): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let hash = parse_hash(&hash)?;
    if query.prove == Some(true) {
        let Some(p) = node.prove_tx(&hash)? else {
            return Err(match node.tx_status(&hash)? {
                TxStatus::Pending => {
                    ApiError::new(StatusCode::CONFLICT, "not_committed", "the transaction is still pending")
                }
                _ => ApiError::not_found(format!("no committed transaction {hash}")),
            });
        };
        let claim = wire::ClaimJson::Transaction {
            tx_hash: hash.to_hex(),
            tx_path: wire::path_json(&p.tx_path),
            receipt: hex::encode(civitas_types::codec::Encode::encode(&p.receipt)),
            receipt_path: wire::path_json(&p.receipt_path),
        };
        let doc = wire::ProofJson::new(&node.status().chain_id, &p.header, &p.certificate, claim)
            .with_changes(changes_json(&p.validator_changes));
        return Ok(Json(doc).into_response());
    }
    let json = match node.tx_status(&hash)? {
        TxStatus::Unknown => return Err(ApiError::not_found(format!("no transaction {hash}"))),
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Page {
    offset: Option<u32>,
    limit: Option<u32>,
}

/// A block's header and a page of its transactions.
#[utoipa::path(
    get, path = "/v1/blocks/{height}",
    params(
        ("height" = String, Path, description = "A height, or `latest`"),
        ("offset" = Option<u32>, Query, description = "First transaction of the page (default 0)"),
        ("limit" = Option<u32>, Query, description = "Page size, at most 10 000 (default 100)"),
    ),
    responses(
        (status = 200, description = "The block", body = BlockJson),
        (status = 400, description = "Bad height or page", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No block at that height", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn block(
    State(node): NodeState,
    Path(height): Path<String>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<BlockJson>, ApiError> {
    let Query(page) = page.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let height = match height.as_str() {
        "latest" => node.status().latest.height,
        h => h.parse().map_err(|_| ApiError::bad_request("bad_height", "height is a number or `latest`"))?,
    };
    let offset = page.offset.unwrap_or(0);
    let limit = page.limit.unwrap_or(100);
    if limit > wire::BLOCK_PAGE_MAX {
        return Err(ApiError::bad_request("bad_query", format!("limit is at most {}", wire::BLOCK_PAGE_MAX)));
    }
    let (block, receipts) =
        node.block(height)?.ok_or_else(|| ApiError::not_found(format!("no block at height {height}")))?;
    let transactions = block
        .transactions
        .iter()
        .zip(&receipts)
        .skip(offset as usize)
        .take(limit as usize)
        .map(|(tx, receipt)| {
            let (status, error_code, _) = outcome_fields(receipt);
            BlockTxJson {
                hash: receipt.tx_hash.to_hex(),
                signer: tx.tx.signer.to_hex(),
                nonce: tx.tx.nonce,
                status,
                error_code,
            }
        })
        .collect();
    let h = &block.header;
    Ok(Json(BlockJson {
        height: h.height,
        hash: h.hash().to_hex(),
        parent_hash: h.parent_hash.to_hex(),
        timestamp_ms: h.timestamp_ms,
        proposer: h.proposer.to_hex(),
        tx_count: h.tx_count,
        tx_root: h.tx_root.to_hex(),
        results_root: h.results_root.to_hex(),
        state_root: h.state_root.to_hex(),
        certificate: node.certificate(height)?.map(hex::encode),
        offset,
        transactions,
    }))
}

#[utoipa::path(
    get, path = "/v1/blocks/{height}/raw",
    params(("height" = u64, Path, description = "A height above 0")),
    responses(
        (status = 200, description = "The block's canonical encoding and its finalization certificate, each with a u32 length (what full nodes fetch and check)", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "Bad height", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No finalized block at that height", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn raw_block(
    State(node): NodeState,
    Path(height): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let height: u64 = height.parse().map_err(|_| ApiError::bad_request("bad_height", "height is a number"))?;
    let missing = || ApiError::not_found(format!("no finalized block at height {height}"));
    let (block, _) = node.block(height)?.ok_or_else(missing)?;
    let certificate = node.certificate(height)?.ok_or_else(missing)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], wire::encode_raw_block(&block, &certificate)))
}

fn parse_did(s: &str) -> Result<Did, ApiError> {
    s.parse().map_err(|e: civitas_types::DidError| ApiError::bad_request("bad_did", e.to_string()))
}

/// An organization by DID.
#[utoipa::path(
    get, path = "/v1/orgs/{did}",
    params(("did" = String, Path, description = "The organization's DID")),
    responses(
        (status = 200, description = "The organization", body = wire::OrgJson),
        (status = 400, description = "Not a Civitas DID", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not an organization", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn organization(
    State(node): NodeState,
    Path(did): Path<String>,
) -> Result<Json<wire::OrgJson>, ApiError> {
    let did = parse_did(&did)?;
    let o = node.organization(&did)?.ok_or_else(|| ApiError::not_found(format!("{did} is not an organization")))?;
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
        ("did" = String, Path, description = "The organization's DID"),
        ("member" = String, Path, description = "The official's DID"),
    ),
    responses(
        (status = 200, description = "The role", body = wire::OfficialJson),
        (status = 400, description = "Not a Civitas DID", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organization or no role in it", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn official(
    State(node): NodeState,
    Path((org, member)): Path<(String, String)>,
) -> Result<Json<wire::OfficialJson>, ApiError> {
    let (org, member) = (parse_did(&org)?, parse_did(&member)?);
    let role =
        node.org_role(&org, &member)?.ok_or_else(|| ApiError::not_found(format!("{member} holds no role in {org}")))?;
    Ok(Json(wire::OfficialJson { org: org.to_string(), member: member.to_string(), role: role.name().into() }))
}

/// The council: its member departments and threshold.
#[utoipa::path(
    get, path = "/v1/council",
    responses((status = 200, description = "The council", body = wire::CouncilJson))
)]
pub(crate) async fn council(State(node): NodeState) -> Result<Json<wire::CouncilJson>, ApiError> {
    let (members, threshold) = node.council()?;
    Ok(Json(wire::CouncilJson { members: members.iter().map(ToString::to_string).collect(), threshold }))
}

/// The validator set that finalizes the next block: its epoch, and each validator's key,
/// p2p address and department.
#[utoipa::path(
    get, path = "/v1/validators",
    responses((status = 200, description = "The validator set", body = wire::ValidatorSetJson))
)]
pub(crate) async fn validators(State(node): NodeState) -> Result<Json<wire::ValidatorSetJson>, ApiError> {
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
pub(crate) async fn proposal(
    State(node): NodeState,
    Path(id): Path<String>,
) -> Result<Json<wire::ProposalJson>, ApiError> {
    use civitas_types::council::ProposalStatus;
    let id: u64 = id.parse().map_err(|_| ApiError::bad_request("bad_proposal", "a proposal number is an integer"))?;
    let p = node.proposal(id)?.ok_or_else(|| ApiError::not_found(format!("no proposal {id}")))?;
    let (status, executed_height) = match p.status {
        ProposalStatus::Open => ("open", None),
        ProposalStatus::Executed(h) => ("executed", Some(h)),
    };
    Ok(Json(wire::ProposalJson {
        id: p.id,
        action: wire::CouncilActionJson::from_action(&p.action),
        proposer: p.proposer.to_string(),
        created_height: p.created_height,
        expires_height: p.expires_height,
        approvals: p.approvals.iter().map(ToString::to_string).collect(),
        status: status.into(),
        executed_height,
    }))
}

/// One audit trail entry; with `prove=true`, a proof document of it (see `docs/proofs.md`).
#[utoipa::path(
    get, path = "/v1/audit/{index}",
    params(
        ("index" = u64, Path, description = "The entry's number"),
        ("prove" = Option<bool>, Query, description = "Return a proof of the entry in the latest finalized state"),
    ),
    responses(
        (status = 200, description = "The entry (AuditEntryJson), or with prove=true the proof (ProofJson)", body = wire::AuditEntryJson),
        (status = 400, description = "Bad number", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn audit_entry(
    State(node): NodeState,
    Path(index): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let index: u64 = index.parse().map_err(|_| ApiError::bad_request("bad_index", "an entry number is an integer"))?;
    let missing = || ApiError::not_found(format!("no audit entry {index}"));
    let (mut entries, _) = node.audit(None, index, 1)?;
    let Some((_, entry)) = entries.pop() else { return Err(missing()) };
    if query.prove == Some(true) {
        let key = civitas_types::audit::entry_key(index);
        let proof = node.prove(&key)?.ok_or_else(ApiError::not_yet_final)?;
        let Some(value) = proof.value.clone() else { return Err(missing()) };
        let claim = wire::ClaimJson::AuditEntry {
            index,
            state_key: hex::encode(&key),
            value: hex::encode(value),
            state_proof: hex::encode(&proof.proof),
        };
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditParams {
    org: Option<String>,
    from: Option<u64>,
    limit: Option<u64>,
}

/// The audit trail of official acts, in order; all of it or one organization's.
#[utoipa::path(
    get, path = "/v1/audit",
    params(
        ("org" = Option<String>, Query, description = "Only this organization's acts"),
        ("from" = Option<u64>, Query, description = "First position (default 0)"),
        ("limit" = Option<u64>, Query, description = "Page size, at most 1000 (default 100)"),
    ),
    responses(
        (status = 200, description = "A page of entries", body = wire::AuditPageJson),
        (status = 400, description = "Bad query", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn audit(
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
    let (entries, total) = blocking(move || node.audit(org.as_ref(), from, limit)).await??;
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DidParams {
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
    let claim = wire::ClaimJson::Did {
        did: did.to_string(),
        account: item(account),
        document: item(document),
        meta: item(meta),
    };
    Ok(proof_doc(node, account, claim))
}

/// The proof document of `claim` against the finalized block of `proof`, with the
/// validator-set changes a light client walks to it.
pub(crate) fn proof_doc(node: &Node, proof: &civitas_node::StateProof, claim: wire::ClaimJson) -> wire::ProofJson {
    wire::ProofJson::new(&node.status().chain_id, &proof.header, &proof.certificate, claim)
        .with_changes(changes_json(&proof.validator_changes))
}

/// The validator-set changes of a proof, as JSON.
pub(crate) fn changes_json(changes: &[civitas_node::ValidatorChange]) -> Vec<wire::ValidatorChangeJson> {
    changes.iter().map(|c| wire::ValidatorChangeJson::new(&c.header, &c.certificate, &c.set, &c.proof)).collect()
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
        ("did" = String, Path, description = "A `did:civitas:` or `did:key:` DID"),
        ("versionId" = Option<String>, Query, description = "Resolve this version (1 is the creation)"),
        ("versionTime" = Option<String>, Query, description = "Resolve the version in effect at this RFC 3339 time"),
        ("prove" = Option<bool>, Query, description = "Instead, a proof document (ProofJson) of the DID's account, document and metadata in the latest finalized state"),
    ),
    responses(
        (status = 200, description = "The DID document with its metadata", body = civitas_client::did::ResolutionJson),
        (status = 400, description = "invalidDid or invalidOptions", body = civitas_client::did::ResolutionJson),
        (status = 404, description = "notFound", body = civitas_client::did::ResolutionJson),
        (status = 410, description = "Deactivated: the document, with `deactivated: true`", body = civitas_client::did::ResolutionJson),
        (status = 501, description = "methodNotSupported", body = civitas_client::did::ResolutionJson),
    )
)]
pub(crate) async fn resolve_did(
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProveParam {
    prove: Option<bool>,
}

impl ProveParam {
    /// Whether a proof was asked for.
    pub(crate) fn prove(&self) -> bool {
        self.prove == Some(true)
    }
}

/// An account by DID; with `prove=true`, a proof document instead (see `docs/proofs.md`).
#[utoipa::path(
    get, path = "/v1/accounts/{did}",
    params(
        ("did" = String, Path, description = "A `did:civitas:` DID"),
        ("prove" = Option<bool>, Query, description = "Return a proof of the account (or of its absence) in the latest finalized state"),
    ),
    responses(
        (status = 200, description = "The account (AccountJson), or with prove=true the proof (ProofJson)", body = AccountJson),
        (status = 400, description = "Not a Civitas DID", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account (without prove)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn account(
    State(node): NodeState,
    Path(did): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let did = parse_did(&did)?;
    if query.prove == Some(true) {
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

/// The node's view of the chain.
#[utoipa::path(get, path = "/v1/status", responses((status = 200, description = "Status", body = StatusJson)))]
pub(crate) async fn status(State(node): NodeState) -> Json<StatusJson> {
    let s = node.status();
    Json(StatusJson {
        chain_id: s.chain_id,
        height: s.latest.height,
        block_hash: s.latest.block_hash.to_hex(),
        state_root: s.latest.state_root.to_hex(),
        timestamp_ms: s.latest.timestamp_ms,
        mempool_txs: s.mempool_txs as u64,
        validator: s.validator.map(|k| k.to_hex()),
    })
}

/// Prometheus text exposition of the node's gauges and counters.
pub(crate) async fn metrics(State(node): NodeState) -> impl IntoResponse {
    use std::fmt::Write as _;
    use std::sync::atomic::Ordering::Relaxed;
    let s = node.status();
    let m = node.metrics();
    let mut out = String::new();
    let mut put = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    };
    put("civitas_height", "gauge", "Latest committed block height.", s.latest.height as f64);
    put("civitas_mempool_transactions", "gauge", "Transactions waiting in the mempool.", s.mempool_txs as f64);
    put("civitas_blocks_committed_total", "counter", "Blocks committed since start.", m.blocks.load(Relaxed) as f64);
    put(
        "civitas_block_transactions_total",
        "counter",
        "Transactions in blocks committed since start.",
        m.block_txs.load(Relaxed) as f64,
    );
    put(
        "civitas_submitted_transactions_total",
        "counter",
        "Transactions checked for admission since start, from clients and relayed.",
        m.submit_txs.load(Relaxed) as f64,
    );
    for (name, help, counter) in [
        ("civitas_relayed_out_transactions_total", "Transactions queued for the other validators.", &m.relayed_out),
        (
            "civitas_relay_dropped_transactions_total",
            "Transactions not relayed: the relay queue was full.",
            &m.relay_dropped,
        ),
        ("civitas_relayed_in_transactions_total", "Transactions other validators relayed here.", &m.relayed_in),
        (
            "civitas_verify_reused_total",
            "Signatures in peers' blocks not checked again (already verified on admission).",
            &m.verify_reused,
        ),
    ] {
        put(name, "counter", help, counter.load(Relaxed) as f64);
    }
    let secs = |ns: u64| ns as f64 / 1e9;
    put(
        "civitas_admission_seconds_total",
        "counter",
        "Time spent checking and admitting transactions.",
        secs(m.submit_ns.load(Relaxed)),
    );
    put(
        "civitas_block_build_seconds_total",
        "counter",
        "Time spent building and executing blocks.",
        secs(m.build_ns.load(Relaxed)),
    );
    put(
        "civitas_block_verify_seconds_total",
        "counter",
        "Time spent checking other validators' proposals (execution included).",
        secs(m.verify_ns.load(Relaxed)),
    );
    put(
        "civitas_block_commit_seconds_total",
        "counter",
        "Time spent writing blocks to disk.",
        secs(m.commit_ns.load(Relaxed)),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

pub(crate) async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see /openapi.json")
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route; see /openapi.json",
    )
}
