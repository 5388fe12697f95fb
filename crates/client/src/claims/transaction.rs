//! Transactions: inclusion in a block, with the receipt (every module's instructions).

use civitas_types::codec::{Decode as _, Encode as _};
use civitas_types::{Hash, TxOutcome, TxReceipt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Describe, Evidence};
use crate::light::{ProofError, field_hex, path};
use crate::wire::MerkleStepJson;

/// A transaction's inclusion in the block, with its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionClaim {
    /// The transaction's hash, hex.
    pub tx_hash: String,
    /// Path from the transaction's leaf to the header's `tx_root`.
    pub tx_path: Vec<MerkleStepJson>,
    /// Its receipt (canonical encoding, hex).
    pub receipt: String,
    /// Path from the receipt's leaf to the header's `results_root`.
    pub receipt_path: Vec<MerkleStepJson>,
}

/// The transaction is in the block, with this receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionFact {
    /// Its receipt (hash and outcome).
    pub receipt: TxReceipt,
}

impl Claim for TransactionClaim {
    type Fact = TransactionFact;

    fn check(&self, at: &Evidence<'_>) -> Result<TransactionFact, ProofError> {
        let claimed = Hash::from_hex(&self.tx_hash).map_err(|e| ProofError::Field("tx_hash", e.to_string()))?;
        let receipt = TxReceipt::decode(&field_hex("receipt", &self.receipt)?)
            .map_err(|e| ProofError::Field("receipt", e.to_string()))?;
        if receipt.tx_hash != claimed {
            return Err(ProofError::WrongReceipt { claimed, found: receipt.tx_hash });
        }
        let tx_leaf = civitas_types::merkle::leaf(&claimed.0);
        if civitas_types::merkle::root_from_proof(tx_leaf, &path("tx_path", &self.tx_path)?) != at.header.tx_root {
            return Err(ProofError::Path("tx"));
        }
        let receipt_leaf = civitas_types::merkle::leaf(&receipt.encode());
        if civitas_types::merkle::root_from_proof(receipt_leaf, &path("receipt_path", &self.receipt_path)?)
            != at.header.results_root
        {
            return Err(ProofError::Path("results"));
        }
        Ok(TransactionFact { receipt })
    }
}

impl Describe for TransactionFact {
    fn describe(&self, height: u64) -> (serde_json::Value, String) {
        let receipt = &self.receipt;
        let (outcome, code) = match &receipt.outcome {
            TxOutcome::Success => ("committed".to_owned(), None),
            TxOutcome::Failed { code, .. } => (format!("failed ({code})"), Some(code.clone())),
        };
        (
            serde_json::json!({ "kind": "transaction", "tx_hash": receipt.tx_hash.to_hex(),
                "succeeded": code.is_none(), "error_code": code }),
            format!("transaction {} is in block {height} and {outcome}", receipt.tx_hash),
        )
    }
}
