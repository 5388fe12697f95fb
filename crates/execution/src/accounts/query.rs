//! Read-only views of accounts.

use civitas_state::{StateRead, StoreError};
use civitas_types::codec::Decode;
use civitas_types::{Amount, Did, PublicKey};

use super::Account;
use super::state::{SUPPLY_KEY, account_key, key_index_key};

/// The account with `did`.
pub fn account(state: &impl StateRead, did: &Did) -> Result<Option<Account>, StoreError> {
    match state.get(&account_key(did))? {
        None => Ok(None),
        Some(bytes) => Ok(Some(Account::decode(&bytes)?)),
    }
}

/// The account whose current key is `key`.
pub fn account_by_key(state: &impl StateRead, key: &PublicKey) -> Result<Option<Account>, StoreError> {
    let Some(did) = state.get(&key_index_key(key))? else { return Ok(None) };
    let did = Did::decode(&did)?;
    account(state, &did)
}

/// The account a transaction acts for: its signer's, or for a recovery (first instruction
/// `recover_did`, signed by the key the DID moves to) the recovered DID's.
pub fn acting_account(state: &impl StateRead, tx: &civitas_types::Transaction) -> Result<Option<Account>, StoreError> {
    if let Some(account) = account_by_key(state, &tx.signer)? {
        return Ok(Some(account));
    }
    match tx.instructions.first() {
        Some(civitas_types::Instruction::Dids(civitas_types::DidInstruction::RecoverDid { did, .. })) => {
            account(state, did)
        }
        _ => Ok(None),
    }
}

/// The total amount of currency in existence.
pub fn supply(state: &impl StateRead) -> Result<Amount, StoreError> {
    match state.get(SUPPLY_KEY)? {
        None => Ok(0),
        Some(bytes) => {
            let arr: [u8; 16] =
                bytes.as_slice().try_into().map_err(|_| StoreError::Corrupt("supply is not 16 bytes".into()))?;
            Ok(Amount::from_be_bytes(arr))
        }
    }
}
