//! The node's own routes (its status, Prometheus metrics, the OpenAPI document) and the
//! answers for an unknown route or method.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::wire::{self, StatusJson};
use civitas_node::Node;

use crate::common::NodeState;
use crate::{ApiDoc, ApiError};

/// The status, metrics and OpenAPI routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new().route("/v1/status", get(status)).route("/openapi.json", get(openapi)).route("/metrics", get(metrics))
}

/// The status route's part of the OpenAPI document (metrics are Prometheus text, and the
/// document does not list itself).
#[derive(utoipa::OpenApi)]
#[openapi(paths(status), components(schemas(wire::Problem, wire::StatusJson)))]
pub(crate) struct Doc;

/// While the node is catching up, every answer says so in a `Civitas-Syncing` header
/// (`behind=N; highest-seen=H`): what it reads of the newest state is stale.
pub(crate) async fn mark_syncing(
    State(node): NodeState,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    let sync = node.sync_status();
    if sync.catching_up {
        let value = format!("behind={}; highest-seen={}", sync.behind, sync.highest_seen);
        if let Ok(v) = header::HeaderValue::from_str(&value) {
            response.headers_mut().insert(SYNCING_HEADER, v);
        }
    }
    response
}

/// The header that marks answers of a node that is catching up.
pub const SYNCING_HEADER: &str = "civitas-syncing";

/// The node's view of the chain, and whether it is catching up (then `syncing`, with how far
/// behind the highest finalized height it has seen it is).
#[utoipa::path(get, path = "/v1/status", responses((status = 200, description = "Status", body = StatusJson)))]
async fn status(State(node): NodeState) -> Json<StatusJson> {
    let s = node.status();
    Json(StatusJson {
        chain_id: s.chain_id,
        height: s.latest.height,
        block_hash: s.latest.block_hash.to_hex(),
        state_root: s.latest.state_root.to_hex(),
        timestamp_ms: s.latest.timestamp_ms,
        mempool_txs: s.mempool_txs as u64,
        validator: s.validator.map(|k| k.to_hex()),
        syncing: s.sync.catching_up,
        highest_seen_height: s.sync.highest_seen,
        behind_blocks: s.sync.behind,
    })
}

/// Prometheus text exposition of the node's gauges and counters.
async fn metrics(State(node): NodeState) -> impl IntoResponse {
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
    let memory = node.chain().store().memory();
    for (name, help, value) in [
        (
            "civitas_store_cache_bytes",
            "Bytes in the store's block cache, which fills up to a fixed capacity.",
            memory.cache_bytes,
        ),
        (
            "civitas_store_write_buffer_bytes",
            "Bytes in the store's memtables, active and sealed (not yet flushed to tables).",
            memory.write_buffer_bytes,
        ),
        (
            "civitas_store_pinned_bytes",
            "Bytes of filter and index blocks the store's tables hold outside the cache.",
            memory.pinned_bytes,
        ),
        ("civitas_store_tables", "Table files in the store, over all keyspaces.", memory.tables),
        (
            "civitas_store_versions",
            "Superseded table-set versions the store still holds for readers, over all keyspaces.",
            memory.versions,
        ),
    ] {
        put(name, "gauge", help, value as f64);
    }
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

/// The OpenAPI document, every domain's merged.
async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::document())
}

/// The answer for a path no route matches.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see /openapi.json")
}

/// The answer for a route that exists without the request's method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route; see /openapi.json",
    )
}
