//! The account record as stored in state under [`account_key`]. Light clients decode it from
//! proven state, so its encoding is part of the public format.

mod instruction;
pub use instruction::AccountInstruction;

use crate::codec::{Decode, DecodeError, Encode, Reader, put_seq};
use crate::{Amount, Did, PublicKey, Role, limits};

/// The state key of the account with `did`.
pub fn account_key(did: &Did) -> Vec<u8> {
    [b"acct/did/".as_slice(), did.as_bytes()].concat()
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its DID, fixed at registration.
    pub did: Did,
    /// The key that signs for it now.
    pub public_key: PublicKey,
    /// The nonce its next transaction must carry.
    pub nonce: u64,
    /// Its balance, in minor units.
    pub balance: Amount,
    /// Its roles, sorted, without duplicates.
    pub roles: Vec<Role>,
}

impl Encode for Account {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.did.encode_to(out);
        self.public_key.encode_to(out);
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(&self.balance.to_be_bytes());
        put_seq(out, &self.roles);
    }
}

impl Decode for Account {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Account {
            did: Did::decode_from(r)?,
            public_key: PublicKey::decode_from(r)?,
            nonce: r.u64("nonce")?,
            balance: r.u128("balance")?,
            roles: r.seq(limits::ROLES_MAX, "roles", Role::decode_from)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Decode;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn account_round_trips(k in any::<[u8; 32]>(), nonce in any::<u64>(), balance in any::<u128>(), finance in any::<bool>()) {
            let key = PublicKey(k);
            let roles = if finance { vec![Role::Finance] } else { vec![] };
            let a = Account { did: Did::from_initial_key(&key), public_key: key, nonce, balance, roles };
            prop_assert_eq!(Account::decode(&a.encode()), Ok(a));
        }

        #[test]
        fn account_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
            let _ = Account::decode(&bytes);
        }
    }
}
