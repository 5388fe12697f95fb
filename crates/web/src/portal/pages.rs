//! The portal's pages and forms. Reads go through the node's API (signed reads with the
//! resident's key for what is theirs alone); forms become transactions signed here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use civitas_client::sdjwt::{self, Disclosure, SigningKey};
use civitas_types::{CredentialInstruction, Instruction};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::forms::{act, did_field, done, done_note, field, in_portal, token};
use super::{Portal, blocking};
use crate::error::PageError;
use crate::layout::{amount, badge, facts, json_block, short, time};

type PortalState = State<Arc<Portal>>;

/// Most credentials listed from the wallet folder, and the largest file read.
const WALLET_FILES_MAX: usize = 200;
const CREDENTIAL_BYTES_MAX: u64 = 64 * 1024;
/// Consents and access-log entries per page.
const PAGE: u64 = 50;

/// A query or form that did not parse, as a 400 in the portal.
fn bad_input(e: impl std::fmt::Display) -> PageError {
    PageError::bad(e.to_string()).in_portal()
}

/// `GET /`: my DID, balance and DID document.
pub(crate) async fn home(State(p): PortalState) -> Result<Markup, PageError> {
    in_portal(
        blocking(move || {
            let account = p.client.account(&p.did).map_err(super::node_error)?;
            let did = p.did.to_string();
            let resolution = p.client.resolve_did(&did, None, None).map_err(super::node_error)?;
            let explorer = format!("{}/accounts/{did}", p.node);
            let body = html! {
                @match &account {
                    Some(a) => (facts(&[
                        ("My DID", short(&did)),
                        ("Balance", html! { (amount(a.balance.parse().unwrap_or(0))) }),
                        ("Account key", short(&a.public_key)),
                        ("Transactions sent", html! { (a.nonce) }),
                    ])),
                    None => p.reason { "The chain has no account " (did) " yet: register it with " code { "civitas tx register" } "." },
                }
                p { "As everyone sees it, with its proofs: " a href=(explorer) { "your account in the explorer" } "." }
                h2 { "My DID document" }
                (json_block(&serde_json::to_value(&resolution).unwrap_or(Value::Null)))
            };
            Ok(p.page("My DID", body))
        })
        .await,
    )
}

/// A wallet credential's name: letters, digits, `-` and `_` (as `civitas credential issue`
/// names them).
fn wallet_file(p: &Portal, name: &str) -> Result<PathBuf, PageError> {
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(PageError::bad("a credential's name is letters, digits, - and _"));
    }
    Ok(p.wallet.join(format!("{name}.sdjwt")))
}

/// A credential from the wallet: its text, what it says of itself, and its claims.
struct Held {
    issuance: String,
    info: sdjwt::Unverified,
    claims: Vec<(String, Value)>,
}

fn read_credential(p: &Portal, name: &str) -> Result<Held, PageError> {
    let path = wallet_file(p, name)?;
    let size = std::fs::metadata(&path)
        .map_err(|_| PageError::not_found(format!("there is no credential {name} in your wallet")))?
        .len();
    if size > CREDENTIAL_BYTES_MAX {
        return Err(PageError::bad(format!("{name} is {size} bytes: not a credential")));
    }
    let issuance = std::fs::read_to_string(&path)
        .map_err(|e| PageError::bad(format!("{name} cannot be read: {e}")))?
        .trim()
        .to_owned();
    let unreadable = |e: sdjwt::SdJwtError| PageError::bad(format!("{name} is not an SD-JWT credential: {e}"));
    let info = sdjwt::inspect(&issuance).map_err(unreadable)?;
    let parts = sdjwt::split(&issuance).map_err(unreadable)?;
    let mut claims = Vec::new();
    for d in &parts.disclosures {
        let d = Disclosure::parse(d).map_err(unreadable)?;
        if let Some(n) = d.name {
            claims.push((n, d.value));
        }
    }
    Ok(Held { issuance, info, claims })
}

/// The names of the credentials in the wallet folder, sorted.
fn wallet_names(p: &Portal) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(&p.wallet) else { return vec![] };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".sdjwt").map(str::to_owned))
        .filter(|n| wallet_file(p, n).is_ok())
        .collect();
    names.sort();
    names.truncate(WALLET_FILES_MAX);
    names
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `GET /credentials`: the credentials in the wallet.
pub(crate) async fn credentials(State(p): PortalState) -> Result<Markup, PageError> {
    in_portal(
        blocking(move || {
            let names = wallet_names(&p);
            let body = html! {
                p { "The credentials in " code { (p.wallet.display()) } ". They stay on this machine: a verifier sees only what you present." }
                @if names.is_empty() {
                    p { "None yet. An issuer writes one here with " code { "civitas credential issue --wallet" } "." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Issuer" } th scope="col" class="num" { "Claims" } } }
                        tbody {
                            @for n in &names {
                                @match read_credential(&p, n) {
                                    Ok(h) => tr {
                                        td { a href=(format!("/credentials/{n}")) { (n) } }
                                        td { code { (h.info.vct) } }
                                        td { (short(&h.info.issuer)) }
                                        td.num { (h.claims.len()) }
                                    },
                                    Err(e) => tr { td { (n) } td colspan="3" { (badge("unreadable", "bad")) " " (format!("{e:?}")) } },
                                }
                            }
                        }
                    }
                }
            };
            Ok(p.page("My credentials", body))
        })
        .await,
    )
}

/// `GET /credentials/{name}`: its claims, and the form to present some of them.
pub(crate) async fn credential(State(p): PortalState, Path(name): Path<String>) -> Result<Markup, PageError> {
    in_portal(
        blocking(move || {
            let held = read_credential(&p, &name)?;
            let body = html! {
                (facts(&[
                    ("Type", html! { code { (held.info.vct) } }),
                    ("Issuer", short(&held.info.issuer)),
                    ("Status entry", html! { @match held.info.status_index { Some(i) => (i), None => "none" } }),
                ]))
                h2 { "Present it" }
                p { "Choose the claims the verifier may see. The presentation is bound to your key, the verifier and its nonce; the verifier checks it against the chain, which logs the check for you to see under " a href="/access-log" { "Who looked" } "." }
                form method="post" action=(format!("/credentials/{name}/present")) {
                    (p.token_field())
                    fieldset {
                        legend { "Claims to disclose" }
                        @for (claim, value) in &held.claims {
                            div {
                                input type="checkbox" id=(format!("claim-{claim}")) name=(format!("claim:{claim}")) value="on";
                                label for=(format!("claim-{claim}")) { code { (claim) } ": " (value_text(value)) }
                            }
                        }
                    }
                    p { label for="aud" { "Verifier's DID" } br; input #aud name="aud" required maxlength="200" size="60" placeholder="did:civitas:…"; }
                    p { label for="nonce" { "The verifier's nonce" } br; input #nonce name="nonce" required maxlength="200" size="60"; }
                    button type="submit" { "Make the presentation" }
                }
                p { a href=(format!("/consents?credential={name}")) { "Consent that a verifier see claims of this credential" } }
            };
            Ok(p.page(&format!("Credential {name}"), body))
        })
        .await,
    )
}

/// `POST /credentials/{name}/present`: the presentation of the chosen claims.
pub(crate) async fn present(
    State(p): PortalState,
    Path(name): Path<String>,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Result<Markup, PageError> {
    let Form(form) = form.map_err(|e| bad_input(e.body_text()))?;
    in_portal(
        blocking(move || {
            p.check_token(token(&form))?;
            let held = read_credential(&p, &name)?;
            let aud = did_field(&form, "aud")?.to_string();
            let nonce = field(&form, "nonce")?.to_owned();
            let chosen: Vec<&str> =
                form.keys().filter_map(|k| k.strip_prefix("claim:")).filter(|c| held.claims.iter().any(|(n, _)| n == c)).collect();
            if chosen.is_empty() {
                return Err(PageError::bad("choose at least one claim to disclose"));
            }
            let now = civitas_node::consensus::now_ms() / 1000;
            let presentation =
                sdjwt::present(&held.issuance, &chosen, Some((&SigningKey::Ed25519(p.key.clone()), &aud, &nonce, now)))
                    .map_err(|e| PageError::bad(format!("the presentation could not be made: {e}")))?;
            let body = html! {
                p { "It discloses " (chosen.join(", ")) " to " (short(&aud)) ", for the nonce " code { (nonce) } ". Give it to the verifier:" }
                textarea #presentation readonly rows="8" cols="90" aria-label="The presentation" { (presentation) }
                p { button.copy type="button" data-copy=(presentation) { "copy" } }
                p { "The verifier checks it with " code { "civitas credential verify --presentation FILE --aud " (aud) " --nonce " (nonce) " --purpose …" } "." }
            };
            Ok(p.page("Presentation", body))
        })
        .await,
    )
}

/// The consents page's query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentsQuery {
    credential: Option<String>,
    from: Option<u64>,
    done: Option<String>,
}

/// `GET /consents`: my consents, a withdraw button for each, and the grant form (filled from
/// a wallet credential with `?credential=NAME`).
pub(crate) async fn consents(
    State(p): PortalState,
    query: Result<Query<ConsentsQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let Query(q) = query.map_err(|e| bad_input(e.body_text()))?;
    in_portal(
        blocking(move || {
            let from = q.from.unwrap_or(0);
            let done = done(q.done.as_deref())?;
            let list = p.client.consents(&p.key, from, PAGE).map_err(super::node_error)?;
            let height = p.client.status().map_err(super::node_error)?.height;
            let prefill = q.credential.as_deref().map(|n| read_credential(&p, n)).transpose()?;
            let items = list["consents"].as_array().cloned().unwrap_or_default();
            let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
            let body = html! {
                (done_note(&p, done.as_ref()))
                p { "A consent lets one verifier see the claims you name of one type of credential, for a purpose, a number of times, until a block. You can withdraw it at any time." }
                @if items.is_empty() {
                    p { "You have granted no consents." }
                } @else {
                    table #consents {
                        thead { tr { th scope="col" class="num" { "#" } th scope="col" { "Verifier" } th scope="col" { "Type" } th scope="col" { "Purpose" } th scope="col" { "Claims" } th scope="col" class="num" { "Used" } th scope="col" { "Until" } th scope="col" { "State" } } }
                        tbody {
                            @for c in &items {
                                @let id = c["id"].as_u64().unwrap_or(0);
                                tr {
                                    td.num { (id) }
                                    td { (short(&text(&c["verifier"]))) }
                                    td { code { (text(&c["vct"])) } }
                                    td { (text(&c["purpose"])) }
                                    td { (c["claims"].as_array().map(|a| a.iter().map(text).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                                    td.num { (c["uses"]) " of " (c["max_uses"]) }
                                    td { "block " (c["expires_height"]) }
                                    td {
                                        @if let Some(h) = c["withdrawn"].as_u64() {
                                            (badge(&format!("withdrawn at block {h}"), "bad"))
                                        } @else if c["expires_height"].as_u64().is_some_and(|e| e < height) {
                                            (badge("expired", "wait"))
                                        } @else if c["uses"].as_u64() >= c["max_uses"].as_u64() {
                                            (badge("used", "wait"))
                                        } @else {
                                            (badge("in force", "ok"))
                                            form.inline method="post" action=(format!("/consents/{id}/withdraw")) {
                                                (p.token_field())
                                                button type="submit" { "Withdraw consent " (id) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(next) = list["next"].as_u64() { p { a href=(format!("/consents?from={next}")) { "More" } } }
                }
                h2 { "Grant a consent" }
                form #grant method="post" action="/consents" {
                    (p.token_field())
                    p { label for="verifier" { "Verifier (an organization's DID)" } br; input #verifier name="verifier" required maxlength="200" size="60"; }
                    p { label for="issuer" { "The credential's issuer" } br; input #issuer name="issuer" required maxlength="200" size="60" value=[prefill.as_ref().map(|h| h.info.issuer.clone())]; }
                    p { label for="vct" { "The credential's type" } br; input #vct name="vct" required maxlength="200" size="60" value=[prefill.as_ref().map(|h| h.info.vct.clone())]; }
                    p { label for="purpose" { "Purpose" } br; input #purpose name="purpose" required maxlength="200" size="60"; }
                    p { label for="claims" { "Claims it may see (comma-separated)" } br; input #claims name="claims" required maxlength="500" size="60" value=[prefill.as_ref().map(|h| h.claims.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>().join(","))]; }
                    p { label for="max_uses" { "Verifications allowed" } br; input #max_uses name="max_uses" type="number" min="1" max="1000" value="1"; }
                    p { label for="ttl_blocks" { "Lasting (blocks)" } br; input #ttl_blocks name="ttl_blocks" type="number" min="1" value="100000"; }
                    button type="submit" { "Grant" }
                }
            };
            Ok(p.page("My consents", body))
        })
        .await,
    )
}

fn number_field(form: &BTreeMap<String, String>, name: &str, default: u64) -> Result<u64, PageError> {
    match form.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| PageError::bad(format!("{name} is a whole number; `{}` is not", crate::explorer::clip(v)))),
    }
}

/// `POST /consents`: grants a consent.
pub(crate) async fn grant(
    State(p): PortalState,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Result<Response, PageError> {
    act(p, form, |form| {
        let claims: Vec<String> =
            field(form, "claims")?.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
        let max_uses =
            u32::try_from(number_field(form, "max_uses", 1)?).map_err(|_| PageError::bad("max_uses is too large"))?;
        let instruction = Instruction::Credentials(CredentialInstruction::GrantConsent {
            verifier: did_field(form, "verifier")?,
            issuer: did_field(form, "issuer")?,
            vct: field(form, "vct")?.to_owned(),
            purpose: field(form, "purpose")?.to_owned(),
            claims,
            ttl_blocks: number_field(form, "ttl_blocks", 100_000)?,
            max_uses,
        });
        Ok((instruction, "/consents".into()))
    })
    .await
}

/// `POST /consents/{id}/withdraw`: withdraws a consent.
pub(crate) async fn withdraw(
    State(p): PortalState,
    Path(id): Path<String>,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Result<Response, PageError> {
    act(p, form, move |_| {
        let consent = crate::explorer::number("the consent", &id)?;
        Ok((Instruction::Credentials(CredentialInstruction::WithdrawConsent { consent }), "/consents".into()))
    })
    .await
}

/// The access log's query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogQuery {
    from: Option<u64>,
}

/// `GET /access-log`: who verified my data, when, why and what they saw.
pub(crate) async fn access_log(
    State(p): PortalState,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let Query(q) = query.map_err(|e| bad_input(e.body_text()))?;
    in_portal(
        blocking(move || {
            let log = p.client.access_log(&p.key, None, q.from.unwrap_or(0), PAGE).map_err(super::node_error)?;
            let entries = log["entries"].as_array().cloned().unwrap_or_default();
            let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
            let body = html! {
                p { "Every verification of a credential bound to your key that a verifier recorded on the chain. The chain keeps this log under a reference to you, readable only with your key." }
                @if entries.is_empty() {
                    p { "No one has recorded a verification of your credentials." }
                } @else {
                    table #access-log {
                        thead { tr { th scope="col" { "When" } th scope="col" { "Verifier" } th scope="col" { "Official" } th scope="col" { "Type" } th scope="col" { "Purpose" } th scope="col" { "Saw" } th scope="col" { "Consent" } th scope="col" { "Outcome" } } }
                        tbody {
                            @for e in &entries {
                                tr {
                                    td { (time(e["timestamp_ms"].as_u64().unwrap_or(0))) }
                                    td { (short(&text(&e["verifier"]))) }
                                    td { (short(&text(&e["official"]))) }
                                    td { code { (text(&e["vct"])) } }
                                    td { (text(&e["purpose"])) }
                                    td { (e["disclosed"].as_array().map(|a| a.iter().map(text).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                                    td { @if e["consent"].is_null() { "none" } @else { (text(&e["consent"])) } }
                                    td { (text(&e["outcome"])) }
                                }
                            }
                        }
                    }
                    @if let Some(next) = log["next"].as_u64() { p { a href=(format!("/access-log?from={next}")) { "More" } } }
                }
            };
            Ok(p.page("Who looked at my data", body))
        })
        .await,
    )
}
