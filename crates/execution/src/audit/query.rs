//! Reading the audit trail, in pages.

use civitas_state::{StateRead, StoreError};
use civitas_types::Did;
use civitas_types::codec::Decode;

use super::{AuditEntry, COUNT_KEY, entry_key, org_count_key, org_entry_key};
use crate::counters::read_u64;

/// Most entries in one page.
pub const PAGE_MAX: u64 = 1_000;

/// Up to `limit` (at most [`PAGE_MAX`]) entries from position `from`: of the whole trail, or
/// of `org`'s entries. Each comes with its entry number (its key is [`super::entry_key`]).
/// Also returns how many there are in all.
pub fn page(
    state: &impl StateRead,
    org: Option<&Did>,
    from: u64,
    limit: u64,
) -> Result<(Vec<(u64, AuditEntry)>, u64), StoreError> {
    let total = match org {
        None => read_u64(state, COUNT_KEY)?,
        Some(o) => read_u64(state, &org_count_key(o))?,
    };
    let end = total.min(from.saturating_add(limit.min(PAGE_MAX)));
    let mut out = Vec::new();
    for k in from..end {
        let n = match org {
            None => k,
            Some(o) => read_u64(state, &org_entry_key(o, k))?,
        };
        let bytes = state.get(&entry_key(n))?.ok_or_else(|| StoreError::Corrupt(format!("audit entry {n} missing")))?;
        out.push((n, AuditEntry::decode(&bytes)?));
    }
    Ok((out, total))
}
