//! The search box: a height goes to its block, a transaction hash to its transaction (or a
//! recent block's hash to that block), a DID to its account; anything else is a page saying
//! what the box takes.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use civitas_node::TxStatus;
use civitas_types::Hash;
use serde::Deserialize;

use super::{NodeState, blocking, clip};
use crate::error::PageError;

/// Longest query taken.
const QUERY_CHARS_MAX: usize = 200;

/// The search query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchQuery {
    q: Option<String>,
}

/// `GET /search?q=...`: a redirect to what `q` names.
pub(crate) async fn search(
    State(node): NodeState,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(query) = query.map_err(|e| PageError::bad(e.body_text()))?;
    let q = query.q.unwrap_or_default();
    if q.chars().count() > QUERY_CHARS_MAX {
        return Err(PageError::bad(format!("a search is at most {QUERY_CHARS_MAX} characters")));
    }
    let q = q.trim().to_owned();
    if q.is_empty() {
        return Err(PageError::bad("search for a height, a transaction or block hash, or a DID"));
    }
    if q.bytes().all(|b| b.is_ascii_digit()) {
        let latest = node.status().latest.height;
        return match q.parse::<u64>() {
            Ok(h) if h <= latest => Ok(Redirect::to(&format!("/blocks/{h}")).into_response()),
            _ => Err(PageError::not_found(format!("there is no block {}; the newest is {latest}", clip(&q)))),
        };
    }
    if q.starts_with("did:civitas:") {
        super::accounts::parse_did(&q)?;
        return Ok(Redirect::to(&format!("/accounts/{q}")).into_response());
    }
    if q.starts_with("did:") {
        return Ok(Redirect::to(&format!("/v1/dids/{q}")).into_response());
    }
    let Ok(hash) = Hash::from_hex(&q) else {
        return Err(PageError::bad(format!(
            "`{}` is not a height, a 64-digit hash or a DID; a hash is 64 hexadecimal digits",
            clip(&q)
        )));
    };
    blocking(move || {
        if !matches!(node.tx_status(&hash)?, TxStatus::Unknown) {
            return Ok(Redirect::to(&format!("/tx/{}", hash.to_hex())).into_response());
        }
        let recent = node.recent_headers(civitas_node::RECENT_HEADERS_MAX);
        if let Some(h) = recent.iter().find(|h| h.hash() == hash) {
            return Ok(Redirect::to(&format!("/blocks/{}", h.height)).into_response());
        }
        Err(PageError::not_found(format!(
            "no transaction {} is known here, nor a block among the newest {} with that hash",
            hash.to_hex(),
            recent.len()
        )))
    })
    .await
}
