use civitas_types::AccountInstruction;
use civitas_types::{Did, Instruction, SecretKey, Transaction, TxOutcome, VerifiedTransaction};

use crate::consensus::Application;
use crate::dev;
use crate::*;

struct Fixture {
    _dir: tempfile::TempDir,
    node: Node,
    finance: SecretKey,
    alice: SecretKey,
    bob: Did,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let dev = dev::prepare(dir.path(), false, &[]).expect("dev chain");
    let node = Node::open(dir.path(), dev.genesis.clone(), dev.validator.clone(), NodeConfig::default()).expect("open");
    let key = |n: &str| dev::read_key(&dir.path().join("keys").join(format!("{n}.key"))).expect("key");
    let bob = Did::from_initial_key(&key("bob").public_key());
    Fixture { finance: key("finance"), alice: key("alice"), bob, node, _dir: dir }
}

fn transfer(key: &SecretKey, nonce: u64, to: Did, amount: u128) -> SignedTransaction {
    Transaction {
        chain_id: dev::DEV_CHAIN_ID.into(),
        signer: key.public_key(),
        nonce,
        valid_until_height: 1000,
        instructions: vec![Instruction::Accounts(AccountInstruction::Transfer { to, amount })],
    }
    .sign(key)
}

fn produce(node: &Node) -> Option<Committed> {
    let executed = node.propose(consensus::now_ms()).expect("propose");
    if executed.block.transactions.is_empty() {
        return None;
    }
    Some(node.finalized(&executed, b"test certificate").expect("finalize"))
}

#[test]
fn submitted_transfer_commits_and_is_reported() {
    let f = fixture();
    let tx = transfer(&f.alice, 0, f.bob, 250);
    let hash = f.node.submit(vec![tx]).remove(0).expect("admitted");
    assert_eq!(f.node.tx_status(&hash).expect("status"), TxStatus::Pending);
    let committed = produce(&f.node).expect("a block");
    assert_eq!(committed.height, 1);
    match f.node.tx_status(&hash).expect("status") {
        TxStatus::Committed { height: 1, receipt, .. } => assert_eq!(receipt.outcome, TxOutcome::Success),
        other => panic!("unexpected status {other:?}"),
    }
    assert_eq!(f.node.account(&f.bob).expect("read").map(|a| a.balance), Some(5_250));
    assert!(produce(&f.node).is_none(), "no transactions, no block");
}

#[test]
fn bad_submissions_get_named_errors_and_change_nothing() {
    let f = fixture();
    let stranger = SecretKey::from_seed([9; 32]);
    let mut wrong_chain = transfer(&f.alice, 0, f.bob, 1);
    wrong_chain.tx.chain_id = "elsewhere".into();
    let wrong_chain = wrong_chain.tx.sign(&f.alice);
    let mut bad_sig = transfer(&f.alice, 0, f.bob, 1);
    bad_sig.signature.0[0] ^= 1;
    let mut expired = transfer(&f.alice, 0, f.bob, 1).tx;
    expired.valid_until_height = 0;
    let cases = vec![
        (wrong_chain, "wrong_chain"),
        (bad_sig, "bad_signature"),
        (transfer(&stranger, 0, f.bob, 1), "unknown_signer"),
        (transfer(&f.alice, 999, f.bob, 1), "nonce_too_far"),
        (expired.sign(&f.alice), "expired"),
    ];
    let root = f.node.status().latest.state_root;
    for (tx, code) in cases {
        let err = f.node.submit(vec![tx]).remove(0).expect_err("refused");
        assert_eq!(err.code(), code, "{err}");
    }
    assert_eq!(f.node.status().mempool_txs, 0);
    assert_eq!(f.node.status().latest.state_root, root);
}

#[test]
fn replays_are_refused_at_the_door() {
    let f = fixture();
    let tx = transfer(&f.alice, 0, f.bob, 1);
    f.node.submit(vec![tx.clone()]).remove(0).expect("admitted");
    assert_eq!(f.node.submit(vec![tx.clone()]).remove(0).map_err(|e| e.code()), Err("already_pending"));
    produce(&f.node).expect("block");
    assert_eq!(f.node.submit(vec![tx]).remove(0).map_err(|e| e.code()), Err("already_committed"));
    let reuse = transfer(&f.alice, 0, f.bob, 2);
    assert_eq!(f.node.submit(vec![reuse]).remove(0).map_err(|e| e.code()), Err("nonce_used"));
}

#[test]
fn overdraft_commits_as_a_failure_without_moving_money() {
    let f = fixture();
    let hash = f.node.submit(vec![transfer(&f.alice, 0, f.bob, 1_000_000)]).remove(0).expect("admitted");
    produce(&f.node).expect("block");
    match f.node.tx_status(&hash).expect("status") {
        TxStatus::Committed { receipt, .. } => {
            assert!(matches!(receipt.outcome, TxOutcome::Failed { ref code, .. } if code == "insufficient_funds"))
        }
        other => panic!("unexpected status {other:?}"),
    }
    assert_eq!(f.node.account(&f.bob).expect("read").map(|a| a.balance), Some(5_000));
}

#[test]
fn another_node_verifies_the_block_and_reaches_the_same_root() {
    let f = fixture();
    // A second store from the same genesis plays the part of a follower.
    let dir = tempfile::tempdir().expect("tempdir");
    let follower =
        Node::open(dir.path(), f.node.chain().genesis().clone(), SecretKey::from_seed([1; 32]), NodeConfig::default())
            .expect("open follower");
    let mint = Transaction {
        chain_id: dev::DEV_CHAIN_ID.into(),
        signer: f.finance.public_key(),
        nonce: 0,
        valid_until_height: 10,
        instructions: vec![Instruction::Accounts(AccountInstruction::Mint { to: f.bob, amount: 7 })],
    }
    .sign(&f.finance);
    f.node.submit(vec![mint, transfer(&f.alice, 0, f.bob, 3)]).into_iter().for_each(|r| {
        r.expect("admitted");
    });
    let executed = f.node.propose(consensus::now_ms()).expect("propose");
    let block = executed.block.clone();
    f.node.finalized(&executed, b"test certificate").expect("commit");

    let mut tampered = block.clone();
    tampered.header.state_root = Hash([0; 32]);
    assert!(matches!(follower.verify(tampered), Err(BlockError::Mismatch { what: "state_root", .. })));
    let mut forged = block.clone();
    forged.transactions[0].signature.0[5] ^= 1;
    assert!(matches!(follower.verify(forged), Err(BlockError::BadTransaction { index: 0, .. })));

    let executed = follower.verify(block).expect("valid block");
    let committed = follower.finalized(&executed, b"test certificate").expect("commit");
    assert_eq!(committed, f.node.status().latest);
}

#[test]
fn another_genesis_on_the_same_data_dir_is_refused() {
    let f = fixture();
    let dir = f._dir.path();
    let mut other = f.node.chain().genesis().clone();
    other.chain_id = "civitas-other".into();
    drop(f.node);
    let err = Node::open(dir, other, SecretKey::from_seed([1; 32]), NodeConfig::default()).err().expect("refused");
    assert!(matches!(err, NodeError::GenesisMismatch { .. }), "{err}");
}

#[test]
fn a_block_built_on_an_uncommitted_parent_is_the_block_built_after_the_parent_commits() {
    let f = fixture();
    let chain = f.node.chain();
    let proposer = f.finance.public_key();
    let checked = |txs: Vec<SignedTransaction>| -> Vec<VerifiedTransaction> {
        txs.into_iter().map(|t| VerifiedTransaction::check(t, dev::DEV_CHAIN_ID).expect("valid")).collect()
    };
    let parent = chain.build(checked(vec![transfer(&f.alice, 0, f.bob, 250)]), proposer, 10).expect("build");
    // The child spends what the parent moved: alice's next nonce, bob's new balance.
    let child_txs = || checked(vec![transfer(&f.alice, 1, f.bob, 100)]);
    let child = chain.build_on(&[&parent], child_txs(), proposer, 20).expect("build on the parent");
    assert_eq!(child.block.header.parent_hash, parent.block.header.hash());
    assert!(child.receipts().iter().all(|r| r.outcome == TxOutcome::Success), "nonce 1 follows the parent's 0");
    let grandchild = chain.build_on(&[&parent, &child], vec![], proposer, 30).expect("build on both");
    // Another node verifies the child on the same uncommitted parent, to the same roots.
    let verified = chain.verify_on(&[&parent], child.block.clone(), vec![None]).expect("verifies");
    assert_eq!(verified.block.header, child.block.header);
    // The child must follow its parent: without it, or on a block it does not extend, refused.
    assert!(chain.verify_on(&[], child.block.clone(), vec![None]).is_err());
    assert!(chain.build_on(&[&child], vec![], proposer, 20).is_err(), "pending blocks must start at the tip");
    assert_eq!(chain.latest().height, 0, "nothing was committed");
    // Committed in order, they are what building each after its parent's commit gives.
    chain.commit(&parent, b"certificate").expect("commit the parent");
    let rebuilt = chain.build(child_txs(), proposer, 20).expect("build after the commit");
    assert_eq!(rebuilt.block.header, child.block.header);
    chain.commit(&child, b"certificate").expect("commit the child built ahead");
    chain.commit(&grandchild, b"certificate").expect("commit the grandchild built ahead");
    assert_eq!(chain.latest().height, 3);
    assert_eq!(f.node.account(&f.bob).expect("read").map(|a| a.balance), Some(5_350));
}

#[test]
fn a_proposal_on_an_uncommitted_parent_takes_what_follows_it_and_a_dead_fork_loses_nothing() {
    use civitas_types::codec::Encode as _;
    let f = fixture();
    let first: Vec<Hash> = f
        .node
        .submit(vec![transfer(&f.alice, 0, f.bob, 1), transfer(&f.alice, 1, f.bob, 2)])
        .into_iter()
        .map(|r| r.expect("admitted"))
        .collect();
    let parent = f.node.propose(10).expect("propose");
    assert_eq!(parent.block.transactions.len(), 2);
    assert!(!f.node.has_pending(&[&parent]), "all that waits is in the parent");
    // A transfer that arrives meanwhile goes into a block on the parent, not yet committed.
    let next = f.node.submit(vec![transfer(&f.alice, 2, f.bob, 4)]).remove(0).expect("admitted");
    assert!(f.node.has_pending(&[&parent]));
    let child = f.node.propose_on(&[&parent], 20).expect("propose on the parent");
    assert_eq!(child.block.header.parent_hash, parent.block.header.hash());
    let hashes: Vec<Hash> = child.block.transactions.iter().map(|t| Hash::digest(&t.encode())).collect();
    assert_eq!(hashes, vec![next], "the child takes only what its parent does not hold");
    // The parent's transactions wait until committed, in case a fork drops it.
    for hash in &first {
        assert_eq!(f.node.tx_status(hash).expect("status"), TxStatus::Pending);
    }
    // Say the parent is never finalized and another leader proposes on the committed tip: its
    // block takes all three, and they commit.
    let other = f.node.propose(30).expect("propose on the tip");
    assert_eq!(other.block.transactions.len(), 3);
    assert_eq!(f.node.finalized(&other, b"test certificate").expect("commit").height, 1);
    for hash in first.iter().chain([&next]) {
        assert!(matches!(f.node.tx_status(hash).expect("status"), TxStatus::Committed { height: 1, .. }));
    }
    assert_eq!(f.node.account(&f.bob).expect("read").map(|a| a.balance), Some(5_007));
    assert!(!f.node.has_pending(&[]), "the mempool is empty once they commit");
}
