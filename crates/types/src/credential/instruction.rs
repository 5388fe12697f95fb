//! The credentials module's instructions: their one definition, names and canonical encoding.

use super::put_strings;
use super::{CredentialPolicy, CredentialStatus};
use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes};
use crate::{Did, Hash};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An instruction of the credentials module (tags 17 to 23 of [`crate::Instruction`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CredentialInstruction {
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
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

impl crate::ModuleInstruction for CredentialInstruction {
    const MODULE: &'static str = "credentials";
    const NAMES: &'static [&'static str] = &[
        "define_credential_type",
        "anchor_credential",
        "set_credential_status",
        "grant_consent",
        "approve_consent",
        "withdraw_consent",
        "record_access",
    ];

    fn tag(&self) -> u8 {
        match self {
            CredentialInstruction::DefineCredentialType { .. } => 0,
            CredentialInstruction::AnchorCredential { .. } => 1,
            CredentialInstruction::SetCredentialStatus { .. } => 2,
            CredentialInstruction::GrantConsent { .. } => 3,
            CredentialInstruction::ApproveConsent { .. } => 4,
            CredentialInstruction::WithdrawConsent { .. } => 5,
            CredentialInstruction::RecordAccess { .. } => 6,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        match self {
            CredentialInstruction::DefineCredentialType { vct, schema, policy, by } => {
                put_bytes(out, vct.as_bytes());
                put_bytes(out, schema.as_bytes());
                policy.encode_to(out);
                by.encode_to(out);
            }
            CredentialInstruction::AnchorCredential { vct, commitment, status_index, by } => {
                put_bytes(out, vct.as_bytes());
                commitment.encode_to(out);
                out.extend_from_slice(&status_index.to_be_bytes());
                by.encode_to(out);
            }
            CredentialInstruction::SetCredentialStatus { status_index, status, by } => {
                out.extend_from_slice(&status_index.to_be_bytes());
                out.push(*status as u8);
                by.encode_to(out);
            }
            CredentialInstruction::GrantConsent { verifier, issuer, vct, purpose, claims, ttl_blocks, max_uses } => {
                verifier.encode_to(out);
                issuer.encode_to(out);
                put_bytes(out, vct.as_bytes());
                put_bytes(out, purpose.as_bytes());
                put_strings(out, claims);
                out.extend_from_slice(&ttl_blocks.to_be_bytes());
                out.extend_from_slice(&max_uses.to_be_bytes());
            }
            CredentialInstruction::ApproveConsent { consent, by } => {
                out.extend_from_slice(&consent.to_be_bytes());
                by.encode_to(out);
            }
            CredentialInstruction::WithdrawConsent { consent } => {
                out.extend_from_slice(&consent.to_be_bytes());
            }
            CredentialInstruction::RecordAccess {
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

    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match tag {
            0 => CredentialInstruction::DefineCredentialType {
                vct: r.string(crate::credential::VCT_BYTES_MAX, "vct")?,
                schema: r.string(crate::credential::SCHEMA_BYTES_MAX, "schema")?,
                policy: CredentialPolicy::decode_from(r)?,
                by: Did::decode_from(r)?,
            },
            1 => CredentialInstruction::AnchorCredential {
                vct: r.string(crate::credential::VCT_BYTES_MAX, "vct")?,
                commitment: Hash::decode_from(r)?,
                status_index: r.u32("status index")?,
                by: Did::decode_from(r)?,
            },
            2 => CredentialInstruction::SetCredentialStatus {
                status_index: r.u32("status index")?,
                status: {
                    let bits = r.u8("status")?;
                    CredentialStatus::from_bits(bits)
                        .ok_or(DecodeError::UnknownTag { what: "credential status", tag: bits })?
                },
                by: Did::decode_from(r)?,
            },
            3 => CredentialInstruction::GrantConsent {
                verifier: Did::decode_from(r)?,
                issuer: Did::decode_from(r)?,
                vct: r.string(crate::credential::VCT_BYTES_MAX, "vct")?,
                purpose: r.string(crate::credential::PURPOSE_BYTES_MAX, "purpose")?,
                claims: r.seq(crate::credential::CLAIMS_MAX, "claims", |r| {
                    r.string(crate::credential::CLAIM_BYTES_MAX, "claim")
                })?,
                ttl_blocks: r.u64("ttl")?,
                max_uses: r.u32("max uses")?,
            },
            4 => CredentialInstruction::ApproveConsent { consent: r.u64("consent")?, by: Did::decode_from(r)? },
            5 => CredentialInstruction::WithdrawConsent { consent: r.u64("consent")? },
            6 => CredentialInstruction::RecordAccess {
                issuer: Did::decode_from(r)?,
                vct: r.string(crate::credential::VCT_BYTES_MAX, "vct")?,
                purpose: r.string(crate::credential::PURPOSE_BYTES_MAX, "purpose")?,
                consent: match r.u8("consent")? {
                    0 => None,
                    1 => Some(r.u64("consent")?),
                    tag => return Err(DecodeError::UnknownTag { what: "consent", tag }),
                },
                holder_ref: Hash::decode_from(r)?,
                presentation: Hash::decode_from(r)?,
                disclosed: r.seq(crate::credential::CLAIMS_MAX, "disclosed", |r| {
                    r.string(crate::credential::CLAIM_BYTES_MAX, "claim")
                })?,
                outcome: r.string(crate::credential::OUTCOME_BYTES_MAX, "outcome")?,
                by: Did::decode_from(r)?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "credentials instruction", tag }),
        })
    }
}

#[cfg(test)]
use proptest::prelude::*;

#[cfg(test)]
impl CredentialInstruction {
    /// Any instruction of this module, for property tests.
    pub(crate) fn arbitrary() -> BoxedStrategy<CredentialInstruction> {
        use crate::credential::DisclosureRule;
        use crate::org::OrgKind;
        (any::<[u8; 32]>(), any::<u32>(), "[a-z_]{1,12}", 0u8..7)
            .prop_map(|(k, n, text, which)| {
                let by = Did::from_initial_key(&crate::PublicKey(k));
                match which {
                    0 => CredentialInstruction::DefineCredentialType {
                        vct: text.clone(),
                        schema: "{}".into(),
                        policy: CredentialPolicy {
                            holder_consent: n % 2 == 0,
                            issuer_approval: n % 3 == 0,
                            rules: vec![DisclosureRule { verifier_kind: OrgKind::Department, claims: vec![text] }],
                        },
                        by,
                    },
                    1 => {
                        CredentialInstruction::AnchorCredential { vct: text, commitment: Hash(k), status_index: n, by }
                    }
                    2 => CredentialInstruction::SetCredentialStatus {
                        status_index: n,
                        status: CredentialStatus::Suspended,
                        by,
                    },
                    3 => CredentialInstruction::GrantConsent {
                        verifier: by,
                        issuer: by,
                        vct: text.clone(),
                        purpose: text.clone(),
                        claims: vec![text],
                        ttl_blocks: u64::from(n),
                        max_uses: n,
                    },
                    4 => CredentialInstruction::ApproveConsent { consent: u64::from(n), by },
                    5 => CredentialInstruction::WithdrawConsent { consent: u64::from(n) },
                    _ => CredentialInstruction::RecordAccess {
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
            })
            .boxed()
    }
}
