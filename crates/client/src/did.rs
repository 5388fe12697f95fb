//! DIDs for people and programs: the JSON form of a DID document's settable part (what
//! `update_did` carries), rendering `did:civitas` documents and resolution results as W3C DID
//! Core 1.0 JSON, and resolving `did:key` (Ed25519, P-256) locally, with no node.
//!
//! `docs/did-method.md` specifies the `did:civitas` method these follow.

use base64::Engine as _;
use civitas_types::did_doc::{ACCOUNT_KEY_FRAGMENT, DidDocumentData, KeyMaterial, Relations};
use civitas_types::{Did, PublicKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

/// The JSON-LD contexts of every document Civitas renders.
const DOCUMENT_CONTEXT: [&str; 3] =
    ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1", "https://w3id.org/security/jwk/v1"];

/// The DID Resolution result context.
pub const RESOLUTION_CONTEXT: &str = "https://w3id.org/did-resolution/v1";

/// The media type of a resolved DID document.
pub const DID_CONTENT_TYPE: &str = "application/did+ld+json";

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
    let mut relations: Vec<Vec<String>> = vec![vec![key0.clone()]; Relations::NAMES.len()];
    for m in &data.methods {
        let mid = format!("{id}#{}", m.fragment);
        methods.push(method_json(&mid, &id, &m.key));
        for (i, (rel, _)) in Relations::NAMES.iter().enumerate() {
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
    for (i, (_, name)) in Relations::NAMES.iter().enumerate() {
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

/// A block time (milliseconds since the Unix epoch) as RFC 3339 in UTC, with its milliseconds
/// when there are any: `2026-11-30T07:40:12.345Z`.
pub fn datetime_ms(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "9999-12-31T23:59:59Z".into())
}

/// Parses an RFC 3339 time (`versionTime`) to milliseconds since the Unix epoch.
pub fn parse_datetime(s: &str) -> Option<u64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp()).ok()?.checked_mul(1000)
}

/// The key of a `Multikey` (`z` and base58btc of the Ed25519 or P-256 multicodec, as in
/// `did:key` and `publicKeyMultibase`), checked to be a valid point; why not, otherwise.
pub fn key_from_multibase(multibase: &str) -> Result<KeyMaterial, &'static str> {
    let encoded = multibase.strip_prefix('z').ok_or("did:key must be base58btc multibase (z...)")?;
    if encoded.len() > 64 {
        return Err("did:key is too long");
    }
    let bytes = bs58::decode(encoded).into_vec().map_err(|_| "did:key is not base58btc")?;
    let key = match bytes.as_slice() {
        [0xed, 0x01, rest @ ..] => rest.try_into().ok().map(KeyMaterial::Ed25519),
        [0x80, 0x24, rest @ ..] => rest.try_into().ok().map(KeyMaterial::P256),
        _ => return Err("did:key holds neither an Ed25519 nor a P-256 key"),
    };
    key.filter(KeyMaterial::is_valid).ok_or("did:key holds an invalid key")
}

/// Resolves a `did:key` (Ed25519 or P-256) locally: the document is derived from the key.
pub fn resolve_did_key(did: &str) -> ResolutionJson {
    let Some(multibase) = did.strip_prefix("did:key:") else {
        return ResolutionJson::failed("invalidDid", "not a did:key");
    };
    if let Err(why) = key_from_multibase(multibase) {
        return ResolutionJson::failed("invalidDid", why);
    }
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
    ResolutionJson::found(document, json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_types::SecretKey;

    const P256_G: &str = "036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";

    fn wallet_method(relations: &[&str]) -> Value {
        json!({"id": "wallet", "key_type": "P-256", "public_key": P256_G, "relations": relations})
    }

    #[test]
    fn document_json_round_trips_and_names_bad_fields() {
        let controller = Did::from_initial_key(&SecretKey::from_seed([3; 32]).public_key()).to_string();
        let text = json!({
            "controllers": [controller],
            "methods": [wallet_method(&["authentication", "assertionMethod"])],
            "services": [{"id": "site", "type": "LinkedDomains", "endpoint": "https://a.example"}],
            "recovery_key_hash": "01".repeat(32),
        });
        let data: DidDocumentData = serde_json::from_value(text.clone()).expect("converts");
        assert_eq!(serde_json::to_value(&data).expect("serializes"), text);
        let error = |change: &dyn Fn(&mut Value)| {
            let mut bad = text.clone();
            change(&mut bad);
            serde_json::from_value::<DidDocumentData>(bad).expect_err("refused").to_string()
        };
        assert!(error(&|d| d["methods"][0] = wallet_method(&["signing"])).contains("relations: \"signing\""));
        assert!(error(&|d| d["methods"][0]["key_type"] = json!("RSA")).contains("key_type"));
        assert!(error(&|d| d["controllers"][0] = json!("did:web:example.org")).contains("did:web:example.org"));
        assert!(error(&|d| d["extra"] = json!(1)).contains("extra"));
    }

    #[test]
    fn civitas_documents_follow_did_core() {
        let key = SecretKey::from_seed([1; 32]).public_key();
        let did = Did::from_initial_key(&key);
        let data: DidDocumentData =
            serde_json::from_value(json!({"methods": [wallet_method(&["assertionMethod"])]})).expect("converts");
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
        assert_eq!(datetime_ms(1_795_521_582_993), "2026-11-24T11:59:42.993Z");
        assert_eq!(datetime_ms(1_795_521_582_000), "2026-11-24T11:59:42Z");
        assert_eq!(parse_datetime("yesterday"), None);
    }
}
