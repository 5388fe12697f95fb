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
//! Handlers take the state, a [`Context`] (signer, transaction hash, block) and their
//! arguments, and return one [`Outcome`]: a transaction failure and a store failure both
//! travel with `?`. A handler of an official act returns the [`OfficialAct`] (from
//! `orgs::official` / `orgs::official_of`, the one "the signer is an official of `by`" check),
//! and the dispatcher records it in the audit trail under the instruction's name. [`acting`]
//! is the one nonce rule, shared with admission and the mempool.
//!
//! This crate is internal: it knows nothing about the network, the disk layout or JSON.

pub mod accounts;
pub mod audit;
pub mod catalog;
pub mod council;
mod counters;
pub mod credentials;
pub mod devices;
pub mod dids;
mod error;
pub mod funds;
pub mod invoices;
pub mod logs;
pub mod orgs;
pub mod permissions;
pub mod rentals;
pub mod stats;

use civitas_state::{BlockState, StateRead, StoreError, TxState};
use civitas_types::{AccountInstruction, DidInstruction};
use civitas_types::{Did, Hash, Instruction, PublicKey, Transaction, TxOutcome, TxReceipt, VerifiedTransaction};

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
        let outcome = match Failure::split(execute_tx(state, tx, ctx))? {
            Ok(()) => TxOutcome::Success,
            Err(e) => TxOutcome::Failed { code: e.code().to_owned(), message: bounded_message(e.to_string()) },
        };
        receipts.push(TxReceipt { tx_hash: tx.hash(), outcome });
    }
    // Deposits whose claim windows closed unclaimed go back to their tenants.
    rentals::release_due(state, ctx)?;
    // Every block writes the tip, so each height has its own tree version and the state says
    // where and when it is.
    let mut tip = ctx.height.to_be_bytes().to_vec();
    tip.extend_from_slice(&ctx.timestamp_ms.to_be_bytes());
    state.put(CHAIN_TIP_KEY.to_vec(), tip);
    Ok(receipts)
}

/// Why an instruction stopped: the transaction failed (its receipt says why, and nothing it
/// wrote stays), or the store failed, which no transaction can cause and which stops the node.
/// Handlers return one `Outcome` and compose both with `?`.
#[derive(Debug)]
pub enum Failure {
    /// The transaction failed.
    Tx(ExecError),
    /// The store failed.
    Store(StoreError),
}

impl From<ExecError> for Failure {
    fn from(e: ExecError) -> Failure {
        Failure::Tx(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

impl From<civitas_types::did_doc::DocumentError> for Failure {
    fn from(e: civitas_types::did_doc::DocumentError) -> Failure {
        dids::Error::from(e).into()
    }
}

impl Failure {
    /// Splits into the two levels the block loop needs: `Err` for the store, `Ok(Err)` for the
    /// transaction.
    pub fn split<T>(r: Outcome<T>) -> Result<Result<T, ExecError>, StoreError> {
        match r {
            Ok(v) => Ok(Ok(v)),
            Err(Failure::Tx(e)) => Ok(Err(e)),
            Err(Failure::Store(e)) => Err(e),
        }
    }
}

/// What an instruction (or a check) gives: a value, or why it stopped.
pub type Outcome<T = ()> = Result<T, Failure>;

/// What an instruction runs with besides the state: who signed, in which transaction, in
/// which block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    /// The transaction's signing key.
    pub(crate) signer: &'a PublicKey,
    /// The chain it is for (the node admits only its own): what devices' statements name.
    pub(crate) chain_id: &'a str,
    /// The transaction's hash (audit entries cite it).
    pub(crate) tx_hash: Hash,
    /// The block it runs in.
    pub(crate) block: BlockContext,
    /// The instruction's position in its transaction (some must come first).
    pub(crate) index: usize,
}

/// An official act: `official` acted for organization `org`. Handlers of official acts return
/// one, and the dispatcher records it in the audit trail under the instruction's name, so no
/// handler writes audit entries itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OfficialAct {
    /// The organization acted for.
    pub(crate) org: Did,
    /// The official's DID.
    pub(crate) official: Did,
}

/// What a module's `execute` gives for an official act: the act, for the audit trail.
pub(crate) fn audited(r: Outcome<OfficialAct>) -> Outcome<Option<OfficialAct>> {
    r.map(Some)
}

/// What a module's `execute` gives for an instruction that is no official act.
pub(crate) fn unaudited(r: Outcome) -> Outcome<Option<OfficialAct>> {
    r.map(|()| None)
}

/// Who a transaction acts for and the nonce it must carry: the one nonce rule, used by
/// execution, by admission and by the mempool's selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    /// The DID it acts for.
    pub did: Did,
    /// The nonce it must carry.
    pub nonce: u64,
    /// The account, unless the transaction registers it.
    pub account: Option<accounts::Account>,
}

/// The nonce rule: a transaction acts for its signer's account (or, for a recovery, the
/// recovered DID's) and carries that account's next nonce; a transaction from a key with no
/// account must register it first, and carries 0.
pub fn acting(state: &impl StateRead, tx: &Transaction) -> Outcome<Acting> {
    match (accounts::query::acting_account(state, tx)?, tx.instructions.first()) {
        (Some(account), _) => Ok(Acting { did: account.did, nonce: account.nonce, account: Some(account) }),
        (None, Some(Instruction::Accounts(AccountInstruction::RegisterAccount))) => {
            Ok(Acting { did: Did::from_initial_key(&tx.signer), nonce: 0, account: None })
        }
        (None, Some(Instruction::Dids(DidInstruction::RecoverDid { did, .. }))) => {
            Err(ExecError::UnknownDid(*did).into())
        }
        (None, _) => Err(ExecError::UnknownSigner.into()),
    }
}

/// Executes one transaction: the checks that need state, then its instructions, all or nothing.
fn execute_tx(state: &mut BlockState<'_>, vtx: &VerifiedTransaction, block: BlockContext) -> Outcome {
    let tx = vtx.tx();
    if block.height > tx.valid_until_height {
        return Err(ExecError::Expired { valid_until_height: tx.valid_until_height, height: block.height }.into());
    }
    let acting = acting(state, tx)?;
    // Whether the account's own key signed (not a recovery's new key): only then does a
    // failure consume the nonce, so no one can burn a DID's nonce with failed recoveries.
    let owner_signed = acting.account.as_ref().is_some_and(|a| a.public_key == tx.signer);
    if tx.nonce != acting.nonce {
        return Err(ExecError::BadNonce { expected: acting.nonce, found: tx.nonce }.into());
    }
    if acting.account.is_some() {
        dids::check_active(state, &acting.did)?;
    }

    let cx = Context { signer: &tx.signer, chain_id: &tx.chain_id, tx_hash: vtx.hash(), block, index: 0 };
    let mut txs = state.begin_tx();
    let result = run_instructions(&mut txs, &cx, &tx.instructions);
    match &result {
        Ok(()) => {
            accounts::bump_nonce(&mut txs, &acting.did)?;
            txs.commit();
        }
        Err(Failure::Tx(_)) => {
            drop(txs);
            if owner_signed {
                let mut consume = state.begin_tx();
                accounts::bump_nonce(&mut consume, &acting.did)?;
                consume.commit();
            }
        }
        Err(Failure::Store(_)) => {}
    }
    result
}

fn run_instructions(state: &mut TxState<'_, '_>, cx: &Context<'_>, instructions: &[Instruction]) -> Outcome {
    for (i, instruction) in instructions.iter().enumerate() {
        let cx = Context { index: i, ..*cx };
        match run_instruction(state, &cx, instruction) {
            Ok(None) => {}
            Ok(Some(act)) => audit::record(state, &act, instruction.name(), &cx)?,
            Err(Failure::Tx(e)) => return Err(e.at_instruction(i, cx.block).into()),
            Err(store) => return Err(store),
        }
    }
    Ok(())
}

/// Declares what this crate composes from its modules: the dispatch of each module's
/// instructions to its `execute`, [`ModuleError`] from each module's `Error`, and the
/// permission table from each module's `PERMISSIONS`.
macro_rules! modules {
    ($($(#[$doc:meta])* $variant:ident => $module:ident,)*) => {
        /// Runs one instruction in its module; an official act comes back for the audit trail.
        fn run_instruction(
            state: &mut TxState<'_, '_>,
            cx: &Context<'_>,
            instruction: &Instruction,
        ) -> Outcome<Option<OfficialAct>> {
            match instruction {
                $(Instruction::$variant(i) => $module::execute(state, cx, i),)*
            }
        }

        /// A module's own failure: each module's `Error` (in its `error.rs`), with its stable
        /// codes.
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        pub enum ModuleError {
            $($(#[$doc])* #[error(transparent)] $variant($module::Error),)*
        }

        impl ModuleError {
            /// The module error's stable code.
            pub fn code(&self) -> &'static str {
                match self {
                    $(ModuleError::$variant(e) => e.code(),)*
                }
            }
        }

        $(
            impl From<$module::Error> for ExecError {
                fn from(e: $module::Error) -> ExecError {
                    ExecError::Module(ModuleError::$variant(e))
                }
            }

            impl From<$module::Error> for Failure {
                fn from(e: $module::Error) -> Failure {
                    Failure::Tx(e.into())
                }
            }
        )*

        /// Each module's permission rows, in module order (see [`permissions::table`]).
        const PERMISSIONS: &[&[permissions::Rule]] = &[$($module::PERMISSIONS,)*];
    };
}

// The chain's modules: the one registration list of this crate.
modules! {
    /// Accounts and the currency.
    Accounts => accounts,
    /// DID documents.
    Dids => dids,
    /// Organizations and their officials.
    Orgs => orgs,
    /// The council.
    Council => council,
    /// E-invoices.
    Invoices => invoices,
    /// Credentials and consent.
    Credentials => credentials,
    /// Device passports.
    Devices => devices,
    /// Device event logs.
    Logs => logs,
    /// Public project funds.
    Funds => funds,
    /// Rentals.
    Rentals => rentals,
    /// The data catalog.
    Catalog => catalog,
    /// Transport statistics.
    Stats => stats,
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
