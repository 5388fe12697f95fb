//! The citizen portal: `civitas wallet` serves it on a loopback port for one resident, on their
//! own machine, with their key in that process only. It reads the chain through a node's API
//! and changes it with the same signed transactions the CLI sends: my DID and document, my
//! credentials (shown, and presented to a verifier with the claims I choose), my consents
//! (granted and withdrawn), and the access log of who verified my data and why.
//!
//! A page on the open web must not be able to act for the resident: the portal answers only
//! requests addressed to its own loopback address (no DNS rebinding), every form carries this
//! process's random token (no cross-site request), and pages forbid framing and caching.

mod forms;
mod modules;
mod pages;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use civitas_client::Client;
use civitas_client::wire::TxState;
use civitas_types::{Did, Hash, Instruction, SecretKey, Transaction};
use maud::{Markup, html};

use crate::error::PageError;
use crate::layout::{self, Shell};

/// What the portal is started with.
pub struct PortalConfig {
    /// The resident's account key: it signs their transactions and signed reads, and binds
    /// their presentations.
    pub key: SecretKey,
    /// The wallet folder (`<name>.sdjwt` credentials, as `civitas credential issue` writes).
    pub wallet: PathBuf,
    /// The node's API.
    pub node: String,
    /// The `host:port` the portal listens at: it answers requests addressed there only.
    pub authority: String,
}

/// The portal's state.
pub(crate) struct Portal {
    key: SecretKey,
    did: Did,
    wallet: PathBuf,
    client: Client,
    node: String,
    authority: String,
    /// This process's form token.
    token: String,
}

/// How long the portal waits for a transaction to commit.
const COMMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The portal's navigation.
pub(crate) const NAV: &[(&str, &str)] = &[
    ("/", "My DID"),
    ("/credentials", "My credentials"),
    ("/consents", "My consents"),
    ("/access-log", "Who looked"),
    ("/invoices", "My invoices"),
    ("/leases", "My leases"),
    ("/devices", "My devices"),
    ("/wages", "My wages"),
];

/// The portal's routes.
pub fn router(config: PortalConfig) -> Router {
    let token = hex::encode(SecretKey::generate().seed());
    let portal = Arc::new(Portal {
        did: Did::from_initial_key(&config.key.public_key()),
        key: config.key,
        wallet: config.wallet,
        client: Client::new(&config.node),
        node: config.node.trim_end_matches('/').to_owned(),
        authority: config.authority,
        token,
    });
    Router::new()
        .route("/", get(pages::home))
        .route("/credentials", get(pages::credentials))
        .route("/credentials/{name}", get(pages::credential))
        .route("/credentials/{name}/present", post(pages::present))
        .route("/consents", get(pages::consents).post(pages::grant))
        .route("/consents/{id}/withdraw", post(pages::withdraw))
        .route("/access-log", get(pages::access_log))
        .merge(modules::routes())
        .route(layout::STYLE_PATH, get(crate::explorer::style))
        .route(layout::SCRIPT_PATH, get(crate::explorer::script))
        .fallback(|| async { PageError::not_found("there is no such page in your portal").in_portal() })
        .layer(axum::middleware::from_fn_with_state(portal.clone(), guard))
        .with_state(portal)
}

/// Refuses requests not addressed to the portal's own address, and marks every answer
/// private, unframeable and same-origin only.
async fn guard(State(portal): State<Arc<Portal>>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if host != portal.authority {
        return PageError::new(
            StatusCode::MISDIRECTED_REQUEST,
            format!("this portal answers only at http://{}/", portal.authority),
        )
        .in_portal()
        .into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

impl Portal {
    /// A page of the portal.
    fn page(&self, title: &str, body: Markup) -> Markup {
        let extra = html! { p.who { "Signed in as " (layout::short(&self.did.to_string())) } };
        let at = html! { p.at { "Your own portal: your key stays in this process. Chain: " a href=(self.node) { (self.node) } } };
        let footer = html! {
            "Changes are transactions signed with your key and sent to " (self.node)
            "; every one is on the chain, like those the CLI sends."
        };
        layout::shell(&Shell { title, brand: "My Civitas", nav_label: "Portal", nav: NAV, extra, at, footer }, body)
    }

    /// The hidden field every form carries.
    fn token_field(&self) -> Markup {
        html! { input type="hidden" name="token" value=(self.token); }
    }

    /// Refuses a form without this process's token.
    fn check_token(&self, token: &str) -> Result<(), PageError> {
        let (a, b) = (token.as_bytes(), self.token.as_bytes());
        let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        if same {
            Ok(())
        } else {
            Err(PageError::new(StatusCode::FORBIDDEN, "this form did not come from your portal's own page; reload it"))
        }
    }

    /// Signs `instruction` with the resident's key, submits it and waits for its block; the
    /// transaction's hash, or why the node or the chain refused it.
    fn submit(&self, instruction: Instruction) -> Result<Hash, PageError> {
        let status = self.client.status().map_err(node_error)?;
        let nonce = self.client.account(&self.did).map_err(node_error)?.map_or(0, |a| a.nonce);
        let tx = Transaction {
            chain_id: status.chain_id,
            signer: self.key.public_key(),
            nonce,
            valid_until_height: status.height + 100,
            instructions: vec![instruction],
        }
        .sign(&self.key);
        let hash = self.client.submit(&tx).map_err(node_error)?;
        let outcome = self.client.wait_for(&hash, COMMIT_WAIT).map_err(node_error)?;
        match outcome.status {
            TxState::Committed => Ok(hash),
            _ => Err(PageError::new(
                StatusCode::CONFLICT,
                format!(
                    "the chain refused it: {}: {}",
                    outcome.error_code.unwrap_or_default(),
                    outcome.error_message.unwrap_or_default()
                ),
            )),
        }
    }
}

/// A node's refusal or absence, as a page: the node's own problem code where it gave one.
fn node_error(e: civitas_client::ClientError) -> PageError {
    match e {
        civitas_client::ClientError::Api(p) => {
            let status =
                StatusCode::from_u16(p.status).ok().filter(|s| s.is_client_error()).unwrap_or(StatusCode::BAD_GATEWAY);
            PageError::new(status, format!("the node refused it: {}: {}", p.code, p.detail))
        }
        other => PageError::new(StatusCode::BAD_GATEWAY, format!("the node did not answer as expected: {other}")),
    }
}

/// Runs a blocking step (the SDK's client is blocking) off the async workers.
use crate::explorer::blocking;

#[cfg(test)]
mod tests;
