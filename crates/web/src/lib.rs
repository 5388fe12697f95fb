//! Civitas's web pages: the explorer every node serves at `/` beside the API under `/v1`.
//!
//! Pages are rendered on the server from the node's finalized state with maud (HTML written in
//! Rust, checked by the compiler, escaped by default), one stylesheet and one small script of
//! our own, both compiled into the binary: no build chain, no CDN, readable without
//! JavaScript (the script only copies values and follows live blocks).
//!
//! Layout: `layout` (the page shell and how values are shown), `error` (a page that cannot be
//! shown: 4xx with the reason, 500 only when the node fails), `explorer` (one file per domain),
//! `portal` (the citizen portal `civitas wallet` serves on loopback with the resident's key).

mod error;
mod explorer;
mod layout;
mod portal;

use std::sync::Arc;

use axum::Router;
use civitas_node::Node;

pub use portal::{PortalConfig, router as portal};

/// The node's whole HTTP surface: the explorer's pages and the API, over `node`.
pub fn app(node: Arc<Node>) -> Router {
    civitas_api::router_with(node, explorer::routes().fallback(error::fallback))
}

#[cfg(test)]
mod tests;
