//! Transactions: what a signer asks the ledger to do, signed over its canonical bytes.

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_seq};
use crate::council::CouncilAction;
use crate::credential::{self, CredentialPolicy, CredentialStatus};
use crate::crypto::{Hash, PublicKey, SecretKey, Signature, verify_batch};
use crate::did::Did;
use crate::did_doc::DidDocumentData;
use crate::invoice::{LineItem, Payment};
use crate::limits;
use crate::org::{OrgKind, OrgRole};

/// An amount of the city's accounting currency, in minor units.
pub type Amount = u128;

/// A role an account holds. Roles are granted at genesis (later, by the council); everything
/// not granted is denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The finance bureau: may create currency.
    Finance,
}

impl Role {
    /// The role's stable name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Finance => "finance",
        }
    }

    /// The role with this name.
    pub fn from_name(name: &str) -> Option<Role> {
        match name {
            "finance" => Some(Role::Finance),
            _ => None,
        }
    }
}

impl Encode for Role {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(match self {
            Role::Finance => 0,
        });
    }
}

impl Decode for Role {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("role")? {
            0 => Ok(Role::Finance),
            tag => Err(DecodeError::UnknownTag { what: "role", tag }),
        }
    }
}

/// One step of a transaction. The set is closed: a new capability is a new variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// Creates the signer's account; its DID is derived from the signing key.
    RegisterAccount,
    /// Replaces the signer's key. `proof` is the new key's signature over
    /// [`Instruction::rotation_message`], showing the signer holds it.
    RotateKey {
        /// The key that will sign from now on.
        new_key: PublicKey,
        /// The new key's signature over the rotation message.
        proof: Signature,
    },
    /// Moves currency from the signer to `to`.
    Transfer {
        /// The receiving account.
        to: Did,
        /// How much, in minor units.
        amount: Amount,
    },
    /// Creates currency in `to`'s account. Finance role only.
    Mint {
        /// The receiving account.
        to: Did,
        /// How much, in minor units.
        amount: Amount,
    },
    /// Replaces the settable part of `did`'s DID document. The DID itself or one of its
    /// controllers signs.
    UpdateDid {
        /// The DID whose document changes.
        did: Did,
        /// The new document (the account key stays `#key-0`).
        document: DidDocumentData,
    },
    /// Deactivates `did` for good: it can no longer act. The DID itself or a controller signs.
    DeactivateDid {
        /// The DID to deactivate.
        did: Did,
    },
    /// Moves `did` to the transaction's signing key, authorized by the recovery key whose hash
    /// the document holds. The new key signs the transaction (with `did`'s next nonce); the
    /// recovery key signs [`Instruction::recovery_message`]. The recovery key is then spent.
    RecoverDid {
        /// The DID to recover.
        did: Did,
        /// The recovery key, revealed.
        recovery_key: PublicKey,
        /// Its signature over the recovery message.
        proof: Signature,
    },
    /// Registers the account `org` as an organization of `kind`, by an official of the
    /// organization `by` (a company or employer: the market-regulation department).
    RegisterOrganization {
        /// The organization's account.
        org: Did,
        /// Its kind.
        kind: OrgKind,
        /// Its name.
        name: String,
        /// The organization the signer acts for.
        by: Did,
    },
    /// Makes `member` an official of `org` with `role`, or removes it (`None`). An admin of
    /// `org` signs.
    SetMember {
        /// The organization.
        org: Did,
        /// The official's DID.
        member: Did,
        /// The role, or `None` to remove.
        role: Option<OrgRole>,
    },
    /// Proposes a council action, approved at once by the proposing member department `by`
    /// (an admin of it signs). It passes when the threshold of members approve within
    /// `ttl_blocks`.
    Propose {
        /// What passes.
        action: CouncilAction,
        /// How many blocks it stays open (at most `PROPOSAL_TTL_MAX`).
        ttl_blocks: u64,
        /// The member department proposing.
        by: Did,
    },
    /// Approves proposal `proposal` for member department `by` (an admin of it signs); the
    /// approval that reaches the threshold executes it.
    Approve {
        /// The proposal's number.
        proposal: u64,
        /// The member department approving.
        by: Did,
    },
    /// Registers organization `merchant` as a merchant with `taxpayer_id`, by an official of
    /// `by`, a department with the tax function.
    RegisterMerchant {
        /// The merchant (an organization).
        merchant: Did,
        /// Its taxpayer id.
        taxpayer_id: String,
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
        buyer_taxpayer_id: String,
        /// The buyer's DID, if it is on the chain.
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
    /// Defines (or redefines) credential type `vct` of issuer `by`: its claims' JSON Schema and
    /// its policy. An official of an issuer the council accredited for `vct` signs.
    DefineCredentialType {
        /// The type.
        vct: String,
        /// The JSON Schema of its claims.
        schema: String,
        /// Its policy.
        policy: CredentialPolicy,
        /// The issuer.
        by: Did,
    },
    /// Anchors an issued credential of type `vct`: a commitment to it at an unused entry of the
    /// issuer's status list. An official of the issuer `by` signs.
    AnchorCredential {
        /// The type.
        vct: String,
        /// SHA-256 of the credential's issuer-signed JWT.
        commitment: Hash,
        /// Its status list entry.
        status_index: u32,
        /// The issuer.
        by: Did,
    },
    /// Sets the status of the credential at `status_index` (revocation is final). An official
    /// of the issuer `by` signs.
    SetCredentialStatus {
        /// Its status list entry.
        status_index: u32,
        /// The new status.
        status: CredentialStatus,
        /// The issuer.
        by: Did,
    },
    /// The signer (a holder) consents that `verifier` see `claims` of its credentials of type
    /// `vct` from `issuer`, for `purpose`, at most `max_uses` times within `ttl_blocks`.
    GrantConsent {
        /// The verifier organization.
        verifier: Did,
        /// The issuer.
        issuer: Did,
        /// The type.
        vct: String,
        /// Why.
        purpose: String,
        /// The claims it may see.
        claims: Vec<String>,
        /// How many blocks it lasts.
        ttl_blocks: u64,
        /// How many verifications it allows.
        max_uses: u32,
    },
    /// The issuer approves consent `consent` (where its policy requires approval).
    ApproveConsent {
        /// The consent.
        consent: u64,
        /// The issuer.
        by: Did,
    },
    /// The holder withdraws consent `consent`.
    WithdrawConsent {
        /// The consent.
        consent: u64,
    },
    /// Records a verification in the access log (and uses its consent, if it succeeded). An
    /// official of the verifier `by` signs.
    RecordAccess {
        /// The credential's issuer.
        issuer: Did,
        /// Its type.
        vct: String,
        /// Why.
        purpose: String,
        /// The consent it was made under.
        consent: Option<u64>,
        /// The holder as a commitment.
        holder_ref: Hash,
        /// The presentation as a commitment.
        presentation: Hash,
        /// The disclosed claims' names.
        disclosed: Vec<String>,
        /// `ok` or why it failed.
        outcome: String,
        /// The verifier.
        by: Did,
    },
}

impl Instruction {
    /// What the new key signs to prove possession when `did` rotates to it.
    pub fn rotation_message(did: &Did, new_key: &PublicKey) -> Vec<u8> {
        let mut m = b"civitas/rotate-key/v1\0".to_vec();
        did.encode_to(&mut m);
        new_key.encode_to(&mut m);
        m
    }

    /// Every instruction's name, in tag order.
    pub const NAMES: &'static [&'static str] = &[
        "register_account",
        "rotate_key",
        "transfer",
        "mint",
        "update_did",
        "deactivate_did",
        "recover_did",
        "register_organization",
        "set_member",
        "propose",
        "approve",
        "register_merchant",
        "record_payment",
        "issue_invoice",
        "submit_invoice",
        "reimburse_invoice",
        "reverse_invoice",
        "define_credential_type",
        "anchor_credential",
        "set_credential_status",
        "grant_consent",
        "approve_consent",
        "withdraw_consent",
        "record_access",
    ];

    /// The instruction's stable name, as used in JSON and receipts.
    pub fn name(&self) -> &'static str {
        match self {
            Instruction::RegisterAccount => "register_account",
            Instruction::RotateKey { .. } => "rotate_key",
            Instruction::Transfer { .. } => "transfer",
            Instruction::Mint { .. } => "mint",
            Instruction::UpdateDid { .. } => "update_did",
            Instruction::DeactivateDid { .. } => "deactivate_did",
            Instruction::RecoverDid { .. } => "recover_did",
            Instruction::RegisterOrganization { .. } => "register_organization",
            Instruction::SetMember { .. } => "set_member",
            Instruction::Propose { .. } => "propose",
            Instruction::Approve { .. } => "approve",
            Instruction::RegisterMerchant { .. } => "register_merchant",
            Instruction::RecordPayment { .. } => "record_payment",
            Instruction::IssueInvoice { .. } => "issue_invoice",
            Instruction::SubmitInvoice { .. } => "submit_invoice",
            Instruction::ReimburseInvoice { .. } => "reimburse_invoice",
            Instruction::ReverseInvoice { .. } => "reverse_invoice",
            Instruction::DefineCredentialType { .. } => "define_credential_type",
            Instruction::AnchorCredential { .. } => "anchor_credential",
            Instruction::SetCredentialStatus { .. } => "set_credential_status",
            Instruction::GrantConsent { .. } => "grant_consent",
            Instruction::ApproveConsent { .. } => "approve_consent",
            Instruction::WithdrawConsent { .. } => "withdraw_consent",
            Instruction::RecordAccess { .. } => "record_access",
        }
    }

    /// What a recovery key signs to move `did` to `new_key`.
    pub fn recovery_message(did: &Did, new_key: &PublicKey) -> Vec<u8> {
        let mut out = b"civitas/did-recovery/v1\0".to_vec();
        did.encode_to(&mut out);
        new_key.encode_to(&mut out);
        out
    }
}

fn put_strings(out: &mut Vec<u8>, items: &[String]) {
    crate::codec::put_len(out, items.len());
    for s in items {
        put_bytes(out, s.as_bytes());
    }
}

impl Encode for Instruction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Instruction::RegisterAccount => out.push(0),
            Instruction::RotateKey { new_key, proof } => {
                out.push(1);
                new_key.encode_to(out);
                proof.encode_to(out);
            }
            Instruction::Transfer { to, amount } => {
                out.push(2);
                to.encode_to(out);
                out.extend_from_slice(&amount.to_be_bytes());
            }
            Instruction::Mint { to, amount } => {
                out.push(3);
                to.encode_to(out);
                out.extend_from_slice(&amount.to_be_bytes());
            }
            Instruction::UpdateDid { did, document } => {
                out.push(4);
                did.encode_to(out);
                document.encode_to(out);
            }
            Instruction::DeactivateDid { did } => {
                out.push(5);
                did.encode_to(out);
            }
            Instruction::RecoverDid { did, recovery_key, proof } => {
                out.push(6);
                did.encode_to(out);
                recovery_key.encode_to(out);
                proof.encode_to(out);
            }
            Instruction::RegisterOrganization { org, kind, name, by } => {
                out.push(7);
                org.encode_to(out);
                kind.encode_to(out);
                put_bytes(out, name.as_bytes());
                by.encode_to(out);
            }
            Instruction::SetMember { org, member, role } => {
                out.push(8);
                org.encode_to(out);
                member.encode_to(out);
                match role {
                    None => out.push(0),
                    Some(r) => {
                        out.push(1);
                        r.encode_to(out);
                    }
                }
            }
            Instruction::Propose { action, ttl_blocks, by } => {
                out.push(9);
                action.encode_to(out);
                out.extend_from_slice(&ttl_blocks.to_be_bytes());
                by.encode_to(out);
            }
            Instruction::Approve { proposal, by } => {
                out.push(10);
                out.extend_from_slice(&proposal.to_be_bytes());
                by.encode_to(out);
            }
            Instruction::RegisterMerchant { merchant, taxpayer_id, by } => {
                out.push(11);
                merchant.encode_to(out);
                put_bytes(out, taxpayer_id.as_bytes());
                by.encode_to(out);
            }
            Instruction::RecordPayment { payment, by } => {
                out.push(12);
                payment.encode_to(out);
                by.encode_to(out);
            }
            Instruction::IssueInvoice { payment_id, buyer_name, buyer_taxpayer_id, buyer, items, by } => {
                out.push(13);
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
            Instruction::SubmitInvoice { number, employer } => {
                out.push(14);
                out.extend_from_slice(&number.to_be_bytes());
                employer.encode_to(out);
            }
            Instruction::ReimburseInvoice { number, by } => {
                out.push(15);
                out.extend_from_slice(&number.to_be_bytes());
                by.encode_to(out);
            }
            Instruction::ReverseInvoice { number, reason, by } => {
                out.push(16);
                out.extend_from_slice(&number.to_be_bytes());
                put_bytes(out, reason.as_bytes());
                by.encode_to(out);
            }
            Instruction::DefineCredentialType { vct, schema, policy, by } => {
                out.push(17);
                put_bytes(out, vct.as_bytes());
                put_bytes(out, schema.as_bytes());
                policy.encode_to(out);
                by.encode_to(out);
            }
            Instruction::AnchorCredential { vct, commitment, status_index, by } => {
                out.push(18);
                put_bytes(out, vct.as_bytes());
                commitment.encode_to(out);
                out.extend_from_slice(&status_index.to_be_bytes());
                by.encode_to(out);
            }
            Instruction::SetCredentialStatus { status_index, status, by } => {
                out.push(19);
                out.extend_from_slice(&status_index.to_be_bytes());
                out.push(*status as u8);
                by.encode_to(out);
            }
            Instruction::GrantConsent { verifier, issuer, vct, purpose, claims, ttl_blocks, max_uses } => {
                out.push(20);
                verifier.encode_to(out);
                issuer.encode_to(out);
                put_bytes(out, vct.as_bytes());
                put_bytes(out, purpose.as_bytes());
                put_strings(out, claims);
                out.extend_from_slice(&ttl_blocks.to_be_bytes());
                out.extend_from_slice(&max_uses.to_be_bytes());
            }
            Instruction::ApproveConsent { consent, by } => {
                out.push(21);
                out.extend_from_slice(&consent.to_be_bytes());
                by.encode_to(out);
            }
            Instruction::WithdrawConsent { consent } => {
                out.push(22);
                out.extend_from_slice(&consent.to_be_bytes());
            }
            Instruction::RecordAccess {
                issuer,
                vct,
                purpose,
                consent,
                holder_ref,
                presentation,
                disclosed,
                outcome,
                by,
            } => {
                out.push(23);
                issuer.encode_to(out);
                put_bytes(out, vct.as_bytes());
                put_bytes(out, purpose.as_bytes());
                match consent {
                    None => out.push(0),
                    Some(c) => {
                        out.push(1);
                        out.extend_from_slice(&c.to_be_bytes());
                    }
                }
                holder_ref.encode_to(out);
                presentation.encode_to(out);
                put_strings(out, disclosed);
                put_bytes(out, outcome.as_bytes());
                by.encode_to(out);
            }
        }
    }
}

impl Decode for Instruction {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("instruction")? {
            0 => Instruction::RegisterAccount,
            1 => Instruction::RotateKey { new_key: PublicKey::decode_from(r)?, proof: Signature::decode_from(r)? },
            2 => Instruction::Transfer { to: Did::decode_from(r)?, amount: r.u128("amount")? },
            3 => Instruction::Mint { to: Did::decode_from(r)?, amount: r.u128("amount")? },
            4 => Instruction::UpdateDid { did: Did::decode_from(r)?, document: DidDocumentData::decode_from(r)? },
            5 => Instruction::DeactivateDid { did: Did::decode_from(r)? },
            6 => Instruction::RecoverDid {
                did: Did::decode_from(r)?,
                recovery_key: PublicKey::decode_from(r)?,
                proof: Signature::decode_from(r)?,
            },
            7 => Instruction::RegisterOrganization {
                org: Did::decode_from(r)?,
                kind: OrgKind::decode_from(r)?,
                name: r.string(crate::org::ORG_NAME_BYTES_MAX, "organization name")?,
                by: Did::decode_from(r)?,
            },
            8 => Instruction::SetMember {
                org: Did::decode_from(r)?,
                member: Did::decode_from(r)?,
                role: match r.u8("role")? {
                    0 => None,
                    1 => Some(OrgRole::decode_from(r)?),
                    tag => return Err(DecodeError::UnknownTag { what: "role", tag }),
                },
            },
            9 => Instruction::Propose {
                action: CouncilAction::decode_from(r)?,
                ttl_blocks: r.u64("ttl")?,
                by: Did::decode_from(r)?,
            },
            10 => Instruction::Approve { proposal: r.u64("proposal")?, by: Did::decode_from(r)? },
            11 => Instruction::RegisterMerchant {
                merchant: Did::decode_from(r)?,
                taxpayer_id: r.string(crate::invoice::TAXPAYER_ID_BYTES_MAX, "taxpayer id")?,
                by: Did::decode_from(r)?,
            },
            12 => Instruction::RecordPayment { payment: Payment::decode_from(r)?, by: Did::decode_from(r)? },
            13 => Instruction::IssueInvoice {
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
            14 => Instruction::SubmitInvoice { number: r.u64("number")?, employer: Did::decode_from(r)? },
            15 => Instruction::ReimburseInvoice { number: r.u64("number")?, by: Did::decode_from(r)? },
            16 => Instruction::ReverseInvoice {
                number: r.u64("number")?,
                reason: r.string(crate::invoice::REASON_BYTES_MAX, "reason")?,
                by: Did::decode_from(r)?,
            },
            17 => Instruction::DefineCredentialType {
                vct: r.string(credential::VCT_BYTES_MAX, "vct")?,
                schema: r.string(credential::SCHEMA_BYTES_MAX, "schema")?,
                policy: CredentialPolicy::decode_from(r)?,
                by: Did::decode_from(r)?,
            },
            18 => Instruction::AnchorCredential {
                vct: r.string(credential::VCT_BYTES_MAX, "vct")?,
                commitment: Hash::decode_from(r)?,
                status_index: r.u32("status index")?,
                by: Did::decode_from(r)?,
            },
            19 => Instruction::SetCredentialStatus {
                status_index: r.u32("status index")?,
                status: {
                    let bits = r.u8("status")?;
                    CredentialStatus::from_bits(bits)
                        .ok_or(DecodeError::UnknownTag { what: "credential status", tag: bits })?
                },
                by: Did::decode_from(r)?,
            },
            20 => Instruction::GrantConsent {
                verifier: Did::decode_from(r)?,
                issuer: Did::decode_from(r)?,
                vct: r.string(credential::VCT_BYTES_MAX, "vct")?,
                purpose: r.string(credential::PURPOSE_BYTES_MAX, "purpose")?,
                claims: r.seq(credential::CLAIMS_MAX, "claims", |r| r.string(credential::CLAIM_BYTES_MAX, "claim"))?,
                ttl_blocks: r.u64("ttl")?,
                max_uses: r.u32("max uses")?,
            },
            21 => Instruction::ApproveConsent { consent: r.u64("consent")?, by: Did::decode_from(r)? },
            22 => Instruction::WithdrawConsent { consent: r.u64("consent")? },
            23 => Instruction::RecordAccess {
                issuer: Did::decode_from(r)?,
                vct: r.string(credential::VCT_BYTES_MAX, "vct")?,
                purpose: r.string(credential::PURPOSE_BYTES_MAX, "purpose")?,
                consent: match r.u8("consent")? {
                    0 => None,
                    1 => Some(r.u64("consent")?),
                    tag => return Err(DecodeError::UnknownTag { what: "consent", tag }),
                },
                holder_ref: Hash::decode_from(r)?,
                presentation: Hash::decode_from(r)?,
                disclosed: r
                    .seq(credential::CLAIMS_MAX, "disclosed", |r| r.string(credential::CLAIM_BYTES_MAX, "claim"))?,
                outcome: r.string(credential::OUTCOME_BYTES_MAX, "outcome")?,
                by: Did::decode_from(r)?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "instruction", tag }),
        })
    }
}

/// An unsigned transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The chain this transaction is meant for; any other chain refuses it.
    pub chain_id: String,
    /// The key that signs it: the signer account's current key.
    pub signer: PublicKey,
    /// The signer account's next nonce (0 for a registration).
    pub nonce: u64,
    /// The last height at which it may be included.
    pub valid_until_height: u64,
    /// What to do, in order; all or nothing.
    pub instructions: Vec<Instruction>,
}

const SIGNING_DOMAIN: &[u8] = b"civitas/tx/v1\0";

impl Transaction {
    /// The bytes the signer signs: a domain tag, then the canonical encoding.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = SIGNING_DOMAIN.to_vec();
        self.encode_to(&mut out);
        out
    }

    /// Signs the transaction with `key`, which should be `self.signer`'s secret.
    pub fn sign(self, key: &SecretKey) -> SignedTransaction {
        let signature = key.sign(&self.signing_bytes());
        SignedTransaction { tx: self, signature }
    }
}

impl Encode for Transaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.chain_id.as_bytes());
        self.signer.encode_to(out);
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(&self.valid_until_height.to_be_bytes());
        put_seq(out, &self.instructions);
    }
}

impl Decode for Transaction {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Transaction {
            chain_id: r.string(limits::CHAIN_ID_BYTES_MAX, "chain id")?,
            signer: PublicKey::decode_from(r)?,
            nonce: r.u64("nonce")?,
            valid_until_height: r.u64("valid until height")?,
            instructions: r.seq(limits::TX_INSTRUCTIONS_MAX, "instructions", Instruction::decode_from)?,
        })
    }
}

/// A transaction and its signature, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransaction {
    /// The transaction.
    pub tx: Transaction,
    /// The signer's signature over [`Transaction::signing_bytes`].
    pub signature: Signature,
}

impl Encode for SignedTransaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.tx.encode_to(out);
        self.signature.encode_to(out);
    }
}

impl Decode for SignedTransaction {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SignedTransaction { tx: Transaction::decode_from(r)?, signature: Signature::decode_from(r)? })
    }
}

/// Why a transaction fails the checks that need no state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxCheckError {
    /// Its chain id is not this chain's.
    #[error("transaction is for chain `{found}`, this is `{expected}`")]
    WrongChain {
        /// This chain's id.
        expected: String,
        /// The transaction's.
        found: String,
    },
    /// It has no instructions.
    #[error("transaction has no instructions")]
    Empty,
    /// It is larger than a transaction may be.
    #[error("transaction is {bytes} bytes, over the limit of {max}")]
    TooLarge {
        /// Its encoded size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The signature does not verify against the signer key.
    #[error("signature does not verify against the signer key")]
    BadSignature,
}

impl TxCheckError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TxCheckError::WrongChain { .. } => "wrong_chain",
            TxCheckError::Empty => "empty_transaction",
            TxCheckError::TooLarge { .. } => "transaction_too_large",
            TxCheckError::BadSignature => "bad_signature",
        }
    }
}

/// A transaction whose chain id, shape and signature have been checked. Only the checks in this
/// module can build one, so code that takes a `VerifiedTransaction` need not check again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTransaction {
    signed: SignedTransaction,
    hash: Hash,
    encoded_len: usize,
}

impl VerifiedTransaction {
    /// The signed transaction.
    pub fn signed(&self) -> &SignedTransaction {
        &self.signed
    }

    /// The transaction.
    pub fn tx(&self) -> &Transaction {
        &self.signed.tx
    }

    /// SHA-256 of the signed transaction's encoding.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Size of the signed transaction's encoding, in bytes.
    pub fn encoded_len(&self) -> usize {
        self.encoded_len
    }

    /// Checks many transactions for `chain_id`, verifying their signatures as one batch.
    pub fn check_many(txs: Vec<SignedTransaction>, chain_id: &str) -> Vec<Result<VerifiedTransaction, TxCheckError>> {
        let prepared: Vec<Result<Prepared, TxCheckError>> = txs
            .into_iter()
            .map(|signed| {
                let encoded = signed.encode();
                stateless_checks(&signed, chain_id, encoded.len())?;
                let signing = signed.tx.signing_bytes();
                Ok((signed, encoded, signing))
            })
            .collect();
        let items: Vec<(PublicKey, Signature, &[u8])> = prepared
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .map(|(s, _, m)| (s.tx.signer, s.signature, m.as_slice()))
            .collect();
        let mut valid = verify_batch(&items).into_iter();
        prepared
            .into_iter()
            .map(|p| {
                let (signed, encoded, _) = p?;
                if !valid.next().unwrap_or(false) {
                    return Err(TxCheckError::BadSignature);
                }
                Ok(VerifiedTransaction { hash: Hash::digest(&encoded), encoded_len: encoded.len(), signed })
            })
            .collect()
    }

    /// Checks one transaction for `chain_id`.
    pub fn check(signed: SignedTransaction, chain_id: &str) -> Result<VerifiedTransaction, TxCheckError> {
        let encoded = signed.encode();
        stateless_checks(&signed, chain_id, encoded.len())?;
        if !signed.tx.signer.verify(&signed.signature, &signed.tx.signing_bytes()) {
            return Err(TxCheckError::BadSignature);
        }
        Ok(VerifiedTransaction { hash: Hash::digest(&encoded), encoded_len: encoded.len(), signed })
    }

    /// Trusts a transaction this node verified before it was stored (its own committed blocks).
    /// Only for re-reading the node's own store; anything from a peer goes through `check`.
    pub fn from_trusted_store(signed: SignedTransaction) -> VerifiedTransaction {
        let encoded = signed.encode();
        VerifiedTransaction { hash: Hash::digest(&encoded), encoded_len: encoded.len(), signed }
    }
}

/// A transaction that passed the stateless checks: itself, its encoding, its signing bytes.
type Prepared = (SignedTransaction, Vec<u8>, Vec<u8>);

fn stateless_checks(signed: &SignedTransaction, chain_id: &str, bytes: usize) -> Result<(), TxCheckError> {
    if signed.tx.chain_id != chain_id {
        return Err(TxCheckError::WrongChain { expected: chain_id.to_owned(), found: signed.tx.chain_id.clone() });
    }
    if signed.tx.instructions.is_empty() {
        return Err(TxCheckError::Empty);
    }
    if bytes > limits::TX_BYTES_MAX {
        return Err(TxCheckError::TooLarge { bytes, max: limits::TX_BYTES_MAX });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed([n; 32])
    }

    fn transfer(nonce: u64) -> Transaction {
        Transaction {
            chain_id: "civitas-test".into(),
            signer: key(1).public_key(),
            nonce,
            valid_until_height: 100,
            instructions: vec![Instruction::Transfer { to: Did::from_initial_key(&key(2).public_key()), amount: 5 }],
        }
    }

    #[test]
    fn golden_transaction_hash() {
        // Pins the transaction format: a change here is a deliberate, versioned decision.
        let signed = transfer(3).sign(&key(1));
        let v = VerifiedTransaction::check(signed, "civitas-test").expect("valid");
        assert_eq!(v.hash().to_hex(), "bab940ffd94c00b348d4259837399ca0c10e13d5f7de02769832658e0a3aca30");
    }

    #[test]
    fn stateless_failures_are_named() {
        let check = |signed: SignedTransaction, code: &str| {
            let err = VerifiedTransaction::check(signed, "civitas-test").unwrap_err();
            assert_eq!(err.code(), code, "{err}");
        };
        check(transfer(0).sign(&key(1)).with_chain("other"), "wrong_chain");
        check(transfer(0).sign(&key(9)), "bad_signature");
        let mut empty = transfer(0);
        empty.instructions.clear();
        check(empty.sign(&key(1)), "empty_transaction");
    }

    #[test]
    fn batch_check_isolates_the_bad_signature() {
        let txs = vec![transfer(0).sign(&key(1)), transfer(1).sign(&key(9)), transfer(2).sign(&key(1))];
        let out = VerifiedTransaction::check_many(txs, "civitas-test");
        assert!(out[0].is_ok() && out[2].is_ok());
        assert_eq!(out[1].as_ref().unwrap_err(), &TxCheckError::BadSignature);
    }

    impl SignedTransaction {
        fn with_chain(mut self, chain: &str) -> Self {
            self.tx.chain_id = chain.into();
            self
        }
    }

    pub(crate) fn arb_instruction() -> impl Strategy<Value = Instruction> {
        prop_oneof![
            Just(Instruction::RegisterAccount),
            (any::<[u8; 32]>(), any::<u64>(), "[ -~]{1,20}", any::<u128>(), 0u8..6).prop_map(
                |(k, n, text, amount, which)| {
                    use crate::invoice::{LineItem, Payment};
                    let by = Did::from_initial_key(&PublicKey(k));
                    match which {
                        0 => Instruction::RegisterMerchant { merchant: by, taxpayer_id: text, by },
                        1 => Instruction::RecordPayment {
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
                        2 => Instruction::IssueInvoice {
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
                        3 => Instruction::SubmitInvoice { number: n, employer: by },
                        4 => Instruction::ReimburseInvoice { number: n, by },
                        _ => Instruction::ReverseInvoice { number: n, reason: text, by },
                    }
                }
            ),
            (any::<[u8; 32]>(), any::<u32>(), "[a-z_]{1,12}", 0u8..7).prop_map(|(k, n, text, which)| {
                use crate::credential::{CredentialPolicy, CredentialStatus, DisclosureRule};
                let by = Did::from_initial_key(&PublicKey(k));
                match which {
                    0 => Instruction::DefineCredentialType {
                        vct: text.clone(),
                        schema: "{}".into(),
                        policy: CredentialPolicy {
                            holder_consent: n % 2 == 0,
                            issuer_approval: n % 3 == 0,
                            rules: vec![DisclosureRule { verifier_kind: OrgKind::Department, claims: vec![text] }],
                        },
                        by,
                    },
                    1 => Instruction::AnchorCredential { vct: text, commitment: Hash(k), status_index: n, by },
                    2 => Instruction::SetCredentialStatus { status_index: n, status: CredentialStatus::Suspended, by },
                    3 => Instruction::GrantConsent {
                        verifier: by,
                        issuer: by,
                        vct: text.clone(),
                        purpose: text.clone(),
                        claims: vec![text],
                        ttl_blocks: u64::from(n),
                        max_uses: n,
                    },
                    4 => Instruction::ApproveConsent { consent: u64::from(n), by },
                    5 => Instruction::WithdrawConsent { consent: u64::from(n) },
                    _ => Instruction::RecordAccess {
                        issuer: by,
                        vct: text.clone(),
                        purpose: text.clone(),
                        consent: (n % 2 == 0).then_some(u64::from(n)),
                        holder_ref: Hash(k),
                        presentation: Hash(k),
                        disclosed: vec![text],
                        outcome: "ok".into(),
                        by,
                    },
                }
            }),
            (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(k, s)| {
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(&s);
                Instruction::RotateKey { new_key: PublicKey(k), proof: Signature(sig) }
            }),
            (any::<[u8; 32]>(), any::<u128>())
                .prop_map(|(k, amount)| Instruction::Transfer { to: Did::from_initial_key(&PublicKey(k)), amount }),
            (any::<[u8; 32]>(), any::<u128>())
                .prop_map(|(k, amount)| Instruction::Mint { to: Did::from_initial_key(&PublicKey(k)), amount }),
            (any::<[u8; 32]>(), "[a-z0-9-]{1,8}", any::<[u8; 32]>(), "https://[a-z]{1,12}", any::<bool>()).prop_map(
                |(k, fragment, m, endpoint, recovery)| {
                    use crate::did_doc::{KeyMaterial, Relations, Service, VerificationMethod};
                    let did = Did::from_initial_key(&PublicKey(k));
                    let document = DidDocumentData {
                        controllers: vec![Did::from_initial_key(&PublicKey(m))],
                        methods: vec![VerificationMethod {
                            fragment: fragment.clone(),
                            key: KeyMaterial::Ed25519(m),
                            relations: Relations::ASSERTION_METHOD,
                        }],
                        services: vec![Service { fragment, kind: "LinkedDomains".into(), endpoint }],
                        recovery_key_hash: recovery.then_some(Hash(m)),
                    };
                    Instruction::UpdateDid { did, document }
                }
            ),
            any::<[u8; 32]>().prop_map(|k| Instruction::DeactivateDid { did: Did::from_initial_key(&PublicKey(k)) }),
            (any::<[u8; 32]>(), any::<u64>(), "[ -~]{0,20}").prop_map(|(k, n, vct)| {
                let by = Did::from_initial_key(&PublicKey(k));
                if n % 2 == 0 {
                    Instruction::Approve { proposal: n, by }
                } else {
                    Instruction::Propose {
                        action: CouncilAction::AccreditIssuer { issuer: by, vct },
                        ttl_blocks: n,
                        by,
                    }
                }
            }),
            (any::<[u8; 32]>(), "[ -~]{0,20}", any::<bool>()).prop_map(|(k, name, company)| {
                let org = Did::from_initial_key(&PublicKey(k));
                if company {
                    Instruction::RegisterOrganization { org, kind: OrgKind::Company, name, by: org }
                } else {
                    Instruction::SetMember { org, member: org, role: name.is_empty().then_some(OrgRole::Officer) }
                }
            }),
            (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(k, s)| {
                let mut sig = [0u8; 64];
                sig[32..].copy_from_slice(&s);
                Instruction::RecoverDid {
                    did: Did::from_initial_key(&PublicKey(k)),
                    recovery_key: PublicKey(s),
                    proof: Signature(sig),
                }
            }),
        ]
    }

    pub(crate) fn arb_signed() -> impl Strategy<Value = SignedTransaction> {
        (
            "[a-z0-9-]{0,64}",
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<u64>(),
            prop::collection::vec(arb_instruction(), 0..=limits::TX_INSTRUCTIONS_MAX),
            any::<[u8; 32]>(),
        )
            .prop_map(|(chain_id, k, nonce, valid_until_height, instructions, s)| {
                let mut sig = [0u8; 64];
                sig[32..].copy_from_slice(&s);
                SignedTransaction {
                    tx: Transaction { chain_id, signer: PublicKey(k), nonce, valid_until_height, instructions },
                    signature: Signature(sig),
                }
            })
    }

    proptest! {
        #[test]
        fn every_instruction_name_is_listed(i in arb_instruction()) {
            prop_assert!(Instruction::NAMES.contains(&i.name()));
        }

        #[test]
        fn signed_transaction_round_trips(tx in arb_signed()) {
            prop_assert_eq!(SignedTransaction::decode(&tx.encode()), Ok(tx));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = SignedTransaction::decode(&bytes);
        }

        #[test]
        fn any_truncation_is_an_error(tx in arb_signed(), cut in any::<prop::sample::Index>()) {
            let bytes = tx.encode();
            let cut = cut.index(bytes.len());
            prop_assert!(SignedTransaction::decode(&bytes[..cut]).is_err());
        }
    }
}
