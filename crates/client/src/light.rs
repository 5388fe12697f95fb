//! Light-client checks that need no node: is this block final under this validator set?
//!
//! A finalization certificate is the consensus engine's own encoding (commonware simplex,
//! Ed25519 scheme): the finalized proposal (epoch, view, parent view, block hash) and a quorum
//! of the validators' signatures over it, under [`civitas_types::CONSENSUS_NAMESPACE`].

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

/// Checks that `certificate` finalizes `block_hash` with a quorum of `validators`.
pub fn verify_finalization(
    certificate: &[u8],
    validators: &[PublicKey],
    block_hash: &Hash,
) -> Result<Finality, LightError> {
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
    })
}
