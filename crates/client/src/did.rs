//! DIDs for people and programs: the JSON form of a DID document's settable part (what
//! `update_did` carries), rendering `did:civitas` documents and resolution results as W3C DID
//! Core 1.0 JSON, and resolving `did:key` (Ed25519, P-256) locally, with no node.
//!
//! `docs/did-method.md` specifies the `did:civitas` method these follow.

use base64::Engine as _;
use civitas_types::did_doc::{
    ACCOUNT_KEY_FRAGMENT, DidDocumentData, KeyMaterial, Relations, Service, VerificationMethod, doc_limits,
};
use civitas_types::{Did, Hash, PublicKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::wire::FieldError;

/// The JSON-LD contexts of every document Civitas renders.
const DOCUMENT_CONTEXT: [&str; 3] =
    ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1", "https://w3id.org/security/jwk/v1"];

/// The DID Resolution result context.
pub const RESOLUTION_CONTEXT: &str = "https://w3id.org/did-resolution/v1";

/// The media type of a resolved DID document.
pub const DID_CONTENT_TYPE: &str = "application/did+ld+json";

const RELATION_NAMES: [(Relations, &str); 3] = [
    (Relations::AUTHENTICATION, "authentication"),
    (Relations::ASSERTION_METHOD, "assertionMethod"),
    (Relations::CAPABILITY_INVOCATION, "capabilityInvocation"),
];

/// A verification method in [`DidDocumentDataJson`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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

/// A service in [`DidDocumentDataJson`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceJson {
    /// Its fragment (`did#id`).
    pub id: String,
    /// Its type, e.g. `LinkedDomains`.
    #[serde(rename = "type")]
    pub kind: String,
    /// An `https://` URL.
    pub endpoint: String,
}

/// What `update_did` sets: everything in a DID document except the account key (`#key-0`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DidDocumentDataJson {
    /// DIDs that may update or deactivate this one.
    #[serde(default)]
    pub controllers: Vec<String>,
    /// Verification methods beyond `#key-0`.
    #[serde(default)]
    pub methods: Vec<MethodJson>,
    /// Services.
    #[serde(default)]
    pub services: Vec<ServiceJson>,
    /// SHA-256 of a recovery key, hex (see `recover_did`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_key_hash: Option<String>,
}

fn err(field: String, why: impl ToString) -> FieldError {
    FieldError { field, why: why.to_string() }
}

impl DidDocumentDataJson {
    /// Converts to the binary form, naming the first bad field under `at`. Only the shape is
    /// checked here; the chain checks the rest (`DidDocumentData::validate`).
    pub fn to_data(&self, at: &str) -> Result<DidDocumentData, FieldError> {
        let f = |name: String| format!("{at}.{name}");
        if self.controllers.len() > doc_limits::CONTROLLERS_MAX {
            return Err(err(f("controllers".into()), format!("at most {}", doc_limits::CONTROLLERS_MAX)));
        }
        if self.methods.len() > doc_limits::METHODS_MAX {
            return Err(err(f("methods".into()), format!("at most {}", doc_limits::METHODS_MAX)));
        }
        if self.services.len() > doc_limits::SERVICES_MAX {
            return Err(err(f("services".into()), format!("at most {}", doc_limits::SERVICES_MAX)));
        }
        let controllers = self
            .controllers
            .iter()
            .enumerate()
            .map(|(i, c)| c.parse::<Did>().map_err(|e| err(f(format!("controllers[{i}]")), e)))
            .collect::<Result<_, _>>()?;
        let mut methods = Vec::with_capacity(self.methods.len());
        for (i, m) in self.methods.iter().enumerate() {
            let field = |name: &str| f(format!("methods[{i}].{name}"));
            let bytes = hex::decode(&m.public_key).map_err(|e| err(field("public_key"), e))?;
            let key = match m.key_type.as_str() {
                "Ed25519" => KeyMaterial::Ed25519(
                    bytes.try_into().map_err(|_| err(field("public_key"), "an Ed25519 key is 32 bytes"))?,
                ),
                "P-256" => KeyMaterial::P256(
                    bytes.try_into().map_err(|_| err(field("public_key"), "a compressed P-256 key is 33 bytes"))?,
                ),
                other => return Err(err(field("key_type"), format!("{other:?} is not Ed25519 or P-256"))),
            };
            let mut relations = Relations::from_bits(0).expect("no bits is valid");
            for r in &m.relations {
                let (rel, _) = RELATION_NAMES
                    .iter()
                    .find(|(_, name)| name == r)
                    .ok_or_else(|| err(field("relations"), format!("{r:?} is not a verification relationship")))?;
                relations = relations.with(*rel);
            }
            methods.push(VerificationMethod { fragment: m.id.clone(), key, relations });
        }
        let services = self
            .services
            .iter()
            .map(|s| Service { fragment: s.id.clone(), kind: s.kind.clone(), endpoint: s.endpoint.clone() })
            .collect();
        let recovery_key_hash = match &self.recovery_key_hash {
            None => None,
            Some(h) => Some(Hash::from_hex(h).map_err(|e| err(f("recovery_key_hash".into()), e))?),
        };
        Ok(DidDocumentData { controllers, methods, services, recovery_key_hash })
    }

    /// The JSON form of a document's settable part.
    pub fn from_data(data: &DidDocumentData) -> DidDocumentDataJson {
        DidDocumentDataJson {
            controllers: data.controllers.iter().map(ToString::to_string).collect(),
            methods: data
                .methods
                .iter()
                .map(|m| {
                    let (key_type, public_key) = match &m.key {
                        KeyMaterial::Ed25519(k) => ("Ed25519", hex::encode(k)),
                        KeyMaterial::P256(k) => ("P-256", hex::encode(k)),
                    };
                    MethodJson {
                        id: m.fragment.clone(),
                        key_type: key_type.into(),
                        public_key,
                        relations: RELATION_NAMES
                            .iter()
                            .filter(|(r, _)| m.relations.contains(*r))
                            .map(|(_, n)| (*n).to_owned())
                            .collect(),
                    }
                })
                .collect(),
            services: data
                .services
                .iter()
                .map(|s| ServiceJson { id: s.fragment.clone(), kind: s.kind.clone(), endpoint: s.endpoint.clone() })
                .collect(),
            recovery_key_hash: data.recovery_key_hash.map(|h| h.to_hex()),
        }
    }
}

/// The multibase (base58btc) multicodec form of an Ed25519 key: `z6Mk…`.
pub fn ed25519_multibase(key: &[u8; 32]) -> String {
    format!("z{}", bs58::encode([&[0xed, 0x01][..], key].concat()).into_string())
}

/// The multibase multicodec form of a compressed P-256 key: `zDn…`.
pub fn p256_multibase(key: &[u8; 33]) -> String {
    format!("z{}", bs58::encode([&[0x80, 0x24][..], key].concat()).into_string())
}

/// A P-256 key as a JWK (`kty` EC, `crv` P-256, `x`, `y`); `None` if it is not a valid point.
pub fn p256_jwk(key: &[u8; 33]) -> Option<Value> {
    use p256::elliptic_curve::sec1::ToSec1Point as _;
    let point = p256::PublicKey::from_sec1_bytes(key).ok()?.to_sec1_point(false);
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    Some(json!({ "kty": "EC", "crv": "P-256", "x": b64(point.x()?), "y": b64(point.y()?) }))
}

fn method_json(id: &str, controller: &str, key: &KeyMaterial) -> Value {
    match key {
        KeyMaterial::Ed25519(k) => json!({
            "id": id, "type": "Multikey", "controller": controller, "publicKeyMultibase": ed25519_multibase(k),
        }),
        KeyMaterial::P256(k) => json!({
            "id": id, "type": "JsonWebKey", "controller": controller, "publicKeyJwk": p256_jwk(k),
        }),
    }
}

/// The DID Core document of `did`, whose account key is `account_key`, with `data`.
pub fn civitas_document(did: &Did, account_key: &PublicKey, data: &DidDocumentData) -> Value {
    let id = did.to_string();
    let key0 = format!("{id}#{ACCOUNT_KEY_FRAGMENT}");
    let mut methods = vec![method_json(&key0, &id, &KeyMaterial::Ed25519(account_key.0))];
    let mut relations: Vec<Vec<String>> = vec![vec![key0.clone()]; RELATION_NAMES.len()];
    for m in &data.methods {
        let mid = format!("{id}#{}", m.fragment);
        methods.push(method_json(&mid, &id, &m.key));
        for (i, (rel, _)) in RELATION_NAMES.iter().enumerate() {
            if m.relations.contains(*rel) {
                relations[i].push(mid.clone());
            }
        }
    }
    let mut doc = json!({
        "@context": DOCUMENT_CONTEXT,
        "id": id,
        "controller": std::iter::once(id.clone()).chain(data.controllers.iter().map(ToString::to_string)).collect::<Vec<_>>(),
        "verificationMethod": methods,
    });
    for (i, (_, name)) in RELATION_NAMES.iter().enumerate() {
        doc[*name] = json!(relations[i]);
    }
    if !data.services.is_empty() {
        doc["service"] = data
            .services
            .iter()
            .map(|s| json!({ "id": format!("{id}#{}", s.fragment), "type": s.kind, "serviceEndpoint": s.endpoint }))
            .collect();
    }
    doc
}

/// A DID Resolution result (DID Core §7.1): the document (or none) and its metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResolutionJson {
    /// The DID Resolution context.
    #[serde(rename = "@context")]
    pub context: String,
    /// The document; `null` when resolution failed.
    #[serde(rename = "didDocument")]
    pub did_document: Option<Value>,
    /// About the resolution: `contentType`, or `error` (`invalidDid`, `notFound`, ...).
    #[serde(rename = "didResolutionMetadata")]
    pub resolution_metadata: Value,
    /// About the document: `created`, `updated`, `versionId`, `deactivated`, ...
    #[serde(rename = "didDocumentMetadata")]
    pub document_metadata: Value,
}

impl ResolutionJson {
    /// A successful resolution.
    pub fn found(document: Value, document_metadata: Value) -> ResolutionJson {
        ResolutionJson {
            context: RESOLUTION_CONTEXT.into(),
            did_document: Some(document),
            resolution_metadata: json!({ "contentType": DID_CONTENT_TYPE }),
            document_metadata,
        }
    }

    /// A failed resolution with a DID Resolution `error` code and a message.
    pub fn failed(error: &str, message: &str) -> ResolutionJson {
        ResolutionJson {
            context: RESOLUTION_CONTEXT.into(),
            did_document: None,
            resolution_metadata: json!({ "error": error, "errorMessage": message }),
            document_metadata: json!({}),
        }
    }

    /// The resolution's `error` code, if it failed.
    pub fn error(&self) -> Option<&str> {
        self.resolution_metadata.get("error").and_then(Value::as_str)
    }
}

/// Milliseconds since the Unix epoch as an XML Schema dateTime in UTC, to the second
/// (`2026-11-24T12:00:00Z`), as DID Core metadata wants.
pub fn datetime(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "9999-12-31T23:59:59Z".into())
}

/// Parses an RFC 3339 time (`versionTime`) to milliseconds since the Unix epoch.
pub fn parse_datetime(s: &str) -> Option<u64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp()).ok()?.checked_mul(1000)
}

/// Resolves a `did:key` (Ed25519 or P-256) locally: the document is derived from the key.
pub fn resolve_did_key(did: &str) -> ResolutionJson {
    let Some(multibase) = did.strip_prefix("did:key:") else {
        return ResolutionJson::failed("invalidDid", "not a did:key");
    };
    let Some(encoded) = multibase.strip_prefix('z') else {
        return ResolutionJson::failed("invalidDid", "did:key must be base58btc multibase (z...)");
    };
    if encoded.len() > 64 {
        return ResolutionJson::failed("invalidDid", "did:key is too long");
    }
    let Ok(bytes) = bs58::decode(encoded).into_vec() else {
        return ResolutionJson::failed("invalidDid", "did:key is not base58btc");
    };
    let key = match bytes.as_slice() {
        [0xed, 0x01, rest @ ..] => rest.try_into().ok().map(KeyMaterial::Ed25519),
        [0x80, 0x24, rest @ ..] => rest.try_into().ok().map(KeyMaterial::P256),
        _ => return ResolutionJson::failed("invalidDid", "did:key holds neither an Ed25519 nor a P-256 key"),
    };
    let Some(key) = key.filter(KeyMaterial::is_valid) else {
        return ResolutionJson::failed("invalidDid", "did:key holds an invalid key");
    };
    let vm = format!("{did}#{multibase}");
    let method = json!({ "id": vm, "type": "Multikey", "controller": did, "publicKeyMultibase": multibase });
    let document = json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [method],
        "authentication": [vm],
        "assertionMethod": [vm],
        "capabilityInvocation": [vm],
        "capabilityDelegation": [vm],
    });
    let _ = key;
    ResolutionJson::found(document, json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_types::SecretKey;

    const P256_G: &str = "036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";

    #[test]
    fn document_json_round_trips_and_names_bad_fields() {
        let json = DidDocumentDataJson {
            controllers: vec![Did::from_initial_key(&SecretKey::from_seed([3; 32]).public_key()).to_string()],
            methods: vec![MethodJson {
                id: "wallet".into(),
                key_type: "P-256".into(),
                public_key: P256_G.into(),
                relations: vec!["authentication".into(), "assertionMethod".into()],
            }],
            services: vec![ServiceJson {
                id: "site".into(),
                kind: "LinkedDomains".into(),
                endpoint: "https://a.example".into(),
            }],
            recovery_key_hash: Some(Hash([1; 32]).to_hex()),
        };
        let data = json.to_data("document").expect("converts");
        assert_eq!(DidDocumentDataJson::from_data(&data), json);
        let mut bad = json.clone();
        bad.methods[0].relations = vec!["signing".into()];
        assert_eq!(bad.to_data("document").unwrap_err().field, "document.methods[0].relations");
        let mut bad = json.clone();
        bad.methods[0].key_type = "RSA".into();
        assert_eq!(bad.to_data("document").unwrap_err().field, "document.methods[0].key_type");
        let mut bad = json;
        bad.controllers = vec!["did:web:example.org".into()];
        assert_eq!(bad.to_data("document").unwrap_err().field, "document.controllers[0]");
    }

    #[test]
    fn civitas_documents_follow_did_core() {
        let key = SecretKey::from_seed([1; 32]).public_key();
        let did = Did::from_initial_key(&key);
        let data = DidDocumentDataJson {
            methods: vec![MethodJson {
                id: "wallet".into(),
                key_type: "P-256".into(),
                public_key: P256_G.into(),
                relations: vec!["assertionMethod".into()],
            }],
            ..DidDocumentDataJson::default()
        }
        .to_data("d")
        .expect("converts");
        let doc = civitas_document(&did, &key, &data);
        let id = did.to_string();
        assert_eq!(doc["id"], id);
        assert_eq!(doc["verificationMethod"][0]["id"], format!("{id}#key-0"));
        assert_eq!(doc["verificationMethod"][0]["type"], "Multikey");
        assert!(doc["verificationMethod"][0]["publicKeyMultibase"].as_str().expect("str").starts_with("z6Mk"));
        assert_eq!(doc["verificationMethod"][1]["publicKeyJwk"]["crv"], "P-256");
        // The generator's x coordinate, base64url.
        assert_eq!(doc["verificationMethod"][1]["publicKeyJwk"]["x"], "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY");
        assert_eq!(doc["assertionMethod"], json!([format!("{id}#key-0"), format!("{id}#wallet")]));
        assert_eq!(doc["authentication"], json!([format!("{id}#key-0")]));
        assert!(doc.get("service").is_none());
    }

    #[test]
    fn did_key_resolves_locally_and_refuses_garbage() {
        // The did:key test vector for Ed25519 from the did:key specification.
        let did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
        let r = resolve_did_key(did);
        assert_eq!(r.error(), None);
        let doc = r.did_document.expect("document");
        assert_eq!(doc["id"], did);
        assert_eq!(
            doc["verificationMethod"][0]["publicKeyMultibase"],
            "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        );
        let p256 = p256_multibase(&hex::decode(P256_G).expect("hex").try_into().expect("33"));
        assert!(p256.starts_with("zDn"), "{p256}");
        assert_eq!(resolve_did_key(&format!("did:key:{p256}")).error(), None);
        for bad in ["did:key:", "did:key:abc", "did:key:z0OIl", "did:web:x", "did:key:z6Mk", "did:key:zDnaeZZZZ"] {
            assert_eq!(resolve_did_key(bad).error(), Some("invalidDid"), "{bad}");
        }
        assert_eq!(ed25519_multibase(&SecretKey::from_seed([1; 32]).public_key().0).len(), 48);
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(datetime(1_795_521_582_993), "2026-11-24T11:59:42Z");
        assert_eq!(parse_datetime("2026-11-24T11:59:42Z"), Some(1_795_521_582_000));
        assert_eq!(parse_datetime("yesterday"), None);
    }
}
