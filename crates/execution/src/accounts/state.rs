//! The accounts module's keys and records.

use civitas_state::TxState;
use civitas_types::codec::{put_seq, Decode, DecodeError, Encode, Reader};
use civitas_types::{limits, Amount, Did, PublicKey, Role};

pub(crate) const SUPPLY_KEY: &[u8] = b"acct/supply";

pub(crate) fn account_key(did: &Did) -> Vec<u8> {
    [b"acct/did/".as_slice(), did.as_bytes()].concat()
}

pub(crate) fn key_index_key(key: &PublicKey) -> Vec<u8> {
    [b"acct/key/".as_slice(), &key.0].concat()
}

pub(crate) fn put_account(state: &mut TxState<'_, '_>, account: &Account) {
    state.put(account_key(&account.did), account.encode());
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

/// An account written at genesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisAccount {
    /// Its key; its DID derives from it.
    pub public_key: PublicKey,
    /// Its opening balance.
    pub balance: Amount,
    /// Its roles.
    pub roles: Vec<Role>,
}
