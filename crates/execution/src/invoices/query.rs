//! Read-only views of merchants, payments, invoices and totals.

use civitas_state::{StateRead, StoreError};
use civitas_types::Did;
use civitas_types::codec::Decode;
use civitas_types::invoice::{
    Invoice, InvoiceTotals, Merchant, PaymentRecord, day_totals_key, invoice_key, merchant_key, payment_key,
};

use super::{Party, list_count_key, list_entry_key};
use crate::counters::{self, read_u64};

/// Most invoices in one page.
pub const PAGE_MAX: u64 = 100;
/// Most days one totals query spans.
pub const DAYS_MAX: u64 = 366;

/// Merchant `org`'s registration.
pub fn merchant(state: &impl StateRead, org: &Did) -> Result<Option<Merchant>, StoreError> {
    Ok(state.get(&merchant_key(org))?.map(|b| Merchant::decode(&b)).transpose()?)
}

/// The payment with `id`.
pub fn payment(state: &impl StateRead, id: &str) -> Result<Option<PaymentRecord>, StoreError> {
    Ok(state.get(&payment_key(id))?.map(|b| PaymentRecord::decode(&b)).transpose()?)
}

/// Invoice `number`.
pub fn invoice(state: &impl StateRead, number: u64) -> Result<Option<Invoice>, StoreError> {
    Ok(state.get(&invoice_key(number))?.map(|b| Invoice::decode(&b)).transpose()?)
}

/// The totals kept at `key` (zero if none yet).
pub fn totals_at(state: &impl StateRead, key: &[u8]) -> Result<InvoiceTotals, StoreError> {
    Ok(state.get(key)?.map(|b| InvoiceTotals::decode(&b)).transpose()?.unwrap_or_default())
}

/// Merchant `org`'s totals over days `from_day..=to_day` (at most [`DAYS_MAX`] days), and the
/// day keys they were read from (for proofs).
pub fn merchant_period(
    state: &impl StateRead,
    org: &Did,
    from_day: u64,
    to_day: u64,
) -> Result<(InvoiceTotals, Vec<Vec<u8>>), StoreError> {
    let mut sum = InvoiceTotals::default();
    let mut keys = Vec::new();
    for day in from_day..=to_day.min(from_day.saturating_add(DAYS_MAX - 1)) {
        let key = day_totals_key(org, day);
        sum = sum.plus(totals_at(state, &key)?);
        keys.push(key);
    }
    Ok((sum, keys))
}

/// A page of `did`'s invoices as `party` (from position `from`, at most `limit` ≤
/// [`PAGE_MAX`]), and the position after it if there are more.
pub fn list(
    state: &impl StateRead,
    party: Party,
    did: &Did,
    from: u64,
    limit: u64,
) -> Result<(Vec<Invoice>, Option<u64>), StoreError> {
    let page = counters::page(
        state,
        &list_count_key(party, did),
        |p| list_entry_key(party, did, p),
        from,
        limit.min(PAGE_MAX),
    )?;
    let (numbers, next) = page;
    let mut out = Vec::with_capacity(numbers.len());
    for number in numbers {
        if let Some(i) = invoice(state, number)? {
            out.push(i);
        }
    }
    Ok((out, next))
}

/// A page of every invoice by number (from number `from`, at most `limit` ≤ [`PAGE_MAX`]),
/// and the number after it if there are more.
pub fn all(state: &impl StateRead, from: u64, limit: u64) -> Result<(Vec<Invoice>, Option<u64>), StoreError> {
    let next = read_u64(state, super::NEXT_NUMBER_KEY)?.max(1);
    let from = from.max(1);
    let end = next.min(from.saturating_add(limit.min(PAGE_MAX)));
    let mut out = Vec::new();
    for number in from..end {
        if let Some(i) = invoice(state, number)? {
            out.push(i);
        }
    }
    Ok((out, (end < next).then_some(end)))
}
