//! The invoices module's instructions: their one definition, names and canonical encoding.

use super::{LineItem, Payment, PostalAddress};
use crate::Did;
use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_seq};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An instruction of the invoices module (tags 11 to 16 of [`crate::Instruction`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum InvoiceInstruction {
    /// Registers organization `merchant` as a merchant with `taxpayer_id`, by an official of
    /// `by`, a department with the tax function.
    RegisterMerchant {
        /// The merchant (an organization).
        merchant: Did,
        /// Its taxpayer id.
        taxpayer_id: String,
        /// Its postal address.
        address: PostalAddress,
        /// The tax department the signer acts for.
        by: Did,
    },
    /// Records a payment, by an official of the payment provider `by`.
    RecordPayment {
        /// The payment.
        payment: Payment,
        /// The payment provider.
        by: Did,
    },
    /// Issues the invoice of payment `payment_id`, by an official of its payee merchant `by`.
    IssueInvoice {
        /// The payment.
        payment_id: String,
        /// The buyer's name or title.
        buyer_name: String,
        /// The buyer's taxpayer id, or empty.
        #[serde(default)]
        buyer_taxpayer_id: String,
        /// The buyer's DID, if it is on the chain.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        buyer: Option<Did>,
        /// The lines; their total must be the payment's amount.
        items: Vec<LineItem>,
        /// The merchant.
        by: Did,
    },
    /// Submits invoice `number` to `employer` for reimbursement; its buyer signs.
    SubmitInvoice {
        /// The invoice.
        number: u64,
        /// The employer.
        employer: Did,
    },
    /// Reimburses invoice `number`, by an official of the employer `by` it was submitted to.
    ReimburseInvoice {
        /// The invoice.
        number: u64,
        /// The employer.
        by: Did,
    },
    /// Reverses invoice `number` with a red-letter credit note, by an official of its seller
    /// `by`, while it is not reimbursed.
    ReverseInvoice {
        /// The invoice.
        number: u64,
        /// Why.
        reason: String,
        /// The seller.
        by: Did,
    },
}

impl crate::ModuleInstruction for InvoiceInstruction {
    const MODULE: &'static str = "invoices";
    const NAMES: &'static [&'static str] = &[
        "register_merchant",
        "record_payment",
        "issue_invoice",
        "submit_invoice",
        "reimburse_invoice",
        "reverse_invoice",
    ];

    fn tag(&self) -> u8 {
        match self {
            InvoiceInstruction::RegisterMerchant { .. } => 0,
            InvoiceInstruction::RecordPayment { .. } => 1,
            InvoiceInstruction::IssueInvoice { .. } => 2,
            InvoiceInstruction::SubmitInvoice { .. } => 3,
            InvoiceInstruction::ReimburseInvoice { .. } => 4,
            InvoiceInstruction::ReverseInvoice { .. } => 5,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        match self {
            InvoiceInstruction::RegisterMerchant { merchant, taxpayer_id, address, by } => {
                merchant.encode_to(out);
                put_bytes(out, taxpayer_id.as_bytes());
                address.encode_to(out);
                by.encode_to(out);
            }
            InvoiceInstruction::RecordPayment { payment, by } => {
                payment.encode_to(out);
                by.encode_to(out);
            }
            InvoiceInstruction::IssueInvoice { payment_id, buyer_name, buyer_taxpayer_id, buyer, items, by } => {
                put_bytes(out, payment_id.as_bytes());
                put_bytes(out, buyer_name.as_bytes());
                put_bytes(out, buyer_taxpayer_id.as_bytes());
                match buyer {
                    None => out.push(0),
                    Some(d) => {
                        out.push(1);
                        d.encode_to(out);
                    }
                }
                put_seq(out, items);
                by.encode_to(out);
            }
            InvoiceInstruction::SubmitInvoice { number, employer } => {
                out.extend_from_slice(&number.to_be_bytes());
                employer.encode_to(out);
            }
            InvoiceInstruction::ReimburseInvoice { number, by } => {
                out.extend_from_slice(&number.to_be_bytes());
                by.encode_to(out);
            }
            InvoiceInstruction::ReverseInvoice { number, reason, by } => {
                out.extend_from_slice(&number.to_be_bytes());
                put_bytes(out, reason.as_bytes());
                by.encode_to(out);
            }
        }
    }

    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match tag {
            0 => InvoiceInstruction::RegisterMerchant {
                merchant: Did::decode_from(r)?,
                taxpayer_id: r.string(crate::invoice::TAXPAYER_ID_BYTES_MAX, "taxpayer id")?,
                address: PostalAddress::decode_from(r)?,
                by: Did::decode_from(r)?,
            },
            1 => InvoiceInstruction::RecordPayment { payment: Payment::decode_from(r)?, by: Did::decode_from(r)? },
            2 => InvoiceInstruction::IssueInvoice {
                payment_id: r.string(crate::invoice::PAYMENT_ID_BYTES_MAX, "payment id")?,
                buyer_name: r.string(crate::invoice::TEXT_BYTES_MAX, "buyer name")?,
                buyer_taxpayer_id: r.string(crate::invoice::TAXPAYER_ID_BYTES_MAX, "buyer taxpayer id")?,
                buyer: match r.u8("buyer")? {
                    0 => None,
                    1 => Some(Did::decode_from(r)?),
                    tag => return Err(DecodeError::UnknownTag { what: "buyer", tag }),
                },
                items: r.seq(crate::invoice::INVOICE_ITEMS_MAX, "items", LineItem::decode_from)?,
                by: Did::decode_from(r)?,
            },
            3 => InvoiceInstruction::SubmitInvoice { number: r.u64("number")?, employer: Did::decode_from(r)? },
            4 => InvoiceInstruction::ReimburseInvoice { number: r.u64("number")?, by: Did::decode_from(r)? },
            5 => InvoiceInstruction::ReverseInvoice {
                number: r.u64("number")?,
                reason: r.string(crate::invoice::REASON_BYTES_MAX, "reason")?,
                by: Did::decode_from(r)?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "invoices instruction", tag }),
        })
    }
}

#[cfg(test)]
use proptest::prelude::*;

#[cfg(test)]
impl InvoiceInstruction {
    /// Any instruction of this module, for property tests.
    pub(crate) fn arbitrary() -> BoxedStrategy<InvoiceInstruction> {
        use crate::{Hash, PublicKey};
        (any::<[u8; 32]>(), any::<u64>(), "[ -~]{1,20}", any::<u128>(), 0u8..6)
            .prop_map(|(k, n, text, amount, which)| {
                let by = Did::from_initial_key(&PublicKey(k));
                match which {
                    0 => InvoiceInstruction::RegisterMerchant {
                        merchant: by,
                        taxpayer_id: text.clone(),
                        address: PostalAddress {
                            street: text.clone(),
                            city: text,
                            postal_code: String::new(),
                            country: "CN".into(),
                        },
                        by,
                    },
                    1 => InvoiceInstruction::RecordPayment {
                        payment: Payment {
                            id: text.clone(),
                            payee: by,
                            amount,
                            currency: "CNY".into(),
                            paid_at_ms: n,
                            channel: text,
                            payer_commitment: Hash(k),
                        },
                        by,
                    },
                    2 => InvoiceInstruction::IssueInvoice {
                        payment_id: text.clone(),
                        buyer_name: text.clone(),
                        buyer_taxpayer_id: String::new(),
                        buyer: (n % 2 == 0).then_some(by),
                        items: vec![LineItem {
                            description: text,
                            quantity: n as u32,
                            unit_price: amount,
                            tax_rate_bp: 900,
                        }],
                        by,
                    },
                    3 => InvoiceInstruction::SubmitInvoice { number: n, employer: by },
                    4 => InvoiceInstruction::ReimburseInvoice { number: n, by },
                    _ => InvoiceInstruction::ReverseInvoice { number: n, reason: text, by },
                }
            })
            .boxed()
    }
}
