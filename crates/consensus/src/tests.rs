//! The solo engine end to end, in process: simplex finalizes, the committer commits, and a
//! restart resumes from the last committed block in a new epoch.

use civitas_types::AccountInstruction;
use std::sync::Arc;
use std::time::{Duration, Instant};

use civitas_node::consensus::Application;
use civitas_node::{Node, NodeConfig, TxStatus, dev};
use civitas_types::{Did, Instruction, Transaction};

use crate::{EngineConfig, run_solo};

fn config(dir: &std::path::Path) -> EngineConfig {
    EngineConfig {
        journal_dir: dir.join("consensus"),
        block_interval: Duration::from_millis(5),
        empty_block_interval: Duration::from_millis(100),
        worker_threads: 2,
    }
}

/// Runs the engine until `done` says so (or 30 s pass), polling every few milliseconds.
fn run_until(node: &Arc<Node>, dir: &std::path::Path, done: impl Fn(&Node) -> bool + Send + 'static) {
    let key = node.validator_key().expect("a validator").clone();
    let watched = node.clone();
    run_solo(node.clone(), &key, config(dir), move || async move {
        let start = Instant::now();
        while !done(&watched) && start.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .expect("engine runs and stops cleanly");
}

#[test]
fn simplex_finalizes_submitted_transactions_and_resumes_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = dev::prepare(dir.path(), false, &[]).expect("dev chain");
    let alice = dev::read_key(&dir.path().join("keys/alice.key")).expect("key");
    let bob = dev::read_key(&dir.path().join("keys/bob.key")).expect("key");
    let bob = Did::from_initial_key(&bob.public_key());
    let transfer = |nonce: u64| {
        Transaction {
            chain_id: chain.genesis.chain_id.clone(),
            signer: alice.public_key(),
            nonce,
            valid_until_height: 1_000,
            instructions: vec![Instruction::Accounts(AccountInstruction::Transfer { to: bob, amount: 10 })],
        }
        .sign(&alice)
    };

    let node = Arc::new(
        Node::open(dir.path(), chain.genesis.clone(), chain.validator.clone(), NodeConfig::default()).expect("open"),
    );
    let hash = node.submit(vec![transfer(0)]).remove(0).expect("admitted");
    run_until(&node, dir.path(), move |n| matches!(n.tx_status(&hash), Ok(TxStatus::Committed { .. })));
    assert!(matches!(node.tx_status(&hash).expect("status"), TxStatus::Committed { .. }));
    assert_eq!(node.account(&bob).expect("read").map(|a| a.balance), Some(5_010));
    let before = node.latest();
    drop(node);

    // A second run over the same data directory: a new epoch from the last committed block.
    let node = Arc::new(
        Node::open(dir.path(), chain.genesis.clone(), chain.validator.clone(), NodeConfig::default()).expect("reopen"),
    );
    assert_eq!(node.latest(), before);
    let hash = node.submit(vec![transfer(1)]).remove(0).expect("admitted");
    run_until(&node, dir.path(), move |n| matches!(n.tx_status(&hash), Ok(TxStatus::Committed { .. })));
    assert_eq!(node.account(&bob).expect("read").map(|a| a.balance), Some(5_020));
    let after = node.latest();
    assert!(after.height > before.height);
    let block = node.block(before.height + 1).expect("read").expect("block").0;
    assert_eq!(block.header.parent_hash, before.block_hash, "the chain continues from where it stopped");
}

#[test]
fn an_idle_chain_makes_empty_blocks_that_move_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = dev::prepare(dir.path(), false, &[]).expect("dev chain");
    let node = Arc::new(Node::open(dir.path(), chain.genesis, chain.validator, NodeConfig::default()).expect("open"));
    let genesis_time = node.latest().timestamp_ms;
    run_until(&node, dir.path(), |n| n.latest().height >= 2);
    let latest = node.latest();
    assert!(latest.height >= 2);
    assert!(latest.timestamp_ms > genesis_time);
    assert_eq!(node.block(1).expect("read").expect("block").0.transactions.len(), 0);
}

#[test]
fn stored_certificates_prove_finality_to_a_light_client() {
    use civitas_client::light::{LightError, verify_finalization};
    use civitas_types::{Hash, SecretKey};

    let dir = tempfile::tempdir().expect("tempdir");
    let chain = dev::prepare(dir.path(), false, &[]).expect("dev chain");
    let validators = chain.genesis.validator_keys().expect("keys");
    let node = Arc::new(Node::open(dir.path(), chain.genesis, chain.validator, NodeConfig::default()).expect("open"));
    run_until(&node, dir.path(), |n| n.latest().height >= 1);
    assert_eq!(node.certificate(0).expect("read"), None, "genesis is final by definition");
    let certificate = node.certificate(1).expect("read").expect("block 1 has its certificate");
    let block_hash = node.block(1).expect("read").expect("block").0.header.hash();

    let finality = verify_finalization(&certificate, &validators, &block_hash).expect("valid certificate");
    assert_eq!(finality.block_hash, block_hash);
    assert_eq!(finality.epoch, 0, "the first run's epoch is the genesis height");

    // Another block, a foreign validator set, and every single-byte change are refused.
    assert!(matches!(
        verify_finalization(&certificate, &validators, &Hash([7; 32])),
        Err(LightError::WrongBlock { .. })
    ));
    let foreign = vec![SecretKey::from_seed([9; 32]).public_key()];
    assert!(verify_finalization(&certificate, &foreign, &block_hash).is_err());
    for i in 0..certificate.len() {
        let mut tampered = certificate.clone();
        tampered[i] ^= 0x01;
        assert!(verify_finalization(&tampered, &validators, &block_hash).is_err(), "byte {i} changed yet accepted");
    }
    assert!(matches!(verify_finalization(&certificate[..10], &validators, &block_hash), Err(LightError::Malformed(_))));
}

/// Flips one bit of the `i`th byte of a hex string.
fn flip(hex_str: &str, i: usize) -> String {
    let mut bytes = hex::decode(hex_str).expect("hex");
    bytes[i] ^= 0x01;
    hex::encode(bytes)
}

#[test]
fn account_proofs_verify_offline_and_every_tampering_is_refused() {
    use civitas_client::claims::account::AccountFact;
    use civitas_client::light::{Fact, ProofError, verify_proof};
    use civitas_client::wire::{ClaimJson, ProofJson};
    use civitas_types::SecretKey;
    use civitas_types::account::account_key;

    let dir = tempfile::tempdir().expect("tempdir");
    let chain = dev::prepare(dir.path(), false, &[]).expect("dev chain");
    let chain_id = chain.genesis.chain_id.clone();
    let validators = chain.genesis.validator_keys().expect("keys");
    let alice = Did::from_initial_key(&dev::read_key(&dir.path().join("keys/alice.key")).expect("key").public_key());
    let node = Arc::new(Node::open(dir.path(), chain.genesis, chain.validator, NodeConfig::default()).expect("open"));
    run_until(&node, dir.path(), |n| n.latest().height >= 2);
    let prove = |did: &Did| {
        let p = node.prove(&account_key(did)).expect("prove").expect("a finalized block");
        ProofJson::for_account(&chain_id, did, &p.header, &p.certificate, &p.key, p.value.as_deref(), &p.proof)
    };
    let doc = prove(&alice);
    let proven = verify_proof(&doc, &chain_id, &validators).expect("valid proof");
    assert!(matches!(proven.fact, Fact::Account(AccountFact { account: Some(ref a), .. }) if a.balance == 10_000));
    let nobody = Did::from_initial_key(&SecretKey::from_seed([5; 32]).public_key());
    let absent = verify_proof(&prove(&nobody), &chain_id, &validators).expect("absence is provable");
    assert!(matches!(absent.fact, Fact::Account(AccountFact { account: None, .. })));

    let ClaimJson::Account(civitas_client::claims::account::AccountClaim { did, state_key, value, state_proof }) =
        doc.claim.clone()
    else {
        panic!("an account claim")
    };
    let with = |value: Option<String>, state_proof: String, did: String| ProofJson {
        claim: ClaimJson::Account(civitas_client::claims::account::AccountClaim {
            did,
            state_key: state_key.clone(),
            value,
            state_proof,
        }),
        ..doc.clone()
    };
    // Any single-byte change to the value, the state proof, the header or the certificate.
    let v = value.clone().expect("present");
    for i in 0..v.len() / 2 {
        let t = with(Some(flip(&v, i)), state_proof.clone(), did.clone());
        assert!(verify_proof(&t, &chain_id, &validators).is_err(), "value byte {i}");
    }
    for i in 0..state_proof.len() / 2 {
        let t = with(value.clone(), flip(&state_proof, i), did.clone());
        assert!(verify_proof(&t, &chain_id, &validators).is_err(), "proof byte {i}");
    }
    for i in 0..doc.header.len() / 2 {
        let t = ProofJson { header: flip(&doc.header, i), ..doc.clone() };
        assert!(verify_proof(&t, &chain_id, &validators).is_err(), "header byte {i}");
    }
    for i in 0..doc.certificate.len() / 2 {
        let t = ProofJson { certificate: flip(&doc.certificate, i), ..doc.clone() };
        assert!(verify_proof(&t, &chain_id, &validators).is_err(), "certificate byte {i}");
    }

    let check = |t: ProofJson, chain: &str, vals: &[civitas_types::PublicKey], ok: fn(&ProofError) -> bool| {
        let err = verify_proof(&t, chain, vals).expect_err("refused");
        assert!(ok(&err), "unexpected error: {err}");
    };
    // A header (with its certificate) from another height.
    let block1 = node.block(1).expect("read").expect("block").0;
    let cert1 = node.certificate(1).expect("read").expect("cert");
    let other = ProofJson {
        height: 1,
        header: hex::encode(civitas_types::codec::Encode::encode(&block1.header)),
        certificate: hex::encode(cert1),
        ..doc.clone()
    };
    check(other, &chain_id, &validators, |e| matches!(e, ProofError::State(_)));
    // A certificate of foreign validators, and a wrong genesis.
    let foreign = [SecretKey::from_seed([8; 32]).public_key()];
    check(doc.clone(), &chain_id, &foreign, |e| matches!(e, ProofError::Finality(_)));
    check(doc.clone(), "civitas-elsewhere", &validators, |e| matches!(e, ProofError::Chain { .. }));
    // Absence claimed for a present key; another subject; an unknown version.
    check(with(None, state_proof.clone(), did.clone()), &chain_id, &validators, |e| matches!(e, ProofError::State(_)));
    check(with(value.clone(), state_proof.clone(), nobody.to_string()), &chain_id, &validators, |e| {
        matches!(e, ProofError::WrongKey(_))
    });
    check(ProofJson { version: 2, ..doc }, &chain_id, &validators, |e| matches!(e, ProofError::Version(2)));
}

#[test]
fn transaction_inclusion_proofs_verify_with_their_receipts() {
    use civitas_client::claims::transaction::TransactionFact;
    use civitas_client::light::{Fact, ProofError, verify_proof};
    use civitas_client::wire::{ClaimJson, ProofJson, path_json};
    use civitas_types::codec::Encode as _;

    let dir = tempfile::tempdir().expect("tempdir");
    let chain = dev::prepare(dir.path(), false, &[]).expect("dev chain");
    let chain_id = chain.genesis.chain_id.clone();
    let validators = chain.genesis.validator_keys().expect("keys");
    let alice = dev::read_key(&dir.path().join("keys/alice.key")).expect("key");
    let bob = Did::from_initial_key(&dev::read_key(&dir.path().join("keys/bob.key")).expect("key").public_key());
    let node = Arc::new(Node::open(dir.path(), chain.genesis, chain.validator, NodeConfig::default()).expect("open"));
    // Five transfers in one block, the last an overdraft: its failure is proven too.
    let txs: Vec<_> = (0..5u64)
        .map(|n| {
            let amount = if n == 4 { 1_000_000 } else { 1 };
            Transaction {
                chain_id: chain_id.clone(),
                signer: alice.public_key(),
                nonce: n,
                valid_until_height: 100,
                instructions: vec![Instruction::Accounts(AccountInstruction::Transfer { to: bob, amount })],
            }
            .sign(&alice)
        })
        .collect();
    let hashes: Vec<_> = node.submit(txs).into_iter().map(|r| r.expect("admitted")).collect();
    let last = hashes[4];
    run_until(&node, dir.path(), move |n| matches!(n.tx_status(&last), Ok(TxStatus::Committed { .. })));
    let doc_for = |h: &civitas_types::Hash| {
        let p = node.prove_tx(h).expect("prove").expect("committed");
        let claim = ClaimJson::Transaction(civitas_client::claims::transaction::TransactionClaim {
            tx_hash: h.to_hex(),
            tx_path: path_json(&p.tx_path),
            receipt: hex::encode(p.receipt.encode()),
            receipt_path: path_json(&p.receipt_path),
        });
        ProofJson::new(&chain_id, &p.header, &p.certificate, claim)
    };
    for (i, h) in hashes.iter().enumerate() {
        let proven = verify_proof(&doc_for(h), &chain_id, &validators).expect("valid inclusion proof");
        let Fact::Transaction(TransactionFact { receipt }) = proven.fact else { panic!("a transaction fact") };
        assert_eq!(receipt.tx_hash, *h);
        assert_eq!(matches!(receipt.outcome, civitas_types::TxOutcome::Success), i < 4);
    }
    // Another transaction's receipt, a tampered receipt, a path from another position.
    let a = doc_for(&hashes[0]);
    let b = doc_for(&hashes[1]);
    let (
        ClaimJson::Transaction(civitas_client::claims::transaction::TransactionClaim {
            tx_hash,
            tx_path,
            receipt,
            receipt_path,
        }),
        ClaimJson::Transaction(civitas_client::claims::transaction::TransactionClaim {
            receipt: other_receipt,
            tx_path: other_path,
            ..
        }),
    ) = (a.claim.clone(), b.claim.clone())
    else {
        panic!("transaction claims")
    };
    let with = |receipt: String, tx_path, receipt_path| ProofJson {
        claim: ClaimJson::Transaction(civitas_client::claims::transaction::TransactionClaim {
            tx_hash: tx_hash.clone(),
            tx_path,
            receipt,
            receipt_path,
        }),
        ..a.clone()
    };
    let err = verify_proof(&with(other_receipt, tx_path.clone(), receipt_path.clone()), &chain_id, &validators);
    assert!(matches!(err, Err(ProofError::WrongReceipt { .. })), "{err:?}");
    for i in 32..receipt.len() / 2 {
        let t = with(flip(&receipt, i), tx_path.clone(), receipt_path.clone());
        assert!(verify_proof(&t, &chain_id, &validators).is_err(), "receipt byte {i}");
    }
    let err = verify_proof(&with(receipt.clone(), other_path, receipt_path.clone()), &chain_id, &validators);
    assert!(matches!(err, Err(ProofError::Path("tx"))), "{err:?}");
    assert!(node.prove_tx(&civitas_types::Hash([9; 32])).expect("read").is_none());
}

/// An application whose store fails on the first commit.
struct FailingCommit(Node);

impl Application for FailingCommit {
    fn latest(&self) -> civitas_node::Committed {
        self.0.latest()
    }
    fn has_pending(&self, pending: &[&civitas_node::Executed]) -> bool {
        self.0.has_pending(pending)
    }
    fn propose(&self, timestamp_ms: u64) -> Result<civitas_node::Executed, civitas_node::NodeError> {
        self.0.propose(timestamp_ms)
    }
    fn verify(&self, block: civitas_types::Block) -> Result<civitas_node::Executed, civitas_node::BlockError> {
        self.0.verify(block)
    }
    fn committed_block(&self, height: u64) -> Result<Option<(civitas_types::Block, Vec<u8>)>, civitas_node::NodeError> {
        self.0.committed_block(height)
    }
    fn validators(&self) -> Result<civitas_types::validators::ValidatorSet, civitas_node::NodeError> {
        self.0.validators()
    }
    fn propose_on(
        &self,
        pending: &[&civitas_node::Executed],
        timestamp_ms: u64,
    ) -> Result<civitas_node::Executed, civitas_node::NodeError> {
        self.0.propose_on(pending, timestamp_ms)
    }
    fn verify_on(
        &self,
        pending: &[&civitas_node::Executed],
        block: civitas_types::Block,
    ) -> Result<civitas_node::Executed, civitas_node::BlockError> {
        self.0.verify_on(pending, block)
    }
    fn finalized(
        &self,
        _executed: &civitas_node::Executed,
        _certificate: &[u8],
    ) -> Result<civitas_node::Committed, civitas_node::NodeError> {
        Err(civitas_node::NodeError::Io { path: "chain".into(), source: std::io::Error::other("disk full") })
    }
}

#[test]
fn a_failed_commit_stops_the_node_with_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = dev::prepare(dir.path(), false, &[]).expect("dev chain");
    let key = chain.validator.clone();
    let node = Node::open(dir.path(), chain.genesis, chain.validator, NodeConfig::default()).expect("open");
    let app = Arc::new(FailingCommit(node));
    let start = Instant::now();
    // The service would run for a minute; the failed commit must end everything well before.
    let result = run_solo(app, &key, config(dir.path()), || async {
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    assert!(start.elapsed() < Duration::from_secs(30));
    let err = result.expect_err("the commit failure is returned");
    assert!(err.to_string().contains("disk full"), "{err}");
}

/// Runs a fixed chain under commonware's deterministic runtime with `seed` until height 6,
/// and returns the hashes of blocks 1 to 6.
fn simulate(seed: u64) -> Vec<civitas_types::Hash> {
    use civitas_node::genesis::{Genesis, GenesisAccountJson, GenesisValidator};
    use civitas_types::SecretKey;
    use commonware_runtime::{Clock as _, Runner as _, Supervisor as _, deterministic};

    let dir = tempfile::tempdir().expect("tempdir");
    let validator = SecretKey::from_seed([1; 32]);
    let alice = SecretKey::from_seed([2; 32]);
    let genesis = Genesis {
        chain_id: "civitas-sim".into(),
        genesis_time_ms: 1_000,
        validators: vec![GenesisValidator::new("v", &validator.public_key(), None)],
        accounts: vec![GenesisAccountJson::new("alice", &alice.public_key(), 100)],
        council: None,
    };
    let node = Arc::new(Node::open(dir.path(), genesis, validator.clone(), NodeConfig::default()).expect("open"));
    let to = Did::from_initial_key(&SecretKey::from_seed([3; 32]).public_key());
    let txs = (0..3u64)
        .map(|nonce| {
            Transaction {
                chain_id: "civitas-sim".into(),
                signer: alice.public_key(),
                nonce,
                valid_until_height: 100,
                instructions: vec![Instruction::Accounts(AccountInstruction::Transfer { to, amount: 1 })],
            }
            .sign(&alice)
        })
        .collect();
    node.submit(txs).into_iter().for_each(|r| {
        r.expect("admitted");
    });
    let key = commonware_codec::DecodeExt::decode(validator.seed().to_vec()).expect("key");
    let executor = deterministic::Runner::new(
        deterministic::Config::new().with_seed(seed).with_timeout(Some(Duration::from_secs(120))),
    );
    let watched = node.clone();
    executor.start(|context| async move {
        let _committer =
            crate::start_solo(context.child("solo"), watched.clone(), key, &config(dir.path())).expect("engine starts");
        while watched.latest().height < 6 {
            context.sleep(Duration::from_millis(10)).await;
        }
    });
    (1..=6).map(|h| node.block(h).expect("read").expect("committed").0.header.hash()).collect()
}

#[test]
fn the_deterministic_runtime_replays_the_same_chain_from_a_seed() {
    let first = simulate(42);
    assert_eq!(first, simulate(42), "same seed, same blocks");
    assert_eq!(first.len(), 6);
}
