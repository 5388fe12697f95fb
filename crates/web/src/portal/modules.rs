//! The portal's pages for what the chain's modules keep of the resident: the invoices sellers
//! issued to them, and submitting one to an employer for reimbursement; their leases as landlord
//! or tenant, with the terms, where the rent stands and its payments, and paying rent; the
//! devices they own, with the grants of one of their scenes or to one controller, and revoking a
//! grant; and the wages paid into their account, with the proof a worker shows. Invoices and
//! leases are private: signed reads with the resident's key. Devices and wages are public and
//! read as anyone reads them. Every action is a transaction signed here, as the CLI's are.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use civitas_client::device::GrantAnswerJson;
use civitas_client::fund::PayrollJson;
use civitas_client::invoice::InvoiceJson;
use civitas_client::rental::LeaseJson;
use civitas_types::device::list::scene_name_ok;
use civitas_types::device::{DeviceId, DeviceInstruction, DeviceList, DeviceStatus, Passport};
use civitas_types::fund::{FundEntry, FundList, Wage};
use civitas_types::rental::{
    Lease, LeaseStatus, RentPayment, RentStanding, RentalEntry, RentalInstruction, RentalList,
};
use civitas_types::{Did, Hash, Instruction, InvoiceInstruction};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Portal, blocking, node_error};
use crate::error::PageError;
use crate::explorer::{clip, number};
use crate::layout::{amount, badge, facts, short, short_link, time};

type PortalState = State<Arc<Portal>>;
type Fields = BTreeMap<String, String>;

/// Invoices per page (the API gives at most 100).
const INVOICES_PAGE: u64 = 50;
/// Leases per page: each costs two more signed reads (the lease and its payments).
const LEASES_PAGE: u64 = 20;
/// A lease's newest payments shown.
const PAYMENTS_SHOWN: u64 = 24;
/// Devices per page, and most grants of one scene listed (the API's page).
const DEVICES_PAGE: u64 = civitas_types::device::list::LIST_PAGE_MAX;
/// Wages per page: the API's default window, so the first page's proof is the plain
/// `?prove=true`.
const WAGES_PAGE: u64 = 100;
/// Longest text field taken from a form.
const FIELD_CHARS_MAX: usize = 200;

/// The module pages.
pub(super) fn routes() -> Router<Arc<Portal>> {
    Router::new()
        .route("/invoices", get(invoices))
        .route("/invoices/{number}/submit", post(submit_invoice))
        .route("/leases", get(leases))
        .route("/leases/{id}/pay", post(pay_rent))
        .route("/devices", get(devices))
        .route("/devices/{device}/revoke", post(revoke_grant))
        .route("/wages", get(wages))
}

fn in_portal<T>(r: Result<T, PageError>) -> Result<T, PageError> {
    r.map_err(PageError::in_portal)
}

/// A page's query, or why it is not one (an unknown parameter, a number that is not one), as a
/// 400 in the portal.
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, PageError> {
    q.map(|Query(q)| q).map_err(|e| PageError::bad(e.body_text()).in_portal())
}

/// A form's fields, or why they did not parse, as a 400 in the portal.
fn form(f: Result<Form<Fields>, FormRejection>) -> Result<Fields, PageError> {
    f.map(|Form(f)| f).map_err(|e| PageError::bad(e.body_text()).in_portal())
}

fn token(form: &Fields) -> &str {
    form.get("token").map_or("", String::as_str)
}

/// A required form field, trimmed and bounded.
fn field<'a>(form: &'a Fields, name: &str) -> Result<&'a str, PageError> {
    let v = form.get(name).map(|s| s.trim()).unwrap_or("");
    if v.is_empty() {
        return Err(PageError::bad(format!("{name} is required")));
    }
    if v.chars().count() > FIELD_CHARS_MAX {
        return Err(PageError::bad(format!("{name} is at most {FIELD_CHARS_MAX} characters")));
    }
    Ok(v)
}

fn parse_did(name: &str, text: &str) -> Result<Did, PageError> {
    text.trim().parse().map_err(|_| {
        PageError::bad(format!(
            "{name}: `{}` is not a did:civitas DID (did:civitas: and 40 hexadecimal digits)",
            clip(text)
        ))
    })
}

fn did_field(form: &Fields, name: &str) -> Result<Did, PageError> {
    parse_did(name, field(form, name)?)
}

fn parse_device(text: &str) -> Result<DeviceId, PageError> {
    text.parse().map_err(|e| PageError::bad(format!("`{}` is {e}", clip(text))))
}

/// The `done` of a page's query: the transaction a form of this page just committed.
fn done(hash: Option<&str>) -> Result<Option<Hash>, PageError> {
    hash.map(|h| {
        Hash::from_hex(h).map_err(|_| {
            PageError::bad(format!("done is a transaction's hash, 64 hexadecimal digits; `{}` is not", clip(h)))
        })
    })
    .transpose()
}

fn done_note(p: &Portal, done: Option<&Hash>) -> Markup {
    html! {
        @if let Some(h) = done {
            @let h = h.to_hex();
            p.done role="status" { (badge("done", "ok")) " Committed in transaction " a href=(format!("{}/tx/{h}", p.node)) { (short(&h)) } "." }
        }
    }
}

/// A time given in unix seconds.
fn unix(secs: u64) -> Markup {
    time(secs.saturating_mul(1000))
}

/// `minor` units as a form's value: `12.00`, without separators.
fn plain_amount(minor: u128) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// An amount typed into a form (`12`, `12.5`, `1,200.00`: whole units and at most two
/// decimals), in minor units; more than zero.
fn parse_amount(name: &str, text: &str) -> Result<u128, PageError> {
    let bad = || PageError::bad(format!("{name} is an amount such as 12.00; `{}` is not", clip(text)));
    let digits: String = text.trim().chars().filter(|c| *c != ',').collect();
    let (whole, cents) = digits.split_once('.').unwrap_or((&digits, ""));
    let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && cents.is_empty()) || !numeric(whole) || !numeric(cents) || cents.len() > 2 {
        return Err(bad());
    }
    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let cents: u128 = match cents.len() {
        0 => 0,
        1 => cents.parse::<u128>().map_err(|_| bad())? * 10,
        _ => cents.parse().map_err(|_| bad())?,
    };
    let minor = whole.checked_mul(100).and_then(|w| w.checked_add(cents)).ok_or_else(bad)?;
    if minor == 0 {
        return Err(PageError::bad(format!("{name} must be more than 0.00")));
    }
    Ok(minor)
}

/// Organizations' names beside their DIDs, each read once per page.
struct Names<'a> {
    p: &'a Portal,
    known: BTreeMap<Did, Option<String>>,
}

impl<'a> Names<'a> {
    fn new(p: &'a Portal) -> Names<'a> {
        Names { p, known: BTreeMap::new() }
    }

    /// `did` for people: "you", an organization's name, or the DID; linked to its account in
    /// the explorer.
    fn party(&mut self, did: &Did) -> Result<Markup, PageError> {
        if *did == self.p.did {
            return Ok(html! { strong { "you" } });
        }
        let name = match self.known.get(did) {
            Some(n) => n.clone(),
            None => {
                let n = self.p.client.organization(did).map_err(node_error)?.map(|o| o.name);
                self.known.insert(*did, n.clone());
                n
            }
        };
        let text = did.to_string();
        let href = format!("{}/accounts/{text}", self.p.node);
        Ok(match name {
            Some(n) => html! { a href=(href) title=(text) { (n) } },
            None => short_link(&text, &href),
        })
    }

    /// The same, for a DID the API gives as text.
    fn party_text(&mut self, text: &str) -> Result<Markup, PageError> {
        match text.parse::<Did>() {
            Ok(d) => self.party(&d),
            Err(_) => Ok(short(text)),
        }
    }
}

/// A list page's query: where the list starts, and the transaction a form just committed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    from: Option<u64>,
    done: Option<String>,
}

// --- Invoices -------------------------------------------------------------------------------

/// `GET /invoices`: the invoices issued to me (a signed read: the buyer sees its own), and the
/// form that submits an issued one to an employer.
async fn invoices(State(p): PortalState, q: Result<Query<ListQuery>, QueryRejection>) -> Result<Markup, PageError> {
    let q = query(q)?;
    in_portal(
        blocking(move || {
            let done = done(q.done.as_deref())?;
            let from = q.from.unwrap_or(0);
            let filter = format!("buyer={}", p.did);
            let page = p.client.invoices(&p.key, &filter, None, from, INVOICES_PAGE).map_err(node_error)?;
            let mut names = Names::new(&p);
            let mut rows = Vec::with_capacity(page.invoices.len());
            for i in &page.invoices {
                rows.push(invoice_row(&p, &mut names, i)?);
            }
            let body = html! {
                (done_note(&p, done.as_ref()))
                p { "The invoices sellers issued to your DID, each bound to a payment. You may submit an issued invoice, once, to an employer (a company, an employer or a department) that reimburses it: it then sees the invoice too, as the tax authority always does." }
                @if rows.is_empty() {
                    p { "No invoice was issued to you." }
                } @else {
                    table #invoices {
                        thead { tr {
                            th scope="col" class="num" { "Number" } th scope="col" { "Seller" } th scope="col" { "For" }
                            th scope="col" class="num" { "Amount" } th scope="col" { "Issued" } th scope="col" { "State" }
                        } }
                        tbody { @for r in &rows { (r) } }
                    }
                    @if let Some(next) = page.next { p { a href=(format!("/invoices?from={next}")) { "More" } } }
                }
            };
            Ok(p.page("My invoices", body))
        })
        .await,
    )
}

fn invoice_row(p: &Portal, names: &mut Names<'_>, i: &InvoiceJson) -> Result<Markup, PageError> {
    let seller = names.party_text(&i.seller)?;
    let employer = i.employer.as_deref().map(|e| names.party_text(e)).transpose()?;
    let total: u128 = i.total.parse().unwrap_or(0);
    let what = i.items.iter().map(|l| l.description.as_str()).collect::<Vec<_>>().join(", ");
    let n = i.number;
    let state = match (i.status.as_str(), employer) {
        ("issued", _) => html! { (badge("issued", "ok")) },
        ("submitted", Some(e)) => html! { (badge("submitted", "wait")) " to " (e) " at block " (i.status_height) },
        ("reimbursed", Some(e)) => html! { (badge("reimbursed", "ok")) " by " (e) " at block " (i.status_height) },
        ("reversed", _) => html! {
            (badge("reversed", "bad")) @if let Some(c) = i.credit_note { " by credit note " (c) } " at block " (i.status_height)
        },
        ("credit_note", _) => html! {
            (badge("credit note", "bad")) @if let Some(r) = i.reverses { " reversing invoice " (r) }
            @if !i.reason.is_empty() { ": " (i.reason) }
        },
        (other, _) => html! { (badge(other, "wait")) },
    };
    let can_submit = i.status == "issued" && i.kind == "invoice";
    Ok(html! {
        tr {
            td.num { (n) }
            td { (seller) }
            td { (what) }
            td.num { (amount(total)) " " (i.currency) }
            td { (time(i.issued_ms)) }
            td {
                (state)
                @if can_submit {
                    form.inline method="post" action=(format!("/invoices/{n}/submit")) {
                        (p.token_field())
                        label for=(format!("employer-{n}")) { "Employer's DID" } " "
                        input id=(format!("employer-{n}")) name="employer" required maxlength="200" size="30" placeholder="did:civitas:…";
                        " " button type="submit" { "Submit invoice " (n) " for reimbursement" }
                    }
                }
            }
        }
    })
}

/// `POST /invoices/{number}/submit`: submits an invoice issued to me to an employer.
async fn submit_invoice(
    State(p): PortalState,
    Path(n): Path<String>,
    f: Result<Form<Fields>, FormRejection>,
) -> Result<Response, PageError> {
    let f = form(f)?;
    in_portal(
        blocking(move || {
            p.check_token(token(&f))?;
            let number = number("the invoice", &n)?;
            let employer = did_field(&f, "employer")?;
            let hash = p.submit(Instruction::Invoices(InvoiceInstruction::SubmitInvoice { number, employer }))?;
            Ok(Redirect::to(&format!("/invoices?done={}", hash.to_hex())).into_response())
        })
        .await,
    )
}

// --- Leases ---------------------------------------------------------------------------------

/// A lease's payments: how many there are, and the newest, newest first.
struct Payments {
    total: u64,
    newest: Vec<RentPayment>,
}

fn lease_payments(p: &Portal, id: u64) -> Result<Payments, PageError> {
    let list = RentalList::Payments(id);
    let Some(first) = p.client.rental_signed_list(&p.key, &list, 0, PAYMENTS_SHOWN).map_err(node_error)? else {
        return Ok(Payments { total: 0, newest: vec![] });
    };
    let total = first.total;
    let page = if total > PAYMENTS_SHOWN {
        let from = total - PAYMENTS_SHOWN;
        p.client.rental_signed_list(&p.key, &list, from, PAYMENTS_SHOWN).map_err(node_error)?.unwrap_or(first)
    } else {
        first
    };
    let mut newest: Vec<RentPayment> =
        page.entries.into_iter().filter_map(|e| if let RentalEntry::Payment(x) = e { Some(x) } else { None }).collect();
    newest.reverse();
    Ok(Payments { total, newest })
}

/// What completes the rent of the first period not fully paid, or all that is overdue if that
/// is more; nothing once the schedule is paid.
fn suggested_payment(l: &Lease, standing: &RentStanding) -> u128 {
    let mut sum = 0u128;
    for k in 0..standing.periods {
        sum = sum.saturating_add(l.rent_of(k));
        if sum > l.paid {
            return (sum - l.paid).max(standing.overdue);
        }
    }
    0
}

/// `GET /leases`: my leases as landlord or tenant (signed reads: only their parties and their
/// housing department see them): terms, where the rent stands, payments, and for a tenant the
/// form that pays rent.
async fn leases(State(p): PortalState, q: Result<Query<ListQuery>, QueryRejection>) -> Result<Markup, PageError> {
    let q = query(q)?;
    in_portal(
        blocking(move || {
            let done = done(q.done.as_deref())?;
            let from = q.from.unwrap_or(0);
            let list = p
                .client
                .rental_signed_list(&p.key, &RentalList::Leases(p.did), from, LEASES_PAGE)
                .map_err(node_error)?;
            let (entries, next) = list.map_or((vec![], None), |l| (l.entries, l.next));
            let mut names = Names::new(&p);
            let mut sections = Vec::new();
            for entry in entries {
                let RentalEntry::Number { id } = entry else { continue };
                let Some(lease) = p.client.rental_lease(&p.key, id).map_err(node_error)? else { continue };
                let payments = lease_payments(&p, id)?;
                sections.push(lease_section(&p, &mut names, &lease, &payments)?);
            }
            let body = html! {
                (done_note(&p, done.as_ref()))
                p { "The leases you are landlord or tenant of, filed with a housing department. The chain holds the deposit, and rent paid more than three months ahead, in escrow; rent falls due by the schedule, judged at the latest block's time." }
                @if sections.is_empty() {
                    p { "You are party to no lease." }
                }
                @for s in &sections { (s) }
                @if let Some(next) = next { p { a href=(format!("/leases?from={next}")) { "More" } } }
            };
            Ok(p.page("My leases", body))
        })
        .await,
    )
}

fn lease_section(p: &Portal, names: &mut Names<'_>, view: &LeaseJson, pays: &Payments) -> Result<Markup, PageError> {
    let (l, s, t) = (&view.lease, &view.standing, &view.lease.terms);
    let id = l.id;
    let tenant = l.tenant == p.did;
    let status = match l.status {
        LeaseStatus::Active => badge("active", "ok"),
        LeaseStatus::Offered => badge("offered: waiting for the tenant's signature", "wait"),
        other => badge(other.name(), "bad"),
    };
    let left = s.total.saturating_sub(l.paid);
    let request =
        |what: &str, r: &civitas_types::rental::Request, names: &mut Names<'_>| -> Result<Markup, PageError> {
            Ok(html! { (what) " asked by " (names.party(&r.by)?) " on " (unix(r.at)) ": " (r.reason) })
        };
    let termination = l.termination.as_ref().map(|r| request("Termination", r, names)).transpose()?;
    let dispute = l.dispute.as_ref().map(|r| request("A dispute", r, names)).transpose()?;
    let (landlord, tenant_is) = (names.party(&l.landlord)?, names.party(&l.tenant)?);
    let housing = names.party(&l.housing)?;
    let deposit = &l.deposit;
    let terms = facts(&[
        (
            "Status",
            html! {
                (status) " · version " (l.version)
                @if l.latest > l.version { " (version " (l.latest) " waits for a signature)" }
            },
        ),
        ("Landlord", landlord),
        ("Tenant", tenant_is),
        (
            "Filed with",
            html! { (housing) @if !l.filing.is_empty() { ", filing " code { (l.filing) } } @if let Some(at) = l.filed_at { " on " (unix(at)) } },
        ),
        (
            "Property",
            html! { a href=(format!("{}/rentals/properties/{}", p.node, l.property)) { "property " (l.property) } " (listing " (l.listing) ")" },
        ),
        ("Rent", html! { (amount(t.rent)) " " (t.period.name()) }),
        ("Term", html! { (unix(t.start)) " to " (unix(t.end)) }),
        (
            "Deposit",
            html! {
                (amount(deposit.held)) " held in escrow"
                @if let Some(c) = deposit.claimed { "; the landlord claims " (amount(c)) ": " (deposit.claim_reason) }
                @if let Some(r) = &deposit.released { "; released (" (r.kind.name()) "): " (amount(r.to_landlord)) " to the landlord, " (amount(r.to_tenant)) " to the tenant" }
            },
        ),
        (
            "Door lock",
            match &t.lock {
                Some(d) => html! {
                    a href=(format!("{}/devices/{d}", p.node)) { "the lock's passport" } " " (short(&d.to_string()))
                    " (the tenant holds its entry capability for the term)"
                },
                None => html! { "none" },
            },
        ),
        ("Lease text", html! { "SHA-256 " (short(&t.document.to_hex())) }),
    ]);
    let standing = facts(&[
        ("Paid", html! { (amount(l.paid)) " of " (amount(s.total)) " over " (s.periods) " periods" }),
        ("Due by now", html! { (amount(s.due)) " for " (s.periods_due) " of " (s.periods) " periods" }),
        (
            "Overdue",
            html! {
                @if s.overdue > 0 {
                    (badge(&format!("{} overdue", amount(s.overdue)), "bad"))
                    @if let Some(since) = s.overdue_since { " since " (unix(since)) }
                } @else {
                    (badge("nothing overdue", "ok"))
                }
            },
        ),
        ("Next due", html! { @match s.next_due { Some(d) => (unix(d)), None => "no period left" } }),
        ("Rent to the landlord", html! { (amount(l.to_landlord)) }),
        ("Rent in escrow", html! { (amount(l.rent_escrow)) " (paid for periods more than three months ahead)" }),
        ("Refunded", html! { (amount(l.refunded)) }),
    ]);
    let role = if tenant { "You are the tenant." } else { "You are the landlord." };
    Ok(html! {
        section.lease id=(format!("lease-{id}")) aria-label=(format!("Lease {id}")) {
            h2 { "Lease " (id) }
            p { (role) }
            (terms)
            @if let Some(m) = termination { p.reason { (m) } }
            @if let Some(m) = dispute { p.reason { (m) } }
            h3 { "Rent" }
            (standing)
            h3 { "Payments" }
            @if pays.newest.is_empty() {
                p { "No rent paid yet." }
            } @else {
                table.payments {
                    thead { tr {
                        th scope="col" { "When" } th scope="col" class="num" { "Amount" }
                        th scope="col" class="num" { "To the landlord" } th scope="col" class="num" { "Into escrow" } th scope="col" { "Block" }
                    } }
                    tbody {
                        @for x in &pays.newest {
                            tr {
                                td { (unix(x.at)) }
                                td.num { (amount(x.amount)) }
                                td.num { (amount(x.to_landlord)) }
                                td.num { (amount(x.to_escrow)) }
                                td { a href=(format!("{}/blocks/{}", p.node, x.height)) { (x.height) } }
                            }
                        }
                    }
                }
                @if pays.total > pays.newest.len() as u64 { p { (pays.total) " payments; the newest " (pays.newest.len()) " are shown." } }
            }
            @if tenant && l.status == LeaseStatus::Active && left > 0 {
                h3 { "Pay rent" }
                form.pay method="post" action=(format!("/leases/{id}/pay")) {
                    (p.token_field())
                    label for=(format!("amount-{id}")) { "Amount" } " "
                    input id=(format!("amount-{id}")) name="amount" required inputmode="decimal" maxlength="40" size="12" value=(plain_amount(suggested_payment(l, s)));
                    " " button type="submit" { "Pay rent on lease " (id) }
                }
                p { "Up to " (amount(left)) " is left to pay over the lease. It comes from your account; rent for periods due more than three months ahead waits in escrow until they come near." }
            }
        }
    })
}

/// `POST /leases/{id}/pay`: pays rent on a lease I am the tenant of.
async fn pay_rent(
    State(p): PortalState,
    Path(id): Path<String>,
    f: Result<Form<Fields>, FormRejection>,
) -> Result<Response, PageError> {
    let f = form(f)?;
    in_portal(
        blocking(move || {
            p.check_token(token(&f))?;
            let lease = number("the lease", &id)?;
            let amount = parse_amount("amount", field(&f, "amount")?)?;
            let hash = p.submit(Instruction::Rentals(RentalInstruction::PayRent { lease, amount }))?;
            Ok(Redirect::to(&format!("/leases?done={}", hash.to_hex())).into_response())
        })
        .await,
    )
}

// --- Devices --------------------------------------------------------------------------------

/// The devices page's query: where the list of my devices starts, the scene or the controller
/// whose grants to show, and the transaction a form just committed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevicesQuery {
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
async fn devices(State(p): PortalState, q: Result<Query<DevicesQuery>, QueryRejection>) -> Result<Markup, PageError> {
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
async fn revoke_grant(
    State(p): PortalState,
    Path(device): Path<String>,
    f: Result<Form<Fields>, FormRejection>,
) -> Result<Response, PageError> {
    let f = form(f)?;
    in_portal(
        blocking(move || {
            p.check_token(token(&f))?;
            let device = parse_device(&device)?;
            let controller = did_field(&f, "controller")?;
            let scene = f.get("scene").map(|s| s.trim()).filter(|s| !s.is_empty());
            if let Some(s) = scene
                && !scene_name_ok(s)
            {
                return Err(PageError::bad(format!(
                    "a scene's name is 1 to 64 of a-z 0-9 _ -; `{}` is not one",
                    clip(s)
                )));
            }
            let hash = p.submit(Instruction::Devices(DeviceInstruction::RevokeGrant { device, controller }))?;
            let back = match scene {
                Some(s) => format!("/devices?scene={s}&done={}", hash.to_hex()),
                None => format!("/devices?controller={controller}&done={}", hash.to_hex()),
            };
            Ok(Redirect::to(&back).into_response())
        })
        .await,
    )
}

// --- Wages ----------------------------------------------------------------------------------

/// The wages page's query: where the list starts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WagesQuery {
    from: Option<u64>,
}

/// What a wage's project, subcontract and payroll are, each read once.
#[derive(Default)]
struct FundNames {
    projects: BTreeMap<u64, Option<String>>,
    contracts: BTreeMap<u64, Option<(String, Option<u64>)>>,
    payrolls: BTreeMap<u64, Option<PayrollJson>>,
}

impl FundNames {
    fn read(&mut self, p: &Portal, w: &Wage) -> Result<(), PageError> {
        if let Entry::Vacant(e) = self.projects.entry(w.project) {
            e.insert(p.client.fund_project(w.project).map_err(node_error)?.map(|x| x.project.title));
        }
        if let Entry::Vacant(e) = self.contracts.entry(w.subcontract) {
            let c = p.client.fund_contract(w.subcontract).map_err(node_error)?;
            e.insert(c.map(|c| (c.contract.title, c.contract.parent)));
        }
        if let Entry::Vacant(e) = self.payrolls.entry(w.payroll) {
            e.insert(p.client.fund_payroll(w.payroll).map_err(node_error)?);
        }
        Ok(())
    }
}

/// `GET /wages`: the wages paid into my account from project funds (a public, provable list:
/// what a worker shows a bank or a labour office), with their projects, contracts and payrolls.
async fn wages(State(p): PortalState, q: Result<Query<WagesQuery>, QueryRejection>) -> Result<Markup, PageError> {
    let q = query(q)?;
    in_portal(
        blocking(move || {
            let from = q.from.unwrap_or(0);
            let list = p.client.fund_list(&FundList::Wages(p.did), from, WAGES_PAGE).map_err(node_error)?;
            let (total, entries, next) = list.map_or((0, vec![], None), |l| (l.total, l.entries, l.next));
            let wages: Vec<Wage> =
                entries.into_iter().filter_map(|e| if let FundEntry::Wage(w) = e { Some(w) } else { None }).collect();
            let mut funds = FundNames::default();
            let mut names = Names::new(&p);
            let mut employers = Vec::with_capacity(wages.len());
            for w in &wages {
                funds.read(&p, w)?;
                employers.push(names.party(&w.employer)?);
            }
            let sum = wages.iter().try_fold(0u128, |s, w| s.checked_add(w.amount));
            let proof = format!(
                "{}/v1/funds/wages/{}?{}prove=true",
                p.node,
                p.did,
                if from > 0 { format!("from={from}&") } else { String::new() }
            );
            let body = html! {
                p { "Wages paid straight into your account from public project funds, by the payrolls your employers filed and their contractors approved." }
                @if wages.is_empty() {
                    p { "No wages were paid into your account." }
                } @else {
                    p {
                        @if total == 1 { "1 payment in all" } @else { (total) " payments in all" }
                        @if let Some(s) = sum { "; on this page " strong { (amount(s)) } }
                        "."
                    }
                    table #wages {
                        thead { tr {
                            th scope="col" { "Paid" } th scope="col" class="num" { "Amount" } th scope="col" { "Project" }
                            th scope="col" { "Contract" } th scope="col" { "Employer" } th scope="col" { "Payroll" } th scope="col" { "Block" }
                        } }
                        tbody {
                            @for (w, employer) in wages.iter().zip(&employers) {
                                tr {
                                    td { (unix(w.at)) }
                                    td.num { (amount(w.amount)) }
                                    td {
                                        a href=(format!("{}/funds/projects/{}", p.node, w.project)) {
                                            @match funds.projects.get(&w.project).and_then(Option::as_ref) { Some(t) => (t), None => { "project " (w.project) } }
                                        }
                                    }
                                    td {
                                        @match funds.contracts.get(&w.subcontract).and_then(Option::as_ref) {
                                            Some((title, parent)) => {
                                                (title) " (subcontract " (w.subcontract)
                                                @if let Some(c) = parent { " of contract " (c) }
                                                ")"
                                            },
                                            None => { "contract " (w.subcontract) },
                                        }
                                    }
                                    td { (employer) }
                                    td {
                                        a href=(format!("{}/v1/funds/payrolls/{}", p.node, w.payroll)) { "payroll " (w.payroll) }
                                        @if let Some(r) = funds.payrolls.get(&w.payroll).and_then(Option::as_ref) {
                                            ", milestone " (r.payroll.milestone) " of contract " (r.payroll.contract) " (" (r.payroll.status.name()) ")"
                                        }
                                    }
                                    td { a href=(format!("{}/blocks/{}", p.node, w.height)) { (w.height) } }
                                }
                            }
                        }
                    }
                    @if let Some(next) = next { p { a href=(format!("/wages?from={next}")) { "More" } } }
                    section.proof aria-label="Proof of your wages" {
                        h2 { "Prove your wages" }
                        p {
                            "The node proves this list against the state root of a finalized block, signed by a quorum of the validators: anyone can check it with no trust in this portal or the node. "
                            a href=(proof) download="wages.json" { "Download the proof (wages.json)" }
                            " and the chain's " a href=(format!("{}/genesis.json", p.node)) download="genesis.json" { "genesis.json" } ", then run, with no node:"
                        }
                        pre { code { "civitas verify wages.json --genesis genesis.json" } }
                        p { "The proof's address: " code { (proof) } }
                    }
                }
            };
            Ok(p.page("My wages", body))
        })
        .await,
    )
}

#[cfg(test)]
mod tests {
    //! The module pages through the portal's router, against a real node served on loopback:
    //! the demo's devices, school project and lease, and an invoice the metro issued to alice,
    //! committed before the node starts making a block every 30 ms.

    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use civitas_node::consensus::now_ms;
    use civitas_node::demo;
    use civitas_types::invoice::{LineItem, Payment, PostalAddress};
    use civitas_types::{Did, Hash, Instruction, InvoiceInstruction};
    use tower::ServiceExt;

    use crate::portal::{PortalConfig, router};
    use crate::tests::{Fixture, Served, fixture, serve};

    const AUTHORITY: &str = "127.0.0.1:8082";

    struct Chain {
        f: Fixture,
        node: String,
        /// The node on loopback, making blocks while the test runs.
        _served: Served,
        wallet: tempfile::TempDir,
    }

    /// The dev chain with the demo's data and invoice 1 (metro fare, 6.00 CNY) issued to alice,
    /// served on a loopback port.
    async fn chain() -> Chain {
        let f = fixture();
        let dir = f._dir.path().to_owned();
        // The lease names alice's door lock, so the devices come first.
        f.run_steps(demo::device_steps(&f.node, &dir).expect("device steps"));
        f.run_steps(demo::fund_steps(&f.node, &dir).expect("fund steps"));
        f.run_steps(demo::rental_steps(&f.node, &dir).expect("rental steps"));
        let (tax, metro, fares) = (f.key("tax").1, f.key("metro").1, f.key("metro-fares").1);
        let register = InvoiceInstruction::RegisterMerchant {
            merchant: metro,
            taxpayer_id: "METRO2026".into(),
            address: PostalAddress::demo(),
            by: tax,
        };
        f.act("tax", vec![Instruction::Invoices(register)]);
        let payment = Payment {
            id: "metro-2026-000042".into(),
            payee: metro,
            amount: 600,
            currency: "CNY".into(),
            paid_at_ms: now_ms() - 60_000,
            channel: "fare-gate".into(),
            payer_commitment: Hash::digest(b"alice's card and her salt"),
        };
        f.act("metro-fares", vec![Instruction::Invoices(InvoiceInstruction::RecordPayment { payment, by: fares })]);
        let issue = InvoiceInstruction::IssueInvoice {
            payment_id: "metro-2026-000042".into(),
            buyer_name: "Alice Wang".into(),
            buyer_taxpayer_id: String::new(),
            buyer: Some(f.alice_did()),
            items: vec![LineItem { description: "Metro fare".into(), quantity: 1, unit_price: 600, tax_rate_bp: 0 }],
            by: metro,
        };
        f.act("metro", vec![Instruction::Invoices(issue)]);

        let served = serve(f.node.clone()).await;
        let node = served.url.clone();
        let wallet = tempfile::tempdir().expect("wallet");
        Chain { f, node, _served: served, wallet }
    }

    /// One resident's portal (one form token for the test's length).
    struct Resident {
        portal: axum::Router,
        did: Did,
    }

    impl Chain {
        fn resident(&self, name: &str) -> Resident {
            let (key, did) = self.f.key(name);
            let portal = router(PortalConfig {
                key,
                wallet: self.wallet.path().to_owned(),
                node: self.node.clone(),
                authority: AUTHORITY.into(),
            });
            Resident { portal, did }
        }
    }

    impl Resident {
        async fn send(&self, req: Request<Body>) -> (StatusCode, Option<String>, String) {
            let resp = self.portal.clone().oneshot(req).await.expect("infallible");
            let status = resp.status();
            let location = resp.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).map(str::to_owned);
            let body = axum::body::to_bytes(resp.into_body(), 1 << 22).await.expect("body");
            (status, location, String::from_utf8(body.to_vec()).expect("utf-8"))
        }

        async fn get(&self, uri: &str) -> (StatusCode, String) {
            let req = Request::builder().uri(uri).header("host", AUTHORITY).body(Body::empty()).expect("request");
            let (s, _, b) = self.send(req).await;
            (s, b)
        }

        /// A page that must answer 200.
        async fn page(&self, uri: &str) -> String {
            let (status, page) = self.get(uri).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {page}");
            page
        }

        /// The form token, as the portal's own pages carry it.
        async fn token(&self) -> String {
            let page = self.page("/consents").await;
            let at = page.find("name=\"token\" value=\"").expect("a token field") + "name=\"token\" value=\"".len();
            page[at..at + 64].to_owned()
        }

        async fn post(&self, uri: &str, form: &[(&str, &str)]) -> (StatusCode, Option<String>, String) {
            let body = form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
            let req = Request::builder()
                .method("POST")
                .uri(uri)
                .header("host", AUTHORITY)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .expect("request");
            self.send(req).await
        }

        /// Posts a form that must commit its transaction: the page it redirects to.
        async fn act(&self, uri: &str, form: &[(&str, &str)], back: &str) -> String {
            let (status, location, page) = self.post(uri, form).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{uri}: {page}");
            let location = location.expect("a redirect");
            let hash = location.strip_prefix(back).expect("back to the page");
            assert!(Hash::from_hex(hash).is_ok(), "{location}");
            let page = self.page(&location).await;
            assert!(page.contains("Committed in transaction"), "{page}");
            page
        }

        /// Checks that each of `cases` (a GET, or a POST with its form) answers `status` with a
        /// page in the portal's frame that gives `why`.
        async fn refused(&self, cases: &[Refusal<'_>]) {
            for (uri, form, status, why) in cases {
                let (s, page) = match form {
                    None => self.get(uri).await,
                    Some(f) => {
                        let (s, _, page) = self.post(uri, f).await;
                        (s, page)
                    }
                };
                assert_eq!(s, *status, "{uri}: {page}");
                assert!(page.contains(why) && page.contains("role=\"alert\""), "{uri}: expected {why:?} in {page}");
                assert!(page.contains("My Civitas"), "in the portal's frame: {uri}");
            }
        }
    }

    /// A request the portal refuses: its path, its form if it is a POST, the status, and the
    /// words of the reason.
    type Refusal<'a> = (&'a str, Option<&'a [(&'a str, &'a str)]>, StatusCode, &'a str);

    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    /// The number of times `needle` is in `page`.
    fn count(page: &str, needle: &str) -> usize {
        page.matches(needle).count()
    }

    #[test]
    fn amounts_are_typed_as_whole_units_with_at_most_two_decimals() {
        for (text, minor) in [("12", 1_200), ("12.5", 1_250), ("12.05", 1_205), (" 1,200.00 ", 120_000), (".5", 50)] {
            assert_eq!(super::parse_amount("amount", text).expect(text), minor, "{text}");
        }
        for text in ["", ".", "abc", "1.234", "-1", "1e3", "12.x", "340282366920938463463374607431768211456"] {
            assert!(super::parse_amount("amount", text).is_err(), "{text}");
        }
        assert!(format!("{:?}", super::parse_amount("amount", "0.00")).contains("more than 0.00"));
        assert_eq!(super::plain_amount(1_205), "12.05");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_tenant_pays_rent_and_both_parties_see_the_lease_terms_standing_and_payments() {
        let c = chain().await;
        let (alice, bob) = (c.resident("alice"), c.resident("bob"));
        let page = bob.page("/leases").await;
        for expected in [
            "Lease 0",
            "You are the tenant.",
            "12.00 monthly",
            "24.00 held in escrow",
            "12.00 of 144.00 over 12 periods",
            "nothing overdue",
            "action=\"/leases/0/pay\"",
            "value=\"12.00\"",
            "Up to 132.00 is left to pay",
        ] {
            assert!(page.contains(expected), "bob's lease page lacks {expected:?}: {page}");
        }
        assert!(page.contains(&alice.did.to_string()), "the landlord is named: {page}");
        assert_eq!(count(&page, "<tr><td><time"), 1, "one payment so far: {page}");
        let token = bob.token().await;
        let page = bob.act("/leases/0/pay", &[("token", &token), ("amount", "12.00")], "/leases?done=").await;
        assert!(page.contains("24.00 of 144.00 over 12 periods"), "{page}");
        assert_eq!(count(&page, "<tr><td><time"), 2, "the new payment is listed: {page}");
        assert!(page.contains("value=\"12.00\""), "the next month is suggested: {page}");

        // The landlord sees the same lease and payments, and no form to pay.
        let page = alice.page("/leases").await;
        assert!(page.contains("You are the landlord.") && page.contains("24.00 of 144.00"), "{page}");
        assert!(!page.contains("action=\"/leases/0/pay\""), "{page}");
        assert_eq!(count(&page, "<tr><td><time"), 2, "{page}");

        // What the chain refuses, and what never reaches it.
        let alices = alice.token().await;
        let (status, _, page) = alice.post("/leases/0/pay", &[("token", &alices), ("amount", "1")]).await;
        assert_eq!(status, StatusCode::CONFLICT, "only the tenant pays: {page}");
        assert!(page.contains("the chain refused it"), "{page}");
        let (status, _, page) = bob.post("/leases/0/pay", &[("token", &token), ("amount", "500")]).await;
        assert_eq!(status, StatusCode::CONFLICT, "more than the lease's rent: {page}");
        assert!(page.contains("the chain refused it"), "{page}");
        bob.refused(&[
            ("/leases?zzz=1", None, StatusCode::BAD_REQUEST, "unknown field"),
            ("/leases?from=x", None, StatusCode::BAD_REQUEST, "from"),
            ("/leases?done=zz", None, StatusCode::BAD_REQUEST, "done is a transaction's hash"),
            (
                "/leases/0/pay",
                Some(&[("token", "forged"), ("amount", "1")]),
                StatusCode::FORBIDDEN,
                "did not come from",
            ),
            ("/leases/0/pay", Some(&[("amount", "1")]), StatusCode::FORBIDDEN, "did not come from"),
            ("/leases/x/pay", Some(&[("token", &token), ("amount", "1")]), StatusCode::BAD_REQUEST, "whole number"),
            ("/leases/0/pay", Some(&[("token", &token), ("amount", "abc")]), StatusCode::BAD_REQUEST, "such as 12.00"),
            ("/leases/0/pay", Some(&[("token", &token), ("amount", "0")]), StatusCode::BAD_REQUEST, "more than 0.00"),
            ("/leases/0/pay", Some(&[("token", &token)]), StatusCode::BAD_REQUEST, "amount is required"),
        ])
        .await;
        // A resident party to no lease.
        let page = c.resident("worker-2").page("/leases").await;
        assert!(page.contains("You are party to no lease."), "{page}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_owner_sees_her_devices_and_their_grants_and_revokes_one() {
        let c = chain().await;
        let alice = c.resident("alice");
        let ids = demo::devices(c.f._dir.path()).expect("demo devices");
        let hub = c.f.key("homehub").1.to_string();
        let page = alice.page("/devices").await;
        for expected in ["Hoodworks range hood H1", "Flameco gas stove S2", "Lockworks door lock L5", "version 2"] {
            assert!(page.contains(expected), "{expected:?}: {page}");
        }
        assert_eq!(count(&page, "badge ok\">active"), 3, "{page}");
        assert!(page.contains(&format!("{}/devices/{}", c.node, ids.stove)), "a link to the explorer: {page}");
        assert!(!page.contains("device-grants"), "no grants until a scene or controller is asked for");

        let kitchen = alice.page("/devices?scene=kitchen").await;
        assert!(kitchen.contains("In your scene <code>kitchen</code>"), "{kitchen}");
        assert_eq!(count(&kitchen, "badge ok\">in force"), 2, "the hood and the stove: {kitchen}");
        assert!(kitchen.contains("shut_off, gas_leak") && kitchen.contains("fan_speed, boost"), "{kitchen}");
        assert_eq!(count(&kitchen, "/revoke\""), 2, "{kitchen}");
        let page = alice.page(&format!("/devices?controller={hub}")).await;
        assert_eq!(count(&page, "badge ok\">in force"), 3, "homehub's grants on all three: {page}");
        assert!(page.contains("lock_state, door_forced"), "{page}");

        let token = alice.token().await;
        let form = [("token", token.as_str()), ("controller", &hub), ("scene", "kitchen")];
        let revoke = format!("/devices/{}/revoke", ids.stove);
        let page = alice.act(&revoke, &form, "/devices?scene=kitchen&done=").await;
        assert_eq!(count(&page, "badge ok\">in force"), 1, "the hood's only: {page}");
        assert!(page.contains("no grant recorded"), "the stove's is gone: {page}");
        assert_eq!(count(&page, "/revoke\""), 1, "{page}");
        // The node agrees.
        let answer = civitas_client::Client::new(&c.node).device_grant(&ids.stove, &c.f.key("homehub").1);
        assert!(!answer.expect("read").expect("device").allowed);

        let (status, _, page) = alice.post(&revoke, &form).await;
        assert_eq!(status, StatusCode::CONFLICT, "nothing left to revoke: {page}");
        let civitas = format!("did:civitas:{}", "0".repeat(40));
        alice
            .refused(&[
                ("/devices?scene=Kitchen", None, StatusCode::BAD_REQUEST, "a scene's name is 1 to 64"),
                (
                    "/devices?controller=bob",
                    None,
                    StatusCode::BAD_REQUEST,
                    "controller: `bob` is not a did:civitas DID",
                ),
                (&format!("/devices?scene=a&controller={civitas}"), None, StatusCode::BAD_REQUEST, "not both"),
                ("/devices?owner=1", None, StatusCode::BAD_REQUEST, "unknown field"),
                (
                    "/devices/abc/revoke",
                    Some(&[("token", &token), ("controller", &hub)]),
                    StatusCode::BAD_REQUEST,
                    "not a device id",
                ),
                (
                    &revoke,
                    Some(&[("token", &token), ("controller", "nope")]),
                    StatusCode::BAD_REQUEST,
                    "controller: `nope`",
                ),
                (
                    &revoke,
                    Some(&[("token", &token), ("controller", &hub), ("scene", "A B")]),
                    StatusCode::BAD_REQUEST,
                    "a scene's name",
                ),
                (&revoke, Some(&[("controller", &hub)]), StatusCode::FORBIDDEN, "did not come from"),
            ])
            .await;
        // Bob owns nothing.
        let page = c.resident("bob").page("/devices?scene=kitchen").await;
        assert!(page.contains("You own no device.") && page.contains("No grant is listed here."), "{page}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_worker_sees_their_wages_with_project_contract_payroll_and_proof() {
        let c = chain().await;
        let worker = c.resident("worker-1");
        let page = worker.page("/wages").await;
        let wages = format!("{}/v1/funds/wages/{}?prove=true", c.node, worker.did);
        for expected in [
            "6,000.00",
            "Riverside Primary School",
            &format!("href=\"{}/funds/projects/0\"", c.node),
            "Brickwork and masonry (subcontract 1 of contract 0)",
            "lianhua-masonry",
            &format!("href=\"{}/v1/funds/payrolls/0\"", c.node),
            "milestone 0 of contract 0 (paid)",
            &format!("href=\"{wages}\""),
            "1 payment in all",
        ] {
            assert!(page.contains(expected), "{expected:?}: {page}");
        }
        // The proof is there to download.
        let proof = civitas_client::Client::new(&c.node)
            .prove_fund_list(&civitas_types::fund::FundList::Wages(worker.did), 0, 100)
            .expect("the proof");
        assert!(serde_json::to_string(&proof).expect("json").contains("fund_list"));

        let page = c.resident("alice").page("/wages").await;
        assert!(page.contains("No wages were paid into your account."), "{page}");
        worker
            .refused(&[
                ("/wages?page=2", None, StatusCode::BAD_REQUEST, "unknown field"),
                ("/wages?from=-1", None, StatusCode::BAD_REQUEST, "from"),
            ])
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_buyer_sees_her_invoice_and_submits_it_to_her_employer() {
        let c = chain().await;
        let alice = c.resident("alice");
        let page = alice.page("/invoices").await;
        for expected in ["Metro fare", "6.00 CNY", "badge ok\">issued", "action=\"/invoices/1/submit\"", ">metro<"] {
            assert!(page.contains(expected), "{expected:?}: {page}");
        }
        let acme = c.f.key("acme").1.to_string();
        let token = alice.token().await;
        let page = alice.act("/invoices/1/submit", &[("token", &token), ("employer", &acme)], "/invoices?done=").await;
        assert!(page.contains("badge wait\">submitted</span> to <a"), "{page}");
        assert!(page.contains(">acme<") && !page.contains("action=\"/invoices/1/submit\""), "{page}");

        let (status, _, page) = alice.post("/invoices/1/submit", &[("token", &token), ("employer", &acme)]).await;
        assert_eq!(status, StatusCode::CONFLICT, "one claim, ever: {page}");
        assert!(page.contains("the chain refused it"), "{page}");
        alice
            .refused(&[
                ("/invoices?from=x", None, StatusCode::BAD_REQUEST, "from"),
                ("/invoices?buyer=x", None, StatusCode::BAD_REQUEST, "unknown field"),
                (
                    "/invoices/1/submit",
                    Some(&[("token", &token), ("employer", "nope")]),
                    StatusCode::BAD_REQUEST,
                    "employer: `nope` is not a did:civitas DID",
                ),
                ("/invoices/1/submit", Some(&[("token", &token)]), StatusCode::BAD_REQUEST, "employer is required"),
                (
                    "/invoices/one/submit",
                    Some(&[("token", &token), ("employer", &acme)]),
                    StatusCode::BAD_REQUEST,
                    "whole number",
                ),
                (
                    "/invoices/1/submit",
                    Some(&[("token", "x"), ("employer", &acme)]),
                    StatusCode::FORBIDDEN,
                    "did not come from",
                ),
            ])
            .await;
        // Bob was issued nothing, and cannot claim alice's invoice.
        let bob = c.resident("bob");
        assert!(bob.page("/invoices").await.contains("No invoice was issued to you."));
        let bobs = bob.token().await;
        let (status, _, page) = bob.post("/invoices/1/submit", &[("token", &bobs), ("employer", &acme)]).await;
        assert_eq!(status, StatusCode::CONFLICT, "{page}");
    }
}
