//! DIDs: every account's `did:civitas:` identifier has a DID document (the account key as
//! `#key-0`, plus what its controllers set), a version history, and can be updated,
//! deactivated and recovered. `docs/did-method.md` is the method's specification.
//!
//! Each instruction's permission check sits next to its effect: a DID changes only by its own
//! signature or a controller's, or by its registered recovery key.

mod error;
pub use error::Error;

/// Who may perform each of this module's instructions (rendered into `docs/permissions.md`;
/// the permission test runs each under every kind of actor).
pub(crate) const PERMISSIONS: &[Rule] = &[
    Rule { instruction: "update_did", target: "a DID's document", allowed: &[Actor::Owner, Actor::Controller] },
    Rule { instruction: "deactivate_did", target: "a DID", allowed: &[Actor::Owner, Actor::Controller] },
    Rule { instruction: "recover_did", target: "a DID's account key", allowed: &[Actor::RecoveryKeyHolder] },
];

pub mod query;
mod state;

use crate::permissions::{Actor, Rule};
use civitas_state::{StateRead, StoreError, TxState};
use civitas_types::DidInstruction;
use civitas_types::codec::Encode;
use civitas_types::did_doc::DidDocumentData;
use civitas_types::{Did, Hash, PublicKey, Signature};

use crate::accounts::{self, Account};
use crate::{BlockContext, Context, ExecError, OfficialAct, Outcome, unaudited};
pub use state::DidMeta;
use state::{doc_key, meta_key, version_key};

fn put_meta(state: &mut TxState<'_, '_>, did: &Did, meta: &DidMeta) {
    state.put(meta_key(did), meta.encode());
    state.put(version_key(did, meta.version), meta.updated_height.to_be_bytes().to_vec());
}

/// Records `did`'s creation (version 1) at the block in `ctx`.
pub(crate) fn created(state: &mut TxState<'_, '_>, did: &Did, ctx: BlockContext) {
    let meta = DidMeta {
        created_height: ctx.height,
        created_ms: ctx.timestamp_ms,
        updated_height: ctx.height,
        updated_ms: ctx.timestamp_ms,
        version: 1,
        deactivated: false,
    };
    put_meta(state, did, &meta);
}

/// Records a change to `did` at the block in `ctx`: a new version, unless the DID already
/// changed in this block (a version is the DID's state at the end of a block, so
/// `versionId` and block height map one to one).
pub(crate) fn changed(state: &mut TxState<'_, '_>, did: &Did, ctx: BlockContext) -> Result<(), StoreError> {
    let mut meta = current_meta(state, did)?;
    if meta.updated_height == ctx.height && query::meta(state, did)?.is_some() {
        return Ok(());
    }
    meta.version += 1;
    meta.updated_height = ctx.height;
    meta.updated_ms = ctx.timestamp_ms;
    put_meta(state, did, &meta);
    Ok(())
}

/// `did`'s metadata, or version 1 from genesis for an account written before DIDs had any.
fn current_meta(state: &impl StateRead, did: &Did) -> Result<DidMeta, StoreError> {
    Ok(query::meta(state, did)?.unwrap_or(DidMeta::genesis(0)))
}

/// Whether the account's DID may still act.
pub fn check_active(state: &impl StateRead, did: &Did) -> Outcome {
    if query::meta(state, did)?.is_some_and(|m| m.deactivated) {
        return Err(Error::DidDeactivated(*did).into());
    }
    Ok(())
}

/// The target DID's account, if the signer may change it: the DID itself or one of its
/// controllers, and neither deactivated.
fn authorize(state: &impl StateRead, signer: &PublicKey, did: &Did) -> Outcome<Account> {
    let Some(signer_account) = accounts::query::account_by_key(state, signer)? else {
        return Err(ExecError::UnknownSigner.into());
    };
    let Some(target) = accounts::query::account(state, did)? else {
        return Err(ExecError::UnknownDid(*did).into());
    };
    check_active(state, did)?;
    if signer_account.did != *did && !query::document(state, did)?.controllers.contains(&signer_account.did) {
        return Err(Error::NotController(*did).into());
    }
    Ok(target)
}

/// `update_did`: replaces the settable part of `did`'s document.
/// Permission: `did` itself or one of its controllers.
pub(crate) fn update(state: &mut TxState<'_, '_>, cx: &Context<'_>, did: &Did, document: &DidDocumentData) -> Outcome {
    authorize(state, cx.signer, did)?;
    document.validate(did)?;
    for controller in &document.controllers {
        if accounts::query::account(state, controller)?.is_none() {
            return Err(ExecError::UnknownDid(*controller).into());
        }
    }
    state.put(doc_key(did), document.encode());
    changed(state, did, cx.block)?;
    Ok(())
}

/// `deactivate_did`: ends `did` for good.
/// Permission: `did` itself or one of its controllers.
pub(crate) fn deactivate(state: &mut TxState<'_, '_>, cx: &Context<'_>, did: &Did) -> Outcome {
    authorize(state, cx.signer, did)?;
    changed(state, did, cx.block)?;
    let mut meta = current_meta(state, did)?;
    meta.deactivated = true;
    state.put(meta_key(did), meta.encode());
    Ok(())
}

/// `recover_did`: moves `did`'s account to the signing key `new_key`.
/// Permission: the revealed `recovery_key` hashes to the document's recovery key hash and
/// signed [`DidInstruction::recovery_message`] for `new_key`. The recovery key is spent.
/// The transaction's signing key is the key `did` moves to.
pub(crate) fn recover(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    did: &Did,
    recovery_key: &PublicKey,
    proof: &Signature,
) -> Outcome {
    let (new_key, ctx) = (cx.signer, cx.block);
    let Some(account) = accounts::query::account(state, did)? else {
        return Err(ExecError::UnknownDid(*did).into());
    };
    check_active(state, did)?;
    let mut document = query::document(state, did)?;
    if document.recovery_key_hash != Some(Hash::digest(&recovery_key.0)) {
        return Err(Error::BadRecoveryKey(*did).into());
    }
    if !recovery_key.verify(proof, &DidInstruction::recovery_message(did, new_key)) {
        return Err(Error::BadRecoveryProof.into());
    }
    accounts::move_key(state, account, new_key)?;
    document.recovery_key_hash = None;
    state.put(doc_key(did), document.encode());
    changed(state, did, ctx)?;
    Ok(())
}

/// Records the genesis accounts' DIDs as created at genesis.
pub fn apply_genesis(state: &mut TxState<'_, '_>, dids: &[Did], genesis_time_ms: u64) {
    for did in dids {
        created(state, did, BlockContext { height: 0, timestamp_ms: genesis_time_ms });
    }
}

/// Runs one of this module's instructions; an official act comes back for the audit trail.
pub(crate) fn execute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    instruction: &DidInstruction,
) -> Outcome<Option<OfficialAct>> {
    match instruction {
        DidInstruction::UpdateDid { did, document } => unaudited(update(state, cx, did, document)),
        DidInstruction::DeactivateDid { did } => unaudited(deactivate(state, cx, did)),
        DidInstruction::RecoverDid { did, recovery_key, proof } if cx.index == 0 => {
            unaudited(recover(state, cx, did, recovery_key, proof))
        }
        DidInstruction::RecoverDid { .. } => Err(ExecError::MustBeFirst("recover_did").into()),
    }
}

#[cfg(test)]
mod tests;
