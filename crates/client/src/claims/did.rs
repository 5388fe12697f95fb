//! DIDs: a DID's account, document and metadata, each proven.

use civitas_types::Did;
use civitas_types::account::Account;
use civitas_types::did_doc::{DidDocumentData, DidMeta};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Describe, Evidence};
use crate::light::ProofError;
use crate::wire::StateItemJson;

/// A DID's state after the block: its account (key `#key-0`), its document's settable part
/// and its metadata, each with its state proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DidClaim {
    /// The DID.
    pub did: String,
    /// The account record.
    pub account: StateItemJson,
    /// The document's settable part.
    pub document: StateItemJson,
    /// The metadata (version, deactivation).
    pub meta: StateItemJson,
}

/// The DID's state: its account (`None`: no such DID), document and metadata (`None`: a
/// genesis-era DID at version 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidFact {
    /// The DID.
    pub did: Did,
    /// Its account.
    pub account: Option<Account>,
    /// Its document's settable part.
    pub document: DidDocumentData,
    /// Its metadata.
    pub meta: Option<DidMeta>,
}

fn decoded<T: civitas_types::codec::Decode>(
    name: &'static str,
    bytes: Option<Vec<u8>>,
) -> Result<Option<T>, ProofError> {
    bytes.as_deref().map(T::decode).transpose().map_err(|e| ProofError::Field(name, e.to_string()))
}

impl Claim for DidClaim {
    type Fact = DidFact;

    fn check(&self, at: &Evidence<'_>) -> Result<DidFact, ProofError> {
        let did: Did =
            self.did.parse().map_err(|e: civitas_types::DidError| ProofError::Field("did", e.to_string()))?;
        // Each item must be the DID's own key, and proven.
        let subject = |name: &'static str| move || format!("{} {name}", self.did);
        let account =
            at.item("account", &self.account, &civitas_types::account::account_key(&did), subject("account"))?;
        let document =
            at.item("document", &self.document, &civitas_types::did_doc::doc_key(&did), subject("document"))?;
        let meta = at.item("meta", &self.meta, &civitas_types::did_doc::meta_key(&did), subject("meta"))?;
        Ok(DidFact {
            did,
            account: decoded("account", account)?,
            document: decoded("document", document)?.unwrap_or_default(),
            meta: decoded("meta", meta)?,
        })
    }
}

impl Describe for DidFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let did = &self.did;
        let Some(a) = &self.account else {
            return (
                serde_json::json!({ "kind": "did", "did": did.to_string(), "exists": false }),
                format!("no DID {did} exists"),
            );
        };
        let version = self.meta.map_or(1, |m| m.version);
        let deactivated = self.meta.is_some_and(|m| m.deactivated);
        let doc = crate::did::civitas_document(did, &a.public_key, &self.document);
        (
            serde_json::json!({ "kind": "did", "did": did.to_string(), "exists": true,
                "version": version, "deactivated": deactivated, "document": doc }),
            format!(
                "DID {did} is at version {version}{}, with key #key-0 {} and {} more verification method(s)",
                if deactivated { " (deactivated)" } else { "" },
                a.public_key.to_hex(),
                self.document.methods.len()
            ),
        )
    }
}
