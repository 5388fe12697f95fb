//! Read-only views of the catalog, for the API and the tests.

use civitas_state::{StateRead, StoreError};
use civitas_types::catalog::{
    AccessRequest, CatalogEntry, CatalogList, Dataset, LIST_PAGE_MAX, dataset_key, request_key,
};

use crate::counters::{read_u64, record};

/// Dataset `id`.
pub fn dataset(state: &impl StateRead, id: u64) -> Result<Option<Dataset>, StoreError> {
    record(state, &dataset_key(id), "dataset")
}

/// Access request (or grant) `id`.
pub fn request(state: &impl StateRead, id: u64) -> Result<Option<AccessRequest>, StoreError> {
    record(state, &request_key(id), "access request")
}

/// The length of `list`.
pub fn list_len(state: &impl StateRead, list: &CatalogList) -> Result<u64, StoreError> {
    read_u64(state, &list.count_key())
}

/// Up to `limit` (at most [`LIST_PAGE_MAX`]) entries of `list` from position `from`, with the
/// list's length.
pub fn list_page(
    state: &impl StateRead,
    list: &CatalogList,
    from: u64,
    limit: u64,
) -> Result<(u64, Vec<CatalogEntry>), StoreError> {
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
