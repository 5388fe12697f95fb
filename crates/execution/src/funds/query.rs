//! Read-only views of project funds, for the API and the tests.

use civitas_state::{StateRead, StoreError};
use civitas_types::Amount;
use civitas_types::fund::{
    Contract, ESCROW_TOTAL_KEY, FundEntry, FundList, LIST_PAGE_MAX, Payroll, Project, contract_key, payroll_key,
    project_key,
};

use crate::counters::{read_u64, record};

/// Project `id`.
pub fn project(state: &impl StateRead, id: u64) -> Result<Option<Project>, StoreError> {
    record(state, &project_key(id), "project")
}

/// Contract (or subcontract) `id`.
pub fn contract(state: &impl StateRead, id: u64) -> Result<Option<Contract>, StoreError> {
    record(state, &contract_key(id), "contract")
}

/// Payroll `id`.
pub fn payroll(state: &impl StateRead, id: u64) -> Result<Option<Payroll>, StoreError> {
    record(state, &payroll_key(id), "payroll")
}

/// What all projects' escrows hold together.
pub fn escrow_total(state: &impl StateRead) -> Result<Amount, StoreError> {
    match state.get(ESCROW_TOTAL_KEY)? {
        None => Ok(0),
        Some(b) => Ok(u128::from_be_bytes(
            b.as_slice().try_into().map_err(|_| StoreError::Corrupt("the escrow total is not 16 bytes".into()))?,
        )),
    }
}

/// The length of `list`.
pub fn list_len(state: &impl StateRead, list: &FundList) -> Result<u64, StoreError> {
    read_u64(state, &list.count_key())
}

/// Up to `limit` (at most [`LIST_PAGE_MAX`]) entries of `list` from position `from`, with
/// the list's length.
pub fn list_page(
    state: &impl StateRead,
    list: &FundList,
    from: u64,
    limit: u64,
) -> Result<(u64, Vec<FundEntry>), StoreError> {
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
