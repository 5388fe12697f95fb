//! What a DID's controller sets in its DID document beyond the account key: more verification
//! methods (Ed25519 and P-256 signing keys, X25519 key agreement keys), services, controllers,
//! and a commitment to a recovery key.
//!
//! The account's current key is always the document's first verification method, `#key-0`,
//! in every relation; it is not stored here (it lives in the account and changes by rotation).
//! `docs/did-method.md` specifies how these records become a DID Core document.

mod instruction;
pub use instruction::DidInstruction;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_len};
use crate::crypto::Hash;
use crate::did::Did;

/// Limits on a DID document's parts.
pub mod doc_limits {
    /// Most extra verification methods.
    pub const METHODS_MAX: usize = 16;
    /// Most services.
    pub const SERVICES_MAX: usize = 16;
    /// Most controllers besides the DID itself.
    pub const CONTROLLERS_MAX: usize = 8;
    /// Longest fragment (`#…`), in bytes.
    pub const FRAGMENT_BYTES_MAX: usize = 64;
    /// Longest service type, in bytes.
    pub const SERVICE_TYPE_BYTES_MAX: usize = 64;
    /// Longest service endpoint, in bytes.
    pub const ENDPOINT_BYTES_MAX: usize = 512;
}

/// The fragment the account key always holds.
pub const ACCOUNT_KEY_FRAGMENT: &str = "key-0";

/// Public key material of a verification method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An Ed25519 key (rendered as a Multikey).
    Ed25519([u8; 32]),
    /// A P-256 key, SEC1-compressed (rendered as a JsonWebKey).
    P256([u8; 33]),
    /// An X25519 key (RFC 7748 u-coordinate; rendered as a Multikey): others encrypt to it (HPKE),
    /// it signs nothing, so it is in `keyAgreement` and no other relationship.
    X25519([u8; 32]),
}

impl KeyMaterial {
    /// Whether the bytes are a valid key of their kind (a point on the curve, not the identity).
    pub fn is_valid(&self) -> bool {
        match self {
            KeyMaterial::Ed25519(k) => ed25519_consensus::VerificationKey::try_from(*k).is_ok(),
            // Compressed form only (SEC1 also has compact and hybrid tags).
            KeyMaterial::P256(k) => matches!(k[0], 2 | 3) && p256::PublicKey::from_sec1_bytes(k).is_ok(),
            KeyMaterial::X25519(k) => x25519_key_ok(k),
        }
    }

    /// Whether this is a key agreement key (X25519) rather than a signing key.
    pub fn is_key_agreement(&self) -> bool {
        matches!(self, KeyMaterial::X25519(_))
    }
}

/// Whether `u` is a usable X25519 public key: canonical (below 2^255 - 19, so one key has one
/// encoding in a document) and not of small order. A small-order point makes every shared
/// secret all zeros, whoever the sender, so a sealed message would be readable by anyone
/// (RFC 7748 §6.1; HPKE senders refuse such keys, RFC 9180 §7.1.4). Clamped scalars are
/// multiples of the cofactor 8, so exactly those points give zero.
fn x25519_key_ok(u: &[u8; 32]) -> bool {
    // Little-endian: below p = 2^255 - 19 unless the top bit is set, or the value is
    // 2^255 - 19 .. 2^255 - 1 (top byte 0x7f, 30 bytes of 0xff, low byte at least 0xed).
    let canonical = u[31] & 0x80 == 0 && !(u[31] == 0x7f && u[1..31].iter().all(|b| *b == 0xff) && u[0] >= 0xed);
    canonical && x25519_dalek::x25519([9; 32], *u) != [0; 32]
}

/// Which verification relationships a method is in (DID Core §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Relations(u8);

impl Relations {
    /// `authentication`: proves control of the DID (logging in, key binding).
    pub const AUTHENTICATION: Relations = Relations(1);
    /// `assertionMethod`: signs claims (credentials).
    pub const ASSERTION_METHOD: Relations = Relations(2);
    /// `capabilityInvocation`: acts with the DID's authority.
    pub const CAPABILITY_INVOCATION: Relations = Relations(4);
    /// `keyAgreement`: others encrypt to it (X25519 keys only, and only in this relationship).
    pub const KEY_AGREEMENT: Relations = Relations(8);
    const ALL: u8 = 15;
    /// Each relationship with its DID Core name, in bit order.
    pub const NAMES: [(Relations, &'static str); 4] = [
        (Relations::AUTHENTICATION, "authentication"),
        (Relations::ASSERTION_METHOD, "assertionMethod"),
        (Relations::CAPABILITY_INVOCATION, "capabilityInvocation"),
        (Relations::KEY_AGREEMENT, "keyAgreement"),
    ];

    /// The names of the relationships in `self`, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Relations::NAMES.into_iter().filter(move |(r, _)| self.contains(*r)).map(|(_, n)| n)
    }

    /// The union of `self` and `other`.
    pub const fn with(self, other: Relations) -> Relations {
        Relations(self.0 | other.0)
    }

    /// Whether `self` includes `other`.
    pub fn contains(self, other: Relations) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw bits.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// From raw bits; `None` if an unknown bit is set.
    pub fn from_bits(bits: u8) -> Option<Relations> {
        (bits & !Relations::ALL == 0).then_some(Relations(bits))
    }
}

/// A verification method beyond the account key. In JSON: `{id, key_type, public_key,
/// relations}` (see [`MethodJson`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MethodJson", into = "MethodJson")]
pub struct VerificationMethod {
    /// Its id within the document (`did#fragment`).
    pub fragment: String,
    /// The key.
    pub key: KeyMaterial,
    /// The relationships it is in (at least one).
    pub relations: Relations,
}

/// A service endpoint (DID Core §5.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Its id within the document (`did#fragment`).
    #[serde(rename = "id")]
    pub fragment: String,
    /// Its type, e.g. `LinkedDomains`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where it is: an `https://` URL.
    pub endpoint: String,
}

/// The settable part of a DID document: what `update_did` sets, everything but the account
/// key (`#key-0`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DidDocumentData {
    /// DIDs that may update or deactivate this one, besides itself.
    #[serde(default)]
    pub controllers: Vec<Did>,
    /// Verification methods beyond `#key-0`.
    #[serde(default)]
    #[schema(value_type = Vec<MethodJson>)]
    pub methods: Vec<VerificationMethod>,
    /// Services.
    #[serde(default)]
    pub services: Vec<Service>,
    /// SHA-256 of a recovery key's bytes: that key may later move the DID to a new account key
    /// (the key itself stays private until used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_key_hash: Option<Hash>,
}

/// The JSON form of a [`VerificationMethod`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = VerificationMethod)]
pub struct MethodJson {
    /// Its fragment (`did#id`): 1-64 characters of `A-Z a-z 0-9 . _ -`, not `key-0`.
    pub id: String,
    /// `Ed25519` (32-byte key), `P-256` (33-byte compressed SEC1 point) or `X25519` (32-byte
    /// key agreement key).
    pub key_type: String,
    /// The key, hex.
    pub public_key: String,
    /// Any of `authentication`, `assertionMethod`, `capabilityInvocation` for a signing key;
    /// `keyAgreement` (alone) for an X25519 key.
    pub relations: Vec<String>,
}

impl TryFrom<MethodJson> for VerificationMethod {
    type Error = String;

    fn try_from(m: MethodJson) -> Result<VerificationMethod, String> {
        let bytes = hex::decode(&m.public_key).map_err(|e| format!("public_key: {e}"))?;
        let key = match m.key_type.as_str() {
            "Ed25519" => {
                KeyMaterial::Ed25519(bytes.try_into().map_err(|_| "public_key: an Ed25519 key is 32 bytes".to_owned())?)
            }
            "P-256" => KeyMaterial::P256(
                bytes.try_into().map_err(|_| "public_key: a compressed P-256 key is 33 bytes".to_owned())?,
            ),
            "X25519" => {
                KeyMaterial::X25519(bytes.try_into().map_err(|_| "public_key: an X25519 key is 32 bytes".to_owned())?)
            }
            other => return Err(format!("key_type: {other:?} is not Ed25519, P-256 or X25519")),
        };
        let mut relations = Relations(0);
        for r in &m.relations {
            let (rel, _) = Relations::NAMES
                .iter()
                .find(|(_, name)| name == r)
                .ok_or_else(|| format!("relations: {r:?} is not a verification relationship"))?;
            relations = relations.with(*rel);
        }
        Ok(VerificationMethod { fragment: m.id, key, relations })
    }
}

impl From<VerificationMethod> for MethodJson {
    fn from(m: VerificationMethod) -> MethodJson {
        let (key_type, public_key) = match &m.key {
            KeyMaterial::Ed25519(k) => ("Ed25519", hex::encode(k)),
            KeyMaterial::P256(k) => ("P-256", hex::encode(k)),
            KeyMaterial::X25519(k) => ("X25519", hex::encode(k)),
        };
        MethodJson {
            id: m.fragment,
            key_type: key_type.into(),
            public_key,
            relations: m.relations.names().map(str::to_owned).collect(),
        }
    }
}

/// Why a DID document is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// A fragment is empty, too long, not `[A-Za-z0-9._-]`, reserved or repeated.
    #[error("fragment {0:?} is not 1-64 characters of A-Z a-z 0-9 . _ -, or is `key-0` or repeated")]
    BadFragment(String),
    /// A key is not a valid point.
    #[error("verification method #{0} holds an invalid key")]
    BadKey(String),
    /// A method is in no relationship.
    #[error("verification method #{0} is in no verification relationship")]
    NoRelation(String),
    /// A service type or endpoint is unusable.
    #[error(
        "service #{0}: the type is 1-64 printable characters and the endpoint an https:// URL of at most 512 bytes"
    )]
    BadService(String),
    /// A controller is the DID itself or repeated.
    #[error("controller {0} is the DID itself or is listed twice")]
    BadController(Did),
    /// An X25519 method is in another relationship than `keyAgreement`, or not in it.
    #[error("verification method #{0} holds an X25519 key: it must be in keyAgreement and no other relationship")]
    X25519OutsideKeyAgreement(String),
    /// A signing key (Ed25519, P-256) is in `keyAgreement`.
    #[error("verification method #{0} is in keyAgreement but holds a signing key: keyAgreement takes X25519 keys only")]
    KeyAgreementNotX25519(String),
}

fn fragment_ok(f: &str) -> bool {
    !f.is_empty()
        && f.len() <= doc_limits::FRAGMENT_BYTES_MAX
        && f != ACCOUNT_KEY_FRAGMENT
        && f.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl DidDocumentData {
    /// The verification method `fragment`, if the document lists it under `relation`.
    pub fn method(&self, fragment: &str, relation: Relations) -> Option<&VerificationMethod> {
        self.methods.iter().find(|m| m.fragment == fragment && m.relations.contains(relation))
    }

    /// Checks the document for `did`: fragments unique and well-formed, keys valid, every
    /// method in a relationship, X25519 keys in `keyAgreement` alone and only they in it,
    /// services well-formed, controllers distinct and not `did`.
    pub fn validate(&self, did: &Did) -> Result<(), DocumentError> {
        let mut seen = std::collections::BTreeSet::new();
        for m in &self.methods {
            if !fragment_ok(&m.fragment) || !seen.insert(m.fragment.as_str()) {
                return Err(DocumentError::BadFragment(m.fragment.clone()));
            }
            if !m.key.is_valid() {
                return Err(DocumentError::BadKey(m.fragment.clone()));
            }
            if m.relations.bits() == 0 {
                return Err(DocumentError::NoRelation(m.fragment.clone()));
            }
            if m.key.is_key_agreement() && m.relations != Relations::KEY_AGREEMENT {
                return Err(DocumentError::X25519OutsideKeyAgreement(m.fragment.clone()));
            }
            if !m.key.is_key_agreement() && m.relations.contains(Relations::KEY_AGREEMENT) {
                return Err(DocumentError::KeyAgreementNotX25519(m.fragment.clone()));
            }
        }
        for s in &self.services {
            if !fragment_ok(&s.fragment) || !seen.insert(s.fragment.as_str()) {
                return Err(DocumentError::BadFragment(s.fragment.clone()));
            }
            let kind_ok = !s.kind.is_empty()
                && s.kind.len() <= doc_limits::SERVICE_TYPE_BYTES_MAX
                && s.kind.bytes().all(|b| b.is_ascii_graphic());
            let endpoint_ok = s.endpoint.len() <= doc_limits::ENDPOINT_BYTES_MAX
                && s.endpoint.len() > "https://".len()
                && s.endpoint.starts_with("https://")
                && s.endpoint.bytes().all(|b| b.is_ascii_graphic());
            if !kind_ok || !endpoint_ok {
                return Err(DocumentError::BadService(s.fragment.clone()));
            }
        }
        let mut controllers = std::collections::BTreeSet::new();
        for c in &self.controllers {
            if c == did || !controllers.insert(*c) {
                return Err(DocumentError::BadController(*c));
            }
        }
        Ok(())
    }
}

impl Encode for KeyMaterial {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            KeyMaterial::Ed25519(k) => {
                out.push(0);
                out.extend_from_slice(k);
            }
            KeyMaterial::P256(k) => {
                out.push(1);
                out.extend_from_slice(k);
            }
            KeyMaterial::X25519(k) => {
                out.push(2);
                out.extend_from_slice(k);
            }
        }
    }
}

impl Decode for KeyMaterial {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("key type")? {
            0 => Ok(KeyMaterial::Ed25519(r.array("ed25519 key")?)),
            1 => Ok(KeyMaterial::P256(r.array("p-256 key")?)),
            2 => Ok(KeyMaterial::X25519(r.array("x25519 key")?)),
            tag => Err(DecodeError::UnknownTag { what: "key type", tag }),
        }
    }
}

impl Encode for VerificationMethod {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.fragment.as_bytes());
        self.key.encode_to(out);
        out.push(self.relations.bits());
    }
}

impl Decode for VerificationMethod {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let fragment = r.string(doc_limits::FRAGMENT_BYTES_MAX, "fragment")?;
        let key = KeyMaterial::decode_from(r)?;
        let bits = r.u8("relations")?;
        let relations = Relations::from_bits(bits).ok_or(DecodeError::UnknownTag { what: "relations", tag: bits })?;
        Ok(VerificationMethod { fragment, key, relations })
    }
}

impl Encode for Service {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.fragment.as_bytes());
        put_bytes(out, self.kind.as_bytes());
        put_bytes(out, self.endpoint.as_bytes());
    }
}

impl Decode for Service {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Service {
            fragment: r.string(doc_limits::FRAGMENT_BYTES_MAX, "fragment")?,
            kind: r.string(doc_limits::SERVICE_TYPE_BYTES_MAX, "service type")?,
            endpoint: r.string(doc_limits::ENDPOINT_BYTES_MAX, "service endpoint")?,
        })
    }
}

impl Encode for DidDocumentData {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_len(out, self.controllers.len());
        for c in &self.controllers {
            c.encode_to(out);
        }
        put_len(out, self.methods.len());
        for m in &self.methods {
            m.encode_to(out);
        }
        put_len(out, self.services.len());
        for s in &self.services {
            s.encode_to(out);
        }
        match &self.recovery_key_hash {
            None => out.push(0),
            Some(h) => {
                out.push(1);
                h.encode_to(out);
            }
        }
    }
}

impl Decode for DidDocumentData {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let controllers = r.seq(doc_limits::CONTROLLERS_MAX, "controllers", Did::decode_from)?;
        let methods = r.seq(doc_limits::METHODS_MAX, "verification methods", VerificationMethod::decode_from)?;
        let services = r.seq(doc_limits::SERVICES_MAX, "services", Service::decode_from)?;
        let recovery_key_hash = match r.u8("recovery key")? {
            0 => None,
            1 => Some(Hash::decode_from(r)?),
            tag => return Err(DecodeError::UnknownTag { what: "recovery key", tag }),
        };
        Ok(DidDocumentData { controllers, methods, services, recovery_key_hash })
    }
}

/// Where `did`'s document (its settable part) is kept.
pub fn doc_key(did: &Did) -> Vec<u8> {
    [b"did/doc/".as_slice(), did.as_bytes()].concat()
}

/// Where `did`'s metadata is kept.
pub fn meta_key(did: &Did) -> Vec<u8> {
    [b"did/meta/".as_slice(), did.as_bytes()].concat()
}

/// Where version `version` of `did`'s document records the height it took effect at.
pub fn version_key(did: &Did, version: u64) -> Vec<u8> {
    [b"did/version/".as_slice(), did.as_bytes(), &version.to_be_bytes()].concat()
}

/// A DID's history in brief: when it was created and last changed, and its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DidMeta {
    /// The height of the block that created it (0: genesis).
    pub created_height: u64,
    /// That block's time.
    pub created_ms: u64,
    /// The height of the block that last changed it.
    pub updated_height: u64,
    /// That block's time.
    pub updated_ms: u64,
    /// Its version: 1 at creation, one more with each change (key rotation, document update,
    /// recovery, deactivation).
    pub version: u64,
    /// Whether it was deactivated.
    pub deactivated: bool,
}

impl DidMeta {
    /// Version 1, created at genesis (`genesis_ms`): what an account without metadata (written
    /// before DIDs had any) is taken to be.
    pub fn genesis(genesis_ms: u64) -> DidMeta {
        DidMeta {
            created_height: 0,
            created_ms: genesis_ms,
            updated_height: 0,
            updated_ms: genesis_ms,
            version: 1,
            deactivated: false,
        }
    }
}

impl Encode for DidMeta {
    fn encode_to(&self, out: &mut Vec<u8>) {
        for v in [self.created_height, self.created_ms, self.updated_height, self.updated_ms, self.version] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.push(u8::from(self.deactivated));
    }
}

impl Decode for DidMeta {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(DidMeta {
            created_height: r.u64("created height")?,
            created_ms: r.u64("created time")?,
            updated_height: r.u64("updated height")?,
            updated_ms: r.u64("updated time")?,
            version: r.u64("version")?,
            deactivated: r.bool("deactivated")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;
    use proptest::prelude::*;

    fn p256_key() -> [u8; 33] {
        // The P-256 generator point, compressed: a valid public key.
        let mut k = [0u8; 33];
        k[0] = 0x03;
        k[1..].copy_from_slice(
            &hex::decode("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296").expect("hex"),
        );
        k
    }

    fn x25519_key() -> [u8; 32] {
        // pkRm of RFC 9180 A.2.1: a valid X25519 public key.
        hex::decode("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a")
            .expect("hex")
            .try_into()
            .expect("32 bytes")
    }

    fn sample() -> DidDocumentData {
        DidDocumentData {
            controllers: vec![Did::from_initial_key(&SecretKey::from_seed([9; 32]).public_key())],
            methods: vec![
                VerificationMethod {
                    fragment: "signing".into(),
                    key: KeyMaterial::Ed25519(SecretKey::from_seed([8; 32]).public_key().0),
                    relations: Relations::ASSERTION_METHOD,
                },
                VerificationMethod {
                    fragment: "wallet-p256".into(),
                    key: KeyMaterial::P256(p256_key()),
                    relations: Relations::AUTHENTICATION.with(Relations::ASSERTION_METHOD),
                },
                VerificationMethod {
                    fragment: "seal".into(),
                    key: KeyMaterial::X25519(x25519_key()),
                    relations: Relations::KEY_AGREEMENT,
                },
            ],
            services: vec![Service {
                fragment: "site".into(),
                kind: "LinkedDomains".into(),
                endpoint: "https://example.org".into(),
            }],
            recovery_key_hash: Some(Hash([5; 32])),
        }
    }

    #[test]
    fn a_good_document_validates_and_round_trips() {
        let did = Did::from_initial_key(&SecretKey::from_seed([1; 32]).public_key());
        let doc = sample();
        doc.validate(&did).expect("valid");
        assert_eq!(DidDocumentData::decode(&doc.encode()).expect("decodes"), doc);
    }

    #[test]
    fn bad_documents_name_their_fault() {
        let did = Did::from_initial_key(&SecretKey::from_seed([1; 32]).public_key());
        let mut d = sample();
        d.methods[0].fragment = "key-0".into();
        assert!(matches!(d.validate(&did), Err(DocumentError::BadFragment(_))));
        let mut d = sample();
        d.services[0].fragment = "signing".into();
        assert!(matches!(d.validate(&did), Err(DocumentError::BadFragment(_))));
        let mut d = sample();
        d.methods[1].fragment = "has space".into();
        assert!(matches!(d.validate(&did), Err(DocumentError::BadFragment(_))));
        let mut d = sample();
        d.methods[1].key = KeyMaterial::P256([5; 33]);
        assert_eq!(d.validate(&did), Err(DocumentError::BadKey("wallet-p256".into())));
        let mut off_curve = [0xff; 33];
        off_curve[0] = 2;
        d.methods[1].key = KeyMaterial::P256(off_curve);
        assert_eq!(d.validate(&did), Err(DocumentError::BadKey("wallet-p256".into())));
        let mut d = sample();
        d.methods[0].relations = Relations::from_bits(0).expect("bits");
        assert!(matches!(d.validate(&did), Err(DocumentError::NoRelation(_))));
        let mut d = sample();
        d.services[0].endpoint = "http://plain.example".into();
        assert!(matches!(d.validate(&did), Err(DocumentError::BadService(_))));
        let mut d = sample();
        d.controllers.push(did);
        assert_eq!(d.validate(&did), Err(DocumentError::BadController(did)));
        assert_eq!(Relations::from_bits(16), None);
    }

    #[test]
    fn x25519_keys_are_in_key_agreement_alone_and_only_they_are() {
        let did = Did::from_initial_key(&SecretKey::from_seed([1; 32]).public_key());
        let check = |method: usize, relations: Relations, expected: Result<(), DocumentError>| {
            let mut d = sample();
            d.methods[method].relations = relations;
            assert_eq!(d.validate(&did), expected, "method {method}, relations {:?}", relations.bits());
        };
        let (ed25519, p256, x25519) = (0, 1, 2);
        let outside = || Err(DocumentError::X25519OutsideKeyAgreement("seal".into()));
        check(x25519, Relations::KEY_AGREEMENT, Ok(()));
        check(x25519, Relations::AUTHENTICATION, outside());
        check(x25519, Relations::KEY_AGREEMENT.with(Relations::ASSERTION_METHOD), outside());
        check(x25519, Relations::CAPABILITY_INVOCATION, outside());
        let signing_in_key_agreement = |f: &str| Err(DocumentError::KeyAgreementNotX25519(f.into()));
        check(ed25519, Relations::KEY_AGREEMENT, signing_in_key_agreement("signing"));
        check(p256, Relations::AUTHENTICATION.with(Relations::KEY_AGREEMENT), signing_in_key_agreement("wallet-p256"));
    }

    #[test]
    fn x25519_keys_must_be_canonical_and_not_of_small_order() {
        let check = |hex_key: &str, valid: bool| {
            let key: [u8; 32] = hex::decode(hex_key).expect("hex").try_into().expect("32 bytes");
            assert_eq!(KeyMaterial::X25519(key).is_valid(), valid, "{hex_key}");
        };
        check("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a", true);
        // The base point, u = 9.
        check("0900000000000000000000000000000000000000000000000000000000000000", true);
        // p - 2: the largest canonical value not of small order.
        check("ebffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", true);
        // Small order (the canonical ones, as libsodium lists them): 0, 1, two points of order
        // 8, and p - 1.
        check("0000000000000000000000000000000000000000000000000000000000000000", false);
        check("0100000000000000000000000000000000000000000000000000000000000000", false);
        check("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", false);
        check("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", false);
        check("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", false);
        // Not canonical: p itself, p + 1, and a good key with the top bit set.
        check("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", false);
        check("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", false);
        check("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c5966aa", false);
    }

    #[test]
    fn key_material_and_relations_keep_their_encodings() {
        // Stored documents and signed updates hold these bytes: new kinds take new tags, new
        // relationships new bits, and the old ones never change.
        let check = |key: KeyMaterial, expected_hex: &str| assert_eq!(hex::encode(key.encode()), expected_hex);
        check(KeyMaterial::Ed25519([0x11; 32]), &format!("00{}", "11".repeat(32)));
        check(KeyMaterial::P256(p256_key()), &format!("01{}", hex::encode(p256_key())));
        check(KeyMaterial::X25519([0x22; 32]), &format!("02{}", "22".repeat(32)));
        let bits: Vec<(u8, &str)> = Relations::NAMES.iter().map(|(r, n)| (r.bits(), *n)).collect();
        assert_eq!(
            bits,
            [(1, "authentication"), (2, "assertionMethod"), (4, "capabilityInvocation"), (8, "keyAgreement")]
        );
        assert_eq!(
            KeyMaterial::decode(&[3; 33]),
            Err(DecodeError::UnknownTag { what: "key type", tag: 3 }),
            "no fourth kind"
        );
    }

    proptest! {
        #[test]
        fn document_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = DidDocumentData::decode(&bytes);
        }
    }
}
