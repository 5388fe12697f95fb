//! The audit trail: one entry, an official act.

use civitas_types::audit::AuditEntry;
use civitas_types::codec::Decode as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Describe, Evidence};
use crate::light::{ProofError, field_hex};

/// An audit trail entry in the state after the block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEntryClaim {
    /// Its number.
    pub index: u64,
    /// The state key, hex.
    pub state_key: String,
    /// The entry (canonical encoding, hex).
    pub value: String,
    /// The state proof (jmt `SparseMerkleProof<Sha256>`, borsh), hex.
    pub state_proof: String,
}

/// The audit trail's entry `index` is this official act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntryFact {
    /// Its number.
    pub index: u64,
    /// The act.
    pub entry: AuditEntry,
}

impl Claim for AuditEntryClaim {
    type Fact = AuditEntryFact;

    fn check(&self, at: &Evidence<'_>) -> Result<AuditEntryFact, ProofError> {
        let key = field_hex("state_key", &self.state_key)?;
        if key != civitas_types::audit::entry_key(self.index) {
            return Err(ProofError::WrongKey(format!("audit entry {}", self.index)));
        }
        let value = field_hex("value", &self.value)?;
        let entry = AuditEntry::decode(&value).map_err(|e| ProofError::Field("value", e.to_string()))?;
        at.state("state_proof", &self.state_proof, &key, Some(&value))?;
        Ok(AuditEntryFact { index: self.index, entry })
    }
}

impl Describe for AuditEntryFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let (index, entry) = (self.index, &self.entry);
        (
            serde_json::json!({ "kind": "audit_entry", "index": index, "org": entry.org.to_string(),
                "official": entry.official.to_string(), "instruction": entry.instruction,
                "height": entry.height, "tx_hash": entry.tx_hash.to_hex() }),
            format!(
                "audit entry {index}: {} did `{}` for {} at height {} (tx {})",
                entry.official, entry.instruction, entry.org, entry.height, entry.tx_hash
            ),
        )
    }
}
