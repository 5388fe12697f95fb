//! My leases, as landlord or tenant (signed reads): the terms, where the rent stands, its
//! payments, and paying rent.

use super::*;

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
pub(super) async fn leases(
    State(p): PortalState,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
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
pub(super) async fn pay_rent(
    State(p): PortalState,
    Path(id): Path<String>,
    f: Result<Form<Fields>, FormRejection>,
) -> Result<Response, PageError> {
    act(p, f, move |f| {
        let lease = number("the lease", &id)?;
        let amount = parse_amount("amount", field(f, "amount")?)?;
        Ok((Instruction::Rentals(RentalInstruction::PayRent { lease, amount }), "/leases".into()))
    })
    .await
}
