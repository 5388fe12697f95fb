//! The key file: a small text file holding one Ed25519 secret, with its public key and DID
//! alongside so an operator can tell which key it is without tools.
//!
//! ```text
//! # Civitas Ed25519 key. Keep this file secret.
//! did = did:civitas:…
//! public_key = <64 hex digits>
//! secret_key = <64 hex digits>
//! ```

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

/// Parses a key file, checking that its public parts match its secret.
pub fn parse(text: &str) -> Result<SecretKey, KeyFileError> {
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
                let mut seed = [0u8; 32];
                hex::decode_to_slice(value.trim(), &mut seed).map_err(|_| KeyFileError::BadSecret)?;
                secret = Some(SecretKey::from_seed(seed));
            }
            "public_key" => public = Some(value.trim().to_owned()),
            // The DID is informative: after a rotation the account's DID stays while the key
            // changes, so the file's DID need not derive from its key.
            _ => {}
        }
    }
    let secret = secret.ok_or(KeyFileError::MissingSecret)?;
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
}
