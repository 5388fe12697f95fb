//! The council module's instructions: their one definition, names and canonical encoding.

use super::CouncilAction;
use crate::Did;
use crate::codec::{Decode, DecodeError, Encode, Reader};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An instruction of the council module (tags 9 to 10 of [`crate::Instruction`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CouncilInstruction {
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
}

impl crate::ModuleInstruction for CouncilInstruction {
    const MODULE: &'static str = "council";
    const NAMES: &'static [&'static str] = &["propose", "approve"];

    fn tag(&self) -> u8 {
        match self {
            CouncilInstruction::Propose { .. } => 0,
            CouncilInstruction::Approve { .. } => 1,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        match self {
            CouncilInstruction::Propose { action, ttl_blocks, by } => {
                action.encode_to(out);
                out.extend_from_slice(&ttl_blocks.to_be_bytes());
                by.encode_to(out);
            }
            CouncilInstruction::Approve { proposal, by } => {
                out.extend_from_slice(&proposal.to_be_bytes());
                by.encode_to(out);
            }
        }
    }

    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match tag {
            0 => CouncilInstruction::Propose {
                action: CouncilAction::decode_from(r)?,
                ttl_blocks: r.u64("ttl")?,
                by: Did::decode_from(r)?,
            },
            1 => CouncilInstruction::Approve { proposal: r.u64("proposal")?, by: Did::decode_from(r)? },
            tag => return Err(DecodeError::UnknownTag { what: "council instruction", tag }),
        })
    }
}

#[cfg(test)]
use proptest::prelude::*;

#[cfg(test)]
impl CouncilInstruction {
    /// Any instruction of this module, for property tests (every kind of action).
    pub(crate) fn arbitrary() -> BoxedStrategy<CouncilInstruction> {
        use crate::org::{OrgFunction, OrgKind};
        use crate::validators::Validator;
        (any::<[u8; 32]>(), any::<u64>(), "[ -~]{0,20}", 0u8..8)
            .prop_map(|(k, n, text, which)| {
                let by = Did::from_initial_key(&crate::PublicKey(k));
                let action = match which {
                    0 => return CouncilInstruction::Approve { proposal: n, by },
                    1 => CouncilAction::AccreditIssuer { issuer: by, vct: text },
                    2 => CouncilAction::RegisterOrganization {
                        org: by,
                        kind: OrgKind::Manufacturer,
                        name: text,
                        functions: vec![OrgFunction::Tax],
                    },
                    3 => CouncilAction::SetThreshold { threshold: n as u32 },
                    4 => CouncilAction::AddValidator {
                        validator: Validator { key: crate::PublicKey(k), address: text.clone(), name: text },
                    },
                    5 => CouncilAction::RemoveValidator { key: crate::PublicKey(k) },
                    6 => CouncilAction::AddPaa { certificate: k.to_vec() },
                    _ => CouncilAction::RevokePaa { subject_key_id: k[..20].to_vec(), reason: text },
                };
                CouncilInstruction::Propose { action, ttl_blocks: n, by }
            })
            .boxed()
    }
}
