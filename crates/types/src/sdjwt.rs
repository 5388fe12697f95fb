//! Selective Disclosure JWTs (RFC 9901) and SD-JWT VCs (`typ: dc+sd-jwt`): issuance with
//! salted disclosures and holder binding (`cnf.jwk`), presentation with a key-binding JWT
//! (`kb+jwt`: nonce, audience, `iat`, `sd_hash`), and verification, with EdDSA (Ed25519) and
//! ES256 (P-256) keys. Checked both ways against the reference implementation (`sd-jwt` on
//! PyPI) in `crates/client/tests/sdjwt_interop.rs`.
//!
//! Everything here is bounded: a presentation is at most [`PRESENTATION_BYTES_MAX`], with at
//! most [`DISCLOSURES_MAX`] disclosures, nested at most [`DEPTH_MAX`] deep.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
use p256::ecdsa::signature::Verifier as _;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

/// Largest presentation accepted.
pub const PRESENTATION_BYTES_MAX: usize = 64 * 1024;
/// Most disclosures in one SD-JWT.
pub const DISCLOSURES_MAX: usize = 256;
/// Deepest nesting of objects and arrays walked when rebuilding claims.
pub const DEPTH_MAX: usize = 16;
/// The `typ` of an SD-JWT VC.
pub const VC_TYP: &str = "dc+sd-jwt";
/// The `typ` of a key-binding JWT.
pub const KB_TYP: &str = "kb+jwt";
/// Claims that are never selectively disclosable in a Civitas credential.
pub const ALWAYS_VISIBLE: &[&str] = &["iss", "vct", "cnf", "status", "exp", "iat", "nbf", "sub"];

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str, what: &'static str) -> Result<Vec<u8>, SdJwtError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).map_err(|_| SdJwtError::Malformed(what))
}

/// The base64url SHA-256 of `s`: a disclosure's digest, or a presentation's `sd_hash`.
pub fn digest(s: &str) -> String {
    b64(&Sha256::digest(s.as_bytes()))
}

/// Why an SD-JWT does not verify. [`SdJwtError::code`] is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdJwtError {
    /// Not an SD-JWT, or a part does not decode.
    #[error("malformed SD-JWT: {0}")]
    Malformed(&'static str),
    /// Over a limit.
    #[error("SD-JWT over a limit: {0}")]
    TooLarge(&'static str),
    /// An algorithm other than EdDSA and ES256, or one that does not fit the key.
    #[error("unsupported or mismatched algorithm `{0}`")]
    Algorithm(String),
    /// The issuer's signature does not verify.
    #[error("the issuer's signature does not verify")]
    IssuerSignature,
    /// The `typ` header is not the expected one.
    #[error("header typ is `{found}`, expected `{expected}`")]
    Typ {
        /// What the header says.
        found: String,
        /// What was expected.
        expected: &'static str,
    },
    /// `_sd_alg` names a hash other than sha-256.
    #[error("unsupported _sd_alg `{0}`")]
    SdAlg(String),
    /// A disclosure appears twice.
    #[error("a disclosure appears twice")]
    DuplicateDisclosure,
    /// A digest is referenced twice in the payload.
    #[error("a digest is referenced twice")]
    DuplicateDigest,
    /// A disclosure no digest in the payload refers to.
    #[error("a disclosure is not referenced by the SD-JWT")]
    UnreferencedDisclosure,
    /// A disclosure names a reserved claim (`_sd`, `...`) or one already present.
    #[error("a disclosure names `{0}`, which is reserved or already present")]
    ClaimCollision(String),
    /// `exp` is past.
    #[error("the credential expired")]
    Expired,
    /// `nbf` or `iat` is in the future.
    #[error("the credential is not valid yet")]
    NotYetValid,
    /// A key binding was required and is missing, or the credential binds no key.
    #[error("key binding is required: {0}")]
    KeyBindingMissing(&'static str),
    /// The key-binding JWT's signature does not verify with `cnf.jwk`.
    #[error("the key-binding JWT's signature does not verify with the holder's key")]
    KeyBindingSignature,
    /// The key-binding JWT's nonce is not the verifier's.
    #[error("the key binding is for another nonce")]
    WrongNonce,
    /// The key-binding JWT's audience is not the verifier.
    #[error("the key binding is for another audience")]
    WrongAudience,
    /// The key-binding JWT's `iat` is too old or in the future.
    #[error("the key binding's iat is outside the accepted window")]
    KeyBindingTime,
    /// The key-binding JWT's `sd_hash` does not match the presentation.
    #[error("sd_hash does not match the presentation")]
    SdHash,
}

impl SdJwtError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SdJwtError::Malformed(_) => "malformed_sd_jwt",
            SdJwtError::TooLarge(_) => "sd_jwt_too_large",
            SdJwtError::Algorithm(_) => "bad_algorithm",
            SdJwtError::IssuerSignature => "bad_issuer_signature",
            SdJwtError::Typ { .. } => "bad_typ",
            SdJwtError::SdAlg(_) => "bad_sd_alg",
            SdJwtError::DuplicateDisclosure => "duplicate_disclosure",
            SdJwtError::DuplicateDigest => "duplicate_digest",
            SdJwtError::UnreferencedDisclosure => "unreferenced_disclosure",
            SdJwtError::ClaimCollision(_) => "claim_collision",
            SdJwtError::Expired => "expired",
            SdJwtError::NotYetValid => "not_yet_valid",
            SdJwtError::KeyBindingMissing(_) => "key_binding_missing",
            SdJwtError::KeyBindingSignature => "bad_key_binding_signature",
            SdJwtError::WrongNonce => "wrong_nonce",
            SdJwtError::WrongAudience => "wrong_audience",
            SdJwtError::KeyBindingTime => "key_binding_time",
            SdJwtError::SdHash => "bad_sd_hash",
        }
    }
}

/// A key that signs JWTs: Ed25519 (`EdDSA`) or P-256 (`ES256`).
#[derive(Clone)]
pub enum SigningKey {
    /// Ed25519.
    Ed25519(crate::SecretKey),
    /// P-256.
    P256(p256::ecdsa::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.alg())
    }
}

/// A key that checks JWT signatures. Ed25519 keys are kept decompressed (ed25519-dalek, whose
/// curve arithmetic picks the CPU's vector instructions at run time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyingKey {
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// P-256.
    P256(p256::ecdsa::VerifyingKey),
}

impl SigningKey {
    /// A P-256 key from its 32-byte scalar.
    pub fn p256_from_bytes(bytes: &[u8; 32]) -> Option<SigningKey> {
        p256::ecdsa::SigningKey::from_slice(bytes).ok().map(SigningKey::P256)
    }

    /// The JWS `alg`.
    pub fn alg(&self) -> &'static str {
        match self {
            SigningKey::Ed25519(_) => "EdDSA",
            SigningKey::P256(_) => "ES256",
        }
    }

    /// Signs `message` (JWS: Ed25519 signature, or ES256's 64-byte `r ‖ s`).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::Ed25519(k) => k.sign(message).0.to_vec(),
            SigningKey::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_bytes().to_vec()
            }
        }
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::Ed25519(k) => VerifyingKey::ed25519(&k.public_key()).expect("a key's own public key is valid"),
            SigningKey::P256(k) => VerifyingKey::P256(*k.verifying_key()),
        }
    }
}

impl VerifyingKey {
    /// The key as a JWK (RFC 7517: OKP/Ed25519 or EC/P-256).
    pub fn jwk(&self) -> Value {
        match self {
            VerifyingKey::Ed25519(k) => json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(k.as_bytes()) }),
            VerifyingKey::P256(k) => {
                let point = k.to_sec1_point(false);
                let bytes = point.as_bytes();
                json!({ "kty": "EC", "crv": "P-256", "x": b64(&bytes[1..33]), "y": b64(&bytes[33..65]) })
            }
        }
    }

    /// A key from a JWK.
    pub fn from_jwk(jwk: &Value) -> Result<VerifyingKey, SdJwtError> {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str).ok_or(SdJwtError::Malformed("jwk"));
        match (field("kty")?, field("crv")?) {
            ("OKP", "Ed25519") => {
                let x: [u8; 32] =
                    unb64(field("x")?, "jwk x")?.try_into().map_err(|_| SdJwtError::Malformed("jwk x"))?;
                VerifyingKey::ed25519(&crate::PublicKey(x)).ok_or(SdJwtError::Malformed("jwk point"))
            }
            ("EC", "P-256") => {
                let (x, y) = (unb64(field("x")?, "jwk x")?, unb64(field("y")?, "jwk y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(SdJwtError::Malformed("jwk coordinates"));
                }
                let sec1 = [&[4u8][..], &x, &y].concat();
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map(VerifyingKey::P256)
                    .map_err(|_| SdJwtError::Malformed("jwk point"))
            }
            _ => Err(SdJwtError::Algorithm("jwk kty/crv".into())),
        }
    }

    /// An Ed25519 key; `None` if the bytes are not a curve point.
    pub fn ed25519(key: &crate::PublicKey) -> Option<VerifyingKey> {
        ed25519_dalek::VerifyingKey::from_bytes(&key.0).ok().map(VerifyingKey::Ed25519)
    }

    /// Its RFC 7638 JWK thumbprint (SHA-256 over the required members, in order, without
    /// whitespace): what the access log keeps instead of the holder.
    pub fn thumbprint(&self) -> [u8; 32] {
        let jwk = self.jwk();
        let member = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        let canonical = match self {
            VerifyingKey::Ed25519(_) => format!("{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{}\"}}", member("x")),
            VerifyingKey::P256(_) => {
                format!("{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{}\",\"y\":\"{}\"}}", member("x"), member("y"))
            }
        };
        Sha256::digest(canonical.as_bytes()).into()
    }

    /// The key of a DID document's verification method; `None` if it is not a valid point, or
    /// is a key agreement key (X25519), which verifies no signature.
    pub fn from_key_material(key: &crate::did_doc::KeyMaterial) -> Option<VerifyingKey> {
        match key {
            crate::did_doc::KeyMaterial::Ed25519(k) => VerifyingKey::ed25519(&crate::PublicKey(*k)),
            crate::did_doc::KeyMaterial::P256(k) => VerifyingKey::p256_from_compressed(k),
            crate::did_doc::KeyMaterial::X25519(_) => None,
        }
    }

    /// A P-256 key from its compressed SEC1 form (as DID documents keep it).
    pub fn p256_from_compressed(bytes: &[u8; 33]) -> Option<VerifyingKey> {
        p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).ok().map(VerifyingKey::P256)
    }

    /// Whether `signature` by this key over `message` verifies under `alg`.
    pub fn verify(&self, alg: &str, message: &[u8], signature: &[u8]) -> Result<bool, SdJwtError> {
        match (self, alg) {
            (VerifyingKey::Ed25519(k), "EdDSA" | "Ed25519") => {
                let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else { return Ok(false) };
                Ok(k.verify_strict(message, &sig).is_ok())
            }
            (VerifyingKey::P256(k), "ES256") => {
                if signature.len() != 64 {
                    return Ok(false);
                }
                #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
                {
                    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
                    let point = k.to_sec1_point(false);
                    Ok(UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point.as_bytes())
                        .verify(message, signature)
                        .is_ok())
                }
                #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
                {
                    let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else { return Ok(false) };
                    Ok(k.verify(message, &sig).is_ok())
                }
            }
            (_, other) => Err(SdJwtError::Algorithm(other.to_owned())),
        }
    }
}

/// What a verifier reads from an SD-JWT before checking it, to find the issuer's key and the
/// credential's records: nothing here is trusted until [`verify`] succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    /// `iss`.
    pub issuer: String,
    /// `vct`.
    pub vct: String,
    /// The header's `kid`.
    pub kid: Option<String>,
    /// `status.status_list.idx`.
    pub status_index: Option<u64>,
    /// SHA-256 of the issuer-signed JWT: the commitment the issuer anchored.
    pub commitment: [u8; 32],
    /// The presentation's commitment: SHA-256 of all of it.
    pub presentation: [u8; 32],
}

/// Reads what [`Unverified`] holds.
pub fn inspect(sd_jwt: &str) -> Result<Unverified, SdJwtError> {
    let parts = split(sd_jwt)?;
    let jws = parse_jws(parts.jwt, "issuer JWT")?;
    let text = |name: &str| jws.payload.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(Unverified {
        issuer: text("iss").ok_or(SdJwtError::Malformed("no iss"))?,
        vct: text("vct").ok_or(SdJwtError::Malformed("no vct"))?,
        kid: jws.header.get("kid").and_then(Value::as_str).map(str::to_owned),
        status_index: jws
            .payload
            .get("status")
            .and_then(|s| s.get("status_list"))
            .and_then(|l| l.get("idx"))
            .and_then(Value::as_u64),
        commitment: Sha256::digest(parts.jwt.as_bytes()).into(),
        presentation: Sha256::digest(sd_jwt.as_bytes()).into(),
    })
}

/// Signs a compact JWS of `header` (with `alg` set from the key) and `payload`.
pub fn sign_jwt(key: &SigningKey, mut header: Map<String, Value>, payload: &Value) -> String {
    header.insert("alg".into(), Value::String(key.alg().into()));
    let signing_input =
        format!("{}.{}", b64(Value::Object(header).to_string().as_bytes()), b64(payload.to_string().as_bytes()));
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&signature))
}

/// A compact JWS split and decoded, not yet verified.
struct Jws<'a> {
    signing_input: &'a str,
    header: Map<String, Value>,
    payload: Map<String, Value>,
    signature: Vec<u8>,
}

fn parse_jws<'a>(jws: &'a str, what: &'static str) -> Result<Jws<'a>, SdJwtError> {
    let mut parts = jws.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(SdJwtError::Malformed(what));
    };
    let object = |bytes: Vec<u8>| match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(SdJwtError::Malformed(what)),
    };
    Ok(Jws {
        signing_input: &jws[..h.len() + 1 + p.len()],
        header: object(unb64(h, what)?)?,
        payload: object(unb64(p, what)?)?,
        signature: unb64(s, what)?,
    })
}

/// One disclosure: `[salt, name, value]` for an object property, `[salt, value]` for an array
/// element, base64url-encoded JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    /// The encoded form, as it travels.
    pub encoded: String,
    /// The claim's name (`None` for an array element).
    pub name: Option<String>,
    /// The claim's value.
    pub value: Value,
}

impl Disclosure {
    /// A disclosure of property `name` with `value` and `salt`.
    pub fn new(salt: &[u8], name: &str, value: Value) -> Disclosure {
        let encoded = b64(json!([b64(salt), name, value]).to_string().as_bytes());
        Disclosure { encoded, name: Some(name.to_owned()), value }
    }

    /// Decodes an encoded disclosure.
    pub fn parse(encoded: &str) -> Result<Disclosure, SdJwtError> {
        let bytes = unb64(encoded, "disclosure")?;
        let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(SdJwtError::Malformed("disclosure"));
        };
        let (name, value) = match items.as_slice() {
            [Value::String(_), Value::String(name), value] => (Some(name.clone()), value.clone()),
            [Value::String(_), value] => (None, value.clone()),
            _ => return Err(SdJwtError::Malformed("disclosure")),
        };
        Ok(Disclosure { encoded: encoded.to_owned(), name, value })
    }

    /// Its digest, as the SD-JWT references it.
    pub fn digest(&self) -> String {
        digest(&self.encoded)
    }
}

/// What an issuer puts in a credential.
#[derive(Debug, Clone)]
pub struct Credential {
    /// Claims always visible (`iss`, `vct`, `exp`, `status`, ...).
    pub visible: Map<String, Value>,
    /// Claims the holder chooses to disclose, each a top-level disclosure.
    pub disclosable: Map<String, Value>,
    /// The holder's key, bound through `cnf.jwk`.
    pub holder: Option<VerifyingKey>,
}

/// Issues an SD-JWT VC signed by `issuer` (`kid` names its key in the issuer's DID document),
/// with one disclosure per disclosable claim, salted by `salt` (16 bytes each; from a CSPRNG in
/// production), and `decoys` decoy digests. Returns the issuance `<jwt>~<d1>~…~<dn>~`.
pub fn issue(
    issuer: &SigningKey,
    kid: Option<&str>,
    credential: &Credential,
    mut salt: impl FnMut() -> [u8; 16],
    decoys: usize,
) -> Result<String, SdJwtError> {
    let mut payload = credential.visible.clone();
    if credential.disclosable.keys().any(|k| ALWAYS_VISIBLE.contains(&k.as_str()) || payload.contains_key(k)) {
        return Err(SdJwtError::ClaimCollision("a claim that must stay visible".into()));
    }
    let disclosures: Vec<Disclosure> =
        credential.disclosable.iter().map(|(name, value)| Disclosure::new(&salt(), name, value.clone())).collect();
    let mut digests: Vec<String> = disclosures.iter().map(Disclosure::digest).collect();
    for _ in 0..decoys {
        digests.push(digest(&b64(&salt())));
    }
    // Sorted, so the order says nothing about which claim is which.
    digests.sort();
    if !digests.is_empty() {
        payload.insert("_sd".into(), Value::Array(digests.into_iter().map(Value::String).collect()));
    }
    payload.insert("_sd_alg".into(), Value::String("sha-256".into()));
    if let Some(holder) = &credential.holder {
        payload.insert("cnf".into(), json!({ "jwk": holder.jwk() }));
    }
    let mut header = Map::new();
    header.insert("typ".into(), Value::String(VC_TYP.into()));
    if let Some(kid) = kid {
        header.insert("kid".into(), Value::String(kid.into()));
    }
    let jwt = sign_jwt(issuer, header, &Value::Object(payload));
    let mut out = jwt;
    for d in &disclosures {
        out.push('~');
        out.push_str(&d.encoded);
    }
    out.push('~');
    Ok(out)
}

/// An SD-JWT split into its issuer-signed JWT, disclosures and key-binding JWT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts<'a> {
    /// The issuer-signed JWT.
    pub jwt: &'a str,
    /// The disclosures, encoded.
    pub disclosures: Vec<&'a str>,
    /// The key-binding JWT, if any.
    pub kb_jwt: Option<&'a str>,
}

/// Splits `<jwt>~<d1>~…~<dn>~[<kb-jwt>]`.
pub fn split(sd_jwt: &str) -> Result<Parts<'_>, SdJwtError> {
    if sd_jwt.len() > PRESENTATION_BYTES_MAX {
        return Err(SdJwtError::TooLarge("presentation bytes"));
    }
    let mut pieces: Vec<&str> = sd_jwt.split('~').collect();
    if pieces.len() < 2 {
        return Err(SdJwtError::Malformed("no ~ separator"));
    }
    let last = pieces.pop().unwrap_or_default();
    let jwt = pieces.remove(0);
    if pieces.len() > DISCLOSURES_MAX {
        return Err(SdJwtError::TooLarge("disclosures"));
    }
    if pieces.iter().any(|d| d.is_empty()) {
        return Err(SdJwtError::Malformed("empty disclosure"));
    }
    Ok(Parts { jwt, disclosures: pieces, kb_jwt: (!last.is_empty()).then_some(last) })
}

/// Makes a presentation from an issuance: the disclosures of the claims named in `disclose`
/// (top-level names), and, with `holder`, a key-binding JWT for `aud` and `nonce` at `iat`
/// (seconds since the Unix epoch).
pub fn present(
    issuance: &str,
    disclose: &[&str],
    holder: Option<(&SigningKey, &str, &str, u64)>,
) -> Result<String, SdJwtError> {
    let parts = split(issuance)?;
    let mut out = parts.jwt.to_owned();
    out.push('~');
    for encoded in &parts.disclosures {
        let d = Disclosure::parse(encoded)?;
        if d.name.as_deref().is_some_and(|n| disclose.contains(&n)) {
            out.push_str(encoded);
            out.push('~');
        }
    }
    if let Some((key, aud, nonce, iat)) = holder {
        let mut header = Map::new();
        header.insert("typ".into(), Value::String(KB_TYP.into()));
        let payload = json!({ "iat": iat, "aud": aud, "nonce": nonce, "sd_hash": digest(&out) });
        out.push_str(&sign_jwt(key, header, &payload));
    }
    Ok(out)
}

/// What a verifier expects.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    /// Now, seconds since the Unix epoch.
    pub now: u64,
    /// The issuer-signed JWT's `typ` (`dc+sd-jwt` for a VC); `None` accepts any.
    pub typ: Option<&'static str>,
    /// Require a key binding for this audience and nonce.
    pub key_binding: Option<(&'a str, &'a str)>,
    /// How old (or how far ahead) a key binding's `iat` may be, in seconds.
    pub kb_max_age_secs: u64,
}

/// A verified SD-JWT.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The issuer-signed JWT's header.
    pub header: Map<String, Value>,
    /// The claims: always-visible ones and the disclosed ones, `_sd` and `_sd_alg` removed.
    pub claims: Map<String, Value>,
    /// The names of the disclosed top-level claims, sorted.
    pub disclosed: Vec<String>,
    /// The holder's key from `cnf.jwk`, if bound.
    pub holder: Option<VerifyingKey>,
}

/// Verifies an SD-JWT (or SD-JWT+KB): the issuer's signature with the key `issuer_key` picks
/// from the header and unverified payload, every disclosure referenced exactly once, the
/// validity window, and the key binding if expected.
pub fn verify(
    sd_jwt: &str,
    issuer_key: impl FnOnce(&Map<String, Value>, &Map<String, Value>) -> Result<VerifyingKey, SdJwtError>,
    expect: &Expectations<'_>,
) -> Result<Verified, SdJwtError> {
    let parts = split(sd_jwt)?;
    let jws = parse_jws(parts.jwt, "issuer JWT")?;
    let alg = jws.header.get("alg").and_then(Value::as_str).ok_or(SdJwtError::Malformed("alg"))?;
    if let Some(typ) = expect.typ {
        let found = jws.header.get("typ").and_then(Value::as_str).unwrap_or_default();
        if found != typ {
            return Err(SdJwtError::Typ { found: found.to_owned(), expected: typ });
        }
    }
    let key = issuer_key(&jws.header, &jws.payload)?;
    if !key.verify(alg, jws.signing_input.as_bytes(), &jws.signature)? {
        return Err(SdJwtError::IssuerSignature);
    }
    match jws.payload.get("_sd_alg") {
        None => {}
        Some(Value::String(a)) if a == "sha-256" => {}
        Some(other) => return Err(SdJwtError::SdAlg(other.to_string())),
    }
    // Disclosures by digest; each at most once.
    let mut by_digest: BTreeMap<String, Disclosure> = BTreeMap::new();
    for encoded in &parts.disclosures {
        let d = Disclosure::parse(encoded)?;
        if by_digest.insert(d.digest(), d).is_some() {
            return Err(SdJwtError::DuplicateDisclosure);
        }
    }
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut disclosed = Vec::new();
    let claims = match rebuild(Value::Object(jws.payload.clone()), &by_digest, &mut used, &mut disclosed, 0, true)? {
        Value::Object(m) => m,
        _ => return Err(SdJwtError::Malformed("payload")),
    };
    if used.len() != by_digest.len() {
        return Err(SdJwtError::UnreferencedDisclosure);
    }
    let number = |name: &str| claims.get(name).and_then(Value::as_u64);
    if number("exp").is_some_and(|exp| expect.now >= exp) {
        return Err(SdJwtError::Expired);
    }
    if number("nbf").is_some_and(|nbf| expect.now < nbf) {
        return Err(SdJwtError::NotYetValid);
    }
    let holder = match jws.payload.get("cnf").and_then(|c| c.get("jwk")) {
        Some(jwk) => Some(VerifyingKey::from_jwk(jwk)?),
        None => None,
    };
    if let Some((aud, nonce)) = expect.key_binding {
        let kb = parts.kb_jwt.ok_or(SdJwtError::KeyBindingMissing("no key-binding JWT"))?;
        let holder = holder.as_ref().ok_or(SdJwtError::KeyBindingMissing("the credential binds no key"))?;
        let kb = parse_jws(kb, "key-binding JWT")?;
        if kb.header.get("typ").and_then(Value::as_str) != Some(KB_TYP) {
            let found = kb.header.get("typ").and_then(Value::as_str).unwrap_or_default().to_owned();
            return Err(SdJwtError::Typ { found, expected: KB_TYP });
        }
        let kb_alg = kb.header.get("alg").and_then(Value::as_str).ok_or(SdJwtError::Malformed("kb alg"))?;
        if !holder.verify(kb_alg, kb.signing_input.as_bytes(), &kb.signature)? {
            return Err(SdJwtError::KeyBindingSignature);
        }
        if kb.payload.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(SdJwtError::WrongNonce);
        }
        if kb.payload.get("aud").and_then(Value::as_str) != Some(aud) {
            return Err(SdJwtError::WrongAudience);
        }
        let iat = kb.payload.get("iat").and_then(Value::as_u64).ok_or(SdJwtError::KeyBindingTime)?;
        if iat.abs_diff(expect.now) > expect.kb_max_age_secs {
            return Err(SdJwtError::KeyBindingTime);
        }
        let presented = &sd_jwt[..sd_jwt.len() - parts.kb_jwt.map_or(0, str::len)];
        if kb.payload.get("sd_hash").and_then(Value::as_str) != Some(digest(presented).as_str()) {
            return Err(SdJwtError::SdHash);
        }
    }
    disclosed.sort();
    Ok(Verified { header: jws.header, claims, disclosed, holder })
}

/// Replaces digests in `value` with the disclosed claims (recursively), removing `_sd`,
/// `_sd_alg` (top level) and undisclosed array elements.
fn rebuild(
    value: Value,
    by_digest: &BTreeMap<String, Disclosure>,
    used: &mut BTreeSet<String>,
    disclosed: &mut Vec<String>,
    depth: usize,
    top: bool,
) -> Result<Value, SdJwtError> {
    if depth > DEPTH_MAX {
        return Err(SdJwtError::TooLarge("nesting"));
    }
    let take = |digest: &str, used: &mut BTreeSet<String>| -> Result<Option<Disclosure>, SdJwtError> {
        if !used.insert(digest.to_owned()) {
            return Err(SdJwtError::DuplicateDigest);
        }
        Ok(by_digest.get(digest).cloned())
    };
    match value {
        Value::Object(mut map) => {
            let digests = match map.remove("_sd") {
                None => Vec::new(),
                Some(Value::Array(d)) => d,
                Some(_) => return Err(SdJwtError::Malformed("_sd is not an array")),
            };
            if top {
                map.remove("_sd_alg");
            }
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k, rebuild(v, by_digest, used, disclosed, depth + 1, false)?);
            }
            for d in digests {
                let Value::String(d) = d else { return Err(SdJwtError::Malformed("_sd entry")) };
                // A digest no disclosure matches is a decoy or an undisclosed claim.
                let Some(disclosure) = take(&d, used)? else {
                    used.remove(&d);
                    continue;
                };
                let Some(name) = disclosure.name else {
                    return Err(SdJwtError::Malformed("array disclosure in an object"));
                };
                if name == "_sd" || name == "..." || out.contains_key(&name) {
                    return Err(SdJwtError::ClaimCollision(name));
                }
                let v = rebuild(disclosure.value, by_digest, used, disclosed, depth + 1, false)?;
                if top {
                    disclosed.push(name.clone());
                }
                out.insert(name, v);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Value::Object(m) = &item
                    && m.len() == 1
                    && let Some(Value::String(d)) = m.get("...")
                {
                    match take(d, used)? {
                        Some(disclosure) if disclosure.name.is_none() => {
                            out.push(rebuild(disclosure.value, by_digest, used, disclosed, depth + 1, false)?);
                        }
                        Some(_) => return Err(SdJwtError::Malformed("object disclosure in an array")),
                        None => {
                            used.remove(d);
                        }
                    }
                    continue;
                }
                out.push(rebuild(item, by_digest, used, disclosed, depth + 1, false)?);
            }
            Ok(Value::Array(out))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests;

/// Token Status List (IETF OAuth Status List): a status list is `{"bits": 2, "lst": …}`, `lst`
/// the base64url of the zlib-compressed entries (entry `i` in bits `2(i mod 4)` of byte
/// `i / 4`, the order Civitas's status-list chunks already use); a status list token is a JWT
/// (`typ: statuslist+jwt`) the issuer signs over it, with the list's URI as `sub`.
pub mod status_list {
    use std::io::{Read as _, Write as _};

    use serde_json::{Map, Value, json};

    use super::{SdJwtError, SigningKey, VerifyingKey, b64, parse_jws, sign_jwt, unb64};

    /// The `typ` of a status list token.
    pub const TOKEN_TYP: &str = "statuslist+jwt";
    /// Largest decompressed list accepted (2^22 two-bit entries).
    pub const LIST_BYTES_MAX: usize = 1024 * 1024;

    /// The `status_list` object for `entries` (two bits each).
    pub fn encode(entries: &[u8]) -> Value {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = z.write_all(entries);
        let compressed = z.finish().unwrap_or_default();
        json!({ "bits": 2, "lst": b64(&compressed) })
    }

    /// The entries of a `status_list` object (bounded), or why not.
    pub fn decode(status_list: &Value) -> Result<Vec<u8>, SdJwtError> {
        if status_list.get("bits").and_then(Value::as_u64) != Some(2) {
            return Err(SdJwtError::Malformed("status list bits (2 expected)"));
        }
        let lst = status_list.get("lst").and_then(Value::as_str).ok_or(SdJwtError::Malformed("status list lst"))?;
        let compressed = unb64(lst, "status list lst")?;
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(compressed.as_slice())
            .take(LIST_BYTES_MAX as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| SdJwtError::Malformed("status list lst is not zlib"))?;
        if out.len() > LIST_BYTES_MAX {
            return Err(SdJwtError::TooLarge("status list"));
        }
        Ok(out)
    }

    /// A status list token over `entries`, signed by `issuer` at `iat` for the list at `uri`,
    /// to be refreshed after `ttl` seconds.
    pub fn token(issuer: &SigningKey, kid: Option<&str>, uri: &str, entries: &[u8], iat: u64, ttl: u64) -> String {
        let mut header = Map::new();
        header.insert("typ".into(), Value::String(TOKEN_TYP.into()));
        if let Some(kid) = kid {
            header.insert("kid".into(), Value::String(kid.into()));
        }
        let payload = json!({ "sub": uri, "iat": iat, "ttl": ttl, "status_list": encode(entries) });
        sign_jwt(issuer, header, &payload)
    }

    /// Checks a status list token with the issuer's key and reads entry `index` (two bits: 0
    /// valid, 1 invalid, 2 suspended), checking the token is for `uri`.
    pub fn read(token: &str, issuer: &VerifyingKey, uri: &str, index: usize) -> Result<u8, SdJwtError> {
        let jws = parse_jws(token, "status list token")?;
        if jws.header.get("typ").and_then(Value::as_str) != Some(TOKEN_TYP) {
            let found = jws.header.get("typ").and_then(Value::as_str).unwrap_or_default().to_owned();
            return Err(SdJwtError::Typ { found, expected: TOKEN_TYP });
        }
        let alg = jws.header.get("alg").and_then(Value::as_str).ok_or(SdJwtError::Malformed("alg"))?;
        if !issuer.verify(alg, jws.signing_input.as_bytes(), &jws.signature)? {
            return Err(SdJwtError::IssuerSignature);
        }
        if jws.payload.get("sub").and_then(Value::as_str) != Some(uri) {
            return Err(SdJwtError::Malformed("status list token for another list"));
        }
        let entries = decode(jws.payload.get("status_list").ok_or(SdJwtError::Malformed("status_list"))?)?;
        let byte = entries.get(index / 4).ok_or(SdJwtError::Malformed("index beyond the list"))?;
        Ok((byte >> (2 * (index % 4))) & 0b11)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::credential::{CredentialStatus, STATUS_CHUNK_ENTRIES, set_in_chunk};

        #[test]
        fn tokens_carry_the_chain_chunk_and_verify_only_for_their_issuer_and_list() {
            let chunk = set_in_chunk(
                set_in_chunk(None, 3, CredentialStatus::Revoked).into(),
                4095,
                CredentialStatus::Suspended,
            );
            assert_eq!(decode(&encode(&chunk)).expect("round trip"), chunk);
            let issuer = SigningKey::p256_from_bytes(&[9; 32]).expect("scalar");
            let uri = "https://node/v1/credentials/status/did:civitas:1/0";
            let t = token(&issuer, Some("#key-1"), uri, &chunk, 1_800_000_000, 3600);
            let key = issuer.verifying_key();
            assert_eq!(read(&t, &key, uri, 3), Ok(1));
            assert_eq!(read(&t, &key, uri, (STATUS_CHUNK_ENTRIES - 1) as usize), Ok(2));
            assert_eq!(read(&t, &key, uri, 0), Ok(0));
            assert!(read(&t, &key, "https://elsewhere", 3).is_err());
            let other = SigningKey::p256_from_bytes(&[8; 32]).expect("scalar").verifying_key();
            assert_eq!(read(&t, &other, uri, 3), Err(SdJwtError::IssuerSignature));
            assert!(decode(&json!({ "bits": 1, "lst": "eJw" })).is_err());
            assert!(decode(&json!({ "bits": 2, "lst": "not zlib" })).is_err());
        }
    }
}
