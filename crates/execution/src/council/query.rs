//! Read-only views of the council.

use civitas_state::{StateRead, StoreError};
use civitas_types::Did;
use civitas_types::codec::{Decode, Reader};
use civitas_types::council::{COUNCIL_MAX, Proposal};
use civitas_types::validators::{VALIDATORS_KEY, ValidatorSet};

use super::{MEMBERS_KEY, THRESHOLD_KEY, accreditation_key, proposal_key};

/// The member departments, sorted.
pub fn members(state: &impl StateRead) -> Result<Vec<Did>, StoreError> {
    let Some(bytes) = state.get(MEMBERS_KEY)? else { return Ok(vec![]) };
    let mut r = Reader::new(&bytes);
    let members = r.seq(COUNCIL_MAX, "council members", Did::decode_from)?;
    r.finish()?;
    Ok(members)
}

/// How many approvals a proposal needs (0 if there is no council).
pub fn threshold(state: &impl StateRead) -> Result<u32, StoreError> {
    match state.get(THRESHOLD_KEY)? {
        None => Ok(0),
        Some(b) => Ok(u32::from_be_bytes(
            b.as_slice().try_into().map_err(|_| StoreError::Corrupt("threshold is not 4 bytes".into()))?,
        )),
    }
}

/// Proposal `id`.
pub fn proposal(state: &impl StateRead, id: u64) -> Result<Option<Proposal>, StoreError> {
    match state.get(&proposal_key(id))? {
        None => Ok(None),
        Some(bytes) => Ok(Some(Proposal::decode(&bytes)?)),
    }
}

/// The height at which `issuer` was accredited for `vct`, if it is.
pub fn accredited(state: &impl StateRead, issuer: &Did, vct: &str) -> Result<Option<u64>, StoreError> {
    match state.get(&accreditation_key(issuer, vct))? {
        None => Ok(None),
        Some(b) => Ok(Some(u64::from_be_bytes(
            b.as_slice().try_into().map_err(|_| StoreError::Corrupt("accreditation is not 8 bytes".into()))?,
        ))),
    }
}

/// The validator set that finalizes the block after this state's. `None` only on a chain whose
/// genesis was written before sets were kept in state (its set is the genesis one, for good).
pub fn validators(state: &impl StateRead) -> Result<Option<ValidatorSet>, StoreError> {
    match state.get(VALIDATORS_KEY)? {
        Some(bytes) => Ok(Some(ValidatorSet::decode(&bytes)?)),
        None => Ok(None),
    }
}
