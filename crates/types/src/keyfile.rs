//! The key file: a small text file holding one secret, with its public key (and, for an
//! account key, its DID) alongside so an operator can tell which key it is without tools.
//!
//! ```text
//! # Civitas Ed25519 key. Keep this file secret.
//! did = did:civitas:…
//! public_key = <64 hex digits>
//! secret_key = <64 hex digits>
//! ```
//!
//! A P-256 key (a verification method a holder adds to its DID document, e.g. to bind
//! credentials to a wallet's key) says so:
//!
//! ```text
//! # Civitas P-256 key (a DID document's verification method). Keep this file secret.
//! key_type = P-256
//! public_key = <66 hex digits: the compressed SEC1 point>
//! secret_key = <64 hex digits>
//! ```
//!
//! An X25519 key (a DID document's `keyAgreement` method: others seal messages to it, its
//! holder opens them) says so too:
//!
//! ```text
//! # Civitas X25519 key (a DID document's keyAgreement method). Keep this file secret.
//! key_type = X25519
//! public_key = <64 hex digits>
//! secret_key = <64 hex digits>
//! ```
//!
//! A file without a `key_type` line is an Ed25519 key, as every file written before the line
//! existed.

use crate::{Did, SecretKey};

/// Why a key file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// No `secret_key = …` line.
    #[error("no `secret_key = …` line")]
    MissingSecret,
    /// The secret is not 64 hex digits.
    #[error("`secret_key` must be 64 hex digits")]
    BadSecret,
    /// The `public_key` or `did` line does not match the secret.
    #[error("the `{0}` line does not match the secret key")]
    Mismatch(&'static str),
    /// A line that is neither a comment nor `name = value`.
    #[error("line {0} is not `name = value`")]
    BadLine(usize),
    /// The file holds another kind of key than asked for.
    #[error("this is a {0} key file")]
    WrongType(String),
}

/// The kind of key a key file holds: its `key_type` line, `Ed25519` without one.
pub fn key_type(text: &str) -> String {
    lines(text)
        .find_map(|(name, value)| (name == "key_type").then(|| value.to_owned()))
        .unwrap_or_else(|| "Ed25519".into())
}

fn lines(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|l| l.split_once('=')).map(|(n, v)| (n.trim(), v.trim()))
}

/// The compressed SEC1 public key of a P-256 secret; `None` if the bytes are not a secret key
/// (zero, or not below the group order).
pub fn p256_public(secret: &[u8; 32]) -> Option<[u8; 33]> {
    use p256::elliptic_curve::sec1::ToSec1Point as _;
    let public = p256::SecretKey::from_slice(secret).ok()?.public_key();
    public.to_sec1_point(true).as_bytes().try_into().ok()
}

/// Renders a P-256 secret as a key file; `None` if the bytes are not a secret key.
pub fn render_p256(secret: &[u8; 32]) -> Option<String> {
    let public = p256_public(secret)?;
    Some(format!(
        "# Civitas P-256 key (a DID document's verification method). Keep this file secret.\nkey_type = P-256\npublic_key = {}\nsecret_key = {}\n",
        hex::encode(public),
        hex::encode(secret),
    ))
}

/// The X25519 public key of a secret (RFC 7748: the secret, clamped, times the base point).
/// Every 32 bytes are a secret key.
pub fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*secret, x25519_dalek::X25519_BASEPOINT_BYTES)
}

/// Renders an X25519 secret as a key file.
pub fn render_x25519(secret: &[u8; 32]) -> String {
    format!(
        "# Civitas X25519 key (a DID document's keyAgreement method). Keep this file secret.\nkey_type = X25519\npublic_key = {}\nsecret_key = {}\n",
        hex::encode(x25519_public(secret)),
        hex::encode(secret),
    )
}

/// Parses an X25519 key file, checking that its public key matches its secret.
pub fn parse_x25519(text: &str) -> Result<[u8; 32], KeyFileError> {
    let (secret, public) = read(text, "X25519")?;
    if public.is_some_and(|p| p != hex::encode(x25519_public(&secret))) {
        return Err(KeyFileError::Mismatch("public_key"));
    }
    Ok(secret)
}

/// Parses a P-256 key file, checking that its public key matches its secret.
pub fn parse_p256(text: &str) -> Result<[u8; 32], KeyFileError> {
    let (secret, public) = read(text, "P-256")?;
    let derived = p256_public(&secret).ok_or(KeyFileError::BadSecret)?;
    if public.is_some_and(|p| p != hex::encode(derived)) {
        return Err(KeyFileError::Mismatch("public_key"));
    }
    Ok(secret)
}

/// The secret and the `public_key` line of a key file of kind `kind`. Other lines (the DID:
/// after a rotation the account's DID stays while the key changes) are informative.
fn read(text: &str, kind: &str) -> Result<([u8; 32], Option<String>), KeyFileError> {
    let mut secret = None;
    let mut public = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line.split_once('=').ok_or(KeyFileError::BadLine(i + 1))?;
        match name.trim() {
            "secret_key" => {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(value.trim(), &mut bytes).map_err(|_| KeyFileError::BadSecret)?;
                secret = Some(bytes);
            }
            "public_key" => public = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let found = key_type(text);
    if found != kind {
        return Err(KeyFileError::WrongType(found));
    }
    Ok((secret.ok_or(KeyFileError::MissingSecret)?, public))
}

/// Renders `key` as a key file.
pub fn render(key: &SecretKey) -> String {
    let public = key.public_key();
    format!(
        "# Civitas Ed25519 key. Keep this file secret.\ndid = {}\npublic_key = {}\nsecret_key = {}\n",
        Did::from_initial_key(&public),
        public.to_hex(),
        hex::encode(key.seed()),
    )
}

/// Parses an Ed25519 key file, checking that its public parts match its secret.
pub fn parse(text: &str) -> Result<SecretKey, KeyFileError> {
    let (seed, public) = read(text, "Ed25519")?;
    let secret = SecretKey::from_seed(seed);
    if public.is_some_and(|p| p != secret.public_key().to_hex()) {
        return Err(KeyFileError::Mismatch("public_key"));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_its_parts() {
        let key = SecretKey::from_seed([4; 32]);
        let text = render(&key);
        assert_eq!(parse(&text).map(|k| k.seed()), Ok(key.seed()));
        let other = SecretKey::from_seed([5; 32]).public_key().to_hex();
        let tampered = text.replace(&key.public_key().to_hex(), &other);
        assert_eq!(parse(&tampered).map(|k| k.seed()), Err(KeyFileError::Mismatch("public_key")));
        assert_eq!(parse("hello").map(|k| k.seed()), Err(KeyFileError::BadLine(1)));
        assert_eq!(parse("secret_key = zz").map(|k| k.seed()), Err(KeyFileError::BadSecret));
        assert_eq!(parse("# nothing").map(|k| k.seed()), Err(KeyFileError::MissingSecret));
    }

    #[test]
    fn p256_key_files_round_trip_and_are_not_taken_for_account_keys() {
        let secret = [7u8; 32];
        let text = render_p256(&secret).expect("a valid scalar");
        assert_eq!(key_type(&text), "P-256");
        assert_eq!(parse_p256(&text), Ok(secret));
        assert_eq!(parse(&text).map(|k| k.seed()), Err(KeyFileError::WrongType("P-256".into())));
        assert_eq!(parse_p256(&render(&SecretKey::from_seed([4; 32]))), Err(KeyFileError::WrongType("Ed25519".into())));
        let public = hex::encode(p256_public(&secret).expect("public"));
        let other = hex::encode(p256_public(&[8; 32]).expect("public"));
        assert_eq!(parse_p256(&text.replace(&public, &other)), Err(KeyFileError::Mismatch("public_key")));
        assert!(render_p256(&[0; 32]).is_none(), "zero is no secret key");
        assert!(render_p256(&[0xff; 32]).is_none(), "above the group order");
    }

    #[test]
    fn x25519_key_files_round_trip_and_are_taken_for_no_other_kind() {
        // skRm and pkRm of RFC 9180 A.2.1 (DHKEM(X25519, HKDF-SHA256)).
        let secret: [u8; 32] = hex::decode("8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb")
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        let public = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
        assert_eq!(hex::encode(x25519_public(&secret)), public);
        let text = render_x25519(&secret);
        assert!(text.contains(&format!("public_key = {public}")), "{text}");
        assert_eq!(key_type(&text), "X25519");
        assert_eq!(parse_x25519(&text), Ok(secret));
        assert_eq!(parse(&text).map(|k| k.seed()), Err(KeyFileError::WrongType("X25519".into())));
        assert_eq!(parse_p256(&text), Err(KeyFileError::WrongType("X25519".into())));
        assert_eq!(
            parse_x25519(&render(&SecretKey::from_seed([4; 32]))),
            Err(KeyFileError::WrongType("Ed25519".into()))
        );
        let other = hex::encode(x25519_public(&[8; 32]));
        assert_eq!(parse_x25519(&text.replace(public, &other)), Err(KeyFileError::Mismatch("public_key")));
        // The older kinds still read as before.
        assert_eq!(parse(&render(&SecretKey::from_seed([4; 32]))).map(|k| k.seed()), Ok([4; 32]));
        assert_eq!(parse_p256(&render_p256(&[7; 32]).expect("a valid scalar")), Ok([7; 32]));
    }
}
