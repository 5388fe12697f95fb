//! The Civitas HTTP API: routes over a [`civitas_node::Node`], JSON forms from
//! [`civitas_client::wire`], RFC 9457 problem+json for every error, and the OpenAPI document
//! at `/openapi.json`.
//!
//! This crate is an API boundary (its routes are what applications program against) and the
//! only node-side crate that speaks JSON to clients. Every body and page is bounded.

mod credentials;
mod handlers;
mod invoices;
mod problem;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use civitas_node::Node;
use utoipa::OpenApi;

pub use problem::ApiError;

/// Largest body for a single transaction (binary or JSON, whose hex roughly doubles it).
pub const TX_BODY_BYTES_MAX: usize = 4 * civitas_types::limits::TX_BYTES_MAX;
/// Largest body for a batch submission.
pub const BATCH_BODY_BYTES_MAX: usize = 32 * 1024 * 1024;

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Civitas API", description = "Submit transactions and read the Civitas ledger."),
    paths(
        handlers::submit,
        handlers::submit_batch,
        handlers::tx_status,
        handlers::block,
        handlers::raw_block,
        handlers::account,
        handlers::resolve_did,
        handlers::organization,
        handlers::official,
        handlers::audit,
        handlers::audit_entry,
        handlers::council,
        handlers::proposal,
        handlers::validators,
        invoices::invoice,
        invoices::list,
        invoices::totals,
        invoices::payment,
        invoices::merchant,
        credentials::verify,
        credentials::status,
        credentials::status_list,
        credentials::access,
        handlers::status,
    ),
    components(schemas(
        civitas_client::wire::Problem,
        civitas_client::wire::TransactionJson,
        civitas_client::wire::InstructionJson,
        civitas_client::wire::SubmitResponse,
        civitas_client::wire::BatchResponse,
        civitas_client::wire::BatchItem,
        civitas_client::wire::TxStatusJson,
        civitas_client::wire::TxState,
        civitas_client::wire::BlockJson,
        civitas_client::wire::BlockTxJson,
        civitas_client::wire::AccountJson,
        civitas_client::wire::StatusJson,
        civitas_client::did::ResolutionJson,
        civitas_client::wire::OrgJson,
        civitas_client::wire::OfficialJson,
        civitas_client::wire::ValidatorSetJson,
        civitas_client::wire::ValidatorJson,
        civitas_client::wire::MerchantJson,
        civitas_client::wire::CredentialVerifyRequest,
        civitas_client::wire::VerificationJson,
        civitas_client::invoice::InvoiceJson,
        civitas_client::invoice::InvoicePageJson,
        civitas_client::invoice::InvoiceTotalsJson,
        civitas_client::invoice::PaymentRecordJson,
        civitas_client::invoice::PaymentJson,
        civitas_client::invoice::LineItemJson,
        civitas_client::wire::AuditEntryJson,
        civitas_client::wire::AuditPageJson,
        civitas_client::wire::CouncilJson,
        civitas_client::wire::ProposalJson,
        civitas_client::wire::CouncilActionJson,
        civitas_client::did::DidDocumentDataJson,
        civitas_client::did::MethodJson,
        civitas_client::did::ServiceJson,
        civitas_client::wire::ProofJson,
        civitas_client::wire::ClaimJson,
        civitas_client::wire::MerkleStepJson,
    ))
)]
pub struct ApiDoc;

/// The API's routes over `node`.
pub fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/v1/transactions", post(handlers::submit))
        .route("/v1/transactions/batch", post(handlers::submit_batch))
        .route("/v1/transactions/{hash}", get(handlers::tx_status))
        .route("/v1/blocks/{height}", get(handlers::block))
        .route("/v1/blocks/{height}/raw", get(handlers::raw_block))
        .route("/v1/accounts/{did}", get(handlers::account))
        .route("/v1/dids/{did}", get(handlers::resolve_did))
        .route("/v1/orgs/{did}", get(handlers::organization))
        .route("/v1/orgs/{did}/officials/{member}", get(handlers::official))
        .route("/v1/audit", get(handlers::audit))
        .route("/v1/audit/{index}", get(handlers::audit_entry))
        .route("/v1/council", get(handlers::council))
        .route("/v1/council/proposals/{id}", get(handlers::proposal))
        .route("/v1/validators", get(handlers::validators))
        .route("/v1/invoices", get(invoices::list))
        .route("/v1/invoices/totals", get(invoices::totals))
        .route("/v1/invoices/{number}", get(invoices::invoice))
        .route("/v1/payments/{id}", get(invoices::payment))
        .route("/v1/merchants/{did}", get(invoices::merchant))
        .route("/v1/credentials/verify", post(credentials::verify))
        .route("/v1/credentials/status/{issuer}/{index}", get(credentials::status))
        .route("/v1/credentials/status-list/{issuer}/{chunk}", get(credentials::status_list))
        .route("/v1/credentials/access", get(credentials::access))
        .route("/v1/status", get(handlers::status))
        .route("/openapi.json", get(handlers::openapi))
        .route("/metrics", get(handlers::metrics))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .with_state(node)
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
