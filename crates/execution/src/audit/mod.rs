//! The audit trail: every official act (an instruction an official performs for an
//! organization) is recorded in state, so anyone can list and prove what officials did.
//!
//! Entries are numbered from 0 in execution order; each organization also keeps the list of
//! its entries' numbers. State keys are hashed into the tree, so listing goes by these
//! counters, not by key prefix.

pub mod query;

use civitas_state::{StateRead, StoreError, TxState};
use civitas_types::codec::Encode;
use civitas_types::{Did, Hash};

use crate::BlockContext;

const COUNT_KEY: &[u8] = b"audit/count";

pub use civitas_types::audit::{AuditEntry, entry_key};

fn org_count_key(org: &Did) -> Vec<u8> {
    [b"audit/org-count/".as_slice(), org.as_bytes()].concat()
}

fn org_entry_key(org: &Did, k: u64) -> Vec<u8> {
    [b"audit/org/".as_slice(), org.as_bytes(), &k.to_be_bytes()].concat()
}

fn read_u64(state: &impl StateRead, key: &[u8]) -> Result<u64, StoreError> {
    match state.get(key)? {
        None => Ok(0),
        Some(b) => Ok(u64::from_be_bytes(
            b.as_slice().try_into().map_err(|_| StoreError::Corrupt("audit counter is not 8 bytes".into()))?,
        )),
    }
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
    let n = read_u64(state, COUNT_KEY)?;
    let entry = AuditEntry {
        height: ctx.height,
        timestamp_ms: ctx.timestamp_ms,
        tx_hash,
        org: *org,
        official: *official,
        instruction: instruction.to_owned(),
    };
    state.put(entry_key(n), entry.encode());
    state.put(COUNT_KEY.to_vec(), (n + 1).to_be_bytes().to_vec());
    let k = read_u64(state, &org_count_key(org))?;
    state.put(org_entry_key(org, k), n.to_be_bytes().to_vec());
    state.put(org_count_key(org), (k + 1).to_be_bytes().to_vec());
    Ok(())
}
