//! Helpers that more than one domain's routes use. Each says which domains share it; a helper
//! only one domain uses stays private in that domain's file.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use civitas_client::signed::{HEADER_KEY, HEADER_SIGNATURE, HEADER_TIME};
use civitas_client::wire::{self, TxState};
use civitas_node::Node;
use civitas_types::{Did, TxOutcome, TxReceipt};
use serde::Deserialize;

use crate::ApiError;

/// The router's state as every handler extracts it: one node behind all domains.
pub(crate) type NodeState = State<Arc<Node>>;

/// Runs `f` on the blocking pool: node calls that read the disk or check many signatures
/// (submissions, audit pages, DID resolution and proofs, credential verification) would
/// otherwise stall the async workers that serve every other request.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "a worker failed"))
}

/// Parses a `did:civitas` DID from a path or query, as `bad_did`; shared so that accounts,
/// organizations and the audit filter reject a bad DID with the same problem.
pub(crate) fn parse_did(s: &str) -> Result<Did, ApiError> {
    s.parse().map_err(|e: civitas_types::DidError| ApiError::bad_request("bad_did", e.to_string()))
}

/// A committed transaction's state, error code and message from its receipt; shared so that a
/// transaction's status and a block's transaction list report an outcome alike.
pub(crate) fn outcome_fields(receipt: &TxReceipt) -> (TxState, Option<String>, Option<String>) {
    match &receipt.outcome {
        TxOutcome::Success => (TxState::Committed, None, None),
        TxOutcome::Failed { code, message } => (TxState::Failed, Some(code.clone()), Some(message.clone())),
    }
}

/// The query of a read whose only option is `prove`; shared by transactions, accounts, audit
/// entries and credential status so that each refuses any other parameter the same way.
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

/// The proof document of `claim` against the finalized block of `proof`, with the
/// validator-set changes a light client walks to it; shared so that every module's state proof
/// has one form.
pub(crate) fn proof_doc(node: &Node, proof: &civitas_node::StateProof, claim: wire::ClaimJson) -> wire::ProofJson {
    wire::ProofJson::new(&node.status().chain_id, &proof.header, &proof.certificate, claim)
        .with_changes(changes_json(&proof.validator_changes))
}

/// The validator-set changes of a proof, as JSON; shared by [`proof_doc`] and the proofs that
/// are not state proofs of one claim (transaction inclusion, accounts).
pub(crate) fn changes_json(changes: &[civitas_node::ValidatorChange]) -> Vec<wire::ValidatorChangeJson> {
    changes.iter().map(|c| wire::ValidatorChangeJson::new(&c.header, &c.certificate, &c.set, &c.proof)).collect()
}

/// 401 with `code`; shared by the signature check here and the modules' own checks of who
/// the caller acts for.
pub(crate) fn unauthorized(code: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, detail)
}

/// The key that signed the request (checked: signature over method, path and query, and a
/// time within five minutes of the node's clock; see `civitas_client::signed`): every module's
/// signed reads.
pub(crate) fn signer_key(uri: &axum::http::Uri, headers: &HeaderMap) -> Result<civitas_types::PublicKey, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(key), Some(time), Some(signature)) = (header(HEADER_KEY), header(HEADER_TIME), header(HEADER_SIGNATURE))
    else {
        return Err(unauthorized(
            "unsigned_request",
            format!("this read is signed: send {HEADER_KEY}, {HEADER_TIME} and {HEADER_SIGNATURE}"),
        ));
    };
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let now = civitas_node::consensus::now_ms();
    civitas_client::signed::check_request("GET", path, key, time, signature, now)
        .map_err(|why| unauthorized("bad_signature", why))
}

/// Parses a device id (`did:key` of its first operational key) from a path, as `bad_device`;
/// shared by the device and device-log routes.
pub(crate) fn parse_device(s: &str) -> Result<civitas_types::device::DeviceId, ApiError> {
    s.parse()
        .map_err(|e: civitas_types::device::passport::DeviceIdError| ApiError::bad_request("bad_device", e.to_string()))
}

/// Proves `keys` together against the latest finalized block: the proof of the first (whose
/// header and certificate the document carries) and every key's item, in order; shared by every
/// module whose claims hold state items.
pub(crate) fn prove_items(
    node: &Node,
    keys: &[Vec<u8>],
) -> Result<(civitas_node::StateProof, Vec<wire::StateItemJson>), ApiError> {
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let mut proofs = node.prove_keys(&refs)?.ok_or_else(ApiError::not_yet_final)?;
    let items = proofs
        .iter()
        .map(|p| wire::StateItemJson {
            state_key: hex::encode(&p.key),
            value: p.value.as_ref().map(hex::encode),
            state_proof: hex::encode(&p.proof),
        })
        .collect();
    if proofs.is_empty() {
        return Err(ApiError::not_yet_final());
    }
    Ok((proofs.swap_remove(0), items))
}

/// Proves a page of a numbered list (a count at `count_key`, entries at keys derived from their
/// positions): the count's item and the entries' from `from` up to `end`, cut to those the
/// proven count covers (it may be older than the count the caller read). Shared by the
/// modules whose lists are provable pages (devices, funds).
pub(crate) fn prove_list(
    node: &Node,
    count_key: Vec<u8>,
    entry_key: impl Fn(u64) -> Vec<u8>,
    from: u64,
    end: u64,
) -> Result<(civitas_node::StateProof, wire::StateItemJson, Vec<wire::StateItemJson>), ApiError> {
    let keys: Vec<Vec<u8>> = std::iter::once(count_key).chain((from..end).map(entry_key)).collect();
    let (proof, mut items) = prove_items(node, &keys)?;
    let count = items.remove(0);
    let proven_total = count
        .value
        .as_deref()
        .and_then(|v| hex::decode(v).ok())
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok().map(u64::from_be_bytes));
    items.truncate(usize::try_from(proven_total.unwrap_or(0).saturating_sub(from)).unwrap_or(usize::MAX));
    Ok((proof, count, items))
}

/// [`prove_items`] of one key.
pub(crate) fn prove_item(
    node: &Node,
    key: Vec<u8>,
) -> Result<(civitas_node::StateProof, wire::StateItemJson), ApiError> {
    let (proof, mut items) = prove_items(node, &[key])?;
    Ok((proof, items.remove(0)))
}

/// Parses a number from a path (a record's, a bucket's), as `bad_number`; shared by funds,
/// rentals, the catalog and stats.
pub(crate) fn parse_number<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, ApiError> {
    s.parse().map_err(|_| {
        ApiError::bad_request("bad_number", format!("the {what} is a whole number within its range; `{s:.40}` is not"))
    })
}

/// 404 with `code` (`unknown_listing`, `unknown_round`, …); shared by rentals, the catalog and
/// stats.
pub(crate) fn not_found(code: &'static str, detail: String) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, code, detail)
}

/// 403 with `code`: a signed read by someone the record is not for; shared by rentals and the
/// catalog.
pub(crate) fn forbidden(code: &'static str, detail: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, detail)
}

/// The block time of the latest state, in unix seconds; shared by rentals and the catalog
/// (what is overdue, what is in force).
pub(crate) fn block_time(s: &impl civitas_state::StateRead) -> Result<u64, civitas_state::StoreError> {
    Ok(civitas_execution::chain_tip(s)?.map_or(0, |(_, ms)| ms / 1000))
}

/// The DID of the account whose key signed the request (`unknown_signer` if none); shared by
/// the signed reads of rentals and the catalog.
pub(crate) fn signer_did(node: &Node, uri: &axum::http::Uri, headers: &HeaderMap) -> Result<Did, ApiError> {
    let key = signer_key(uri, headers)?;
    let account = node
        .query(|s| civitas_execution::accounts::query::account_by_key(s, &key))?
        .ok_or_else(|| unauthorized("unknown_signer", "no account holds this key"))?;
    Ok(account.did)
}

/// A list page's query: where to start, how many, and `prove`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageParams {
    from: Option<u64>,
    limit: Option<u64>,
    prove: Option<bool>,
}

/// A page's window, checked: where it starts, how many, and whether a proof was asked for;
/// shared by the provable lists of rentals and the catalog.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) from: u64,
    pub(crate) limit: u64,
    pub(crate) prove: bool,
}

impl Window {
    /// The window the query asks for, at most `max` entries (`max` also the default):
    /// `bad_query` or `bad_limit` otherwise.
    pub(crate) fn of(query: Result<Query<PageParams>, QueryRejection>, max: u64) -> Result<Window, ApiError> {
        let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
        let limit = q.limit.unwrap_or(max);
        if limit == 0 || limit > max {
            return Err(ApiError::bad_request("bad_limit", format!("limit is 1 to {max}")));
        }
        Ok(Window { from: q.from.unwrap_or(0), limit, prove: q.prove == Some(true) })
    }
}

/// What a read with `prove` answers, for the OpenAPI document: the record, or with
/// `prove=true` the proof document of it (`docs/proofs.md`). Only its schema is used: handlers
/// answer one or the other.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum OrProof<T: utoipa::ToSchema> {
    /// The record (without `prove`).
    Record(T),
    /// With `prove=true`: the proof document.
    Proof(Box<wire::ProofJson>),
}
