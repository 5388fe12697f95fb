//! Writes the seed corpora: `cargo run -p civitas-fuzz --example corpus` (from anywhere in the
//! workspace) replaces every `corpus/<target>/seed-*` with small real inputs made by the real
//! encoders (valid against the fixed genesis of `civitas_fuzz::fixtures`), plus a few truncated
//! or altered ones. Files that fuzzing found (`afl-*`) are left alone. The output is
//! deterministic: rerunning it changes nothing unless an encoding changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use civitas_client::claims::account::AccountClaim;
use civitas_client::claims::transaction::TransactionClaim;
use civitas_client::did::{ResolutionJson, civitas_document, ed25519_multibase, resolve_did_key};
use civitas_client::light::testing::certificate;
use civitas_client::sdjwt::{self, Credential, SigningKey, status_list};
use civitas_client::wire::{
    ClaimJson, CredentialVerifyRequest, ProofJson, ValidatorChangeJson, encode_batch, encode_raw_block, path_json,
};
use civitas_consensus::fuzzing::{SyncMessage, encode_relay_message, encode_sync_message};
use civitas_fuzz::fixtures::{
    AUDIENCE, CHAIN_ID, NONCE, NOW_SECS, STATUS_LIST_URI, holder, issuer_did, issuer_ed25519, issuer_p256, subject_did,
    validator_keys, validator_secrets,
};
use civitas_node::genesis::{Genesis, GenesisAccountJson, GenesisCouncilJson, GenesisOrgJson, GenesisValidator};
use civitas_state::{Store, Writes};
use civitas_types::account::{Account, account_key};
use civitas_types::codec::Encode;
use civitas_types::did_doc::{DidDocumentData, KeyMaterial, Relations, Service, VerificationMethod};
use civitas_types::validators::{VALIDATORS_KEY, Validator, ValidatorSet};
use civitas_types::{
    AccountInstruction, Block, BlockHeader, CredentialInstruction, Did, DidInstruction, Hash, Instruction, SecretKey,
    SignedTransaction, Transaction, TransactionJson, TxOutcome, TxReceipt,
};
use serde_json::{Value, json};

/// The largest seed file allowed.
const SEED_BYTES_MAX: usize = 64 * 1024;

/// One target's seeds, by name.
type Seeds = BTreeMap<String, Vec<u8>>;

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let all: Vec<(&str, Seeds)> = vec![
        ("transaction", transaction_seeds()),
        ("block", block_seeds()),
        ("tx_batch", tx_batch_seeds()),
        ("p2p_relay", p2p_relay_seeds()),
        ("proof_document", proof_document_seeds()?),
        ("sd_jwt", sd_jwt_seeds()?),
        ("jws", jws_seeds()),
        ("did_document", did_document_seeds()),
        ("request_json", request_json_seeds()?),
        ("genesis", genesis_seeds()),
        ("device_certificate", device_certificate_seeds()),
    ];
    for (target, seeds) in all {
        anyhow::ensure!(civitas_fuzz::target(target).is_some(), "`{target}` is not a target");
        write_seeds(&root.join(target), &seeds)?;
        println!("{target}: {} seeds", seeds.len());
    }
    Ok(())
}

/// Replaces the `seed-*` files of `dir` with `seeds`.
fn write_seeds(dir: &Path, seeds: &Seeds) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("seed-")) {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    for (name, bytes) in seeds {
        anyhow::ensure!(bytes.len() <= SEED_BYTES_MAX, "seed {name} is {} bytes", bytes.len());
        let path = dir.join(format!("seed-{name}"));
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Adds `bytes` as `name`, and altered copies: cut in half, and with its middle byte flipped.
fn with_variants(seeds: &mut Seeds, name: &str, bytes: Vec<u8>) {
    seeds.insert(format!("{name}-truncated"), bytes[..bytes.len() / 2].to_vec());
    let mut flipped = bytes.clone();
    if let Some(b) = flipped.get_mut(bytes.len() / 2) {
        *b ^= 0x01;
    }
    seeds.insert(format!("{name}-flipped"), flipped);
    seeds.insert(name.to_owned(), bytes);
}

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed([seed; 32])
}

fn did_of(seed: u8) -> Did {
    Did::from_initial_key(&key(seed).public_key())
}

/// A DID document using every kind of part.
fn document() -> DidDocumentData {
    let p256 = civitas_types::keyfile::p256_public(&[4; 32]).expect("[4; 32] is a valid P-256 scalar");
    DidDocumentData {
        controllers: vec![did_of(7)],
        methods: vec![
            VerificationMethod {
                fragment: "wallet".into(),
                key: KeyMaterial::Ed25519(key(6).public_key().0),
                relations: Relations::AUTHENTICATION.with(Relations::ASSERTION_METHOD),
            },
            VerificationMethod {
                fragment: "seal".into(),
                key: KeyMaterial::P256(p256),
                relations: Relations::CAPABILITY_INVOCATION,
            },
            VerificationMethod {
                fragment: "box".into(),
                key: KeyMaterial::X25519(civitas_types::keyfile::x25519_public(&[5; 32])),
                relations: Relations::KEY_AGREEMENT,
            },
        ],
        services: vec![Service {
            fragment: "site".into(),
            kind: "LinkedDomains".into(),
            endpoint: "https://city.example".into(),
        }],
        recovery_key_hash: Some(Hash::digest(&key(8).public_key().0)),
    }
}

/// Signed transactions of several modules, for the fixed chain.
fn transactions() -> Vec<(&'static str, SignedTransaction)> {
    let tx = |seed: u8, nonce: u64, instructions: Vec<Instruction>| {
        Transaction {
            chain_id: CHAIN_ID.into(),
            signer: key(seed).public_key(),
            nonce,
            valid_until_height: 100,
            instructions,
        }
        .sign(&key(seed))
    };
    let new_key = key(11);
    vec![
        ("register", tx(5, 0, vec![AccountInstruction::RegisterAccount.into()])),
        (
            "transfer-mint",
            tx(
                5,
                1,
                vec![
                    AccountInstruction::Transfer { to: did_of(6), amount: 1_000 }.into(),
                    AccountInstruction::Mint { to: did_of(5), amount: u128::MAX }.into(),
                ],
            ),
        ),
        (
            "rotate-key",
            tx(
                5,
                2,
                vec![
                    AccountInstruction::RotateKey { new_key: new_key.public_key(), proof: new_key.sign(b"rotation") }
                        .into(),
                ],
            ),
        ),
        ("update-did", tx(6, 0, vec![DidInstruction::UpdateDid { did: did_of(6), document: document() }.into()])),
        ("deactivate-did", tx(6, 1, vec![DidInstruction::DeactivateDid { did: did_of(6) }.into()])),
        (
            "anchor-credential",
            tx(
                1,
                0,
                vec![
                    CredentialInstruction::AnchorCredential {
                        vct: "https://civitas.example/vct/residence-permit".into(),
                        commitment: Hash([7; 32]),
                        status_index: 3,
                        by: issuer_did(),
                    }
                    .into(),
                ],
            ),
        ),
        (
            "other-chain",
            Transaction {
                chain_id: "elsewhere".into(),
                signer: key(5).public_key(),
                nonce: 0,
                valid_until_height: 1,
                instructions: vec![AccountInstruction::RegisterAccount.into()],
            }
            .sign(&key(5)),
        ),
    ]
}

fn transaction_seeds() -> Seeds {
    let mut seeds = Seeds::new();
    for (name, tx) in transactions() {
        seeds.insert(name.to_owned(), tx.encode());
    }
    let (_, transfer) = &transactions()[1];
    with_variants(&mut seeds, "transfer-mint", transfer.encode());
    seeds
}

/// A header at `height` over `txs` and `receipts`, with `state_root`.
fn header(height: u64, txs: &[SignedTransaction], receipts: &[TxReceipt], state_root: Hash) -> BlockHeader {
    let hashes: Vec<Hash> = txs.iter().map(|t| Hash::digest(&t.encode())).collect();
    BlockHeader {
        height,
        parent_hash: Hash([1; 32]),
        timestamp_ms: NOW_SECS * 1000,
        proposer: validator_keys()[0],
        tx_count: u32::try_from(txs.len()).expect("a few transactions"),
        tx_root: Block::tx_root(&hashes),
        results_root: TxReceipt::results_root(receipts),
        state_root,
    }
}

/// A block of three transactions (the last failed) with its receipts.
fn block_of_three() -> (Block, Vec<TxReceipt>) {
    let txs: Vec<SignedTransaction> = transactions().into_iter().take(3).map(|(_, t)| t).collect();
    let receipts: Vec<TxReceipt> = txs
        .iter()
        .enumerate()
        .map(|(i, t)| TxReceipt {
            tx_hash: Hash::digest(&t.encode()),
            outcome: if i < 2 {
                TxOutcome::Success
            } else {
                TxOutcome::Failed { code: "bad_proof".into(), message: "the new key's proof does not verify".into() }
            },
        })
        .collect();
    let block = Block { header: header(5, &txs, &receipts, Hash([3; 32])), transactions: txs };
    (block, receipts)
}

/// A finalization certificate of `header` by three of the four fixed validators.
fn certify(header: &BlockHeader) -> Vec<u8> {
    certificate(&validator_secrets(), &[0, 1, 2], &header.hash()).expect("3 of 4 is a quorum")
}

fn block_seeds() -> Seeds {
    let mut seeds = Seeds::new();
    let (block, receipts) = block_of_three();
    let empty = Block { header: header(0, &[], &[], Hash([2; 32])), transactions: vec![] };
    seeds.insert("empty-block".into(), empty.encode());
    seeds.insert("header".into(), block.header.encode());
    seeds.insert("receipt-success".into(), receipts[0].encode());
    seeds.insert("receipt-failed".into(), receipts[2].encode());
    seeds.insert("raw-block".into(), encode_raw_block(&block, &certify(&block.header)));
    seeds.insert("raw-block-uncertified".into(), encode_raw_block(&empty, &[]));
    with_variants(&mut seeds, "block", block.encode());
    seeds
}

fn tx_batch_seeds() -> Seeds {
    let txs: Vec<SignedTransaction> = transactions().into_iter().map(|(_, t)| t).collect();
    let mut seeds = Seeds::new();
    seeds.insert("empty".into(), encode_batch(&[]));
    seeds.insert("one".into(), encode_batch(&txs[..1]));
    let mut broken = encode_batch(&txs[..2]);
    // The second transaction's signature: that frame alone fails to verify.
    if let Some(b) = broken.last_mut() {
        *b ^= 0x01;
    }
    seeds.insert("bad-signature".into(), broken);
    with_variants(&mut seeds, "all", encode_batch(&txs));
    seeds
}

fn p2p_relay_seeds() -> Seeds {
    let txs: Vec<SignedTransaction> = transactions().into_iter().map(|(_, t)| t).collect();
    let (block, _) = block_of_three();
    let mut seeds = Seeds::new();
    seeds.insert("relay-empty".into(), encode_relay_message(&[]));
    seeds.insert("relay-two".into(), encode_relay_message(&txs[..2]));
    seeds.insert("sync-request".into(), encode_sync_message(&SyncMessage::Request(5)));
    seeds.insert("sync-not-held".into(), encode_sync_message(&SyncMessage::Response(5, 9, None)));
    let held = SyncMessage::Response(5, 9, Some((block.encode(), certify(&block.header))));
    seeds.insert("sync-block".into(), encode_sync_message(&held));
    with_variants(&mut seeds, "relay-all", encode_relay_message(&txs));
    seeds
}

/// A store whose only version holds `writes`, and its root. The directory must outlive it.
fn store_with(dir: &Path, writes: Writes) -> anyhow::Result<(Store, Hash)> {
    let store = Store::open(dir)?;
    let update = store.prepare(writes, 0)?;
    let root = update.root();
    let genesis = Block { header: header(0, &[], &[], root), transactions: vec![] };
    store.commit_genesis(&genesis, &update, Hash::digest(b"genesis"))?;
    Ok((store, root))
}

/// The next validator set, from keys other than the genesis ones.
fn next_secrets() -> Vec<SecretKey> {
    (0..4u8).map(|i| key(200 + i)).collect()
}

fn proof_document_seeds() -> anyhow::Result<Seeds> {
    let dir = tempfile::tempdir()?;
    let alice = did_of(5);
    let account = Account { did: alice, public_key: key(5).public_key(), nonce: 3, balance: 10_000, roles: vec![] };
    let next = ValidatorSet {
        epoch: 1,
        from_height: 4,
        validators: next_secrets()
            .iter()
            .enumerate()
            .map(|(i, k)| Validator {
                key: k.public_key(),
                address: format!("10.0.0.{i}:9000"),
                name: format!("department-{i}"),
            })
            .collect(),
    };
    let mut writes = Writes::new();
    writes.insert(account_key(&alice), Some(account.encode()));
    writes.insert(VALIDATORS_KEY.to_vec(), Some(next.encode()));
    for i in 0..20u8 {
        writes.insert(account_key(&did_of(50 + i)), Some(vec![i; 8]));
    }
    let (store, root) = store_with(dir.path(), writes)?;
    let (block, receipts) = block_of_three();
    let head = header(5, &block.transactions, &receipts, root);
    let cert = certify(&head);
    let account_doc = |did: &Did| -> anyhow::Result<ProofJson> {
        let state_key = account_key(did);
        let (value, proof) = store.prove(&state_key, 0)?;
        Ok(ProofJson::for_account(CHAIN_ID, did, &head, &cert, &state_key, value.as_deref(), &proof))
    };
    let present = account_doc(&alice)?;
    let absent = account_doc(&did_of(99))?;
    let tx_doc = |index: usize| {
        let hashes: Vec<Hash> = block.transactions.iter().map(|t| Hash::digest(&t.encode())).collect();
        let tx_leaves: Vec<Hash> = hashes.iter().map(|h| civitas_types::merkle::leaf(&h.0)).collect();
        let receipt_leaves: Vec<Hash> = receipts.iter().map(|r| civitas_types::merkle::leaf(&r.encode())).collect();
        let claim = ClaimJson::Transaction(TransactionClaim {
            tx_hash: hashes[index].to_hex(),
            tx_path: path_json(&civitas_types::merkle::proof(&tx_leaves, index).expect("index in range")),
            receipt: hex::encode(receipts[index].encode()),
            receipt_path: path_json(&civitas_types::merkle::proof(&receipt_leaves, index).expect("index in range")),
        });
        ProofJson::new(CHAIN_ID, &head, &cert, claim)
    };
    // A block finalized by the next set, reached from genesis through one change at height 3.
    let boundary = header(3, &[], &[], root);
    let (set, set_proof) = store.prove(VALIDATORS_KEY, 0)?;
    let set = set.context("the set was written")?;
    let change = ValidatorChangeJson::new(&boundary, &certify(&boundary), &set, &set_proof);
    let later = header(6, &[], &[], root);
    let later_cert = certificate(&next_secrets(), &[1, 2, 3], &later.hash()).context("3 of 4 is a quorum")?;
    let alice_key = account_key(&alice);
    let (value, proof) = store.prove(&alice_key, 0)?;
    let changed = ProofJson::for_account(CHAIN_ID, &alice, &later, &later_cert, &alice_key, value.as_deref(), &proof)
        .with_changes(vec![change]);
    let mut seeds = Seeds::new();
    let mut add = |name: &str, doc: &ProofJson| -> anyhow::Result<()> {
        let proven = civitas_client::light::verify_proof(doc, CHAIN_ID, validator_keys());
        anyhow::ensure!(proven.is_ok() || name.starts_with("bad-"), "seed {name} does not verify: {proven:?}");
        seeds.insert(format!("{name}.json"), serde_json::to_vec_pretty(doc)?);
        Ok(())
    };
    add("account-present", &present)?;
    add("account-absent", &absent)?;
    add("transaction-success", &tx_doc(0))?;
    add("transaction-failed", &tx_doc(2))?;
    add("validator-change", &changed)?;
    add("bad-version", &ProofJson { version: 2, ..present.clone() })?;
    add("bad-chain", &ProofJson { chain_id: "elsewhere".into(), ..present.clone() })?;
    let ClaimJson::Account(claim) = &present.claim else { anyhow::bail!("an account claim") };
    let tampered = AccountClaim { did: absent_did_string(), ..claim.clone() };
    add("bad-subject", &ProofJson { claim: ClaimJson::Account(tampered), ..present.clone() })?;
    let text = serde_json::to_vec(&present)?;
    seeds.insert("bad-truncated.json".into(), text[..text.len() / 2].to_vec());
    Ok(seeds)
}

fn absent_did_string() -> String {
    did_of(99).to_string()
}

/// A residence permit with four disclosable claims, bound to [`holder`].
fn permit() -> Credential {
    let mut visible = serde_json::Map::new();
    visible.insert("iss".into(), json!(issuer_did().to_string()));
    visible.insert("vct".into(), json!("https://civitas.example/vct/residence-permit"));
    visible.insert("iat".into(), json!(NOW_SECS - 1000));
    visible.insert("exp".into(), json!(NOW_SECS + 1_000_000));
    visible.insert("status".into(), json!({ "status_list": { "idx": 3, "uri": STATUS_LIST_URI } }));
    let mut disclosable = serde_json::Map::new();
    disclosable.insert("given_name".into(), json!("Li"));
    disclosable.insert("family_name".into(), json!("Wei"));
    disclosable.insert("address".into(), json!({ "street": "1 River Road", "city": "Civitas" }));
    disclosable.insert("permit_number".into(), json!("RP-2026-0042"));
    Credential { visible, disclosable, holder: Some(holder().verifying_key()) }
}

/// Deterministic salts.
fn salts() -> impl FnMut() -> [u8; 16] {
    let mut n = 0u8;
    move || {
        n = n.wrapping_add(1);
        [n; 16]
    }
}

/// An issuance by `issuer` and a presentation of two claims bound to the fixed audience.
fn issued(issuer: &SigningKey) -> anyhow::Result<(String, String)> {
    let issuance = sdjwt::issue(issuer, Some("#key-0"), &permit(), salts(), 2)?;
    let presentation =
        sdjwt::present(&issuance, &["given_name", "address"], Some((&holder(), AUDIENCE, NONCE, NOW_SECS)))?;
    // As the node's verifier checks it, so that the seed reaches past every check.
    let expect = sdjwt::Expectations {
        now: NOW_SECS,
        typ: Some(sdjwt::VC_TYP),
        key_binding: Some((AUDIENCE, NONCE)),
        kb_max_age_secs: civitas_fuzz::fixtures::KB_MAX_AGE_SECS,
    };
    let key = issuer.verifying_key();
    sdjwt::verify(&presentation, move |_, _| Ok(key), &expect)?;
    Ok((issuance, presentation))
}

fn sd_jwt_seeds() -> anyhow::Result<Seeds> {
    let mut seeds = Seeds::new();
    let (issuance, presentation) = issued(&issuer_ed25519())?;
    seeds.insert("eddsa-issuance".into(), issuance.clone().into_bytes());
    seeds.insert("eddsa-presentation".into(), presentation.into_bytes());
    let (issuance_p256, presentation_p256) = issued(&issuer_p256())?;
    seeds.insert("es256-issuance".into(), issuance_p256.into_bytes());
    let unbound = sdjwt::present(&issuance, &["permit_number"], None)?;
    seeds.insert("eddsa-unbound".into(), unbound.into_bytes());
    with_variants(&mut seeds, "es256-presentation", presentation_p256.into_bytes());
    Ok(seeds)
}

fn jws_seeds() -> Seeds {
    let entries: Vec<u8> = (0..1024u32).map(|i| if i % 7 == 0 { 0b0110_0001 } else { 0 }).collect();
    let mut seeds = Seeds::new();
    let ed = status_list::token(&issuer_ed25519(), Some("#key-0"), STATUS_LIST_URI, &entries, NOW_SECS, 3600);
    seeds.insert("status-token-eddsa".into(), ed.into_bytes());
    let other = status_list::token(&issuer_p256(), None, "https://elsewhere", &entries, NOW_SECS, 3600);
    seeds.insert("status-token-other-list".into(), other.into_bytes());
    seeds.insert("status-list-object.json".into(), status_list::encode(&entries).to_string().into_bytes());
    let jwt = sdjwt::sign_jwt(&issuer_ed25519(), serde_json::Map::new(), &json!({ "iss": "x", "vct": "y" }));
    seeds.insert("plain-jwt".into(), jwt.into_bytes());
    let es = status_list::token(&issuer_p256(), None, STATUS_LIST_URI, &entries[..4], NOW_SECS, 60);
    with_variants(&mut seeds, "status-token-es256", es.into_bytes());
    seeds
}

fn did_document_seeds() -> Seeds {
    let mut seeds = Seeds::new();
    let doc = document();
    let json_doc = serde_json::to_vec_pretty(&doc).expect("a document serializes");
    seeds.insert("empty-document.json".into(), b"{}".to_vec());
    let subject = subject_did();
    let account = key(9).public_key();
    let resolution = ResolutionJson::found(
        civitas_document(&subject, &account, &doc),
        json!({ "created": "2026-11-24T12:00:00Z", "versionId": "3", "deactivated": false }),
    );
    seeds.insert("resolution.json".into(), serde_json::to_vec_pretty(&resolution).expect("serializes"));
    let failed = ResolutionJson::failed("notFound", "no such DID");
    seeds.insert("resolution-failed.json".into(), serde_json::to_vec(&failed).expect("serializes"));
    let did_key = format!("did:key:{}", ed25519_multibase(&key(6).public_key().0));
    let key_resolution = resolve_did_key(&did_key);
    seeds.insert("resolution-did-key.json".into(), serde_json::to_vec(&key_resolution).expect("serializes"));
    seeds.insert("did-key".into(), did_key.into_bytes());
    seeds.insert("did-civitas".into(), subject.to_string().into_bytes());
    with_variants(&mut seeds, "document.json", json_doc);
    seeds
}

fn request_json_seeds() -> anyhow::Result<Seeds> {
    let mut seeds = Seeds::new();
    for (name, tx) in transactions().into_iter().take(4) {
        let json = serde_json::to_vec_pretty(&TransactionJson::from_signed(&tx))?;
        seeds.insert(format!("transaction-{name}.json"), json);
    }
    let (_, presentation) = issued(&issuer_p256())?;
    let request = CredentialVerifyRequest {
        presentation,
        aud: AUDIENCE.into(),
        nonce: NONCE.into(),
        purpose: "tenancy check".into(),
        consent: Some(7),
    };
    let text = serde_json::to_vec_pretty(&request)?;
    with_variants(&mut seeds, "credential-verify.json", text);
    let (_, tx) = &transactions()[1];
    let mut bad = serde_json::to_value(TransactionJson::from_signed(tx))?;
    bad["instructions"][0]["amount"] = Value::from(1000);
    seeds.insert("transaction-number-amount.json".into(), serde_json::to_vec(&bad)?);
    Ok(seeds)
}

/// A genesis with four validators, a finance bureau and a council of two departments.
fn full_genesis() -> Genesis {
    let validators = validator_keys()
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let address = format!("10.0.0.{}:9000", i + 1).parse().expect("an IP:port");
            GenesisValidator::new(format!("department-{i}"), k, Some(address))
        })
        .collect();
    let department = |name: &str, seed: u8, functions: &[&str]| {
        let mut a = GenesisAccountJson::new(name, &key(seed).public_key(), 0);
        a.organization = Some(GenesisOrgJson {
            kind: "department".into(),
            functions: functions.iter().map(|f| (*f).to_owned()).collect(),
        });
        a
    };
    let mut finance = GenesisAccountJson::new("finance", &key(20).public_key(), 1_000_000);
    finance.roles = vec!["finance".into()];
    Genesis {
        chain_id: CHAIN_ID.into(),
        genesis_time_ms: NOW_SECS * 1000,
        validators,
        accounts: vec![
            finance,
            GenesisAccountJson::new("alice", &key(5).public_key(), 10_000),
            department("tax-office", 21, &["tax"]),
            department("market-office", 22, &["market_regulation"]),
        ],
        council: Some(GenesisCouncilJson { members: vec!["tax-office".into(), "market-office".into()], threshold: 2 }),
    }
}

fn genesis_seeds() -> Seeds {
    let mut seeds = Seeds::new();
    let full = full_genesis();
    let minimal =
        Genesis { validators: full.validators[..1].to_vec(), accounts: vec![], council: None, ..full.clone() };
    seeds.insert("minimal.json".into(), minimal.to_json().into_bytes());
    let mut twice = full.clone();
    twice.validators.push(full.validators[0].clone());
    seeds.insert("validator-twice.json".into(), twice.to_json().into_bytes());
    with_variants(&mut seeds, "full.json", full.to_json().into_bytes());
    seeds
}

fn device_certificate_seeds() -> Seeds {
    let testdata = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../types/src/device/testdata");
    let mut seeds = Seeds::new();
    for level in ["paa", "pai"] {
        let der = std::fs::read(testdata.join(format!("matter-spec-{level}.der"))).expect("the example chain is there");
        seeds.insert(format!("matter-{level}.der"), der);
    }
    let dac = std::fs::read(testdata.join("matter-spec-dac.der")).expect("the example chain is there");
    with_variants(&mut seeds, "matter-dac.der", dac);
    seeds
}
