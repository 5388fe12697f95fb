//! Why a transaction failed. Each variant has a stable code that clients can match on.

use civitas_types::{Amount, Did};

use crate::BlockContext;

/// A transaction's failure: recorded in its receipt, changes nothing else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The block is past the transaction's `valid_until_height`.
    #[error("transaction expired at height {valid_until_height}; the block is at {height}")]
    Expired {
        /// The transaction's last valid height.
        valid_until_height: u64,
        /// The block's height.
        height: u64,
    },
    /// No account has the signing key, and the transaction does not register one.
    #[error("no account has the signing key; register first")]
    UnknownSigner,
    /// The nonce is not the signer's next.
    #[error("nonce {found} is not the signer's next nonce {expected}")]
    BadNonce {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's.
        found: u64,
    },
    /// The signer's key already has an account.
    #[error("an account with this key is already registered")]
    AlreadyRegistered,
    /// A registration that is not the transaction's first instruction.
    #[error("register_account must be the first instruction")]
    RegisterNotFirst,
    /// The named account does not exist.
    #[error("no account {0}")]
    UnknownAccount(Did),
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
    /// The signer lacks the role the instruction needs.
    #[error("permission denied: requires the `{0}` role")]
    PermissionDenied(&'static str),
    /// The new key did not sign the rotation message.
    #[error("the new key's proof of possession does not verify")]
    BadRotationProof,
    /// The new key already belongs to an account.
    #[error("the new key already belongs to an account")]
    KeyInUse,
    /// No account, hence no DID, with this id.
    #[error("no DID {0} on this chain")]
    UnknownDid(Did),
    /// The DID was deactivated and can no longer act or change.
    #[error("DID {0} is deactivated")]
    DidDeactivated(Did),
    /// The signer is neither the DID nor one of its controllers.
    #[error("the signer is neither {0} nor one of its controllers")]
    NotController(Did),
    /// The new DID document is invalid.
    #[error("invalid DID document: {0}")]
    BadDocument(#[from] civitas_types::did_doc::DocumentError),
    /// The DID has no recovery key, or the revealed key is not the registered one.
    #[error("the revealed key is not {0}'s registered recovery key")]
    BadRecoveryKey(Did),
    /// The recovery key did not sign the recovery message for this signer.
    #[error("the recovery key's signature over the recovery message does not verify")]
    BadRecoveryProof,
    /// An instruction that must come first does not.
    #[error("{0} must be the first instruction")]
    MustBeFirst(&'static str),
    /// The signer is not an official of the organization.
    #[error("the signer is not an official of {0}")]
    NotAnOfficial(Did),
    /// No organization with this DID.
    #[error("{0} is not an organization")]
    UnknownOrganization(Did),
    /// A name is empty, too long or has control characters.
    #[error("a name is 1 to 128 bytes without control characters")]
    BadName,
    /// The department is not on the council.
    #[error("{0} is not a council member")]
    NotACouncilMember(Did),
    /// No proposal with this number.
    #[error("no proposal {0}")]
    UnknownProposal(u64),
    /// The proposal already passed or failed.
    #[error("proposal {0} is closed")]
    ProposalClosed(u64),
    /// The proposal expired before this approval.
    #[error("proposal {id} expired at height {expired_at}")]
    ProposalExpired {
        /// The proposal.
        id: u64,
        /// Its last open height.
        expired_at: u64,
    },
    /// The member already approved.
    #[error("{0} already approved this proposal")]
    AlreadyApproved(Did),
    /// A proposal's lifetime is 0 or too long.
    #[error("a proposal stays open 1 to {0} blocks")]
    BadTtl(u64),
    /// A threshold outside 1 to the number of members.
    #[error("threshold {threshold} is not between 1 and the {members} members")]
    BadThreshold {
        /// The threshold asked for.
        threshold: u32,
        /// How many members there are.
        members: usize,
    },
    /// A validator-set change that cannot be made.
    #[error("validator set: {0}")]
    BadValidatorChange(&'static str),
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
    /// A field of an invoice or payment is malformed.
    #[error("malformed {0}")]
    BadField(&'static str),
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
    /// The issuer is not accredited for the credential type.
    #[error("{issuer} is not accredited to issue `{vct}`")]
    NotAccredited {
        /// The issuer.
        issuer: Did,
        /// The type.
        vct: String,
    },
    /// The issuer has not defined this credential type.
    #[error("no credential type `{0}` is defined by this issuer")]
    UnknownCredentialType(String),
    /// The status list entry is taken, or out of range.
    #[error("status list entry {0} is taken or out of range")]
    StatusIndex(u32),
    /// No credential is anchored at this status list entry.
    #[error("no credential is anchored at status list entry {0}")]
    Unanchored(u32),
    /// A revoked credential's status cannot change.
    #[error("the credential is revoked for good")]
    Revoked,
    /// No such consent.
    #[error("no consent {0}")]
    UnknownConsent(u64),
    /// The consent cannot be used or changed: withdrawn, expired, used up, awaiting the
    /// issuer's approval, or already approved.
    #[error("consent {id} is {why}")]
    ConsentUnusable {
        /// The consent.
        id: u64,
        /// Why (a stable code).
        why: &'static str,
    },
    /// The consent does not cover this verification.
    #[error("consent does not cover this: {0}")]
    ConsentMismatch(&'static str),
    /// Only the consent's holder may do this.
    #[error("only the holder may change this consent")]
    NotTheHolder,
    /// The issuer's policy forbids it.
    #[error("the issuer's policy forbids it: {0}")]
    PolicyForbids(&'static str),
    /// A passed proposal's action could not execute.
    #[error("the proposal passed but its action failed: {0}")]
    ActionFailed(Box<ExecError>),
    /// An instruction failed; wraps the cause with where it happened.
    #[error("instruction {index} failed at height {height}: {cause}")]
    AtInstruction {
        /// The instruction's index in the transaction.
        index: usize,
        /// The block's height.
        height: u64,
        /// What went wrong.
        cause: Box<ExecError>,
    },
}

impl ExecError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ExecError::Expired { .. } => "expired",
            ExecError::UnknownSigner => "unknown_signer",
            ExecError::BadNonce { .. } => "bad_nonce",
            ExecError::AlreadyRegistered => "already_registered",
            ExecError::RegisterNotFirst => "register_not_first",
            ExecError::UnknownAccount(_) => "unknown_account",
            ExecError::InsufficientFunds { .. } => "insufficient_funds",
            ExecError::ZeroAmount => "zero_amount",
            ExecError::Overflow => "overflow",
            ExecError::PermissionDenied(_) => "permission_denied",
            ExecError::BadRotationProof => "bad_rotation_proof",
            ExecError::KeyInUse => "key_in_use",
            ExecError::UnknownDid(_) => "unknown_did",
            ExecError::DidDeactivated(_) => "did_deactivated",
            ExecError::NotController(_) => "not_controller",
            ExecError::BadDocument(_) => "bad_document",
            ExecError::BadRecoveryKey(_) => "bad_recovery_key",
            ExecError::BadRecoveryProof => "bad_recovery_proof",
            ExecError::MustBeFirst(_) => "must_be_first",
            ExecError::NotAnOfficial(_) => "not_an_official",
            ExecError::UnknownOrganization(_) => "unknown_organization",
            ExecError::BadName => "bad_name",
            ExecError::NotACouncilMember(_) => "not_a_council_member",
            ExecError::UnknownProposal(_) => "unknown_proposal",
            ExecError::ProposalClosed(_) => "proposal_closed",
            ExecError::ProposalExpired { .. } => "proposal_expired",
            ExecError::AlreadyApproved(_) => "already_approved",
            ExecError::BadTtl(_) => "bad_ttl",
            ExecError::BadThreshold { .. } => "bad_threshold",
            ExecError::BadValidatorChange(_) => "bad_validator_change",
            ExecError::NotAMerchant(_) => "not_a_merchant",
            ExecError::TaxpayerIdTaken(_) => "taxpayer_id_taken",
            ExecError::DuplicatePayment(_) => "duplicate_payment",
            ExecError::UnknownPayment(_) => "unknown_payment",
            ExecError::AlreadyInvoiced { .. } => "already_invoiced",
            ExecError::WrongMerchant { .. } => "wrong_merchant",
            ExecError::AmountMismatch { .. } => "amount_mismatch",
            ExecError::BadField(_) => "bad_field",
            ExecError::UnknownInvoice(_) => "unknown_invoice",
            ExecError::InvoiceState { status: "reimbursed", .. } => "already_reimbursed",
            ExecError::InvoiceState { status: "submitted", .. } => "already_claimed",
            ExecError::InvoiceState { .. } => "invoice_closed",
            ExecError::NotTheBuyer => "not_the_buyer",
            ExecError::NotAccredited { .. } => "not_accredited",
            ExecError::UnknownCredentialType(_) => "unknown_credential_type",
            ExecError::StatusIndex(_) => "bad_status_index",
            ExecError::Unanchored(_) => "unanchored_credential",
            ExecError::Revoked => "credential_revoked",
            ExecError::UnknownConsent(_) => "unknown_consent",
            ExecError::ConsentUnusable { why, .. } => why,
            ExecError::ConsentMismatch(_) => "consent_mismatch",
            ExecError::NotTheHolder => "not_the_holder",
            ExecError::PolicyForbids(_) => "policy_forbids",
            ExecError::ActionFailed(cause) => cause.code(),
            ExecError::AtInstruction { cause, .. } => cause.code(),
        }
    }

    pub(crate) fn at_instruction(self, index: usize, ctx: BlockContext) -> ExecError {
        ExecError::AtInstruction { index, height: ctx.height, cause: Box::new(self) }
    }
}
