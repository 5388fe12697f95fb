//! DIDs for people and programs: the JSON form of a DID document's settable part (what
//! `update_did` carries), rendering `did:civitas` documents and resolution results as W3C DID
//! Core 1.0 JSON, and resolving `did:key` (Ed25519, P-256, X25519) locally, with no node.
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

/// The multibase multicodec form of an X25519 key: `z6LS…`.
pub fn x25519_multibase(key: &[u8; 32]) -> String {
    format!("z{}", bs58::encode([&[0xec, 0x01][..], key].concat()).into_string())
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
        KeyMaterial::X25519(k) => json!({
            "id": id, "type": "Multikey", "controller": controller, "publicKeyMultibase": x25519_multibase(k),
        }),
    }
}

/// The relationships the account key (`#key-0`) is in: all but `keyAgreement` (it signs).
const ACCOUNT_KEY_RELATIONS: Relations =
    Relations::AUTHENTICATION.with(Relations::ASSERTION_METHOD).with(Relations::CAPABILITY_INVOCATION);

/// The DID Core document of `did`, whose account key is `account_key`, with `data`.
pub fn civitas_document(did: &Did, account_key: &PublicKey, data: &DidDocumentData) -> Value {
    let id = did.to_string();
    let key0 = format!("{id}#{ACCOUNT_KEY_FRAGMENT}");
    let mut methods = vec![method_json(&key0, &id, &KeyMaterial::Ed25519(account_key.0))];
    let mut relations: Vec<Vec<String>> = Relations::NAMES
        .iter()
        .map(|(rel, _)| if ACCOUNT_KEY_RELATIONS.contains(*rel) { vec![key0.clone()] } else { vec![] })
        .collect();
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
    for (i, (rel, name)) in Relations::NAMES.iter().enumerate() {
        // The account key's relationships are always there; `keyAgreement` only when used.
        if ACCOUNT_KEY_RELATIONS.contains(*rel) || !relations[i].is_empty() {
            doc[*name] = json!(relations[i]);
        }
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

/// The key of a `Multikey` (`z` and base58btc of the Ed25519, P-256 or X25519 multicodec, as
/// in `did:key` and `publicKeyMultibase`), checked to be a valid point; why not, otherwise.
/// An X25519 key signs nothing: callers that want a signing key turn it away.
pub fn key_from_multibase(multibase: &str) -> Result<KeyMaterial, &'static str> {
    let encoded = multibase.strip_prefix('z').ok_or("did:key must be base58btc multibase (z...)")?;
    if encoded.len() > 64 {
        return Err("did:key is too long");
    }
    let bytes = bs58::decode(encoded).into_vec().map_err(|_| "did:key is not base58btc")?;
    let key = match bytes.as_slice() {
        [0xed, 0x01, rest @ ..] => rest.try_into().ok().map(KeyMaterial::Ed25519),
        [0x80, 0x24, rest @ ..] => rest.try_into().ok().map(KeyMaterial::P256),
        [0xec, 0x01, rest @ ..] => rest.try_into().ok().map(KeyMaterial::X25519),
        _ => return Err("did:key holds no Ed25519, P-256 or X25519 key"),
    };
    key.filter(KeyMaterial::is_valid).ok_or("did:key holds an invalid key")
}

/// Resolves a `did:key` (Ed25519, P-256 or X25519) locally: the document is derived from the
/// key. A signing key is in every signing relationship; an X25519 key in `keyAgreement` only.
pub fn resolve_did_key(did: &str) -> ResolutionJson {
    let Some(multibase) = did.strip_prefix("did:key:") else {
        return ResolutionJson::failed("invalidDid", "not a did:key");
    };
    let key = match key_from_multibase(multibase) {
        Ok(key) => key,
        Err(why) => return ResolutionJson::failed("invalidDid", why),
    };
    let vm = format!("{did}#{multibase}");
    let method = json!({ "id": vm, "type": "Multikey", "controller": did, "publicKeyMultibase": multibase });
    let mut document = json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [method],
    });
    let relations: &[&str] = if key.is_key_agreement() {
        &["keyAgreement"]
    } else {
        &["authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation"]
    };
    for relation in relations {
        document[*relation] = json!([vm]);
    }
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
        assert!(doc.get("keyAgreement").is_none(), "no key agreement key, no keyAgreement");
    }

    #[test]
    fn x25519_keys_render_as_multikeys_under_key_agreement() {
        let key = SecretKey::from_seed([1; 32]).public_key();
        let did = Did::from_initial_key(&key);
        // pkRm of RFC 9180 A.2.1.
        let x25519 = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
        let seal = json!({"id": "seal", "key_type": "X25519", "public_key": x25519, "relations": ["keyAgreement"]});
        let data: DidDocumentData =
            serde_json::from_value(json!({"methods": [wallet_method(&["assertionMethod"]), seal]})).expect("converts");
        let doc = civitas_document(&did, &key, &data);
        let id = did.to_string();
        let method = &doc["verificationMethod"][2];
        assert_eq!(
            (method["id"].as_str(), method["type"].as_str()),
            (Some(format!("{id}#seal").as_str()), Some("Multikey"))
        );
        let multibase = method["publicKeyMultibase"].as_str().expect("multibase");
        assert!(multibase.starts_with("z6LS"), "{multibase}");
        let bytes = bs58::decode(&multibase[1..]).into_vec().expect("base58btc");
        assert_eq!(hex::encode(&bytes), format!("ec01{x25519}"), "the X25519 multicodec, then the key");
        assert_eq!(doc["keyAgreement"], json!([format!("{id}#seal")]), "and not the account key");
        for signing in ["authentication", "assertionMethod", "capabilityInvocation"] {
            assert!(!doc[signing].as_array().expect("listed").contains(&json!(format!("{id}#seal"))), "{signing}");
        }
        assert_eq!(key_from_multibase(multibase), Ok(KeyMaterial::X25519(bytes[2..].try_into().expect("32"))));
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
    fn did_key_of_an_x25519_key_is_for_key_agreement_only() {
        // The first X25519 test vector of the did:key specification (W3C CCG did-method-key,
        // "X25519" test vectors): the key, and its did:key.
        let key: [u8; 32] = hex::decode("2fe57da347cd62431528daac5fbb290730fff684afc4cfc2ed90995f58cb3b74")
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        let did = "did:key:z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F";
        assert_eq!(format!("did:key:{}", x25519_multibase(&key)), did);
        assert_eq!(key_from_multibase(&did["did:key:".len()..]), Ok(KeyMaterial::X25519(key)));
        let r = resolve_did_key(did);
        assert_eq!(r.error(), None);
        let doc = r.did_document.expect("document");
        let vm = format!("{did}#z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F");
        assert_eq!(doc["keyAgreement"], json!([vm]));
        for signing in ["authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation"] {
            assert!(doc.get(signing).is_none(), "{signing}");
        }
        // Small order (u = 0) and non-canonical (p) keys are refused.
        for bad in [[0u8; 32], {
            let mut p = [0xff; 32];
            (p[0], p[31]) = (0xed, 0x7f);
            p
        }] {
            assert_eq!(resolve_did_key(&format!("did:key:{}", x25519_multibase(&bad))).error(), Some("invalidDid"));
        }
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
