//! What a DID's controller sets in its DID document beyond the account key: more verification
//! methods (Ed25519, P-256), services, controllers, and a commitment to a recovery key.
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
}

impl KeyMaterial {
    /// Whether the bytes are a valid key of their kind (a point on the curve, not the identity).
    pub fn is_valid(&self) -> bool {
        match self {
            KeyMaterial::Ed25519(k) => ed25519_consensus::VerificationKey::try_from(*k).is_ok(),
            // Compressed form only (SEC1 also has compact and hybrid tags).
            KeyMaterial::P256(k) => matches!(k[0], 2 | 3) && p256::PublicKey::from_sec1_bytes(k).is_ok(),
        }
    }
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
    const ALL: u8 = 7;
    /// Each relationship with its DID Core name, in bit order.
    pub const NAMES: [(Relations, &'static str); 3] = [
        (Relations::AUTHENTICATION, "authentication"),
        (Relations::ASSERTION_METHOD, "assertionMethod"),
        (Relations::CAPABILITY_INVOCATION, "capabilityInvocation"),
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
    /// `Ed25519` (32-byte key) or `P-256` (33-byte compressed SEC1 point).
    pub key_type: String,
    /// The key, hex.
    pub public_key: String,
    /// Any of `authentication`, `assertionMethod`, `capabilityInvocation`.
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
            other => return Err(format!("key_type: {other:?} is not Ed25519 or P-256")),
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
    /// method in a relationship, services well-formed, controllers distinct and not `did`.
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
        }
    }
}

impl Decode for KeyMaterial {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("key type")? {
            0 => Ok(KeyMaterial::Ed25519(r.array("ed25519 key")?)),
            1 => Ok(KeyMaterial::P256(r.array("p-256 key")?)),
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
            deactivated: match r.u8("deactivated")? {
                0 => false,
                1 => true,
                tag => return Err(DecodeError::UnknownTag { what: "deactivated", tag }),
            },
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
        assert_eq!(Relations::from_bits(8), None);
    }

    proptest! {
        #[test]
        fn document_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = DidDocumentData::decode(&bytes);
        }
    }
}
