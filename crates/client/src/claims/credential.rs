//! Credentials: a credential's status in its issuer's status list.

use civitas_types::Did;
use civitas_types::credential::{CredentialStatus, status_chunk_key, status_in_chunk};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Describe, Evidence};
use crate::light::ProofError;
use crate::wire::StateItemJson;

/// A credential's status: the issuer's status-list chunk holding entry `index`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialStatusClaim {
    /// The issuer's DID.
    pub issuer: String,
    /// The entry.
    pub index: u32,
    /// The chunk (absent: every entry in it is valid).
    pub chunk: StateItemJson,
}

/// The issuer's credential at status entry `index` has this status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialStatusFact {
    /// The issuer.
    pub issuer: Did,
    /// The entry.
    pub index: u32,
    /// Its status.
    pub status: CredentialStatus,
}

impl Claim for CredentialStatusClaim {
    type Fact = CredentialStatusFact;

    fn check(&self, at: &Evidence<'_>) -> Result<CredentialStatusFact, ProofError> {
        let issuer: Did =
            self.issuer.parse().map_err(|e: civitas_types::DidError| ProofError::Field("issuer", e.to_string()))?;
        let index = self.index;
        let key = status_chunk_key(&issuer, index);
        let chunk = at.item("value", &self.chunk, &key, || format!("{} status entry {index}", self.issuer))?;
        let status = status_in_chunk(chunk.as_deref(), index)
            .ok_or_else(|| ProofError::Field("value", "a status entry holds 3".into()))?;
        Ok(CredentialStatusFact { issuer, index, status })
    }
}

impl Describe for CredentialStatusFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let (issuer, index, status) = (&self.issuer, self.index, self.status);
        (
            serde_json::json!({ "kind": "credential_status", "issuer": issuer.to_string(), "index": index,
                "status": status.name() }),
            format!("the credential at {issuer}'s status entry {index} is {}", status.name()),
        )
    }
}
