//! Read-only views of rentals, for the API and the tests.

use civitas_state::{StateRead, StoreError};
use civitas_types::rental::{
    ESCROW_TOTAL_KEY, LIST_PAGE_MAX, Lease, LeaseVersion, Listing, Property, RentalEntry, RentalList, lease_key,
    listing_key, property_key, property_ref_key, version_key,
};
use civitas_types::{Amount, Did};

use crate::counters::{read_u64, record};

/// Listing `id`.
pub fn listing(state: &impl StateRead, id: u64) -> Result<Option<Listing>, StoreError> {
    record(state, &listing_key(id), "listing")
}

/// Property `id`.
pub fn property(state: &impl StateRead, id: u64) -> Result<Option<Property>, StoreError> {
    record(state, &property_key(id), "property")
}

/// The number of the property `housing` certified as `reference`, once listed.
pub fn property_by_ref(state: &impl StateRead, housing: &Did, reference: &str) -> Result<Option<u64>, StoreError> {
    match state.get(&property_ref_key(housing, reference))? {
        None => Ok(None),
        Some(b) => Ok(Some(u64::from_be_bytes(
            b.as_slice().try_into().map_err(|_| StoreError::Corrupt("a property number is not 8 bytes".into()))?,
        ))),
    }
}

/// Lease `id`.
pub fn lease(state: &impl StateRead, id: u64) -> Result<Option<Lease>, StoreError> {
    record(state, &lease_key(id), "lease")
}

/// Version `version` of lease `id`.
pub fn version(state: &impl StateRead, id: u64, version: u32) -> Result<Option<LeaseVersion>, StoreError> {
    record(state, &version_key(id, version), "lease version")
}

/// What all leases' escrows hold together (deposits and rent paid ahead).
pub fn escrow_total(state: &impl StateRead) -> Result<Amount, StoreError> {
    match state.get(ESCROW_TOTAL_KEY)? {
        None => Ok(0),
        Some(b) => Ok(u128::from_be_bytes(
            b.as_slice()
                .try_into()
                .map_err(|_| StoreError::Corrupt("the rental escrow total is not 16 bytes".into()))?,
        )),
    }
}

/// The length of `list`.
pub fn list_len(state: &impl StateRead, list: &RentalList) -> Result<u64, StoreError> {
    read_u64(state, &list.count_key())
}

/// Up to `limit` (at most [`LIST_PAGE_MAX`]) entries of `list` from position `from`, with the
/// list's length.
pub fn list_page(
    state: &impl StateRead,
    list: &RentalList,
    from: u64,
    limit: u64,
) -> Result<(u64, Vec<RentalEntry>), StoreError> {
    let total = list_len(state, list)?;
    let end = total.min(from.saturating_add(limit.min(LIST_PAGE_MAX)));
    let mut entries = Vec::new();
    for position in from..end {
        let bytes = state
            .get(&list.entry_key(position))?
            .ok_or_else(|| StoreError::Corrupt(format!("{list} entry {position} is missing")))?;
        entries.push(list.decode_entry(&bytes).map_err(|e| StoreError::Corrupt(format!("{list} entry: {e}")))?);
    }
    Ok((total, entries))
}
