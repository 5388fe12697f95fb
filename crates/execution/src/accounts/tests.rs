use civitas_types::AccountInstruction;
use civitas_types::{Did, Instruction, PublicKey, TxOutcome};
use proptest::prelude::*;

use super::query;
use crate::tests::{Harness, did, failed_code, harness, key, tx, tx_with};

fn transfer(to: u8, amount: u128) -> Instruction {
    Instruction::Accounts(AccountInstruction::Transfer { to: did(to), amount })
}

/// Runs `instructions` from `signer` and checks the failure code (or success), and that a
/// failure changed no balance and no supply.
fn check(h: &mut Harness, signer: u8, instructions: Vec<Instruction>, expected: Option<&str>) {
    let balances: Vec<u128> = (1..=5).map(|n| h.balance(n)).collect();
    let supply = query::supply(&h.store).expect("read");
    let outcome = h.run(tx(h, signer, instructions));
    assert_eq!(failed_code(&outcome), expected, "{outcome:?}");
    if expected.is_some() {
        assert_eq!((1..=5).map(|n| h.balance(n)).collect::<Vec<_>>(), balances);
        assert_eq!(query::supply(&h.store).expect("read"), supply);
    }
}

#[test]
fn transfers_move_money_and_conserve_supply() {
    let mut h = harness();
    check(&mut h, 2, vec![transfer(3, 40)], None);
    assert_eq!((h.balance(2), h.balance(3)), (60, 40));
    check(&mut h, 2, vec![transfer(2, 60)], None);
    assert_eq!(h.balance(2), 60, "a transfer to oneself nets to zero");
    assert_eq!(query::supply(&h.store).expect("read"), 1100);
}

#[test]
fn bad_transfers_fail_with_clear_codes_and_change_nothing() {
    let mut h = harness();
    check(&mut h, 2, vec![transfer(3, 101)], Some("insufficient_funds"));
    check(&mut h, 2, vec![transfer(3, 0)], Some("zero_amount"));
    check(&mut h, 2, vec![transfer(9, 1)], Some("unknown_account"));
    // All or nothing: the first instruction's effect is rolled back with the second's failure.
    check(&mut h, 2, vec![transfer(3, 50), transfer(3, 51)], Some("insufficient_funds"));
    check(
        &mut h,
        2,
        vec![Instruction::Accounts(AccountInstruction::Mint { to: did(2), amount: 5 })],
        Some("permission_denied"),
    );
    check(
        &mut h,
        2,
        vec![transfer(3, 1), Instruction::Accounts(AccountInstruction::RegisterAccount)],
        Some("register_not_first"),
    );
    assert_eq!(h.nonce(2), 6, "failed transactions still consume their nonce");
}

#[test]
fn state_checks_fail_without_touching_the_account() {
    let mut h = harness();
    let cases: Vec<(u64, u64, &str)> = vec![(5, 100, "bad_nonce"), (0, 0, "expired")];
    for (nonce, valid_until, code) in cases {
        let outcome = h.run(tx_with(2, nonce, valid_until, vec![transfer(3, 1)]));
        assert_eq!(failed_code(&outcome), Some(code));
    }
    assert_eq!(h.nonce(2), 0, "a transaction that never ran consumes no nonce");
    assert_eq!(failed_code(&h.run(tx(&h, 9, vec![transfer(3, 1)]))), Some("unknown_signer"));
}

#[test]
fn replay_of_a_committed_transaction_fails() {
    let mut h = harness();
    let t = tx(&h, 2, vec![transfer(3, 10)]);
    assert_eq!(h.run(t.clone()), TxOutcome::Success);
    assert_eq!(failed_code(&h.run(t)), Some("bad_nonce"));
    assert_eq!(h.balance(3), 10);
}

#[test]
fn finance_mints_and_supply_follows() {
    let mut h = harness();
    check(&mut h, 1, vec![Instruction::Accounts(AccountInstruction::Mint { to: did(3), amount: 7 })], None);
    assert_eq!(h.balance(3), 7);
    assert_eq!(query::supply(&h.store).expect("read"), 1107);
    check(
        &mut h,
        1,
        vec![Instruction::Accounts(AccountInstruction::Mint { to: did(3), amount: u128::MAX })],
        Some("overflow"),
    );
}

#[test]
fn registration_derives_the_did_and_is_once_only() {
    let mut h = harness();
    check(&mut h, 4, vec![Instruction::Accounts(AccountInstruction::RegisterAccount)], None);
    let a = h.account(4).expect("registered");
    assert_eq!(a.did, Did::from_initial_key(&key(4).public_key()));
    assert_eq!(a.nonce, 1);
    check(&mut h, 4, vec![Instruction::Accounts(AccountInstruction::RegisterAccount)], Some("already_registered"));
    // Register and use in one transaction.
    check(
        &mut h,
        5,
        vec![Instruction::Accounts(AccountInstruction::RegisterAccount), transfer(2, 1)],
        Some("insufficient_funds"),
    );
    assert!(h.account(5).is_none(), "the failed registration left nothing behind");
}

#[test]
fn key_rotation_keeps_the_did_and_retires_the_old_key() {
    let mut h = harness();
    let new = key(7);
    let proof = new.sign(&AccountInstruction::rotation_message(&did(2), &new.public_key()));
    check(
        &mut h,
        2,
        vec![Instruction::Accounts(AccountInstruction::RotateKey { new_key: new.public_key(), proof })],
        None,
    );
    let a = query::account(&h.store, &did(2)).expect("read").expect("exists");
    assert_eq!(a.public_key, new.public_key());
    assert!(query::account_by_key(&h.store, &key(2).public_key()).expect("read").is_none());
    // The old key can no longer sign for the account.
    assert_eq!(failed_code(&h.run(tx_with(2, 1, 100, vec![transfer(3, 1)]))), Some("unknown_signer"));
    // Nor can its DID be registered afresh with it.
    assert_eq!(
        failed_code(&h.run(tx_with(2, 0, 100, vec![Instruction::Accounts(AccountInstruction::RegisterAccount)]))),
        Some("already_registered")
    );
}

#[test]
fn rotation_needs_proof_and_a_free_key() {
    let mut h = harness();
    let wrong = key(8).sign(&AccountInstruction::rotation_message(&did(2), &key(7).public_key()));
    check(
        &mut h,
        2,
        vec![Instruction::Accounts(AccountInstruction::RotateKey { new_key: key(7).public_key(), proof: wrong })],
        Some("bad_rotation_proof"),
    );
    let taken = key(3).sign(&AccountInstruction::rotation_message(&did(2), &key(3).public_key()));
    check(
        &mut h,
        2,
        vec![Instruction::Accounts(AccountInstruction::RotateKey { new_key: key(3).public_key(), proof: taken })],
        Some("key_in_use"),
    );
    let garbage = PublicKey([0xff; 32]);
    let proof = key(7).sign(b"x");
    check(
        &mut h,
        2,
        vec![Instruction::Accounts(AccountInstruction::RotateKey { new_key: garbage, proof })],
        Some("bad_rotation_proof"),
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// Whatever transfers and mints run, the balances add up to the supply.
    #[test]
    fn money_is_conserved(ops in prop::collection::vec((1u8..=3, 1u8..=4, 0u128..400, any::<bool>()), 1..30)) {
        let mut h = harness();
        let txs = ops.iter().fold(Vec::new(), |mut acc, &(from, to, amount, mint)| {
            let nonce = h.nonce(from) + acc.iter().filter(|(f, _)| *f == from).count() as u64;
            let i = if mint { Instruction::Accounts(AccountInstruction::Mint { to: did(to), amount }) } else { transfer(to, amount) };
            acc.push((from, tx_with(from, nonce, 100, vec![i])));
            acc
        });
        h.block(txs.into_iter().map(|(_, t)| t).collect());
        let total: u128 = (1..=4).map(|n| h.balance(n)).sum();
        prop_assert_eq!(total, query::supply(&h.store).expect("read"));
    }
}
