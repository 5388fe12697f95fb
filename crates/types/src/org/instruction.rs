//! The orgs module's instructions: their one definition, names and canonical encoding.

use super::{OrgKind, OrgRole};
use crate::Did;
use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An instruction of the orgs module (tags 7 to 8 of [`crate::Instruction`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OrgInstruction {
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<OrgRole>,
    },
}

impl crate::ModuleInstruction for OrgInstruction {
    const MODULE: &'static str = "orgs";
    const NAMES: &'static [&'static str] = &["register_organization", "set_member"];

    fn tag(&self) -> u8 {
        match self {
            OrgInstruction::RegisterOrganization { .. } => 0,
            OrgInstruction::SetMember { .. } => 1,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        match self {
            OrgInstruction::RegisterOrganization { org, kind, name, by } => {
                org.encode_to(out);
                kind.encode_to(out);
                put_bytes(out, name.as_bytes());
                by.encode_to(out);
            }
            OrgInstruction::SetMember { org, member, role } => {
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
        }
    }

    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match tag {
            0 => OrgInstruction::RegisterOrganization {
                org: Did::decode_from(r)?,
                kind: OrgKind::decode_from(r)?,
                name: r.string(crate::org::ORG_NAME_BYTES_MAX, "organization name")?,
                by: Did::decode_from(r)?,
            },
            1 => OrgInstruction::SetMember {
                org: Did::decode_from(r)?,
                member: Did::decode_from(r)?,
                role: match r.u8("role")? {
                    0 => None,
                    1 => Some(OrgRole::decode_from(r)?),
                    tag => return Err(DecodeError::UnknownTag { what: "role", tag }),
                },
            },
            tag => return Err(DecodeError::UnknownTag { what: "orgs instruction", tag }),
        })
    }
}

#[cfg(test)]
use proptest::prelude::*;

#[cfg(test)]
impl OrgInstruction {
    /// Any instruction of this module, for property tests.
    pub(crate) fn arbitrary() -> BoxedStrategy<OrgInstruction> {
        (any::<[u8; 32]>(), "[ -~]{0,20}", any::<bool>())
            .prop_map(|(k, name, company)| {
                let org = Did::from_initial_key(&crate::PublicKey(k));
                if company {
                    OrgInstruction::RegisterOrganization { org, kind: OrgKind::Company, name, by: org }
                } else {
                    OrgInstruction::SetMember { org, member: org, role: name.is_empty().then_some(OrgRole::Officer) }
                }
            })
            .boxed()
    }
}
