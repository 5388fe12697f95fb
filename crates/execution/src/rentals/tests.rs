//! Rentals on the state machine: a lease from listing to deposit release, the lock grant, each
//! refusal the issue names (with nothing changed), the automatic release, and a property test
//! of the money invariants over random sequences of operations.

use civitas_types::council::CouncilAction;
use civitas_types::credential::{CredentialPolicy, CredentialStatus, DisclosureRule};
use civitas_types::org::OrgKind;
use civitas_types::rental::{
    DAY_SECS, Furnished, Included, Lease, LeaseStatus, LeaseTerms, ListingStatus, ListingTerms, ReleaseKind,
    RentPeriod, RentalList,
};
use civitas_types::sdjwt::{self, Credential, SigningKey, VerifyingKey};
use civitas_types::{
    Amount, CouncilInstruction, CredentialInstruction, Did, Hash, Instruction, RentalInstruction, TxOutcome,
};
use proptest::prelude::*;
use serde_json::{Map, json};

use super::{LISTING_PURPOSE, listing_nonce, query};
use crate::tests::{CHAIN, Harness, did, failed_code, harness, key, tx};

pub(crate) const HOUSING: u8 = 53;
pub(crate) const LANDLORD: u8 = 50;
pub(crate) const TENANT: u8 = 51;
pub(crate) const AGENT: u8 = 52;
const STRANGER: u8 = 2;
pub(crate) const PROPERTY_VCT: &str = "https://housing.civitas.example/property-certificate";

pub(crate) fn r(i: RentalInstruction) -> Instruction {
    Instruction::Rentals(i)
}

fn run(h: &mut Harness, signer: u8, instructions: Vec<Instruction>) -> TxOutcome {
    let t = tx(h, signer, instructions);
    h.run(t)
}

pub(crate) fn ok(h: &mut Harness, signer: u8, instructions: Vec<Instruction>) {
    let outcome = run(h, signer, instructions);
    assert_eq!(failed_code(&outcome), None, "{outcome:?}");
}

fn refused(h: &mut Harness, signer: u8, i: RentalInstruction, code: &str) {
    let root = h.store.latest().expect("a block").state_root;
    let escrow = query::escrow_total(&h.store).expect("read");
    let outcome = run(h, signer, vec![r(i)]);
    assert_eq!(failed_code(&outcome), Some(code), "{outcome:?}");
    // Nothing changed but the signer's nonce (and the chain tip): the escrow and every record
    // are as they were.
    assert_ne!(h.store.latest().expect("a block").state_root, root);
    assert_eq!(query::escrow_total(&h.store).expect("read"), escrow);
}

/// The finance bureau funds the tenant with 1000; the council accredits housing (53) for
/// property certificates; housing defines the type:
/// the holder's consent required, departments may see the property's id, address and area.
pub(crate) fn housing_setup(h: &mut Harness) {
    let fund = civitas_types::AccountInstruction::Mint { to: did(TENANT), amount: 1000 };
    ok(h, 1, vec![Instruction::Accounts(fund)]);
    let action = CouncilAction::AccreditIssuer { issuer: did(HOUSING), vct: PROPERTY_VCT.into() };
    ok(h, 10, vec![Instruction::Council(CouncilInstruction::Propose { action, ttl_blocks: 100, by: did(10) })]);
    let proposal = crate::counters::read_u64(&h.store, b"council/next-proposal").expect("read") - 1;
    ok(h, 12, vec![Instruction::Council(CouncilInstruction::Approve { proposal, by: did(12) })]);
    let define = CredentialInstruction::DefineCredentialType {
        vct: PROPERTY_VCT.into(),
        schema: "{\"type\":\"object\"}".into(),
        policy: CredentialPolicy {
            holder_consent: true,
            issuer_approval: false,
            rules: vec![DisclosureRule {
                verifier_kind: OrgKind::Department,
                claims: vec!["property_id".into(), "address".into(), "floor_area".into()],
            }],
        },
        by: did(HOUSING),
    };
    ok(h, HOUSING, vec![Instruction::Credentials(define)]);
}

/// A property certificate for `owner`'s property `reference` at status entry `index`, signed by
/// housing's account key and bound to the owner's account key.
pub(crate) fn certificate(owner: u8, reference: &str, index: u32) -> String {
    let mut visible = Map::new();
    visible.insert("iss".into(), json!(did(HOUSING).to_string()));
    visible.insert("vct".into(), json!(PROPERTY_VCT));
    visible.insert("sub".into(), json!(did(owner).to_string()));
    visible.insert("status".into(), json!({ "status_list": { "idx": index, "uri": "civitas:status" } }));
    let mut disclosable = Map::new();
    disclosable.insert("property_id".into(), json!(reference));
    disclosable.insert("address".into(), json!(format!("{reference} Rongxi Road")));
    disclosable.insert("floor_area".into(), json!(86));
    let credential = Credential { visible, disclosable, holder: VerifyingKey::ed25519(&key(owner).public_key()) };
    let mut n = 0u8;
    let salt = move || {
        n = n.wrapping_add(1);
        [n; 16]
    };
    sdjwt::issue(&SigningKey::Ed25519(key(HOUSING)), None, &credential, salt, 0).expect("issue")
}

/// Anchors `issuance` at `index` (an official of housing signs).
pub(crate) fn anchor(issuance: &str, index: u32) -> Instruction {
    let commitment = Hash(sdjwt::inspect(issuance).expect("inspect").commitment);
    Instruction::Credentials(CredentialInstruction::AnchorCredential {
        vct: PROPERTY_VCT.into(),
        commitment,
        status_index: index,
        by: did(HOUSING),
    })
}

/// The holder's consent to housing for listing (the next consent number).
pub(crate) fn consent() -> Instruction {
    Instruction::Credentials(CredentialInstruction::GrantConsent {
        verifier: did(HOUSING),
        issuer: did(HOUSING),
        vct: PROPERTY_VCT.into(),
        purpose: LISTING_PURPOSE.into(),
        claims: vec!["property_id".into(), "address".into(), "floor_area".into()],
        ttl_blocks: 10_000,
        max_uses: 10,
    })
}

/// `issuance` presented by `holder` to `aud` at `iat` (unix seconds), disclosing the property.
pub(crate) fn present(issuance: &str, holder: u8, aud: &Did, iat: u64) -> String {
    let nonce = listing_nonce(CHAIN);
    let signer = SigningKey::Ed25519(key(holder));
    sdjwt::present(issuance, &["property_id", "address", "floor_area"], Some((&signer, &aud.to_string(), &nonce, iat)))
        .expect("present")
}

pub(crate) fn listing_terms() -> ListingTerms {
    ListingTerms {
        title: "Two rooms by Baiyangdian park".into(),
        rent: 10,
        period: RentPeriod::Weekly,
        deposit: 20,
        min_term_months: 6,
        available_from: 0,
        furnished: Furnished::Partially,
        includes: vec![Included::Water, Included::Internet],
    }
}

pub(crate) fn list(presentation: String, consent: Option<u64>, by: Option<u8>) -> Instruction {
    r(RentalInstruction::ListProperty { presentation, consent, terms: listing_terms(), by: by.map(did) })
}

/// Weekly rent of 10 from `start` for `weeks` weeks, a deposit of 20, 14 claim days.
pub(crate) fn lease_terms(start: u64, weeks: u64) -> LeaseTerms {
    LeaseTerms {
        rent: 10,
        period: RentPeriod::Weekly,
        deposit: 20,
        start,
        end: start + weeks * 7 * DAY_SECS,
        lock: None,
        claim_days: 14,
        document: Hash([9; 32]),
    }
}

fn lease(h: &Harness, id: u64) -> Lease {
    query::lease(&h.store, id).expect("read").expect("the lease")
}

/// The balances of every account the tests use plus both escrows: conservation holds when it
/// equals the supply minted.
fn supply(h: &Harness) -> Amount {
    let balances: Amount = (0..=255u8).filter_map(|k| h.account(k)).map(|a| a.balance).sum();
    let held = balances
        + crate::funds::query::escrow_total(&h.store).expect("read")
        + query::escrow_total(&h.store).expect("read");
    assert_eq!(held, crate::accounts::query::supply(&h.store).expect("read"), "money is conserved");
    held
}

/// Housing set up; the landlord holds certificates for properties `XA-1` (entry 1) and `XA-2`
/// (entry 2), both anchored, and consented to listing (consents 0 and 1).
fn world() -> (Harness, String, String) {
    let mut h = harness();
    housing_setup(&mut h);
    let (a, b) = (certificate(LANDLORD, "XA-1", 1), certificate(LANDLORD, "XA-2", 2));
    ok(&mut h, HOUSING, vec![anchor(&a, 1), anchor(&b, 2)]);
    ok(&mut h, LANDLORD, vec![consent(), consent()]);
    (h, a, b)
}

#[test]
fn a_lease_from_listing_to_deposit_release() {
    let (mut h, a, _) = world();
    let start = supply(&h);
    let now = h.next_secs();
    ok(&mut h, LANDLORD, vec![list(present(&a, LANDLORD, &did(LANDLORD), now), Some(0), None)]);
    let listing = query::listing(&h.store, 0).expect("read").expect("listed");
    assert_eq!((listing.status, listing.landlord, listing.property), (ListingStatus::Active, did(LANDLORD), 0));
    let property = query::property(&h.store, 0).expect("read").expect("the property");
    assert_eq!((property.reference.as_str(), property.address.as_str()), ("XA-1", "XA-1 Rongxi Road"));
    assert_eq!((property.floor_area_m2, property.listing, property.housing), (Some(86), Some(0), did(HOUSING)));
    assert_eq!(query::property_by_ref(&h.store, &did(HOUSING), "XA-1").expect("read"), Some(0));
    // The verification is in the landlord's access log, under the consent, which it used.
    let consent = crate::credentials::query::consent(&h.store, 0).expect("read").expect("consent");
    assert_eq!(consent.uses, 1);
    let log = crate::credentials::query::access_by(&h.store, &did(HOUSING), 0, 10).expect("read").0;
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].1.purpose.as_str(), log[0].1.outcome.as_str()), (LISTING_PURPOSE, "ok"));

    // The offer, signed by the tenant: deposit into escrow, filed with housing.
    let terms = lease_terms(0, 26);
    ok(&mut h, LANDLORD, vec![r(RentalInstruction::OfferLease { listing: 0, tenant: did(TENANT), terms })]);
    assert_eq!(lease(&h, 0).status, LeaseStatus::Offered);
    let tenant_before = h.balance(TENANT);
    ok(&mut h, TENANT, vec![r(RentalInstruction::SignLease { lease: 0, version: 1 })]);
    let l = lease(&h, 0);
    assert_eq!((l.status, l.version, l.filing.as_str(), l.deposit.held), (LeaseStatus::Active, 1, "1970-000001", 20));
    assert_eq!(h.balance(TENANT), tenant_before - 20);
    assert_eq!(query::escrow_total(&h.store).expect("read"), 20);
    assert_eq!(query::listing(&h.store, 0).expect("read").expect("listing").status, ListingStatus::Leased);
    assert_eq!(query::list_len(&h.store, &RentalList::Filings(did(HOUSING))).expect("read"), 1);
    assert_eq!(supply(&h), start);

    // 26 weeks paid at once: 14 weeks are due within three months (to the landlord), the rest
    // waits in escrow.
    ok(&mut h, TENANT, vec![r(RentalInstruction::PayRent { lease: 0, amount: 260 })]);
    let l = lease(&h, 0);
    assert_eq!((l.paid, l.to_landlord, l.rent_escrow), (260, 130, 130), "weeks 0 to 12 fall due by 1 April");
    assert_eq!(h.balance(LANDLORD), 130);
    assert_eq!(supply(&h), start);
    refused(&mut h, LANDLORD, RentalInstruction::CollectRent { lease: 0 }, "nothing_to_collect");
    h.advance(15 * DAY_SECS * 1000);
    ok(&mut h, LANDLORD, vec![r(RentalInstruction::CollectRent { lease: 0 })]);
    assert_eq!(lease(&h, 0).to_landlord, 160, "three more weeks came within three months");

    // An amendment binds only once the other party signs it.
    let mut raised = lease_terms(0, 26);
    raised.deposit = 30;
    ok(&mut h, LANDLORD, vec![r(RentalInstruction::AmendLease { lease: 0, terms: raised.clone() })]);
    assert_eq!(lease(&h, 0).terms.deposit, 20, "a proposal changes nothing");
    refused(&mut h, LANDLORD, RentalInstruction::SignLease { lease: 0, version: 2 }, "already_signed");
    refused(&mut h, STRANGER, RentalInstruction::SignLease { lease: 0, version: 2 }, "not_a_party");
    ok(&mut h, TENANT, vec![r(RentalInstruction::SignLease { lease: 0, version: 2 })]);
    assert_eq!((lease(&h, 0).terms.deposit, lease(&h, 0).deposit.held, lease(&h, 0).version), (30, 30, 2));

    // Terminated by both: the rent for weeks after the termination goes back to the tenant.
    ok(&mut h, TENANT, vec![r(RentalInstruction::TerminateLease { lease: 0, reason: "moving".into() })]);
    assert_eq!(lease(&h, 0).status, LeaseStatus::Active, "one party's request is not enough");
    refused(
        &mut h,
        TENANT,
        RentalInstruction::TerminateLease { lease: 0, reason: "again".into() },
        "already_requested",
    );
    ok(&mut h, LANDLORD, vec![r(RentalInstruction::TerminateLease { lease: 0, reason: "agreed".into() })]);
    let l = lease(&h, 0);
    assert_eq!(l.status, LeaseStatus::Terminated);
    assert_eq!(l.periods(), 3, "weeks 0, 1 and 2 began by day 15");
    assert_eq!((l.to_landlord, l.rent_escrow, l.refunded), (160, 0, 100));
    assert_eq!(l.paid, l.to_landlord + l.rent_escrow + l.refunded);
    assert_eq!(supply(&h), start);
    refused(&mut h, TENANT, RentalInstruction::PayRent { lease: 0, amount: 1 }, "lease_ended");

    // The deposit: a claim the tenant accepts; the landlord cannot release it alone; once only.
    refused(&mut h, LANDLORD, RentalInstruction::AcceptClaim { lease: 0 }, "wrong_party");
    refused(&mut h, TENANT, RentalInstruction::AcceptClaim { lease: 0 }, "no_claim");
    let claim = RentalInstruction::ClaimDeposit { lease: 0, amount: 5, reason: "a broken tile".into() };
    refused(&mut h, TENANT, claim.clone(), "wrong_party");
    ok(&mut h, LANDLORD, vec![r(claim.clone())]);
    refused(&mut h, LANDLORD, claim, "already_claimed");
    refused(&mut h, LANDLORD, RentalInstruction::AcceptClaim { lease: 0 }, "wrong_party");
    let (landlord, tenant) = (h.balance(LANDLORD), h.balance(TENANT));
    ok(&mut h, TENANT, vec![r(RentalInstruction::AcceptClaim { lease: 0 })]);
    let released = lease(&h, 0).deposit.released.expect("released");
    assert_eq!((released.to_landlord, released.to_tenant, released.kind), (5, 25, ReleaseKind::Agreed));
    assert_eq!((h.balance(LANDLORD), h.balance(TENANT)), (landlord + 5, tenant + 25));
    refused(&mut h, TENANT, RentalInstruction::AcceptClaim { lease: 0 }, "deposit_released");
    assert_eq!(query::escrow_total(&h.store).expect("read"), 0);
    assert_eq!(supply(&h), start);

    // The property's history holds all of it, in order.
    let (n, events) = query::list_page(&h.store, &RentalList::History(0), 0, 100).expect("read");
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            civitas_types::rental::RentalEntry::Event(e) => e.kind.name(),
            _ => "?",
        })
        .collect();
    assert_eq!(n, 6);
    assert_eq!(kinds, ["listed", "offered", "signed", "signed", "terminated", "deposit_released"]);
}

#[test]
fn listing_refuses_bad_certificates_strangers_and_second_listings() {
    let (mut h, a, b) = world();
    let now = h.next_secs();
    // Tampered: a disclosure's value changed, so its digest is not in the signed JWT.
    let good = present(&a, LANDLORD, &did(LANDLORD), now);
    let mut parts: Vec<String> = good.split('~').map(str::to_owned).collect();
    parts[1] = sdjwt::Disclosure::new(&[7; 16], "property_id", json!("XA-999")).encoded;
    let tampered = parts.join("~");
    let code = failed_code(&run(&mut h, LANDLORD, vec![list(tampered, Some(0), None)])).map(str::to_owned);
    assert_eq!(code.as_deref(), Some("unreferenced_disclosure"));
    // Someone else's property: a stranger presents the landlord's certificate (bound to the
    // landlord's key), with a key binding the stranger signed, or one the landlord signed for
    // someone else.
    let forged = present(&a, STRANGER, &did(STRANGER), now);
    refused_list(&mut h, STRANGER, forged, Some(0), "bad_key_binding_signature");
    let not_for_them = present(&a, LANDLORD, &did(STRANGER), now);
    refused_list(&mut h, STRANGER, not_for_them, Some(0), "not_the_owner");
    // A stranger's own certificate names them, not the landlord's property's owner; but an
    // unanchored one is refused.
    refused_list(
        &mut h,
        LANDLORD,
        present(&certificate(LANDLORD, "XA-3", 3), LANDLORD, &did(LANDLORD), now),
        Some(0),
        "unanchored_credential",
    );
    // Without the consent the policy requires; for another audience; stale.
    refused_list(&mut h, LANDLORD, present(&a, LANDLORD, &did(LANDLORD), now), None, "consent_required");
    refused_list(&mut h, LANDLORD, present(&a, LANDLORD, &did(AGENT), now), Some(0), "wrong_audience");
    let old = present(&a, LANDLORD, &did(LANDLORD), 0);
    h.advance(2 * DAY_SECS * 1000);
    refused_list(&mut h, LANDLORD, old, Some(0), "key_binding_time");
    // A revoked certificate.
    let revoke = CredentialInstruction::SetCredentialStatus {
        status_index: 2,
        status: CredentialStatus::Revoked,
        by: did(HOUSING),
    };
    ok(&mut h, HOUSING, vec![Instruction::Credentials(revoke)]);
    let now = h.next_secs();
    refused_list(&mut h, LANDLORD, present(&b, LANDLORD, &did(LANDLORD), now), Some(1), "credential_revoked");
    // Listed once; the same presentation again, and a second active listing, are refused.
    let first = present(&a, LANDLORD, &did(LANDLORD), now);
    ok(&mut h, LANDLORD, vec![list(first.clone(), Some(0), None)]);
    refused_list(&mut h, LANDLORD, present(&a, LANDLORD, &did(LANDLORD), now + 1), Some(0), "already_listed");
    // Withdrawn (by the landlord only), then listed again by an agent on the landlord's
    // authorization (the key binding names the agent).
    refused(&mut h, STRANGER, RentalInstruction::WithdrawListing { listing: 0, by: None }, "not_a_party");
    ok(&mut h, LANDLORD, vec![r(RentalInstruction::WithdrawListing { listing: 0, by: None })]);
    refused(&mut h, LANDLORD, RentalInstruction::WithdrawListing { listing: 0, by: None }, "listing_not_active");
    // The presentation it was listed with lists no more.
    refused_list(&mut h, LANDLORD, first, Some(0), "presentation_used");
    let authorization = present(&a, LANDLORD, &did(AGENT), now + 2);
    ok(&mut h, AGENT, vec![list(authorization, Some(0), Some(AGENT))]);
    let relisted = query::listing(&h.store, 1).expect("read").expect("listing");
    assert_eq!((relisted.property, relisted.agent, relisted.landlord), (0, Some(did(AGENT)), did(LANDLORD)));
    // The agent's listing is an official act of the agent, in the audit trail.
    let (entries, _) = crate::audit::query::page(&h.store, Some(&did(AGENT)), 0, 10).expect("read");
    assert_eq!(entries.len(), 1);
}

fn refused_list(h: &mut Harness, signer: u8, presentation: String, consent: Option<u64>, code: &str) {
    let listings = query::list_len(&h.store, &RentalList::Listings).expect("read");
    let uses = |h: &Harness| {
        consent.and_then(|c| crate::credentials::query::consent(&h.store, c).expect("read")).map(|c| c.uses)
    };
    let before = uses(h);
    let outcome = run(h, signer, vec![list(presentation, consent, None)]);
    assert_eq!(failed_code(&outcome), Some(code), "{outcome:?}");
    assert_eq!(query::list_len(&h.store, &RentalList::Listings).expect("read"), listings, "nothing listed");
    assert_eq!(uses(h), before, "the consent was not used");
}

/// A lease on a fresh listing of `XA-1`: offered and signed.
fn signed_lease(h: &mut Harness, a: &str, terms: LeaseTerms) -> u64 {
    let listing = query::list_len(&h.store, &RentalList::Listings).expect("read");
    // Each listing a presentation of its own (the chain refuses one used before).
    let iat = h.next_secs() + listing;
    ok(h, LANDLORD, vec![list(present(a, LANDLORD, &did(LANDLORD), iat), Some(0), None)]);
    let id = crate::counters::read_u64(&h.store, b"rent/n/lease").expect("read");
    ok(h, LANDLORD, vec![r(RentalInstruction::OfferLease { listing, tenant: did(TENANT), terms })]);
    ok(h, TENANT, vec![r(RentalInstruction::SignLease { lease: id, version: 1 })]);
    id
}

#[test]
fn an_unclaimed_deposit_goes_back_to_the_tenant_by_itself_and_disputes_go_to_housing() {
    let (mut h, a, _) = world();
    let start = supply(&h);
    // A two-week lease; no claim within its 14 claim days.
    let id = signed_lease(&mut h, &a, lease_terms(0, 2));
    refused(
        &mut h,
        LANDLORD,
        RentalInstruction::ClaimDeposit { lease: id, amount: 1, reason: "x".into() },
        "lease_not_ended",
    );
    refused(&mut h, STRANGER, RentalInstruction::OpenDispute { lease: id, reason: "x".into() }, "not_a_party");
    let tenant = h.balance(TENANT);
    h.advance(27 * DAY_SECS * 1000);
    ok(
        &mut h,
        STRANGER,
        vec![Instruction::Accounts(civitas_types::AccountInstruction::Transfer { to: did(3), amount: 1 })],
    );
    assert!(lease(&h, id).deposit.released.is_none(), "the window closes on day 28");
    h.advance(2 * DAY_SECS * 1000);
    ok(
        &mut h,
        STRANGER,
        vec![Instruction::Accounts(civitas_types::AccountInstruction::Transfer { to: did(3), amount: 1 })],
    );
    let released = lease(&h, id).deposit.released.expect("released by the sweep");
    assert_eq!((released.kind, released.to_tenant), (ReleaseKind::Automatic, 20));
    assert_eq!(h.balance(TENANT), tenant + 20);
    refused(
        &mut h,
        LANDLORD,
        RentalInstruction::ClaimDeposit { lease: id, amount: 1, reason: "x".into() },
        "deposit_released",
    );
    assert_eq!(supply(&h), start);

    // A dispute: the housing department (only it) ends the lease and splits the deposit.
    let now = h.next_secs();
    let id = signed_lease(&mut h, &a, lease_terms(now, 10));
    let decide = |terminate, amount| RentalInstruction::DecideDispute {
        lease: id,
        terminate,
        deposit_to_landlord: amount,
        reason: "the heating was never repaired".into(),
        by: did(HOUSING),
    };
    refused(&mut h, HOUSING, decide(true, None), "no_dispute");
    ok(&mut h, TENANT, vec![r(RentalInstruction::OpenDispute { lease: id, reason: "no heating".into() })]);
    refused(&mut h, TENANT, RentalInstruction::OpenDispute { lease: id, reason: "again".into() }, "dispute_open");
    refused(&mut h, LANDLORD, decide(true, None), "not_an_official");
    refused(&mut h, HOUSING, decide(false, Some(1)), "lease_not_ended");
    refused(&mut h, HOUSING, decide(true, Some(21)), "exceeds_deposit");
    ok(&mut h, HOUSING, vec![r(decide(true, Some(8)))]);
    let l = lease(&h, id);
    assert_eq!(l.status, LeaseStatus::Terminated);
    let released = l.deposit.released.expect("decided");
    assert_eq!((released.kind, released.to_landlord, released.to_tenant), (ReleaseKind::Decided, 8, 12));
    assert!(l.dispute.is_none());
    refused(&mut h, TENANT, RentalInstruction::PayRent { lease: id, amount: 1 }, "lease_ended");
    assert_eq!(supply(&h), start);
    // The decision is an official act of housing.
    let (entries, _) = crate::audit::query::page(&h.store, Some(&did(HOUSING)), 0, 100).expect("read");
    assert!(entries.iter().any(|(_, e)| e.instruction == "decide_dispute"));
}

#[test]
fn a_lease_grants_its_lock_for_its_term_and_termination_revokes_it() {
    use civitas_types::device::testing::CertSpec;
    use civitas_types::device::{Capabilities, DeviceInstruction};
    let (mut h, pai) = crate::devices::tests::device_world();
    housing_setup(&mut h);
    let a = certificate(LANDLORD, "XA-1", 1);
    ok(&mut h, HOUSING, vec![anchor(&a, 1)]);
    ok(&mut h, LANDLORD, vec![consent()]);
    let model = DeviceInstruction::RegisterModel {
        vendor_id: 0xFFF1,
        product_id: 0x8005,
        device_type: 0x0A,
        name: "Door lock".into(),
        capabilities: Capabilities {
            properties: vec!["lock_state".into()],
            actions: vec!["lock".into(), "unlock".into()],
            events: vec!["door_forced".into()],
        },
        by: did(18),
    };
    let version = DeviceInstruction::AddModelVersion {
        vendor_id: 0xFFF1,
        product_id: 0x8005,
        software_version: 1,
        version_string: "1.0".into(),
        checksum: Hash([6; 32]),
        ota_url: "https://ota.kitchen.example/lock".into(),
        min_applicable: 0,
        max_applicable: 0,
        by: did(18),
    };
    ok(&mut h, 18, vec![Instruction::Devices(model), Instruction::Devices(version)]);
    let certify = DeviceInstruction::CertifyModelVersion {
        vendor_id: 0xFFF1,
        product_id: 0x8005,
        software_version: 1,
        certified: true,
        reason: String::new(),
        by: did(19),
    };
    ok(&mut h, 19, vec![Instruction::Devices(certify)]);
    let dac_key = civitas_types::device::testing::TestKey::new(20);
    let dac = pai.issue(&CertSpec { pid: Some("8005"), ..CertSpec::dac() }, &dac_key);
    let lock = crate::devices::tests::device_id(60);
    ok(
        &mut h,
        LANDLORD,
        vec![
            Instruction::Devices(crate::devices::tests::register(dac, &dac_key, 60, 1)),
            Instruction::Devices(crate::devices::tests::bind(60, LANDLORD, 60)),
        ],
    );
    let now = h.next_secs();
    let mut terms = lease_terms(now + DAY_SECS, 4);
    // The hood (not a lock) is refused.
    terms.lock = Some(crate::devices::tests::device_id(61));
    ok(&mut h, LANDLORD, vec![list(present(&a, LANDLORD, &did(LANDLORD), now), Some(0), None)]);
    refused(
        &mut h,
        LANDLORD,
        RentalInstruction::OfferLease { listing: 0, tenant: did(TENANT), terms: terms.clone() },
        "not_a_lock",
    );
    terms.lock = Some(lock);
    ok(
        &mut h,
        LANDLORD,
        vec![r(RentalInstruction::OfferLease { listing: 0, tenant: did(TENANT), terms: terms.clone() })],
    );
    let grant = |h: &Harness| crate::devices::query::grant(&h.store, &lock, &did(TENANT)).expect("read");
    assert!(grant(&h).is_none(), "no grant before signing");
    ok(&mut h, TENANT, vec![r(RentalInstruction::SignLease { lease: 0, version: 1 })]);
    let g = grant(&h).expect("granted at signing");
    assert_eq!((g.not_before, g.not_after, g.by), (terms.start, terms.end, did(LANDLORD)));
    assert_eq!(g.capabilities, ["unlock", "lock", "lock_state"]);
    ok(&mut h, LANDLORD, vec![r(RentalInstruction::TerminateLease { lease: 0, reason: "sold".into() })]);
    ok(&mut h, TENANT, vec![r(RentalInstruction::TerminateLease { lease: 0, reason: "fine".into() })]);
    assert!(grant(&h).is_none(), "termination revokes the grant");
}

#[derive(Debug, Clone)]
enum Op {
    Pay(u8, Amount),
    Collect(u8),
    Amend(u8, u8, u64),
    Sign(u8, u8),
    Terminate(u8, u8),
    Claim(u8, Amount),
    Accept(u8),
    Dispute(u8, u8),
    Decide(u8, bool, Option<Amount>),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let lease = 0u8..3;
    let party = prop_oneof![Just(LANDLORD), Just(TENANT)];
    prop_oneof![
        (lease.clone(), 1u128..120).prop_map(|(l, a)| Op::Pay(l, a)),
        lease.clone().prop_map(Op::Collect),
        (lease.clone(), party.clone(), 1u64..40).prop_map(|(l, p, w)| Op::Amend(l, p, w)),
        (lease.clone(), party.clone()).prop_map(|(l, p)| Op::Sign(l, p)),
        (lease.clone(), party.clone()).prop_map(|(l, p)| Op::Terminate(l, p)),
        (lease.clone(), 0u128..30).prop_map(|(l, a)| Op::Claim(l, a)),
        lease.clone().prop_map(Op::Accept),
        (lease.clone(), party).prop_map(|(l, p)| Op::Dispute(l, p)),
        (lease, any::<bool>(), proptest::option::of(0u128..25)).prop_map(|(l, t, a)| Op::Decide(l, t, a)),
        (1u64..30).prop_map(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random sequences of rent, amendments, terminations, claims, disputes and time over three
    /// leases, failed operations included: after every block the supply is the balances plus
    /// both escrows, the rental escrow is the sum of what the leases hold, each lease's rent
    /// account balances, and no deposit is paid out twice or past what it held.
    #[test]
    fn money_is_conserved_and_deposits_are_released_once(ops in prop::collection::vec(op(), 1..40)) {
        let (mut h, a, _) = world();
        let start = supply(&h);
        let now = h.next_secs();
        let leases: Vec<u64> = (0..3).map(|i| signed_lease(&mut h, &a, lease_terms(now, 4 + 8 * i))).collect();
        let mut versions = [1u32; 3];
        for op in ops {
            let (signer, i) = match op {
                Op::Pay(l, amount) => (TENANT, RentalInstruction::PayRent { lease: leases[l as usize], amount }),
                Op::Collect(l) => (LANDLORD, RentalInstruction::CollectRent { lease: leases[l as usize] }),
                Op::Amend(l, p, weeks) => {
                    let mut t = lease(&h, leases[l as usize]).terms;
                    t.end = t.start + weeks * 7 * DAY_SECS;
                    t.rent = 10 + weeks as u128 % 3;
                    t.deposit = 15 + weeks as u128 % 10;
                    (p, RentalInstruction::AmendLease { lease: leases[l as usize], terms: t })
                }
                Op::Sign(l, p) => {
                    versions[l as usize] = lease(&h, leases[l as usize]).latest;
                    (p, RentalInstruction::SignLease { lease: leases[l as usize], version: versions[l as usize] })
                }
                Op::Terminate(l, p) => (p, RentalInstruction::TerminateLease { lease: leases[l as usize], reason: "r".into() }),
                Op::Claim(l, amount) => (LANDLORD, RentalInstruction::ClaimDeposit { lease: leases[l as usize], amount, reason: "r".into() }),
                Op::Accept(l) => (TENANT, RentalInstruction::AcceptClaim { lease: leases[l as usize] }),
                Op::Dispute(l, p) => (p, RentalInstruction::OpenDispute { lease: leases[l as usize], reason: "r".into() }),
                Op::Decide(l, terminate, amount) => (HOUSING, RentalInstruction::DecideDispute {
                    lease: leases[l as usize], terminate, deposit_to_landlord: amount, reason: "r".into(), by: did(HOUSING),
                }),
                Op::Wait(days) => {
                    h.advance(days * DAY_SECS * 1000);
                    (STRANGER, RentalInstruction::CollectRent { lease: leases[0] })
                }
            };
            let _ = run(&mut h, signer, vec![r(i)]);
            prop_assert_eq!(supply(&h), start);
            let mut held = 0;
            for id in &leases {
                let l = lease(&h, *id);
                prop_assert_eq!(l.paid, l.to_landlord + l.rent_escrow + l.refunded);
                prop_assert!(l.paid <= l.total_rent() || l.status == LeaseStatus::Terminated);
                if let Some(rel) = &l.deposit.released {
                    prop_assert_eq!(l.deposit.held, 0);
                    prop_assert!(rel.to_landlord <= rel.to_landlord + rel.to_tenant);
                }
                held += l.rent_escrow + l.deposit.held;
            }
            prop_assert_eq!(query::escrow_total(&h.store).expect("read"), held);
        }
    }
}
