//! Device passport routes: a device's passport, what a controller may do on it now, vendors,
//! trusted attestation certificates, device certificates' revocation, models and their
//! software versions. Passports, grants and revocations answer `prove=true` with a proof
//! document a light client checks (`civitas verify`), present or absent.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::claims::device::{
    DeviceClaim, DeviceGrantClaim, DeviceListClaim, RevocationClaim, device_claim_keys,
};
use civitas_client::device::{
    CertificateJson, DacStatusJson, DeviceJson, DeviceListJson, GrantAnswerJson, ListEntryJson, ModelJson,
    ModelVersionJson, VendorJson,
};
use civitas_client::wire;
use civitas_execution::devices::query;
use civitas_node::Node;
use civitas_types::Hash;
use civitas_types::device::list::LIST_PAGE_MAX;
use civitas_types::device::passport::{self, grant_key};
use civitas_types::device::{DeviceList, KEY_ID_BYTES, revoked_cert_key, revoked_dac_key};

use crate::ApiError;
use crate::common::{NodeState, ProveParam, parse_device, parse_did, proof_doc, prove_item, prove_items, prove_list};

/// A list page's query: where to start, how many (at most 100, the default), and `prove`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParams {
    from: Option<u64>,
    limit: Option<u64>,
    prove: Option<bool>,
}

/// The device routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/devices/{device}", get(device))
        .route("/v1/devices/{device}/grants/{controller}", get(grant))
        .route("/v1/devices/vendors/{vendor_id}", get(vendor))
        .route("/v1/devices/certificates/{subject_key_id}", get(certificate))
        .route("/v1/devices/dacs/{fingerprint}", get(dac))
        .route("/v1/devices/models/{vendor_id}/{product_id}", get(model))
        .route("/v1/devices/models/{vendor_id}/{product_id}/versions/{software_version}", get(model_version))
        .route("/v1/devices/paas", get(paas))
        .route("/v1/devices/revocations", get(revocations))
        .route("/v1/devices/vendors/{vendor_id}/pais", get(pais))
        .route("/v1/devices/vendors/{vendor_id}/models", get(models))
        .route("/v1/devices/models/{vendor_id}/{product_id}/versions", get(versions))
        .route("/v1/devices/owned/{owner}", get(owned))
        .route("/v1/devices/scenes/{owner}/{scene}", get(scene))
}

/// The device routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        device,
        grant,
        vendor,
        certificate,
        dac,
        model,
        model_version,
        paas,
        revocations,
        pais,
        models,
        versions,
        owned,
        scene
    ),
    components(schemas(
        wire::Problem,
        wire::ProofJson,
        wire::ClaimJson,
        DeviceJson,
        GrantAnswerJson,
        VendorJson,
        CertificateJson,
        DacStatusJson,
        ModelJson,
        ModelVersionJson,
        DeviceListJson,
        ListEntryJson,
    ))
)]
pub(crate) struct Doc;

fn prove_param(query: Result<Query<ProveParam>, QueryRejection>) -> Result<bool, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    Ok(query.prove())
}

/// A vendor or product id: four hex digits (Matter's form, `FFF1`).
fn parse_id(s: &str, what: &str) -> Result<u16, ApiError> {
    let ok = s.len() == 4 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let id = if ok { u16::from_str_radix(s, 16).ok() } else { None };
    id.ok_or_else(|| ApiError::bad_request("bad_id", format!("a {what} is four hex digits (FFF1), not `{s}`")))
}

/// A device's passport; with `prove=true`, a proof of it (or of its absence) with the
/// revocation status of its DAC, PAI and PAA.
#[utoipa::path(
    get, path = "/v1/devices/{device}",
    params(
        ("device" = String, Path, description = "The device: did:key of its first operational key", pattern = "^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{40,50}$"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `device`) in the latest finalized state"),
    ),
    responses(
        (status = 200, description = "The passport (DeviceJson), or with prove=true the proof (ProofJson)", body = crate::common::OrProof<DeviceJson>),
        (status = 400, description = "Not a device id", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such device (without prove)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn device(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let prove = prove_param(query)?;
    let id = parse_device(&id)?;
    let current = node.query(|s| query::passport(s, &id))?;
    if prove {
        let (mut proof, mut items) = prove_items(&node, &device_claim_keys(&id, current.as_ref()))?;
        if current.is_none() && proof.value.is_some() {
            // Registered between the read and the proof: prove its chain's revocations too.
            let proven =
                civitas_types::codec::Decode::decode(proof.value.as_deref().unwrap_or_default()).map_err(|e| {
                    let detail = format!("a stored passport does not decode: {e}");
                    ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
                })?;
            (proof, items) = prove_items(&node, &device_claim_keys(&id, Some(&proven)))?;
        }
        let mut items = items.into_iter();
        let claim = DeviceClaim {
            device: id.to_string(),
            passport: items.next().ok_or_else(ApiError::not_yet_final)?,
            dac_revocation: items.next(),
            pai_revocation: items.next(),
            paa_revocation: items.next(),
        };
        return Ok(Json(proof_doc(&node, &proof, wire::ClaimJson::Device(claim))).into_response());
    }
    let passport = current.ok_or_else(|| ApiError::not_found(format!("no device {id}")))?;
    Ok(Json(DeviceJson { device: id, passport }).into_response())
}

/// What a controller may do on a device now (the latest block's time): the capabilities in
/// force, or why none; with `prove=true`, a proof of the passport and the grant, from which a
/// light client draws the same answer at the finalized block's time.
#[utoipa::path(
    get, path = "/v1/devices/{device}/grants/{controller}",
    params(
        ("device" = String, Path, description = "The device", pattern = "^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{40,50}$"),
        ("controller" = String, Path, description = "The controller's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `device_grant`)"),
    ),
    responses(
        (status = 200, description = "The answer (GrantAnswerJson; `allowed: false` with a code when nothing is in force), or with prove=true the proof", body = crate::common::OrProof<GrantAnswerJson>),
        (status = 400, description = "Not a device id or DID", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn grant(
    State(node): NodeState,
    Path((id, controller)): Path<(String, String)>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let prove = prove_param(query)?;
    let id = parse_device(&id)?;
    let controller = parse_did(&controller)?;
    if prove {
        let keys = [passport::device_key(&id), grant_key(&id, &controller)];
        let (proof, items) = prove_items(&node, &keys)?;
        let mut items = items.into_iter();
        let (Some(passport), Some(grant)) = (items.next(), items.next()) else {
            return Err(ApiError::not_yet_final());
        };
        let claim = DeviceGrantClaim { device: id.to_string(), controller: controller.to_string(), passport, grant };
        return Ok(Json(proof_doc(&node, &proof, wire::ClaimJson::DeviceGrant(claim))).into_response());
    }
    let (passport, grant, tip) = node.query(|s| {
        Ok((query::passport(s, &id)?, query::grant(s, &id, &controller)?, civitas_execution::chain_tip(s)?))
    })?;
    let at = tip.map_or(0, |(_, ms)| ms / 1000);
    let answer = passport::allowed(passport.as_ref(), grant.as_ref(), at);
    Ok(Json(GrantAnswerJson {
        device: id,
        controller,
        at,
        allowed: answer.is_ok(),
        capabilities: answer.map(<[String]>::to_vec).unwrap_or_default(),
        code: answer.err().map(|r| r.code().to_owned()),
        reason: answer.err().map(|r| r.to_string()),
        grant,
    })
    .into_response())
}

/// The manufacturer holding a vendor id.
#[utoipa::path(
    get, path = "/v1/devices/vendors/{vendor_id}",
    params(("vendor_id" = String, Path, description = "Four hex digits", pattern = "^[0-9A-Fa-f]{4}$")),
    responses(
        (status = 200, description = "The vendor", body = VendorJson),
        (status = 400, description = "Not four hex digits", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No one holds it", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn vendor(State(node): NodeState, Path(vid): Path<String>) -> Result<Json<VendorJson>, ApiError> {
    let vid = parse_id(&vid, "vendor id")?;
    let vendor =
        node.query(|s| query::vendor(s, vid))?.ok_or_else(|| ApiError::not_found(format!("no vendor {vid:04X}")))?;
    Ok(Json(VendorJson { vendor_id: vid, vendor }))
}

/// A trusted attestation certificate (PAA or PAI) by subject key identifier, with its
/// revocation if revoked; with `prove=true`, a proof that it is revoked or not (present or
/// absent), whether or not it was ever trusted.
#[utoipa::path(
    get, path = "/v1/devices/certificates/{subject_key_id}",
    params(
        ("subject_key_id" = String, Path, description = "20 bytes, hex", pattern = "^[0-9a-fA-F]{40}$"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `revocation`)"),
    ),
    responses(
        (status = 200, description = "The certificate (CertificateJson), or with prove=true the proof", body = crate::common::OrProof<CertificateJson>),
        (status = 400, description = "Not 20 bytes of hex", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not trusted (without prove)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn certificate(
    State(node): NodeState,
    Path(key_id): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let prove = prove_param(query)?;
    let key_id = hex::decode(&key_id)
        .ok()
        .filter(|k| k.len() == KEY_ID_BYTES)
        .ok_or_else(|| ApiError::bad_request("bad_key_id", "a subject key identifier is 20 bytes of hex"))?;
    if prove {
        let (proof, item) = prove_item(&node, revoked_cert_key(&key_id))?;
        let claim = RevocationClaim { subject_key_id: Some(hex::encode(&key_id)), fingerprint: None, item };
        return Ok(Json(proof_doc(&node, &proof, wire::ClaimJson::Revocation(claim))).into_response());
    }
    let (certificate, revocation) =
        node.query(|s| Ok((query::certificate(s, &key_id)?, query::certificate_revocation(s, &key_id)?)))?;
    let certificate =
        certificate.ok_or_else(|| ApiError::not_found(format!("no trusted certificate {}", hex::encode(&key_id))))?;
    Ok(Json(CertificateJson { subject_key_id: hex::encode(&key_id), certificate, revocation }).into_response())
}

/// Whether a device certificate (by the SHA-256 of its DER) is revoked, and the device
/// registered with it; with `prove=true`, a proof that it is revoked or not.
#[utoipa::path(
    get, path = "/v1/devices/dacs/{fingerprint}",
    params(
        ("fingerprint" = String, Path, description = "SHA-256 of the DAC's DER, hex", pattern = "^[0-9a-fA-F]{64}$"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `revocation`)"),
    ),
    responses(
        (status = 200, description = "The status (DacStatusJson), or with prove=true the proof", body = crate::common::OrProof<DacStatusJson>),
        (status = 400, description = "Not a SHA-256 hash", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn dac(
    State(node): NodeState,
    Path(fingerprint): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let prove = prove_param(query)?;
    let fingerprint =
        Hash::from_hex(&fingerprint).map_err(|e| ApiError::bad_request("bad_fingerprint", e.to_string()))?;
    if prove {
        let (proof, item) = prove_item(&node, revoked_dac_key(&fingerprint))?;
        let claim = RevocationClaim { subject_key_id: None, fingerprint: Some(fingerprint.to_hex()), item };
        return Ok(Json(proof_doc(&node, &proof, wire::ClaimJson::Revocation(claim))).into_response());
    }
    let (revocation, device) =
        node.query(|s| Ok((query::dac_revocation(s, &fingerprint)?, query::device_by_dac(s, &fingerprint)?)))?;
    Ok(Json(DacStatusJson { fingerprint: fingerprint.to_hex(), revocation, device }).into_response())
}

/// A device model, with what it exposes.
#[utoipa::path(
    get, path = "/v1/devices/models/{vendor_id}/{product_id}",
    params(
        ("vendor_id" = String, Path, description = "Four hex digits", pattern = "^[0-9A-Fa-f]{4}$"),
        ("product_id" = String, Path, description = "Four hex digits", pattern = "^[0-9A-Fa-f]{4}$"),
    ),
    responses(
        (status = 200, description = "The model", body = ModelJson),
        (status = 400, description = "Not four hex digits", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such model", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn model(State(node): NodeState, Path((vid, pid)): Path<(String, String)>) -> Result<Json<ModelJson>, ApiError> {
    let (vid, pid) = (parse_id(&vid, "vendor id")?, parse_id(&pid, "product id")?);
    let model = node
        .query(|s| query::model(s, vid, pid))?
        .ok_or_else(|| ApiError::not_found(format!("no model {vid:04X}/{pid:04X}")))?;
    Ok(Json(ModelJson { vendor_id: vid, product_id: pid, model }))
}

/// A model's software version, with its certification.
#[utoipa::path(
    get, path = "/v1/devices/models/{vendor_id}/{product_id}/versions/{software_version}",
    params(
        ("vendor_id" = String, Path, description = "Four hex digits", pattern = "^[0-9A-Fa-f]{4}$"),
        ("product_id" = String, Path, description = "Four hex digits", pattern = "^[0-9A-Fa-f]{4}$"),
        ("software_version" = u32, Path, description = "The software version number"),
    ),
    responses(
        (status = 200, description = "The version", body = ModelVersionJson),
        (status = 400, description = "Bad ids or version", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such version", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn model_version(
    State(node): NodeState,
    Path((vid, pid, version)): Path<(String, String, String)>,
) -> Result<Json<ModelVersionJson>, ApiError> {
    let (vid, pid) = (parse_id(&vid, "vendor id")?, parse_id(&pid, "product id")?);
    let software_version: u32 =
        version.parse().map_err(|_| ApiError::bad_request("bad_version", "a software version is an integer"))?;
    let version = node
        .query(|s| query::model_version(s, vid, pid, software_version))?
        .ok_or_else(|| ApiError::not_found(format!("no version {software_version} of model {vid:04X}/{pid:04X}")))?;
    Ok(Json(ModelVersionJson { vendor_id: vid, product_id: pid, software_version, version }))
}

/// A page of `list`, or with `prove` its proof: the count and each entry.
fn list_page(
    node: &Node,
    list: DeviceList,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let (from, limit) = (q.from.unwrap_or(0), q.limit.unwrap_or(LIST_PAGE_MAX));
    if limit == 0 || limit > LIST_PAGE_MAX {
        return Err(ApiError::bad_request("bad_limit", format!("limit is 1 to {LIST_PAGE_MAX}")));
    }
    if q.prove == Some(true) {
        let total = node.query(|s| query::list_page(s, &list, 0, 0))?.0;
        let end = total.min(from.saturating_add(limit)).max(from);
        let (proof, count, items) = prove_list(node, list.count_key(), |p| list.entry_key(p), from, end)?;
        let claim = DeviceListClaim { list: list.name(), from, count, entries: items };
        return Ok(Json(proof_doc(node, &proof, wire::ClaimJson::DeviceList(claim))).into_response());
    }
    let (total, raw) = node.query(|s| query::list_page(s, &list, from, limit))?;
    let entries = raw
        .iter()
        .map(|e| list.decode_entry(e).map(|e| ListEntryJson::from_entry(&e)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            let detail = format!("a stored list entry does not decode: {e}");
            ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
        })?;
    let end = from.saturating_add(entries.len() as u64);
    Ok(Json(DeviceListJson { list: list.name(), total, from, entries, next: (end < total).then_some(end) })
        .into_response())
}

/// The PAAs the council approved, in order (revoked ones stay listed: see `revocations`).
#[utoipa::path(
    get, path = "/v1/devices/paas",
    params(
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `device_list`)"),
    ),
    responses(
        (status = 200, description = "The page (DeviceListJson), or with prove=true its proof", body = crate::common::OrProof<DeviceListJson>),
        (status = 400, description = "Bad query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn paas(State(node): NodeState, query: Result<Query<PageParams>, QueryRejection>) -> Result<Response, ApiError> {
    list_page(&node, DeviceList::Paas, query)
}

/// Every revocation of a PAA, PAI or device certificate, in order: the revocation list a hub
/// syncs, each page provable.
#[utoipa::path(
    get, path = "/v1/devices/revocations",
    params(
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `device_list`)"),
    ),
    responses(
        (status = 200, description = "The page (DeviceListJson), or with prove=true its proof", body = crate::common::OrProof<DeviceListJson>),
        (status = 400, description = "Bad query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn revocations(
    State(node): NodeState,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, DeviceList::Revocations, query)
}

/// A vendor id's PAIs (subject key ids), in order.
#[utoipa::path(
    get, path = "/v1/devices/vendors/{vendor_id}/pais",
    params(
        ("vendor_id" = String, Path, description = "Four hex digits", pattern = "^[0-9A-Fa-f]{4}$"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `device_list`)"),
    ),
    responses(
        (status = 200, description = "The page (DeviceListJson), or with prove=true its proof", body = crate::common::OrProof<DeviceListJson>),
        (status = 400, description = "Bad vendor id or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn pais(
    State(node): NodeState,
    Path(vid): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, DeviceList::Pais(parse_id(&vid, "vendor id")?), query)
}

/// A vendor id's models (product ids), in order.
#[utoipa::path(
    get, path = "/v1/devices/vendors/{vendor_id}/models",
    params(
        ("vendor_id" = String, Path, description = "Four hex digits", pattern = "^[0-9A-Fa-f]{4}$"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `device_list`)"),
    ),
    responses(
        (status = 200, description = "The page (DeviceListJson), or with prove=true its proof", body = crate::common::OrProof<DeviceListJson>),
        (status = 400, description = "Bad vendor id or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn models(
    State(node): NodeState,
    Path(vid): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, DeviceList::Models(parse_id(&vid, "vendor id")?), query)
}

/// A model's software versions, in order.
#[utoipa::path(
    get, path = "/v1/devices/models/{vendor_id}/{product_id}/versions",
    params(
        ("vendor_id" = String, Path, description = "Four hex digits", pattern = "^[0-9A-Fa-f]{4}$"),
        ("product_id" = String, Path, description = "Four hex digits", pattern = "^[0-9A-Fa-f]{4}$"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `device_list`)"),
    ),
    responses(
        (status = 200, description = "The page (DeviceListJson), or with prove=true its proof", body = crate::common::OrProof<DeviceListJson>),
        (status = 400, description = "Bad ids or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn versions(
    State(node): NodeState,
    Path((vid, pid)): Path<(String, String)>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let list = DeviceList::Versions(parse_id(&vid, "vendor id")?, parse_id(&pid, "product id")?);
    list_page(&node, list, query)
}

/// The devices an owner has bound or accepted, in order (each passport says whether it is
/// still theirs).
#[utoipa::path(
    get, path = "/v1/devices/owned/{owner}",
    params(
        ("owner" = String, Path, description = "The owner's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `device_list`)"),
    ),
    responses(
        (status = 200, description = "The page (DeviceListJson), or with prove=true its proof", body = crate::common::OrProof<DeviceListJson>),
        (status = 400, description = "Bad DID or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn owned(
    State(node): NodeState,
    Path(owner): Path<String>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    list_page(&node, DeviceList::Owned(parse_did(&owner)?), query)
}

/// An owner's scene: the grants made under its name, in order (each grant says whether it is
/// still in force: ask `/v1/devices/{device}/grants/{controller}`).
#[utoipa::path(
    get, path = "/v1/devices/scenes/{owner}/{scene}",
    params(
        ("owner" = String, Path, description = "The owner's DID", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("scene" = String, Path, description = "The scene's name", pattern = "^[a-z0-9_-]{1,64}$"),
        ("from" = Option<u64>, Query, description = "The first position (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("prove" = Option<bool>, Query, description = "Return a proof of the page (ProofJson, claim `device_list`)"),
    ),
    responses(
        (status = 200, description = "The page (DeviceListJson), or with prove=true its proof", body = crate::common::OrProof<DeviceListJson>),
        (status = 400, description = "Bad DID, scene name or query", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No block finalized yet to prove against", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn scene(
    State(node): NodeState,
    Path((owner, scene)): Path<(String, String)>,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let owner = parse_did(&owner)?;
    if !civitas_types::device::list::scene_name_ok(&scene) {
        return Err(ApiError::bad_request("bad_scene", "a scene's name is 1 to 64 of a-z 0-9 _ -"));
    }
    list_page(&node, DeviceList::Scene(owner, scene), query)
}
