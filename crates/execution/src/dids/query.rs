//! Read-only views of DIDs.

use civitas_state::{StateRead, StoreError};
use civitas_types::Did;
use civitas_types::codec::Decode;
use civitas_types::did_doc::DidDocumentData;

use super::state::{DidMeta, doc_key, meta_key, version_key};

/// The settable part of `did`'s document (empty if never set).
pub fn document(state: &impl StateRead, did: &Did) -> Result<DidDocumentData, StoreError> {
    match state.get(&doc_key(did))? {
        None => Ok(DidDocumentData::default()),
        Some(bytes) => Ok(DidDocumentData::decode(&bytes)?),
    }
}

/// `did`'s metadata; `None` if it has none (no such DID, or an account from a build before
/// DIDs had metadata: then it is version 1 from genesis).
pub fn meta(state: &impl StateRead, did: &Did) -> Result<Option<DidMeta>, StoreError> {
    match state.get(&meta_key(did))? {
        None => Ok(None),
        Some(bytes) => Ok(Some(DidMeta::decode(&bytes)?)),
    }
}

/// The height at which version `version` of `did` took effect.
pub fn version_height(state: &impl StateRead, did: &Did, version: u64) -> Result<Option<u64>, StoreError> {
    match state.get(&version_key(did, version))? {
        None => Ok(None),
        Some(bytes) => {
            let arr: [u8; 8] =
                bytes.as_slice().try_into().map_err(|_| StoreError::Corrupt("version height is not 8 bytes".into()))?;
            Ok(Some(u64::from_be_bytes(arr)))
        }
    }
}
