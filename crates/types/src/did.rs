//! `did:civitas:` identifiers. An account's DID is derived once, from the key it registers
//! with, and stays the same when the key is rotated.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::crypto::{Hash, PublicKey};

const PREFIX: &str = "did:civitas:";
const DID_BYTES: usize = 20;

/// A `did:civitas:` identifier: 20 bytes of SHA-256 over the registering key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Did([u8; DID_BYTES]);

impl Did {
    /// The DID an account registering with `key` gets.
    pub fn from_initial_key(key: &PublicKey) -> Did {
        let h = Hash::digest_parts(&[b"civitas/did/v1\0", &key.0]);
        let mut id = [0u8; DID_BYTES];
        id.copy_from_slice(&h.0[..DID_BYTES]);
        Did(id)
    }

    /// The identifier's bytes.
    pub fn as_bytes(&self) -> &[u8; DID_BYTES] {
        &self.0
    }
}

/// Why a string is not a `did:civitas:` DID.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DidError {
    /// It does not start with `did:civitas:`.
    #[error("a Civitas DID starts with `did:civitas:`")]
    WrongMethod,
    /// The method-specific id is not 40 lowercase hex digits.
    #[error("the part after `did:civitas:` must be 40 lowercase hex digits")]
    BadId,
}

impl FromStr for Did {
    type Err = DidError;

    fn from_str(s: &str) -> Result<Did, DidError> {
        let id = s.strip_prefix(PREFIX).ok_or(DidError::WrongMethod)?;
        if id.len() != DID_BYTES * 2 || id.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(DidError::BadId);
        }
        let mut out = [0u8; DID_BYTES];
        hex::decode_to_slice(id, &mut out).map_err(|_| DidError::BadId)?;
        Ok(Did(out))
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Encode for Did {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for Did {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Did(r.array("did")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_prints() {
        let did = Did::from_initial_key(&PublicKey([7; 32]));
        assert_eq!(did.to_string().parse::<Did>(), Ok(did));
    }

    #[test]
    fn bad_strings_say_why() {
        let check = |s: &str, e: DidError| assert_eq!(s.parse::<Did>(), Err(e));
        check("did:web:example.org", DidError::WrongMethod);
        check("did:civitas:abc", DidError::BadId);
        check(&format!("did:civitas:{}", "G".repeat(40)), DidError::BadId);
        check(&format!("did:civitas:{}", "AB".repeat(20)), DidError::BadId);
    }
}
