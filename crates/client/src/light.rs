//! Light-client checks that need no node: is this block final under this validator set?
//!
//! A finalization certificate is the consensus engine's own encoding (commonware simplex,
//! Ed25519 scheme): the finalized proposal (epoch, view, parent view, block hash) and a quorum
//! of the validators' signatures over it, under [`civitas_types::CONSENSUS_NAMESPACE`]. A
//! block that was finalized only through a descendant carries a
//! [`civitas_types::FinalizedThrough`] record instead: the headers down to that descendant
//! and its certificate.

use civitas_types::{CONSENSUS_NAMESPACE, Hash, PublicKey};
use commonware_codec::{Decode as _, DecodeExt as _};
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_consensus::simplex::types::Finalization;
use commonware_cryptography::{ed25519, sha256::Digest};
use commonware_parallel::Sequential;
use commonware_utils::ordered::Set;

/// What a valid certificate proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finality {
    /// The consensus epoch it was finalized in.
    pub epoch: u64,
    /// The consensus view it was finalized in.
    pub view: u64,
    /// The block it finalizes.
    pub block_hash: Hash,
    /// How many blocks after it the certificate's own block is: 0 for a block's own
    /// certificate, more for one finalized through a descendant.
    pub through: u64,
}

/// Why a certificate does not prove finality.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LightError {
    /// The validator set is empty, has duplicates, or holds a key that is not Ed25519.
    #[error("validator set is unusable: {0}")]
    ValidatorSet(String),
    /// The certificate bytes do not decode.
    #[error("certificate does not decode: {0}")]
    Malformed(String),
    /// It certifies another block.
    #[error("certificate is for block {certified}, not {expected}")]
    WrongBlock {
        /// The block it certifies.
        certified: Hash,
        /// The block it was offered for.
        expected: Hash,
    },
    /// Its signatures are not a valid quorum of the validator set.
    #[error("certificate signatures are not a quorum of the validator set")]
    BadSignatures,
}

/// Checks that `certificate` finalizes `block_hash` with a quorum of `validators`: either
/// the block's own certificate, or a [`civitas_types::FinalizedThrough`] record whose headers
/// descend from the block to a block its certificate finalizes.
pub fn verify_finalization(
    certificate: &[u8],
    validators: &[PublicKey],
    block_hash: &Hash,
) -> Result<Finality, LightError> {
    let (certificate, finalized, through) =
        civitas_types::FinalizedThrough::resolve(certificate, block_hash).map_err(LightError::Malformed)?;
    let finality = verify_own(&certificate, validators, &finalized)?;
    Ok(Finality { block_hash: *block_hash, through, ..finality })
}

/// [`verify_finalization`] for a block's own certificate.
fn verify_own(certificate: &[u8], validators: &[PublicKey], block_hash: &Hash) -> Result<Finality, LightError> {
    let keys = validators
        .iter()
        .map(|k| ed25519::PublicKey::decode(k.0.to_vec()).map_err(|e| LightError::ValidatorSet(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let participants = Set::try_from(keys).map_err(|_| LightError::ValidatorSet("duplicate keys".into()))?;
    let count = participants.len();
    if count == 0 {
        return Err(LightError::ValidatorSet("no validators".into()));
    }
    let scheme = Scheme::verifier(CONSENSUS_NAMESPACE, participants);
    let finalization = Finalization::<Scheme, Digest>::decode_cfg(certificate.to_vec(), &count)
        .map_err(|e| LightError::Malformed(e.to_string()))?;
    let certified = Hash(finalization.proposal.payload.0);
    if certified != *block_hash {
        return Err(LightError::WrongBlock { certified, expected: *block_hash });
    }
    if !finalization.verify(&mut rand::rng(), &scheme, &Sequential) {
        return Err(LightError::BadSignatures);
    }
    Ok(Finality {
        epoch: finalization.proposal.round.epoch().get(),
        view: finalization.proposal.round.view().get(),
        block_hash: certified,
        through: 0,
    })
}

/// Largest encoded state proof accepted: a JMT proof has at most 256 siblings of 33 bytes.
pub const STATE_PROOF_BYTES_MAX: usize = 16 * 1024;

/// Why a state proof does not prove its claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateProofError {
    /// The proof bytes do not decode.
    #[error("state proof does not decode: {0}")]
    Malformed(String),
    /// The proof does not lead from the claimed key and value to the state root.
    #[error("state proof does not verify against the state root: {0}")]
    Invalid(String),
}

/// Checks that `state_proof` (jmt `SparseMerkleProof<Sha256>`, borsh) proves `key` holds
/// `value` (or, with `None`, holds nothing) in the state with `state_root`.
pub fn verify_state(
    state_proof: &[u8],
    state_root: &Hash,
    key: &[u8],
    value: Option<&[u8]>,
) -> Result<(), StateProofError> {
    if state_proof.len() > STATE_PROOF_BYTES_MAX {
        return Err(StateProofError::Malformed(format!("over {STATE_PROOF_BYTES_MAX} bytes")));
    }
    let proof: jmt::proof::SparseMerkleProof<sha2::Sha256> =
        borsh::from_slice(state_proof).map_err(|e| StateProofError::Malformed(e.to_string()))?;
    proof
        .verify(jmt::RootHash(state_root.0), jmt::KeyHash::with::<sha2::Sha256>(key), value)
        .map_err(|e| StateProofError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_state::{Store, Writes};
    use civitas_types::{Block, BlockHeader, GENESIS_PARENT, TxReceipt};
    use proptest::prelude::*;

    fn store_with(entries: &Writes) -> (tempfile::TempDir, Store, Hash) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let update = store.prepare(entries.clone(), 0).expect("prepare");
        let root = update.root();
        let block = Block {
            header: BlockHeader {
                height: 0,
                parent_hash: GENESIS_PARENT,
                timestamp_ms: 0,
                proposer: PublicKey([0; 32]),
                tx_count: 0,
                tx_root: Block::tx_root(&[]),
                results_root: TxReceipt::results_root(&[]),
                state_root: root,
            },
            transactions: vec![],
        };
        store.commit_genesis(&block, &update, Hash::digest(b"genesis")).expect("commit");
        (dir, store, root)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Random state, random key: a proof verifies exactly when the claim is true.
        #[test]
        fn proof_verifies_iff_claim_is_true(
            entries in prop::collection::btree_map(prop::collection::vec(any::<u8>(), 1..6), prop::collection::vec(any::<u8>(), 1..6), 1..40),
            probe in prop::collection::vec(any::<u8>(), 1..6),
            other_value in prop::collection::vec(any::<u8>(), 1..6),
        ) {
            let writes: Writes = entries.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
            let (_dir, store, root) = store_with(&writes);
            let (value, proof) = store.prove(&probe, 0).expect("prove");
            prop_assert_eq!(value.as_ref(), entries.get(&probe));
            // The true claim verifies.
            prop_assert!(verify_state(&proof, &root, &probe, value.as_deref()).is_ok());
            // A false claim does not: another value, or absence of a present key, or presence of an absent one.
            if value.as_deref() != Some(other_value.as_slice()) {
                prop_assert!(verify_state(&proof, &root, &probe, Some(&other_value)).is_err());
            }
            if value.is_some() {
                prop_assert!(verify_state(&proof, &root, &probe, None).is_err());
            }
            // Nor does it prove a false value for any other key it may reveal.
            let (k0, v0) = entries.iter().next().expect("non-empty");
            let wrong = [v0.as_slice(), &[0xff]].concat();
            prop_assert!(verify_state(&proof, &root, k0, Some(&wrong)).is_err());
        }
    }

    #[test]
    fn tampered_proofs_and_roots_are_refused() {
        let writes: Writes = (0u8..50).map(|i| (vec![i], Some(vec![i, i]))).collect();
        let (_dir, store, root) = store_with(&writes);
        let (value, proof) = store.prove(&[7], 0).expect("prove");
        assert!(verify_state(&proof, &root, &[7], value.as_deref()).is_ok());
        for i in 0..proof.len() {
            let mut tampered = proof.clone();
            tampered[i] ^= 0x01;
            assert!(verify_state(&tampered, &root, &[7], value.as_deref()).is_err(), "byte {i} changed yet accepted");
        }
        let mut other_root = root;
        other_root.0[0] ^= 1;
        assert!(matches!(verify_state(&proof, &other_root, &[7], value.as_deref()), Err(StateProofError::Invalid(_))));
        assert!(matches!(verify_state(&[1, 2], &root, &[7], None), Err(StateProofError::Malformed(_))));
    }
}

pub use crate::claims::Fact;

/// What a verified proof document establishes, and against which block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    /// The block's height.
    pub height: u64,
    /// Its header.
    pub header: civitas_types::BlockHeader,
    /// How it was finalized.
    pub finality: Finality,
    /// The validator set that finalized it (the genesis set, or the one the proof's changes
    /// lead to).
    pub validators: Vec<PublicKey>,
    /// The fact.
    pub fact: Fact,
}

/// Why a proof document does not prove its fact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// A version this build does not read.
    #[error("proof version {0} is not supported (this build reads version {v})", v = crate::wire::PROOF_VERSION)]
    Version(u32),
    /// The proof is about another chain.
    #[error("proof is for chain `{found}`, the genesis is for `{expected}`")]
    Chain {
        /// The genesis chain id.
        expected: String,
        /// The proof's.
        found: String,
    },
    /// A field does not decode.
    #[error("field `{0}` is malformed: {1}")]
    Field(&'static str, String),
    /// The header is not at the height the proof claims.
    #[error("header is at height {header}, the proof claims {claimed}")]
    Height {
        /// The header's height.
        header: u64,
        /// The claimed height.
        claimed: u64,
    },
    /// The state key is not the subject's.
    #[error("state key is not the key of {0}")]
    WrongKey(String),
    /// The value is a record for someone else.
    #[error("the proven account record is for {found}, not {subject}")]
    WrongSubject {
        /// The subject.
        subject: String,
        /// The record's DID.
        found: String,
    },
    /// The receipt is for another transaction.
    #[error("the receipt is for transaction {found}, not {claimed}")]
    WrongReceipt {
        /// The claimed transaction.
        claimed: Hash,
        /// The receipt's.
        found: Hash,
    },
    /// A Merkle path does not lead to the header's root.
    #[error("the {0} path does not lead to the header's {0} root")]
    Path(&'static str),
    /// The certificate does not finalize the header.
    #[error(transparent)]
    Finality(#[from] LightError),
    /// The state proof does not verify.
    #[error(transparent)]
    State(#[from] StateProofError),
}

pub(crate) fn field_hex(name: &'static str, s: &str) -> Result<Vec<u8>, ProofError> {
    hex::decode(s).map_err(|e| ProofError::Field(name, e.to_string()))
}

/// Longest Merkle path accepted: blocks hold far fewer than 2^32 transactions.
const MERKLE_PATH_MAX: usize = 32;

pub(crate) fn path(name: &'static str, steps: &[crate::wire::MerkleStepJson]) -> Result<Vec<(bool, Hash)>, ProofError> {
    if steps.len() > MERKLE_PATH_MAX {
        return Err(ProofError::Field(name, format!("longer than {MERKLE_PATH_MAX} steps")));
    }
    steps
        .iter()
        .map(|s| Ok((s.left, Hash::from_hex(&s.hash).map_err(|e| ProofError::Field(name, e.to_string()))?)))
        .collect()
}

/// Most validator-set changes a proof document may carry.
pub const VALIDATOR_CHANGES_MAX: usize = 1024;

/// Walks the validator-set changes from the genesis set: each boundary block must be finalized
/// by the set before it, be older than the proven block at `height`, and hold the next set
/// (the next epoch, from the height after it) in its state. Returns the set that finalizes
/// blocks after the last change.
pub fn walk_validator_changes(
    changes: &[crate::wire::ValidatorChangeJson],
    genesis: &[PublicKey],
    height: u64,
) -> Result<Vec<PublicKey>, ProofError> {
    use civitas_types::codec::Decode as _;
    use civitas_types::validators::{VALIDATORS_KEY, ValidatorSet};
    if changes.len() > VALIDATOR_CHANGES_MAX {
        return Err(ProofError::Field("validator_changes", format!("more than {VALIDATOR_CHANGES_MAX}")));
    }
    let mut validators = genesis.to_vec();
    let (mut epoch, mut after) = (0u64, 0u64);
    for change in changes {
        let header = civitas_types::BlockHeader::decode(&field_hex("validator_changes.header", &change.header)?)
            .map_err(|e| ProofError::Field("validator_changes.header", e.to_string()))?;
        if header.height <= after || header.height >= height {
            return Err(ProofError::Field(
                "validator_changes",
                "boundaries must be in increasing order and before the proven block".into(),
            ));
        }
        let certificate = field_hex("validator_changes.certificate", &change.certificate)?;
        verify_finalization(&certificate, &validators, &header.hash())?;
        let item = &change.validators;
        if field_hex("validator_changes.validators.state_key", &item.state_key)? != VALIDATORS_KEY {
            return Err(ProofError::WrongKey("the validator set".into()));
        }
        let Some(value) = &item.value else {
            return Err(ProofError::Field("validator_changes.validators.value", "missing".into()));
        };
        let value = field_hex("validator_changes.validators.value", value)?;
        let proof = field_hex("validator_changes.validators.state_proof", &item.state_proof)?;
        verify_state(&proof, &header.state_root, VALIDATORS_KEY, Some(&value))?;
        let set = ValidatorSet::decode(&value)
            .map_err(|e| ProofError::Field("validator_changes.validators.value", e.to_string()))?;
        if set.epoch != epoch + 1 || set.from_height != header.height + 1 {
            return Err(ProofError::Field(
                "validator_changes",
                format!("block {} does not start epoch {}", header.height, epoch + 1),
            ));
        }
        (epoch, after, validators) = (set.epoch, header.height, set.keys());
    }
    Ok(validators)
}

/// Verifies a proof document against the genesis chain id and validator set: the certificate
/// finalizes the header, and the claim's Merkle evidence leads to the header's roots.
pub fn verify_proof(
    doc: &crate::wire::ProofJson,
    chain_id: &str,
    validators: &[PublicKey],
) -> Result<Proven, ProofError> {
    use civitas_types::codec::Decode as _;
    if doc.version != crate::wire::PROOF_VERSION {
        return Err(ProofError::Version(doc.version));
    }
    if doc.chain_id != chain_id {
        return Err(ProofError::Chain { expected: chain_id.to_owned(), found: doc.chain_id.clone() });
    }
    let header = civitas_types::BlockHeader::decode(&field_hex("header", &doc.header)?)
        .map_err(|e| ProofError::Field("header", e.to_string()))?;
    if header.height != doc.height {
        return Err(ProofError::Height { header: header.height, claimed: doc.height });
    }
    let validators = walk_validator_changes(&doc.validator_changes, validators, header.height)?;
    let finality = verify_finalization(&field_hex("certificate", &doc.certificate)?, &validators, &header.hash())?;
    let fact = doc.claim.check(&crate::claims::Evidence { header: &header, chain_id: &doc.chain_id })?;
    Ok(Proven { height: header.height, header, finality, validators, fact })
}

/// Test and benchmark support: certificates signed by chosen validators.
#[doc(hidden)]
pub mod testing {
    use commonware_consensus::simplex::types::{Finalize, Proposal};
    use commonware_consensus::types::{Epoch, Round, View};
    use commonware_cryptography::Signer as _;
    use commonware_utils::iter::NonEmpty;

    use super::*;

    /// Keys of `n` validators, from fixed seeds.
    pub fn validators(n: u8) -> Vec<civitas_types::SecretKey> {
        (0..n).map(|i| civitas_types::SecretKey::from_seed([i.wrapping_add(100); 32])).collect()
    }

    /// A finalization of `block_hash` signed by `signers` (indices into `validators`); `None`
    /// if they are too few to assemble one.
    pub fn certificate(
        validators: &[civitas_types::SecretKey],
        signers: &[usize],
        block_hash: &Hash,
    ) -> Option<Vec<u8>> {
        use commonware_codec::Encode as _;
        let keys: Vec<ed25519::PrivateKey> = validators
            .iter()
            .map(|k| ed25519::PrivateKey::decode(k.seed().to_vec()).expect("32-byte seeds decode"))
            .collect();
        let participants = Set::try_from(keys.iter().map(|k| k.public_key()).collect::<Vec<_>>()).expect("distinct");
        let proposal = Proposal::new(Round::new(Epoch::new(1), View::new(2)), View::new(1), Digest::from(block_hash.0));
        let votes: Vec<Finalize<Scheme, Digest>> = signers
            .iter()
            .map(|&i| {
                let scheme =
                    Scheme::signer(CONSENSUS_NAMESPACE, participants.clone(), keys[i].clone()).expect("member");
                Finalize::sign(&scheme, proposal.clone()).expect("signer signs")
            })
            .collect();
        let verifier = Scheme::verifier(CONSENSUS_NAMESPACE, participants);
        let finalization =
            Finalization::from_finalizes(&verifier, NonEmpty::try_new(votes.iter())?, &Sequential).ok()?;
        Some(finalization.encode().to_vec())
    }
}

#[cfg(test)]
mod certificate_tests {
    use super::testing::{certificate, validators};
    use super::*;

    #[test]
    fn quorum_of_four_verifies_and_fewer_or_foreign_signers_do_not() {
        let vals = validators(4);
        let public: Vec<PublicKey> = vals.iter().map(|k| k.public_key()).collect();
        let block = Hash([3; 32]);
        let cert = certificate(&vals, &[0, 1, 3], &block).expect("3 of 4 is a quorum");
        let f = verify_finalization(&cert, &public, &block).expect("valid");
        assert_eq!((f.epoch, f.view), (1, 2));
        // Two of four is not a quorum: it cannot even be assembled.
        assert!(certificate(&vals, &[0, 1], &block).is_none());
        // The same signatures under a set where one signer is someone else.
        let mut swapped = public.clone();
        swapped[3] = civitas_types::SecretKey::from_seed([1; 32]).public_key();
        assert_eq!(verify_finalization(&cert, &swapped, &block), Err(LightError::BadSignatures));
        // A certificate from a larger committee does not fit a smaller one.
        let seven = validators(7);
        let big = certificate(&seven, &[0, 1, 2, 3, 4], &block).expect("5 of 7");
        assert!(verify_finalization(&big, &public, &block).is_err());
    }
}
