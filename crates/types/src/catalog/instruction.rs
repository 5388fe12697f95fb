//! The catalog module's instructions: their one definition, names and canonical encoding.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ENDPOINT_BYTES_MAX, LICENCE_BYTES_MAX, SCHEMA_BYTES_MAX, TEXT_BYTES_MAX, TITLE_BYTES_MAX};
use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes};
use crate::{Did, Hash};

/// An instruction of the catalog module (tags 65 to 71 of [`crate::Instruction`]). Each is an
/// official act of the organization `by`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CatalogInstruction {
    /// Registers a dataset owned by `by`.
    RegisterDataset {
        /// Its title.
        title: String,
        /// What it holds.
        description: String,
        /// Its schema (JSON Schema, or a CSV header with types).
        schema: String,
        /// SHA-256 of its content.
        content_hash: Hash,
        /// Its licence (an SPDX identifier or a URL).
        licence: String,
        /// Where it is served (`https://`).
        endpoint: String,
        /// The owner.
        by: Did,
    },
    /// Publishes a new version of a dataset `by` owns: its content hash and where it is served.
    UpdateDataset {
        /// The dataset.
        dataset: u64,
        /// SHA-256 of the new content.
        content_hash: Hash,
        /// Where it is served now.
        endpoint: String,
        /// The owner.
        by: Did,
    },
    /// Retires a dataset `by` owns: no new requests or uses.
    RetireDataset {
        /// The dataset.
        dataset: u64,
        /// The owner.
        by: Did,
    },
    /// Asks the owner of `dataset` to let `by` use it for `purpose`, for `days` days.
    RequestAccess {
        /// The dataset.
        dataset: u64,
        /// What for.
        purpose: String,
        /// How long (1 to 3,660 days).
        days: u32,
        /// The requesting organization.
        by: Did,
    },
    /// The owner `by` grants a pending request (for `days` days from now, at most what was asked)
    /// or refuses it with a reason.
    DecideAccess {
        /// The request.
        request: u64,
        /// Grant (`true`) or refuse.
        grant: bool,
        /// How long a grant lasts (at most what was asked).
        #[serde(default)]
        days: u32,
        /// Why (required to refuse).
        #[serde(default)]
        reason: String,
        /// The owner.
        by: Did,
    },
    /// The owner `by` revokes a grant, with a reason.
    RevokeAccess {
        /// The grant.
        request: u64,
        /// Why.
        reason: String,
        /// The owner.
        by: Did,
    },
    /// The grantee `by` logs one use of the dataset under its grant.
    RecordUse {
        /// The grant.
        request: u64,
        /// What it was used for this time.
        note: String,
        /// The grantee.
        by: Did,
    },
}

impl crate::ModuleInstruction for CatalogInstruction {
    const MODULE: &'static str = "catalog";
    const NAMES: &'static [&'static str] = &[
        "register_dataset",
        "update_dataset",
        "retire_dataset",
        "request_access",
        "decide_access",
        "revoke_access",
        "record_use",
    ];

    fn tag(&self) -> u8 {
        match self {
            CatalogInstruction::RegisterDataset { .. } => 0,
            CatalogInstruction::UpdateDataset { .. } => 1,
            CatalogInstruction::RetireDataset { .. } => 2,
            CatalogInstruction::RequestAccess { .. } => 3,
            CatalogInstruction::DecideAccess { .. } => 4,
            CatalogInstruction::RevokeAccess { .. } => 5,
            CatalogInstruction::RecordUse { .. } => 6,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        let number = |out: &mut Vec<u8>, n: &u64| out.extend_from_slice(&n.to_be_bytes());
        match self {
            CatalogInstruction::RegisterDataset { title, description, schema, content_hash, licence, endpoint, by } => {
                for text in [title, description, schema] {
                    put_bytes(out, text.as_bytes());
                }
                content_hash.encode_to(out);
                put_bytes(out, licence.as_bytes());
                put_bytes(out, endpoint.as_bytes());
                by.encode_to(out);
            }
            CatalogInstruction::UpdateDataset { dataset, content_hash, endpoint, by } => {
                number(out, dataset);
                content_hash.encode_to(out);
                put_bytes(out, endpoint.as_bytes());
                by.encode_to(out);
            }
            CatalogInstruction::RetireDataset { dataset, by } => {
                number(out, dataset);
                by.encode_to(out);
            }
            CatalogInstruction::RequestAccess { dataset, purpose, days, by } => {
                number(out, dataset);
                put_bytes(out, purpose.as_bytes());
                out.extend_from_slice(&days.to_be_bytes());
                by.encode_to(out);
            }
            CatalogInstruction::DecideAccess { request, grant, days, reason, by } => {
                number(out, request);
                out.push(u8::from(*grant));
                out.extend_from_slice(&days.to_be_bytes());
                put_bytes(out, reason.as_bytes());
                by.encode_to(out);
            }
            CatalogInstruction::RevokeAccess { request, reason: text, by }
            | CatalogInstruction::RecordUse { request, note: text, by } => {
                number(out, request);
                put_bytes(out, text.as_bytes());
                by.encode_to(out);
            }
        }
    }

    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match tag {
            0 => CatalogInstruction::RegisterDataset {
                title: r.string(TITLE_BYTES_MAX, "title")?,
                description: r.string(TEXT_BYTES_MAX, "description")?,
                schema: r.string(SCHEMA_BYTES_MAX, "schema")?,
                content_hash: Hash::decode_from(r)?,
                licence: r.string(LICENCE_BYTES_MAX, "licence")?,
                endpoint: r.string(ENDPOINT_BYTES_MAX, "endpoint")?,
                by: Did::decode_from(r)?,
            },
            1 => CatalogInstruction::UpdateDataset {
                dataset: r.u64("dataset")?,
                content_hash: Hash::decode_from(r)?,
                endpoint: r.string(ENDPOINT_BYTES_MAX, "endpoint")?,
                by: Did::decode_from(r)?,
            },
            2 => CatalogInstruction::RetireDataset { dataset: r.u64("dataset")?, by: Did::decode_from(r)? },
            3 => CatalogInstruction::RequestAccess {
                dataset: r.u64("dataset")?,
                purpose: r.string(TEXT_BYTES_MAX, "purpose")?,
                days: r.u32("days")?,
                by: Did::decode_from(r)?,
            },
            4 => CatalogInstruction::DecideAccess {
                request: r.u64("request")?,
                grant: r.bool("grant")?,
                days: r.u32("days")?,
                reason: r.string(TEXT_BYTES_MAX, "reason")?,
                by: Did::decode_from(r)?,
            },
            5 => CatalogInstruction::RevokeAccess {
                request: r.u64("request")?,
                reason: r.string(TEXT_BYTES_MAX, "reason")?,
                by: Did::decode_from(r)?,
            },
            6 => CatalogInstruction::RecordUse {
                request: r.u64("request")?,
                note: r.string(TEXT_BYTES_MAX, "note")?,
                by: Did::decode_from(r)?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "catalog instruction", tag }),
        })
    }
}

#[cfg(test)]
use proptest::prelude::*;

#[cfg(test)]
impl CatalogInstruction {
    /// Any instruction of this module, for property tests.
    pub(crate) fn arbitrary() -> BoxedStrategy<CatalogInstruction> {
        let did = || any::<[u8; 32]>().prop_map(|k| Did::from_initial_key(&crate::PublicKey(k)));
        let text = || "[a-z ]{1,24}";
        let hash = || any::<[u8; 32]>().prop_map(Hash);
        prop_oneof![
            (text(), text(), text(), hash(), text(), text(), did()).prop_map(
                |(title, description, schema, content_hash, licence, endpoint, by)| {
                    CatalogInstruction::RegisterDataset {
                        title,
                        description,
                        schema,
                        content_hash,
                        licence,
                        endpoint,
                        by,
                    }
                }
            ),
            (any::<u64>(), hash(), text(), did()).prop_map(|(dataset, content_hash, endpoint, by)| {
                CatalogInstruction::UpdateDataset { dataset, content_hash, endpoint, by }
            }),
            (any::<u64>(), did()).prop_map(|(dataset, by)| CatalogInstruction::RetireDataset { dataset, by }),
            (any::<u64>(), text(), any::<u32>(), did()).prop_map(|(dataset, purpose, days, by)| {
                CatalogInstruction::RequestAccess { dataset, purpose, days, by }
            }),
            (any::<u64>(), any::<bool>(), any::<u32>(), text(), did()).prop_map(
                |(request, grant, days, reason, by)| {
                    CatalogInstruction::DecideAccess { request, grant, days, reason, by }
                }
            ),
            (any::<u64>(), text(), did()).prop_map(|(request, reason, by)| CatalogInstruction::RevokeAccess {
                request,
                reason,
                by
            }),
            (any::<u64>(), text(), did()).prop_map(|(request, note, by)| CatalogInstruction::RecordUse {
                request,
                note,
                by
            }),
        ]
        .boxed()
    }
}
