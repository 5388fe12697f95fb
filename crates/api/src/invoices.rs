//! Invoice routes. Reads are signed (`civitas-key`, `civitas-time`, `civitas-signature` over
//! the method, path and query, and time: `civitas_client::signed::request_message`) and each
//! party sees only its own: the buyer its invoices; an official of the seller, the seller's;
//! an official of an employer, those submitted to it; an official of a tax department,
//! everything. An official names the organization it acts for with `as=<DID>` (signed with
//! the rest of the query). Merchant registrations are public.

use civitas_execution::{invoices, orgs};
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::invoice::{InvoiceJson, InvoicePageJson, InvoiceTotalsJson, PaymentRecordJson};
use civitas_client::wire;
use civitas_execution::invoices::Party;
use civitas_execution::invoices::query::PAGE_MAX as INVOICE_PAGE_MAX;
use civitas_node::Node;
use civitas_types::Did;
use civitas_types::invoice::{Invoice, InvoiceStatus};
use civitas_types::org::{OrgFunction, OrgKind};
use serde::Deserialize;

use crate::ApiError;
use crate::common::{NodeState, proof_doc, signer_key, unauthorized};

/// The invoice, payment and merchant routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/invoices", get(list))
        .route("/v1/invoices/totals", get(totals))
        .route("/v1/invoices/{number}", get(invoice))
        .route("/v1/payments/{id}", get(payment))
        .route("/v1/merchants/{did}", get(merchant))
}

/// The invoice, payment and merchant routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(invoice, list, totals, payment, merchant),
    components(schemas(
        wire::Problem,
        wire::MerchantJson,
        civitas_client::invoice::InvoiceJson,
        civitas_client::invoice::InvoicePageJson,
        civitas_client::invoice::InvoiceTotalsJson,
        civitas_client::invoice::PaymentRecordJson,
        wire::ProofJson,
        wire::ClaimJson,
        wire::MerkleStepJson,
    ))
)]
pub(crate) struct Doc;

fn forbidden(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "not_allowed", detail)
}

/// Who is asking: the DID of the account whose key signed the request, and the organization
/// it acts for (`as`), checked.
fn caller(
    node: &Node,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    as_org: Option<&str>,
) -> Result<(Did, Option<Acting>), ApiError> {
    let key = signer_key(uri, headers)?;
    let account =
        node.account_by_key(&key)?.ok_or_else(|| unauthorized("unknown_signer", "no account holds this key"))?;
    let acting = acting_for(node, &account.did, as_org)?;
    Ok((account.did, acting))
}

/// The organization the caller acts for (`as`), checked: it must hold a role in it.
fn acting_for(node: &Node, caller: &Did, as_org: Option<&str>) -> Result<Option<Acting>, ApiError> {
    let Some(org) = as_org else { return Ok(None) };
    let org: Did = org.parse().map_err(|e| ApiError::bad_request("bad_did", format!("as: {e}")))?;
    if node.query(|s| orgs::query::role(s, &org, caller))?.is_none() {
        return Err(forbidden(format!("{caller} is not an official of {org}")));
    }
    let record = node
        .query(|s| orgs::query::organization(s, &org))?
        .ok_or_else(|| forbidden(format!("{org} is not an organization")))?;
    let tax = record.kind == OrgKind::Department && record.functions.contains(&OrgFunction::Tax);
    Ok(Some(Acting { org, tax }))
}

/// An organization the caller acts for.
struct Acting {
    org: Did,
    tax: bool,
}

fn is_tax(acting: &Option<Acting>) -> bool {
    acting.as_ref().is_some_and(|a| a.tax)
}

fn acts_as(acting: &Option<Acting>, org: &Did) -> bool {
    acting.as_ref().is_some_and(|a| a.org == *org)
}

/// Whether the caller may see `invoice`.
fn may_see(caller: &Did, acting: &Option<Acting>, invoice: &Invoice) -> bool {
    let c = &invoice.content;
    let employer = match invoice.status {
        InvoiceStatus::Submitted { employer, .. } | InvoiceStatus::Reimbursed { employer, .. } => Some(employer),
        _ => None,
    };
    c.buyer == Some(*caller)
        || is_tax(acting)
        || acts_as(acting, &c.seller)
        || employer.is_some_and(|e| acts_as(acting, &e))
}

fn parse_number(n: &str) -> Result<u64, ApiError> {
    n.parse().map_err(|_| ApiError::bad_request("bad_number", "an invoice number is an integer"))
}

/// One invoice's query: the organization the caller acts for, and `prove`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvoiceParams {
    #[serde(rename = "as")]
    as_org: Option<String>,
    prove: Option<bool>,
}

/// One invoice (signed request); with `prove=true`, a proof document of it.
#[utoipa::path(
    get, path = "/v1/invoices/{number}",
    params(
        ("number" = u64, Path, description = "The invoice's number"),
        ("as" = Option<String>, Query, description = "The organization the signer acts for", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("prove" = Option<bool>, Query, description = "Return a proof of the invoice in the latest finalized state"),
    ),
    responses(
        (status = 200, description = "The invoice (InvoiceJson), or with prove=true the proof (ProofJson)", body = crate::common::OrProof<InvoiceJson>),
        (status = 400, description = "An unknown or malformed query parameter (`bad_query`), or a bad `as` DID", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned, badly signed, stale, or by an unknown key", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the buyer, seller, employer or tax authority", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn invoice(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(number): Path<String>,
    query: Result<Query<InvoiceParams>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let number = parse_number(&number)?;
    let (caller, acting) = caller(&node, &uri, &headers, query.as_org.as_deref())?;
    let invoice = node
        .query(|s| invoices::query::invoice(s, number))?
        .ok_or_else(|| ApiError::not_found(format!("no invoice {number}")))?;
    if !may_see(&caller, &acting, &invoice) {
        return Err(forbidden(format!("invoice {number} is not {caller}'s to see")));
    }
    if query.prove == Some(true) {
        let key = civitas_types::invoice::invoice_key(number);
        let proof = node.prove(&key)?.ok_or_else(ApiError::not_yet_final)?;
        let Some(value) = proof.value.clone() else { return Err(ApiError::not_found(format!("no invoice {number}"))) };
        let claim = wire::ClaimJson::Invoice(civitas_client::claims::invoice::InvoiceClaim {
            number,
            state_key: hex::encode(&key),
            value: hex::encode(value),
            state_proof: hex::encode(&proof.proof),
        });
        return Ok(Json(proof_doc(&node, &proof, claim)).into_response());
    }
    Ok(Json(InvoiceJson::from_invoice(&invoice)).into_response())
}

/// The invoice list's query: at most one party, the acting organization, and the window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    seller: Option<String>,
    buyer: Option<String>,
    employer: Option<String>,
    #[serde(rename = "as")]
    as_org: Option<String>,
    from: Option<u64>,
    limit: Option<u64>,
}

/// A page of invoices (signed request): a seller's, a buyer's, those submitted to an employer,
/// or (tax authority) all of them by number.
#[utoipa::path(
    get, path = "/v1/invoices",
    params(
        ("seller" = Option<String>, Query, description = "The seller's invoices (an official of it, or the tax authority)", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("buyer" = Option<String>, Query, description = "The buyer's invoices (the buyer, or the tax authority)", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("employer" = Option<String>, Query, description = "Invoices submitted to the employer (an official of it, or the tax authority)", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("as" = Option<String>, Query, description = "The organization the signer acts for", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("from" = Option<u64>, Query, description = "Position (or, for all, invoice number) to start at"),
        ("limit" = Option<u64>, Query, description = "At most this many (1 to 100, default 20)", minimum = 1, maximum = 100),
    ),
    responses(
        (status = 200, description = "The page", body = InvoicePageJson),
        (status = 400, description = "Bad query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned or badly signed", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not this caller's list", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<InvoicePageJson>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(20);
    if limit == 0 || limit > INVOICE_PAGE_MAX {
        return Err(ApiError::bad_request("bad_limit", "limit is 1 to 100"));
    }
    let (caller, acting) = caller(&node, &uri, &headers, q.as_org.as_deref())?;
    let parse = |d: &str| d.parse::<Did>().map_err(|e| ApiError::bad_request("bad_did", e.to_string()));
    let party = match (&q.seller, &q.buyer, &q.employer) {
        (Some(s), None, None) => Some((Party::Seller, parse(s)?)),
        (None, Some(b), None) => Some((Party::Buyer, parse(b)?)),
        (None, None, Some(e)) => Some((Party::Employer, parse(e)?)),
        (None, None, None) => None,
        _ => return Err(ApiError::bad_request("bad_query", "give at most one of seller, buyer, employer")),
    };
    let allowed = is_tax(&acting)
        || match &party {
            Some((Party::Buyer, did)) => *did == caller,
            Some((_, did)) => acts_as(&acting, did),
            None => false,
        };
    if !allowed {
        return Err(forbidden("only the party itself, or the tax authority, lists these invoices"));
    }
    let (invoices, next) = node.query(|s| match &party {
        Some((p, d)) => invoices::query::list(s, *p, d, q.from.unwrap_or(0), limit),
        None => invoices::query::all(s, q.from.unwrap_or(0), limit),
    })?;
    Ok(Json(InvoicePageJson { invoices: invoices.iter().map(InvoiceJson::from_invoice).collect(), next }))
}

/// The totals' query: whose, over which days, the acting organization, and `prove`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TotalsParams {
    merchant: Option<String>,
    from_day: Option<u64>,
    to_day: Option<u64>,
    #[serde(rename = "as")]
    as_org: Option<String>,
    prove: Option<bool>,
}

/// Invoice totals (signed request): the chain's, a merchant's, or a merchant's over days
/// `from_day..=to_day` (UTC days since the Unix epoch, at most 366). The tax authority sees
/// all; a merchant's official its own. With `prove=true`, a proof document.
#[utoipa::path(
    get, path = "/v1/invoices/totals",
    params(
        ("merchant" = Option<String>, Query, description = "The merchant; absent for the whole chain", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("from_day" = Option<u64>, Query, description = "First day of a period"),
        ("to_day" = Option<u64>, Query, description = "Last day of a period"),
        ("as" = Option<String>, Query, description = "The organization the signer acts for", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("prove" = Option<bool>, Query, description = "Return a proof of the totals"),
    ),
    responses(
        (status = 200, description = "The totals (InvoiceTotalsJson), or with prove=true the proof (ProofJson)", body = crate::common::OrProof<InvoiceTotalsJson>),
        (status = 400, description = "Bad query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned or badly signed", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the tax authority or the merchant", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn totals(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<TotalsParams>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    use civitas_types::invoice::{TOTALS_KEY, day_totals_key, merchant_totals_key};
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let merchant = q
        .merchant
        .as_deref()
        .map(|m| m.parse::<Did>().map_err(|e| ApiError::bad_request("bad_did", e.to_string())))
        .transpose()?;
    let period = match (q.from_day, q.to_day) {
        (Some(f), Some(t))
            if f <= t && t - f < civitas_client::claims::invoice::TOTALS_DAYS_MAX && merchant.is_some() =>
        {
            Some((f, t))
        }
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request(
                "bad_period",
                "a period is a merchant's, from_day to to_day, at most 366 days",
            ));
        }
    };
    let (_, acting) = caller(&node, &uri, &headers, q.as_org.as_deref())?;
    if !(is_tax(&acting) || merchant.as_ref().is_some_and(|m| acts_as(&acting, m))) {
        return Err(forbidden("invoice totals are for the tax authority, and each merchant's for itself"));
    }
    let keys: Vec<Vec<u8>> = match (&merchant, period) {
        (None, _) => vec![TOTALS_KEY.to_vec()],
        (Some(m), None) => vec![merchant_totals_key(m)],
        (Some(m), Some((f, t))) => (f..=t).map(|d| day_totals_key(m, d)).collect(),
    };
    if q.prove == Some(true) {
        let (proof, items) = crate::common::prove_items(&node, &keys)?;
        let claim = wire::ClaimJson::InvoiceTotals(civitas_client::claims::invoice::InvoiceTotalsClaim {
            merchant: merchant.map(|m| m.to_string()),
            from_day: period.map(|p| p.0),
            to_day: period.map(|p| p.1),
            items,
        });
        return Ok(Json(proof_doc(&node, &proof, claim)).into_response());
    }
    let mut sum = civitas_types::invoice::InvoiceTotals::default();
    for key in &keys {
        sum = sum.plus(node.query(|s| invoices::query::totals_at(s, key))?);
    }
    Ok(Json(InvoiceTotalsJson::from_totals(&sum, merchant.as_ref(), period)).into_response())
}

/// The query of a signed read whose only option is the organization the caller acts for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AsParam {
    #[serde(rename = "as")]
    as_org: Option<String>,
}

/// A recorded payment (signed request): for its provider, its payee, or the tax authority.
#[utoipa::path(
    get, path = "/v1/payments/{id}",
    params(
        ("id" = String, Path, description = "The payment's id: 1 to 64 printable ASCII characters, no spaces (percent-encoded in the path)", pattern = "^[!-~]{1,64}$"),
        ("as" = Option<String>, Query, description = "The organization the signer acts for", pattern = "^did:civitas:[0-9a-f]{40}$"),
    ),
    responses(
        (status = 200, description = "The payment", body = PaymentRecordJson),
        (status = 400, description = "An unknown or malformed query parameter (`bad_query`), or a bad `as` DID", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unsigned or badly signed", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not its provider, payee or the tax authority", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such payment", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn payment(
    State(node): NodeState,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<AsParam>, QueryRejection>,
) -> Result<Json<PaymentRecordJson>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let (_, acting) = caller(&node, &uri, &headers, q.as_org.as_deref())?;
    let record = node
        .query(|s| invoices::query::payment(s, &id))?
        .ok_or_else(|| ApiError::not_found(format!("no payment {id}")))?;
    if !(is_tax(&acting) || acts_as(&acting, &record.provider) || acts_as(&acting, &record.payment.payee)) {
        return Err(forbidden(format!("payment {id} is for its provider, its payee and the tax authority")));
    }
    Ok(Json(PaymentRecordJson::from_record(&record)))
}

/// A merchant's registration (public): its taxpayer id and who registered it.
#[utoipa::path(
    get, path = "/v1/merchants/{did}",
    params(("did" = String, Path, description = "The merchant's DID", pattern = "^did:civitas:[0-9a-f]{40}$")),
    responses(
        (status = 200, description = "The registration", body = wire::MerchantJson),
        (status = 400, description = "Malformed DID", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a registered merchant", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn merchant(State(node): NodeState, Path(did): Path<String>) -> Result<Json<wire::MerchantJson>, ApiError> {
    let did: Did = did.parse().map_err(|e: civitas_types::DidError| ApiError::bad_request("bad_did", e.to_string()))?;
    let m = node
        .query(|s| invoices::query::merchant(s, &did))?
        .ok_or_else(|| ApiError::not_found(format!("{did} is not a registered merchant")))?;
    let name = node.query(|s| orgs::query::organization(s, &did))?.map(|o| o.name).unwrap_or_default();
    Ok(Json(wire::MerchantJson {
        did: did.to_string(),
        name,
        taxpayer_id: m.taxpayer_id,
        address: m.address,
        registered_by: m.registered_by.to_string(),
        registered_height: m.registered_height,
    }))
}
