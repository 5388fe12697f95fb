use civitas_types::Instruction;
use civitas_types::OrgInstruction;
use civitas_types::org::{OrgKind, OrgRole};

use super::query;
use crate::audit;
use crate::tests::{did, failed_code, harness, tx};

fn register(org: u8, kind: OrgKind, by: u8) -> Instruction {
    Instruction::Orgs(OrgInstruction::RegisterOrganization {
        org: did(org),
        kind,
        name: "Acme Ltd".into(),
        by: did(by),
    })
}

fn member(org: u8, who: u8, role: Option<OrgRole>) -> Instruction {
    Instruction::Orgs(OrgInstruction::SetMember { org: did(org), member: did(who), role })
}

#[test]
fn market_regulation_registers_companies_through_its_officials_and_every_act_is_audited() {
    let mut h = harness();
    // The department names resident 2 an officer; the officer registers resident 3's company.
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![member(10, 2, Some(OrgRole::Officer))]))), None);
    assert_eq!(query::role(&h.store, &did(10), &did(2)).expect("read"), Some(OrgRole::Officer));
    assert_eq!(failed_code(&h.run(tx(&h, 2, vec![register(3, OrgKind::Company, 10)]))), None);
    let company = query::organization(&h.store, &did(3)).expect("read").expect("registered");
    assert_eq!((company.kind, company.registered_by), (OrgKind::Company, Some(did(10))));
    // The company's own account is its admin.
    assert_eq!(query::role(&h.store, &did(3), &did(3)).expect("read"), Some(OrgRole::Admin));

    let (entries, total) = audit::query::page(&h.store, Some(&did(10)), 0, 10).expect("read");
    assert_eq!(total, 2);
    let acts: Vec<(&str, _, _)> = entries.iter().map(|(_, e)| (e.instruction.as_str(), e.official, e.height)).collect();
    assert_eq!(acts, vec![("set_member", did(10), 1), ("register_organization", did(2), 2)]);
    let (all, total) = audit::query::page(&h.store, None, 1, 10).expect("read");
    assert_eq!((all.len(), total), (1, 2));
}

#[test]
fn unauthorized_acts_fail_with_clear_codes_and_change_nothing() {
    let mut h = harness();
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![member(10, 2, Some(OrgRole::Officer))]))), None);
    let cases: Vec<(u8, Instruction, &str)> = vec![
        // A resident is no official of market regulation.
        (3, register(3, OrgKind::Company, 10), "not_an_official"),
        // Housing has no market-regulation function.
        (11, register(3, OrgKind::Company, 11), "permission_denied"),
        // Departments, manufacturers and payment providers are the council's to register.
        (10, register(3, OrgKind::Manufacturer, 10), "permission_denied"),
        (10, register(3, OrgKind::Department, 10), "permission_denied"),
        (10, register(9, OrgKind::Company, 10), "unknown_account"),
        (10, register(11, OrgKind::Company, 10), "already_registered"),
        (
            10,
            Instruction::Orgs(OrgInstruction::RegisterOrganization {
                org: did(3),
                kind: OrgKind::Company,
                name: " ".into(),
                by: did(10),
            }),
            "bad_name",
        ),
        // An officer is not an admin; a stranger is neither.
        (2, member(10, 3, Some(OrgRole::Officer)), "permission_denied"),
        (3, member(10, 3, Some(OrgRole::Admin)), "not_an_official"),
        (10, member(3, 2, Some(OrgRole::Officer)), "unknown_organization"),
        (10, member(10, 9, Some(OrgRole::Officer)), "unknown_account"),
        (10, member(10, 10, None), "permission_denied"),
    ];
    let (_, audit_before) = audit::query::page(&h.store, None, 0, 0).expect("read");
    for (signer, instruction, code) in cases {
        assert_eq!(failed_code(&h.run(tx(&h, signer, vec![instruction]))), Some(code), "{code}");
    }
    assert_eq!(query::organization(&h.store, &did(3)).expect("read"), None);
    assert_eq!(query::role(&h.store, &did(10), &did(3)).expect("read"), None);
    let (_, audit_after) = audit::query::page(&h.store, None, 0, 0).expect("read");
    assert_eq!(audit_after, audit_before, "failed acts leave no audit entry");
    // Removing an official takes the role away.
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![member(10, 2, None)]))), None);
    assert_eq!(query::role(&h.store, &did(10), &did(2)).expect("read"), None);
}
