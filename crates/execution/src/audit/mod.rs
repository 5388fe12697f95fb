//! The audit trail: every official act (an instruction an official performs for an
//! organization) is recorded in state, so anyone can list and prove what officials did.
//!
//! Entries are numbered from 0 in execution order; each organization also keeps the list of
//! its entries' numbers. State keys are hashed into the tree, so listing goes by these
//! counters, not by key prefix.

pub mod query;

use civitas_state::{StoreError, TxState};
use civitas_types::Did;
use civitas_types::codec::Encode;

use crate::counters::{append, next};
use crate::{Context, OfficialAct};

const COUNT_KEY: &[u8] = b"audit/count";

pub use civitas_types::audit::{AuditEntry, entry_key};

fn org_count_key(org: &Did) -> Vec<u8> {
    [b"audit/org-count/".as_slice(), org.as_bytes()].concat()
}

fn org_entry_key(org: &Did, k: u64) -> Vec<u8> {
    [b"audit/org/".as_slice(), org.as_bytes(), &k.to_be_bytes()].concat()
}

/// Records `act`, done by instruction `instruction` in the transaction and block of `cx`. Only
/// the dispatcher calls this, for every official act a handler reports.
pub(crate) fn record(
    state: &mut TxState<'_, '_>,
    act: &OfficialAct,
    instruction: &str,
    cx: &Context<'_>,
) -> Result<(), StoreError> {
    let n = next(state, COUNT_KEY)?;
    let entry = AuditEntry {
        height: cx.block.height,
        timestamp_ms: cx.block.timestamp_ms,
        tx_hash: cx.tx_hash,
        org: act.org,
        official: act.official,
        instruction: instruction.to_owned(),
    };
    state.put(entry_key(n), entry.encode());
    append(state, &org_count_key(&act.org), |k| org_entry_key(&act.org, k), n)
}
