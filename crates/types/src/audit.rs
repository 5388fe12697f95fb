//! Audit trail entries: the record of one official act, as kept in state (and proven to light
//! clients). The execution crate writes them; see its `audit` module.

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes};
use crate::{Did, Hash};

/// The state key of audit entry `n` (what a proof of an entry proves).
pub fn entry_key(n: u64) -> Vec<u8> {
    [b"audit/entry/".as_slice(), &n.to_be_bytes()].concat()
}

/// One official act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The block it happened in.
    pub height: u64,
    /// That block's time.
    pub timestamp_ms: u64,
    /// The transaction.
    pub tx_hash: Hash,
    /// The organization acted for.
    pub org: Did,
    /// The official who acted.
    pub official: Did,
    /// The instruction's name.
    pub instruction: String,
}

impl Encode for AuditEntry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        self.tx_hash.encode_to(out);
        self.org.encode_to(out);
        self.official.encode_to(out);
        put_bytes(out, self.instruction.as_bytes());
    }
}

impl Decode for AuditEntry {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AuditEntry {
            height: r.u64("height")?,
            timestamp_ms: r.u64("timestamp")?,
            tx_hash: Hash::decode_from(r)?,
            org: Did::decode_from(r)?,
            official: Did::decode_from(r)?,
            instruction: r.string(64, "instruction")?,
        })
    }
}
