//! The catalog on the state machine: a dataset from registration to a logged use, and each
//! refusal with nothing changed.

use civitas_types::catalog::{CatalogEntry, CatalogList, DatasetStatus, RequestStatus};
use civitas_types::{CatalogInstruction, Hash, Instruction, TxOutcome};

use super::query;
use crate::tests::{Harness, did, failed_code, harness, tx};

const OWNER: u8 = 54;
const USER: u8 = 55;
const STRANGER: u8 = 2;
/// The market-regulation department: an organization that is neither owner nor grantee.
const OTHER_ORG: u8 = 10;
const DAY_MS: u64 = 86_400_000;

fn c(i: CatalogInstruction) -> Vec<Instruction> {
    vec![Instruction::Catalog(i)]
}

fn run(h: &mut Harness, signer: u8, i: CatalogInstruction) -> TxOutcome {
    let t = tx(h, signer, c(i));
    h.run(t)
}

fn ok(h: &mut Harness, signer: u8, i: CatalogInstruction) {
    let outcome = run(h, signer, i);
    assert_eq!(failed_code(&outcome), None, "{outcome:?}");
}

/// Fails with `code`; the catalog's records are as they were.
fn refused(h: &mut Harness, signer: u8, i: CatalogInstruction, code: &str) {
    let snapshot = |h: &Harness| {
        let datasets: Vec<_> = (0..4).map(|d| query::dataset(&h.store, d).expect("read")).collect();
        let requests: Vec<_> = (0..4).map(|r| query::request(&h.store, r).expect("read")).collect();
        let uses = query::list_len(&h.store, &CatalogList::Uses(0)).expect("read");
        (datasets, requests, uses)
    };
    let before = snapshot(h);
    let outcome = run(h, signer, i);
    assert_eq!(failed_code(&outcome), Some(code), "{outcome:?}");
    assert_eq!(snapshot(h), before, "a refusal changed the catalog");
}

fn register(by: u8) -> CatalogInstruction {
    CatalogInstruction::RegisterDataset {
        title: "Metro entries by station and hour".into(),
        description: "Gate entries per station and hour, 2026".into(),
        schema: "{\"type\":\"object\",\"properties\":{\"station\":{},\"hour\":{},\"entries\":{}}}".into(),
        content_hash: Hash([4; 32]),
        licence: "CC-BY-4.0".into(),
        endpoint: "https://data.metro.example/entries".into(),
        by: did(by),
    }
}

fn ask(dataset: u64, days: u32) -> CatalogInstruction {
    CatalogInstruction::RequestAccess { dataset, purpose: "Bus network planning".into(), days, by: did(USER) }
}

fn decide(request: u64, grant: bool, days: u32, reason: &str) -> CatalogInstruction {
    CatalogInstruction::DecideAccess { request, grant, days, reason: reason.into(), by: did(OWNER) }
}

fn use_it(request: u64, by: u8) -> CatalogInstruction {
    CatalogInstruction::RecordUse { request, note: "weekly model run".into(), by: did(by) }
}

#[test]
fn a_dataset_is_requested_granted_used_and_the_owner_sees_who_used_what() {
    let mut h = harness();
    ok(&mut h, OWNER, register(OWNER));
    let d = query::dataset(&h.store, 0).expect("read").expect("registered");
    assert_eq!((d.owner, d.version, d.status), (did(OWNER), 1, DatasetStatus::Active));
    ok(&mut h, USER, ask(0, 30));
    ok(&mut h, OWNER, decide(0, true, 20, ""));
    let r = query::request(&h.store, 0).expect("read").expect("request");
    assert_eq!(r.status, RequestStatus::Granted);
    assert_eq!(r.expires_at, Some(r.decided_at.expect("decided") + 20 * 86_400));
    ok(&mut h, USER, use_it(0, USER));
    let update = CatalogInstruction::UpdateDataset {
        dataset: 0,
        content_hash: Hash([5; 32]),
        endpoint: "https://data.metro.example/entries/2".into(),
        by: did(OWNER),
    };
    ok(&mut h, OWNER, update);
    ok(&mut h, USER, use_it(0, USER));
    let (n, uses) = query::list_page(&h.store, &CatalogList::OwnerUses(did(OWNER)), 0, 10).expect("read");
    assert_eq!(n, 2);
    let versions: Vec<u32> = uses
        .iter()
        .map(|e| match e {
            CatalogEntry::Use(u) => {
                assert_eq!((u.user, u.official, u.grant), (did(USER), did(USER), 0));
                u.version
            }
            CatalogEntry::Number { .. } => 0,
        })
        .collect();
    assert_eq!(versions, [1, 2], "each use names the version it used");
    assert_eq!(query::request(&h.store, 0).expect("read").expect("grant").uses, 2);
    assert_eq!(query::list_len(&h.store, &CatalogList::Requested(did(USER))).expect("read"), 1);
    // Every step is an official act in the audit trail: the owner's three, the user's three.
    let (owner_acts, _) = crate::audit::query::page(&h.store, Some(&did(OWNER)), 0, 10).expect("read");
    let (user_acts, _) = crate::audit::query::page(&h.store, Some(&did(USER)), 0, 10).expect("read");
    assert_eq!((owner_acts.len(), user_acts.len()), (3, 3));
}

#[test]
fn strangers_expired_revoked_refused_and_retired_are_refused_with_nothing_changed() {
    let mut h = harness();
    // Bad registrations.
    refused(&mut h, STRANGER, register(STRANGER), "not_an_official");
    let mut bad = register(OWNER);
    if let CatalogInstruction::RegisterDataset { endpoint, .. } = &mut bad {
        *endpoint = "http://data.metro.example".into();
    }
    refused(&mut h, OWNER, bad, "bad_field");
    ok(&mut h, OWNER, register(OWNER));
    ok(&mut h, OWNER, register(OWNER));
    // Requests: unknown dataset, one's own, bad days, someone else's organization.
    refused(&mut h, USER, ask(9, 30), "unknown_dataset");
    let own = CatalogInstruction::RequestAccess { dataset: 0, purpose: "x".into(), days: 1, by: did(OWNER) };
    refused(&mut h, OWNER, own, "own_dataset");
    refused(&mut h, USER, ask(0, 0), "bad_days");
    refused(&mut h, USER, ask(0, 5_000), "bad_days");
    refused(&mut h, STRANGER, ask(0, 30), "not_an_official");
    ok(&mut h, USER, ask(0, 30));
    ok(&mut h, USER, ask(1, 30));
    // Using before a grant; deciding as someone else; granting longer than asked; refusing
    // without a reason.
    refused(&mut h, USER, use_it(0, USER), "not_granted");
    let as_user =
        CatalogInstruction::DecideAccess { request: 0, grant: true, days: 1, reason: String::new(), by: did(USER) };
    refused(&mut h, USER, as_user, "not_the_owner");
    refused(&mut h, OWNER, decide(0, true, 31, ""), "bad_days");
    refused(&mut h, OWNER, decide(0, false, 0, ""), "reason_required");
    ok(&mut h, OWNER, decide(0, true, 1, ""));
    refused(&mut h, OWNER, decide(0, false, 0, "changed my mind"), "already_decided");
    ok(&mut h, OWNER, decide(1, false, 0, "personal data"));
    refused(&mut h, USER, use_it(1, USER), "not_granted");
    // Another organization cannot use the grant.
    refused(&mut h, OTHER_ORG, use_it(0, OTHER_ORG), "not_the_grantee");
    // The grant expires.
    ok(&mut h, USER, use_it(0, USER));
    h.advance(2 * DAY_MS);
    refused(&mut h, USER, use_it(0, USER), "grant_expired");
    // Revoked grants and retired datasets.
    ok(&mut h, USER, ask(0, 30));
    ok(&mut h, OWNER, decide(2, true, 30, ""));
    let revoke = |r| CatalogInstruction::RevokeAccess { request: r, reason: "misuse".into(), by: did(OWNER) };
    refused(&mut h, OWNER, revoke(1), "not_granted");
    ok(&mut h, OWNER, revoke(2));
    refused(&mut h, USER, use_it(2, USER), "not_granted");
    ok(&mut h, OWNER, CatalogInstruction::RetireDataset { dataset: 0, by: did(OWNER) });
    refused(&mut h, USER, ask(0, 30), "dataset_retired");
    refused(&mut h, OWNER, CatalogInstruction::RetireDataset { dataset: 0, by: did(OWNER) }, "dataset_retired");
    assert_eq!(query::list_len(&h.store, &CatalogList::Uses(0)).expect("read"), 1);
}
