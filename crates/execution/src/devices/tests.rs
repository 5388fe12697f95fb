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

#[test]
fn models_and_versions_are_registered_by_their_vendor_and_certified_by_a_certification_body() {
    use civitas_types::device::{Capabilities, Certification};
    const CERTIFIER: u8 = 19;
    let mut h = harness();
    assert_eq!(run(&mut h, MANUFACTURER, claim(0xFFF1)), None);
    let model = |pid: u16, capabilities: Capabilities| DeviceInstruction::RegisterModel {
        vendor_id: if pid == 0x8099 { 0xFFF2 } else { 0xFFF1 },
        product_id: pid,
        device_type: 0x7A,
        name: "Range hood".into(),
        capabilities,
        by: did(MANUFACTURER),
    };
    let hood = Capabilities {
        properties: vec!["fan_speed".into(), "light".into()],
        actions: vec!["boost".into()],
        events: vec!["grease_filter_full".into()],
    };
    // Capabilities are named once each, in a-z 0-9 _; there must be one.
    let twice = Capabilities { actions: vec!["light".into()], ..hood.clone() };
    assert_eq!(run(&mut h, MANUFACTURER, model(0x8001, twice)).as_deref(), Some("bad_field"));
    let upper = Capabilities { properties: vec!["Fan".into()], ..Capabilities::default() };
    assert_eq!(run(&mut h, MANUFACTURER, model(0x8001, upper)).as_deref(), Some("bad_field"));
    assert_eq!(run(&mut h, MANUFACTURER, model(0x8001, Capabilities::default())).as_deref(), Some("bad_field"));
    let other_vendor = model(0x8099, hood.clone());
    assert_eq!(run(&mut h, MANUFACTURER, other_vendor).as_deref(), Some("unknown_vendor"));
    assert_eq!(run(&mut h, MANUFACTURER, model(0x8001, hood.clone())), None);
    assert_eq!(run(&mut h, MANUFACTURER, model(0x8001, hood.clone())).as_deref(), Some("model_exists"));
    assert!(query::model(&h.store, 0xFFF1, 0x8001).expect("read").is_some_and(|m| m.capabilities.contains("boost")));
    // Versions: an https URL, applicable versions below the new one, once each.
    let version = |software_version: u32, url: &str, max: u32| DeviceInstruction::AddModelVersion {
        vendor_id: 0xFFF1,
        product_id: if software_version == 9 { 0x8009 } else { 0x8001 },
        software_version,
        version_string: format!("1.{software_version}"),
        checksum: Hash([6; 32]),
        ota_url: url.into(),
        min_applicable: 0,
        max_applicable: max,
        by: did(MANUFACTURER),
    };
    let url = "https://ota.kitchen.example/hood";
    assert_eq!(run(&mut h, MANUFACTURER, version(2, "http://insecure.example", 1)).as_deref(), Some("bad_field"));
    assert_eq!(run(&mut h, MANUFACTURER, version(2, url, 2)).as_deref(), Some("bad_field"));
    let unknown = version(9, url, 1);
    assert_eq!(run(&mut h, MANUFACTURER, unknown).as_deref(), Some("unknown_model"));
    assert_eq!(run(&mut h, MANUFACTURER, version(2, url, 1)), None);
    assert_eq!(run(&mut h, MANUFACTURER, version(2, url, 1)).as_deref(), Some("model_version_exists"));
    // Certification: by a certification body only; revocation is final and needs a reason.
    let certify_by = |by: u8, certified: bool, reason: &str| DeviceInstruction::CertifyModelVersion {
        vendor_id: 0xFFF1,
        product_id: 0x8001,
        software_version: 2,
        certified,
        reason: reason.into(),
        by: did(by),
    };
    let certify = |certified: bool, reason: &str| certify_by(CERTIFIER, certified, reason);
    let by_vendor = certify_by(MANUFACTURER, true, "");
    assert_eq!(run(&mut h, MANUFACTURER, by_vendor).as_deref(), Some("permission_denied"));
    assert_eq!(run(&mut h, CERTIFIER, certify(false, "unsafe")).as_deref(), Some("not_certified"));
    assert_eq!(run(&mut h, CERTIFIER, certify(true, "")), None);
    assert_eq!(run(&mut h, CERTIFIER, certify(true, "")).as_deref(), Some("already_certified"));
    assert_eq!(run(&mut h, CERTIFIER, certify(false, "")).as_deref(), Some("bad_field"));
    assert_eq!(run(&mut h, CERTIFIER, certify(false, "gas valve fault")), None);
    let status = query::model_version(&h.store, 0xFFF1, 0x8001, 2).expect("read").expect("the version").certification;
    assert!(matches!(status, Certification::Revoked { .. }), "{status:?}");
    assert_eq!(run(&mut h, CERTIFIER, certify(true, "")).as_deref(), Some("certification_revoked"));
}
