//! The audit trail: every official act (an instruction an official performs for an
//! organization) is recorded in state, so anyone can list and prove what officials did.
//!
//! Entries are numbered from 0 in execution order; each organization also keeps the list of
//! its entries' numbers. State keys are hashed into the tree, so listing goes by these
//! counters, not by key prefix.

pub mod query;

use civitas_state::{StoreError, TxState};
use civitas_types::codec::Encode;
use civitas_types::{Did, Hash};

use crate::BlockContext;
use crate::counters::{append, next};

const COUNT_KEY: &[u8] = b"audit/count";

pub use civitas_types::audit::{AuditEntry, entry_key};

fn org_count_key(org: &Did) -> Vec<u8> {
    [b"audit/org-count/".as_slice(), org.as_bytes()].concat()
}

fn org_entry_key(org: &Did, k: u64) -> Vec<u8> {
    [b"audit/org/".as_slice(), org.as_bytes(), &k.to_be_bytes()].concat()
}

/// Records that `official` did `instruction` for `org` in transaction `tx_hash`.
pub(crate) fn record(
    state: &mut TxState<'_, '_>,
    org: &Did,
    official: &Did,
    instruction: &str,
    tx_hash: Hash,
    ctx: BlockContext,
) -> Result<(), StoreError> {
    let n = next(state, COUNT_KEY)?;
    let entry = AuditEntry {
        height: ctx.height,
        timestamp_ms: ctx.timestamp_ms,
        tx_hash,
        org: *org,
        official: *official,
        instruction: instruction.to_owned(),
    };
    state.put(entry_key(n), entry.encode());
    append(state, &org_count_key(org), |k| org_entry_key(org, k), n)
}
