//! The validator set, as state: which keys finalize the next block, where they listen, and
//! since when. The council changes it by vote; every change starts a new consensus epoch at
//! the block after the one that executed it (see `docs/epochs.md`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::PublicKey;
use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_seq};

/// Where the current set is kept.
pub const VALIDATORS_KEY: &[u8] = b"consensus/validators";
/// Most validators in a set.
pub const VALIDATORS_MAX: usize = 64;
/// Longest validator name (its department), in bytes.
pub const VALIDATOR_NAME_BYTES_MAX: usize = 128;
/// Longest p2p address (`IP:port`), in bytes.
pub const VALIDATOR_ADDRESS_BYTES_MAX: usize = 64;

/// One validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Validator {
    /// Its consensus key.
    #[serde(rename = "public_key")]
    pub key: PublicKey,
    /// Its p2p address, `IP:port` (empty for a chain that runs one validator alone).
    pub address: String,
    /// The department that runs it.
    pub name: String,
}

/// The validators that finalize blocks from `from_height` on, until the next change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSet {
    /// The consensus epoch: 0 for the genesis set, one more at each change.
    pub epoch: u64,
    /// The first height this set finalizes (1 for the genesis set; the height after the block
    /// that executed the change otherwise).
    pub from_height: u64,
    /// The validators, in the order they were added.
    pub validators: Vec<Validator>,
}

impl ValidatorSet {
    /// The validators' keys, in order.
    pub fn keys(&self) -> Vec<PublicKey> {
        self.validators.iter().map(|v| v.key).collect()
    }

    /// Whether `key` is one of them.
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.validators.iter().any(|v| v.key == *key)
    }

    /// Most validators that may fail (or lie) while the set stays safe and live: `f` of
    /// `n = 3f + 1`.
    pub fn faults_tolerated(&self) -> usize {
        self.validators.len().saturating_sub(1) / 3
    }

    /// The block whose commit started this set (`None` for the genesis set).
    pub fn boundary(&self) -> Option<u64> {
        (self.epoch > 0).then(|| self.from_height - 1)
    }
}

/// Whether `address` is an `IP:port` a validator can listen on (deterministic: parsed, never
/// resolved).
pub fn address_ok(address: &str) -> bool {
    address.len() <= VALIDATOR_ADDRESS_BYTES_MAX && address.parse::<std::net::SocketAddr>().is_ok()
}

impl Encode for Validator {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.key.encode_to(out);
        put_bytes(out, self.address.as_bytes());
        put_bytes(out, self.name.as_bytes());
    }
}

impl Decode for Validator {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Validator {
            key: PublicKey::decode_from(r)?,
            address: r.string(VALIDATOR_ADDRESS_BYTES_MAX, "validator address")?,
            name: r.string(VALIDATOR_NAME_BYTES_MAX, "validator name")?,
        })
    }
}

impl Encode for ValidatorSet {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.from_height.to_be_bytes());
        put_seq(out, &self.validators);
    }
}

impl Decode for ValidatorSet {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ValidatorSet {
            epoch: r.u64("epoch")?,
            from_height: r.u64("from height")?,
            validators: r.seq(VALIDATORS_MAX, "validators", Validator::decode_from)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn validator() -> impl Strategy<Value = Validator> {
        (any::<[u8; 32]>(), "[0-9.:]{0,21}", "[a-z -]{0,40}").prop_map(|(k, address, name)| Validator {
            key: PublicKey(k),
            address,
            name,
        })
    }

    proptest! {
        #[test]
        fn validator_sets_round_trip(
            epoch in any::<u64>(),
            from_height in any::<u64>(),
            validators in prop::collection::vec(validator(), 0..8),
        ) {
            let set = ValidatorSet { epoch, from_height, validators };
            prop_assert_eq!(ValidatorSet::decode(&set.encode()).expect("decodes"), set);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = ValidatorSet::decode(&bytes);
        }
    }

    #[test]
    fn addresses_are_ip_and_port() {
        assert!(address_ok("127.0.0.1:9000"));
        assert!(address_ok("[::1]:9000"));
        assert!(!address_ok("city-hall:9000"));
        assert!(!address_ok("127.0.0.1"));
        assert!(!address_ok(""));
    }

    #[test]
    fn faults_tolerated_is_a_third_less_one() {
        let set = |n: usize| ValidatorSet {
            epoch: 0,
            from_height: 1,
            validators: (0..n)
                .map(|i| Validator { key: PublicKey([i as u8; 32]), address: String::new(), name: String::new() })
                .collect(),
        };
        assert_eq!([1, 3, 4, 5, 7].map(|n| set(n).faults_tolerated()), [0, 0, 1, 1, 2]);
    }
}
