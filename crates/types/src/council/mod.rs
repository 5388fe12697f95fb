//! The council: the departments that govern the chain. A proposal passes with the approval of
//! a threshold of members before it expires, and then executes at once.

mod instruction;
pub use instruction::CouncilInstruction;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::PublicKey;
use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_seq};
use crate::did::Did;
use crate::org::{ORG_FUNCTIONS_MAX, ORG_NAME_BYTES_MAX, OrgFunction, OrgKind};
use crate::validators::Validator;

/// Longest credential type (`vct`), in bytes.
pub const VCT_BYTES_MAX: usize = 256;
/// Most council members.
pub const COUNCIL_MAX: usize = 32;
/// Longest a proposal may stay open, in blocks.
pub const PROPOSAL_TTL_MAX: u64 = 1_000_000;

/// What a council proposal does once it passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CouncilAction {
    /// Accredit organization `issuer` to issue credentials of type `vct`.
    AccreditIssuer {
        /// The issuer.
        issuer: Did,
        /// The credential type.
        vct: String,
    },
    /// Register an organization the council registers (a department, manufacturer or payment
    /// provider; companies and employers too, if the council wishes).
    RegisterOrganization {
        /// Its account.
        org: Did,
        /// Its kind.
        kind: OrgKind,
        /// Its name.
        name: String,
        /// Its functions (departments).
        #[serde(default)]
        functions: Vec<OrgFunction>,
    },
    /// Change how many approvals a proposal needs.
    SetThreshold {
        /// The new threshold (1 to the number of members).
        threshold: u32,
    },
    /// Add a validator; it votes from the block after the one that executes this (a new
    /// consensus epoch).
    AddValidator {
        /// The new validator.
        #[serde(flatten)]
        validator: Validator,
    },
    /// Remove a validator; it stops voting after the block that executes this.
    RemoveValidator {
        /// Its consensus key.
        #[serde(rename = "public_key")]
        key: PublicKey,
    },
    /// Trust a Product Attestation Authority: a root certificate devices' attestation chains
    /// may end at (checked against the Matter profile, self-signed, valid now).
    AddPaa {
        /// The certificate, DER.
        #[serde(with = "crate::json::hex_bytes")]
        #[schema(value_type = String, pattern = "^([0-9a-fA-F]{2}){1,2048}$")]
        certificate: Vec<u8>,
    },
    /// Revoke a Product Attestation Authority for good: no device attested under it registers
    /// any more.
    RevokePaa {
        /// Its subject key identifier (20 bytes).
        #[serde(with = "crate::json::hex_bytes")]
        #[schema(value_type = String, pattern = "^[0-9a-fA-F]{40}$")]
        subject_key_id: Vec<u8>,
        /// Why.
        reason: String,
    },
}

impl CouncilAction {
    /// The action's stable name.
    pub fn name(&self) -> &'static str {
        match self {
            CouncilAction::AccreditIssuer { .. } => "accredit_issuer",
            CouncilAction::RegisterOrganization { .. } => "register_organization",
            CouncilAction::SetThreshold { .. } => "set_threshold",
            CouncilAction::AddValidator { .. } => "add_validator",
            CouncilAction::RemoveValidator { .. } => "remove_validator",
            CouncilAction::AddPaa { .. } => "add_paa",
            CouncilAction::RevokePaa { .. } => "revoke_paa",
        }
    }
}

impl Encode for CouncilAction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            CouncilAction::AccreditIssuer { issuer, vct } => {
                out.push(0);
                issuer.encode_to(out);
                put_bytes(out, vct.as_bytes());
            }
            CouncilAction::RegisterOrganization { org, kind, name, functions } => {
                out.push(1);
                org.encode_to(out);
                kind.encode_to(out);
                put_bytes(out, name.as_bytes());
                put_seq(out, functions);
            }
            CouncilAction::SetThreshold { threshold } => {
                out.push(2);
                out.extend_from_slice(&threshold.to_be_bytes());
            }
            CouncilAction::AddValidator { validator } => {
                out.push(3);
                validator.encode_to(out);
            }
            CouncilAction::RemoveValidator { key } => {
                out.push(4);
                key.encode_to(out);
            }
            CouncilAction::AddPaa { certificate } => {
                out.push(5);
                put_bytes(out, certificate);
            }
            CouncilAction::RevokePaa { subject_key_id, reason } => {
                out.push(6);
                put_bytes(out, subject_key_id);
                put_bytes(out, reason.as_bytes());
            }
        }
    }
}

impl Decode for CouncilAction {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("council action")? {
            0 => CouncilAction::AccreditIssuer { issuer: Did::decode_from(r)?, vct: r.string(VCT_BYTES_MAX, "vct")? },
            1 => CouncilAction::RegisterOrganization {
                org: Did::decode_from(r)?,
                kind: OrgKind::decode_from(r)?,
                name: r.string(ORG_NAME_BYTES_MAX, "organization name")?,
                functions: r.seq(ORG_FUNCTIONS_MAX, "functions", OrgFunction::decode_from)?,
            },
            2 => CouncilAction::SetThreshold { threshold: r.u32("threshold")? },
            3 => CouncilAction::AddValidator { validator: Validator::decode_from(r)? },
            4 => CouncilAction::RemoveValidator { key: PublicKey::decode_from(r)? },
            5 => CouncilAction::AddPaa {
                certificate: r.bytes(crate::device::attestation::CERT_DER_BYTES_MAX, "certificate")?.to_vec(),
            },
            6 => CouncilAction::RevokePaa {
                subject_key_id: r.bytes(crate::device::KEY_ID_BYTES, "subject key id")?.to_vec(),
                reason: r.string(crate::device::REVOCATION_REASON_BYTES_MAX, "reason")?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "council action", tag }),
        })
    }
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalStatus {
    /// Collecting approvals.
    Open,
    /// Passed and executed at this height. (An approval whose action fails is refused with
    /// the reason, and the proposal stays open.)
    Executed(u64),
}

/// A council proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Its number.
    pub id: u64,
    /// What it does.
    pub action: CouncilAction,
    /// The member department that proposed it.
    pub proposer: Did,
    /// The height it was made at.
    pub created_height: u64,
    /// The last height at which it can pass.
    pub expires_height: u64,
    /// The member departments that approved it, in order.
    pub approvals: Vec<Did>,
    /// Where it stands.
    pub status: ProposalStatus,
}

impl Encode for Proposal {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        self.action.encode_to(out);
        self.proposer.encode_to(out);
        out.extend_from_slice(&self.created_height.to_be_bytes());
        out.extend_from_slice(&self.expires_height.to_be_bytes());
        put_seq(out, &self.approvals);
        match self.status {
            ProposalStatus::Open => out.push(0),
            ProposalStatus::Executed(h) => {
                out.push(1);
                out.extend_from_slice(&h.to_be_bytes());
            }
        }
    }
}

impl Decode for Proposal {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Proposal {
            id: r.u64("proposal id")?,
            action: CouncilAction::decode_from(r)?,
            proposer: Did::decode_from(r)?,
            created_height: r.u64("created height")?,
            expires_height: r.u64("expires height")?,
            approvals: r.seq(COUNCIL_MAX, "approvals", Did::decode_from)?,
            status: match r.u8("status")? {
                0 => ProposalStatus::Open,
                1 => ProposalStatus::Executed(r.u64("height")?),
                tag => return Err(DecodeError::UnknownTag { what: "status", tag }),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;

    #[test]
    fn proposals_round_trip() {
        let d = |n: u8| Did::from_initial_key(&SecretKey::from_seed([n; 32]).public_key());
        for action in [
            CouncilAction::AccreditIssuer { issuer: d(1), vct: "https://civitas.example/vct/permit".into() },
            CouncilAction::RegisterOrganization {
                org: d(2),
                kind: OrgKind::Manufacturer,
                name: "Sensors Inc".into(),
                functions: vec![],
            },
            CouncilAction::SetThreshold { threshold: 3 },
        ] {
            let p = Proposal {
                id: 7,
                action,
                proposer: d(3),
                created_height: 5,
                expires_height: 50,
                approvals: vec![d(3), d(4)],
                status: ProposalStatus::Executed(9),
            };
            assert_eq!(Proposal::decode(&p.encode()).expect("decodes"), p);
        }
        assert!(Proposal::decode(&[0; 9]).is_err());
    }
}
