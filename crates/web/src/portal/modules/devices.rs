//! My devices: those the resident owns, the grants of one of their scenes or to one controller,
//! and revoking a grant.

use super::*;

/// The devices page's query: where the list of my devices starts, the scene or the controller
/// whose grants to show, and the transaction a form just committed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DevicesQuery {
    from: Option<u64>,
    scene: Option<String>,
    controller: Option<String>,
    done: Option<String>,
}

/// Which grants the devices page shows: the chain lists grants by an owner's scene, and keeps
/// them per device and controller.
enum Grants {
    None,
    Scene(String),
    Controller(Did),
}

fn grants_asked(scene: Option<String>, controller: Option<String>) -> Result<Grants, PageError> {
    let scene = scene.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let controller = controller.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    match (scene, controller) {
        (Some(_), Some(_)) => Err(PageError::bad("ask for a scene or a controller, not both")),
        (Some(s), None) if scene_name_ok(&s) => Ok(Grants::Scene(s)),
        (Some(s), None) => {
            Err(PageError::bad(format!("a scene's name is 1 to 64 of a-z 0-9 _ -; `{}` is not one", clip(&s))))
        }
        (None, Some(c)) => Ok(Grants::Controller(parse_did("controller", &c)?)),
        (None, None) => Ok(Grants::None),
    }
}

/// A device on my list: its passport and its model's name.
#[derive(Clone)]
struct Device {
    id: DeviceId,
    passport: Passport,
    model: Option<String>,
}

impl Device {
    /// Its model's name and the end of its id.
    fn label(&self) -> String {
        let text = self.id.to_string();
        let tail = &text[text.len().saturating_sub(8)..];
        match &self.model {
            Some(m) => format!("{m} …{tail}"),
            None => format!("Device …{tail}"),
        }
    }
}

/// Reads devices' passports and their models' names, each model once.
struct DeviceReader<'a> {
    p: &'a Portal,
    models: BTreeMap<(u16, u16), Option<String>>,
}

impl DeviceReader<'_> {
    fn read(&mut self, id: DeviceId) -> Result<Option<Device>, PageError> {
        let Some(d) = self.p.client.device(&id).map_err(node_error)? else { return Ok(None) };
        let key = (d.passport.vendor_id, d.passport.product_id);
        let model = match self.models.get(&key) {
            Some(m) => m.clone(),
            None => {
                let m = self.p.client.model(key.0, key.1).map_err(node_error)?.map(|m| m.model.name);
                self.models.insert(key, m.clone());
                m
            }
        };
        Ok(Some(Device { id, passport: d.passport, model }))
    }
}

/// A device id the node listed: one that does not parse is the node's fault.
fn listed_device(text: &str) -> Result<DeviceId, PageError> {
    text.parse().map_err(|e| {
        PageError::new(axum::http::StatusCode::BAD_GATEWAY, format!("the node listed `{}`, which is {e}", clip(text)))
    })
}

/// One grant as the page shows it.
struct GrantRow {
    device: Device,
    controller: Did,
    answer: Option<GrantAnswerJson>,
}

/// `GET /devices`: the devices bound to me or accepted by me, their status, and the grants of
/// one of my scenes (`?scene=kitchen`) or to one controller (`?controller=DID`), each with the
/// form that revokes it.
pub(super) async fn devices(
    State(p): PortalState,
    q: Result<Query<DevicesQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
    let q = query(q)?;
    in_portal(
        blocking(move || {
            let done = done(q.done.as_deref())?;
            let asked = grants_asked(q.scene, q.controller)?;
            let from = q.from.unwrap_or(0);
            let list = p.client.device_list(&DeviceList::Owned(p.did), from, DEVICES_PAGE).map_err(node_error)?;
            let (entries, next) = list.map_or((vec![], None), |l| (l.entries, l.next));
            let mut reader = DeviceReader { p: &p, models: BTreeMap::new() };
            let mut owned = Vec::new();
            for e in entries.iter().filter(|e| e.kind == "device") {
                if let Some(d) = reader.read(listed_device(&e.id)?)? {
                    owned.push(d);
                }
            }
            // The grants asked for; a scene's may name a device no longer mine: read it too.
            let mut rows = Vec::new();
            match &asked {
                Grants::None => {}
                Grants::Scene(scene) => {
                    let scene_list = DeviceList::Scene(p.did, scene.clone());
                    let list = p.client.device_list(&scene_list, 0, DEVICES_PAGE).map_err(node_error)?;
                    for e in list.map(|l| l.entries).unwrap_or_default() {
                        let Some(controller) = e.controller.filter(|_| e.kind == "grant") else { continue };
                        let id = listed_device(&e.id)?;
                        let device = match owned.iter().find(|d| d.id == id) {
                            Some(d) => d.clone(),
                            None => match reader.read(id)? {
                                Some(d) => d,
                                None => continue,
                            },
                        };
                        let answer = p.client.device_grant(&id, &controller).map_err(node_error)?;
                        rows.push(GrantRow { device, controller, answer });
                    }
                }
                Grants::Controller(controller) => {
                    for d in owned.iter().filter(|d| d.passport.owner == Some(p.did)) {
                        let answer = p.client.device_grant(&d.id, controller).map_err(node_error)?;
                        if answer.as_ref().is_some_and(|a| a.grant.is_some()) {
                            rows.push(GrantRow { device: d.clone(), controller: *controller, answer });
                        }
                    }
                }
            }
            let mut names = Names::new(&p);
            let mut owners = Vec::with_capacity(owned.len());
            for d in &owned {
                owners.push(match (d.passport.owner, d.passport.offered_to) {
                    (Some(o), _) if o != p.did => html! { "no longer yours: now " (names.party(&o)?) "'s" },
                    (_, Some(to)) => html! { "yours, offered to " (names.party(&to)?) },
                    _ => html! { "yours" },
                });
            }
            let grants = grants_table(&p, &mut names, &rows, &asked)?;
            let body = html! {
                (done_note(&p, done.as_ref()))
                p { "The devices bound to you or accepted by you, with their passports on the chain." }
                @if owned.is_empty() {
                    p { "You own no device." }
                } @else {
                    table #devices {
                        thead { tr {
                            th scope="col" { "Device" } th scope="col" { "Status" } th scope="col" { "Software" } th scope="col" { "Owner" }
                        } }
                        tbody {
                            @for (d, owner) in owned.iter().zip(&owners) {
                                tr {
                                    td { a href=(format!("{}/devices/{}", p.node, d.id)) { (d.label()) } " " (short(&d.id.to_string())) }
                                    td { (status_badge(d.passport.status)) }
                                    td { "version " (d.passport.software_version) }
                                    td { (owner) }
                                }
                            }
                        }
                    }
                    @if let Some(next) = next { p { a href=(format!("/devices?from={next}")) { "More" } } }
                }
                h2 #grants { "Grants" }
                p { "You grant other controllers (a hub, an app, a tenant) some of a device's capabilities for a time. The chain keeps one grant per device and controller and lists them by the scene you named when granting; show a scene's, or a controller's on each of your devices." }
                form method="get" action="/devices" {
                    label for="scene" { "Your scene" } " "
                    input #scene type="text" name="scene" maxlength="64" placeholder="kitchen";
                    " " button type="submit" { "Show its grants" }
                }
                form method="get" action="/devices" {
                    label for="controller" { "Controller's DID" } " "
                    input #controller type="text" name="controller" maxlength="200" placeholder="did:civitas:…";
                    " " button type="submit" { "Show its grants" }
                }
                (grants)
            };
            Ok(p.page("My devices", body))
        })
        .await,
    )
}

fn status_badge(s: DeviceStatus) -> Markup {
    match s {
        DeviceStatus::Active => badge("active", "ok"),
        DeviceStatus::Suspended => badge("suspended", "wait"),
        other => badge(other.name(), "bad"),
    }
}

fn grants_table(p: &Portal, names: &mut Names<'_>, rows: &[GrantRow], asked: &Grants) -> Result<Markup, PageError> {
    let (heading, scene) = match asked {
        Grants::None => return Ok(html! {}),
        Grants::Scene(s) => (html! { "In your scene " code { (s) } }, Some(s.as_str())),
        Grants::Controller(c) => (html! { "To " (names.party(c)?) }, None),
    };
    let mut controllers = Vec::with_capacity(rows.len());
    for r in rows {
        controllers.push(names.party(&r.controller)?);
    }
    Ok(html! {
        h3 { (heading) }
        @if rows.is_empty() {
            p { "No grant is listed here." }
        } @else {
            table #device-grants {
                thead { tr {
                    th scope="col" { "Device" } th scope="col" { "Controller" } th scope="col" { "Capabilities" }
                    th scope="col" { "From" } th scope="col" { "Until" } th scope="col" { "Scene" } th scope="col" { "Now" }
                } }
                tbody {
                    @for (r, controller) in rows.iter().zip(&controllers) {
                        @let d = &r.device;
                        @let grant = r.answer.as_ref().and_then(|a| a.grant.as_ref());
                        tr {
                            td { a href=(format!("{}/devices/{}", p.node, d.id)) { (d.label()) } }
                            td { (controller) }
                            @if let Some(g) = grant {
                                td { (g.capabilities.join(", ")) }
                                td { (unix(g.not_before)) }
                                td { (unix(g.not_after)) }
                                td { @if g.scene.is_empty() { "none" } @else { code { (g.scene) } } }
                            } @else {
                                td colspan="4" { "no grant recorded" }
                            }
                            td {
                                @match &r.answer {
                                    Some(a) if a.allowed => (badge("in force", "ok")),
                                    Some(a) => { (badge("not in force", "bad")) " " (a.reason.clone().or_else(|| a.code.clone()).unwrap_or_default()) },
                                    None => (badge("unknown device", "bad")),
                                }
                                @if grant.is_some_and(|g| g.owner_epoch == d.passport.owner_epoch) && d.passport.owner == Some(p.did) {
                                    form.inline method="post" action=(format!("/devices/{}/revoke", d.id)) {
                                        (p.token_field())
                                        input type="hidden" name="controller" value=(r.controller.to_string());
                                        @if let Some(s) = scene { input type="hidden" name="scene" value=(s); }
                                        button type="submit" { "Revoke " (d.label()) "'s grant" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// `POST /devices/{device}/revoke`: revokes my grant of a device to a controller.
pub(super) async fn revoke_grant(
    State(p): PortalState,
    Path(device): Path<String>,
    f: Result<Form<Fields>, FormRejection>,
) -> Result<Response, PageError> {
    act(p, f, move |f| {
        let device = parse_device(&device)?;
        let controller = did_field(f, "controller")?;
        let scene = f.get("scene").map(|s| s.trim()).filter(|s| !s.is_empty());
        if let Some(s) = scene
            && !scene_name_ok(s)
        {
            return Err(PageError::bad(format!("a scene's name is 1 to 64 of a-z 0-9 _ -; `{}` is not one", clip(s))));
        }
        let back = match scene {
            Some(s) => format!("/devices?scene={s}"),
            None => format!("/devices?controller={controller}"),
        };
        Ok((Instruction::Devices(DeviceInstruction::RevokeGrant { device, controller }), back))
    })
    .await
}
