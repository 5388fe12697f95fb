//! The DID module's keys and records.

use civitas_types::Did;
use civitas_types::codec::{Decode, DecodeError, Encode, Reader};

pub(crate) fn doc_key(did: &Did) -> Vec<u8> {
    [b"did/doc/".as_slice(), did.as_bytes()].concat()
}

pub(crate) fn meta_key(did: &Did) -> Vec<u8> {
    [b"did/meta/".as_slice(), did.as_bytes()].concat()
}

/// Where version `version` of `did`'s document records the height it took effect at.
pub(crate) fn version_key(did: &Did, version: u64) -> Vec<u8> {
    [b"did/version/".as_slice(), did.as_bytes(), &version.to_be_bytes()].concat()
}

/// A DID's history in brief: when it was created and last changed, and its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DidMeta {
    /// The height of the block that created it (0: genesis).
    pub created_height: u64,
    /// That block's time.
    pub created_ms: u64,
    /// The height of the block that last changed it.
    pub updated_height: u64,
    /// That block's time.
    pub updated_ms: u64,
    /// Its version: 1 at creation, one more with each change (key rotation, document update,
    /// recovery, deactivation).
    pub version: u64,
    /// Whether it was deactivated.
    pub deactivated: bool,
}

impl Encode for DidMeta {
    fn encode_to(&self, out: &mut Vec<u8>) {
        for v in [self.created_height, self.created_ms, self.updated_height, self.updated_ms, self.version] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.push(u8::from(self.deactivated));
    }
}

impl Decode for DidMeta {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(DidMeta {
            created_height: r.u64("created height")?,
            created_ms: r.u64("created time")?,
            updated_height: r.u64("updated height")?,
            updated_ms: r.u64("updated time")?,
            version: r.u64("version")?,
            deactivated: match r.u8("deactivated")? {
                0 => false,
                1 => true,
                tag => return Err(DecodeError::UnknownTag { what: "deactivated", tag }),
            },
        })
    }
}
