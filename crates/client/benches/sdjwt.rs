//! SD-JWT VC presentations verified per second on one core: issuer signature, four
//! disclosures (two disclosed), key binding (nonce, audience, `sd_hash`), for EdDSA and ES256
//! issuers and holders; and the same with the status check a verifier makes offline: the
//! issuer's status-list chunk proven against a finalized state root (a JMT proof in a state of
//! 100 000 keys) and the entry read from it. `cargo bench -p civitas-client --bench sdjwt`;
//! presentations per second per core is 1 / the reported time.

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

/// A status-list chunk (entry 7 suspended) in a state of 100 000 other keys, with its proof.
fn status_fixture() -> (tempfile::TempDir, civitas_types::Hash, Vec<u8>, Vec<u8>, Vec<u8>) {
    use civitas_types::credential::{CredentialStatus, set_in_chunk, status_chunk_key};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = civitas_state::Store::open(dir.path()).expect("open");
    let issuer = civitas_types::Did::from_initial_key(&civitas_types::PublicKey([1; 32]));
    let key = status_chunk_key(&issuer, 7);
    let chunk = set_in_chunk(None, 7, CredentialStatus::Suspended);
    let mut writes: civitas_state::Writes =
        (0..100_000u64).map(|i| (i.to_be_bytes().to_vec(), Some(vec![1; 48]))).collect();
    writes.insert(key.clone(), Some(chunk.clone()));
    let update = store.prepare(writes, 0).expect("prepare");
    let root = update.root();
    let block = civitas_types::Block {
        header: civitas_types::BlockHeader {
            height: 0,
            parent_hash: civitas_types::GENESIS_PARENT,
            timestamp_ms: 0,
            proposer: civitas_types::PublicKey([0; 32]),
            tx_count: 0,
            tx_root: civitas_types::Block::tx_root(&[]),
            results_root: civitas_types::TxReceipt::results_root(&[]),
            state_root: root,
        },
        transactions: vec![],
    };
    store.commit_genesis(&block, &update, civitas_types::Hash([0; 32])).expect("commit");
    let (_, proof) = store.prove(&key, 0).expect("prove");
    (dir, root, key, chunk, proof)
}

fn bench(c: &mut Criterion) {
    let (_dir, root, status_key, chunk, proof) = status_fixture();
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
        c.bench_function(&format!("verify_presentation_{name}_with_status"), |b| {
            b.iter(|| {
                let v = sdjwt::verify(&p, |_, _| Ok(key.clone()), &expect).expect("verifies");
                civitas_client::light::verify_state(&proof, &root, &status_key, Some(&chunk)).expect("proven");
                let status = civitas_types::credential::status_in_chunk(Some(&chunk), 7).expect("status");
                (v, status)
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
