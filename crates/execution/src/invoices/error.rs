//! Why an instruction of e-invoices failed: this module's errors, each with a stable code.
//! They reach receipts and clients as [`crate::ModuleError::Invoices`], unchanged.

use civitas_types::Did;

/// A failure particular to e-invoices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The organization is not a registered merchant.
    #[error("{0} is not a registered merchant")]
    NotAMerchant(Did),
    /// Another merchant holds the taxpayer id.
    #[error("taxpayer id {0} is registered to another merchant")]
    TaxpayerIdTaken(String),
    /// A payment with this id is already recorded.
    #[error("payment {0} is already recorded")]
    DuplicatePayment(String),
    /// No payment with this id is recorded.
    #[error("no payment {0} is recorded")]
    UnknownPayment(String),
    /// The payment already has its invoice.
    #[error("payment {payment} already has invoice {invoice}")]
    AlreadyInvoiced {
        /// The payment.
        payment: String,
        /// Its invoice.
        invoice: u64,
    },
    /// The invoice is issued by someone other than the payment's payee.
    #[error("the payment's payee is {payee}, not {by}")]
    WrongMerchant {
        /// The payee.
        payee: Did,
        /// Who tried.
        by: Did,
    },
    /// The items do not add up to the payment's amount.
    #[error("the items total {items}, the payment is {payment}")]
    AmountMismatch {
        /// The items' total.
        items: u128,
        /// The payment's amount.
        payment: u128,
    },
    /// No invoice with this number.
    #[error("no invoice {0}")]
    UnknownInvoice(u64),
    /// The invoice is not in a state that allows this.
    #[error("invoice {number} is {status}")]
    InvoiceState {
        /// The invoice.
        number: u64,
        /// Where it stands.
        status: &'static str,
    },
    /// Only the invoice's buyer may submit it.
    #[error("only the invoice's buyer may submit it")]
    NotTheBuyer,
}

impl Error {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotAMerchant(_) => "not_a_merchant",
            Error::TaxpayerIdTaken(_) => "taxpayer_id_taken",
            Error::DuplicatePayment(_) => "duplicate_payment",
            Error::UnknownPayment(_) => "unknown_payment",
            Error::AlreadyInvoiced { .. } => "already_invoiced",
            Error::WrongMerchant { .. } => "wrong_merchant",
            Error::AmountMismatch { .. } => "amount_mismatch",
            Error::UnknownInvoice(_) => "unknown_invoice",
            Error::InvoiceState { status: "reimbursed", .. } => "already_reimbursed",
            Error::InvoiceState { status: "submitted", .. } => "already_claimed",
            Error::InvoiceState { .. } => "invoice_closed",
            Error::NotTheBuyer => "not_the_buyer",
        }
    }
}
