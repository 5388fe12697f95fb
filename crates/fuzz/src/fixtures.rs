//! The fixed chain, keys and clock the targets check against, shared with the corpus generator
//! so that its seeds verify (and so reach the code past the signature checks). Keys that the
//! targets check against are derived once per process: deriving them per input (a P-256 scalar
//! multiplication, four Ed25519 keys) cost more than most inputs' own checks.

use std::sync::OnceLock;

use civitas_client::sdjwt::{SigningKey, VerifyingKey};
use civitas_types::{Did, PublicKey, SecretKey};

/// The chain id of the fixed genesis.
pub const CHAIN_ID: &str = "civitas-fuzz";

/// How many validators the fixed genesis has.
pub const VALIDATORS: u8 = 4;

/// "Now" for every check that reads a clock, seconds since the Unix epoch.
pub const NOW_SECS: u64 = 1_800_000_000;

/// The verifier's DID (the key binding's audience) in SD-JWT presentations.
pub const AUDIENCE: &str = "did:civitas:00000000000000000000000000000000000000aa";

/// The verifier's nonce in SD-JWT presentations.
pub const NONCE: &str = "nonce-1";

/// How old a key binding may be, as the node's verifier allows.
pub const KB_MAX_AGE_SECS: u64 = 300;

/// The URI a status list token must name.
pub const STATUS_LIST_URI: &str = "https://node.example/v1/credentials/status/issuer/0";

/// The fixed genesis validators' secret keys.
pub fn validator_secrets() -> Vec<SecretKey> {
    civitas_client::light::testing::validators(VALIDATORS)
}

/// The fixed genesis validator set: what proofs and certificates are checked against.
pub fn validator_keys() -> &'static [PublicKey] {
    static KEYS: OnceLock<Vec<PublicKey>> = OnceLock::new();
    KEYS.get_or_init(|| validator_secrets().iter().map(SecretKey::public_key).collect())
}

/// An Ed25519 credential issuer (`EdDSA`).
pub fn issuer_ed25519() -> SigningKey {
    SigningKey::Ed25519(SecretKey::from_seed([1; 32]))
}

/// A P-256 credential issuer (`ES256`).
pub fn issuer_p256() -> SigningKey {
    SigningKey::p256_from_bytes(&[2; 32]).expect("[2; 32] is a valid P-256 scalar")
}

/// The holder that credentials bind (`cnf.jwk`).
pub fn holder() -> SigningKey {
    SigningKey::p256_from_bytes(&[3; 32]).expect("[3; 32] is a valid P-256 scalar")
}

/// Both issuers' verifying keys: the Ed25519 one, then the P-256 one.
pub fn issuer_keys() -> &'static [VerifyingKey; 2] {
    static KEYS: OnceLock<[VerifyingKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| [issuer_ed25519().verifying_key(), issuer_p256().verifying_key()])
}

/// The issuer key for a JWS `alg`, as a verifier that resolved the issuer's DID would pick it:
/// the Ed25519 key for `EdDSA`, the P-256 key otherwise.
pub fn issuer_key(alg: Option<&str>) -> VerifyingKey {
    let [ed25519, p256] = issuer_keys();
    match alg {
        Some("EdDSA" | "Ed25519") => ed25519.clone(),
        _ => p256.clone(),
    }
}

/// The DID of the Ed25519 issuer's key.
pub fn issuer_did() -> Did {
    Did::from_initial_key(&SecretKey::from_seed([1; 32]).public_key())
}

/// A DID documents are checked for.
pub fn subject_did() -> Did {
    Did::from_initial_key(&SecretKey::from_seed([9; 32]).public_key())
}
