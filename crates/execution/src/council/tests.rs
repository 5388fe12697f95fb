use civitas_types::Instruction;
use civitas_types::council::{CouncilAction, ProposalStatus};
use civitas_types::org::{OrgKind, OrgRole};
use civitas_types::{CouncilInstruction, OrgInstruction};

use super::query;
use crate::tests::{did, failed_code, harness, tx};
use crate::{audit, orgs};

const VCT: &str = "https://civitas.example/vct/residence-permit";

fn accredit(issuer: u8) -> CouncilAction {
    CouncilAction::AccreditIssuer { issuer: did(issuer), vct: VCT.into() }
}

fn propose(action: CouncilAction, ttl_blocks: u64, by: u8) -> Instruction {
    Instruction::Council(CouncilInstruction::Propose { action, ttl_blocks, by: did(by) })
}

fn approve(proposal: u64, by: u8) -> Instruction {
    Instruction::Council(CouncilInstruction::Approve { proposal, by: did(by) })
}

#[test]
fn two_of_three_departments_accredit_an_issuer() {
    let mut h = harness();
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![propose(accredit(11), 100, 10)]))), None);
    let p = query::proposal(&h.store, 0).expect("read").expect("proposal 0");
    assert_eq!((p.status, p.approvals.len()), (ProposalStatus::Open, 1));
    assert_eq!(query::accredited(&h.store, &did(11), VCT).expect("read"), None, "one approval is not enough");
    assert_eq!(failed_code(&h.run(tx(&h, 12, vec![approve(0, 12)]))), None);
    let height = h.height();
    assert_eq!(query::proposal(&h.store, 0).expect("read").expect("p").status, ProposalStatus::Executed(height));
    assert_eq!(query::accredited(&h.store, &did(11), VCT).expect("read"), Some(height));
    // The acts are in the audit trail, attributed to the departments' admins.
    let (entries, _) = audit::query::page(&h.store, None, 0, 10).expect("read");
    let acts: Vec<&str> = entries.iter().map(|(_, e)| e.instruction.as_str()).collect();
    assert_eq!(acts, vec!["propose", "approve"]);
}

#[test]
fn the_council_registers_a_manufacturer_and_changes_its_threshold() {
    let mut h = harness();
    let manufacturer = CouncilAction::RegisterOrganization {
        org: did(3),
        kind: OrgKind::Manufacturer,
        name: "Sensors Inc".into(),
        functions: vec![],
    };
    assert_eq!(failed_code(&h.run(tx(&h, 11, vec![propose(manufacturer, 10, 11)]))), None);
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![approve(0, 10)]))), None);
    assert_eq!(
        orgs::query::organization(&h.store, &did(3)).expect("read").map(|o| o.kind),
        Some(OrgKind::Manufacturer)
    );
    assert_eq!(
        failed_code(&h.run(tx(&h, 11, vec![propose(CouncilAction::SetThreshold { threshold: 3 }, 10, 11)]))),
        None
    );
    assert_eq!(failed_code(&h.run(tx(&h, 12, vec![approve(1, 12)]))), None);
    assert_eq!(query::threshold(&h.store).expect("read"), 3);
}

#[test]
fn bad_votes_fail_with_clear_codes_and_change_nothing() {
    let mut h = harness();
    // An officer (not an admin) of a member department.
    let officer =
        Instruction::Orgs(OrgInstruction::SetMember { org: did(10), member: did(2), role: Some(OrgRole::Officer) });
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![officer]))), None);
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![propose(accredit(11), 100, 10)]))), None);
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![propose(accredit(12), 1, 10)]))), None);
    h.block(vec![]);
    h.block(vec![]);
    let cases: Vec<(u8, Instruction, &str)> = vec![
        (10, approve(0, 10), "already_approved"),
        (11, approve(1, 11), "proposal_expired"),
        (11, approve(9, 11), "unknown_proposal"),
        (2, approve(0, 10), "permission_denied"),
        (3, approve(0, 3), "not_a_council_member"),
        (3, propose(accredit(11), 10, 3), "not_a_council_member"),
        (10, propose(accredit(11), 0, 10), "bad_ttl"),
        (10, propose(accredit(11), 2_000_000, 10), "bad_ttl"),
        (10, propose(accredit(3), 10, 10), "unknown_organization"),
        (10, propose(CouncilAction::SetThreshold { threshold: 4 }, 10, 10), "bad_threshold"),
        (10, propose(CouncilAction::SetThreshold { threshold: 0 }, 10, 10), "bad_threshold"),
    ];
    for (signer, instruction, code) in cases {
        assert_eq!(failed_code(&h.run(tx(&h, signer, vec![instruction]))), Some(code), "{code}");
    }
    let p = query::proposal(&h.store, 0).expect("read").expect("p");
    assert_eq!((p.status, p.approvals.len()), (ProposalStatus::Open, 1), "nothing changed");
    assert_eq!(query::proposal(&h.store, 2).expect("read"), None, "no refused proposal was stored");
    // Once passed, a proposal is closed to further approvals.
    assert_eq!(failed_code(&h.run(tx(&h, 11, vec![approve(0, 11)]))), None);
    assert_eq!(failed_code(&h.run(tx(&h, 12, vec![approve(0, 12)]))), Some("proposal_closed"));
}

#[test]
fn the_council_adds_and_removes_validators_each_change_a_new_epoch() {
    use crate::tests::validator;
    let mut h = harness();
    let genesis = query::validators(&h.store).expect("read").expect("set");
    assert_eq!((genesis.epoch, genesis.from_height, genesis.validators.len()), (0, 1, 4));
    assert_eq!(genesis.boundary(), None);
    let add = CouncilAction::AddValidator { validator: validator(24) };
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![propose(add.clone(), 10, 10)]))), None);
    assert_eq!(query::validators(&h.store).expect("read"), Some(genesis.clone()), "one approval changes nothing");
    assert_eq!(failed_code(&h.run(tx(&h, 11, vec![approve(0, 11)]))), None);
    let b = h.height();
    let set = query::validators(&h.store).expect("read").expect("set");
    assert_eq!((set.epoch, set.from_height, set.boundary()), (1, b + 1, Some(b)));
    assert_eq!(set.keys(), (20..25).map(|n| crate::tests::key(n).public_key()).collect::<Vec<_>>());
    // Adding it again, or another at its address, is refused when proposed.
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![propose(add, 10, 10)]))), Some("bad_validator_change"));
    let mut same_address = validator(25);
    same_address.address = validator(24).address;
    let clash = CouncilAction::AddValidator { validator: same_address };
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![propose(clash, 10, 10)]))), Some("bad_validator_change"));
    let mut unresolvable = validator(25);
    unresolvable.address = "city-hall:9000".into();
    let bad = CouncilAction::AddValidator { validator: unresolvable };
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![propose(bad, 10, 10)]))), Some("bad_validator_change"));
    // Removing one is epoch 2; two removals passing in one block make one epoch.
    let remove = |n: u8| CouncilAction::RemoveValidator { key: crate::tests::key(n).public_key() };
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![propose(remove(20), 10, 10)]))), None);
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![propose(remove(21), 10, 10)]))), None);
    let (p1, p2) = (query::proposal(&h.store, 1).expect("read").expect("p").id, 2);
    h.block(vec![tx(&h, 11, vec![approve(p1, 11), approve(p2, 11)])]);
    let set = query::validators(&h.store).expect("read").expect("set");
    assert_eq!((set.epoch, set.from_height), (2, h.height() + 1));
    assert_eq!(set.keys(), (22..25).map(|n| crate::tests::key(n).public_key()).collect::<Vec<_>>());
    // Unknown keys cannot be removed.
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![propose(remove(20), 10, 10)]))), Some("bad_validator_change"));
    // Nor the last validator; and a validator running alone (no p2p address, a dev chain)
    // cannot gain others.
    let mut alone = validator(22);
    alone.address = String::new();
    let mut bs = civitas_state::BlockState::new(&h.store);
    let mut t = bs.begin_tx();
    super::apply_genesis_validators(&mut t, vec![alone]);
    t.commit();
    let writes = bs.into_writes();
    h.commit_writes(writes);
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![propose(remove(22), 10, 10)]))), Some("bad_validator_change"));
    let add = CouncilAction::AddValidator { validator: validator(30) };
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![propose(add, 10, 10)]))), Some("bad_validator_change"));
    assert_eq!(query::validators(&h.store).expect("read").expect("set").validators.len(), 1, "nothing changed");
}
