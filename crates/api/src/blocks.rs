//! Block routes: a block's header with a page of its transactions, and its raw encoding with
//! its finalization certificate (what full nodes sync from).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::wire::{self, BlockJson, BlockTxJson};
use civitas_node::Node;
use serde::Deserialize;

use crate::ApiError;
use crate::common::{NodeState, outcome_fields};

/// The block routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new().route("/v1/blocks/{height}", get(block)).route("/v1/blocks/{height}/raw", get(raw_block))
}

/// The block routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(block, raw_block),
    components(schemas(wire::Problem, wire::BlockJson, wire::BlockTxJson, wire::TxState))
)]
pub(crate) struct Doc;

/// The page of a block's transactions to return.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    offset: Option<u32>,
    limit: Option<u32>,
}

/// A block's header and a page of its transactions.
#[utoipa::path(
    get, path = "/v1/blocks/{height}",
    params(
        ("height" = String, Path, description = "A height, or `latest`", pattern = "^([0-9]{1,20}|latest)$"),
        ("offset" = Option<u32>, Query, description = "First transaction of the page (default 0)"),
        ("limit" = Option<u32>, Query, description = "Page size, at most 10 000 (default 100)", maximum = 10000),
    ),
    responses(
        (status = 200, description = "The block", body = BlockJson),
        (status = 400, description = "Bad height or page", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No block at that height", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn block(
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

// A block's canonical encoding with its certificate, for full nodes to fetch and check. Not a doc
// comment: utoipa would publish one as the operation's summary, which this route has never had.
#[utoipa::path(
    get, path = "/v1/blocks/{height}/raw",
    params(("height" = u64, Path, description = "A height above 0", minimum = 1)),
    responses(
        (status = 200, description = "The block's canonical encoding and its finalization certificate, each with a u32 length (what full nodes fetch and check)", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "Bad height", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No finalized block at that height", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn raw_block(State(node): NodeState, Path(height): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let height: u64 = height.parse().map_err(|_| ApiError::bad_request("bad_height", "height is a number"))?;
    let missing = || ApiError::not_found(format!("no finalized block at height {height}"));
    let (block, _) = node.block(height)?.ok_or_else(missing)?;
    let certificate = node.certificate(height)?.ok_or_else(missing)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], wire::encode_raw_block(&block, &certificate)))
}
