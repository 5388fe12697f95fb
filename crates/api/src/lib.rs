//! The Civitas HTTP API: routes over a [`civitas_node::Node`], JSON forms from
//! [`civitas_client::wire`], RFC 9457 problem+json for every error, and the OpenAPI document
//! at `/openapi.json`.
//!
//! This crate is an API boundary (its routes are what applications program against) and the
//! only node-side crate that speaks JSON to clients. Every body and page is bounded.
//!
//! Layout: one file per domain (`transactions`, `blocks`, `accounts`, `dids`, `orgs`,
//! `council`, `audit`, `invoices`, `credentials`, `devices`, `logs`, `funds`, `rentals`, `catalog`,
//! `stats`, `events` (Server-Sent Events of blocks and module events), `node_info`). Each holds its handlers, the
//! helpers only it uses, its `routes()` and its part of the OpenAPI document (`Doc`: its paths
//! and the schemas its bodies use). `common` holds what several domains share, `problem` the
//! error type. `DOMAINS` is the one registration list: [`router`] merges every domain's routes
//! from it and [`ApiDoc`] every domain's document, so a domain cannot be served but missing from
//! the document, or the reverse.

mod accounts;
mod audit;
mod blocks;
mod catalog;
mod common;
mod council;
mod credentials;
mod devices;
mod dids;
mod events;
mod funds;
mod invoices;
mod logs;
mod node_info;
mod orgs;
mod problem;
mod rentals;
mod stats;
mod transactions;

use std::sync::Arc;

use axum::Router;
use civitas_node::Node;
use utoipa::OpenApi;

pub use events::{BlockEvent, EVENT_STREAMS_MAX, InstructionEvent};
pub use node_info::SYNCING_HEADER;
pub use problem::{ApiError, SYNCING_RETRY_AFTER_SECS};

/// Largest body for a single transaction (binary or JSON, whose hex roughly doubles it).
pub const TX_BODY_BYTES_MAX: usize = 4 * civitas_types::limits::TX_BYTES_MAX;
/// Largest body for a batch submission.
pub const BATCH_BODY_BYTES_MAX: usize = 32 * 1024 * 1024;

/// One domain of the API: its routes, and its part of the OpenAPI document.
struct Domain {
    /// The domain's routes, still waiting for the node as state.
    routes: fn() -> Router<Arc<Node>>,
    /// The domain's paths and schemas.
    doc: fn() -> utoipa::openapi::OpenApi,
    /// The tag of the domain's operations in the document. These are the groups the document had
    /// before the handlers were split by domain (named after the files they were in then), kept
    /// so that the served document, and any client generated from it, did not change.
    tag: &'static str,
}

/// Every domain, registered once for both the router and the OpenAPI document.
const DOMAINS: &[Domain] = &[
    Domain { routes: transactions::routes, doc: transactions::Doc::openapi, tag: "handlers" },
    Domain { routes: blocks::routes, doc: blocks::Doc::openapi, tag: "handlers" },
    Domain { routes: accounts::routes, doc: accounts::Doc::openapi, tag: "handlers" },
    Domain { routes: dids::routes, doc: dids::Doc::openapi, tag: "handlers" },
    Domain { routes: orgs::routes, doc: orgs::Doc::openapi, tag: "handlers" },
    Domain { routes: council::routes, doc: council::Doc::openapi, tag: "handlers" },
    Domain { routes: audit::routes, doc: audit::Doc::openapi, tag: "handlers" },
    Domain { routes: invoices::routes, doc: invoices::Doc::openapi, tag: "invoices" },
    Domain { routes: credentials::routes, doc: credentials::Doc::openapi, tag: "credentials" },
    Domain { routes: devices::routes, doc: devices::Doc::openapi, tag: "devices" },
    Domain { routes: logs::routes, doc: logs::Doc::openapi, tag: "logs" },
    Domain { routes: funds::routes, doc: funds::Doc::openapi, tag: "funds" },
    Domain { routes: rentals::routes, doc: rentals::Doc::openapi, tag: "handlers" },
    Domain { routes: catalog::routes, doc: catalog::Doc::openapi, tag: "catalog" },
    Domain { routes: stats::routes, doc: stats::Doc::openapi, tag: "stats" },
    Domain { routes: events::routes, doc: events::Doc::openapi, tag: "events" },
    Domain { routes: node_info::routes, doc: node_info::Doc::openapi, tag: "handlers" },
];

impl Domain {
    /// The domain's part of the document, each operation tagged with the domain's tag.
    fn tagged_doc(&self) -> utoipa::openapi::OpenApi {
        let mut doc = (self.doc)();
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                operation.tags = Some(vec![self.tag.to_owned()]);
            }
        }
        doc
    }
}

/// The document's title and description, which every domain's part is merged into.
#[derive(OpenApi)]
#[openapi(info(title = "Civitas API", description = "Submit transactions and read the Civitas ledger."))]
struct Base;

/// The OpenAPI document: every domain's paths and schemas under the API's title.
pub struct ApiDoc;

impl OpenApi for ApiDoc {
    fn openapi() -> utoipa::openapi::OpenApi {
        let mut doc = Base::openapi();
        for domain in DOMAINS {
            doc.merge(domain.tagged_doc());
        }
        doc
    }
}

impl ApiDoc {
    /// The document as served at `/openapi.json`: [`ApiDoc::openapi`], with each internally
    /// tagged union made to admit its own tag ([`admit_tags`]).
    pub fn document() -> serde_json::Value {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("an OpenAPI document serializes");
        admit_tags(&mut doc);
        doc
    }
}

/// utoipa writes a variant of an internally tagged union (`#[serde(tag = "kind")]`) over a
/// struct as `allOf: [{$ref: Struct}, {kind}]`, and a struct with `deny_unknown_fields` as
/// `additionalProperties: false`: together no value validates, since the tag is a property the
/// struct's schema does not know. JSON Schema 2020-12 (OpenAPI 3.1) says what serde does with
/// `unevaluatedProperties: false` on the variant instead: the struct's fields and the tag, and
/// nothing else. The structs so used are only ever variants.
fn admit_tags(doc: &mut serde_json::Value) {
    use serde_json::Value;
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    let mut variants = std::collections::BTreeSet::new();
    for schema in schemas.values_mut() {
        let Some(items) = schema.get_mut("oneOf").and_then(Value::as_array_mut) else { continue };
        for item in items {
            let Some(all) = item.get("allOf").and_then(Value::as_array) else { continue };
            let referenced = all.iter().filter_map(|a| a.get("$ref").and_then(Value::as_str)).collect::<Vec<_>>();
            let tagged = all.iter().any(|a| a.get("required").is_some() && a.get("properties").is_some());
            if let ([reference], true) = (referenced.as_slice(), tagged)
                && let Some(name) = reference.strip_prefix("#/components/schemas/")
            {
                variants.insert(name.to_owned());
                item["unevaluatedProperties"] = Value::Bool(false);
            }
        }
    }
    for name in variants {
        if let Some(object) = schemas.get_mut(&name).and_then(Value::as_object_mut)
            && object.get("additionalProperties") == Some(&Value::Bool(false))
        {
            object.remove("additionalProperties");
        }
    }
}

/// The API's routes over `node`.
pub fn router(node: Arc<Node>) -> Router {
    router_with(node, Router::new().fallback(node_info::not_found))
}

/// The API's routes over `node` beside `pages` (the explorer's, outside `/v1`), which must
/// have a fallback: a path no route knows gets it (for a path under `/v1`, it answers
/// [`not_found`]).
pub fn router_with(node: Arc<Node>, pages: Router<Arc<Node>>) -> Router {
    DOMAINS
        .iter()
        .fold(pages, |router, domain| router.merge((domain.routes)()))
        .method_not_allowed_fallback(node_info::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(node.clone(), node_info::mark_syncing))
        .with_state(node)
}

/// The API's answer to a path no route knows: a 404 problem pointing at the OpenAPI document.
pub async fn not_found() -> ApiError {
    node_info::not_found().await
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

#[cfg(test)]
mod tests;
