//! What the portal's pages share to read queries and forms: each failure a 400 page in the
//! portal's frame with the reason, fields trimmed and bounded, DIDs and the `done` hash
//! checked, and the note a page shows after its form's transaction committed.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::Query;
use axum::extract::rejection::{FormRejection, QueryRejection};
use civitas_types::{Did, Hash};
use maud::{Markup, html};

use std::sync::Arc;

use axum::response::{IntoResponse, Redirect, Response};
use civitas_types::Instruction;

use super::Portal;
use crate::error::PageError;
use crate::explorer::clip;
use crate::layout::{badge, short};

/// A form's fields by name.
pub(super) type Fields = BTreeMap<String, String>;

/// Longest text field taken from a form.
const FIELD_CHARS_MAX: usize = 500;

/// An error shown in the portal's frame.
pub(super) fn in_portal<T>(r: Result<T, PageError>) -> Result<T, PageError> {
    r.map_err(PageError::in_portal)
}

/// A page's query, or why it is not one (an unknown parameter, a number that is not one), as a
/// 400 in the portal.
pub(super) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, PageError> {
    q.map(|Query(q)| q).map_err(|e| PageError::bad(e.body_text()).in_portal())
}

/// A form's fields, or why they did not parse, as a 400 in the portal.
pub(super) fn form(f: Result<Form<Fields>, FormRejection>) -> Result<Fields, PageError> {
    f.map(|Form(f)| f).map_err(|e| PageError::bad(e.body_text()).in_portal())
}

/// The form's token field (empty when it has none).
pub(super) fn token(form: &Fields) -> &str {
    form.get("token").map_or("", String::as_str)
}

/// A required form field, trimmed and bounded.
pub(super) fn field<'a>(form: &'a Fields, name: &str) -> Result<&'a str, PageError> {
    let v = form.get(name).map(|s| s.trim()).unwrap_or("");
    if v.is_empty() {
        return Err(PageError::bad(format!("{name} is required")));
    }
    if v.chars().count() > FIELD_CHARS_MAX {
        return Err(PageError::bad(format!("{name} is at most {FIELD_CHARS_MAX} characters")));
    }
    Ok(v)
}

/// `text` as a did:civitas DID, or why not (naming the field `name`).
pub(super) fn parse_did(name: &str, text: &str) -> Result<Did, PageError> {
    text.trim().parse().map_err(|_| {
        PageError::bad(format!(
            "{name}: `{}` is not a did:civitas DID (did:civitas: and 40 hexadecimal digits)",
            clip(text)
        ))
    })
}

/// A required form field that is a did:civitas DID.
pub(super) fn did_field(form: &Fields, name: &str) -> Result<Did, PageError> {
    parse_did(name, field(form, name)?)
}

/// The `done` of a page's query: the transaction a form of this page just committed.
pub(super) fn done(hash: Option<&str>) -> Result<Option<Hash>, PageError> {
    hash.map(|h| {
        Hash::from_hex(h).map_err(|_| {
            PageError::bad(format!("done is a transaction's hash, 64 hexadecimal digits; `{}` is not", clip(h)))
        })
    })
    .transpose()
}

/// The note a page shows after its form's transaction committed, linking the transaction.
pub(super) fn done_note(p: &Portal, done: Option<&Hash>) -> Markup {
    html! {
        @if let Some(h) = done {
            @let h = h.to_hex();
            p.done role="status" { (badge("done", "ok")) " Committed in transaction " a href=(format!("{}/tx/{h}", p.node)) { (short(&h)) } "." }
        }
    }
}

/// A form's action: reads the fields, checks the portal's token, builds the instruction and the
/// page to return to from the fields, signs and submits it, and sends the browser back to that
/// page with `done=<the transaction's hash>`.
pub(super) async fn act(
    p: Arc<Portal>,
    f: Result<Form<Fields>, FormRejection>,
    build: impl FnOnce(&Fields) -> Result<(Instruction, String), PageError> + Send + 'static,
) -> Result<Response, PageError> {
    let f = form(f)?;
    in_portal(
        crate::explorer::blocking(move || {
            p.check_token(token(&f))?;
            let (instruction, back) = build(&f)?;
            let hash = p.submit(instruction)?;
            let sep = if back.contains('?') { '&' } else { '?' };
            Ok(Redirect::to(&format!("{back}{sep}done={}", hash.to_hex())).into_response())
        })
        .await,
    )
}
