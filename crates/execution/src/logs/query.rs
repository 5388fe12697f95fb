//! Read-only views of device logs: gateways, heads and anchors.

use civitas_state::{StateRead, StoreError};
use civitas_types::codec::Decode;
use civitas_types::device::DeviceId;
use civitas_types::log::{
    ANCHOR_COUNT_KEY, Anchor, Head, anchor_key, device_anchor_key, device_anchors_count_key, gateway_key, head_key,
};
use civitas_types::{Did, Hash};

/// The gateway device `id`'s owner named, if any.
pub fn gateway(state: &impl StateRead, id: &DeviceId) -> Result<Option<Did>, StoreError> {
    Ok(state.get(&gateway_key(id))?.map(|b| Did::decode(&b)).transpose()?)
}

/// Device `id`'s head: its next sequence number and last anchored event (a fresh device's is
/// `0` and zero).
pub fn head(state: &impl StateRead, id: &DeviceId) -> Result<Head, StoreError> {
    let head = state.get(&head_key(id))?.map(|b| Head::decode(&b)).transpose()?;
    Ok(head.unwrap_or(Head { next_seq: 0, last_hash: Hash([0; 32]), anchor: 0 }))
}

/// Anchor `n`.
pub fn anchor(state: &impl StateRead, n: u64) -> Result<Option<Anchor>, StoreError> {
    Ok(state.get(&anchor_key(n))?.map(|b| Anchor::decode(&b)).transpose()?)
}

/// How many anchors there are.
pub fn anchor_count(state: &impl StateRead) -> Result<u64, StoreError> {
    crate::counters::read_u64(state, ANCHOR_COUNT_KEY)
}

/// Device `id`'s anchors (their numbers) from position `from`, at most `limit`, and how many
/// it has.
pub fn device_anchors(
    state: &impl StateRead,
    id: &DeviceId,
    from: u64,
    limit: u64,
) -> Result<(u64, Vec<u64>), StoreError> {
    let (values, _) =
        crate::counters::page(state, &device_anchors_count_key(id), |p| device_anchor_key(id, p), from, limit)?;
    Ok((crate::counters::read_u64(state, &device_anchors_count_key(id))?, values))
}
