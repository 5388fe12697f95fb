//! Read-only views of vendors, trusted attestation certificates and revocations.

use civitas_state::{StateRead, StoreError};
use civitas_types::Hash;
use civitas_types::device::{
    Model, ModelVersion, Revocation, TrustedCert, Vendor, cert_key, model_key, model_version_key, revoked_cert_key,
    revoked_dac_key, vendor_key,
};

fn decoded<T: civitas_types::codec::Decode>(bytes: Option<Vec<u8>>) -> Result<Option<T>, StoreError> {
    bytes.map(|b| T::decode(&b).map_err(|e| StoreError::Corrupt(e.to_string()))).transpose()
}

/// The manufacturer holding vendor id `vid`.
pub fn vendor(state: &impl StateRead, vid: u16) -> Result<Option<Vendor>, StoreError> {
    decoded(state.get(&vendor_key(vid))?)
}

/// The trusted certificate (PAA or PAI) with subject key identifier `key_id`.
pub fn certificate(state: &impl StateRead, key_id: &[u8]) -> Result<Option<TrustedCert>, StoreError> {
    decoded(state.get(&cert_key(key_id))?)
}

/// The revocation of the certificate with subject key identifier `key_id`, if revoked.
pub fn certificate_revocation(state: &impl StateRead, key_id: &[u8]) -> Result<Option<Revocation>, StoreError> {
    decoded(state.get(&revoked_cert_key(key_id))?)
}

/// Model `vid`/`pid`.
pub fn model(state: &impl StateRead, vid: u16, pid: u16) -> Result<Option<Model>, StoreError> {
    decoded(state.get(&model_key(vid, pid))?)
}

/// Software version `version` of model `vid`/`pid`.
pub fn model_version(
    state: &impl StateRead,
    vid: u16,
    pid: u16,
    version: u32,
) -> Result<Option<ModelVersion>, StoreError> {
    decoded(state.get(&model_version_key(vid, pid, version))?)
}

/// The revocation of the device certificate with fingerprint `fingerprint`, if revoked.
pub fn dac_revocation(state: &impl StateRead, fingerprint: &Hash) -> Result<Option<Revocation>, StoreError> {
    decoded(state.get(&revoked_dac_key(fingerprint))?)
}
