use civitas_types::council::CouncilAction;
use civitas_types::device::testing::{Ca, CertSpec, TestKey};
use civitas_types::device::{CertLevel, DeviceInstruction};
use civitas_types::{CouncilInstruction, Hash, Instruction};

use super::query;
use crate::tests::{Harness, did, failed_code, harness, tx};

const MANUFACTURER: u8 = 18;
const STRANGER: u8 = 2;

fn device(i: DeviceInstruction) -> Vec<Instruction> {
    vec![Instruction::Devices(i)]
}

fn run(h: &mut Harness, signer: u8, i: DeviceInstruction) -> Option<String> {
    let outcome = h.run(tx(h, signer, device(i)));
    failed_code(&outcome).map(str::to_owned)
}

fn claim(vid: u16) -> DeviceInstruction {
    DeviceInstruction::ClaimVendorId { vendor_id: vid, name: "Kitchen".into(), by: did(MANUFACTURER) }
}

fn add_pai(der: &[u8]) -> DeviceInstruction {
    DeviceInstruction::AddPai { certificate: der.to_vec(), by: did(MANUFACTURER) }
}

/// The council (10 proposes, 12 approves) passes `action`; the receipt's code, if it failed.
fn council(h: &mut Harness, action: CouncilAction) -> Option<String> {
    let propose = CouncilInstruction::Propose { action, ttl_blocks: 100, by: did(10) };
    if let Some(code) = failed_code(&h.run(tx(h, 10, vec![Instruction::Council(propose)]))) {
        return Some(code.to_owned());
    }
    let id = crate::counters::read_u64(&h.store, b"council/next-proposal").expect("read").saturating_sub(1);
    let approve = CouncilInstruction::Approve { proposal: id, by: did(12) };
    failed_code(&h.run(tx(h, 12, vec![Instruction::Council(approve)]))).map(str::to_owned)
}

#[test]
fn a_vendor_adds_a_pai_under_a_council_approved_paa_and_revokes_it() {
    let mut h = harness();
    let paa = Ca::root(&CertSpec::paa(), TestKey::new(1));
    let pai = paa.intermediate(&CertSpec::pai(), TestKey::new(2));
    // Only a manufacturer's official claims a vendor id, once; 0 is reserved.
    assert_eq!(run(&mut h, STRANGER, claim(0xFFF1)).as_deref(), Some("not_an_official"));
    assert_eq!(run(&mut h, MANUFACTURER, claim(0)).as_deref(), Some("vendor_id_taken"));
    assert_eq!(run(&mut h, MANUFACTURER, claim(0xFFF1)), None);
    assert_eq!(run(&mut h, MANUFACTURER, claim(0xFFF1)).as_deref(), Some("vendor_id_taken"));
    assert_eq!(query::vendor(&h.store, 0xFFF1).expect("read").map(|v| v.org), Some(did(MANUFACTURER)));
    // No PAI before the council trusts its root.
    assert_eq!(run(&mut h, MANUFACTURER, add_pai(&pai.der)).as_deref(), Some("unknown_paa"));
    assert_eq!(
        council(&mut h, CouncilAction::AddPaa { certificate: b"not a certificate".to_vec() }).as_deref(),
        Some("malformed_certificate")
    );
    assert_eq!(council(&mut h, CouncilAction::AddPaa { certificate: paa.der.clone() }), None);
    let trusted = query::certificate(&h.store, &TestKey::new(1).key_id()).expect("read").expect("the PAA");
    assert_eq!((trusted.level, trusted.vendor_id), (CertLevel::Paa, Some(0xFFF1)));
    assert_eq!(
        council(&mut h, CouncilAction::AddPaa { certificate: paa.der.clone() }).as_deref(),
        Some("already_trusted")
    );
    // The PAI is checked and trusted; a second time it is refused.
    assert_eq!(run(&mut h, MANUFACTURER, add_pai(&pai.der)), None);
    let trusted = query::certificate(&h.store, &TestKey::new(2).key_id()).expect("read").expect("the PAI");
    assert_eq!((trusted.level, trusted.issuer_key_id), (CertLevel::Pai, Some(TestKey::new(1).key_id())));
    assert_eq!(run(&mut h, MANUFACTURER, add_pai(&pai.der)).as_deref(), Some("already_trusted"));
    // Revoked for good: its status is provable, and it cannot come back.
    let revoke = |reason: &str| DeviceInstruction::RevokePai {
        subject_key_id: TestKey::new(2).key_id(),
        reason: reason.into(),
        by: did(MANUFACTURER),
    };
    assert_eq!(run(&mut h, MANUFACTURER, revoke("")).as_deref(), Some("bad_field"));
    assert_eq!(run(&mut h, MANUFACTURER, revoke("key compromise")), None);
    assert!(query::certificate_revocation(&h.store, &TestKey::new(2).key_id()).expect("read").is_some());
    assert_eq!(run(&mut h, MANUFACTURER, revoke("again")).as_deref(), Some("certificate_revoked"));
    // A device certificate revoked by fingerprint, by its vendor only.
    let dac = DeviceInstruction::RevokeDac {
        fingerprint: Hash([9; 32]),
        vendor_id: 0xFFF1,
        reason: "cloned".into(),
        by: did(MANUFACTURER),
    };
    assert_eq!(run(&mut h, MANUFACTURER, dac.clone()), None);
    assert!(query::dac_revocation(&h.store, &Hash([9; 32])).expect("read").is_some());
    assert!(query::dac_revocation(&h.store, &Hash([8; 32])).expect("read").is_none());
    assert_eq!(run(&mut h, MANUFACTURER, dac).as_deref(), Some("certificate_revoked"));
}

#[test]
fn bad_intermediates_are_refused_with_their_code_and_change_nothing() {
    let mut h = harness();
    let paa = Ca::root(&CertSpec::paa(), TestKey::new(1));
    assert_eq!(run(&mut h, MANUFACTURER, claim(0xFFF1)), None);
    assert_eq!(council(&mut h, CouncilAction::AddPaa { certificate: paa.der.clone() }), None);
    let bad = |h: &mut Harness, der: &[u8]| run(h, MANUFACTURER, add_pai(der));
    // Malformed DER; a DAC where a PAI belongs.
    assert_eq!(bad(&mut h, b"\x30\x82\x01").as_deref(), Some("malformed_certificate"));
    let device = paa.issue(&CertSpec::dac(), &TestKey::new(3));
    assert_eq!(bad(&mut h, &device).as_deref(), Some("certificate_profile"));
    // Another vendor's PAI: the id is no one's, or another manufacturer's.
    let other_vendor = paa.intermediate(&CertSpec { vid: Some("FFF2"), ..CertSpec::pai() }, TestKey::new(4));
    assert_eq!(bad(&mut h, &other_vendor.der).as_deref(), Some("unknown_vendor"));
    // A chain to an unknown root.
    let stranger_root = Ca::root(&CertSpec { name: "Unknown PAA", ..CertSpec::paa() }, TestKey::new(5));
    let orphan = stranger_root.intermediate(&CertSpec::pai(), TestKey::new(6));
    assert_eq!(bad(&mut h, &orphan.der).as_deref(), Some("unknown_paa"));
    // A PAI forged in the trusted PAA's name; an expired one.
    let forger = Ca::forged(&CertSpec::paa(), &TestKey::new(1), TestKey::new(7));
    let forged = forger.intermediate(&CertSpec::pai(), TestKey::new(8));
    assert_eq!(bad(&mut h, &forged.der).as_deref(), Some("bad_certificate_signature"));
    let expired = paa.intermediate(&CertSpec { window: (0, 0), ..CertSpec::pai() }, TestKey::new(9));
    assert_eq!(bad(&mut h, &expired.der).as_deref(), Some("certificate_expired"));
    assert!(query::certificate(&h.store, &TestKey::new(9).key_id()).expect("read").is_none(), "nothing stored");
    // Under a revoked root, nothing.
    let revoke = CouncilAction::RevokePaa { subject_key_id: TestKey::new(1).key_id(), reason: "compromised".into() };
    assert_eq!(council(&mut h, revoke.clone()), None);
    assert_eq!(council(&mut h, revoke).as_deref(), Some("certificate_revoked"));
    let late = paa.intermediate(&CertSpec::pai(), TestKey::new(10));
    assert_eq!(bad(&mut h, &late.der).as_deref(), Some("certificate_revoked"));
    // A PAA the council would add must be valid now.
    let old_root = Ca::root(&CertSpec { window: (0, 0), ..CertSpec::paa() }, TestKey::new(11));
    assert_eq!(
        council(&mut h, CouncilAction::AddPaa { certificate: old_root.der }).as_deref(),
        Some("certificate_expired")
    );
}
