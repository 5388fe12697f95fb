//! A page that could not be shown: its status and reason, as a page of its own. A reader's
//! mistake (an unknown height, a malformed DID, a hash of the wrong length, a query too long) is
//! a 4xx with the reason; only the node failing to read its own store is a 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::layout;

/// Why a page is not shown.
#[derive(Debug)]
pub(crate) struct PageError {
    status: StatusCode,
    reason: String,
    /// Shown in the citizen portal's frame rather than the explorer's.
    portal: bool,
}

impl PageError {
    /// `status` with `reason`.
    pub(crate) fn new(status: StatusCode, reason: impl Into<String>) -> PageError {
        PageError { status, reason: reason.into(), portal: false }
    }

    /// The same error, shown in the citizen portal's frame.
    pub(crate) fn in_portal(mut self) -> PageError {
        self.portal = true;
        self
    }

    /// The request is malformed: 400 with `reason`.
    pub(crate) fn bad(reason: impl Into<String>) -> PageError {
        PageError::new(StatusCode::BAD_REQUEST, reason)
    }

    /// The node failed: 500 with `reason`.
    pub(crate) fn internal(reason: impl Into<String>) -> PageError {
        PageError::new(StatusCode::INTERNAL_SERVER_ERROR, reason)
    }

    /// Nothing is there: 404 with `reason`.
    pub(crate) fn not_found(reason: impl Into<String>) -> PageError {
        PageError::new(StatusCode::NOT_FOUND, reason)
    }
}

impl From<civitas_node::NodeError> for PageError {
    fn from(e: civitas_node::NodeError) -> PageError {
        PageError::internal(format!("this node could not read its store: {e}"))
    }
}

impl From<civitas_state::StoreError> for PageError {
    fn from(e: civitas_state::StoreError) -> PageError {
        PageError::from(civitas_node::NodeError::from(e))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = match self.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Not understood",
            StatusCode::FORBIDDEN | StatusCode::MISDIRECTED_REQUEST => "Refused",
            StatusCode::CONFLICT => "Not done",
            StatusCode::BAD_GATEWAY => "The node did not answer",
            _ => "This node could not answer",
        };
        if self.portal {
            let body = html! {
                p.reason role="alert" { (self.reason) }
                p { a href="/" { "Back to your portal" } }
            };
            let frame = layout::Shell {
                title,
                brand: "My Civitas",
                nav_label: "Portal",
                nav: crate::portal::NAV,
                extra: html! {},
                at: html! {},
                footer: html! { "Nothing was changed." },
            };
            return (self.status, layout::shell(&frame, body)).into_response();
        }
        let body = html! {
            p.reason role="alert" { (self.reason) }
            p { a href="/" { "Back to the dashboard" } " or search for a height, a transaction hash or a DID above." }
        };
        (self.status, layout::page(title, None, body)).into_response()
    }
}

/// The answer to a path no page or route knows: the API's problem under `/v1`, a page
/// elsewhere.
pub(crate) async fn fallback(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/v1/") || uri.path() == "/v1" {
        return civitas_api::not_found().await.into_response();
    }
    let path: String = uri.path().chars().take(200).collect();
    PageError::not_found(format!("there is no page {path}")).into_response()
}
