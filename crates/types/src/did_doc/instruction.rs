//! The dids module's instructions: their one definition, names and canonical encoding.

use super::DidDocumentData;
use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::{Did, PublicKey, Signature};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An instruction of the dids module (tags 4 to 6 of [`crate::Instruction`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DidInstruction {
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
    /// recovery key signs [`DidInstruction::recovery_message`]. The recovery key is then spent.
    RecoverDid {
        /// The DID to recover.
        did: Did,
        /// The recovery key, revealed.
        recovery_key: PublicKey,
        /// Its signature over the recovery message.
        proof: Signature,
    },
}

impl crate::ModuleInstruction for DidInstruction {
    const MODULE: &'static str = "dids";
    const NAMES: &'static [&'static str] = &["update_did", "deactivate_did", "recover_did"];

    fn tag(&self) -> u8 {
        match self {
            DidInstruction::UpdateDid { .. } => 0,
            DidInstruction::DeactivateDid { .. } => 1,
            DidInstruction::RecoverDid { .. } => 2,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        match self {
            DidInstruction::UpdateDid { did, document } => {
                did.encode_to(out);
                document.encode_to(out);
            }
            DidInstruction::DeactivateDid { did } => {
                did.encode_to(out);
            }
            DidInstruction::RecoverDid { did, recovery_key, proof } => {
                did.encode_to(out);
                recovery_key.encode_to(out);
                proof.encode_to(out);
            }
        }
    }

    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match tag {
            0 => DidInstruction::UpdateDid { did: Did::decode_from(r)?, document: DidDocumentData::decode_from(r)? },
            1 => DidInstruction::DeactivateDid { did: Did::decode_from(r)? },
            2 => DidInstruction::RecoverDid {
                did: Did::decode_from(r)?,
                recovery_key: PublicKey::decode_from(r)?,
                proof: Signature::decode_from(r)?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "dids instruction", tag }),
        })
    }
}

impl DidInstruction {
    /// What a recovery key signs to move `did` to `new_key`.
    pub fn recovery_message(did: &Did, new_key: &PublicKey) -> Vec<u8> {
        let mut out = b"civitas/did-recovery/v1\0".to_vec();
        did.encode_to(&mut out);
        new_key.encode_to(&mut out);
        out
    }
}

#[cfg(test)]
use proptest::prelude::*;

#[cfg(test)]
impl DidInstruction {
    /// Any instruction of this module, for property tests.
    pub(crate) fn arbitrary() -> BoxedStrategy<DidInstruction> {
        use crate::Hash;
        use crate::did_doc::{KeyMaterial, Relations, Service, VerificationMethod};
        prop_oneof![
            (any::<[u8; 32]>(), "[a-z0-9-]{1,8}", any::<[u8; 32]>(), "https://[a-z]{1,12}", any::<bool>(), 0..3u8)
                .prop_map(|(k, fragment, m, endpoint, recovery, kind)| {
                    let did = Did::from_initial_key(&PublicKey(k));
                    let (key, relations) = match kind {
                        0 => (KeyMaterial::Ed25519(m), Relations::ASSERTION_METHOD),
                        1 => {
                            let mut p256 = [2u8; 33];
                            p256[1..].copy_from_slice(&m);
                            (KeyMaterial::P256(p256), Relations::AUTHENTICATION.with(Relations::ASSERTION_METHOD))
                        }
                        _ => (KeyMaterial::X25519(m), Relations::KEY_AGREEMENT),
                    };
                    let document = DidDocumentData {
                        controllers: vec![Did::from_initial_key(&PublicKey(m))],
                        methods: vec![VerificationMethod { fragment: fragment.clone(), key, relations }],
                        services: vec![Service { fragment, kind: "LinkedDomains".into(), endpoint }],
                        recovery_key_hash: recovery.then_some(Hash(m)),
                    };
                    DidInstruction::UpdateDid { did, document }
                }),
            any::<[u8; 32]>().prop_map(|k| DidInstruction::DeactivateDid { did: Did::from_initial_key(&PublicKey(k)) }),
            (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(k, s)| {
                let mut sig = [0u8; 64];
                sig[32..].copy_from_slice(&s);
                DidInstruction::RecoverDid {
                    did: Did::from_initial_key(&PublicKey(k)),
                    recovery_key: PublicKey(s),
                    proof: Signature(sig),
                }
            }),
        ]
        .boxed()
    }
}
