//! The explorer every node serves at `/`: pages read straight from the node's finalized state
//! (no indexer), each saying the height it shows, each fact with the API URL of its proof and
//! the `civitas verify` line that checks it. One file per domain, as the API has; [`routes`]
//! lists them.

mod accounts;
mod blocks;
mod credentials;
mod dashboard;
mod governance;
mod modules;
mod search;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use civitas_node::Node;

use crate::error::PageError;
use crate::layout::{SCRIPT_PATH, STYLE_PATH};

/// The node, as every page handler's state.
pub(crate) type NodeState = axum::extract::State<Arc<Node>>;

/// The explorer's pages and assets.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/", get(dashboard::dashboard))
        .route("/validators", get(dashboard::validators))
        .route("/blocks", get(blocks::blocks))
        .route("/blocks/{height}", get(blocks::block))
        .route("/tx/{hash}", get(blocks::transaction))
        .route("/accounts/{did}", get(accounts::account))
        .route("/search", get(search::search))
        .route("/genesis.json", get(genesis))
        .route(STYLE_PATH, get(style))
        .route(SCRIPT_PATH, get(script))
        .merge(governance::routes())
        .merge(credentials::routes())
        .merge(modules::routes())
}

/// Runs a read of the node's store off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    read: impl FnOnce() -> Result<T, PageError> + Send + 'static,
) -> Result<T, PageError> {
    tokio::task::spawn_blocking(read)
        .await
        .unwrap_or_else(|e| Err(PageError::internal(format!("the page failed: {e}"))))
}

/// The chain's genesis, which `civitas verify` checks proofs against.
async fn genesis(axum::extract::State(node): NodeState) -> impl IntoResponse {
    let json = node.chain().genesis().to_json();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"genesis.json\""),
        ],
        json,
    )
}

/// Assets change name with their content, so they are cached for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub(crate) async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, IMMUTABLE)],
        include_str!("../../assets/civitas.css"),
    )
}

pub(crate) async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, IMMUTABLE)],
        include_str!("../../assets/civitas.js"),
    )
}

/// A page query parameter that must be a number, with the reason if not.
pub(crate) fn number(name: &str, value: &str) -> Result<u64, PageError> {
    value.parse().map_err(|_| PageError::bad(format!("{name} is a whole number; `{}` is not", clip(value))))
}

/// At most 64 characters of `value`, for a reason that quotes it.
pub(crate) fn clip(value: &str) -> String {
    let mut s: String = value.chars().take(64).collect();
    if s.len() < value.len() {
        s.push('…');
    }
    s
}
