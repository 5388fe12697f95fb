//! Device passports: a lookup by device id, the roots of trust (PAAs) the council approved and
//! the newest revocations; and a device's passport: its vendor, model and the certification of
//! the software it registered with, its attestation chain and whether any of it is revoked, its
//! owner and status, and its grants (to a controller, or in one of its owner's scenes), with the
//! proofs the API gives of each.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use civitas_execution::devices::query;
use civitas_node::Node;
use civitas_state::{StateRead, StoreError};
use civitas_types::Did;
use civitas_types::device::list::{LIST_PAGE_MAX, scene_name_ok};
use civitas_types::device::passport::{self, DeviceId, Grant, Passport};
use civitas_types::device::{
    Certification, DeviceList, ListEntry, Model, ModelVersion, Revocation, TrustedCert, Vendor,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Newest, org_names, params, party, unix};
use crate::error::PageError;
use crate::explorer::{NodeState, blocking, clip, number};
use crate::layout::{self, badge, facts, short};

/// Newest revocations listed on `/devices`.
const REVOCATIONS_SHOWN: u64 = 25;
/// Most entries of a scene read for one device's grants (the scene's first ones).
const SCENE_ENTRIES_MAX: u64 = 10 * LIST_PAGE_MAX;

/// The device pages.
pub(super) fn routes() -> Router<Arc<Node>> {
    Router::new().route("/devices", get(devices)).route("/devices/{device}", get(device))
}

/// Parses `text` as a device id, with the reason a reader can act on if it is not one.
fn parse_device(text: &str) -> Result<DeviceId, PageError> {
    if text.starts_with("did:civitas:") {
        return Err(PageError::bad(format!(
            "{} is an account, not a device (a device's id is the did:key of its first key): see /accounts/{}",
            clip(text),
            clip(text)
        )));
    }
    text.parse().map_err(|e| PageError::bad(format!("`{}` is {e}", clip(text))))
}

/// The `/devices` query: a device to look up, or the page of the PAAs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevicesQuery {
    device: Option<String>,
    before: Option<String>,
}

/// A PAA as the page lists it: its subject key id, its record, and its revocation.
type Paa = (Vec<u8>, Option<TrustedCert>, Option<Revocation>);

/// `GET /devices?device=…&before=N`: the lookup (a redirect to the device's page) and the PAAs.
async fn devices(
    State(node): NodeState,
    query: Result<Query<DevicesQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let q = params(query)?;
    if let Some(text) = q.device {
        let id = parse_device(text.trim())?;
        return Ok(Redirect::to(&format!("/devices/{id}")).into_response());
    }
    let before = q.before.as_deref().map(|b| number("before", b)).transpose()?;
    blocking(move || devices_page(&node, before)).await.map(IntoResponse::into_response)
}

/// The entries of `list` at positions `from..to`, read a page at a time.
fn entries(state: &impl StateRead, list: &DeviceList, from: u64, to: u64) -> Result<Vec<ListEntry>, StoreError> {
    let mut out = Vec::new();
    while (from + out.len() as u64) < to {
        let at = from + out.len() as u64;
        let (_, raw) = query::list_page(state, list, at, to - at)?;
        if raw.is_empty() {
            break;
        }
        for e in &raw {
            let entry = list.decode_entry(e);
            out.push(entry.map_err(|e| StoreError::Corrupt(format!("a {} entry: {e}", list.name())))?);
        }
    }
    Ok(out)
}

fn devices_page(node: &Node, before: Option<u64>) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let (page, paas, revocations_total, revocations, names) = node.query(|s| {
        let total = query::list_page(s, &DeviceList::Paas, 0, 0)?.0;
        let page = Newest::of(total, before);
        let mut paas: Vec<Paa> = Vec::new();
        for entry in entries(s, &DeviceList::Paas, page.positions.start, page.positions.end)?.into_iter().rev() {
            if let ListEntry::Certificate(kid) = entry {
                let (cert, revoked) = (query::certificate(s, &kid)?, query::certificate_revocation(s, &kid)?);
                paas.push((kid, cert, revoked));
            }
        }
        let revocations_total = query::list_page(s, &DeviceList::Revocations, 0, 0)?.0;
        let from = revocations_total.saturating_sub(REVOCATIONS_SHOWN);
        let mut revocations = Vec::new();
        for entry in entries(s, &DeviceList::Revocations, from, revocations_total)?.into_iter().rev() {
            let revocation = match &entry {
                ListEntry::RevokedCertificate(kid) => query::certificate_revocation(s, kid)?,
                ListEntry::RevokedDac(fingerprint) => query::dac_revocation(s, fingerprint)?,
                _ => None,
            };
            revocations.push((entry, revocation));
        }
        let dids = paas.iter().filter_map(|(_, c, _)| c.as_ref().map(|c| c.by));
        let names = org_names(s, dids.chain(revocations.iter().filter_map(|(_, r)| r.as_ref().map(|r| r.by))))?;
        Ok((page, paas, revocations_total, revocations, names))
    })?;
    let body = html! {
        p { "Every device here was registered with a Device Attestation Certificate from a Matter certificate chain the chain trusts: a Product Attestation Authority (PAA) the council approved, and a vendor's Product Attestation Intermediate under it." }
        form.search role="search" action="/devices" method="get" {
            label for="device" { "Device id" } " "
            input #device type="text" name="device" maxlength="64" placeholder="did:key:z6Mk…" required;
            " " button type="submit" { "Look up" }
        }
        h2 { "Roots of trust (PAAs)" }
        @if paas.is_empty() {
            p { "The council has approved no PAA yet." }
        } @else {
            table {
                thead { tr { th scope="col" { "Subject key id" } th scope="col" { "Vendor id" } th scope="col" { "Approved" } th scope="col" { "Proposed by" } th scope="col" { "Status" } th scope="col" { "Proof" } } }
                tbody {
                    @for (kid, cert, revoked) in &paas {
                        @let hex = hex::encode(kid);
                        tr {
                            td { (layout::short_link(&hex, &format!("/v1/devices/certificates/{hex}"))) }
                            td { @match cert.as_ref().and_then(|c| c.vendor_id) { Some(v) => code { (format!("{v:04X}")) }, None => "any" } }
                            td { @if let Some(c) = cert { "block " (layout::height(c.height)) } }
                            td { @if let Some(c) = cert { (party(&c.by, &names)) } }
                            td { (revocation_badge(revoked.as_ref())) }
                            td { a href=(format!("/v1/devices/certificates/{hex}?prove=true")) download=(format!("revocation-{}.json", &hex[..hex.len().min(12)])) { "revocation status" } }
                        }
                    }
                }
            }
            (page.pager("/devices"))
        }
        h2 { "Revocations" }
        p { (revocations_total) " in all; the newest are listed. The whole list, provable page by page, is at "
            a href="/v1/devices/revocations" { "/v1/devices/revocations" } "." }
        @if !revocations.is_empty() {
            table {
                thead { tr { th scope="col" { "Revoked" } th scope="col" { "Why" } th scope="col" { "By" } th scope="col" { "At" } } }
                tbody {
                    @for (entry, revocation) in &revocations {
                        tr {
                            td { @match entry {
                                ListEntry::RevokedCertificate(kid) => { "certificate " (short(&hex::encode(kid))) }
                                ListEntry::RevokedDac(fingerprint) => { "device certificate " (short(&fingerprint.to_hex())) }
                                other => (other.to_string()),
                            } }
                            @if let Some(r) = revocation {
                                td { (r.reason) } td { (party(&r.by, &names)) } td { "block " (layout::height(r.height)) }
                            } @else { td {} td {} td {} }
                        }
                    }
                }
            }
        }
        (layout::proof("/v1/devices/paas?prove=true", "paas.json", "the list of PAAs the council approved"))
    };
    Ok(layout::page("Devices", Some(latest), body))
}

fn revocation_badge(revocation: Option<&Revocation>) -> Markup {
    match revocation {
        None => badge("trusted", "ok"),
        Some(r) => {
            html! { abbr title=(r.reason) { (badge("revoked", "bad")) } " at block " (layout::height(r.height)) }
        }
    }
}

/// A device page's query: a controller whose grant to show, or a scene of the owner's whose
/// grants of this device to list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceQuery {
    controller: Option<String>,
    scene: Option<String>,
}

/// Which grants a device page shows.
enum Grants {
    None,
    Controller(Did),
    Scene(String),
}

/// `GET /devices/{device}?controller=DID` or `?scene=NAME`.
async fn device(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<DeviceQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let q = params(query)?;
    let id = parse_device(&id)?;
    let grants = match (q.controller, q.scene) {
        (Some(_), Some(_)) => return Err(PageError::bad("ask for a controller or a scene, not both")),
        (Some(c), None) => Grants::Controller(crate::explorer::accounts::parse_did(c.trim())?),
        (None, Some(scene)) if scene_name_ok(&scene) => Grants::Scene(scene),
        (None, Some(scene)) => {
            return Err(PageError::bad(format!(
                "a scene's name is 1 to 64 of a-z 0-9 _ -; `{}` is not one",
                clip(&scene)
            )));
        }
        (None, None) => Grants::None,
    };
    blocking(move || device_page(&node, &id, &grants)).await
}

/// What a device's page reads, all from one state.
struct Read {
    passport: Passport,
    vendor: Option<Vendor>,
    model: Option<Model>,
    version: Option<ModelVersion>,
    dac_revoked: Option<Revocation>,
    pai_revoked: Option<Revocation>,
    paa_revoked: Option<Revocation>,
    /// The grants asked for: each controller's, as recorded.
    grants: Vec<(Did, Option<Grant>)>,
    /// The latest block's time, unix seconds: when grants are judged.
    now: u64,
    names: BTreeMap<Did, String>,
}

fn read(s: &impl StateRead, id: &DeviceId, asked: &Grants) -> Result<Option<Read>, StoreError> {
    let Some(passport) = query::passport(s, id)? else { return Ok(None) };
    let (vid, pid) = (passport.vendor_id, passport.product_id);
    let grants = match asked {
        Grants::None => vec![],
        Grants::Controller(c) => vec![(*c, query::grant(s, id, c)?)],
        Grants::Scene(scene) => match passport.owner {
            None => vec![],
            Some(owner) => {
                let list = DeviceList::Scene(owner, scene.clone());
                let total = query::list_page(s, &list, 0, 0)?.0.min(SCENE_ENTRIES_MAX);
                let mut out = Vec::new();
                for entry in entries(s, &list, 0, total)? {
                    if let ListEntry::Grant(device, controller) = entry
                        && device == *id
                    {
                        out.push((controller, query::grant(s, id, &controller)?));
                    }
                }
                out
            }
        },
    };
    let vendor = query::vendor(s, vid)?;
    let parties = [Some(passport.registered_by), passport.owner, passport.offered_to, vendor.as_ref().map(|v| v.org)];
    let granted = grants.iter().flat_map(|(c, g)| [Some(*c), g.as_ref().map(|g| g.by)]);
    let names = org_names(s, parties.into_iter().chain(granted).flatten())?;
    Ok(Some(Read {
        model: query::model(s, vid, pid)?,
        version: query::model_version(s, vid, pid, passport.software_version)?,
        dac_revoked: query::dac_revocation(s, &passport.dac_fingerprint)?,
        pai_revoked: query::certificate_revocation(s, &passport.pai_key_id)?,
        paa_revoked: query::certificate_revocation(s, &passport.paa_key_id)?,
        now: civitas_execution::chain_tip(s)?.map_or(0, |(_, ms)| ms / 1000),
        vendor,
        grants,
        names,
        passport,
    }))
}

fn device_page(node: &Node, id: &DeviceId, asked: &Grants) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let Some(r) = node.query(|s| read(s, id, asked))? else {
        return Err(PageError::not_found(format!("no device {id} is registered at block {latest}")));
    };
    let p = &r.passport;
    let text = id.to_string();
    let tail = &text[text.len().saturating_sub(8)..];
    let (vid, pid) = (format!("{:04X}", p.vendor_id), format!("{:04X}", p.product_id));
    let status = match p.status {
        passport::DeviceStatus::Active => badge("active", "ok"),
        passport::DeviceStatus::Suspended => badge("suspended", "wait"),
        s => badge(s.name(), "bad"),
    };
    let title = match &r.model {
        Some(m) => format!("{} …{tail}", m.name),
        None => format!("Device …{tail}"),
    };
    let body = html! {
        (facts(&[
            ("Device", short(&text)),
            ("Status", status),
            ("Vendor", html! {
                @match &r.vendor { Some(v) => { (v.name) " (" code { (vid) } "), claimed by " (party(&v.org, &r.names)) }, None => code { (vid) } }
                " · " a href=(format!("/v1/devices/vendors/{vid}")) { "vendor" }
            }),
            ("Model", html! {
                @match &r.model { Some(m) => { (m.name) ", product " code { (pid) } ", device type " code { (format!("0x{:04X}", m.device_type)) } }, None => { "product " code { (pid) } } }
                " · " a href=(format!("/v1/devices/models/{vid}/{pid}")) { "model" }
            }),
            ("Software", html! {
                @match &r.version { Some(v) => { (v.version_string) " (version " (p.software_version) ")" }, None => { "version " (p.software_version) } }
            }),
            ("Certification", certification(r.version.as_ref(), &r.names)),
            ("Owner", match &p.owner { Some(o) => party(o, &r.names), None => html! { "not bound to an owner yet" } }),
            ("Offered to", match &p.offered_to { Some(o) => html! { (party(o, &r.names)) " (not accepted yet)" }, None => html! { "no one" } }),
            ("Owner changes", html! { (p.owner_epoch) }),
            ("Operational key", html! { (short(&p.operational_key.to_hex())) " (rotated " (p.key_version) " times)" }),
            ("Registered", html! { "at block " (layout::height(p.height)) " by " (party(&p.registered_by, &r.names)) }),
        ]))
        @if let Some(m) = &r.model {
            h2 { "What the model exposes" }
            (facts(&[
                ("Properties", names(&m.capabilities.properties)),
                ("Actions", names(&m.capabilities.actions)),
                ("Events", names(&m.capabilities.events)),
            ]))
        }
        h2 { "Attestation" }
        table {
            thead { tr { th scope="col" { "Certificate" } th scope="col" { "Identifier" } th scope="col" { "Status" } } }
            tbody {
                tr { td { "Device (DAC)" } td { "SHA-256 " (short(&p.dac_fingerprint.to_hex())) } td { (revocation_badge(r.dac_revoked.as_ref())) } }
                tr { td { "Intermediate (PAI)" } td { (layout::short_link(&hex::encode(&p.pai_key_id), &format!("/v1/devices/certificates/{}", hex::encode(&p.pai_key_id)))) } td { (revocation_badge(r.pai_revoked.as_ref())) } }
                tr { td { "Root (PAA)" } td { (layout::short_link(&hex::encode(&p.paa_key_id), &format!("/v1/devices/certificates/{}", hex::encode(&p.paa_key_id)))) } td { (revocation_badge(r.paa_revoked.as_ref())) } }
            }
        }
        (layout::proof(&format!("/v1/devices/{text}?prove=true"), &format!("device-{tail}.json"), "this device's passport and whether its certificates are revoked"))
        h2 #grants { "Grants" }
        p { "The owner grants other controllers (a hub, an app, a tenant) some of the model's capabilities for a time. Grants are kept per controller, and listed in the owner's named scenes." }
        form action=(format!("/devices/{text}")) method="get" {
            label for="controller" { "Controller's DID" } " "
            input #controller type="text" name="controller" maxlength="64" placeholder="did:civitas:…";
            " " button type="submit" { "Show its grant" }
        }
        form action=(format!("/devices/{text}")) method="get" {
            label for="scene" { "Owner's scene" } " "
            input #scene type="text" name="scene" maxlength="64" pattern="[a-z0-9_\\-]{1,64}" placeholder="kitchen";
            " " button type="submit" { "List its grants of this device" }
        }
        (grants(&r, &text, asked))
    };
    Ok(layout::page(&title, Some(latest), body))
}

fn names(list: &[String]) -> Markup {
    html! {
        @if list.is_empty() { "none" }
        @for (i, n) in list.iter().enumerate() { @if i > 0 { ", " } code { (n) } }
    }
}

fn certification(version: Option<&ModelVersion>, names: &BTreeMap<Did, String>) -> Markup {
    match version.map(|v| &v.certification) {
        None => html! { (badge("unknown version", "bad")) },
        Some(Certification::None) => html! { (badge("not certified", "wait")) },
        Some(Certification::Certified { by, height }) => {
            html! { (badge("certified", "ok")) " by " (party(by, names)) " at block " (layout::height(*height)) }
        }
        Some(Certification::Revoked { by, height, reason }) => html! {
            (badge("certification revoked", "bad")) " by " (party(by, names)) " at block " (layout::height(*height)) ": " (reason)
        },
    }
}

fn grants(r: &Read, device: &str, asked: &Grants) -> Markup {
    let scene = match asked {
        Grants::None => return html! {},
        Grants::Controller(_) => None,
        Grants::Scene(s) => Some(s.as_str()),
    };
    html! {
        @if let Some(s) = scene {
            h3 { "In the owner's scene " code { (s) } }
            @if r.passport.owner.is_none() { p { "The device has no owner, so no scene." } }
            @else if r.grants.is_empty() { p { "The scene lists no grant of this device." } }
        }
        @if !r.grants.is_empty() {
            table {
                thead { tr { th scope="col" { "Controller" } th scope="col" { "Capabilities" } th scope="col" { "From" } th scope="col" { "Until" } th scope="col" { "Scene" } th scope="col" { "Now" } th scope="col" { "Proof" } } }
                tbody {
                    @for (controller, grant) in &r.grants {
                        tr {
                            td { (party(controller, &r.names)) }
                            @if let Some(g) = grant {
                                td { (names(&g.capabilities)) }
                                td { (unix(g.not_before)) }
                                td { (unix(g.not_after)) }
                                td { @if g.scene.is_empty() { "none" } @else { code { (g.scene) } } }
                            } @else {
                                td colspan="4" { "no grant recorded" }
                            }
                            td { @match passport::allowed(Some(&r.passport), grant.as_ref(), r.now) {
                                Ok(_) => (badge("in force", "ok")),
                                Err(why) => { (badge("not in force", "bad")) " " (why.to_string()) },
                            } }
                            td { a href=(format!("/v1/devices/{device}/grants/{controller}?prove=true")) download="grant.json" { "grant proof" } }
                        }
                    }
                }
            }
            p { "Judged at the latest block's time, " (unix(r.now)) "." }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use civitas_node::demo;

    use crate::tests::fixture;

    #[tokio::test]
    async fn a_demo_device_shows_its_passport_grants_and_proofs() {
        let f = fixture();
        let dir = f._dir.path().to_owned();
        f.run_steps(demo::device_steps(&f.node, &dir).expect("demo steps"));
        let ids = demo::devices(&dir).expect("the demo devices");
        let (_, alice) = f.key("alice");
        let (_, hub) = f.key("homehub");

        let list = f.page("/devices").await;
        assert!(list.contains("Roots of trust (PAAs)") && list.contains("badge ok"), "{list}");
        assert!(list.contains("/v1/devices/paas?prove=true"), "{list}");

        let hood = ids.hood.to_string();
        let page = f.page(&format!("/devices/{hood}")).await;
        for expected in [
            "Hoodworks range hood H1",
            "hoodworks",
            "FFF1",
            "8001",
            "1.2.0",
            "certified",
            "active",
            &alice.to_string(),
            "fan_speed",
            "grease_filter_full",
            &format!("/v1/devices/{hood}?prove=true"),
            "civitas verify device-",
        ] {
            assert!(page.contains(expected), "{expected}: {page}");
        }

        let page = f.page(&format!("/devices/{hood}?controller={hub}")).await;
        assert!(page.contains("in force") && page.contains("<code>boost</code>"), "{page}");
        assert!(page.contains(&format!("/v1/devices/{hood}/grants/{hub}?prove=true")), "{page}");
        let page = f.page(&format!("/devices/{}?scene=kitchen", ids.stove)).await;
        assert!(page.contains("<code>shut_off</code>") && page.contains(&hub.to_string()), "{page}");
        let page = f.page(&format!("/devices/{}?scene=kitchen", ids.lock)).await;
        assert!(page.contains("The scene lists no grant of this device"), "{page}");
        let page = f.page(&format!("/devices/{hood}?controller={alice}")).await;
        assert!(page.contains("no grant recorded") && page.contains("the owner gave this controller no grant"));

        // The lookup goes to the device's page.
        let (s, _, _) = f.get(&format!("/devices?device={hood}")).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        // The proofs the page links are what the API serves.
        let (s, ct, body) = f.get(&format!("/v1/devices/{hood}?prove=true")).await;
        assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/json"), "{body}");
    }
}
