//! The accounts module's instructions: their one definition, names and canonical encoding.

use crate::Amount;
use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::{Did, PublicKey, Signature};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An instruction of the accounts module (tags 0 to 3 of [`crate::Instruction`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AccountInstruction {
    /// Creates the signer's account; its DID is derived from the signing key.
    RegisterAccount,
    /// Replaces the signer's key. `proof` is the new key's signature over
    /// [`AccountInstruction::rotation_message`], showing the signer holds it.
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
        #[serde(with = "crate::json::amount")]
        #[schema(value_type = String, pattern = "^[0-9]+$")]
        amount: Amount,
    },
    /// Creates currency in `to`'s account. Finance role only.
    Mint {
        /// The receiving account.
        to: Did,
        /// How much, in minor units.
        #[serde(with = "crate::json::amount")]
        #[schema(value_type = String, pattern = "^[0-9]+$")]
        amount: Amount,
    },
}

impl crate::ModuleInstruction for AccountInstruction {
    const MODULE: &'static str = "accounts";
    const NAMES: &'static [&'static str] = &["register_account", "rotate_key", "transfer", "mint"];

    fn tag(&self) -> u8 {
        match self {
            AccountInstruction::RegisterAccount => 0,
            AccountInstruction::RotateKey { .. } => 1,
            AccountInstruction::Transfer { .. } => 2,
            AccountInstruction::Mint { .. } => 3,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        match self {
            AccountInstruction::RegisterAccount => {}
            AccountInstruction::RotateKey { new_key, proof } => {
                new_key.encode_to(out);
                proof.encode_to(out);
            }
            AccountInstruction::Transfer { to, amount } => {
                to.encode_to(out);
                out.extend_from_slice(&amount.to_be_bytes());
            }
            AccountInstruction::Mint { to, amount } => {
                to.encode_to(out);
                out.extend_from_slice(&amount.to_be_bytes());
            }
        }
    }

    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match tag {
            0 => AccountInstruction::RegisterAccount,
            1 => {
                AccountInstruction::RotateKey { new_key: PublicKey::decode_from(r)?, proof: Signature::decode_from(r)? }
            }
            2 => AccountInstruction::Transfer { to: Did::decode_from(r)?, amount: r.u128("amount")? },
            3 => AccountInstruction::Mint { to: Did::decode_from(r)?, amount: r.u128("amount")? },
            tag => return Err(DecodeError::UnknownTag { what: "accounts instruction", tag }),
        })
    }
}

impl AccountInstruction {
    /// What the new key signs to prove possession when `did` rotates to it.
    pub fn rotation_message(did: &Did, new_key: &PublicKey) -> Vec<u8> {
        let mut m = b"civitas/rotate-key/v1\0".to_vec();
        did.encode_to(&mut m);
        new_key.encode_to(&mut m);
        m
    }
}

#[cfg(test)]
use proptest::prelude::*;

#[cfg(test)]
impl AccountInstruction {
    /// Any instruction of this module, for property tests.
    pub(crate) fn arbitrary() -> BoxedStrategy<AccountInstruction> {
        prop_oneof![
            Just(AccountInstruction::RegisterAccount),
            (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(k, s)| {
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(&s);
                AccountInstruction::RotateKey { new_key: PublicKey(k), proof: Signature(sig) }
            }),
            (any::<[u8; 32]>(), any::<u128>()).prop_map(|(k, amount)| AccountInstruction::Transfer {
                to: Did::from_initial_key(&PublicKey(k)),
                amount
            }),
            (any::<[u8; 32]>(), any::<u128>())
                .prop_map(|(k, amount)| AccountInstruction::Mint { to: Did::from_initial_key(&PublicKey(k)), amount }),
        ]
        .boxed()
    }
}
