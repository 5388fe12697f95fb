use civitas_types::did_doc::{DidDocumentData, KeyMaterial, Relations, Service, VerificationMethod};
use civitas_types::{AccountInstruction, DidInstruction};
use civitas_types::{Hash, Instruction};

use super::query;
use crate::tests::{did, failed_code, harness, key, tx, tx_with};

fn document(controllers: Vec<u8>) -> DidDocumentData {
    DidDocumentData {
        controllers: controllers.into_iter().map(did).collect(),
        methods: vec![VerificationMethod {
            fragment: "signing".into(),
            key: KeyMaterial::Ed25519(key(20).public_key().0),
            relations: Relations::ASSERTION_METHOD,
        }],
        services: vec![Service {
            fragment: "site".into(),
            kind: "LinkedDomains".into(),
            endpoint: "https://a.example".into(),
        }],
        recovery_key_hash: Some(Hash::digest(&key(8).public_key().0)),
    }
}

/// `doc` with an X25519 key agreement method (`#seal`) after its others.
fn with_key_agreement(mut doc: DidDocumentData) -> DidDocumentData {
    doc.methods.push(VerificationMethod {
        fragment: "seal".into(),
        // The base point (u = 9): a valid X25519 public key.
        key: KeyMaterial::X25519(std::array::from_fn(|i| if i == 0 { 9 } else { 0 })),
        relations: Relations::KEY_AGREEMENT,
    });
    doc
}

fn update(target: u8, doc: DidDocumentData) -> Instruction {
    Instruction::Dids(DidInstruction::UpdateDid { did: did(target), document: doc })
}

#[test]
fn genesis_and_registered_dids_start_at_version_one() {
    let mut h = harness();
    let meta = query::meta(&h.store, &did(2)).expect("read").expect("genesis DID has metadata");
    assert_eq!((meta.created_height, meta.version, meta.deactivated), (0, 1, false));
    assert_eq!(
        failed_code(&h.run(tx_with(6, 0, 100, vec![Instruction::Accounts(AccountInstruction::RegisterAccount)]))),
        None
    );
    let meta = query::meta(&h.store, &did(6)).expect("read").expect("metadata");
    assert_eq!((meta.created_height, meta.created_ms, meta.version), (1, 1001, 1));
    assert_eq!(query::version_height(&h.store, &did(6), 1).expect("read"), Some(1));
}

#[test]
fn a_did_updates_its_document_and_each_change_is_a_version() {
    let mut h = harness();
    assert_eq!(failed_code(&h.run(tx(&h, 2, vec![update(2, document(vec![3]))]))), None);
    assert_eq!(query::document(&h.store, &did(2)).expect("read"), document(vec![3]));
    // The controller (3) may update it too; the version goes up each time.
    assert_eq!(failed_code(&h.run(tx(&h, 3, vec![update(2, document(vec![3, 1]))]))), None);
    let meta = query::meta(&h.store, &did(2)).expect("read").expect("meta");
    assert_eq!((meta.version, meta.updated_height), (3, 2));
    assert_eq!(query::version_height(&h.store, &did(2), 2).expect("read"), Some(1));
    // A key rotation is a new version of the document too.
    let new = key(21);
    let proof = new.sign(&AccountInstruction::rotation_message(&did(2), &new.public_key()));
    assert_eq!(
        failed_code(&h.run(tx(
            &h,
            2,
            vec![Instruction::Accounts(AccountInstruction::RotateKey { new_key: new.public_key(), proof })]
        ))),
        None
    );
    assert_eq!(query::meta(&h.store, &did(2)).expect("read").expect("meta").version, 4);
}

#[test]
fn a_did_publishes_a_key_agreement_key() {
    let mut h = harness();
    let doc = with_key_agreement(document(vec![]));
    assert_eq!(failed_code(&h.run(tx(&h, 2, vec![update(2, doc.clone())]))), None);
    let stored = query::document(&h.store, &did(2)).expect("read");
    assert_eq!(stored, doc);
    assert!(stored.method("seal", Relations::KEY_AGREEMENT).is_some_and(|m| m.key.is_key_agreement()));
    assert_eq!(stored.method("seal", Relations::AUTHENTICATION), None, "it authenticates nothing");
}

#[test]
fn bad_updates_fail_with_clear_codes_and_change_nothing() {
    let mut h = harness();
    let before = query::meta(&h.store, &did(2)).expect("read");
    let mut bad_key = document(vec![]);
    bad_key.methods[0].key = KeyMaterial::P256([5; 33]);
    let mut self_controller = document(vec![]);
    self_controller.controllers = vec![did(2)];
    let mut x25519_signing = with_key_agreement(document(vec![]));
    x25519_signing.methods[1].relations = Relations::KEY_AGREEMENT.with(Relations::AUTHENTICATION);
    let mut ed25519_key_agreement = document(vec![]);
    ed25519_key_agreement.methods[0].relations = Relations::KEY_AGREEMENT;
    let mut small_order = with_key_agreement(document(vec![]));
    small_order.methods[1].key = KeyMaterial::X25519([0; 32]);
    let cases: Vec<(u8, Instruction, &str)> = vec![
        (3, update(2, document(vec![])), "not_controller"),
        (2, update(9, document(vec![])), "unknown_did"),
        (2, update(2, bad_key), "bad_document"),
        (2, update(2, self_controller), "bad_document"),
        (2, update(2, x25519_signing), "x25519_outside_key_agreement"),
        (2, update(2, ed25519_key_agreement), "key_agreement_not_x25519"),
        (2, update(2, small_order), "bad_document"),
        (2, update(2, document(vec![9])), "unknown_did"),
        (3, Instruction::Dids(DidInstruction::DeactivateDid { did: did(2) }), "not_controller"),
    ];
    for (signer, instruction, code) in cases {
        assert_eq!(failed_code(&h.run(tx(&h, signer, vec![instruction]))), Some(code), "{code}");
    }
    assert_eq!(query::meta(&h.store, &did(2)).expect("read"), before);
    assert_eq!(query::document(&h.store, &did(2)).expect("read"), DidDocumentData::default());
}

#[test]
fn a_deactivated_did_can_no_longer_act_or_change() {
    let mut h = harness();
    assert_eq!(failed_code(&h.run(tx(&h, 2, vec![update(2, document(vec![3]))]))), None);
    assert_eq!(
        failed_code(&h.run(tx(&h, 3, vec![Instruction::Dids(DidInstruction::DeactivateDid { did: did(2) })]))),
        None
    );
    let meta = query::meta(&h.store, &did(2)).expect("read").expect("meta");
    assert!(meta.deactivated);
    let nonce = h.nonce(2);
    let transfer = Instruction::Accounts(AccountInstruction::Transfer { to: did(3), amount: 1 });
    assert_eq!(failed_code(&h.run(tx(&h, 2, vec![transfer]))), Some("did_deactivated"));
    assert_eq!(h.nonce(2), nonce, "a deactivated DID's transaction does not run");
    assert_eq!(failed_code(&h.run(tx(&h, 3, vec![update(2, document(vec![]))]))), Some("did_deactivated"));
}

#[test]
fn a_recovery_key_moves_the_did_to_a_new_key_once() {
    let mut h = harness();
    assert_eq!(failed_code(&h.run(tx(&h, 2, vec![update(2, document(vec![]))]))), None);
    let nonce = h.nonce(2);
    let recover = |recovery: u8, new: u8| {
        Instruction::Dids(DidInstruction::RecoverDid {
            did: did(2),
            recovery_key: key(recovery).public_key(),
            proof: key(recovery).sign(&DidInstruction::recovery_message(&did(2), &key(new).public_key())),
        })
    };
    // A wrong recovery key fails and, signed by a stranger's key, consumes no nonce.
    assert_eq!(failed_code(&h.run(tx_with(7, nonce, 100, vec![recover(9, 7)]))), Some("bad_recovery_key"));
    // A proof made for another new key does not verify.
    assert_eq!(failed_code(&h.run(tx_with(7, nonce, 100, vec![recover(8, 6)]))), Some("bad_recovery_proof"));
    assert_eq!(h.nonce(2), nonce);
    // The real one: key 7 now signs for DID 2.
    assert_eq!(failed_code(&h.run(tx_with(7, nonce, 100, vec![recover(8, 7)]))), None);
    let account = h.account(2).expect("account");
    assert_eq!((account.public_key, account.nonce), (key(7).public_key(), nonce + 1));
    assert_eq!(query::document(&h.store, &did(2)).expect("read").recovery_key_hash, None, "spent");
    // The old key no longer signs; the recovery key cannot be used again.
    let ping = Instruction::Accounts(AccountInstruction::Transfer { to: did(3), amount: 1 });
    assert_eq!(failed_code(&h.run(tx_with(2, nonce + 1, 100, vec![ping]))), Some("unknown_signer"));
    assert_eq!(failed_code(&h.run(tx_with(5, nonce + 1, 100, vec![recover(8, 5)]))), Some("bad_recovery_key"));
    let transfer = Instruction::Accounts(AccountInstruction::Transfer { to: did(3), amount: 1 });
    assert_eq!(failed_code(&h.run(tx_with(7, nonce + 1, 100, vec![transfer]))), None);
    // Recovery must come first.
    let second = vec![Instruction::Accounts(AccountInstruction::Transfer { to: did(3), amount: 1 }), recover(8, 7)];
    assert_eq!(failed_code(&h.run(tx_with(7, nonce + 2, 100, second))), Some("must_be_first"));
}
