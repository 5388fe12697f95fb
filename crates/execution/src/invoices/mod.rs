//! E-invoices bound to payments (`docs/invoices.md`). The tax authority registers merchants; a
//! payment provider records payments (a commitment to the payer, never the payer); only the
//! payee merchant issues a payment's one invoice, for exactly its amount; the buyer submits it
//! to one employer, which reimburses it once; the merchant reverses an unreimbursed invoice
//! with a red-letter credit note. Running totals per merchant and per day let the tax
//! authority check the whole process with proofs.
//!
//! Each instruction's permission check sits next to its effect; official acts go to the audit
//! trail. State keys are hashed into the tree, so lists go by counters (like the audit trail).

mod error;
pub use error::Error;

/// Who may perform each of this module's instructions (rendered into `docs/permissions.md`;
/// the permission test runs each under every kind of actor).
pub(crate) const PERMISSIONS: &[Rule] = &[
    Rule { instruction: "register_merchant", target: "an organization, as a merchant", allowed: &[Actor::TaxOfficial] },
    Rule {
        instruction: "record_payment",
        target: "a payment to a merchant",
        allowed: &[Actor::PaymentProviderOfficial],
    },
    Rule {
        instruction: "issue_invoice",
        target: "the invoice of a payment to the merchant",
        allowed: &[Actor::MerchantOfficial],
    },
    Rule {
        instruction: "submit_invoice",
        target: "an invoice, to an employer (the account / DID itself: the invoice's buyer)",
        allowed: &[Actor::Owner],
    },
    Rule { instruction: "reimburse_invoice", target: "a submitted invoice", allowed: &[Actor::EmployerOfficial] },
    Rule { instruction: "reverse_invoice", target: "an unreimbursed invoice", allowed: &[Actor::MerchantOfficial] },
];

pub mod query;

use crate::permissions::{Actor, Rule};
use civitas_state::{StateRead, StoreError, TxState};
use civitas_types::codec::Encode;
use civitas_types::invoice::{
    INVOICE_ITEMS_MAX, Invoice, InvoiceContent, InvoiceKind, InvoiceStatus, InvoiceTotals, LineItem, Merchant, Payment,
    PaymentRecord, REASON_BYTES_MAX, TAX_RATE_BP_MAX, TEXT_BYTES_MAX, TOTALS_KEY, currency_ok, day_of, day_totals_key,
    invoice_key, merchant_key, merchant_totals_key, payment_id_ok, taxpayer_id_ok,
};
use civitas_types::org::{OrgFunction, OrgKind};
use civitas_types::text_ok;
use civitas_types::{Did, InvoiceInstruction};

use crate::counters::{self, read_u64};
use crate::{BlockContext, Context, ExecError, OfficialAct, Outcome, accounts, audited, orgs, unaudited};

const NEXT_NUMBER_KEY: &[u8] = b"inv/next-number";

fn taxpayer_key(id: &str) -> Vec<u8> {
    [b"inv/taxpayer/".as_slice(), id.as_bytes()].concat()
}

/// Who an invoice list belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The invoices a merchant issued (credit notes included).
    Seller,
    /// The invoices issued to a buyer on the chain.
    Buyer,
    /// The invoices submitted to an employer.
    Employer,
}

impl Party {
    fn tag(self) -> &'static [u8] {
        match self {
            Party::Seller => b"seller/",
            Party::Buyer => b"buyer/",
            Party::Employer => b"employer/",
        }
    }
}

pub(crate) fn list_count_key(party: Party, did: &Did) -> Vec<u8> {
    [b"inv/list-count/".as_slice(), party.tag(), did.as_bytes()].concat()
}

pub(crate) fn list_entry_key(party: Party, did: &Did, position: u64) -> Vec<u8> {
    [b"inv/list/".as_slice(), party.tag(), did.as_bytes(), &position.to_be_bytes()].concat()
}

fn append(state: &mut TxState<'_, '_>, party: Party, did: &Did, number: u64) -> Result<(), StoreError> {
    counters::append(state, &list_count_key(party, did), |p| list_entry_key(party, did, p), number)
}

/// Adds `change` to the chain's, the merchant's and the merchant's day's totals.
fn add_totals(
    state: &mut TxState<'_, '_>,
    merchant: &Did,
    ctx: BlockContext,
    change: InvoiceTotals,
) -> Result<(), StoreError> {
    for key in [TOTALS_KEY.to_vec(), merchant_totals_key(merchant), day_totals_key(merchant, day_of(ctx.timestamp_ms))]
    {
        let current = query::totals_at(state, &key)?;
        state.put(key, current.plus(change).encode());
    }
    Ok(())
}

/// `register_merchant`: makes organization `merchant` a merchant with `taxpayer_id` at
/// `address`. Permission: an official of `by`, a department with the tax function.
pub(crate) fn register_merchant(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (merchant, taxpayer_id, address, by): (&Did, &str, &civitas_types::invoice::PostalAddress, &Did),
) -> Outcome<OfficialAct> {
    let tax =
        |o: &civitas_types::org::Organization| o.kind == OrgKind::Department && o.functions.contains(&OrgFunction::Tax);
    let act = orgs::official_of(state, cx, by, tax, "tax")?;
    if !taxpayer_id_ok(taxpayer_id) {
        return Err(ExecError::BadField("taxpayer id (1 to 32 uppercase letters and digits)").into());
    }
    if let Some(problem) = address.problem() {
        return Err(ExecError::BadField(problem).into());
    }
    if orgs::query::organization(state, merchant)?.is_none() {
        return Err(orgs::Error::UnknownOrganization(*merchant).into());
    }
    if state.get(&merchant_key(merchant))?.is_some() {
        return Err(ExecError::AlreadyRegistered.into());
    }
    if state.get(&taxpayer_key(taxpayer_id))?.is_some() {
        return Err(Error::TaxpayerIdTaken(taxpayer_id.to_owned()).into());
    }
    let record = Merchant {
        taxpayer_id: taxpayer_id.to_owned(),
        address: address.clone(),
        registered_by: *by,
        registered_height: cx.block.height,
    };
    state.put(merchant_key(merchant), record.encode());
    state.put(taxpayer_key(taxpayer_id), merchant.as_bytes().to_vec());
    Ok(act)
}

/// `record_payment`: records a payment to a registered merchant.
/// Permission: an official of `by`, a payment provider.
pub(crate) fn record_payment(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (payment, by): (&Payment, &Did),
) -> Outcome<OfficialAct> {
    let provider = |o: &civitas_types::org::Organization| o.kind == OrgKind::PaymentProvider;
    let act = orgs::official_of(state, cx, by, provider, "payment provider")?;
    if !payment_id_ok(&payment.id) {
        return Err(ExecError::BadField("payment id (1 to 64 printable characters, no spaces)").into());
    }
    if payment.amount == 0 {
        return Err(ExecError::BadField("amount (must be positive)").into());
    }
    if !currency_ok(&payment.currency) {
        return Err(ExecError::BadField("currency (three uppercase letters)").into());
    }
    if !text_ok(&payment.channel, civitas_types::invoice::CHANNEL_BYTES_MAX) {
        return Err(ExecError::BadField("channel").into());
    }
    if payment.paid_at_ms > cx.block.timestamp_ms {
        return Err(ExecError::BadField("paid_at (after the block that records it)").into());
    }
    if state.get(&merchant_key(&payment.payee))?.is_none() {
        return Err(Error::NotAMerchant(payment.payee).into());
    }
    let key = civitas_types::invoice::payment_key(&payment.id);
    if state.get(&key)?.is_some() {
        return Err(Error::DuplicatePayment(payment.id.clone()).into());
    }
    let record =
        PaymentRecord { payment: payment.clone(), provider: *by, recorded_height: cx.block.height, invoice: None };
    state.put(key, record.encode());
    Ok(act)
}

fn next_number(state: &mut TxState<'_, '_>) -> Result<u64, StoreError> {
    let n = read_u64(state, NEXT_NUMBER_KEY)?.max(1);
    state.put(NEXT_NUMBER_KEY.to_vec(), (n + 1).to_be_bytes().to_vec());
    Ok(n)
}

fn check_items(items: &[LineItem]) -> Result<(u128, u128, u128), ExecError> {
    if items.is_empty() || items.len() > INVOICE_ITEMS_MAX {
        return Err(ExecError::BadField("items (1 to 100 lines)"));
    }
    for item in items {
        if !text_ok(&item.description, TEXT_BYTES_MAX) {
            return Err(ExecError::BadField("item description"));
        }
        if item.quantity == 0 {
            return Err(ExecError::BadField("item quantity (must be positive)"));
        }
        if item.tax_rate_bp > TAX_RATE_BP_MAX {
            return Err(ExecError::BadField("item tax rate (at most 10000 basis points)"));
        }
    }
    civitas_types::invoice::totals(items).ok_or(ExecError::BadField("items (amounts overflow)"))
}

/// The invoice fields an issuer supplies.
pub(crate) struct IssueArgs<'a> {
    pub(crate) payment_id: &'a str,
    pub(crate) buyer_name: &'a str,
    pub(crate) buyer_taxpayer_id: &'a str,
    pub(crate) buyer: Option<Did>,
    pub(crate) items: &'a [LineItem],
    pub(crate) by: &'a Did,
}

/// `issue_invoice`: the one invoice of a payment, for exactly its amount.
/// Permission: an official of `by`, the payment's payee merchant.
pub(crate) fn issue(state: &mut TxState<'_, '_>, cx: &Context<'_>, a: IssueArgs<'_>) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, a.by)?.0;
    let Some(merchant) = query::merchant(state, a.by)? else { return Err(Error::NotAMerchant(*a.by).into()) };
    let key = civitas_types::invoice::payment_key(a.payment_id);
    let Some(mut payment) = query::payment(state, a.payment_id)? else {
        return Err(Error::UnknownPayment(a.payment_id.to_owned()).into());
    };
    if payment.payment.payee != *a.by {
        return Err(Error::WrongMerchant { payee: payment.payment.payee, by: *a.by }.into());
    }
    if let Some(invoice) = payment.invoice {
        return Err(Error::AlreadyInvoiced { payment: a.payment_id.to_owned(), invoice }.into());
    }
    if !text_ok(a.buyer_name, TEXT_BYTES_MAX) {
        return Err(ExecError::BadField("buyer name").into());
    }
    if !a.buyer_taxpayer_id.is_empty() && !taxpayer_id_ok(a.buyer_taxpayer_id) {
        return Err(ExecError::BadField("buyer taxpayer id").into());
    }
    if let Some(buyer) = &a.buyer
        && accounts::query::account(state, buyer)?.is_none()
    {
        return Err(ExecError::UnknownAccount(*buyer).into());
    }
    let (net_total, tax_total, total) = check_items(a.items)?;
    if total != payment.payment.amount {
        return Err(Error::AmountMismatch { items: total, payment: payment.payment.amount }.into());
    }
    let number = next_number(state)?;
    let content = InvoiceContent {
        number,
        kind: InvoiceKind::Normal,
        seller: *a.by,
        seller_taxpayer_id: merchant.taxpayer_id,
        buyer_name: a.buyer_name.to_owned(),
        buyer_taxpayer_id: a.buyer_taxpayer_id.to_owned(),
        buyer: a.buyer,
        payment_id: a.payment_id.to_owned(),
        currency: payment.payment.currency.clone(),
        items: a.items.to_vec(),
        net_total,
        tax_total,
        total,
        issued_height: cx.block.height,
        issued_ms: cx.block.timestamp_ms,
        reason: String::new(),
    };
    let invoice = Invoice { hash: content.hash(), content, status: InvoiceStatus::Issued };
    state.put(invoice_key(number), invoice.encode());
    payment.invoice = Some(number);
    state.put(key, payment.encode());
    append(state, Party::Seller, a.by, number)?;
    if let Some(buyer) = &a.buyer {
        append(state, Party::Buyer, buyer, number)?;
    }
    let issued = InvoiceTotals { issued_count: 1, issued_amount: total, ..InvoiceTotals::default() };
    add_totals(state, a.by, cx.block, issued)?;
    Ok(act)
}

fn load(state: &impl StateRead, number: u64) -> Outcome<Invoice> {
    Ok(query::invoice(state, number)?.ok_or(Error::UnknownInvoice(number))?)
}

/// `submit_invoice`: the buyer hands an issued invoice to `employer` for reimbursement; one
/// claim, ever.
/// Permission: the invoice's buyer.
pub(crate) fn submit(state: &mut TxState<'_, '_>, cx: &Context<'_>, (number, employer): (u64, &Did)) -> Outcome {
    let Some(account) = accounts::query::account_by_key(state, cx.signer)? else {
        return Err(ExecError::UnknownSigner.into());
    };
    let mut invoice = load(state, number)?;
    if invoice.content.buyer != Some(account.did) {
        return Err(Error::NotTheBuyer.into());
    }
    if invoice.status != InvoiceStatus::Issued {
        return Err(Error::InvoiceState { number, status: invoice.status.name() }.into());
    }
    match orgs::query::organization(state, employer)? {
        Some(o) if matches!(o.kind, OrgKind::Employer | OrgKind::Company | OrgKind::Department) => {}
        _ => return Err(ExecError::PermissionDenied("an employer, company or department to claim from").into()),
    }
    invoice.status = InvoiceStatus::Submitted { employer: *employer, height: cx.block.height };
    state.put(invoice_key(number), invoice.encode());
    append(state, Party::Employer, employer, number)?;
    Ok(())
}

/// `reimburse_invoice`: the employer the invoice was submitted to pays it back; final.
/// Permission: an official of `by`, that employer.
pub(crate) fn reimburse(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (number, by): (u64, &Did),
) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, by)?.0;
    let mut invoice = load(state, number)?;
    match invoice.status {
        InvoiceStatus::Submitted { employer, .. } if employer == *by => {}
        InvoiceStatus::Submitted { .. } => {
            return Err(ExecError::PermissionDenied("the employer it was submitted to").into());
        }
        other => return Err(Error::InvoiceState { number, status: other.name() }.into()),
    }
    invoice.status = InvoiceStatus::Reimbursed { employer: *by, height: cx.block.height };
    state.put(invoice_key(number), invoice.encode());
    let reimbursed =
        InvoiceTotals { reimbursed_count: 1, reimbursed_amount: invoice.content.total, ..InvoiceTotals::default() };
    add_totals(state, &invoice.content.seller, cx.block, reimbursed)?;
    Ok(act)
}

/// `reverse_invoice`: a red-letter credit note cancels an invoice that is not reimbursed (an
/// open claim on it is withdrawn with it).
/// Permission: an official of `by`, the invoice's seller.
pub(crate) fn reverse(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (number, reason, by): (u64, &str, &Did),
) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, by)?.0;
    let mut invoice = load(state, number)?;
    if invoice.content.seller != *by {
        return Err(Error::WrongMerchant { payee: invoice.content.seller, by: *by }.into());
    }
    if !matches!(invoice.status, InvoiceStatus::Issued | InvoiceStatus::Submitted { .. }) {
        return Err(Error::InvoiceState { number, status: invoice.status.name() }.into());
    }
    if !text_ok(reason, REASON_BYTES_MAX) {
        return Err(ExecError::BadField("reason").into());
    }
    let credit_number = next_number(state)?;
    let content = InvoiceContent {
        number: credit_number,
        kind: InvoiceKind::Credit { reverses: number },
        issued_height: cx.block.height,
        issued_ms: cx.block.timestamp_ms,
        reason: reason.to_owned(),
        ..invoice.content.clone()
    };
    let credit = Invoice { hash: content.hash(), content, status: InvoiceStatus::CreditNote };
    state.put(invoice_key(credit_number), credit.encode());
    invoice.status = InvoiceStatus::Reversed { credit_note: credit_number, height: cx.block.height };
    state.put(invoice_key(number), invoice.encode());
    append(state, Party::Seller, by, credit_number)?;
    if let Some(buyer) = &invoice.content.buyer {
        append(state, Party::Buyer, buyer, credit_number)?;
    }
    let reversed =
        InvoiceTotals { reversed_count: 1, reversed_amount: invoice.content.total, ..InvoiceTotals::default() };
    add_totals(state, by, cx.block, reversed)?;
    Ok(act)
}

/// Runs one of this module's instructions; an official act comes back for the audit trail.
pub(crate) fn execute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    instruction: &InvoiceInstruction,
) -> Outcome<Option<OfficialAct>> {
    match instruction {
        InvoiceInstruction::RegisterMerchant { merchant, taxpayer_id, address, by } => {
            audited(register_merchant(state, cx, (merchant, taxpayer_id, address, by)))
        }
        InvoiceInstruction::RecordPayment { payment, by } => audited(record_payment(state, cx, (payment, by))),
        InvoiceInstruction::IssueInvoice { payment_id, buyer_name, buyer_taxpayer_id, buyer, items, by } => {
            let args = IssueArgs { payment_id, buyer_name, buyer_taxpayer_id, buyer: *buyer, items, by };
            audited(issue(state, cx, args))
        }
        InvoiceInstruction::SubmitInvoice { number, employer } => unaudited(submit(state, cx, (*number, employer))),
        InvoiceInstruction::ReimburseInvoice { number, by } => audited(reimburse(state, cx, (*number, by))),
        InvoiceInstruction::ReverseInvoice { number, reason, by } => audited(reverse(state, cx, (*number, reason, by))),
    }
}

#[cfg(test)]
mod tests;
