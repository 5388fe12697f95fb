//! Counters and numbered lists in state. State keys are hashed into the tree, so a list is a
//! count at one key and its entries at keys derived from their positions, never a key prefix.

use civitas_state::{StateRead, StoreError, TxState};
use civitas_types::codec::Decode;

/// The record at `key`, decoded (`what` names it when the bytes are corrupt); shared by the
/// modules' queries.
pub(crate) fn record<T: Decode>(state: &impl StateRead, key: &[u8], what: &str) -> Result<Option<T>, StoreError> {
    state.get(key)?.map(|b| T::decode(&b).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))).transpose()
}

/// The counter at `key` (0 if never set).
pub(crate) fn read_u64(state: &impl StateRead, key: &[u8]) -> Result<u64, StoreError> {
    match state.get(key)? {
        None => Ok(0),
        Some(b) => Ok(u64::from_be_bytes(
            b.as_slice().try_into().map_err(|_| StoreError::Corrupt("a counter is not 8 bytes".into()))?,
        )),
    }
}

/// The counter at `key`, which is then moved one on.
pub(crate) fn next(state: &mut TxState<'_, '_>, key: &[u8]) -> Result<u64, StoreError> {
    let n = read_u64(state, key)?;
    state.put(key.to_vec(), (n + 1).to_be_bytes().to_vec());
    Ok(n)
}

/// Appends `value` to the list counted at `count_key`, its entries at `entry_key(position)`.
pub(crate) fn append(
    state: &mut TxState<'_, '_>,
    count_key: &[u8],
    entry_key: impl Fn(u64) -> Vec<u8>,
    value: u64,
) -> Result<(), StoreError> {
    let position = next(state, count_key)?;
    state.put(entry_key(position), value.to_be_bytes().to_vec());
    Ok(())
}

/// The values at positions `from` to `from + limit` of the list counted at `count_key`, and
/// the position after them if the list goes on.
pub(crate) fn page(
    state: &impl StateRead,
    count_key: &[u8],
    entry_key: impl Fn(u64) -> Vec<u8>,
    from: u64,
    limit: u64,
) -> Result<(Vec<u64>, Option<u64>), StoreError> {
    let count = read_u64(state, count_key)?;
    let end = count.min(from.saturating_add(limit));
    let values = (from..end).map(|p| read_u64(state, &entry_key(p))).collect::<Result<_, _>>()?;
    Ok((values, (end < count).then_some(end)))
}
