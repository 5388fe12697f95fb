//! An account: its balance, key and roles, the organization it is (if any), its DID document
//! as resolvers see it, and the document's version history, each version linked to its
//! resolution; with the proofs of the account and of the document.

use axum::extract::{Path, State};
use civitas_execution::dids::query as dids;
use civitas_node::{DidVersion, Node};
use civitas_types::Did;
use maud::{Markup, html};

use super::{NodeState, blocking, clip};
use crate::error::PageError;
use crate::layout::{self, amount, badge, facts, json_block, short, time};

/// Most versions of a DID document listed (the newest).
const VERSIONS_SHOWN: u64 = 100;

/// Parses `text` as a did:civitas DID, with the reason a reader can act on if it is not one.
pub(crate) fn parse_did(text: &str) -> Result<Did, PageError> {
    if text.starts_with("did:key:") {
        return Err(PageError::not_found(format!(
            "{} is a device's or a holder's did:key, not an account: resolve it at /v1/dids/{}",
            clip(text),
            clip(text)
        )));
    }
    text.parse().map_err(|_| {
        PageError::bad(format!("a Civitas DID is did:civitas: and 40 hexadecimal digits; `{}` is not one", clip(text)))
    })
}

/// `GET /accounts/{did}`.
pub(crate) async fn account(State(node): NodeState, Path(did): Path<String>) -> Result<Markup, PageError> {
    let did = parse_did(&did)?;
    blocking(move || account_page(&node, &did)).await
}

fn account_page(node: &Node, did: &Did) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let Some(account) = node.account(did)? else {
        return Err(PageError::not_found(format!("there is no account {did} at block {latest}")));
    };
    let org = node.query(|s| civitas_execution::orgs::query::organization(s, did))?;
    let resolved = node.resolve_did(did, DidVersion::Latest)?;
    let text = did.to_string();
    let short_id = &text["did:civitas:".len().min(text.len())..];
    let short_id = &short_id[..short_id.len().min(12)];
    let roles: Vec<&str> = account.roles.iter().map(|r| r.name()).collect();
    let versions = match &resolved {
        Some(r) => {
            let top = r.meta.version;
            let mut rows = Vec::new();
            for v in (top.saturating_sub(VERSIONS_SHOWN - 1).max(1)..=top).rev() {
                let height = node.query(|s| dids::version_height(s, did, v))?;
                rows.push((v, height));
            }
            rows
        }
        None => vec![],
    };
    let body = html! {
        (facts(&[
            ("DID", short(&text)),
            ("Balance", html! { (amount(account.balance)) }),
            ("Account key", short(&account.public_key.to_hex())),
            ("Next nonce", html! { (account.nonce) }),
            ("Roles", html! { @if roles.is_empty() { "none" } @else { (roles.join(", ")) } }),
        ]))
        @if let Some(o) = &org {
            h2 { "Organization" }
            (facts(&[
                ("Name", html! { a href=(format!("/orgs/{text}")) { (o.name) } }),
                ("Kind", html! { (o.kind.name()) }),
                ("Functions", html! { @if o.functions.is_empty() { "none" } @else { (o.functions.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")) } }),
                ("Registered", html! { @if o.registered_height == 0 { "at genesis" } @else { "at block " (layout::height(o.registered_height)) } }),
            ]))
        }
        (layout::proof(&format!("/v1/accounts/{text}?prove=true"), &format!("account-{short_id}.json"), "this account's balance, key and nonce"))
        @if let Some(r) = &resolved {
            h2 { "DID document" }
            p {
                "Version " (r.meta.version) ", created " (time(r.meta.created_ms)) ", last changed " (time(r.meta.updated_ms)) ". "
                @if r.meta.deactivated { (badge("deactivated", "bad")) }
            }
            (json_block(&civitas_client::did::civitas_document(did, &r.account_key, &r.document)))
            h3 { "Versions" }
            table {
                thead { tr { th scope="col" class="num" { "Version" } th scope="col" { "From block" } th scope="col" { "Resolve" } } }
                tbody {
                    @for (v, height) in &versions {
                        tr {
                            td.num { (v) }
                            td { @match height { Some(h) if *h > 0 => (layout::height(*h)), _ => "genesis" } }
                            td { a href=(format!("/v1/dids/{text}?versionId={v}")) { "versionId=" (v) } }
                        }
                    }
                }
            }
            (layout::proof(&format!("/v1/dids/{text}?prove=true"), &format!("did-{short_id}.json"), "this DID document"))
        }
    };
    Ok(layout::page(&format!("Account {short_id}…"), Some(latest), body))
}
