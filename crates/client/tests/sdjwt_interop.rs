//! SD-JWT interoperability, both ways, with the reference implementation (`sd-jwt` on PyPI,
//! the versions pinned in `sdjwt-interop-requirements.txt`): it issues and presents (with
//! nested and array-element disclosures, decoys and a key binding) and Civitas verifies; Civitas
//! issues and presents (ES256 and EdDSA issuers, an ES256 holder) and it verifies; and a
//! holder's P-256 key taken from its DID document binds credentials either side issues, which
//! the other side presents.
//!
//! The first run makes a Python virtual environment under Cargo's target tmp dir and installs
//! the pinned packages from PyPI; later runs reuse it.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use civitas_client::sdjwt::{self, Credential, Expectations, SigningKey, VerifyingKey};
use serde_json::{Map, Value, json};

const HERE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");

/// The virtual environment's Python, with the reference implementation installed (made once
/// per test run: the tests of this file share it).
fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(make_venv).clone()
}

fn make_venv() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sdjwt-interop-venv");
    let python = venv.join("bin/python");
    let ready =
        |p: &PathBuf| Command::new(p).args(["-c", "import sd_jwt, jwcrypto"]).status().is_ok_and(|s| s.success());
    if !ready(&python) {
        let made = Command::new("python3").args(["-m", "venv"]).arg(&venv).status();
        assert!(made.is_ok_and(|s| s.success()), "python3 -m venv failed: the interop test needs Python 3 with venv");
        let installed = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(format!("{HERE}/sdjwt-interop-requirements.txt"))
            .status();
        assert!(
            installed.is_ok_and(|s| s.success()),
            "installing the SD-JWT reference implementation from PyPI failed"
        );
        assert!(ready(&python), "the reference implementation does not import after installing");
    }
    python
}

fn helper(mode: &str, request: &Value) -> Value {
    let mut child = Command::new(python())
        .arg(format!("{HERE}/sdjwt_interop.py"))
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the helper");
    child.stdin.take().expect("stdin").write_all(request.to_string().as_bytes()).expect("write");
    let out = child.wait_with_output().expect("helper");
    assert!(out.status.success(), "the reference implementation failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("helper JSON")
}

/// A property certificate bound to `holder`: owner, parcel and area selectively disclosable.
fn property_certificate(holder: VerifyingKey) -> Credential {
    let mut visible = Map::new();
    visible.insert("iss".into(), json!("did:civitas:1111111111111111111111111111111111111111"));
    visible.insert("vct".into(), json!("https://civitas.example/vct/property-certificate"));
    visible.insert("exp".into(), json!(now() + 3600));
    let mut disclosable = Map::new();
    disclosable.insert("owner".into(), json!("Li Wei"));
    disclosable.insert("parcel".into(), json!("CV-17-0042"));
    disclosable.insert("area_m2".into(), json!(84));
    Credential { visible, disclosable, holder: Some(holder) }
}

/// Distinct salts, deterministic.
fn salts() -> impl FnMut() -> [u8; 16] {
    let mut n = 0u8;
    move || {
        n += 1;
        [n; 16]
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs()
}

#[test]
fn civitas_verifies_what_the_reference_implementation_issues_and_presents() {
    let (aud, nonce) = ("did:civitas:2222222222222222222222222222222222222222", "n-0S6_WzA2Mj");
    let issued = helper("issue", &json!({ "aud": aud, "nonce": nonce }));
    let issuer = VerifyingKey::from_jwk(&issued["issuer_jwk"]).expect("issuer JWK");
    let presentation = issued["presentation"].as_str().expect("presentation");
    let expect =
        Expectations { now: now(), typ: Some(sdjwt::VC_TYP), key_binding: Some((aud, nonce)), kb_max_age_secs: 300 };
    let v = sdjwt::verify(presentation, |_, _| Ok(issuer.clone()), &expect).expect("Civitas verifies it");
    assert_eq!(v.claims["given_name"], "Li");
    assert!(!v.claims.contains_key("family_name"), "not disclosed");
    assert_eq!(v.claims["address"], json!({ "city": "Civitas", "street": "1 River Road" }));
    assert_eq!(v.claims["nationalities"], json!(["DE", "FR"]), "one array element disclosed, one withheld");
    // And refuses it for another verifier.
    let other = Expectations { key_binding: Some(("did:civitas:other", nonce)), ..expect.clone() };
    let refused = sdjwt::verify(presentation, |_, _| Ok(issuer.clone()), &other).expect_err("refused");
    assert_eq!(refused.code(), "wrong_audience");
}

#[test]
fn the_reference_implementation_verifies_what_civitas_issues_and_presents() {
    let holder = SigningKey::p256_from_bytes(&[7; 32]).expect("scalar");
    let issuers = [
        SigningKey::p256_from_bytes(&[8; 32]).expect("scalar"),
        SigningKey::Ed25519(civitas_types::SecretKey::from_seed([9; 32])),
    ];
    for issuer in issuers {
        let credential = property_certificate(holder.verifying_key());
        let issuance = sdjwt::issue(&issuer, Some("#key-1"), &credential, salts(), 2).expect("issue");
        let (aud, nonce) = ("did:civitas:market-regulation", "nonce-9");
        let presentation =
            sdjwt::present(&issuance, &["owner", "parcel"], Some((&holder, aud, nonce, now()))).expect("present");
        let request = json!({
            "presentation": presentation, "issuer_jwk": issuer.verifying_key().jwk(), "aud": aud, "nonce": nonce
        });
        let verified = helper("verify", &request);
        assert_eq!(verified["owner"], "Li Wei", "{} issuer", issuer.alg());
        assert_eq!(verified["parcel"], "CV-17-0042");
        assert!(verified.get("area_m2").is_none(), "not disclosed");
        assert_eq!(verified["vct"], "https://civitas.example/vct/property-certificate");
    }
}

/// A holder's P-256 key as its DID document lists it (an `authentication` method), found the
/// way `civitas credential issue --holder-key` finds it.
fn holder_from_did_document() -> (SigningKey, VerifyingKey, [u8; 32]) {
    use civitas_client::did::{ResolutionJson, civitas_document};
    use civitas_types::did_doc::DidDocumentData;
    let secret = [11u8; 32];
    let signing = SigningKey::p256_from_bytes(&secret).expect("scalar");
    let public = civitas_types::keyfile::p256_public(&secret).expect("public");
    let account = civitas_types::SecretKey::from_seed([12; 32]).public_key();
    let did = civitas_types::Did::from_initial_key(&account);
    let data: DidDocumentData = serde_json::from_value(json!({ "methods": [{ "id": "wallet", "key_type": "P-256",
        "public_key": hex::encode(public), "relations": ["authentication"] }] }))
    .expect("document");
    let resolution = ResolutionJson::found(civitas_document(&did, &account, &data), json!({}));
    let bound = civitas_client::credential::holder_key(&resolution, &did, "wallet").expect("the wallet key");
    assert_eq!(bound, signing.verifying_key());
    (signing, bound, secret)
}

#[test]
fn a_did_document_p256_key_binds_credentials_either_side_issues_and_the_other_presents() {
    use base64::Engine as _;
    let (holder, bound, secret) = holder_from_did_document();
    let (aud, nonce) = ("did:civitas:2222222222222222222222222222222222222222", "n-wallet");

    // Civitas issues to the DID document's key; the reference implementation, holding that
    // key, presents; Civitas verifies the key binding.
    let issuer = SigningKey::Ed25519(civitas_types::SecretKey::from_seed([13; 32]));
    let credential = property_certificate(bound.clone());
    let issuance = sdjwt::issue(&issuer, Some("#key-0"), &credential, salts(), 1).expect("issue");
    let mut private = bound.jwk();
    private["d"] = json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret));
    let presented = helper(
        "present",
        &json!({ "issuance": issuance, "holder_jwk": private, "disclose": { "parcel": true }, "aud": aud, "nonce": nonce }),
    );
    let presentation = presented["presentation"].as_str().expect("presentation");
    let expect =
        Expectations { now: now(), typ: Some(sdjwt::VC_TYP), key_binding: Some((aud, nonce)), kb_max_age_secs: 300 };
    let issuer_key = issuer.verifying_key();
    let v = sdjwt::verify(presentation, |_, _| Ok(issuer_key.clone()), &expect).expect("Civitas verifies it");
    assert_eq!(v.claims["parcel"], "CV-17-0042");
    assert!(!v.claims.contains_key("owner"), "not disclosed");
    assert_eq!(v.holder.as_ref().map(VerifyingKey::thumbprint), Some(bound.thumbprint()));

    // The reference implementation issues to the same key; Civitas presents with it; the
    // reference implementation verifies.
    let issued = helper("issue_to", &json!({ "holder_jwk": bound.jwk() }));
    let issuance = issued["issuance"].as_str().expect("issuance");
    let presentation = sdjwt::present(issuance, &["given_name"], Some((&holder, aud, nonce, now()))).expect("present");
    let verified = helper(
        "verify",
        &json!({ "presentation": presentation, "issuer_jwk": issued["issuer_jwk"], "aud": aud, "nonce": nonce }),
    );
    assert_eq!(verified["given_name"], "Li");
    assert!(verified.get("family_name").is_none(), "not disclosed");
}
