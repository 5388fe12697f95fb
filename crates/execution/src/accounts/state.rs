//! The accounts module's keys and records.

use civitas_state::TxState;
use civitas_types::account::Account;
use civitas_types::codec::Encode;
use civitas_types::{Amount, PublicKey, Role};

pub(crate) const SUPPLY_KEY: &[u8] = b"acct/supply";

pub(crate) use civitas_types::account::account_key;

pub(crate) fn key_index_key(key: &PublicKey) -> Vec<u8> {
    [b"acct/key/".as_slice(), &key.0].concat()
}

pub(crate) fn put_account(state: &mut TxState<'_, '_>, account: &Account) {
    state.put(account_key(&account.did), account.encode());
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
