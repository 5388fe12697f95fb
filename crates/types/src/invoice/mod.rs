//! E-invoices bound to payments: the records the invoices module keeps (see
//! `docs/invoices.md`). A payment provider records a payment; only its payee merchant issues
//! the one invoice it can have, for exactly its amount; the buyer submits the invoice to one
//! employer, which reimburses it once; the merchant reverses an unreimbursed invoice with a
//! red-letter (credit) note.

mod instruction;
pub use instruction::InvoiceInstruction;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_seq};
use crate::{Did, Hash};

/// Longest taxpayer id (uppercase letters and digits).
pub const TAXPAYER_ID_BYTES_MAX: usize = 32;
/// Longest payment id (printable ASCII, no spaces).
pub const PAYMENT_ID_BYTES_MAX: usize = 64;
/// Longest payment channel name.
pub const CHANNEL_BYTES_MAX: usize = 32;
/// Longest buyer name or item description.
pub const TEXT_BYTES_MAX: usize = 128;
/// Longest reversal reason.
pub const REASON_BYTES_MAX: usize = 256;
/// Most line items on an invoice.
pub const INVOICE_ITEMS_MAX: usize = 100;
/// A tax rate is in basis points: at most 100%.
pub const TAX_RATE_BP_MAX: u32 = 10_000;

/// Whether `id` is a taxpayer id: 1 to 32 uppercase ASCII letters and digits.
pub fn taxpayer_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= TAXPAYER_ID_BYTES_MAX
        && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Whether `id` is a payment id: 1 to 64 printable ASCII characters, no spaces.
pub fn payment_id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= PAYMENT_ID_BYTES_MAX && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether `code` is an ISO 4217 currency code's shape: three uppercase letters.
pub fn currency_ok(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Longest street line of a postal address.
pub const STREET_BYTES_MAX: usize = 128;
/// Longest city name.
pub const CITY_BYTES_MAX: usize = 64;
/// Longest postal code.
pub const POSTAL_CODE_BYTES_MAX: usize = 16;

/// A postal address, as EN 16931 wants a seller's (BG-5): street (BT-35), city (BT-37), postal
/// code (BT-38, may be empty) and country (BT-40, ISO 3166-1 alpha-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    /// Street and number: 1 to 128 bytes, no control characters.
    pub street: String,
    /// City: 1 to 64 bytes, no control characters.
    pub city: String,
    /// Postal code: up to 16 letters, digits, spaces or hyphens; empty where there is none.
    #[serde(default)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code (`CN`, `DE`).
    #[schema(pattern = "^[A-Z]{2}$")]
    pub country: String,
}

impl PostalAddress {
    /// The address the dev chain, the benchmarks and the tests give their demo merchant.
    pub fn demo() -> PostalAddress {
        PostalAddress {
            street: "1 Century Avenue".into(),
            city: "Shanghai".into(),
            postal_code: "200120".into(),
            country: "CN".into(),
        }
    }

    /// What is wrong with it, if anything (the field and its rule).
    pub fn problem(&self) -> Option<&'static str> {
        if !crate::text_ok(&self.street, STREET_BYTES_MAX) {
            return Some("address.street (1 to 128 bytes, no control characters)");
        }
        if !crate::text_ok(&self.city, CITY_BYTES_MAX) {
            return Some("address.city (1 to 64 bytes, no control characters)");
        }
        let postal_ok = self.postal_code.len() <= POSTAL_CODE_BYTES_MAX
            && self.postal_code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-');
        if !postal_ok {
            return Some("address.postal_code (up to 16 letters, digits, spaces or hyphens)");
        }
        if !(self.country.len() == 2 && self.country.bytes().all(|b| b.is_ascii_uppercase())) {
            return Some("address.country (ISO 3166-1 alpha-2: two uppercase letters)");
        }
        None
    }
}

impl Encode for PostalAddress {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.street.as_bytes());
        put_bytes(out, self.city.as_bytes());
        put_bytes(out, self.postal_code.as_bytes());
        put_bytes(out, self.country.as_bytes());
    }
}

impl Decode for PostalAddress {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PostalAddress {
            street: r.string(STREET_BYTES_MAX, "street")?,
            city: r.string(CITY_BYTES_MAX, "city")?,
            postal_code: r.string(POSTAL_CODE_BYTES_MAX, "postal code")?,
            country: r.string(2, "country")?,
        })
    }
}

/// A merchant the tax authority registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    /// Its taxpayer id (unique).
    pub taxpayer_id: String,
    /// Its postal address (on its invoices).
    pub address: PostalAddress,
    /// The tax department that registered it.
    pub registered_by: Did,
    /// When.
    pub registered_height: u64,
}

/// A payment as its provider records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// The provider's id for it (unique on the chain).
    pub id: String,
    /// The payee merchant.
    pub payee: Did,
    /// The amount, in minor units of `currency`.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String, pattern = "^[0-9]+$")]
    pub amount: u128,
    /// The currency (ISO 4217).
    pub currency: String,
    /// When it was paid (ms since the Unix epoch; not after the block that records it).
    pub paid_at_ms: u64,
    /// How it was paid (a fare gate, an app).
    pub channel: String,
    /// A commitment to the payer (a hash the payer can open), never the payer in clear.
    pub payer_commitment: Hash,
}

/// A recorded payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    /// The payment.
    pub payment: Payment,
    /// The payment provider that recorded it.
    pub provider: Did,
    /// When.
    pub recorded_height: u64,
    /// The invoice issued against it, if any: one payment, one invoice.
    pub invoice: Option<u64>,
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// What was sold.
    pub description: String,
    /// How many units.
    pub quantity: u32,
    /// The net price of one unit, in minor units.
    #[serde(with = "crate::json::amount")]
    #[schema(value_type = String, pattern = "^[0-9]+$")]
    pub unit_price: u128,
    /// The tax rate, in basis points (900 = 9%).
    pub tax_rate_bp: u32,
}

impl LineItem {
    /// Quantity times unit price; `None` on overflow.
    pub fn net(&self) -> Option<u128> {
        u128::from(self.quantity).checked_mul(self.unit_price)
    }
}

/// Tax is computed per rate, as EN 16931 does (BR-CO-17): for each rate, the taxable amount
/// (the sum of the lines' net amounts at that rate) and its tax (taxable times rate, rounded
/// half up to a minor unit), in increasing order of rate; `None` on overflow.
pub fn tax_breakdown(items: &[LineItem]) -> Option<Vec<(u32, u128, u128)>> {
    let mut taxable: std::collections::BTreeMap<u32, u128> = std::collections::BTreeMap::new();
    for item in items {
        let sum = taxable.entry(item.tax_rate_bp).or_default();
        *sum = sum.checked_add(item.net()?)?;
    }
    taxable
        .into_iter()
        .map(|(rate, net)| Some((rate, net, net.checked_mul(u128::from(rate))?.checked_add(5_000)? / 10_000)))
        .collect()
}

/// The sums of a list of items: net, tax (per rate), and their total; `None` on overflow.
pub fn totals(items: &[LineItem]) -> Option<(u128, u128, u128)> {
    let mut net = 0u128;
    let mut tax = 0u128;
    for (_, taxable, t) in tax_breakdown(items)? {
        net = net.checked_add(taxable)?;
        tax = tax.checked_add(t)?;
    }
    Some((net, tax, net.checked_add(tax)?))
}

/// A normal invoice, or a red-letter (credit) note reversing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceKind {
    /// An invoice for a payment.
    Normal,
    /// A credit note cancelling invoice `reverses` (its amounts are the reversed invoice's,
    /// to be read as negative).
    Credit {
        /// The invoice it reverses.
        reverses: u64,
    },
}

/// What an invoice says; its hash is the invoice's on-chain hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceContent {
    /// Its number, allocated in execution order from 1.
    pub number: u64,
    /// Invoice or credit note.
    pub kind: InvoiceKind,
    /// The seller (the payment's payee merchant).
    pub seller: Did,
    /// The seller's taxpayer id.
    pub seller_taxpayer_id: String,
    /// The buyer's name or title ("Individual" for a person who gives none).
    pub buyer_name: String,
    /// The buyer's taxpayer id, if it has one (empty otherwise).
    pub buyer_taxpayer_id: String,
    /// The buyer's DID, if the buyer is on the chain: only then can it submit the invoice.
    pub buyer: Option<Did>,
    /// The payment it is bound to.
    pub payment_id: String,
    /// The currency.
    pub currency: String,
    /// The lines.
    pub items: Vec<LineItem>,
    /// The sum of the lines' net amounts.
    pub net_total: u128,
    /// The sum of the lines' tax.
    pub tax_total: u128,
    /// Net plus tax: the payment's amount.
    pub total: u128,
    /// The height it was issued at.
    pub issued_height: u64,
    /// The block time it was issued at.
    pub issued_ms: u64,
    /// Why (credit notes), or empty.
    pub reason: String,
}

impl InvoiceContent {
    /// The invoice's hash: SHA-256 over a domain tag and its canonical encoding.
    pub fn hash(&self) -> Hash {
        Hash::digest_parts(&[b"civitas/invoice/v1\0", &self.encode()])
    }
}

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    /// Issued, not claimed.
    Issued,
    /// Submitted by the buyer to `employer` for reimbursement.
    Submitted {
        /// The employer.
        employer: Did,
        /// When.
        height: u64,
    },
    /// Reimbursed by `employer`: final.
    Reimbursed {
        /// The employer.
        employer: Did,
        /// When.
        height: u64,
    },
    /// Reversed by credit note `credit_note`: final.
    Reversed {
        /// The credit note.
        credit_note: u64,
        /// When.
        height: u64,
    },
    /// A credit note: final from issuance.
    CreditNote,
}

impl InvoiceStatus {
    /// The status's stable name.
    pub fn name(&self) -> &'static str {
        match self {
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::Submitted { .. } => "submitted",
            InvoiceStatus::Reimbursed { .. } => "reimbursed",
            InvoiceStatus::Reversed { .. } => "reversed",
            InvoiceStatus::CreditNote => "credit_note",
        }
    }
}

/// An invoice on the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// What it says.
    pub content: InvoiceContent,
    /// The hash of `content`, computed when it was issued.
    pub hash: Hash,
    /// Where it stands.
    pub status: InvoiceStatus,
}

/// Running totals, for the tax authority: counts and amounts of invoices issued, reversed and
/// reimbursed (amounts are totals, tax included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InvoiceTotals {
    /// Invoices issued.
    pub issued_count: u64,
    /// Their total amount.
    pub issued_amount: u128,
    /// Invoices reversed.
    pub reversed_count: u64,
    /// Their total amount.
    pub reversed_amount: u128,
    /// Invoices reimbursed.
    pub reimbursed_count: u64,
    /// Their total amount.
    pub reimbursed_amount: u128,
}

impl InvoiceTotals {
    /// The sum of two totals (saturating: amounts are bounded far below `u128::MAX`).
    pub fn plus(self, o: InvoiceTotals) -> InvoiceTotals {
        InvoiceTotals {
            issued_count: self.issued_count.saturating_add(o.issued_count),
            issued_amount: self.issued_amount.saturating_add(o.issued_amount),
            reversed_count: self.reversed_count.saturating_add(o.reversed_count),
            reversed_amount: self.reversed_amount.saturating_add(o.reversed_amount),
            reimbursed_count: self.reimbursed_count.saturating_add(o.reimbursed_count),
            reimbursed_amount: self.reimbursed_amount.saturating_add(o.reimbursed_amount),
        }
    }
}

/// The day (UTC, days since the Unix epoch) of a block time.
pub fn day_of(ms: u64) -> u64 {
    ms / 86_400_000
}

/// Where invoice `number` is kept.
pub fn invoice_key(number: u64) -> Vec<u8> {
    [b"inv/invoice/".as_slice(), &number.to_be_bytes()].concat()
}

/// Where the payment with `id` is kept.
pub fn payment_key(id: &str) -> Vec<u8> {
    [b"inv/payment/".as_slice(), &Hash::digest(id.as_bytes()).0].concat()
}

/// Where merchant `org`'s registration is kept.
pub fn merchant_key(org: &Did) -> Vec<u8> {
    [b"inv/merchant/".as_slice(), org.as_bytes()].concat()
}

/// Where the totals of all merchants are kept.
pub const TOTALS_KEY: &[u8] = b"inv/totals";

/// Where merchant `org`'s totals for `day` are kept.
pub fn day_totals_key(org: &Did, day: u64) -> Vec<u8> {
    [b"inv/totals/day/".as_slice(), org.as_bytes(), &day.to_be_bytes()].concat()
}

/// Where merchant `org`'s totals since it was registered are kept.
pub fn merchant_totals_key(org: &Did) -> Vec<u8> {
    [b"inv/totals/merchant/".as_slice(), org.as_bytes()].concat()
}

impl Encode for Merchant {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.taxpayer_id.as_bytes());
        self.address.encode_to(out);
        self.registered_by.encode_to(out);
        out.extend_from_slice(&self.registered_height.to_be_bytes());
    }
}

impl Decode for Merchant {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Merchant {
            taxpayer_id: r.string(TAXPAYER_ID_BYTES_MAX, "taxpayer id")?,
            address: PostalAddress::decode_from(r)?,
            registered_by: Did::decode_from(r)?,
            registered_height: r.u64("height")?,
        })
    }
}

impl Encode for Payment {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.id.as_bytes());
        self.payee.encode_to(out);
        out.extend_from_slice(&self.amount.to_be_bytes());
        put_bytes(out, self.currency.as_bytes());
        out.extend_from_slice(&self.paid_at_ms.to_be_bytes());
        put_bytes(out, self.channel.as_bytes());
        self.payer_commitment.encode_to(out);
    }
}

impl Decode for Payment {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Payment {
            id: r.string(PAYMENT_ID_BYTES_MAX, "payment id")?,
            payee: Did::decode_from(r)?,
            amount: r.u128("amount")?,
            currency: r.string(3, "currency")?,
            paid_at_ms: r.u64("paid at")?,
            channel: r.string(CHANNEL_BYTES_MAX, "channel")?,
            payer_commitment: Hash::decode_from(r)?,
        })
    }
}

impl Encode for PaymentRecord {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.payment.encode_to(out);
        self.provider.encode_to(out);
        out.extend_from_slice(&self.recorded_height.to_be_bytes());
        match self.invoice {
            None => out.push(0),
            Some(n) => {
                out.push(1);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
    }
}

impl Decode for PaymentRecord {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PaymentRecord {
            payment: Payment::decode_from(r)?,
            provider: Did::decode_from(r)?,
            recorded_height: r.u64("height")?,
            invoice: match r.u8("invoice")? {
                0 => None,
                1 => Some(r.u64("invoice")?),
                tag => return Err(DecodeError::UnknownTag { what: "invoice", tag }),
            },
        })
    }
}

impl Encode for LineItem {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.description.as_bytes());
        out.extend_from_slice(&self.quantity.to_be_bytes());
        out.extend_from_slice(&self.unit_price.to_be_bytes());
        out.extend_from_slice(&self.tax_rate_bp.to_be_bytes());
    }
}

impl Decode for LineItem {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LineItem {
            description: r.string(TEXT_BYTES_MAX, "item description")?,
            quantity: r.u32("quantity")?,
            unit_price: r.u128("unit price")?,
            tax_rate_bp: r.u32("tax rate")?,
        })
    }
}

impl Encode for InvoiceContent {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.number.to_be_bytes());
        match self.kind {
            InvoiceKind::Normal => out.push(0),
            InvoiceKind::Credit { reverses } => {
                out.push(1);
                out.extend_from_slice(&reverses.to_be_bytes());
            }
        }
        self.seller.encode_to(out);
        put_bytes(out, self.seller_taxpayer_id.as_bytes());
        put_bytes(out, self.buyer_name.as_bytes());
        put_bytes(out, self.buyer_taxpayer_id.as_bytes());
        match &self.buyer {
            None => out.push(0),
            Some(d) => {
                out.push(1);
                d.encode_to(out);
            }
        }
        put_bytes(out, self.payment_id.as_bytes());
        put_bytes(out, self.currency.as_bytes());
        put_seq(out, &self.items);
        out.extend_from_slice(&self.net_total.to_be_bytes());
        out.extend_from_slice(&self.tax_total.to_be_bytes());
        out.extend_from_slice(&self.total.to_be_bytes());
        out.extend_from_slice(&self.issued_height.to_be_bytes());
        out.extend_from_slice(&self.issued_ms.to_be_bytes());
        put_bytes(out, self.reason.as_bytes());
    }
}

impl Decode for InvoiceContent {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(InvoiceContent {
            number: r.u64("number")?,
            kind: match r.u8("invoice kind")? {
                0 => InvoiceKind::Normal,
                1 => InvoiceKind::Credit { reverses: r.u64("reverses")? },
                tag => return Err(DecodeError::UnknownTag { what: "invoice kind", tag }),
            },
            seller: Did::decode_from(r)?,
            seller_taxpayer_id: r.string(TAXPAYER_ID_BYTES_MAX, "seller taxpayer id")?,
            buyer_name: r.string(TEXT_BYTES_MAX, "buyer name")?,
            buyer_taxpayer_id: r.string(TAXPAYER_ID_BYTES_MAX, "buyer taxpayer id")?,
            buyer: match r.u8("buyer")? {
                0 => None,
                1 => Some(Did::decode_from(r)?),
                tag => return Err(DecodeError::UnknownTag { what: "buyer", tag }),
            },
            payment_id: r.string(PAYMENT_ID_BYTES_MAX, "payment id")?,
            currency: r.string(3, "currency")?,
            items: r.seq(INVOICE_ITEMS_MAX, "items", LineItem::decode_from)?,
            net_total: r.u128("net total")?,
            tax_total: r.u128("tax total")?,
            total: r.u128("total")?,
            issued_height: r.u64("height")?,
            issued_ms: r.u64("time")?,
            reason: r.string(REASON_BYTES_MAX, "reason")?,
        })
    }
}

impl Encode for InvoiceStatus {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            InvoiceStatus::Issued => out.push(0),
            InvoiceStatus::Submitted { employer, height } => {
                out.push(1);
                employer.encode_to(out);
                out.extend_from_slice(&height.to_be_bytes());
            }
            InvoiceStatus::Reimbursed { employer, height } => {
                out.push(2);
                employer.encode_to(out);
                out.extend_from_slice(&height.to_be_bytes());
            }
            InvoiceStatus::Reversed { credit_note, height } => {
                out.push(3);
                out.extend_from_slice(&credit_note.to_be_bytes());
                out.extend_from_slice(&height.to_be_bytes());
            }
            InvoiceStatus::CreditNote => out.push(4),
        }
    }
}

impl Decode for InvoiceStatus {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("invoice status")? {
            0 => InvoiceStatus::Issued,
            1 => InvoiceStatus::Submitted { employer: Did::decode_from(r)?, height: r.u64("height")? },
            2 => InvoiceStatus::Reimbursed { employer: Did::decode_from(r)?, height: r.u64("height")? },
            3 => InvoiceStatus::Reversed { credit_note: r.u64("credit note")?, height: r.u64("height")? },
            4 => InvoiceStatus::CreditNote,
            tag => return Err(DecodeError::UnknownTag { what: "invoice status", tag }),
        })
    }
}

impl Encode for Invoice {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.content.encode_to(out);
        self.hash.encode_to(out);
        self.status.encode_to(out);
    }
}

impl Decode for Invoice {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Invoice {
            content: InvoiceContent::decode_from(r)?,
            hash: Hash::decode_from(r)?,
            status: InvoiceStatus::decode_from(r)?,
        })
    }
}

impl Encode for InvoiceTotals {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.issued_count.to_be_bytes());
        out.extend_from_slice(&self.issued_amount.to_be_bytes());
        out.extend_from_slice(&self.reversed_count.to_be_bytes());
        out.extend_from_slice(&self.reversed_amount.to_be_bytes());
        out.extend_from_slice(&self.reimbursed_count.to_be_bytes());
        out.extend_from_slice(&self.reimbursed_amount.to_be_bytes());
    }
}

impl Decode for InvoiceTotals {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(InvoiceTotals {
            issued_count: r.u64("count")?,
            issued_amount: r.u128("amount")?,
            reversed_count: r.u64("count")?,
            reversed_amount: r.u128("amount")?,
            reimbursed_count: r.u64("count")?,
            reimbursed_amount: r.u128("amount")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text_ok;
    use proptest::prelude::*;

    fn item() -> impl Strategy<Value = LineItem> {
        ("[a-z ]{1,20}", any::<u32>(), any::<u64>(), 0..=TAX_RATE_BP_MAX).prop_map(
            |(description, quantity, unit_price, tax_rate_bp)| LineItem {
                description,
                quantity,
                unit_price: u128::from(unit_price),
                tax_rate_bp,
            },
        )
    }

    proptest! {
        #[test]
        fn invoices_round_trip(
            number in any::<u64>(),
            items in prop::collection::vec(item(), 0..5),
            buyer in prop::option::of(any::<[u8; 20]>()),
            credit in any::<bool>(),
            status in 0u8..5,
        ) {
            let did = Did::from_initial_key(&crate::PublicKey([7; 32]));
            let content = InvoiceContent {
                number,
                kind: if credit { InvoiceKind::Credit { reverses: number / 2 } } else { InvoiceKind::Normal },
                seller: did,
                seller_taxpayer_id: "91310000X".into(),
                buyer_name: "Individual".into(),
                buyer_taxpayer_id: String::new(),
                buyer: buyer.map(|_| did),
                payment_id: "metro-1".into(),
                currency: "CNY".into(),
                items,
                net_total: 1,
                tax_total: 2,
                total: 3,
                issued_height: 4,
                issued_ms: 5,
                reason: String::new(),
            };
            let status = match status {
                0 => InvoiceStatus::Issued,
                1 => InvoiceStatus::Submitted { employer: did, height: 9 },
                2 => InvoiceStatus::Reimbursed { employer: did, height: 9 },
                3 => InvoiceStatus::Reversed { credit_note: 8, height: 9 },
                _ => InvoiceStatus::CreditNote,
            };
            let invoice = Invoice { hash: content.hash(), content, status };
            prop_assert_eq!(Invoice::decode(&invoice.encode()), Ok(invoice));
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = Invoice::decode(&bytes);
            let _ = PaymentRecord::decode(&bytes);
            let _ = InvoiceTotals::decode(&bytes);
        }

        #[test]
        fn tax_per_rate_is_taxable_times_rate_rounded_half_up(items in prop::collection::vec(item(), 1..6)) {
            for (rate, taxable, tax) in tax_breakdown(&items).expect("u32 times u64 fits") {
                let exact = taxable * u128::from(rate);
                prop_assert!(tax * 10_000 <= exact + 5_000 && exact + 5_000 < (tax + 1) * 10_000);
            }
        }
    }

    #[test]
    fn totals_add_lines_and_refuse_overflow() {
        let fare = LineItem { description: "Metro fare".into(), quantity: 2, unit_price: 367, tax_rate_bp: 900 };
        // 734 net; 66.06 tax rounds to 66.
        assert_eq!(totals(std::slice::from_ref(&fare)), Some((734, 66, 800)));
        // Tax is per rate, not per line: two lines of 5 at 9% are 10 taxable, 0.9 -> 1 tax
        // (per line it would be 0.45 -> 0, twice).
        let small = LineItem { description: "Bag".into(), quantity: 1, unit_price: 5, tax_rate_bp: 900 };
        assert_eq!(totals(&[small.clone(), small.clone()]), Some((10, 1, 11)));
        let other = LineItem { tax_rate_bp: 1_300, ..small.clone() };
        assert_eq!(tax_breakdown(&[small, other]), Some(vec![(900, 5, 0), (1_300, 5, 1)]));
        let huge = LineItem { unit_price: u128::MAX, ..fare };
        assert_eq!(totals(&[huge]), None);
    }

    #[test]
    fn field_shapes() {
        assert!(taxpayer_id_ok("91310000MA1FL0001X") && !taxpayer_id_ok("abc") && !taxpayer_id_ok(""));
        assert!(payment_id_ok("metro-2026-000001") && !payment_id_ok("a b") && !payment_id_ok(""));
        assert!(currency_ok("CNY") && !currency_ok("cny") && !currency_ok("YUAN"));
        assert!(text_ok("Metro fare", TEXT_BYTES_MAX) && !text_ok("", 10) && !text_ok("a\nb", 10));
    }
}
