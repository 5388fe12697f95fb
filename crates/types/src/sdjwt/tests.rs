use super::*;

fn issuer_ed() -> SigningKey {
    SigningKey::Ed25519(crate::SecretKey::from_seed([1; 32]))
}

fn issuer_p256() -> SigningKey {
    SigningKey::p256_from_bytes(&[2; 32]).expect("scalar")
}

fn holder() -> SigningKey {
    SigningKey::p256_from_bytes(&[3; 32]).expect("scalar")
}

fn salts() -> impl FnMut() -> [u8; 16] {
    let mut n = 0u8;
    move || {
        n += 1;
        [n; 16]
    }
}

fn permit(holder: Option<VerifyingKey>) -> Credential {
    let mut visible = Map::new();
    visible.insert("iss".into(), json!("did:civitas:1111111111111111111111111111111111111111"));
    visible.insert("vct".into(), json!("https://civitas.example/vct/residence-permit"));
    visible.insert("iat".into(), json!(1_700_000_000u64));
    visible.insert("exp".into(), json!(1_900_000_000u64));
    let mut disclosable = Map::new();
    disclosable.insert("given_name".into(), json!("Li"));
    disclosable.insert("family_name".into(), json!("Wei"));
    disclosable.insert("address".into(), json!({ "street": "1 River Road", "city": "Civitas" }));
    disclosable.insert("permit_number".into(), json!("RP-2026-0042"));
    Credential { visible, disclosable, holder }
}

const NOW: u64 = 1_800_000_000;

fn expect<'a>(kb: Option<(&'a str, &'a str)>) -> Expectations<'a> {
    Expectations { now: NOW, typ: Some(VC_TYP), key_binding: kb, kb_max_age_secs: 300 }
}

fn key_of(k: &SigningKey) -> impl FnOnce(&Map<String, Value>, &Map<String, Value>) -> Result<VerifyingKey, SdJwtError> {
    let vk = k.verifying_key();
    move |_, _| Ok(vk)
}

#[test]
fn issued_credentials_disclose_only_what_the_holder_chooses_with_eddsa_and_es256() {
    for issuer in [issuer_ed(), issuer_p256()] {
        let issuance =
            issue(&issuer, Some("#key-1"), &permit(Some(holder().verifying_key())), salts(), 3).expect("issue");
        let presentation =
            present(&issuance, &["given_name", "permit_number"], Some((&holder(), "did:civitas:verifier", "n-1", NOW)))
                .expect("present");
        let v =
            verify(&presentation, key_of(&issuer), &expect(Some(("did:civitas:verifier", "n-1")))).expect("verifies");
        assert_eq!(v.disclosed, vec!["given_name", "permit_number"]);
        assert_eq!(v.claims["given_name"], "Li");
        assert!(!v.claims.contains_key("family_name") && !v.claims.contains_key("address"));
        assert!(!v.claims.contains_key("_sd") && !v.claims.contains_key("_sd_alg"));
        assert_eq!(v.claims["vct"], "https://civitas.example/vct/residence-permit");
        assert_eq!(v.header["kid"], "#key-1");
        assert_eq!(v.holder, Some(holder().verifying_key()));
        // The issuance itself (all disclosures, no key binding) verifies without one.
        let all = verify(&issuance, key_of(&issuer), &expect(None)).expect("issuance verifies");
        assert_eq!(all.disclosed.len(), 4);
        assert_eq!(all.claims["address"]["city"], "Civitas");
    }
}

#[test]
fn every_tampering_and_mismatch_is_refused_with_its_code() {
    let issuer = issuer_p256();
    let issuance = issue(&issuer, None, &permit(Some(holder().verifying_key())), salts(), 2).expect("issue");
    let kb = Some(("aud-1", "nonce-1"));
    let good = present(&issuance, &["given_name"], Some((&holder(), "aud-1", "nonce-1", NOW))).expect("present");
    assert!(verify(&good, key_of(&issuer), &expect(kb)).is_ok());
    let code = |sd: &str, e: &Expectations<'_>| verify(sd, key_of(&issuer), e).expect_err("refused").code();

    // Another issuer's key, a changed payload byte.
    assert_eq!(verify(&good, key_of(&issuer_ed()), &expect(kb)).expect_err("wrong key").code(), "bad_algorithm");
    assert_eq!(
        verify(&good, key_of(&issuer_p256_other()), &expect(kb)).expect_err("wrong key").code(),
        "bad_issuer_signature"
    );
    let parts = split(&good).expect("split");
    let (h, rest) = parts.jwt.split_once('.').expect("jwt");
    let (p, s) = rest.split_once('.').expect("jwt");
    let mut payload: Value = serde_json::from_slice(&unb64(p, "p").expect("b64")).expect("json");
    payload["exp"] = json!(2_000_000_000u64);
    let forged_jwt = format!("{h}.{}.{s}", b64(payload.to_string().as_bytes()));
    assert_eq!(code(&good.replacen(parts.jwt, &forged_jwt, 1), &expect(kb)), "bad_issuer_signature");
    // A disclosure the issuer never made, or one repeated.
    let extra = Disclosure::new(&[9; 16], "nationality", json!("XX"));
    let unsigned = format!("{}~{}~", parts.jwt, extra.encoded);
    assert_eq!(code(&unsigned, &expect(None)), "unreferenced_disclosure");
    let d = parts.disclosures[0];
    let twice = format!("{}~{d}~{d}~", parts.jwt);
    assert_eq!(code(&twice, &expect(None)), "duplicate_disclosure");
    // Key binding: wrong nonce, wrong audience, stale, missing, a disclosure added after
    // binding, signed by another key.
    assert_eq!(code(&good, &expect(Some(("aud-1", "nonce-2")))), "wrong_nonce");
    assert_eq!(code(&good, &expect(Some(("aud-2", "nonce-1")))), "wrong_audience");
    let stale =
        present(&issuance, &["given_name"], Some((&holder(), "aud-1", "nonce-1", NOW - 3_600))).expect("present");
    assert_eq!(code(&stale, &expect(kb)), "key_binding_time");
    let unbound = present(&issuance, &["given_name"], None).expect("present");
    assert_eq!(code(&unbound, &expect(kb)), "key_binding_missing");
    let kb_jwt = parts.kb_jwt.expect("kb");
    let other = split(&issuance).expect("split").disclosures.into_iter().find(|x| *x != d).expect("another");
    let widened = good.replacen(&format!("~{kb_jwt}"), &format!("~{other}~{kb_jwt}"), 1);
    assert_eq!(code(&widened, &expect(kb)), "bad_sd_hash");
    let thief = SigningKey::p256_from_bytes(&[4; 32]).expect("scalar");
    let stolen = present(&issuance, &["given_name"], Some((&thief, "aud-1", "nonce-1", NOW))).expect("present");
    assert_eq!(code(&stolen, &expect(kb)), "bad_key_binding_signature");
    // Expired; not a VC; malformed inputs.
    let late = Expectations { now: 1_950_000_000, ..expect(None) };
    assert_eq!(code(&unbound, &late), "expired");
    let other_typ = Expectations { typ: Some("example+sd-jwt"), ..expect(None) };
    assert_eq!(code(&unbound, &other_typ), "bad_typ");
    for garbage in ["", "abc", "a.b.c~", "~~", "e30.e30.AA~%%%~", &"x".repeat(PRESENTATION_BYTES_MAX + 1)] {
        assert!(verify(garbage, key_of(&issuer), &expect(None)).is_err(), "{garbage:.20}");
    }
}

fn issuer_p256_other() -> SigningKey {
    SigningKey::p256_from_bytes(&[5; 32]).expect("scalar")
}

#[test]
fn disclosures_cannot_overwrite_visible_claims_or_use_reserved_names() {
    let issuer = issuer_ed();
    let mut credential = permit(None);
    credential.disclosable.insert("iss".into(), json!("did:evil"));
    assert!(issue(&issuer, None, &credential, salts(), 0).is_err(), "iss stays visible");
    // A hand-made SD-JWT whose disclosure names a claim already present.
    let d = Disclosure::new(&[7; 16], "vct", json!("other"));
    let payload = json!({ "vct": "permit", "_sd": [d.digest()], "_sd_alg": "sha-256" });
    let mut header = Map::new();
    header.insert("typ".into(), json!(VC_TYP));
    let jwt = sign_jwt(&issuer, header, &payload);
    let sd = format!("{jwt}~{}~", d.encoded);
    assert_eq!(verify(&sd, key_of(&issuer), &expect(None)).expect_err("collision").code(), "claim_collision");
}

#[test]
fn jwks_round_trip_for_both_curves() {
    for k in [issuer_ed(), issuer_p256()] {
        let vk = k.verifying_key();
        assert_eq!(VerifyingKey::from_jwk(&vk.jwk()).expect("jwk"), vk);
    }
    assert!(VerifyingKey::from_jwk(&json!({ "kty": "RSA", "crv": "x" })).is_err());
    assert!(VerifyingKey::from_jwk(&json!({ "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA" })).is_err());
}
