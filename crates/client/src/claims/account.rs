//! Accounts: an account's record, or its absence.

use civitas_types::Did;
use civitas_types::account::Account;
use civitas_types::codec::Decode as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Describe, Evidence};
use crate::light::{ProofError, field_hex};

/// An account's record (or its absence) in the state after the block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountClaim {
    /// The DID.
    pub did: String,
    /// The state key, hex.
    pub state_key: String,
    /// The account record (canonical encoding, hex), or null: proven absent.
    pub value: Option<String>,
    /// The state proof (jmt `SparseMerkleProof<Sha256>`, borsh), hex.
    pub state_proof: String,
}

/// The account with this DID has this record, or (with `None`) does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFact {
    /// The DID.
    pub did: Did,
    /// The record, or `None`: proven absent.
    pub account: Option<Account>,
}

impl Claim for AccountClaim {
    type Fact = AccountFact;

    fn check(&self, at: &Evidence<'_>) -> Result<AccountFact, ProofError> {
        let did: Did =
            self.did.parse().map_err(|e: civitas_types::DidError| ProofError::Field("did", e.to_string()))?;
        let key = field_hex("state_key", &self.state_key)?;
        if key != civitas_types::account::account_key(&did) {
            return Err(ProofError::WrongKey(self.did.clone()));
        }
        let value = self.value.as_deref().map(|v| field_hex("value", v)).transpose()?;
        let account =
            value.as_deref().map(Account::decode).transpose().map_err(|e| ProofError::Field("value", e.to_string()))?;
        if let Some(a) = &account
            && a.did != did
        {
            return Err(ProofError::WrongSubject { subject: self.did.clone(), found: a.did.to_string() });
        }
        at.state("state_proof", &self.state_proof, &key, value.as_deref())?;
        Ok(AccountFact { did, account })
    }
}

impl Describe for AccountFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let did = &self.did;
        match &self.account {
            Some(a) => (
                serde_json::json!({ "kind": "account", "did": did.to_string(), "exists": true,
                    "balance": a.balance.to_string(), "nonce": a.nonce }),
                format!("account {did} has balance {} and next nonce {}", a.balance, a.nonce),
            ),
            None => (
                serde_json::json!({ "kind": "account", "did": did.to_string(), "exists": false }),
                format!("no account {did} exists"),
            ),
        }
    }
}
