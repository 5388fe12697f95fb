//! E-invoices: one invoice, and invoice totals (the chain's, a merchant's, or a merchant's
//! over days).

use civitas_types::Did;
use civitas_types::codec::Decode as _;
use civitas_types::invoice::{Invoice, InvoiceTotals, TOTALS_KEY, day_totals_key, invoice_key, merchant_totals_key};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Describe, Evidence};
use crate::light::{ProofError, field_hex};
use crate::wire::StateItemJson;

/// Most days an invoice totals proof spans (a leap year).
pub const TOTALS_DAYS_MAX: u64 = 366;

/// An invoice in the state after the block (`civitas invoice show N --prove`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceClaim {
    /// Its number.
    pub number: u64,
    /// The state key, hex.
    pub state_key: String,
    /// The invoice (canonical encoding, hex).
    pub value: String,
    /// The state proof, hex.
    pub state_proof: String,
}

/// Invoice `number` is this record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceFact {
    /// The invoice, its content matching its hash.
    pub invoice: Invoice,
}

impl Claim for InvoiceClaim {
    type Fact = InvoiceFact;

    fn check(&self, at: &Evidence<'_>) -> Result<InvoiceFact, ProofError> {
        let number = self.number;
        let key = field_hex("state_key", &self.state_key)?;
        if key != invoice_key(number) {
            return Err(ProofError::WrongKey(format!("invoice {number}")));
        }
        let value = field_hex("value", &self.value)?;
        let invoice = Invoice::decode(&value).map_err(|e| ProofError::Field("value", e.to_string()))?;
        if invoice.content.number != number || invoice.hash != invoice.content.hash() {
            return Err(ProofError::Field("value", "the invoice's number or hash does not match".into()));
        }
        at.state("state_proof", &self.state_proof, &key, Some(&value))?;
        Ok(InvoiceFact { invoice })
    }
}

impl Describe for InvoiceFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let (invoice, c) = (&self.invoice, &self.invoice.content);
        (
            serde_json::json!({ "kind": "invoice", "invoice": crate::invoice::InvoiceJson::from_invoice(invoice) }),
            format!(
                "invoice {} by {} for payment {}: total {} {} (tax {}), {}, hash {}",
                c.number,
                c.seller,
                c.payment_id,
                c.total,
                c.currency,
                c.tax_total,
                invoice.status.name(),
                invoice.hash
            ),
        )
    }
}

/// Invoice totals in the state after the block: the chain's (no merchant), a merchant's (no
/// days), or a merchant's over days `from_day..=to_day` (one item per day, summed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceTotalsClaim {
    /// The merchant's DID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<String>,
    /// The first day (days since the Unix epoch, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_day: Option<u64>,
    /// The last day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_day: Option<u64>,
    /// The totals records, each with its proof; absent values count as zero.
    pub items: Vec<StateItemJson>,
}

/// These are the invoice totals of the chain, a merchant, or a merchant over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceTotalsFact {
    /// The merchant (none: the whole chain).
    pub merchant: Option<Did>,
    /// The days, if a period.
    pub period: Option<(u64, u64)>,
    /// The totals.
    pub totals: InvoiceTotals,
}

impl Claim for InvoiceTotalsClaim {
    type Fact = InvoiceTotalsFact;

    fn check(&self, at: &Evidence<'_>) -> Result<InvoiceTotalsFact, ProofError> {
        let merchant = self
            .merchant
            .as_deref()
            .map(|m| m.parse::<Did>().map_err(|e| ProofError::Field("merchant", e.to_string())))
            .transpose()?;
        let period = match (self.from_day, self.to_day) {
            (Some(f), Some(t)) if f <= t && t - f < TOTALS_DAYS_MAX => Some((f, t)),
            (None, None) => None,
            _ => return Err(ProofError::Field("from_day", format!("a period is 1 to {TOTALS_DAYS_MAX} days"))),
        };
        let expected: Vec<Vec<u8>> = match (&merchant, period) {
            (None, None) => vec![TOTALS_KEY.to_vec()],
            (Some(m), None) => vec![merchant_totals_key(m)],
            (Some(m), Some((f, t))) => (f..=t).map(|d| day_totals_key(m, d)).collect(),
            (None, Some(_)) => return Err(ProofError::Field("merchant", "a period is a merchant's".into())),
        };
        if self.items.len() != expected.len() {
            return Err(ProofError::Field("items", format!("{} expected", expected.len())));
        }
        let mut totals = InvoiceTotals::default();
        for (item, key) in self.items.iter().zip(&expected) {
            if let Some(v) = at.item("value", item, key, || "invoice totals".into())? {
                totals = totals.plus(InvoiceTotals::decode(&v).map_err(|e| ProofError::Field("value", e.to_string()))?);
            }
        }
        Ok(InvoiceTotalsFact { merchant, period, totals })
    }
}

impl Describe for InvoiceTotalsFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let (merchant, period, totals) = (&self.merchant, self.period, &self.totals);
        let json = crate::invoice::InvoiceTotalsJson::from_totals(totals, merchant.as_ref(), period);
        let whose = match (merchant, period) {
            (None, _) => "all merchants".to_owned(),
            (Some(m), None) => m.to_string(),
            (Some(m), Some((f, t))) => format!("{m}, days {f} to {t}"),
        };
        (
            serde_json::json!({ "kind": "invoice_totals", "totals": json }),
            format!(
                "invoice totals of {whose}: issued {} ({}), reversed {} ({}), reimbursed {} ({})",
                totals.issued_count,
                totals.issued_amount,
                totals.reversed_count,
                totals.reversed_amount,
                totals.reimbursed_count,
                totals.reimbursed_amount
            ),
        )
    }
}
