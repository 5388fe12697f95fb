//! Anchoring a credential an issuer signed with its own software: [`check_issuance`] checks an
//! SD-JWT VC issuance (`<issuer-signed JWT>~<disclosure>~…~`) without trusting it, with the
//! issuer's key that the caller supplies ([`resolve_issuer_key`] finds it in the issuer's DID
//! document through a node, as the node's verifier does), and [`IssuedCredential::anchor_instruction`]
//! makes the `anchor_credential` instruction an official of the issuer signs.
//!
//! The checks are the ones the node's verifier makes before it looks at the chain (the
//! signature with the key the header's `kid` names, `typ`, disclosures, validity), read from
//! the same places (`iss`, `vct` and `status.status_list.idx` from the issuer-signed payload),
//! so that what is anchored is what will verify.

use base64::Engine as _;
use civitas_types::credential::STATUS_LIST_SIZE;
use civitas_types::did_doc::ACCOUNT_KEY_FRAGMENT;
use civitas_types::{CredentialInstruction, Did, Hash};
use serde_json::{Map, Value};

use crate::did::ResolutionJson;
use crate::sdjwt::{self, Expectations, SdJwtError, VerifyingKey};
use crate::{Client, ClientError};

/// Why an issuance cannot be anchored. [`AnchorError::code`] is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    /// The SD-JWT does not parse, or does not verify (signature, `typ`, disclosures, expiry).
    #[error(transparent)]
    SdJwt(#[from] SdJwtError),
    /// A key-binding JWT follows the disclosures: a holder's presentation, not the issuance.
    #[error("a key-binding JWT follows the disclosures: this is a presentation; an issuer anchors the issuance")]
    Presentation,
    /// `iss` is not a `did:civitas` DID.
    #[error("iss `{0}` is not a did:civitas DID")]
    Issuer(String),
    /// The issuer-signed payload has no `status.status_list.idx`.
    #[error("the credential has no status list entry (status.status_list.idx)")]
    NoStatus,
    /// `status.status_list.idx` is not an entry of a status list.
    #[error("status entry {0} is not an integer from 0 to {max}", max = STATUS_LIST_SIZE - 1)]
    StatusIndex(String),
    /// The issuer's DID does not resolve.
    #[error("the issuer {did} does not resolve: {why}")]
    UnknownIssuer {
        /// The issuer.
        did: String,
        /// The resolver's answer.
        why: String,
    },
    /// The issuer's DID is deactivated.
    #[error("the issuer {0} is deactivated")]
    IssuerDeactivated(String),
    /// The key the header's `kid` names is not an assertion method of the issuer.
    #[error("{0}")]
    UnknownIssuerKey(String),
}

impl AnchorError {
    /// A stable, machine-readable code; an SD-JWT failure keeps its own
    /// ([`SdJwtError::code`]), the issuer's key the node verifier's.
    pub fn code(&self) -> &'static str {
        match self {
            AnchorError::SdJwt(e) => e.code(),
            AnchorError::Presentation => "not_an_issuance",
            AnchorError::Issuer(_) => "bad_issuer",
            AnchorError::NoStatus => "no_status",
            AnchorError::StatusIndex(_) => "bad_status_index",
            AnchorError::UnknownIssuer { .. } => "unknown_issuer",
            AnchorError::IssuerDeactivated(_) => "issuer_deactivated",
            AnchorError::UnknownIssuerKey(_) => "unknown_issuer_key",
        }
    }
}

/// An issuance that [`check_issuance`] accepted: what its issuer anchors. Only
/// [`check_issuance`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCredential {
    issuer: Did,
    vct: String,
    commitment: Hash,
    status_index: u32,
}

impl IssuedCredential {
    /// The issuer (`iss`).
    pub fn issuer(&self) -> &Did {
        &self.issuer
    }

    /// The credential type (`vct`).
    pub fn vct(&self) -> &str {
        &self.vct
    }

    /// SHA-256 of the issuer-signed JWT.
    pub fn commitment(&self) -> Hash {
        self.commitment
    }

    /// The status list entry (`status.status_list.idx`).
    pub fn status_index(&self) -> u32 {
        self.status_index
    }

    /// The instruction that anchors it, for an official of the issuer to sign: on the issuer's
    /// own status list, where the verifier looks.
    pub fn anchor_instruction(&self) -> CredentialInstruction {
        CredentialInstruction::AnchorCredential {
            vct: self.vct.clone(),
            commitment: self.commitment,
            status_index: self.status_index,
            by: self.issuer,
        }
    }
}

/// The commitment an issuer anchors for an SD-JWT: SHA-256 of its issuer-signed JWT (the part
/// before the first `~`). Checks nothing.
pub fn commitment(sd_jwt: &str) -> Hash {
    Hash::digest(sd_jwt.split('~').next().unwrap_or_default().as_bytes())
}

/// The issuer-signed JWT's header and payload, decoded but not verified.
struct Unverified<'a> {
    jwt: &'a str,
    header: Map<String, Value>,
    payload: Map<String, Value>,
}

fn read(issuance: &str) -> Result<Unverified<'_>, AnchorError> {
    let parts = sdjwt::split(issuance)?;
    if parts.kb_jwt.is_some() {
        return Err(AnchorError::Presentation);
    }
    let malformed = || AnchorError::SdJwt(SdJwtError::Malformed("issuer JWT"));
    let mut pieces = parts.jwt.split('.');
    let (Some(header), Some(payload), Some(_), None) = (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err(malformed());
    };
    let object = |b64: &str| {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(b64).map_err(|_| malformed())?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(malformed()),
        }
    };
    Ok(Unverified { jwt: parts.jwt, header: object(header)?, payload: object(payload)? })
}

fn issuer_did(payload: &Map<String, Value>) -> Result<Did, AnchorError> {
    let iss = payload.get("iss").and_then(Value::as_str).ok_or(SdJwtError::Malformed("no iss"))?;
    iss.parse().map_err(|_| AnchorError::Issuer(iss.to_owned()))
}

/// Whose key checks an issuance: the `iss` DID and the header's `kid`, read without trusting
/// them (pass them to [`resolve_issuer_key`], then the key to [`check_issuance`]). Surrounding
/// whitespace is ignored.
pub fn issuer_of(issuance: &str) -> Result<(Did, Option<String>), AnchorError> {
    let unverified = read(issuance.trim())?;
    let kid = unverified.header.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok((issuer_did(&unverified.payload)?, kid))
}

/// Checks an issued SD-JWT VC with its issuer's key, at `now` (seconds since the Unix epoch),
/// and returns what to anchor. Refuses a presentation (a key-binding JWT after the
/// disclosures), a `typ` other than `dc+sd-jwt`, a signature that does not verify with
/// `issuer_key`, disclosures that do not match the payload, an expired credential, an `iss`
/// that is not a `did:civitas` DID, and a missing `vct` or status entry. A credential not valid
/// yet (`nbf` after `now`) is accepted: an issuer may anchor ahead. Surrounding whitespace is
/// ignored.
pub fn check_issuance(issuance: &str, issuer_key: &VerifyingKey, now: u64) -> Result<IssuedCredential, AnchorError> {
    let issuance = issuance.trim();
    let unverified = read(issuance)?;
    let nbf = unverified.payload.get("nbf").and_then(Value::as_u64).unwrap_or(0);
    let expect = Expectations { now: now.max(nbf), typ: Some(sdjwt::VC_TYP), key_binding: None, kb_max_age_secs: 0 };
    let key = issuer_key.clone();
    sdjwt::verify(issuance, move |_, _| Ok(key), &expect)?;
    let payload = &unverified.payload;
    let issuer = issuer_did(payload)?;
    let vct = payload.get("vct").and_then(Value::as_str).filter(|v| !v.is_empty());
    let vct = vct.ok_or(SdJwtError::Malformed("no vct"))?.to_owned();
    let idx = payload.get("status").and_then(|s| s.get("status_list")).and_then(|l| l.get("idx"));
    let idx = idx.ok_or(AnchorError::NoStatus)?;
    let status_index = idx
        .as_u64()
        .and_then(|i| u32::try_from(i).ok())
        .filter(|i| *i < STATUS_LIST_SIZE)
        .ok_or_else(|| AnchorError::StatusIndex(idx.to_string()))?;
    Ok(IssuedCredential { issuer, vct, commitment: commitment(unverified.jwt), status_index })
}

/// Why a resolved DID document gives no usable key for a purpose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentKeyError {
    /// The DID does not resolve (or resolved to another DID's document).
    #[error("{did} does not resolve: {why}")]
    Unresolved {
        /// The DID.
        did: String,
        /// The resolver's answer.
        why: String,
    },
    /// The DID is deactivated.
    #[error("{0} is deactivated")]
    Deactivated(String),
    /// The document does not list the method under the relationship asked for.
    #[error("{did} has no {relation} #{fragment}")]
    NotListed {
        /// The DID.
        did: String,
        /// The relationship (`assertionMethod`, `authentication`).
        relation: &'static str,
        /// The method's fragment.
        fragment: String,
    },
    /// The method is listed but not defined, or holds no Ed25519 or P-256 key.
    #[error("{did} has no Ed25519 or P-256 key at #{fragment}")]
    NoKey {
        /// The DID.
        did: String,
        /// The method's fragment.
        fragment: String,
    },
}

impl DocumentKeyError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            DocumentKeyError::Unresolved { .. } => "unknown_did",
            DocumentKeyError::Deactivated(_) => "did_deactivated",
            DocumentKeyError::NotListed { .. } => "not_listed",
            DocumentKeyError::NoKey { .. } => "no_key",
        }
    }
}

/// The key of verification method `fragment` of `did`'s resolved DID document, which must
/// list it under `relation` (`assertionMethod` for an issuer's signing key, `authentication`
/// for a holder's key binding) and not be deactivated.
pub fn document_key(
    resolution: &ResolutionJson,
    did: &Did,
    fragment: &str,
    relation: &'static str,
) -> Result<VerifyingKey, DocumentKeyError> {
    if resolution.document_metadata.get("deactivated").and_then(Value::as_bool) == Some(true) {
        return Err(DocumentKeyError::Deactivated(did.to_string()));
    }
    let unresolved = |why: &str| DocumentKeyError::Unresolved { did: did.to_string(), why: why.to_owned() };
    if let Some(error) = resolution.error() {
        let message = resolution.resolution_metadata.get("errorMessage").and_then(Value::as_str);
        return Err(unresolved(&format!("{error}: {}", message.unwrap_or_default())));
    }
    let document = resolution.did_document.as_ref().ok_or_else(|| unresolved("no document"))?;
    if document.get("id").and_then(Value::as_str) != Some(did.to_string().as_str()) {
        return Err(unresolved("the document is another DID's"));
    }
    let id = format!("{did}#{fragment}");
    let listed = document.get(relation).and_then(Value::as_array);
    if !listed.is_some_and(|l| l.iter().any(|m| m.as_str() == Some(id.as_str()))) {
        return Err(DocumentKeyError::NotListed { did: did.to_string(), relation, fragment: fragment.to_owned() });
    }
    let no_key = || DocumentKeyError::NoKey { did: did.to_string(), fragment: fragment.to_owned() };
    let methods = document.get("verificationMethod").and_then(Value::as_array);
    let method = methods
        .and_then(|ms| ms.iter().find(|m| m.get("id").and_then(Value::as_str) == Some(id.as_str())))
        .ok_or_else(no_key)?;
    let key = match (method.get("publicKeyJwk"), method.get("publicKeyMultibase").and_then(Value::as_str)) {
        (Some(jwk), _) => VerifyingKey::from_jwk(jwk).ok(),
        (None, Some(multibase)) => {
            crate::did::key_from_multibase(multibase).ok().and_then(|k| VerifyingKey::from_key_material(&k))
        }
        (None, None) => None,
    };
    key.ok_or_else(no_key)
}

/// The key of `issuer` that `kid` names, from its resolved DID document, as the node's verifier
/// picks it: the fragment after the last `#` (none: `#key-0`, the account key), which must be
/// an assertion method of a DID that is not deactivated.
pub fn issuer_key(resolution: &ResolutionJson, issuer: &Did, kid: Option<&str>) -> Result<VerifyingKey, AnchorError> {
    let fragment = kid.map_or(ACCOUNT_KEY_FRAGMENT, |k| k.rsplit('#').next().unwrap_or(k));
    document_key(resolution, issuer, fragment, "assertionMethod").map_err(|e| match e {
        DocumentKeyError::Unresolved { did, why } => AnchorError::UnknownIssuer { did, why },
        DocumentKeyError::Deactivated(did) => AnchorError::IssuerDeactivated(did),
        other => AnchorError::UnknownIssuerKey(other.to_string()),
    })
}

/// The key a holder binds its credentials to: verification method `fragment` of its resolved
/// DID document (`key-0`: its account key), an `authentication` method (DID Core: it proves
/// control of the DID), Ed25519 or P-256.
pub fn holder_key(resolution: &ResolutionJson, holder: &Did, fragment: &str) -> Result<VerifyingKey, DocumentKeyError> {
    document_key(resolution, holder, fragment.trim_start_matches('#'), "authentication")
}

/// Resolves `issuer`'s DID through the node and picks the key `kid` names ([`issuer_key`]).
/// The outer error is the node's (unreachable, unexpected answer); the inner one says why the
/// document gives no key.
pub fn resolve_issuer_key(
    client: &Client,
    issuer: &Did,
    kid: Option<&str>,
) -> Result<Result<VerifyingKey, AnchorError>, ClientError> {
    let resolution = client.resolve_did(&issuer.to_string(), None, None)?;
    Ok(issuer_key(&resolution, issuer, kid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::civitas_document;
    use crate::sdjwt::{Credential, SigningKey, issue, present, sign_jwt};
    use civitas_types::SecretKey;
    use civitas_types::did_doc::DidDocumentData;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;
    const VCT: &str = "https://civitas.example/vct/property-certificate";

    fn org_key() -> SecretKey {
        SecretKey::from_seed([5; 32])
    }

    fn org() -> Did {
        Did::from_initial_key(&org_key().public_key())
    }

    fn p256_key() -> SigningKey {
        SigningKey::p256_from_bytes(&[6; 32]).expect("scalar")
    }

    fn holder() -> SigningKey {
        SigningKey::Ed25519(SecretKey::from_seed([7; 32]))
    }

    fn salts() -> impl FnMut() -> [u8; 16] {
        let mut n = 0u8;
        move || {
            n = n.wrapping_add(1);
            [n; 16]
        }
    }

    /// A property certificate from `org()` at status entry `idx`, with `change` applied to its
    /// always-visible claims.
    fn certificate(idx: Value, change: impl FnOnce(&mut Map<String, Value>)) -> Credential {
        let mut visible = Map::new();
        visible.insert("iss".into(), json!(org().to_string()));
        visible.insert("vct".into(), json!(VCT));
        visible.insert("iat".into(), json!(NOW - 10));
        visible.insert("exp".into(), json!(NOW + 86_400));
        visible.insert("status".into(), json!({ "status_list": { "idx": idx, "uri": "https://node/status" } }));
        change(&mut visible);
        let mut disclosable = Map::new();
        disclosable.insert("owner".into(), json!("Alice Li"));
        disclosable.insert("parcel".into(), json!("CV-17-0042"));
        Credential { visible, disclosable, holder: Some(holder().verifying_key()) }
    }

    fn issued(key: &SigningKey, credential: &Credential) -> String {
        issue(key, Some("#key-0"), credential, salts(), 2).expect("issue")
    }

    #[test]
    fn credentials_issued_elsewhere_give_the_commitment_index_and_type_to_anchor() {
        for key in [SigningKey::Ed25519(org_key()), p256_key()] {
            let issuance = issued(&key, &certificate(json!(42), |_| {}));
            let jwt = issuance.split('~').next().expect("a JWT");
            assert_eq!(issuer_of(&issuance), Ok((org(), Some("#key-0".into()))));
            let checked = check_issuance(&format!("{issuance}\n"), &key.verifying_key(), NOW).expect("accepted");
            assert_eq!((checked.issuer(), checked.vct(), checked.status_index()), (&org(), VCT, 42));
            // As `civitas credential issue` computes it, and as the verifier compares it.
            assert_eq!(checked.commitment(), Hash::digest(jwt.as_bytes()));
            assert_eq!(checked.commitment(), Hash(sdjwt::inspect(&issuance).expect("inspect").commitment));
            assert_eq!(commitment(&issuance), checked.commitment());
            assert_eq!(
                checked.anchor_instruction(),
                CredentialInstruction::AnchorCredential {
                    vct: VCT.into(),
                    commitment: Hash::digest(jwt.as_bytes()),
                    status_index: 42,
                    by: org(),
                }
            );
        }
        // The last entry of the list; a credential valid only from tomorrow may be anchored today.
        let last = certificate(json!(STATUS_LIST_SIZE - 1), |v| {
            v.insert("nbf".into(), json!(NOW + 3600));
        });
        let key = SigningKey::Ed25519(org_key());
        let checked = check_issuance(&issued(&key, &last), &key.verifying_key(), NOW).expect("accepted");
        assert_eq!(checked.status_index(), STATUS_LIST_SIZE - 1);
    }

    #[test]
    fn bad_issuances_are_refused_with_their_code() {
        let key = SigningKey::Ed25519(org_key());
        let good = issued(&key, &certificate(json!(1), |_| {}));
        let check = |issuance: &str, expected: &str| {
            let e = check_issuance(issuance, &key.verifying_key(), NOW).expect_err(issuance);
            assert_eq!(e.code(), expected, "{issuance}: {e}");
        };
        let with = |change: fn(&mut Map<String, Value>)| issued(&key, &certificate(json!(1), change));

        // A signature changed in its middle, or made by another key.
        let jwt_len = good.find('~').expect("~");
        let mut tampered = good.clone().into_bytes();
        let at = jwt_len - 20;
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        check(&String::from_utf8(tampered).expect("ascii"), "bad_issuer_signature");
        check(&issued(&p256_key(), &certificate(json!(1), |_| {})), "bad_algorithm");
        let other = SigningKey::Ed25519(SecretKey::from_seed([9; 32]));
        check(&issued(&other, &certificate(json!(1), |_| {})), "bad_issuer_signature");
        // The status entry: missing, beyond the list, not a number.
        check(
            &with(|v| {
                v.remove("status");
            }),
            "no_status",
        );
        check(
            &with(|v| {
                v.insert("status".into(), json!({ "status_list": { "uri": "x" } }));
            }),
            "no_status",
        );
        for idx in [json!(STATUS_LIST_SIZE), json!(u64::MAX), json!(-1), json!("7"), json!(1.5)] {
            check(&issued(&key, &certificate(idx, |_| {})), "bad_status_index");
        }
        // A presentation with a key binding is the holder's, not the issuance.
        let presentation = present(&good, &["owner"], Some((&holder(), "did:civitas:v", "n", NOW))).expect("present");
        check(&presentation, "not_an_issuance");
        // The issuer must be a did:civitas DID; iss and vct must be there.
        check(
            &with(|v| {
                v.insert("iss".into(), json!("did:web:housing.example"));
            }),
            "bad_issuer",
        );
        let web = with(|v| {
            v.insert("iss".into(), json!("did:web:x"));
        });
        assert_eq!(issuer_of(&web).map_err(|e| e.code()), Err("bad_issuer"));
        check(
            &with(|v| {
                v.remove("iss");
            }),
            "malformed_sd_jwt",
        );
        check(
            &with(|v| {
                v.remove("vct");
            }),
            "malformed_sd_jwt",
        );
        check(
            &with(|v| {
                v.insert("exp".into(), json!(NOW));
            }),
            "expired",
        );
        // Not an SD-JWT VC, a stray disclosure, garbage.
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        let payload = json!({ "iss": org().to_string(), "vct": VCT, "status": { "status_list": { "idx": 1 } } });
        check(&format!("{}~", sign_jwt(&key, header, &payload)), "bad_typ");
        let stray = crate::sdjwt::Disclosure::new(&[1; 16], "extra", json!(1)).encoded;
        check(&format!("{good}{stray}~"), "unreferenced_disclosure");
        for garbage in ["", "garbage", "~", "a.b.c~", "e30.e30.e30~", "~~~", "\u{0}~\u{ff}~"] {
            check(garbage, "malformed_sd_jwt");
            assert!(issuer_of(garbage).is_err(), "{garbage:?}");
        }
        check(&"a".repeat(sdjwt::PRESENTATION_BYTES_MAX + 1), "sd_jwt_too_large");
    }

    #[test]
    fn a_holder_binds_its_account_key_or_an_authentication_key_of_its_document() {
        let SigningKey::P256(k) = p256_key() else { panic!("a P-256 key") };
        let compressed = hex::encode(k.verifying_key().to_sec1_point(true).as_bytes());
        let data: DidDocumentData = serde_json::from_value(json!({ "methods": [
            { "id": "wallet", "key_type": "P-256", "public_key": compressed, "relations": ["authentication"] },
            { "id": "signing", "key_type": "P-256", "public_key": compressed, "relations": ["assertionMethod"] },
        ]}))
        .expect("document");
        let found = ResolutionJson::found(civitas_document(&org(), &org_key().public_key(), &data), json!({}));
        assert_eq!(holder_key(&found, &org(), "wallet"), Ok(p256_key().verifying_key()));
        assert_eq!(holder_key(&found, &org(), "#wallet"), Ok(p256_key().verifying_key()));
        assert_eq!(holder_key(&found, &org(), "key-0"), Ok(SigningKey::Ed25519(org_key()).verifying_key()));
        assert_eq!(holder_key(&found, &org(), "signing").map_err(|e| e.code()), Err("not_listed"));
        assert_eq!(holder_key(&found, &org(), "none").map_err(|e| e.code()), Err("not_listed"));
        let other = Did::from_initial_key(&SecretKey::from_seed([8; 32]).public_key());
        assert_eq!(holder_key(&found, &other, "wallet").map_err(|e| e.code()), Err("unknown_did"));
    }

    #[test]
    fn the_issuer_key_comes_from_its_assertion_methods_as_the_verifier_picks_it() {
        let SigningKey::P256(k) = p256_key() else { panic!("a P-256 key") };
        let p256_compressed = k.verifying_key().to_sec1_point(true);
        let data: DidDocumentData = serde_json::from_value(json!({ "methods": [
            { "id": "vc", "key_type": "P-256", "public_key": hex::encode(p256_compressed.as_bytes()),
              "relations": ["assertionMethod"] },
            { "id": "login", "key_type": "P-256", "public_key": hex::encode(p256_compressed.as_bytes()),
              "relations": ["authentication"] },
        ]}))
        .expect("document");
        let found = ResolutionJson::found(civitas_document(&org(), &org_key().public_key(), &data), json!({}));
        let key = |kid: Option<&str>| issuer_key(&found, &org(), kid);
        let account = SigningKey::Ed25519(org_key()).verifying_key();
        assert_eq!(key(None), Ok(account.clone()));
        assert_eq!(key(Some("#key-0")), Ok(account));
        assert_eq!(key(Some("#vc")), Ok(p256_key().verifying_key()));
        assert_eq!(key(Some(&format!("{}#vc", org()))), Ok(p256_key().verifying_key()));
        for kid in ["#login", "#nope", "vc-2"] {
            assert_eq!(key(Some(kid)).map_err(|e| e.code()), Err("unknown_issuer_key"), "{kid}");
        }
        // The key found checks a credential the issuer signed with it.
        let issuance = issue(&p256_key(), Some("#vc"), &certificate(json!(3), |_| {}), salts(), 0).expect("issue");
        let (issuer, kid) = issuer_of(&issuance).expect("issuer");
        let vk = issuer_key(&found, &issuer, kid.as_deref()).expect("key");
        assert_eq!(check_issuance(&issuance, &vk, NOW).map(|c| c.status_index()), Ok(3));

        let other = Did::from_initial_key(&SecretKey::from_seed([8; 32]).public_key());
        let refused = |r: &ResolutionJson, did: &Did| issuer_key(r, did, None).map_err(|e| e.code());
        assert_eq!(refused(&found, &other), Err("unknown_issuer"));
        assert_eq!(refused(&ResolutionJson::failed("notFound", "no such DID"), &org()), Err("unknown_issuer"));
        let mut gone = found.clone();
        gone.document_metadata = json!({ "deactivated": true });
        assert_eq!(refused(&gone, &org()), Err("issuer_deactivated"));
        let mut broken = found.clone();
        if let Some(doc) = broken.did_document.as_mut() {
            doc["verificationMethod"][0]["publicKeyMultibase"] = json!("z6MkNotAKey");
        }
        assert_eq!(refused(&broken, &org()), Err("unknown_issuer_key"));
    }
}
