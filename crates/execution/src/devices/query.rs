//! Read-only views of vendors, trusted attestation certificates, revocations, models,
//! passports and grants.

use civitas_state::{StateRead, StoreError};
use civitas_types::codec::Decode;
use civitas_types::device::list::LIST_PAGE_MAX;
use civitas_types::device::passport::{dac_device_key, device_key, grant_key};
use civitas_types::device::{DeviceId, DeviceList, Grant, Passport};
use civitas_types::device::{
    Model, ModelVersion, Revocation, TrustedCert, Vendor, cert_key, model_key, model_version_key, revoked_cert_key,
    revoked_dac_key, vendor_key,
};
use civitas_types::{Did, Hash, PublicKey};

/// The manufacturer holding vendor id `vid`.
pub fn vendor(state: &impl StateRead, vid: u16) -> Result<Option<Vendor>, StoreError> {
    Ok(state.get(&vendor_key(vid))?.map(|b| Decode::decode(&b)).transpose()?)
}

/// The trusted certificate (PAA or PAI) with subject key identifier `key_id`.
pub fn certificate(state: &impl StateRead, key_id: &[u8]) -> Result<Option<TrustedCert>, StoreError> {
    Ok(state.get(&cert_key(key_id))?.map(|b| Decode::decode(&b)).transpose()?)
}

/// The revocation of the certificate with subject key identifier `key_id`, if revoked.
pub fn certificate_revocation(state: &impl StateRead, key_id: &[u8]) -> Result<Option<Revocation>, StoreError> {
    Ok(state.get(&revoked_cert_key(key_id))?.map(|b| Decode::decode(&b)).transpose()?)
}

/// Model `vid`/`pid`.
pub fn model(state: &impl StateRead, vid: u16, pid: u16) -> Result<Option<Model>, StoreError> {
    Ok(state.get(&model_key(vid, pid))?.map(|b| Decode::decode(&b)).transpose()?)
}

/// Software version `version` of model `vid`/`pid`.
pub fn model_version(
    state: &impl StateRead,
    vid: u16,
    pid: u16,
    version: u32,
) -> Result<Option<ModelVersion>, StoreError> {
    Ok(state.get(&model_version_key(vid, pid, version))?.map(|b| Decode::decode(&b)).transpose()?)
}

/// The revocation of the device certificate with fingerprint `fingerprint`, if revoked.
pub fn dac_revocation(state: &impl StateRead, fingerprint: &Hash) -> Result<Option<Revocation>, StoreError> {
    Ok(state.get(&revoked_dac_key(fingerprint))?.map(|b| Decode::decode(&b)).transpose()?)
}

/// Device `id`'s passport.
pub fn passport(state: &impl StateRead, id: &DeviceId) -> Result<Option<Passport>, StoreError> {
    Ok(state.get(&device_key(id))?.map(|b| Decode::decode(&b)).transpose()?)
}

/// The device registered with the DAC of fingerprint `fingerprint`.
pub fn device_by_dac(state: &impl StateRead, fingerprint: &Hash) -> Result<Option<DeviceId>, StoreError> {
    Ok(state.get(&dac_device_key(fingerprint))?.map(|b| PublicKey::decode(&b).map(DeviceId)).transpose()?)
}

/// The grant of device `id` to `controller` (in force or not: see
/// [`civitas_types::device::passport::allowed`]).
pub fn grant(state: &impl StateRead, id: &DeviceId, controller: &Did) -> Result<Option<Grant>, StoreError> {
    Ok(state.get(&grant_key(id, controller))?.map(|b| Decode::decode(&b)).transpose()?)
}

/// List `list`'s length and its entries (raw) from position `from`, at most `limit` (capped at
/// [`LIST_PAGE_MAX`]).
pub fn list_page(
    state: &impl StateRead,
    list: &DeviceList,
    from: u64,
    limit: u64,
) -> Result<(u64, Vec<Vec<u8>>), StoreError> {
    let total = crate::counters::read_u64(state, &list.count_key())?;
    let end = total.min(from.saturating_add(limit.min(LIST_PAGE_MAX)));
    let entries = (from..end)
        .map(|p| state.get(&list.entry_key(p))?.ok_or_else(|| StoreError::Corrupt("a list entry is missing".into())))
        .collect::<Result<_, _>>()?;
    Ok((total, entries))
}
