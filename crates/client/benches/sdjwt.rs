//! SD-JWT VC presentations verified per second on one core: issuer signature, four
//! disclosures (two disclosed), key binding (nonce, audience, `sd_hash`), for EdDSA and ES256
//! issuers and holders. `cargo bench -p civitas-client --bench sdjwt`; presentations per second
//! per core is 1 / the reported time. (The status-list check is not measured yet: status
//! lists are not on the chain yet.)

use civitas_client::sdjwt::{self, Credential, Expectations, SigningKey};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, json};

const NOW: u64 = 1_800_000_000;

fn presentation(issuer: &SigningKey, holder: &SigningKey) -> String {
    let mut visible = Map::new();
    visible.insert("iss".into(), json!("did:civitas:1111111111111111111111111111111111111111"));
    visible.insert("vct".into(), json!("https://civitas.example/vct/residence-permit"));
    visible.insert("exp".into(), json!(NOW + 3600));
    let mut disclosable = Map::new();
    for (name, value) in [("given_name", "Li"), ("family_name", "Wei"), ("permit_number", "RP-1"), ("city", "Civitas")]
    {
        disclosable.insert(name.into(), json!(value));
    }
    let credential = Credential { visible, disclosable, holder: Some(holder.verifying_key()) };
    let mut n = 0u8;
    let issuance = sdjwt::issue(
        issuer,
        Some("#key-1"),
        &credential,
        || {
            n += 1;
            [n; 16]
        },
        2,
    )
    .expect("issue");
    sdjwt::present(&issuance, &["given_name", "permit_number"], Some((holder, "aud", "nonce", NOW))).expect("present")
}

fn bench(c: &mut Criterion) {
    let expect =
        Expectations { now: NOW, typ: Some(sdjwt::VC_TYP), key_binding: Some(("aud", "nonce")), kb_max_age_secs: 300 };
    let keys = [
        (
            "eddsa",
            SigningKey::Ed25519(civitas_types::SecretKey::from_seed([1; 32])),
            SigningKey::Ed25519(civitas_types::SecretKey::from_seed([2; 32])),
        ),
        (
            "es256",
            SigningKey::p256_from_bytes(&[1; 32]).expect("scalar"),
            SigningKey::p256_from_bytes(&[2; 32]).expect("scalar"),
        ),
    ];
    for (name, issuer, holder) in keys {
        let p = presentation(&issuer, &holder);
        let key = issuer.verifying_key();
        c.bench_function(&format!("verify_presentation_{name}"), |b| {
            b.iter(|| sdjwt::verify(&p, |_, _| Ok(key.clone()), &expect).expect("verifies"))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
