//! RFC 9457 problem responses.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use civitas_client::wire::Problem;
use civitas_node::{AdmitError, NodeError, SubmitError};

/// What a node that is catching up asks a client to wait before it retries.
pub const SYNCING_RETRY_AFTER_SECS: u32 = 2;

/// An error the API returns, always as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    /// Seconds after which a retry may succeed (`Retry-After`), for refusals that pass.
    retry_after: Option<u32>,
}

impl ApiError {
    /// A problem with `status`, a stable `code` and a `detail` for people.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError { status, code, detail: detail.into(), retry_after: None }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("urn:civitas:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
        }
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        tracing::error!(error = %e, "node error while serving a request");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the node failed; see its log")
    }
}

impl ApiError {
    /// Nothing to prove against yet: no block after genesis is finalized.
    pub(crate) fn not_yet_final() -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_yet_final", "no block is finalized yet; retry shortly")
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        let status = match &e {
            SubmitError::Admit(AdmitError::Full(_)) => StatusCode::SERVICE_UNAVAILABLE,
            SubmitError::Admit(AdmitError::SignerFull(_)) => StatusCode::TOO_MANY_REQUESTS,
            SubmitError::Admit(AdmitError::AlreadyPending | AdmitError::NonceTaken(_))
            | SubmitError::AlreadyCommitted(_)
            | SubmitError::NonceUsed { .. } => StatusCode::CONFLICT,
            SubmitError::Deactivated(_) => StatusCode::FORBIDDEN,
            SubmitError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            SubmitError::Syncing { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let retry_after = match &e {
            SubmitError::Syncing { .. } => Some(SYNCING_RETRY_AFTER_SECS),
            SubmitError::Admit(AdmitError::Full(_)) => Some(1),
            _ => None,
        };
        ApiError { retry_after, ..ApiError::new(status, e.code(), e.to_string()) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).expect("a problem always serializes");
        let mut response = (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
    }
}
