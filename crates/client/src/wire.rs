//! The API's wire forms. JSON exists only here and in the API crate; amounts travel as
//! decimal strings because JSON numbers lose precision past 2^53.

use civitas_types::codec::{Decode, DecodeError, Reader, put_bytes, put_len};
use civitas_types::{Did, SignedTransaction, limits};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most transactions in one batch submission.
pub const BATCH_TXS_MAX: usize = 10_000;
/// Most transaction summaries in one page of a block.
pub const BLOCK_PAGE_MAX: u32 = 10_000;

/// An RFC 9457 problem document: every error the API returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:civitas:problem:<code>`).
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, for people.
    pub detail: String,
    /// A stable, machine-readable code.
    pub code: String,
}

pub use civitas_types::TransactionJson;

/// The binary batch body: a `u32` count, then each encoded transaction with a `u32` length.
pub fn encode_batch(txs: &[SignedTransaction]) -> Vec<u8> {
    let mut out = Vec::new();
    put_len(&mut out, txs.len());
    for tx in txs {
        put_bytes(&mut out, &civitas_types::codec::Encode::encode(tx));
    }
    out
}

/// Splits a batch body into per-transaction decode results. A broken frame (bad count or
/// length) fails the whole batch; a transaction that does not decode fails alone.
pub fn decode_batch(body: &[u8]) -> Result<Vec<Result<SignedTransaction, DecodeError>>, DecodeError> {
    let mut r = Reader::new(body);
    let frames = r.seq(BATCH_TXS_MAX, "batch", |r| r.bytes(limits::TX_BYTES_MAX, "transaction"))?;
    r.finish()?;
    Ok(frames.into_iter().map(SignedTransaction::decode).collect())
}

/// Largest finalization certificate in a raw block (a quorum of at most a few hundred
/// validators' signatures fits far below it).
pub const CERTIFICATE_BYTES_MAX: usize = 64 * 1024;

/// The raw block body (`GET /v1/blocks/{height}/raw`, `application/octet-stream`): the block's
/// canonical encoding, then its finalization certificate, each with a `u32` length. This is
/// what a full node fetches and checks.
pub fn encode_raw_block(block: &civitas_types::Block, certificate: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, &civitas_types::codec::Encode::encode(block));
    put_bytes(&mut out, certificate);
    out
}

/// Reads a raw block body: the block and its certificate, each bounded before allocation. The
/// certificate is not checked here (see [`crate::light::verify_finalization`]).
pub fn decode_raw_block(body: &[u8]) -> Result<(civitas_types::Block, Vec<u8>), DecodeError> {
    let mut r = Reader::new(body);
    let block = civitas_types::Block::decode(r.bytes(limits::BLOCK_BYTES_MAX, "block")?)?;
    let certificate = r.bytes(CERTIFICATE_BYTES_MAX, "certificate")?.to_vec();
    r.finish()?;
    Ok((block, certificate))
}

/// Answer to a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubmitResponse {
    /// The transaction's hash, hex.
    pub hash: String,
}

/// One transaction's result in a batch submission: a hash if admitted, else the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchItem {
    /// The hash, when admitted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hash: Option<String>,
    /// The error code, when refused.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<String>,
    /// The error, for people, when refused.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

/// Answer to a batch submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    /// One result per transaction, in order.
    pub results: Vec<BatchItem>,
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// Waiting in the mempool.
    Pending,
    /// In a block; all its instructions took effect.
    Committed,
    /// In a block; it failed and changed nothing but its nonce.
    Failed,
    /// Let go without a block (`error_code`): `nonce_used` or `expired`, it can never run;
    /// `evicted`, the mempool was full and a transaction that could run next took its place,
    /// so submit it again; or `forgotten`, said by the SDK when a node no longer knows a
    /// transaction it held.
    Dropped,
}

/// A transaction's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TxStatusJson {
    /// Its hash.
    pub hash: String,
    /// Where it stands.
    pub status: TxState,
    /// The block's height, once in a block.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub height: Option<u64>,
    /// Its index in the block.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<u32>,
    /// The failure code, if it failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_code: Option<String>,
    /// The failure, for people.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_message: Option<String>,
}

/// A transaction as listed in a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockTxJson {
    /// Its hash.
    pub hash: String,
    /// Its signing key, hex.
    pub signer: String,
    /// Its nonce.
    pub nonce: u64,
    /// `committed` or `failed`.
    pub status: TxState,
    /// The failure code, if it failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_code: Option<String>,
}

/// A block header and one page of its transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockJson {
    /// Height.
    pub height: u64,
    /// Header hash, hex.
    pub hash: String,
    /// Parent's header hash, hex.
    pub parent_hash: String,
    /// The block's time.
    pub timestamp_ms: u64,
    /// The proposer's key, hex.
    pub proposer: String,
    /// How many transactions it holds.
    pub tx_count: u32,
    /// Merkle root of transaction hashes, hex.
    pub tx_root: String,
    /// Merkle root of receipts, hex.
    pub results_root: String,
    /// State root after the block, hex.
    pub state_root: String,
    /// The consensus certificate that finalized the block, hex (absent for genesis); for a
    /// block finalized only through a descendant, the record of that descendant's headers and
    /// certificate. Check either with [`crate::light::verify_finalization`] and the genesis
    /// validator set.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub certificate: Option<String>,
    /// Index of the first transaction on this page.
    pub offset: u32,
    /// The page of transactions.
    pub transactions: Vec<BlockTxJson>,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountJson {
    /// Its DID.
    pub did: String,
    /// Its current key, hex.
    pub public_key: String,
    /// The nonce its next transaction must carry.
    pub nonce: u64,
    /// Balance in minor units, decimal.
    pub balance: String,
    /// Its roles.
    pub roles: Vec<String>,
}

/// The node's view of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusJson {
    /// The chain's id.
    pub chain_id: String,
    /// Latest committed height.
    pub height: u64,
    /// Latest block's hash, hex.
    pub block_hash: String,
    /// State root after the latest block, hex.
    pub state_root: String,
    /// Latest block's time.
    pub timestamp_ms: u64,
    /// Transactions waiting.
    pub mempool_txs: u64,
    /// This node's validator key, hex; absent on a full node.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub validator: Option<String>,
    /// Whether the node is catching up: reads of the newest state are stale, and it refuses
    /// transactions (`503 syncing`) until it is done.
    #[serde(default)]
    pub syncing: bool,
    /// The highest finalized height the node has seen (its own or a peer's).
    #[serde(default)]
    pub highest_seen_height: u64,
    /// How many blocks it lacks to reach that height.
    #[serde(default)]
    pub behind_blocks: u64,
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrgJson {
    /// Its DID.
    pub did: String,
    /// `department`, `company`, `manufacturer`, `payment_provider` or `employer`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// What a department does (`market_regulation`, `tax`).
    pub functions: Vec<String>,
    /// The height it was registered at (0: genesis).
    pub registered_height: u64,
    /// The organization that registered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
}

/// A council proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProposalJson {
    /// Its number.
    pub id: u64,
    /// What it does.
    pub action: civitas_types::council::CouncilAction,
    /// The member department that proposed it.
    pub proposer: String,
    /// The height it was made at.
    pub created_height: u64,
    /// The last height at which it can pass.
    pub expires_height: u64,
    /// The member departments that approved it.
    pub approvals: Vec<String>,
    /// `open` or `executed`.
    pub status: String,
    /// Where it executed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_height: Option<u64>,
}

/// The council.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CouncilJson {
    /// The member departments.
    pub members: Vec<String>,
    /// Approvals a proposal needs.
    pub threshold: u32,
}

/// A verifier's question: is this presentation, made for me with my nonce, good for this
/// purpose (under this consent)?
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialVerifyRequest {
    /// The SD-JWT+KB presentation (compact: base64url parts joined by `.` and `~`), at most
    /// 64 KiB.
    #[schema(max_length = 65536, pattern = "^[A-Za-z0-9_=.~-]+$")]
    pub presentation: String,
    /// The verifier's DID: the key binding's audience.
    #[schema(pattern = "^did:civitas:[0-9a-f]{40}$")]
    pub aud: String,
    /// The nonce the verifier gave the holder.
    #[schema(min_length = 1, max_length = 256)]
    pub nonce: String,
    /// Why the verifier looks (checked against the consent): 1 to 256 bytes.
    #[schema(min_length = 1, max_length = 256)]
    pub purpose: String,
    /// The holder's consent, where the issuer's policy requires one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<u64>,
}

/// The answer: valid, or the code of the first check that failed; what was disclosed; and the
/// commitments a verifier records in the access log.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct VerificationJson {
    /// Whether every check passed.
    pub valid: bool,
    /// `ok`, or the failed check's code.
    pub outcome: String,
    /// For people.
    pub detail: String,
    /// The issuer, as the credential names it.
    pub issuer: Option<String>,
    /// The credential type.
    pub vct: Option<String>,
    /// The disclosed claims (only when valid).
    pub claims: serde_json::Value,
    /// Their names.
    pub disclosed: Vec<String>,
    /// The holder's key thumbprint (hex), for the access log.
    pub holder_ref: Option<String>,
    /// SHA-256 of the presentation (hex), for the access log.
    pub presentation: Option<String>,
}

/// A registered merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MerchantJson {
    /// Its DID.
    pub did: String,
    /// Its organization's name.
    pub name: String,
    /// Its taxpayer id.
    pub taxpayer_id: String,
    /// Its postal address.
    pub address: civitas_types::invoice::PostalAddress,
    /// The tax department that registered it.
    pub registered_by: String,
    /// When.
    pub registered_height: u64,
}

/// The validator set that finalizes the next block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidatorSetJson {
    /// Its consensus epoch (0: the genesis set; one more at each change).
    pub epoch: u64,
    /// The first height it finalizes.
    pub from_height: u64,
    /// Validators that may fail or lie while the set stays safe and live.
    pub faults_tolerated: usize,
    /// The validators.
    pub validators: Vec<ValidatorJson>,
}

/// One validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidatorJson {
    /// Its consensus key, hex.
    pub public_key: String,
    /// Its p2p address (empty for a validator running alone).
    pub address: String,
    /// The department that runs it.
    pub name: String,
}

impl ValidatorSetJson {
    /// The JSON form of a set.
    pub fn from_set(set: &civitas_types::validators::ValidatorSet) -> ValidatorSetJson {
        ValidatorSetJson {
            epoch: set.epoch,
            from_height: set.from_height,
            faults_tolerated: set.faults_tolerated(),
            validators: set
                .validators
                .iter()
                .map(|v| ValidatorJson { public_key: v.key.to_hex(), address: v.address.clone(), name: v.name.clone() })
                .collect(),
        }
    }
}

/// An official's role in an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OfficialJson {
    /// The organization's DID.
    pub org: String,
    /// The official's DID.
    pub member: String,
    /// `admin` or `officer`.
    pub role: String,
}

/// One official act in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryJson {
    /// Its number in the whole trail.
    pub index: u64,
    /// The block it happened in.
    pub height: u64,
    /// That block's time.
    pub timestamp_ms: u64,
    /// The transaction, hex.
    pub tx_hash: String,
    /// The organization acted for.
    pub org: String,
    /// The official who acted.
    pub official: String,
    /// The instruction.
    pub instruction: String,
}

/// A page of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditPageJson {
    /// How many entries there are (in the whole trail, or for the organization asked about).
    pub total: u64,
    /// Position of the first entry of this page.
    pub from: u64,
    /// The entries.
    pub entries: Vec<AuditEntryJson>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_types::{AccountInstruction, Instruction, SecretKey, Transaction};

    fn signed() -> SignedTransaction {
        let key = SecretKey::from_seed([1; 32]);
        Transaction {
            chain_id: "c".into(),
            signer: key.public_key(),
            nonce: 1,
            valid_until_height: 2,
            instructions: vec![
                Instruction::Accounts(AccountInstruction::RegisterAccount),
                Instruction::Accounts(AccountInstruction::Transfer {
                    to: Did::from_initial_key(&key.public_key()),
                    amount: u128::MAX,
                }),
            ],
        }
        .sign(&key)
    }

    #[test]
    fn json_form_round_trips() {
        let s = signed();
        let json = serde_json::to_string(&TransactionJson::from_signed(&s)).expect("serialize");
        let back: TransactionJson = serde_json::from_str(&json).expect("parse");
        assert_eq!(back.to_signed(), Ok(s));
    }

    #[test]
    fn bad_values_are_named_with_the_value() {
        let mut v = serde_json::to_value(TransactionJson::from_signed(&signed())).expect("serialize");
        v["instructions"][1]["to"] = "did:web:x".into();
        let e = serde_json::from_value::<TransactionJson>(v).expect_err("not a Civitas DID").to_string();
        assert!(e.contains("transfer") && e.contains("did:web:x"), "{e}");
        let mut v = serde_json::to_value(TransactionJson::from_signed(&signed())).expect("serialize");
        v["signature"] = "00".into();
        let e = serde_json::from_value::<TransactionJson>(v).expect_err("short").to_string();
        assert!(e.contains("signature") && e.contains("`00`: invalid signature"), "{e}");
    }

    #[test]
    fn batch_frames_round_trip_and_broken_frames_fail() {
        let body = encode_batch(&[signed(), signed()]);
        let txs = decode_batch(&body).expect("frames");
        assert_eq!(txs.len(), 2);
        assert!(txs.iter().all(|t| t.as_ref() == Ok(&signed())));
        assert!(decode_batch(&body[..body.len() - 1]).is_err());
        let mut huge = Vec::new();
        put_len(&mut huge, BATCH_TXS_MAX + 1);
        assert!(matches!(decode_batch(&huge), Err(DecodeError::TooLong { .. })));
    }
}

/// The version of the proof document this build writes and reads.
pub const PROOF_VERSION: u32 = 1;

/// A self-contained proof of one fact, checkable offline with the genesis file
/// (`civitas verify`, [`crate::light::verify_proof`]). Documented in `docs/proofs.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofJson {
    /// Format version; see [`PROOF_VERSION`].
    pub version: u32,
    /// The chain the fact is on.
    pub chain_id: String,
    /// The height of the block the fact is proven against.
    pub height: u64,
    /// That block's header, canonical encoding, hex.
    pub header: String,
    /// The consensus certificate that finalized the block, hex.
    pub certificate: String,
    /// The fact and its Merkle evidence against the header.
    pub claim: ClaimJson,
    /// The validator-set changes between genesis and the block, oldest first; absent when the
    /// genesis set finalized it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validator_changes: Vec<ValidatorChangeJson>,
}

/// A change of validator set: the block that committed it, finalized by the outgoing set, and
/// the incoming set proven in that block's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatorChangeJson {
    /// The boundary block's header, canonical encoding, hex.
    pub header: String,
    /// Its finalization certificate (signed by the outgoing set), hex.
    pub certificate: String,
    /// The incoming set at `consensus/validators` in the block's state.
    pub validators: StateItemJson,
}

/// One step of a binary Merkle path, from the leaf up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MerkleStepJson {
    /// Whether the sibling is on the left.
    pub left: bool,
    /// The sibling's hash, hex.
    pub hash: String,
}

pub use crate::claims::ClaimJson;

/// One state key's value (or absence) with its proof against the header's state root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateItemJson {
    /// The state key, hex.
    pub state_key: String,
    /// The value (canonical encoding, hex), or null: proven absent.
    pub value: Option<String>,
    /// The state proof (jmt `SparseMerkleProof<Sha256>`, borsh), hex.
    pub state_proof: String,
}

/// The JSON form of a Merkle path.
pub fn path_json(path: &[(bool, civitas_types::Hash)]) -> Vec<MerkleStepJson> {
    path.iter().map(|(left, h)| MerkleStepJson { left: *left, hash: h.to_hex() }).collect()
}

impl ValidatorChangeJson {
    /// The JSON form of a boundary block's header and certificate, and the set (encoded) with
    /// its state proof.
    pub fn new(header: &civitas_types::BlockHeader, certificate: &[u8], set: &[u8], proof: &[u8]) -> Self {
        ValidatorChangeJson {
            header: hex::encode(civitas_types::codec::Encode::encode(header)),
            certificate: hex::encode(certificate),
            validators: StateItemJson {
                state_key: hex::encode(civitas_types::validators::VALIDATORS_KEY),
                value: Some(hex::encode(set)),
                state_proof: hex::encode(proof),
            },
        }
    }
}

impl ProofJson {
    /// The envelope around `claim` for a finalized block.
    pub fn new(chain_id: &str, header: &civitas_types::BlockHeader, certificate: &[u8], claim: ClaimJson) -> ProofJson {
        ProofJson {
            version: PROOF_VERSION,
            chain_id: chain_id.to_owned(),
            height: header.height,
            header: hex::encode(civitas_types::codec::Encode::encode(header)),
            certificate: hex::encode(certificate),
            claim,
            validator_changes: Vec::new(),
        }
    }

    /// The same document, carrying the validator-set changes a light client walks from genesis.
    pub fn with_changes(mut self, changes: Vec<ValidatorChangeJson>) -> ProofJson {
        self.validator_changes = changes;
        self
    }

    /// The proof document for an account (or its absence) at a finalized block.
    pub fn for_account(
        chain_id: &str,
        did: &Did,
        header: &civitas_types::BlockHeader,
        certificate: &[u8],
        state_key: &[u8],
        value: Option<&[u8]>,
        state_proof: &[u8],
    ) -> ProofJson {
        let claim = ClaimJson::Account(crate::claims::account::AccountClaim {
            did: did.to_string(),
            state_key: hex::encode(state_key),
            value: value.map(hex::encode),
            state_proof: hex::encode(state_proof),
        });
        ProofJson::new(chain_id, header, certificate, claim)
    }
}

#[cfg(test)]
mod proof_format_tests {
    use super::*;
    use civitas_types::{BlockHeader, Hash, PublicKey};

    #[test]
    fn golden_proof_document() {
        // Pins the proof document's fields, order and encodings (docs/proofs.md).
        let header = BlockHeader {
            height: 3,
            parent_hash: Hash([1; 32]),
            timestamp_ms: 4,
            proposer: PublicKey([2; 32]),
            tx_count: 0,
            tx_root: Hash([5; 32]),
            results_root: Hash([6; 32]),
            state_root: Hash([7; 32]),
        };
        let did = Did::from_initial_key(&PublicKey([8; 32]));
        let doc = ProofJson::for_account("civitas-test", &did, &header, &[9, 9], b"acct/did/x", Some(&[10]), &[11]);
        let json = serde_json::to_string(&doc).expect("serialize");
        assert_eq!(
            Hash::digest(json.as_bytes()).to_hex(),
            "319bc897c64e9df831a3075cfa166c1b3e297d07c0b936ef4cef63ee44b18b20",
            "{json}"
        );
        assert_eq!(serde_json::from_str::<ProofJson>(&json).expect("parse"), doc);
    }
}

/// Reads one JSON value of `T` from `bytes` as the API and the CLI read what people send:
/// an error names the path of the bad field (`instructions[1].amount: …`), and anything but
/// whitespace after the value is refused (a truncated or concatenated body is not half-read).
pub fn json_at_path<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}
