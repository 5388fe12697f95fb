//! Read-only views of credential types, anchors, status lists, consents and the access log.

use civitas_state::{StateRead, StoreError};
use civitas_types::codec::Decode;
use civitas_types::credential::{
    AccessEntry, Anchor, Consent, CredentialStatus, CredentialType, access_key, anchor_key, consent_key,
    status_chunk_key, status_in_chunk, type_key,
};
use civitas_types::{Did, Hash};

use super::{HOLDER_ACCESS, HOLDER_CONSENTS, VERIFIER_ACCESS, count_key, entry_key};
use crate::counters;

/// Most entries in one page.
pub const PAGE_MAX: u64 = 100;

/// A page of numbered records, and where the next page starts.
pub type Page<T> = (Vec<(u64, T)>, Option<u64>);

/// Issuer `issuer`'s credential type `vct`.
pub fn credential_type(state: &impl StateRead, issuer: &Did, vct: &str) -> Result<Option<CredentialType>, StoreError> {
    Ok(state.get(&type_key(issuer, vct))?.map(|b| CredentialType::decode(&b)).transpose()?)
}

/// The credential anchored at issuer `issuer`'s status entry `index`.
pub fn anchor(state: &impl StateRead, issuer: &Did, index: u32) -> Result<Option<Anchor>, StoreError> {
    Ok(state.get(&anchor_key(issuer, index))?.map(|b| Anchor::decode(&b)).transpose()?)
}

/// The status at issuer `issuer`'s entry `index` (valid unless set).
pub fn status(state: &impl StateRead, issuer: &Did, index: u32) -> Result<CredentialStatus, StoreError> {
    let chunk = state.get(&status_chunk_key(issuer, index))?;
    status_in_chunk(chunk.as_deref(), index).ok_or_else(|| StoreError::Corrupt("status entry holds 3".into()))
}

/// The stored bytes of the status-list chunk holding issuer `issuer`'s entry `index` (none if
/// no entry of it was ever set: all valid).
pub fn status_chunk(state: &impl StateRead, issuer: &Did, index: u32) -> Result<Option<Vec<u8>>, StoreError> {
    state.get(&civitas_types::credential::status_chunk_key(issuer, index))
}

/// The credential anchored at issuer `issuer`'s entry `index`, with its status.
pub fn anchor_with_status(
    state: &impl StateRead,
    issuer: &Did,
    index: u32,
) -> Result<Option<(Anchor, CredentialStatus)>, StoreError> {
    match anchor(state, issuer, index)? {
        Some(a) => Ok(Some((a, status(state, issuer, index)?))),
        None => Ok(None),
    }
}

/// Whether consent `id` covers verification `v` in a block at `height` (the checks
/// `record_access` makes, for the verification endpoint), and why not.
pub fn consent_covers(
    state: &impl StateRead,
    id: u64,
    v: &super::Verification<'_>,
    height: u64,
) -> Result<Result<(), super::Error>, StoreError> {
    Ok(match consent(state, id)? {
        None => Err(super::Error::UnknownConsent(id)),
        Some(c) => super::covers(&c, id, v, height),
    })
}

/// Consent `id`.
pub fn consent(state: &impl StateRead, id: u64) -> Result<Option<Consent>, StoreError> {
    Ok(state.get(&consent_key(id))?.map(|b| Consent::decode(&b)).transpose()?)
}

fn page(
    state: &impl StateRead,
    list: &[u8],
    owner: &[u8],
    from: u64,
    limit: u64,
) -> Result<(Vec<u64>, Option<u64>), StoreError> {
    counters::page(state, &count_key(list, owner), |p| entry_key(list, owner, p), from, limit.min(PAGE_MAX))
}

/// A page of the consents `holder` granted (ids and records), and where the next starts.
pub fn consents_of(state: &impl StateRead, holder: &Did, from: u64, limit: u64) -> Result<Page<Consent>, StoreError> {
    let (ids, next) = page(state, HOLDER_CONSENTS, holder.as_bytes(), from, limit)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(c) = consent(state, id)? {
            out.push((id, c));
        }
    }
    Ok((out, next))
}

fn entries(state: &impl StateRead, ids: Vec<u64>) -> Result<Vec<(u64, AccessEntry)>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for n in ids {
        if let Some(b) = state.get(&access_key(n))? {
            out.push((n, AccessEntry::decode(&b)?));
        }
    }
    Ok(out)
}

/// A page of the access-log entries about the holder with reference `holder_ref`.
pub fn access_about(
    state: &impl StateRead,
    holder_ref: &Hash,
    from: u64,
    limit: u64,
) -> Result<Page<AccessEntry>, StoreError> {
    let (ids, next) = page(state, HOLDER_ACCESS, &holder_ref.0, from, limit)?;
    Ok((entries(state, ids)?, next))
}

/// A page of the access-log entries verifier `verifier` recorded.
pub fn access_by(
    state: &impl StateRead,
    verifier: &Did,
    from: u64,
    limit: u64,
) -> Result<Page<AccessEntry>, StoreError> {
    let (ids, next) = page(state, VERIFIER_ACCESS, verifier.as_bytes(), from, limit)?;
    Ok((entries(state, ids)?, next))
}
