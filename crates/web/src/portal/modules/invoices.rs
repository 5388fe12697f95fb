//! My invoices: those sellers issued to the resident (a signed read), and submitting one to an
//! employer for reimbursement.

use super::*;

/// `GET /invoices`: the invoices issued to me (a signed read: the buyer sees its own), and the
/// form that submits an issued one to an employer.
pub(super) async fn invoices(
    State(p): PortalState,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Markup, PageError> {
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
pub(super) async fn submit_invoice(
    State(p): PortalState,
    Path(n): Path<String>,
    f: Result<Form<Fields>, FormRejection>,
) -> Result<Response, PageError> {
    act(p, f, move |f| {
        let number = number("the invoice", &n)?;
        let employer = did_field(f, "employer")?;
        Ok((Instruction::Invoices(InvoiceInstruction::SubmitInvoice { number, employer }), "/invoices".into()))
    })
    .await
}
