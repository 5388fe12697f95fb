//! SHA-256 hashes and Ed25519 keys and signatures (ZIP-215 rules via `ed25519-consensus`, so
//! single and batch verification agree on every validator).

use std::fmt;

use sha2::{Digest, Sha256};

use crate::codec::{Decode, DecodeError, Encode, Reader};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// SHA-256 of `bytes`.
    pub fn digest(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }

    /// SHA-256 over several byte strings, fed in order.
    pub fn digest_parts(parts: &[&[u8]]) -> Hash {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Hash(h.finalize().into())
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Hash, DecodeError> {
        parse_hex32(s, "hash").map(Hash)
    }
}

fn parse_hex32(s: &str, what: &'static str) -> Result<[u8; 32], DecodeError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| DecodeError::Invalid { what, why: "expected 64 hex digits" })?;
    Ok(out)
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Encode for Hash {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for Hash {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Hash(r.array("hash")?))
    }
}

/// An Ed25519 public key, as its 32 bytes. Any 32 bytes decode; whether they are a valid point
/// is checked when a signature is verified.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<PublicKey, DecodeError> {
        parse_hex32(s, "public key").map(PublicKey)
    }

    /// Verifies `signature` over `message` with this key.
    pub fn verify(&self, signature: &Signature, message: &[u8]) -> bool {
        match ed25519_consensus::VerificationKey::try_from(self.0) {
            Ok(vk) => vk.verify(&ed25519_consensus::Signature::from(signature.0), message).is_ok(),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl Encode for PublicKey {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for PublicKey {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PublicKey(r.array("public key")?))
    }
}

/// An Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 128 hex digits.
    pub fn from_hex(s: &str) -> Result<Signature, DecodeError> {
        let mut out = [0u8; 64];
        hex::decode_to_slice(s, &mut out)
            .map_err(|_| DecodeError::Invalid { what: "signature", why: "expected 128 hex digits" })?;
        Ok(Signature(out))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl Encode for Signature {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for Signature {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Signature(r.array("signature")?))
    }
}

/// An Ed25519 signing key. Its `Debug` does not print the secret.
#[derive(Clone)]
pub struct SecretKey(ed25519_consensus::SigningKey);

impl SecretKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> SecretKey {
        SecretKey(ed25519_consensus::SigningKey::new(rand_core::OsRng))
    }

    /// The key with this 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        SecretKey(ed25519_consensus::SigningKey::from(seed))
    }

    /// The 32-byte seed.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verification_key().to_bytes())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public {})", self.public_key().to_hex())
    }
}

/// Verifies many `(key, signature, message)` triples at once and says which are valid.
///
/// A batch check is about twice as fast per signature; when it fails, each item is checked
/// alone so one bad signature does not condemn the others. A batch of
/// [`PARALLEL_BATCH_MIN`] or more is split across the machine's cores (at most 8), each part
/// checked as a batch of its own, so a large admission batch waits for a share of it only.
pub fn verify_batch(items: &[(PublicKey, Signature, &[u8])]) -> Vec<bool> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if items.len() < PARALLEL_BATCH_MIN || threads < 2 {
        return verify_batch_here(items);
    }
    let part = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> =
            items.chunks(part).map(|chunk| (chunk.len(), scope.spawn(move || verify_batch_here(chunk)))).collect();
        parts
            .into_iter()
            .flat_map(|(len, p)| {
                // A verifier does not panic; if one did, its part counts as invalid.
                p.join().unwrap_or_else(|_| vec![false; len])
            })
            .collect()
    })
}

/// Batches at least this large are checked on several cores.
pub const PARALLEL_BATCH_MIN: usize = 256;

fn verify_batch_here(items: &[(PublicKey, Signature, &[u8])]) -> Vec<bool> {
    let mut batch = ed25519_consensus::batch::Verifier::new();
    let mut parsed = true;
    for (key, sig, msg) in items {
        match ed25519_consensus::VerificationKeyBytes::try_from(key.0.as_slice()) {
            Ok(vk) => batch.queue((vk, ed25519_consensus::Signature::from(sig.0), msg)),
            Err(_) => parsed = false,
        }
    }
    if parsed && batch.verify(rand_core::OsRng).is_ok() {
        return vec![true; items.len()];
    }
    items.iter().map(|(key, sig, msg)| key.verify(sig, msg)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_says_which_signatures_are_bad_alone_or_split_across_cores() {
        for n in [3usize, PARALLEL_BATCH_MIN + 37] {
            let keys: Vec<SecretKey> = (0..n).map(|i| SecretKey::from_seed(Hash::digest(&i.to_be_bytes()).0)).collect();
            let msgs: Vec<Vec<u8>> = (0..n).map(|i| format!("message {i}").into_bytes()).collect();
            let mut items: Vec<(PublicKey, Signature, &[u8])> =
                keys.iter().zip(&msgs).map(|(k, m)| (k.public_key(), k.sign(m), m.as_slice())).collect();
            assert!(verify_batch(&items).iter().all(|ok| *ok), "{n} good signatures");
            // One signature over another message, late in the batch (in the last part).
            let bad = n - 2;
            items[bad].1 = keys[bad].sign(b"something else");
            let valid = verify_batch(&items);
            assert_eq!(valid.len(), n);
            assert_eq!(valid.iter().filter(|ok| !**ok).count(), 1);
            assert!(!valid[bad]);
        }
    }
}
