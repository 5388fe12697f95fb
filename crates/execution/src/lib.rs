//! Civitas's deterministic state machine.
//!
//! Given the state after block `h-1` and block `h`'s verified transactions, [`execute_block`]
//! writes the state after block `h` and returns one receipt per transaction. It reads no clock
//! (time is the block's), no randomness, iterates only ordered maps, and uses no floats, so
//! every validator computes the same state root.
//!
//! Each module lives in its own folder with the same shape: `mod.rs` (instructions and their
//! permission checks next to their effects), `state.rs` (keys and records), `query.rs`
//! (read-only views) and tests beside them.
//!
//! This crate is internal: it knows nothing about the network, the disk layout or JSON.

pub mod accounts;
pub mod audit;
pub mod council;
mod counters;
pub mod credentials;
pub mod dids;
mod error;
pub mod invoices;
pub mod orgs;
pub mod permissions;

use civitas_state::{BlockState, StateRead, StoreError, TxState};
use civitas_types::{Instruction, TxOutcome, TxReceipt, VerifiedTransaction};

pub use error::ExecError;

/// What execution knows about the block it runs in. The block's time is the only clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockContext {
    /// The block's height.
    pub height: u64,
    /// The block's timestamp.
    pub timestamp_ms: u64,
}

const CHAIN_TIP_KEY: &[u8] = b"chain/tip";

/// Executes `txs` in order on top of `state` and returns their receipts.
///
/// A failed transaction changes nothing except consuming its signer's nonce (so it cannot be
/// replayed); the failure is in its receipt. `Err` means the store failed, which no transaction
/// can cause: the node must stop rather than go on with a state it cannot trust.
pub fn execute_block(
    state: &mut BlockState<'_>,
    txs: &[VerifiedTransaction],
    ctx: BlockContext,
) -> Result<Vec<TxReceipt>, StoreError> {
    let mut receipts = Vec::with_capacity(txs.len());
    for tx in txs {
        let outcome = match execute_tx(state, tx, ctx)? {
            Ok(()) => TxOutcome::Success,
            Err(e) => TxOutcome::Failed { code: e.code().to_owned(), message: bounded_message(e.to_string()) },
        };
        receipts.push(TxReceipt { tx_hash: tx.hash(), outcome });
    }
    // Every block writes the tip, so each height has its own tree version and the state says
    // where and when it is.
    let mut tip = ctx.height.to_be_bytes().to_vec();
    tip.extend_from_slice(&ctx.timestamp_ms.to_be_bytes());
    state.put(CHAIN_TIP_KEY.to_vec(), tip);
    Ok(receipts)
}

/// Executes one transaction: the checks that need state, then its instructions, all or nothing.
fn execute_tx(
    state: &mut BlockState<'_>,
    vtx: &VerifiedTransaction,
    ctx: BlockContext,
) -> Result<Result<(), ExecError>, StoreError> {
    let tx = vtx.tx();
    if ctx.height > tx.valid_until_height {
        return Ok(Err(ExecError::Expired { valid_until_height: tx.valid_until_height, height: ctx.height }));
    }
    // A recovery is signed by the key the DID moves to, with the DID's next nonce.
    let acting = accounts::query::acting_account(state, tx)?;
    // Whether the account's own key signed (not a recovery's new key): only then does a
    // failure consume the nonce, so no one can burn a DID's nonce with failed recoveries.
    let owner_signed = acting.as_ref().is_some_and(|a| a.public_key == tx.signer);
    let (signer_did, expected_nonce) = match (&acting, tx.instructions.first()) {
        (Some(account), _) => (account.did, account.nonce),
        (None, Some(Instruction::RegisterAccount)) => (civitas_types::Did::from_initial_key(&tx.signer), 0),
        (None, Some(Instruction::RecoverDid { did, .. })) => return Ok(Err(ExecError::UnknownDid(*did))),
        (None, _) => return Ok(Err(ExecError::UnknownSigner)),
    };
    if tx.nonce != expected_nonce {
        return Ok(Err(ExecError::BadNonce { expected: expected_nonce, found: tx.nonce }));
    }
    if acting.is_some()
        && let Err(e) = dids::check_active(state, &signer_did)?
    {
        return Ok(Err(e));
    }

    let mut txs = state.begin_tx();
    let result = run_instructions(&mut txs, vtx, ctx);
    match result {
        Ok(Ok(())) => {
            accounts::bump_nonce(&mut txs, &signer_did)?;
            txs.commit();
        }
        Ok(Err(_)) => {
            drop(txs);
            if owner_signed {
                let mut consume = state.begin_tx();
                accounts::bump_nonce(&mut consume, &signer_did)?;
                consume.commit();
            }
        }
        Err(_) => {}
    }
    result
}

fn run_instructions(
    state: &mut TxState<'_, '_>,
    vtx: &VerifiedTransaction,
    ctx: BlockContext,
) -> Result<Result<(), ExecError>, StoreError> {
    let tx = vtx.tx();
    for (i, instruction) in tx.instructions.iter().enumerate() {
        let r = match instruction {
            Instruction::RegisterAccount if i == 0 => {
                let r = accounts::register(state, &tx.signer)?;
                if r.is_ok() {
                    dids::created(state, &civitas_types::Did::from_initial_key(&tx.signer), ctx);
                }
                Ok(r)
            }
            Instruction::RegisterAccount => Ok(Err(ExecError::RegisterNotFirst)),
            Instruction::RotateKey { new_key, proof } => {
                let did = accounts::query::account_by_key(state, &tx.signer)?.map(|a| a.did);
                let r = accounts::rotate_key(state, &tx.signer, new_key, proof)?;
                if let (Ok(()), Some(did)) = (&r, did) {
                    dids::changed(state, &did, ctx)?;
                }
                Ok(r)
            }
            Instruction::Transfer { to, amount } => accounts::transfer(state, &tx.signer, to, *amount),
            Instruction::Mint { to, amount } => {
                let r = accounts::mint(state, &tx.signer, to, *amount)?;
                // Minting is the finance bureau's official act.
                if r.is_ok()
                    && let Some(minter) = accounts::query::account_by_key(state, &tx.signer)?
                {
                    audit::record(state, &minter.did, &minter.did, "mint", vtx.hash(), ctx)?;
                }
                Ok(r)
            }
            Instruction::UpdateDid { did, document } => dids::update(state, &tx.signer, did, document, ctx),
            Instruction::DeactivateDid { did } => dids::deactivate(state, &tx.signer, did, ctx),
            Instruction::RecoverDid { did, recovery_key, proof } if i == 0 => {
                dids::recover(state, &tx.signer, did, recovery_key, proof, ctx)
            }
            Instruction::RecoverDid { .. } => Ok(Err(ExecError::MustBeFirst("recover_did"))),
            Instruction::RegisterOrganization { org, kind, name, by } => {
                orgs::register(state, &tx.signer, (org, *kind, name, by), vtx.hash(), ctx)
            }
            Instruction::SetMember { org, member, role } => {
                orgs::set_member(state, &tx.signer, (org, member, *role), vtx.hash(), ctx)
            }
            Instruction::Propose { action, ttl_blocks, by } => {
                council::propose(state, &tx.signer, (action, *ttl_blocks, by), vtx.hash(), ctx)
            }
            Instruction::Approve { proposal, by } => {
                council::approve(state, &tx.signer, (*proposal, by), vtx.hash(), ctx)
            }
            Instruction::RegisterMerchant { merchant, taxpayer_id, by } => {
                invoices::register_merchant(state, &tx.signer, (merchant, taxpayer_id, by), vtx.hash(), ctx)
            }
            Instruction::RecordPayment { payment, by } => {
                invoices::record_payment(state, &tx.signer, (payment, by), vtx.hash(), ctx)
            }
            Instruction::IssueInvoice { payment_id, buyer_name, buyer_taxpayer_id, buyer, items, by } => {
                let args = invoices::IssueArgs { payment_id, buyer_name, buyer_taxpayer_id, buyer: *buyer, items, by };
                invoices::issue(state, &tx.signer, args, vtx.hash(), ctx)
            }
            Instruction::SubmitInvoice { number, employer } => {
                invoices::submit(state, &tx.signer, (*number, employer), ctx)
            }
            Instruction::ReimburseInvoice { number, by } => {
                invoices::reimburse(state, &tx.signer, (*number, by), vtx.hash(), ctx)
            }
            Instruction::ReverseInvoice { number, reason, by } => {
                invoices::reverse(state, &tx.signer, (*number, reason, by), vtx.hash(), ctx)
            }
            Instruction::DefineCredentialType { vct, schema, policy, by } => {
                credentials::define_type(state, &tx.signer, (vct, schema, policy, by), vtx.hash(), ctx)
            }
            Instruction::AnchorCredential { vct, commitment, status_index, by } => {
                credentials::anchor(state, &tx.signer, (vct, commitment, *status_index, by), vtx.hash(), ctx)
            }
            Instruction::SetCredentialStatus { status_index, status, by } => {
                credentials::set_status(state, &tx.signer, (*status_index, *status, by), vtx.hash(), ctx)
            }
            Instruction::GrantConsent { verifier, issuer, vct, purpose, claims, ttl_blocks, max_uses } => {
                let args = credentials::GrantArgs {
                    verifier,
                    issuer,
                    vct,
                    purpose,
                    claims,
                    ttl_blocks: *ttl_blocks,
                    max_uses: *max_uses,
                };
                credentials::grant(state, &tx.signer, args, ctx)
            }
            Instruction::ApproveConsent { consent, by } => {
                credentials::approve(state, &tx.signer, (*consent, by), vtx.hash(), ctx)
            }
            Instruction::WithdrawConsent { consent } => credentials::withdraw(state, &tx.signer, *consent, ctx),
            Instruction::RecordAccess {
                issuer,
                vct,
                purpose,
                consent,
                holder_ref,
                presentation,
                disclosed,
                outcome,
                by,
            } => {
                let args = credentials::AccessArgs {
                    issuer,
                    vct,
                    purpose,
                    consent: *consent,
                    holder_ref,
                    presentation,
                    disclosed,
                    outcome,
                    by,
                };
                credentials::record_access(state, &tx.signer, args, vtx.hash(), ctx)
            }
        }?;
        if let Err(e) = r {
            return Ok(Err(e.at_instruction(i, ctx)));
        }
    }
    Ok(Ok(()))
}

/// Cuts a receipt message to the receipt limit, on a character boundary.
fn bounded_message(mut message: String) -> String {
    let max = civitas_types::limits::RECEIPT_MESSAGE_BYTES_MAX;
    if message.len() > max {
        let cut = (0..=max).rev().find(|&i| message.is_char_boundary(i)).unwrap_or(0);
        message.truncate(cut);
    }
    message
}

/// Reads the tip recorded by the last executed block: `(height, timestamp_ms)`.
pub fn chain_tip(state: &impl StateRead) -> Result<Option<(u64, u64)>, StoreError> {
    let Some(bytes) = state.get(CHAIN_TIP_KEY)? else { return Ok(None) };
    let mut r = civitas_types::codec::Reader::new(&bytes);
    let tip = (r.u64("height")?, r.u64("timestamp")?);
    r.finish()?;
    Ok(Some(tip))
}

#[cfg(test)]
mod tests;
