//! Accounts and the city's accounting currency: registration (the DID comes from the key),
//! key rotation, transfers, and minting by the finance bureau.
//!
//! Each instruction's permission check sits next to its effect. Money is conserved: the sum of
//! all balances equals the recorded supply, which only genesis and `mint` raise.

mod error;
pub use error::Error;

/// Who may perform each of this module's instructions (rendered into `docs/permissions.md`;
/// the permission test runs each under every kind of actor).
pub(crate) const PERMISSIONS: &[Rule] = &[
    Rule { instruction: "register_account", target: "a new account for the signing key", allowed: &[Actor::NewKey] },
    Rule { instruction: "rotate_key", target: "the signer's own account", allowed: ANY_ACCOUNT },
    Rule { instruction: "transfer", target: "the signer's own balance", allowed: ANY_ACCOUNT },
    Rule { instruction: "mint", target: "the supply", allowed: &[Actor::Finance] },
];

pub mod query;
mod state;

use crate::permissions::{ANY_ACCOUNT, Actor, Rule};
use civitas_state::{StateRead, StoreError, TxState};
use civitas_types::AccountInstruction;
use civitas_types::{Amount, Did, PublicKey, Role, Signature};

use crate::{Context, ExecError, OfficialAct, Outcome, audited, unaudited};
pub use civitas_types::account::Account;
pub use state::GenesisAccount;
use state::{SUPPLY_KEY, account_key, key_index_key, put_account};

/// `register_account`: creates the signer's account with a DID derived from its key.
/// Permission: anyone holding a key that no account holds.
pub(crate) fn register(state: &mut TxState<'_, '_>, signer: &PublicKey) -> Outcome {
    if state.get(&key_index_key(signer))?.is_some() {
        return Err(ExecError::AlreadyRegistered.into());
    }
    let did = Did::from_initial_key(signer);
    if state.get(&account_key(&did))?.is_some() {
        // The DID's first key was rotated away and is now being offered again.
        return Err(ExecError::AlreadyRegistered.into());
    }
    let account = Account { did, public_key: *signer, nonce: 0, balance: 0, roles: Vec::new() };
    put_account(state, &account);
    state.put(key_index_key(signer), did.as_bytes().to_vec());
    Ok(())
}

/// `rotate_key`: moves the signer's account to `new_key`.
/// Permission: the account's current key signs the transaction, and the new key signs the
/// rotation message.
pub(crate) fn rotate_key(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    new_key: &PublicKey,
    proof: &Signature,
) -> Outcome {
    let Some(account) = query::account_by_key(state, cx.signer)? else {
        return Err(ExecError::UnknownSigner.into());
    };
    if !new_key.verify(proof, &AccountInstruction::rotation_message(&account.did, new_key)) {
        return Err(Error::BadRotationProof.into());
    }
    move_key(state, account, new_key)
}

/// Moves `account` from its current key to `new_key`, which no account may hold.
pub(crate) fn move_key(state: &mut TxState<'_, '_>, mut account: Account, new_key: &PublicKey) -> Outcome {
    if state.get(&key_index_key(new_key))?.is_some() {
        return Err(Error::KeyInUse.into());
    }
    state.delete(key_index_key(&account.public_key));
    state.put(key_index_key(new_key), account.did.as_bytes().to_vec());
    account.public_key = *new_key;
    put_account(state, &account);
    Ok(())
}

/// `transfer`: moves `amount` from the signer to `to`.
/// Permission: the signer spends only its own balance.
pub(crate) fn transfer(state: &mut TxState<'_, '_>, cx: &Context<'_>, to: &Did, amount: Amount) -> Outcome {
    if amount == 0 {
        return Err(Error::ZeroAmount.into());
    }
    let Some(mut from) = query::account_by_key(state, cx.signer)? else {
        return Err(ExecError::UnknownSigner.into());
    };
    if query::account(state, to)?.is_none() {
        return Err(ExecError::UnknownAccount(*to).into());
    }
    let Some(rest) = from.balance.checked_sub(amount) else {
        return Err(Error::InsufficientFunds { balance: from.balance, amount }.into());
    };
    from.balance = rest;
    put_account(state, &from);
    // Read the receiver after the debit so a transfer to oneself nets to zero.
    let mut receiver = query::account(state, to)?.ok_or_else(|| StoreError::Corrupt("receiver vanished".into()))?;
    let Some(sum) = receiver.balance.checked_add(amount) else {
        return Err(Error::Overflow.into());
    };
    receiver.balance = sum;
    put_account(state, &receiver);
    Ok(())
}

/// `mint`: creates `amount` in `to`'s account and raises the supply.
/// Permission: the signer holds the finance role. An official act of the finance bureau (its
/// account acts for itself).
pub(crate) fn mint(state: &mut TxState<'_, '_>, cx: &Context<'_>, to: &Did, amount: Amount) -> Outcome<OfficialAct> {
    let Some(minter) = query::account_by_key(state, cx.signer)? else {
        return Err(ExecError::UnknownSigner.into());
    };
    if !minter.roles.contains(&Role::Finance) {
        return Err(ExecError::PermissionDenied(Role::Finance.name()).into());
    }
    if amount == 0 {
        return Err(Error::ZeroAmount.into());
    }
    let Some(mut receiver) = query::account(state, to)? else {
        return Err(ExecError::UnknownAccount(*to).into());
    };
    let supply = query::supply(state)?;
    let (Some(new_balance), Some(new_supply)) = (receiver.balance.checked_add(amount), supply.checked_add(amount))
    else {
        return Err(Error::Overflow.into());
    };
    receiver.balance = new_balance;
    put_account(state, &receiver);
    state.put(SUPPLY_KEY.to_vec(), new_supply.to_be_bytes().to_vec());
    Ok(OfficialAct { org: minter.did, official: minter.did })
}

/// Takes `amount` out of `did`'s balance into something the chain holds (a project's escrow);
/// the caller adds it there, so the supply is unchanged.
pub(crate) fn debit(state: &mut TxState<'_, '_>, did: &Did, amount: Amount) -> Outcome {
    let Some(mut account) = query::account(state, did)? else {
        return Err(ExecError::UnknownAccount(*did).into());
    };
    let Some(rest) = account.balance.checked_sub(amount) else {
        return Err(Error::InsufficientFunds { balance: account.balance, amount }.into());
    };
    account.balance = rest;
    put_account(state, &account);
    Ok(())
}

/// Pays `amount` into `did`'s account out of something the chain holds (a project's escrow),
/// which the caller has reduced.
pub(crate) fn credit(state: &mut TxState<'_, '_>, did: &Did, amount: Amount) -> Outcome {
    let Some(mut account) = query::account(state, did)? else {
        return Err(ExecError::UnknownAccount(*did).into());
    };
    account.balance = account.balance.checked_add(amount).ok_or(Error::Overflow)?;
    put_account(state, &account);
    Ok(())
}

/// The DID of the account whose key signed the transaction; shared by the modules whose
/// instructions act for the signer itself (a device's owner, a gateway).
pub(crate) fn signer_did(state: &impl StateRead, cx: &Context<'_>) -> Outcome<Did> {
    Ok(query::account_by_key(state, cx.signer)?.ok_or(ExecError::UnknownSigner)?.did)
}

/// Advances the signer's nonce after its transaction ran (successfully or not). By DID, since
/// the transaction may have rotated the key it was signed with.
pub(crate) fn bump_nonce(state: &mut TxState<'_, '_>, signer: &Did) -> Result<(), StoreError> {
    let mut account = query::account(state, signer)?
        .ok_or_else(|| StoreError::Corrupt("signer account vanished during its transaction".into()))?;
    account.nonce = account.nonce.checked_add(1).ok_or_else(|| StoreError::Corrupt("nonce overflow".into()))?;
    put_account(state, &account);
    Ok(())
}

/// Writes the genesis accounts and the initial supply. Fails on duplicate keys or a supply
/// that overflows, which make a genesis invalid.
pub fn apply_genesis(state: &mut TxState<'_, '_>, accounts: &[GenesisAccount]) -> Result<(), GenesisError> {
    let mut supply: Amount = 0;
    for g in accounts {
        let did = Did::from_initial_key(&g.public_key);
        if state.get(&key_index_key(&g.public_key))?.is_some() {
            return Err(GenesisError::DuplicateKey(did));
        }
        supply = supply.checked_add(g.balance).ok_or(GenesisError::SupplyOverflow)?;
        let mut roles = g.roles.clone();
        roles.sort();
        roles.dedup();
        put_account(state, &Account { did, public_key: g.public_key, nonce: 0, balance: g.balance, roles });
        state.put(key_index_key(&g.public_key), did.as_bytes().to_vec());
    }
    state.put(SUPPLY_KEY.to_vec(), supply.to_be_bytes().to_vec());
    Ok(())
}

/// Why a genesis account list is invalid.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// Two accounts share a key.
    #[error("two genesis accounts share the key of {0}")]
    DuplicateKey(Did),
    /// The balances add up past `u128::MAX`.
    #[error("genesis balances overflow the supply")]
    SupplyOverflow,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs one of this module's instructions; an official act comes back for the audit trail.
pub(crate) fn execute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    instruction: &AccountInstruction,
) -> Outcome<Option<OfficialAct>> {
    match instruction {
        AccountInstruction::RegisterAccount if cx.index == 0 => {
            register(state, cx.signer)?;
            crate::dids::created(state, &Did::from_initial_key(cx.signer), cx.block);
            Ok(None)
        }
        AccountInstruction::RegisterAccount => Err(Error::RegisterNotFirst.into()),
        AccountInstruction::RotateKey { new_key, proof } => {
            let did = query::account_by_key(state, cx.signer)?.map(|a| a.did);
            rotate_key(state, cx, new_key, proof)?;
            if let Some(did) = did {
                crate::dids::changed(state, &did, cx.block)?;
            }
            Ok(None)
        }
        AccountInstruction::Transfer { to, amount } => unaudited(transfer(state, cx, to, *amount)),
        // Minting is the finance bureau's official act.
        AccountInstruction::Mint { to, amount } => audited(mint(state, cx, to, *amount)),
    }
}

#[cfg(test)]
mod tests;
