//! The API's wire forms. JSON exists only here and in the API crate; amounts travel as
//! decimal strings because JSON numbers lose precision past 2^53.

use civitas_types::codec::{Decode, DecodeError, Reader, put_bytes, put_len};
use civitas_types::council::CouncilAction;
use civitas_types::org::{OrgFunction, OrgKind, OrgRole};
use civitas_types::{
    AccountInstruction, CouncilInstruction, CredentialInstruction, DidInstruction, InvoiceInstruction, OrgInstruction,
};
use civitas_types::{Did, Instruction, PublicKey, Signature, SignedTransaction, Transaction, limits};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most transactions in one batch submission.
pub const BATCH_TXS_MAX: usize = 10_000;
/// Most transaction summaries in one page of a block.
pub const BLOCK_PAGE_MAX: u32 = 10_000;

/// An RFC 9457 problem document: every error the API returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:civitas:problem:<code>`).
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, for people.
    pub detail: String,
    /// A stable, machine-readable code.
    pub code: String,
}

/// One instruction, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum InstructionJson {
    /// Create the signer's account.
    RegisterAccount,
    /// Replace the signer's key.
    RotateKey {
        /// The new key, hex.
        new_key: String,
        /// The new key's signature over the rotation message, hex.
        proof: String,
    },
    /// Move currency.
    Transfer {
        /// The receiving DID.
        to: String,
        /// Minor units, decimal.
        amount: String,
    },
    /// Create currency (finance role).
    Mint {
        /// The receiving DID.
        to: String,
        /// Minor units, decimal.
        amount: String,
    },
    /// Replace the settable part of a DID document (the DID itself or a controller signs).
    UpdateDid {
        /// The DID.
        did: String,
        /// The new document.
        document: crate::did::DidDocumentDataJson,
    },
    /// Deactivate a DID for good (the DID itself or a controller signs).
    DeactivateDid {
        /// The DID.
        did: String,
    },
    /// Move a DID to the signing key, authorized by its recovery key.
    RecoverDid {
        /// The DID.
        did: String,
        /// The recovery key, hex.
        recovery_key: String,
        /// Its signature over the recovery message, hex.
        proof: String,
    },
    /// Register an account as an organization (an official of `by` signs).
    RegisterOrganization {
        /// The organization's DID.
        org: String,
        /// `company` or `employer` (other kinds are the council's).
        kind: String,
        /// Its name.
        name: String,
        /// The department the signer acts for.
        by: String,
    },
    /// Give an official a role in an organization, or remove it (an admin signs).
    SetMember {
        /// The organization's DID.
        org: String,
        /// The official's DID.
        member: String,
        /// `admin` or `officer`; absent to remove.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
    },
    /// Propose a council action (an admin of the member department `by` signs).
    Propose {
        /// What passes.
        action: CouncilActionJson,
        /// How many blocks it stays open.
        ttl_blocks: u64,
        /// The member department proposing.
        by: String,
    },
    /// Approve a council proposal (an admin of the member department `by` signs).
    Approve {
        /// The proposal's number.
        proposal: u64,
        /// The member department approving.
        by: String,
    },
    /// Register an organization as a merchant (an official of the tax department `by` signs).
    RegisterMerchant {
        /// The merchant's DID.
        merchant: String,
        /// Its taxpayer id.
        taxpayer_id: String,
        /// The tax department.
        by: String,
    },
    /// Record a payment (an official of the payment provider `by` signs).
    RecordPayment {
        /// The payment.
        payment: crate::invoice::PaymentJson,
        /// The payment provider.
        by: String,
    },
    /// Issue the invoice of a payment (an official of its payee merchant `by` signs).
    IssueInvoice {
        /// The payment's id.
        payment_id: String,
        /// The buyer's name or title.
        buyer_name: String,
        /// The buyer's taxpayer id, or empty.
        #[serde(default)]
        buyer_taxpayer_id: String,
        /// The buyer's DID, if it is on the chain.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        buyer: Option<String>,
        /// The lines.
        items: Vec<crate::invoice::LineItemJson>,
        /// The merchant.
        by: String,
    },
    /// Submit an invoice to an employer for reimbursement (its buyer signs).
    SubmitInvoice {
        /// The invoice's number.
        number: u64,
        /// The employer's DID.
        employer: String,
    },
    /// Reimburse a submitted invoice (an official of the employer `by` signs).
    ReimburseInvoice {
        /// The invoice's number.
        number: u64,
        /// The employer.
        by: String,
    },
    /// Reverse an unreimbursed invoice with a credit note (an official of its seller signs).
    ReverseInvoice {
        /// The invoice's number.
        number: u64,
        /// Why.
        reason: String,
        /// The seller.
        by: String,
    },
    /// Define a credential type's schema and policy (an official of an accredited issuer).
    DefineCredentialType {
        /// The type.
        vct: String,
        /// The JSON Schema of its claims, as text.
        schema: String,
        /// Its policy.
        policy: CredentialPolicyJson,
        /// The issuer.
        by: String,
    },
    /// Anchor an issued credential's commitment at a status list entry (an issuer official).
    AnchorCredential {
        /// The type.
        vct: String,
        /// SHA-256 of the issuer-signed JWT, hex.
        commitment: String,
        /// The status list entry.
        status_index: u32,
        /// The issuer.
        by: String,
    },
    /// Set an anchored credential's status: `valid`, `suspended` or `revoked` (an issuer
    /// official).
    SetCredentialStatus {
        /// The status list entry.
        status_index: u32,
        /// The status.
        status: String,
        /// The issuer.
        by: String,
    },
    /// Consent, as a holder, that a verifier see claims of one credential type.
    GrantConsent {
        /// The verifier's DID.
        verifier: String,
        /// The issuer's DID.
        issuer: String,
        /// The type.
        vct: String,
        /// Why.
        purpose: String,
        /// The claims.
        claims: Vec<String>,
        /// How many blocks it lasts.
        ttl_blocks: u64,
        /// How many verifications it allows.
        max_uses: u32,
    },
    /// Approve a consent (an official of its issuer).
    ApproveConsent {
        /// The consent.
        consent: u64,
        /// The issuer.
        by: String,
    },
    /// Withdraw a consent (its holder).
    WithdrawConsent {
        /// The consent.
        consent: u64,
    },
    /// Record a verification in the access log (an official of the verifier).
    RecordAccess {
        /// The credential's issuer.
        issuer: String,
        /// Its type.
        vct: String,
        /// Why.
        purpose: String,
        /// The consent used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        consent: Option<u64>,
        /// The holder as a commitment, hex.
        holder_ref: String,
        /// The presentation as a commitment, hex.
        presentation: String,
        /// The disclosed claims.
        disclosed: Vec<String>,
        /// `ok`, or why verification failed.
        outcome: String,
        /// The verifier.
        by: String,
    },
}

/// A credential type's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialPolicyJson {
    /// A verification needs the holder's consent.
    pub holder_consent: bool,
    /// A consent needs the issuer's approval.
    pub issuer_approval: bool,
    /// Which claims each kind of verifier may see; empty: any claim to anyone.
    #[serde(default)]
    pub rules: Vec<DisclosureRuleJson>,
}

/// Which claims one kind of verifier may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisclosureRuleJson {
    /// `department`, `company`, `manufacturer`, `payment_provider` or `employer`.
    pub verifier_kind: String,
    /// The claims.
    pub claims: Vec<String>,
}

impl CredentialPolicyJson {
    /// Converts to the binary form, naming the first bad field under `at`.
    pub fn to_policy(&self, at: &str) -> Result<civitas_types::credential::CredentialPolicy, FieldError> {
        if self.rules.len() > civitas_types::credential::RULES_MAX {
            return Err(field_err(format!("{at}.rules"), "too many rules"));
        }
        let rules = self
            .rules
            .iter()
            .map(|r| {
                Ok(civitas_types::credential::DisclosureRule {
                    verifier_kind: OrgKind::from_name(&r.verifier_kind).ok_or_else(|| {
                        field_err(format!("{at}.rules.verifier_kind"), format!("unknown kind `{}`", r.verifier_kind))
                    })?,
                    claims: bounded_claims(&r.claims, &format!("{at}.rules.claims"))?,
                })
            })
            .collect::<Result<_, FieldError>>()?;
        Ok(civitas_types::credential::CredentialPolicy {
            holder_consent: self.holder_consent,
            issuer_approval: self.issuer_approval,
            rules,
        })
    }

    /// The JSON form of a policy.
    pub fn from_policy(p: &civitas_types::credential::CredentialPolicy) -> CredentialPolicyJson {
        CredentialPolicyJson {
            holder_consent: p.holder_consent,
            issuer_approval: p.issuer_approval,
            rules: p
                .rules
                .iter()
                .map(|r| DisclosureRuleJson { verifier_kind: r.verifier_kind.name().into(), claims: r.claims.clone() })
                .collect(),
        }
    }
}

fn bounded_claims(claims: &[String], at: &str) -> Result<Vec<String>, FieldError> {
    if claims.len() > civitas_types::credential::CLAIMS_MAX {
        return Err(field_err(at, "at most 64 claims"));
    }
    Ok(claims.to_vec())
}

/// A credential status by name.
pub fn credential_status(name: &str, at: &str) -> Result<civitas_types::credential::CredentialStatus, FieldError> {
    use civitas_types::credential::CredentialStatus;
    match name {
        "valid" => Ok(CredentialStatus::Valid),
        "suspended" => Ok(CredentialStatus::Suspended),
        "revoked" => Ok(CredentialStatus::Revoked),
        _ => Err(field_err(at, "valid, suspended or revoked")),
    }
}

/// A council action, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CouncilActionJson {
    /// Accredit an organization to issue a credential type.
    AccreditIssuer {
        /// The issuer's DID.
        issuer: String,
        /// The credential type.
        vct: String,
    },
    /// Register an organization.
    RegisterOrganization {
        /// Its DID.
        org: String,
        /// Its kind.
        kind: String,
        /// Its name.
        name: String,
        /// Its functions.
        #[serde(default)]
        functions: Vec<String>,
    },
    /// Change the number of approvals a proposal needs.
    SetThreshold {
        /// The new threshold.
        threshold: u32,
    },
    /// Add a validator (from the next block after the one that executes it: a new epoch).
    AddValidator {
        /// Its consensus key, hex.
        public_key: String,
        /// Its p2p address, `IP:port`.
        address: String,
        /// The department that runs it.
        name: String,
    },
    /// Remove a validator.
    RemoveValidator {
        /// Its consensus key, hex.
        public_key: String,
    },
}

impl CouncilActionJson {
    /// Converts to the binary form, naming the first bad field under `at`.
    pub fn to_action(&self, at: &str) -> Result<CouncilAction, FieldError> {
        let f = |name: &str| format!("{at}.{name}");
        Ok(match self {
            CouncilActionJson::AccreditIssuer { issuer, vct } => CouncilAction::AccreditIssuer {
                issuer: issuer.parse::<Did>().map_err(|e| field_err(f("issuer"), e))?,
                vct: vct.clone(),
            },
            CouncilActionJson::RegisterOrganization { org, kind, name, functions } => {
                if functions.len() > civitas_types::org::ORG_FUNCTIONS_MAX {
                    return Err(field_err(f("functions"), "too many"));
                }
                CouncilAction::RegisterOrganization {
                    org: org.parse::<Did>().map_err(|e| field_err(f("org"), e))?,
                    kind: OrgKind::from_name(kind)
                        .ok_or_else(|| field_err(f("kind"), format!("unknown kind `{kind}`")))?,
                    name: name.clone(),
                    functions: functions
                        .iter()
                        .map(|x| {
                            OrgFunction::from_name(x)
                                .ok_or_else(|| field_err(f("functions"), format!("unknown function `{x}`")))
                        })
                        .collect::<Result<_, _>>()?,
                }
            }
            CouncilActionJson::SetThreshold { threshold } => CouncilAction::SetThreshold { threshold: *threshold },
            CouncilActionJson::AddValidator { public_key, address, name } => {
                if !civitas_types::validators::address_ok(address) {
                    return Err(field_err(f("address"), "must be IP:port"));
                }
                CouncilAction::AddValidator {
                    validator: civitas_types::validators::Validator {
                        key: PublicKey::from_hex(public_key).map_err(|e| field_err(f("public_key"), e))?,
                        address: address.clone(),
                        name: name.clone(),
                    },
                }
            }
            CouncilActionJson::RemoveValidator { public_key } => CouncilAction::RemoveValidator {
                key: PublicKey::from_hex(public_key).map_err(|e| field_err(f("public_key"), e))?,
            },
        })
    }

    /// The JSON form of an action.
    pub fn from_action(a: &CouncilAction) -> CouncilActionJson {
        match a {
            CouncilAction::AccreditIssuer { issuer, vct } => {
                CouncilActionJson::AccreditIssuer { issuer: issuer.to_string(), vct: vct.clone() }
            }
            CouncilAction::RegisterOrganization { org, kind, name, functions } => {
                CouncilActionJson::RegisterOrganization {
                    org: org.to_string(),
                    kind: kind.name().into(),
                    name: name.clone(),
                    functions: functions.iter().map(|x| x.name().to_owned()).collect(),
                }
            }
            CouncilAction::SetThreshold { threshold } => CouncilActionJson::SetThreshold { threshold: *threshold },
            CouncilAction::AddValidator { validator } => CouncilActionJson::AddValidator {
                public_key: validator.key.to_hex(),
                address: validator.address.clone(),
                name: validator.name.clone(),
            },
            CouncilAction::RemoveValidator { key } => CouncilActionJson::RemoveValidator { public_key: key.to_hex() },
        }
    }
}

/// A signed transaction in JSON. The signature covers the canonical binary form, which the
/// node rebuilds from these fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionJson {
    /// The chain's id.
    pub chain_id: String,
    /// The signing key, hex.
    pub signer: String,
    /// The signer's next nonce.
    pub nonce: u64,
    /// The last height at which it may be included.
    pub valid_until_height: u64,
    /// What to do.
    pub instructions: Vec<InstructionJson>,
    /// Ed25519 signature over the canonical bytes, hex.
    pub signature: String,
}

/// Why a JSON form does not convert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {why}")]
pub struct FieldError {
    /// The field.
    pub field: String,
    /// What is wrong.
    pub why: String,
}

pub(crate) fn field_err(field: impl Into<String>, why: impl ToString) -> FieldError {
    FieldError { field: field.into(), why: why.to_string() }
}

pub(crate) fn parse_amount(s: &str, field: String) -> Result<u128, FieldError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(field_err(field, "must be a decimal integer string"));
    }
    s.parse().map_err(|_| field_err(field, "too large"))
}

impl TransactionJson {
    /// Converts to the binary form, naming the first bad field.
    pub fn to_signed(&self) -> Result<SignedTransaction, FieldError> {
        if self.instructions.len() > limits::TX_INSTRUCTIONS_MAX {
            return Err(field_err("instructions", format!("at most {} allowed", limits::TX_INSTRUCTIONS_MAX)));
        }
        if self.chain_id.len() > limits::CHAIN_ID_BYTES_MAX {
            return Err(field_err("chain_id", "too long"));
        }
        let instructions = self
            .instructions
            .iter()
            .enumerate()
            .map(|(i, ins)| {
                let f = |name: &str| format!("instructions[{i}].{name}");
                Ok(match ins {
                    InstructionJson::RegisterAccount => Instruction::Accounts(AccountInstruction::RegisterAccount),
                    InstructionJson::RotateKey { new_key, proof } => {
                        Instruction::Accounts(AccountInstruction::RotateKey {
                            new_key: PublicKey::from_hex(new_key).map_err(|e| field_err(f("new_key"), e))?,
                            proof: Signature::from_hex(proof).map_err(|e| field_err(f("proof"), e))?,
                        })
                    }
                    InstructionJson::Transfer { to, amount } => Instruction::Accounts(AccountInstruction::Transfer {
                        to: to.parse::<Did>().map_err(|e| field_err(f("to"), e))?,
                        amount: parse_amount(amount, f("amount"))?,
                    }),
                    InstructionJson::Mint { to, amount } => Instruction::Accounts(AccountInstruction::Mint {
                        to: to.parse::<Did>().map_err(|e| field_err(f("to"), e))?,
                        amount: parse_amount(amount, f("amount"))?,
                    }),
                    InstructionJson::UpdateDid { did, document } => Instruction::Dids(DidInstruction::UpdateDid {
                        did: did.parse::<Did>().map_err(|e| field_err(f("did"), e))?,
                        document: document.to_data(&f("document"))?,
                    }),
                    InstructionJson::DeactivateDid { did } => Instruction::Dids(DidInstruction::DeactivateDid {
                        did: did.parse::<Did>().map_err(|e| field_err(f("did"), e))?,
                    }),
                    InstructionJson::RegisterOrganization { org, kind, name, by } => {
                        Instruction::Orgs(OrgInstruction::RegisterOrganization {
                            org: org.parse::<Did>().map_err(|e| field_err(f("org"), e))?,
                            kind: OrgKind::from_name(kind)
                                .ok_or_else(|| field_err(f("kind"), format!("unknown organization kind `{kind}`")))?,
                            name: name.clone(),
                            by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                        })
                    }
                    InstructionJson::SetMember { org, member, role } => Instruction::Orgs(OrgInstruction::SetMember {
                        org: org.parse::<Did>().map_err(|e| field_err(f("org"), e))?,
                        member: member.parse::<Did>().map_err(|e| field_err(f("member"), e))?,
                        role: match role {
                            None => None,
                            Some(r) => Some(
                                OrgRole::from_name(r)
                                    .ok_or_else(|| field_err(f("role"), format!("`{r}` is not admin or officer")))?,
                            ),
                        },
                    }),
                    InstructionJson::Propose { action, ttl_blocks, by } => {
                        Instruction::Council(CouncilInstruction::Propose {
                            action: action.to_action(&f("action"))?,
                            ttl_blocks: *ttl_blocks,
                            by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                        })
                    }
                    InstructionJson::Approve { proposal, by } => Instruction::Council(CouncilInstruction::Approve {
                        proposal: *proposal,
                        by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                    }),
                    InstructionJson::RecoverDid { did, recovery_key, proof } => {
                        Instruction::Dids(DidInstruction::RecoverDid {
                            did: did.parse::<Did>().map_err(|e| field_err(f("did"), e))?,
                            recovery_key: PublicKey::from_hex(recovery_key)
                                .map_err(|e| field_err(f("recovery_key"), e))?,
                            proof: Signature::from_hex(proof).map_err(|e| field_err(f("proof"), e))?,
                        })
                    }
                    InstructionJson::RegisterMerchant { merchant, taxpayer_id, by } => {
                        Instruction::Invoices(InvoiceInstruction::RegisterMerchant {
                            merchant: merchant.parse::<Did>().map_err(|e| field_err(f("merchant"), e))?,
                            taxpayer_id: taxpayer_id.clone(),
                            by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                        })
                    }
                    InstructionJson::RecordPayment { payment, by } => {
                        Instruction::Invoices(InvoiceInstruction::RecordPayment {
                            payment: payment.to_payment(&f("payment"))?,
                            by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                        })
                    }
                    InstructionJson::IssueInvoice { payment_id, buyer_name, buyer_taxpayer_id, buyer, items, by } => {
                        if items.len() > civitas_types::invoice::INVOICE_ITEMS_MAX {
                            return Err(field_err(f("items"), "at most 100 lines"));
                        }
                        Instruction::Invoices(InvoiceInstruction::IssueInvoice {
                            payment_id: payment_id.clone(),
                            buyer_name: buyer_name.clone(),
                            buyer_taxpayer_id: buyer_taxpayer_id.clone(),
                            buyer: buyer
                                .as_deref()
                                .map(|b| b.parse::<Did>().map_err(|e| field_err(f("buyer"), e)))
                                .transpose()?,
                            items: items
                                .iter()
                                .enumerate()
                                .map(|(k, item)| item.to_item(&f(&format!("items[{k}]"))))
                                .collect::<Result<_, _>>()?,
                            by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                        })
                    }
                    InstructionJson::SubmitInvoice { number, employer } => {
                        Instruction::Invoices(InvoiceInstruction::SubmitInvoice {
                            number: *number,
                            employer: employer.parse::<Did>().map_err(|e| field_err(f("employer"), e))?,
                        })
                    }
                    InstructionJson::ReimburseInvoice { number, by } => {
                        Instruction::Invoices(InvoiceInstruction::ReimburseInvoice {
                            number: *number,
                            by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                        })
                    }
                    InstructionJson::ReverseInvoice { number, reason, by } => {
                        Instruction::Invoices(InvoiceInstruction::ReverseInvoice {
                            number: *number,
                            reason: reason.clone(),
                            by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                        })
                    }
                    InstructionJson::DefineCredentialType { vct, schema, policy, by } => {
                        Instruction::Credentials(CredentialInstruction::DefineCredentialType {
                            vct: vct.clone(),
                            schema: schema.clone(),
                            policy: policy.to_policy(&f("policy"))?,
                            by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                        })
                    }
                    InstructionJson::AnchorCredential { vct, commitment, status_index, by } => {
                        Instruction::Credentials(CredentialInstruction::AnchorCredential {
                            vct: vct.clone(),
                            commitment: civitas_types::Hash::from_hex(commitment)
                                .map_err(|e| field_err(f("commitment"), e))?,
                            status_index: *status_index,
                            by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                        })
                    }
                    InstructionJson::SetCredentialStatus { status_index, status, by } => {
                        Instruction::Credentials(CredentialInstruction::SetCredentialStatus {
                            status_index: *status_index,
                            status: credential_status(status, &f("status"))?,
                            by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                        })
                    }
                    InstructionJson::GrantConsent { verifier, issuer, vct, purpose, claims, ttl_blocks, max_uses } => {
                        Instruction::Credentials(CredentialInstruction::GrantConsent {
                            verifier: verifier.parse::<Did>().map_err(|e| field_err(f("verifier"), e))?,
                            issuer: issuer.parse::<Did>().map_err(|e| field_err(f("issuer"), e))?,
                            vct: vct.clone(),
                            purpose: purpose.clone(),
                            claims: bounded_claims(claims, &f("claims"))?,
                            ttl_blocks: *ttl_blocks,
                            max_uses: *max_uses,
                        })
                    }
                    InstructionJson::ApproveConsent { consent, by } => {
                        Instruction::Credentials(CredentialInstruction::ApproveConsent {
                            consent: *consent,
                            by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                        })
                    }
                    InstructionJson::WithdrawConsent { consent } => {
                        Instruction::Credentials(CredentialInstruction::WithdrawConsent { consent: *consent })
                    }
                    InstructionJson::RecordAccess {
                        issuer,
                        vct,
                        purpose,
                        consent,
                        holder_ref,
                        presentation,
                        disclosed,
                        outcome,
                        by,
                    } => Instruction::Credentials(CredentialInstruction::RecordAccess {
                        issuer: issuer.parse::<Did>().map_err(|e| field_err(f("issuer"), e))?,
                        vct: vct.clone(),
                        purpose: purpose.clone(),
                        consent: *consent,
                        holder_ref: civitas_types::Hash::from_hex(holder_ref)
                            .map_err(|e| field_err(f("holder_ref"), e))?,
                        presentation: civitas_types::Hash::from_hex(presentation)
                            .map_err(|e| field_err(f("presentation"), e))?,
                        disclosed: bounded_claims(disclosed, &f("disclosed"))?,
                        outcome: outcome.clone(),
                        by: by.parse::<Did>().map_err(|e| field_err(f("by"), e))?,
                    }),
                })
            })
            .collect::<Result<Vec<_>, FieldError>>()?;
        Ok(SignedTransaction {
            tx: Transaction {
                chain_id: self.chain_id.clone(),
                signer: PublicKey::from_hex(&self.signer).map_err(|e| field_err("signer", e))?,
                nonce: self.nonce,
                valid_until_height: self.valid_until_height,
                instructions,
            },
            signature: Signature::from_hex(&self.signature).map_err(|e| field_err("signature", e))?,
        })
    }

    /// The JSON form of a signed transaction.
    pub fn from_signed(s: &SignedTransaction) -> TransactionJson {
        TransactionJson {
            chain_id: s.tx.chain_id.clone(),
            signer: s.tx.signer.to_hex(),
            nonce: s.tx.nonce,
            valid_until_height: s.tx.valid_until_height,
            instructions: s
                .tx
                .instructions
                .iter()
                .map(|i| match i {
                    Instruction::Accounts(AccountInstruction::RegisterAccount) => InstructionJson::RegisterAccount,
                    Instruction::Accounts(AccountInstruction::RotateKey { new_key, proof }) => {
                        InstructionJson::RotateKey { new_key: new_key.to_hex(), proof: proof.to_hex() }
                    }
                    Instruction::Accounts(AccountInstruction::Transfer { to, amount }) => {
                        InstructionJson::Transfer { to: to.to_string(), amount: amount.to_string() }
                    }
                    Instruction::Accounts(AccountInstruction::Mint { to, amount }) => {
                        InstructionJson::Mint { to: to.to_string(), amount: amount.to_string() }
                    }
                    Instruction::Dids(DidInstruction::UpdateDid { did, document }) => InstructionJson::UpdateDid {
                        did: did.to_string(),
                        document: crate::did::DidDocumentDataJson::from_data(document),
                    },
                    Instruction::Dids(DidInstruction::DeactivateDid { did }) => {
                        InstructionJson::DeactivateDid { did: did.to_string() }
                    }
                    Instruction::Orgs(OrgInstruction::RegisterOrganization { org, kind, name, by }) => {
                        InstructionJson::RegisterOrganization {
                            org: org.to_string(),
                            kind: kind.name().into(),
                            name: name.clone(),
                            by: by.to_string(),
                        }
                    }
                    Instruction::Orgs(OrgInstruction::SetMember { org, member, role }) => InstructionJson::SetMember {
                        org: org.to_string(),
                        member: member.to_string(),
                        role: role.map(|r| r.name().into()),
                    },
                    Instruction::Council(CouncilInstruction::Propose { action, ttl_blocks, by }) => {
                        InstructionJson::Propose {
                            action: CouncilActionJson::from_action(action),
                            ttl_blocks: *ttl_blocks,
                            by: by.to_string(),
                        }
                    }
                    Instruction::Council(CouncilInstruction::Approve { proposal, by }) => {
                        InstructionJson::Approve { proposal: *proposal, by: by.to_string() }
                    }
                    Instruction::Dids(DidInstruction::RecoverDid { did, recovery_key, proof }) => {
                        InstructionJson::RecoverDid {
                            did: did.to_string(),
                            recovery_key: recovery_key.to_hex(),
                            proof: proof.to_hex(),
                        }
                    }
                    Instruction::Invoices(InvoiceInstruction::RegisterMerchant { merchant, taxpayer_id, by }) => {
                        InstructionJson::RegisterMerchant {
                            merchant: merchant.to_string(),
                            taxpayer_id: taxpayer_id.clone(),
                            by: by.to_string(),
                        }
                    }
                    Instruction::Invoices(InvoiceInstruction::RecordPayment { payment, by }) => {
                        InstructionJson::RecordPayment {
                            payment: crate::invoice::PaymentJson::from_payment(payment),
                            by: by.to_string(),
                        }
                    }
                    Instruction::Invoices(InvoiceInstruction::IssueInvoice {
                        payment_id,
                        buyer_name,
                        buyer_taxpayer_id,
                        buyer,
                        items,
                        by,
                    }) => InstructionJson::IssueInvoice {
                        payment_id: payment_id.clone(),
                        buyer_name: buyer_name.clone(),
                        buyer_taxpayer_id: buyer_taxpayer_id.clone(),
                        buyer: buyer.map(|b| b.to_string()),
                        items: items.iter().map(crate::invoice::LineItemJson::from_item).collect(),
                        by: by.to_string(),
                    },
                    Instruction::Invoices(InvoiceInstruction::SubmitInvoice { number, employer }) => {
                        InstructionJson::SubmitInvoice { number: *number, employer: employer.to_string() }
                    }
                    Instruction::Invoices(InvoiceInstruction::ReimburseInvoice { number, by }) => {
                        InstructionJson::ReimburseInvoice { number: *number, by: by.to_string() }
                    }
                    Instruction::Invoices(InvoiceInstruction::ReverseInvoice { number, reason, by }) => {
                        InstructionJson::ReverseInvoice { number: *number, reason: reason.clone(), by: by.to_string() }
                    }
                    Instruction::Credentials(CredentialInstruction::DefineCredentialType {
                        vct,
                        schema,
                        policy,
                        by,
                    }) => InstructionJson::DefineCredentialType {
                        vct: vct.clone(),
                        schema: schema.clone(),
                        policy: CredentialPolicyJson::from_policy(policy),
                        by: by.to_string(),
                    },
                    Instruction::Credentials(CredentialInstruction::AnchorCredential {
                        vct,
                        commitment,
                        status_index,
                        by,
                    }) => InstructionJson::AnchorCredential {
                        vct: vct.clone(),
                        commitment: commitment.to_hex(),
                        status_index: *status_index,
                        by: by.to_string(),
                    },
                    Instruction::Credentials(CredentialInstruction::SetCredentialStatus {
                        status_index,
                        status,
                        by,
                    }) => InstructionJson::SetCredentialStatus {
                        status_index: *status_index,
                        status: status.name().into(),
                        by: by.to_string(),
                    },
                    Instruction::Credentials(CredentialInstruction::GrantConsent {
                        verifier,
                        issuer,
                        vct,
                        purpose,
                        claims,
                        ttl_blocks,
                        max_uses,
                    }) => InstructionJson::GrantConsent {
                        verifier: verifier.to_string(),
                        issuer: issuer.to_string(),
                        vct: vct.clone(),
                        purpose: purpose.clone(),
                        claims: claims.clone(),
                        ttl_blocks: *ttl_blocks,
                        max_uses: *max_uses,
                    },
                    Instruction::Credentials(CredentialInstruction::ApproveConsent { consent, by }) => {
                        InstructionJson::ApproveConsent { consent: *consent, by: by.to_string() }
                    }
                    Instruction::Credentials(CredentialInstruction::WithdrawConsent { consent }) => {
                        InstructionJson::WithdrawConsent { consent: *consent }
                    }
                    Instruction::Credentials(CredentialInstruction::RecordAccess {
                        issuer,
                        vct,
                        purpose,
                        consent,
                        holder_ref,
                        presentation,
                        disclosed,
                        outcome,
                        by,
                    }) => InstructionJson::RecordAccess {
                        issuer: issuer.to_string(),
                        vct: vct.clone(),
                        purpose: purpose.clone(),
                        consent: *consent,
                        holder_ref: holder_ref.to_hex(),
                        presentation: presentation.to_hex(),
                        disclosed: disclosed.clone(),
                        outcome: outcome.clone(),
                        by: by.to_string(),
                    },
                })
                .collect(),
            signature: s.signature.to_hex(),
        }
    }
}

/// The binary batch body: a `u32` count, then each encoded transaction with a `u32` length.
pub fn encode_batch(txs: &[SignedTransaction]) -> Vec<u8> {
    let mut out = Vec::new();
    put_len(&mut out, txs.len());
    for tx in txs {
        put_bytes(&mut out, &civitas_types::codec::Encode::encode(tx));
    }
    out
}

/// Splits a batch body into per-transaction decode results. A broken frame (bad count or
/// length) fails the whole batch; a transaction that does not decode fails alone.
pub fn decode_batch(body: &[u8]) -> Result<Vec<Result<SignedTransaction, DecodeError>>, DecodeError> {
    let mut r = Reader::new(body);
    let frames = r.seq(BATCH_TXS_MAX, "batch", |r| r.bytes(limits::TX_BYTES_MAX, "transaction"))?;
    r.finish()?;
    Ok(frames.into_iter().map(SignedTransaction::decode).collect())
}

/// Largest finalization certificate in a raw block (a quorum of at most a few hundred
/// validators' signatures fits far below it).
pub const CERTIFICATE_BYTES_MAX: usize = 64 * 1024;

/// The raw block body (`GET /v1/blocks/{height}/raw`, `application/octet-stream`): the block's
/// canonical encoding, then its finalization certificate, each with a `u32` length. This is
/// what a full node fetches and checks.
pub fn encode_raw_block(block: &civitas_types::Block, certificate: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, &civitas_types::codec::Encode::encode(block));
    put_bytes(&mut out, certificate);
    out
}

/// Reads a raw block body: the block and its certificate, each bounded before allocation. The
/// certificate is not checked here (see [`crate::light::verify_finalization`]).
pub fn decode_raw_block(body: &[u8]) -> Result<(civitas_types::Block, Vec<u8>), DecodeError> {
    let mut r = Reader::new(body);
    let block = civitas_types::Block::decode(r.bytes(limits::BLOCK_BYTES_MAX, "block")?)?;
    let certificate = r.bytes(CERTIFICATE_BYTES_MAX, "certificate")?.to_vec();
    r.finish()?;
    Ok((block, certificate))
}

/// Answer to a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubmitResponse {
    /// The transaction's hash, hex.
    pub hash: String,
}

/// One transaction's result in a batch submission: a hash if admitted, else the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchItem {
    /// The hash, when admitted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hash: Option<String>,
    /// The error code, when refused.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<String>,
    /// The error, for people, when refused.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

/// Answer to a batch submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    /// One result per transaction, in order.
    pub results: Vec<BatchItem>,
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// Waiting in the mempool.
    Pending,
    /// In a block; all its instructions took effect.
    Committed,
    /// In a block; it failed and changed nothing but its nonce.
    Failed,
}

/// A transaction's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TxStatusJson {
    /// Its hash.
    pub hash: String,
    /// Where it stands.
    pub status: TxState,
    /// The block's height, once in a block.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub height: Option<u64>,
    /// Its index in the block.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<u32>,
    /// The failure code, if it failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_code: Option<String>,
    /// The failure, for people.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_message: Option<String>,
}

/// A transaction as listed in a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockTxJson {
    /// Its hash.
    pub hash: String,
    /// Its signing key, hex.
    pub signer: String,
    /// Its nonce.
    pub nonce: u64,
    /// `committed` or `failed`.
    pub status: TxState,
    /// The failure code, if it failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_code: Option<String>,
}

/// A block header and one page of its transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockJson {
    /// Height.
    pub height: u64,
    /// Header hash, hex.
    pub hash: String,
    /// Parent's header hash, hex.
    pub parent_hash: String,
    /// The block's time.
    pub timestamp_ms: u64,
    /// The proposer's key, hex.
    pub proposer: String,
    /// How many transactions it holds.
    pub tx_count: u32,
    /// Merkle root of transaction hashes, hex.
    pub tx_root: String,
    /// Merkle root of receipts, hex.
    pub results_root: String,
    /// State root after the block, hex.
    pub state_root: String,
    /// The consensus certificate that finalized the block, hex (absent for genesis). Check it
    /// with [`crate::light::verify_finalization`] and the genesis validator set.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub certificate: Option<String>,
    /// Index of the first transaction on this page.
    pub offset: u32,
    /// The page of transactions.
    pub transactions: Vec<BlockTxJson>,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountJson {
    /// Its DID.
    pub did: String,
    /// Its current key, hex.
    pub public_key: String,
    /// The nonce its next transaction must carry.
    pub nonce: u64,
    /// Balance in minor units, decimal.
    pub balance: String,
    /// Its roles.
    pub roles: Vec<String>,
}

/// The node's view of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusJson {
    /// The chain's id.
    pub chain_id: String,
    /// Latest committed height.
    pub height: u64,
    /// Latest block's hash, hex.
    pub block_hash: String,
    /// State root after the latest block, hex.
    pub state_root: String,
    /// Latest block's time.
    pub timestamp_ms: u64,
    /// Transactions waiting.
    pub mempool_txs: u64,
    /// This node's validator key, hex; absent on a full node.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub validator: Option<String>,
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrgJson {
    /// Its DID.
    pub did: String,
    /// `department`, `company`, `manufacturer`, `payment_provider` or `employer`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// What a department does (`market_regulation`, `tax`).
    pub functions: Vec<String>,
    /// The height it was registered at (0: genesis).
    pub registered_height: u64,
    /// The organization that registered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
}

/// A council proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProposalJson {
    /// Its number.
    pub id: u64,
    /// What it does.
    pub action: CouncilActionJson,
    /// The member department that proposed it.
    pub proposer: String,
    /// The height it was made at.
    pub created_height: u64,
    /// The last height at which it can pass.
    pub expires_height: u64,
    /// The member departments that approved it.
    pub approvals: Vec<String>,
    /// `open` or `executed`.
    pub status: String,
    /// Where it executed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_height: Option<u64>,
}

/// The council.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CouncilJson {
    /// The member departments.
    pub members: Vec<String>,
    /// Approvals a proposal needs.
    pub threshold: u32,
}

/// A verifier's question: is this presentation, made for me with my nonce, good for this
/// purpose (under this consent)?
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialVerifyRequest {
    /// The SD-JWT+KB presentation.
    pub presentation: String,
    /// The verifier's DID: the key binding's audience.
    pub aud: String,
    /// The nonce the verifier gave the holder.
    pub nonce: String,
    /// Why the verifier looks (checked against the consent).
    pub purpose: String,
    /// The holder's consent, where the issuer's policy requires one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<u64>,
}

/// The answer: valid, or the code of the first check that failed; what was disclosed; and the
/// commitments a verifier records in the access log.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct VerificationJson {
    /// Whether every check passed.
    pub valid: bool,
    /// `ok`, or the failed check's code.
    pub outcome: String,
    /// For people.
    pub detail: String,
    /// The issuer, as the credential names it.
    pub issuer: Option<String>,
    /// The credential type.
    pub vct: Option<String>,
    /// The disclosed claims (only when valid).
    pub claims: serde_json::Value,
    /// Their names.
    pub disclosed: Vec<String>,
    /// The holder's key thumbprint (hex), for the access log.
    pub holder_ref: Option<String>,
    /// SHA-256 of the presentation (hex), for the access log.
    pub presentation: Option<String>,
}

/// A registered merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MerchantJson {
    /// Its DID.
    pub did: String,
    /// Its organization's name.
    pub name: String,
    /// Its taxpayer id.
    pub taxpayer_id: String,
    /// The tax department that registered it.
    pub registered_by: String,
    /// When.
    pub registered_height: u64,
}

/// The validator set that finalizes the next block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidatorSetJson {
    /// Its consensus epoch (0: the genesis set; one more at each change).
    pub epoch: u64,
    /// The first height it finalizes.
    pub from_height: u64,
    /// Validators that may fail or lie while the set stays safe and live.
    pub faults_tolerated: usize,
    /// The validators.
    pub validators: Vec<ValidatorJson>,
}

/// One validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidatorJson {
    /// Its consensus key, hex.
    pub public_key: String,
    /// Its p2p address (empty for a validator running alone).
    pub address: String,
    /// The department that runs it.
    pub name: String,
}

impl ValidatorSetJson {
    /// The JSON form of a set.
    pub fn from_set(set: &civitas_types::validators::ValidatorSet) -> ValidatorSetJson {
        ValidatorSetJson {
            epoch: set.epoch,
            from_height: set.from_height,
            faults_tolerated: set.faults_tolerated(),
            validators: set
                .validators
                .iter()
                .map(|v| ValidatorJson { public_key: v.key.to_hex(), address: v.address.clone(), name: v.name.clone() })
                .collect(),
        }
    }
}

/// An official's role in an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OfficialJson {
    /// The organization's DID.
    pub org: String,
    /// The official's DID.
    pub member: String,
    /// `admin` or `officer`.
    pub role: String,
}

/// One official act in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryJson {
    /// Its number in the whole trail.
    pub index: u64,
    /// The block it happened in.
    pub height: u64,
    /// That block's time.
    pub timestamp_ms: u64,
    /// The transaction, hex.
    pub tx_hash: String,
    /// The organization acted for.
    pub org: String,
    /// The official who acted.
    pub official: String,
    /// The instruction.
    pub instruction: String,
}

/// A page of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditPageJson {
    /// How many entries there are (in the whole trail, or for the organization asked about).
    pub total: u64,
    /// Position of the first entry of this page.
    pub from: u64,
    /// The entries.
    pub entries: Vec<AuditEntryJson>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_types::SecretKey;

    fn signed() -> SignedTransaction {
        let key = SecretKey::from_seed([1; 32]);
        Transaction {
            chain_id: "c".into(),
            signer: key.public_key(),
            nonce: 1,
            valid_until_height: 2,
            instructions: vec![
                Instruction::Accounts(AccountInstruction::RegisterAccount),
                Instruction::Accounts(AccountInstruction::Transfer {
                    to: Did::from_initial_key(&key.public_key()),
                    amount: u128::MAX,
                }),
            ],
        }
        .sign(&key)
    }

    #[test]
    fn json_form_round_trips() {
        let s = signed();
        let json = serde_json::to_string(&TransactionJson::from_signed(&s)).expect("serialize");
        let back: TransactionJson = serde_json::from_str(&json).expect("parse");
        assert_eq!(back.to_signed(), Ok(s));
    }

    #[test]
    fn bad_fields_are_named() {
        let mut j = TransactionJson::from_signed(&signed());
        j.instructions[1] = InstructionJson::Transfer { to: "did:web:x".into(), amount: "1".into() };
        assert_eq!(j.to_signed().map_err(|e| e.field), Err("instructions[1].to".to_string()));
        let mut j = TransactionJson::from_signed(&signed());
        j.instructions[1] = InstructionJson::Transfer { to: j.instructions.len().to_string(), amount: "-5".into() };
        assert!(j.to_signed().is_err());
        let mut j = TransactionJson::from_signed(&signed());
        j.signature = "00".into();
        assert_eq!(j.to_signed().map_err(|e| e.field), Err("signature".to_string()));
    }

    #[test]
    fn batch_frames_round_trip_and_broken_frames_fail() {
        let body = encode_batch(&[signed(), signed()]);
        let txs = decode_batch(&body).expect("frames");
        assert_eq!(txs.len(), 2);
        assert!(txs.iter().all(|t| t.as_ref() == Ok(&signed())));
        assert!(decode_batch(&body[..body.len() - 1]).is_err());
        let mut huge = Vec::new();
        put_len(&mut huge, BATCH_TXS_MAX + 1);
        assert!(matches!(decode_batch(&huge), Err(DecodeError::TooLong { .. })));
    }
}

/// The version of the proof document this build writes and reads.
pub const PROOF_VERSION: u32 = 1;

/// A self-contained proof of one fact, checkable offline with the genesis file
/// (`civitas verify`, [`crate::light::verify_proof`]). Documented in `docs/proofs.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofJson {
    /// Format version; see [`PROOF_VERSION`].
    pub version: u32,
    /// The chain the fact is on.
    pub chain_id: String,
    /// The height of the block the fact is proven against.
    pub height: u64,
    /// That block's header, canonical encoding, hex.
    pub header: String,
    /// The consensus certificate that finalized the block, hex.
    pub certificate: String,
    /// The fact and its Merkle evidence against the header.
    pub claim: ClaimJson,
    /// The validator-set changes between genesis and the block, oldest first; absent when the
    /// genesis set finalized it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validator_changes: Vec<ValidatorChangeJson>,
}

/// A change of validator set: the block that committed it, finalized by the outgoing set, and
/// the incoming set proven in that block's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatorChangeJson {
    /// The boundary block's header, canonical encoding, hex.
    pub header: String,
    /// Its finalization certificate (signed by the outgoing set), hex.
    pub certificate: String,
    /// The incoming set at `consensus/validators` in the block's state.
    pub validators: StateItemJson,
}

/// One step of a binary Merkle path, from the leaf up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MerkleStepJson {
    /// Whether the sibling is on the left.
    pub left: bool,
    /// The sibling's hash, hex.
    pub hash: String,
}

/// What a proof document claims, by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClaimJson {
    /// An account's record (or its absence) in the state after the block.
    Account {
        /// The DID.
        did: String,
        /// The state key, hex.
        state_key: String,
        /// The account record (canonical encoding, hex), or null: proven absent.
        value: Option<String>,
        /// The state proof (jmt `SparseMerkleProof<Sha256>`, borsh), hex.
        state_proof: String,
    },
    /// A DID's state after the block: its account (key `#key-0`), its document's settable part
    /// and its metadata, each with its state proof.
    Did {
        /// The DID.
        did: String,
        /// The account record.
        account: StateItemJson,
        /// The document's settable part.
        document: StateItemJson,
        /// The metadata (version, deactivation).
        meta: StateItemJson,
    },
    /// An audit trail entry in the state after the block.
    AuditEntry {
        /// Its number.
        index: u64,
        /// The state key, hex.
        state_key: String,
        /// The entry (canonical encoding, hex).
        value: String,
        /// The state proof (jmt `SparseMerkleProof<Sha256>`, borsh), hex.
        state_proof: String,
    },
    /// An invoice in the state after the block (`civitas invoice show N --prove`).
    Invoice {
        /// Its number.
        number: u64,
        /// The state key, hex.
        state_key: String,
        /// The invoice (canonical encoding, hex).
        value: String,
        /// The state proof, hex.
        state_proof: String,
    },
    /// Invoice totals in the state after the block: the chain's (no merchant), a merchant's
    /// (no days), or a merchant's over days `from_day..=to_day` (one item per day, summed).
    InvoiceTotals {
        /// The merchant's DID.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        merchant: Option<String>,
        /// The first day (days since the Unix epoch, UTC).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_day: Option<u64>,
        /// The last day.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_day: Option<u64>,
        /// The totals records, each with its proof; absent values count as zero.
        items: Vec<StateItemJson>,
    },
    /// A credential's status: the issuer's status-list chunk holding entry `index`.
    CredentialStatus {
        /// The issuer's DID.
        issuer: String,
        /// The entry.
        index: u32,
        /// The chunk (absent: every entry in it is valid).
        chunk: StateItemJson,
    },
    /// A transaction's inclusion in the block, with its receipt.
    Transaction {
        /// The transaction's hash, hex.
        tx_hash: String,
        /// Path from the transaction's leaf to the header's `tx_root`.
        tx_path: Vec<MerkleStepJson>,
        /// Its receipt (canonical encoding, hex).
        receipt: String,
        /// Path from the receipt's leaf to the header's `results_root`.
        receipt_path: Vec<MerkleStepJson>,
    },
}

/// One state key's value (or absence) with its proof against the header's state root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateItemJson {
    /// The state key, hex.
    pub state_key: String,
    /// The value (canonical encoding, hex), or null: proven absent.
    pub value: Option<String>,
    /// The state proof (jmt `SparseMerkleProof<Sha256>`, borsh), hex.
    pub state_proof: String,
}

/// The JSON form of a Merkle path.
pub fn path_json(path: &[(bool, civitas_types::Hash)]) -> Vec<MerkleStepJson> {
    path.iter().map(|(left, h)| MerkleStepJson { left: *left, hash: h.to_hex() }).collect()
}

impl ValidatorChangeJson {
    /// The JSON form of a boundary block's header and certificate, and the set (encoded) with
    /// its state proof.
    pub fn new(header: &civitas_types::BlockHeader, certificate: &[u8], set: &[u8], proof: &[u8]) -> Self {
        ValidatorChangeJson {
            header: hex::encode(civitas_types::codec::Encode::encode(header)),
            certificate: hex::encode(certificate),
            validators: StateItemJson {
                state_key: hex::encode(civitas_types::validators::VALIDATORS_KEY),
                value: Some(hex::encode(set)),
                state_proof: hex::encode(proof),
            },
        }
    }
}

impl ProofJson {
    /// The envelope around `claim` for a finalized block.
    pub fn new(chain_id: &str, header: &civitas_types::BlockHeader, certificate: &[u8], claim: ClaimJson) -> ProofJson {
        ProofJson {
            version: PROOF_VERSION,
            chain_id: chain_id.to_owned(),
            height: header.height,
            header: hex::encode(civitas_types::codec::Encode::encode(header)),
            certificate: hex::encode(certificate),
            claim,
            validator_changes: Vec::new(),
        }
    }

    /// The same document, carrying the validator-set changes a light client walks from genesis.
    pub fn with_changes(mut self, changes: Vec<ValidatorChangeJson>) -> ProofJson {
        self.validator_changes = changes;
        self
    }

    /// The proof document for an account (or its absence) at a finalized block.
    pub fn for_account(
        chain_id: &str,
        did: &Did,
        header: &civitas_types::BlockHeader,
        certificate: &[u8],
        state_key: &[u8],
        value: Option<&[u8]>,
        state_proof: &[u8],
    ) -> ProofJson {
        let claim = ClaimJson::Account {
            did: did.to_string(),
            state_key: hex::encode(state_key),
            value: value.map(hex::encode),
            state_proof: hex::encode(state_proof),
        };
        ProofJson::new(chain_id, header, certificate, claim)
    }
}

#[cfg(test)]
mod proof_format_tests {
    use super::*;
    use civitas_types::{BlockHeader, Hash};

    #[test]
    fn golden_proof_document() {
        // Pins the proof document's fields, order and encodings (docs/proofs.md).
        let header = BlockHeader {
            height: 3,
            parent_hash: Hash([1; 32]),
            timestamp_ms: 4,
            proposer: PublicKey([2; 32]),
            tx_count: 0,
            tx_root: Hash([5; 32]),
            results_root: Hash([6; 32]),
            state_root: Hash([7; 32]),
        };
        let did = Did::from_initial_key(&PublicKey([8; 32]));
        let doc = ProofJson::for_account("civitas-test", &did, &header, &[9, 9], b"acct/did/x", Some(&[10]), &[11]);
        let json = serde_json::to_string(&doc).expect("serialize");
        assert_eq!(
            Hash::digest(json.as_bytes()).to_hex(),
            "319bc897c64e9df831a3075cfa166c1b3e297d07c0b936ef4cef63ee44b18b20",
            "{json}"
        );
        assert_eq!(serde_json::from_str::<ProofJson>(&json).expect("parse"), doc);
    }
}
