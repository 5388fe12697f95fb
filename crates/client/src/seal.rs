//! Sealing a message to a DID's key agreement key, so that only the key's holder can read it:
//! HPKE (RFC 9180) in base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
//! ChaCha20-Poly1305, one message per encapsulation (single shot).
//!
//! The recipient's X25519 public key is a `keyAgreement` method of its DID document
//! (`docs/did-method.md`); `info` binds the message to its use (a protocol label), `aad` to
//! public data that travels beside it (a header), which the recipient must present unchanged
//! to open it. The sender stays anonymous to the cryptography (base mode): anything proving who
//! sealed a message is the caller's, outside it.
//!
//! A sealed message's encoding is `enc ‖ ciphertext`: the 32-byte encapsulated key (the
//! sender's ephemeral X25519 public key), then the ChaCha20-Poly1305 ciphertext with its
//! 16-byte tag. It carries no length of its own: the container that holds it knows its length.

use std::convert::Infallible;

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::rand_core::{TryCryptoRng, TryRng};
use hpke::{Deserializable as _, HpkeError, OpModeR, OpModeS, Serializable as _};

/// The most plaintext one sealed message holds, in bytes.
pub const PLAINTEXT_BYTES_MAX: usize = 64 * 1024;

/// The encapsulated key's length, in bytes (RFC 9180 §7.1: `Nenc` of DHKEM(X25519)).
pub const ENC_BYTES: usize = 32;

/// The AEAD tag's length, in bytes (RFC 9180 §7.3: `Nt` of ChaCha20-Poly1305).
pub const TAG_BYTES: usize = 16;

/// The longest encoded sealed message, in bytes.
pub const SEALED_BYTES_MAX: usize = ENC_BYTES + PLAINTEXT_BYTES_MAX + TAG_BYTES;

/// The bytes of an X25519 secret key, and of the input keying material of an ephemeral key.
const X25519_SECRET_BYTES: usize = 32;

/// A message sealed to one recipient's X25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The encapsulated key: the sender's ephemeral X25519 public key.
    pub enc: [u8; ENC_BYTES],
    /// The ciphertext, with its tag at the end ([`TAG_BYTES`] longer than the plaintext).
    pub ciphertext: Vec<u8>,
}

impl Sealed {
    /// The stable encoding: `enc ‖ ciphertext`.
    pub fn encode(&self) -> Vec<u8> {
        [self.enc.as_slice(), &self.ciphertext].concat()
    }

    /// Parses [`Sealed::encode`]'s output, checking its length: at least the encapsulated key and
    /// a tag, at most [`SEALED_BYTES_MAX`].
    pub fn parse(bytes: &[u8]) -> Result<Sealed, SealError> {
        if bytes.len() > SEALED_BYTES_MAX {
            return Err(SealError::TooLarge { what: "a sealed message", len: bytes.len(), max: SEALED_BYTES_MAX });
        }
        let Some((enc, ciphertext)) = bytes.split_first_chunk::<ENC_BYTES>() else {
            return Err(SealError::TooShort(bytes.len()));
        };
        if ciphertext.len() < TAG_BYTES {
            return Err(SealError::TooShort(bytes.len()));
        }
        Ok(Sealed { enc: *enc, ciphertext: ciphertext.to_vec() })
    }
}

/// Why a message could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// A plaintext or sealed message over its limit.
    #[error("{what} is {len} bytes, over the limit of {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes too short to be a sealed message (the encapsulated key and a tag).
    #[error("a sealed message is a 32-byte encapsulated key and a ciphertext of at least 16 bytes, not {0} bytes")]
    TooShort(usize),
    /// The recipient's public key is of small order: every sender would share the same, public,
    /// secret with it.
    #[error("the recipient key is not a usable X25519 public key (it is of small order)")]
    BadRecipientKey,
    /// The message does not open: another recipient's, or another `info` or `aad`, or altered.
    #[error("the sealed message does not open with this key, info and associated data")]
    CannotOpen,
    /// The operating system gave no randomness.
    #[error("no randomness from the operating system: {0}")]
    NoRandomness(String),
    /// Any other failure the HPKE library reports (none is expected with this suite).
    #[error("HPKE failed: {0}")]
    Hpke(String),
}

impl SealError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SealError::TooLarge { .. } => "too_large",
            SealError::TooShort(_) => "malformed_sealed",
            SealError::BadRecipientKey => "bad_recipient_key",
            SealError::CannotOpen => "cannot_open",
            SealError::NoRandomness(_) => "no_randomness",
            SealError::Hpke(_) => "hpke_failed",
        }
    }
}

/// 32 bytes from the operating system's random source.
fn os_random() -> Result<[u8; 32], SealError> {
    let mut bytes = [0u8; 32];
    rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|e| SealError::NoRandomness(e.to_string()))?;
    Ok(bytes)
}

/// Seals `plaintext` (at most [`PLAINTEXT_BYTES_MAX`] bytes) to `recipient_public`, bound to
/// `info` and `aad`, with a fresh ephemeral key from the operating system's randomness.
pub fn seal(recipient_public: &[u8; 32], info: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Sealed, SealError> {
    check_plaintext(plaintext)?;
    seal_with_ikm(os_random()?, recipient_public, info, aad, plaintext)
}

fn check_plaintext(plaintext: &[u8]) -> Result<(), SealError> {
    if plaintext.len() > PLAINTEXT_BYTES_MAX {
        return Err(SealError::TooLarge { what: "the plaintext", len: plaintext.len(), max: PLAINTEXT_BYTES_MAX });
    }
    Ok(())
}

/// [`seal`] with the ephemeral key derived from `ikm` (RFC 9180 §7.1.3 DeriveKeyPair): a
/// function of its inputs, which is what lets the RFC's test vector check it.
fn seal_with_ikm(
    ikm: [u8; X25519_SECRET_BYTES],
    recipient_public: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Sealed, SealError> {
    check_plaintext(plaintext)?;
    let public = <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(recipient_public)
        .map_err(|e| SealError::Hpke(e.to_string()))?;
    let mut rng = EphemeralIkm { ikm, drawn: 0 };
    let sealed = hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeS::Base,
        &public,
        info,
        plaintext,
        aad,
        &mut rng,
    );
    // The ephemeral key is DeriveKeyPair of exactly these 32 bytes; had the library drawn more,
    // the rest would have been zeros. The version is pinned and the RFC vector test checks the
    // result, so this holds unless someone upgrades without running the tests.
    assert_eq!(rng.drawn, X25519_SECRET_BYTES, "hpke draws one X25519 secret's worth of randomness per seal");
    let (enc, ciphertext) = sealed.map_err(|e| match e {
        HpkeError::EncapError => SealError::BadRecipientKey,
        other => SealError::Hpke(other.to_string()),
    })?;
    Ok(Sealed { enc: enc.to_bytes().into(), ciphertext })
}

/// Opens `sealed` with the recipient's secret key and the `info` and `aad` it was sealed with.
pub fn open(recipient_secret: &[u8; 32], info: &[u8], aad: &[u8], sealed: &Sealed) -> Result<Vec<u8>, SealError> {
    let max = PLAINTEXT_BYTES_MAX + TAG_BYTES;
    if sealed.ciphertext.len() > max {
        return Err(SealError::TooLarge { what: "the ciphertext", len: sealed.ciphertext.len(), max });
    }
    if sealed.ciphertext.len() < TAG_BYTES {
        return Err(SealError::TooShort(ENC_BYTES + sealed.ciphertext.len()));
    }
    let hpke_error = |e: HpkeError| SealError::Hpke(e.to_string());
    let secret = <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(recipient_secret).map_err(hpke_error)?;
    let enc = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(&sealed.enc).map_err(hpke_error)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        &secret,
        &enc,
        info,
        &sealed.ciphertext,
        aad,
    )
    .map_err(|e| match e {
        // A small-order `enc` (DecapError) is as unopenable as a wrong key or tag.
        HpkeError::OpenError | HpkeError::DecapError => SealError::CannotOpen,
        other => hpke_error(other),
    })
}

/// Hands HPKE the input keying material of one ephemeral key, drawn beforehand. HPKE's
/// GenerateKeyPair is DeriveKeyPair(random(32)), so sealing is then deterministic; what is
/// asked beyond the 32 bytes is zeros, and counted.
struct EphemeralIkm {
    ikm: [u8; X25519_SECRET_BYTES],
    drawn: usize,
}

impl TryRng for EphemeralIkm {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for b in dst {
            *b = self.ikm.get(self.drawn).copied().unwrap_or(0);
            self.drawn = self.drawn.saturating_add(1);
        }
        Ok(())
    }
}

impl TryCryptoRng for EphemeralIkm {}

/// An X25519 key pair: messages sealed to the public key open with the secret one.
#[derive(Clone, PartialEq, Eq)]
pub struct X25519KeyPair {
    secret: [u8; 32],
    public: [u8; 32],
}

impl X25519KeyPair {
    /// A new key pair from the operating system's randomness (every 32 bytes are an X25519
    /// secret).
    pub fn generate() -> Result<X25519KeyPair, SealError> {
        Ok(X25519KeyPair::from_secret(os_random()?))
    }

    /// The key pair of `secret`.
    pub fn from_secret(secret: [u8; 32]) -> X25519KeyPair {
        X25519KeyPair { secret, public: civitas_types::keyfile::x25519_public(&secret) }
    }

    /// The secret key: keep it secret.
    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The public key, for a DID document's `keyAgreement` method.
    pub fn public(&self) -> [u8; 32] {
        self.public
    }
}

impl std::fmt::Debug for X25519KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X25519KeyPair").field("public", &hex::encode(self.public)).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes<const N: usize>(hex_value: &str) -> [u8; N] {
        hex::decode(hex_value).expect("hex").try_into().expect("length")
    }

    // RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, Base
    // Setup Information, and its first encryption (sequence number 0: a single-shot seal's
    // only one). Taken from the RFC's source (the cfrg/draft-irtf-cfrg-hpke repository).
    const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
    const IKM_E: &str = "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b";
    const PK_EM: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
    const SK_EM: &str = "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600";
    const PK_RM: &str = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
    const SK_RM: &str = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
    const ENC: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
    const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
    const AAD: &str = "436f756e742d30";
    const CT: &str = "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28";

    fn vector() -> Sealed {
        Sealed { enc: bytes(ENC), ciphertext: hex::decode(CT).expect("hex") }
    }

    #[test]
    fn rfc9180_a2_vector_seals_and_opens() {
        let (info, aad, pt) =
            (hex::decode(INFO).expect("hex"), hex::decode(AAD).expect("hex"), hex::decode(PT).expect("hex"));
        assert_eq!(X25519KeyPair::from_secret(bytes(SK_RM)).public(), bytes(PK_RM));
        assert_eq!(X25519KeyPair::from_secret(bytes(SK_EM)).public(), bytes(PK_EM));
        let sealed = seal_with_ikm(bytes(IKM_E), &bytes(PK_RM), &info, &aad, &pt).expect("seals");
        assert_eq!(sealed, vector());
        assert_eq!(hex::encode(sealed.encode()), format!("{ENC}{CT}"), "the encoding is enc ‖ ciphertext");
        assert_eq!(open(&bytes(SK_RM), &info, &aad, &vector()), Ok(pt));
        assert_eq!(Sealed::parse(&sealed.encode()), Ok(sealed));
    }

    #[test]
    fn round_trips_and_refuses_the_wrong_key_info_aad_or_bytes() {
        let recipient = X25519KeyPair::generate().expect("randomness");
        let (info, aad) = (b"civitas/test/v1".as_slice(), b"header".as_slice());
        for plaintext in [&b""[..], b"door unlocked", &[7u8; PLAINTEXT_BYTES_MAX]] {
            let sealed = seal(&recipient.public(), info, aad, plaintext).expect("seals");
            assert_eq!(sealed.ciphertext.len(), plaintext.len() + TAG_BYTES);
            assert_eq!(open(recipient.secret(), info, aad, &sealed).as_deref(), Ok(plaintext));
            let again = Sealed::parse(&sealed.encode()).expect("parses");
            assert_eq!(open(recipient.secret(), info, aad, &again).as_deref(), Ok(plaintext));
        }
        let sealed = seal(&recipient.public(), info, aad, b"door unlocked").expect("seals");
        assert_ne!(seal(&recipient.public(), info, aad, b"door unlocked"), Ok(sealed.clone()), "a fresh key each time");
        let refused = |secret: &[u8; 32], info: &[u8], aad: &[u8], sealed: &Sealed| {
            assert_eq!(open(secret, info, aad, sealed), Err(SealError::CannotOpen));
        };
        let stranger = X25519KeyPair::generate().expect("randomness");
        refused(stranger.secret(), info, aad, &sealed);
        refused(recipient.secret(), b"civitas/test/v2", aad, &sealed);
        refused(recipient.secret(), info, b"another header", &sealed);
        for at in [0, ENC_BYTES, ENC_BYTES + 5, sealed.encode().len() - 1] {
            let mut tampered = sealed.encode();
            tampered[at] ^= 1;
            refused(recipient.secret(), info, aad, &Sealed::parse(&tampered).expect("parses"));
        }
        let mut truncated = sealed.clone();
        truncated.ciphertext.pop();
        refused(recipient.secret(), info, aad, &truncated);
    }

    #[test]
    fn sizes_are_bounded_and_small_order_keys_refused() {
        let recipient = X25519KeyPair::from_secret([3; 32]);
        let too_long = vec![0u8; PLAINTEXT_BYTES_MAX + 1];
        assert_eq!(
            seal(&recipient.public(), b"", b"", &too_long),
            Err(SealError::TooLarge { what: "the plaintext", len: PLAINTEXT_BYTES_MAX + 1, max: PLAINTEXT_BYTES_MAX })
        );
        assert_eq!(Sealed::parse(&[0; ENC_BYTES + TAG_BYTES - 1]), Err(SealError::TooShort(ENC_BYTES + TAG_BYTES - 1)));
        assert_eq!(Sealed::parse(&[0; 5]), Err(SealError::TooShort(5)));
        assert!(matches!(Sealed::parse(&vec![0; SEALED_BYTES_MAX + 1]), Err(SealError::TooLarge { .. })));
        assert!(Sealed::parse(&vec![0; SEALED_BYTES_MAX]).is_ok());
        let oversized = Sealed { enc: [9; 32], ciphertext: vec![0; PLAINTEXT_BYTES_MAX + TAG_BYTES + 1] };
        assert!(matches!(open(recipient.secret(), b"", b"", &oversized), Err(SealError::TooLarge { .. })));
        // u = 0 and u = 1 are of small order: no sender may seal to them, no `enc` of theirs opens.
        for small in [[0u8; 32], bytes("0100000000000000000000000000000000000000000000000000000000000000")] {
            assert_eq!(seal(&small, b"", b"", b"x"), Err(SealError::BadRecipientKey));
            let forged = Sealed { enc: small, ciphertext: vec![0; TAG_BYTES] };
            assert_eq!(open(recipient.secret(), b"", b"", &forged), Err(SealError::CannotOpen));
        }
        assert_eq!(SealError::CannotOpen.code(), "cannot_open");
    }
}
