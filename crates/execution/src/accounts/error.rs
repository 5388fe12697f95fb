//! Why an instruction of accounts and the currency failed: this module's errors, each with a stable code.
//! They reach receipts and clients as [`crate::ModuleError::Accounts`], unchanged.

use civitas_types::Amount;

/// A failure particular to accounts and the currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A registration that is not the transaction's first instruction.
    #[error("register_account must be the first instruction")]
    RegisterNotFirst,
    /// The signer has less than the amount.
    #[error("balance {balance} is less than {amount}")]
    InsufficientFunds {
        /// The signer's balance.
        balance: Amount,
        /// The amount asked for.
        amount: Amount,
    },
    /// Amounts must be positive.
    #[error("amount must be greater than zero")]
    ZeroAmount,
    /// A balance or the supply would overflow.
    #[error("amount overflows the receiving balance or the supply")]
    Overflow,
    /// The new key did not sign the rotation message.
    #[error("the new key's proof of possession does not verify")]
    BadRotationProof,
    /// The new key already belongs to an account.
    #[error("the new key already belongs to an account")]
    KeyInUse,
}

impl Error {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::RegisterNotFirst => "register_not_first",
            Error::InsufficientFunds { .. } => "insufficient_funds",
            Error::ZeroAmount => "zero_amount",
            Error::Overflow => "overflow",
            Error::BadRotationProof => "bad_rotation_proof",
            Error::KeyInUse => "key_in_use",
        }
    }
}
