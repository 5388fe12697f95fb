use civitas_types::council::CouncilAction;
use civitas_types::device::passport::{
    Refusal, allowed, binding_statement, registration_challenge, rotation_statement,
};
use civitas_types::device::testing::{Ca, CertSpec, TestKey};
use civitas_types::device::{CertLevel, DeviceId, DeviceInstruction, DeviceList, DeviceStatus, ListEntry, Passport};
use civitas_types::{CouncilInstruction, Hash, Instruction};

use super::query;
use crate::tests::{CHAIN, Harness, did, failed_code, harness, key, tx};

const MANUFACTURER: u8 = 18;
const STRANGER: u8 = 2;

fn device(i: DeviceInstruction) -> Vec<Instruction> {
    vec![Instruction::Devices(i)]
}

pub(crate) fn run(h: &mut Harness, signer: u8, i: DeviceInstruction) -> Option<String> {
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

/// A chain with vendor FFF1 (18), its PAA (key 1) approved, its PAI (key 2) trusted, and the
/// range hood FFF1/8001 with software version 2 certified and version 3 not.
pub(crate) fn device_world() -> (Harness, Ca) {
    use civitas_types::device::Capabilities;
    let mut h = harness();
    let paa = Ca::root(&CertSpec::paa(), TestKey::new(1));
    let pai = paa.intermediate(&CertSpec::pai(), TestKey::new(2));
    assert_eq!(run(&mut h, MANUFACTURER, claim(0xFFF1)), None);
    assert_eq!(council(&mut h, CouncilAction::AddPaa { certificate: paa.der.clone() }), None);
    assert_eq!(run(&mut h, MANUFACTURER, add_pai(&pai.der)), None);
    let capabilities = Capabilities {
        properties: vec!["fan_speed".into(), "light".into()],
        actions: vec!["boost".into()],
        events: vec!["grease_filter_full".into()],
    };
    let model = DeviceInstruction::RegisterModel {
        vendor_id: 0xFFF1,
        product_id: 0x8001,
        device_type: 0x7A,
        name: "Range hood".into(),
        capabilities,
        by: did(MANUFACTURER),
    };
    assert_eq!(run(&mut h, MANUFACTURER, model), None);
    for software_version in [2, 3] {
        let version = DeviceInstruction::AddModelVersion {
            vendor_id: 0xFFF1,
            product_id: 0x8001,
            software_version,
            version_string: format!("1.{software_version}"),
            checksum: Hash([6; 32]),
            ota_url: "https://ota.kitchen.example/hood".into(),
            min_applicable: 0,
            max_applicable: 1,
            by: did(MANUFACTURER),
        };
        assert_eq!(run(&mut h, MANUFACTURER, version), None);
    }
    let certify = DeviceInstruction::CertifyModelVersion {
        vendor_id: 0xFFF1,
        product_id: 0x8001,
        software_version: 2,
        certified: true,
        reason: String::new(),
        by: did(19),
    };
    assert_eq!(run(&mut h, 19, certify), None);
    (h, pai)
}

pub(crate) fn device_id(op: u8) -> DeviceId {
    DeviceId(key(op).public_key())
}

/// Registration of the device with DAC `dac` (whose key is `dac_key`) and operational key `op`.
pub(crate) fn register(dac: Vec<u8>, dac_key: &TestKey, op: u8, software_version: u32) -> DeviceInstruction {
    let possession = dac_key.sign_der(&registration_challenge(CHAIN, &key(op).public_key()));
    DeviceInstruction::RegisterDevice { dac, operational_key: key(op).public_key(), software_version, possession }
}

pub(crate) fn bind(op: u8, owner: u8, signer_key: u8) -> DeviceInstruction {
    let statement = binding_statement(CHAIN, &device_id(op), &did(owner), 0);
    DeviceInstruction::BindDevice {
        device: device_id(op),
        owner: did(owner),
        device_signature: key(signer_key).sign(&statement),
    }
}

fn passport(h: &Harness, op: u8) -> Passport {
    query::passport(&h.store, &device_id(op)).expect("read").expect("the passport")
}

#[test]
fn registration_checks_the_whole_attestation_and_refuses_each_fault_with_its_code() {
    let (mut h, pai) = device_world();
    let dac_key = TestKey::new(20);
    let dac = pai.issue(&CertSpec::dac(), &dac_key);
    let reg = |dac: Vec<u8>, version: u32| register(dac, &dac_key, 40, version);
    let refused = |h: &mut Harness, i: DeviceInstruction| run(h, STRANGER, i);
    assert_eq!(refused(&mut h, reg(b"\x30\x03\x02\x01\x00".to_vec(), 2)).as_deref(), Some("malformed_certificate"));
    // A chain to a root the council never approved.
    let unknown_root = Ca::root(&CertSpec { name: "Unknown PAA", ..CertSpec::paa() }, TestKey::new(5));
    let unknown_pai = unknown_root.intermediate(&CertSpec::pai(), TestKey::new(6));
    let orphan = unknown_pai.issue(&CertSpec::dac(), &dac_key);
    assert_eq!(refused(&mut h, reg(orphan, 2)).as_deref(), Some("unknown_certificate"));
    // A DAC of another vendor under this vendor's PAI; an expired one; one for an unknown model.
    let other = pai.issue(&CertSpec { vid: Some("FFF2"), ..CertSpec::dac() }, &dac_key);
    assert_eq!(refused(&mut h, reg(other, 2)).as_deref(), Some("vendor_mismatch"));
    let expired = pai.issue(&CertSpec { window: (0, 0), ..CertSpec::dac() }, &dac_key);
    assert_eq!(refused(&mut h, reg(expired, 2)).as_deref(), Some("certificate_expired"));
    let stove = pai.issue(&CertSpec { pid: Some("8002"), ..CertSpec::dac() }, &dac_key);
    assert_eq!(refused(&mut h, reg(stove, 2)).as_deref(), Some("unknown_model"));
    // A version not certified, or never released.
    assert_eq!(refused(&mut h, reg(dac.clone(), 3)).as_deref(), Some("not_certified"));
    assert_eq!(refused(&mut h, reg(dac.clone(), 7)).as_deref(), Some("unknown_model_version"));
    // A possession signature by another key, or over another operational key.
    let wrong_key = register(dac.clone(), &TestKey::new(21), 40, 2);
    assert_eq!(refused(&mut h, wrong_key).as_deref(), Some("bad_possession_signature"));
    let DeviceInstruction::RegisterDevice { possession, .. } = reg(dac.clone(), 2) else { unreachable!() };
    let swapped = DeviceInstruction::RegisterDevice {
        dac: dac.clone(),
        operational_key: key(41).public_key(),
        software_version: 2,
        possession,
    };
    assert_eq!(refused(&mut h, swapped).as_deref(), Some("bad_possession_signature"));
    assert!(query::passport(&h.store, &device_id(40)).expect("read").is_none(), "nothing registered");
    // Right: an unbound, active passport; the same DAC registers once.
    assert_eq!(refused(&mut h, reg(dac.clone(), 2)), None);
    let p = passport(&h, 40);
    assert_eq!((p.vendor_id, p.product_id, p.software_version), (0xFFF1, 0x8001, 2));
    assert_eq!((p.owner, p.status, p.registered_by), (None, DeviceStatus::Active, did(STRANGER)));
    assert_eq!(p.dac_fingerprint, Hash::digest(&dac));
    let again = register(dac.clone(), &dac_key, 41, 2);
    assert_eq!(refused(&mut h, again).as_deref(), Some("dac_registered"));
    // Revoking the DAC revokes the registered device, for good.
    let revoke = DeviceInstruction::RevokeDac {
        fingerprint: Hash::digest(&dac),
        vendor_id: 0xFFF1,
        reason: "cloned".into(),
        by: did(MANUFACTURER),
    };
    assert_eq!(run(&mut h, MANUFACTURER, revoke), None);
    assert_eq!(passport(&h, 40).status, DeviceStatus::Revoked);
    assert_eq!(run(&mut h, 2, bind(40, 2, 40)).as_deref(), Some("device_revoked"));
    // A revoked PAA stops every registration under it.
    let revoke_root =
        CouncilAction::RevokePaa { subject_key_id: TestKey::new(1).key_id(), reason: "compromised".into() };
    assert_eq!(council(&mut h, revoke_root), None);
    let late_key = TestKey::new(22);
    let late = register(pai.issue(&CertSpec::dac(), &late_key), &late_key, 42, 2);
    assert_eq!(refused(&mut h, late).as_deref(), Some("certificate_revoked"));
    // Every trust and revocation is listed in order, and each entry decodes.
    let entries = |h: &Harness, list: DeviceList| {
        let (total, raw) = query::list_page(&h.store, &list, 0, 10).expect("read");
        assert_eq!(total as usize, raw.len());
        raw.iter().map(|e| list.decode_entry(e).expect("an entry")).collect::<Vec<_>>()
    };
    assert_eq!(entries(&h, DeviceList::Paas), vec![ListEntry::Certificate(TestKey::new(1).key_id())]);
    assert_eq!(entries(&h, DeviceList::Pais(0xFFF1)), vec![ListEntry::Certificate(TestKey::new(2).key_id())]);
    assert_eq!(entries(&h, DeviceList::Models(0xFFF1)), vec![ListEntry::Product(0x8001)]);
    assert_eq!(entries(&h, DeviceList::Versions(0xFFF1, 0x8001)), vec![ListEntry::Version(2), ListEntry::Version(3)]);
    assert_eq!(
        entries(&h, DeviceList::Revocations),
        vec![ListEntry::RevokedDac(Hash::digest(&dac)), ListEntry::RevokedCertificate(TestKey::new(1).key_id())]
    );
    assert_eq!(query::list_page(&h.store, &DeviceList::Versions(0xFFF1, 0x8001), 1, 10).expect("read").1.len(), 1);
}

#[test]
fn a_device_is_bound_granted_transferred_rotated_and_decommissioned_by_its_owners() {
    const OWNER: u8 = 2;
    const BUYER: u8 = 3;
    const HUB: u8 = 4;
    let (mut h, pai) = device_world();
    let hub = vec![Instruction::Accounts(civitas_types::AccountInstruction::RegisterAccount)];
    assert_eq!(failed_code(&h.run(tx(&h, HUB, hub))), None);
    let dac_key = TestKey::new(20);
    assert_eq!(run(&mut h, OWNER, register(pai.issue(&CertSpec::dac(), &dac_key), &dac_key, 40, 2)), None);
    let id = device_id(40);
    // Binding needs the device's signature, for the signer; once.
    assert_eq!(run(&mut h, OWNER, bind(40, OWNER, 41)).as_deref(), Some("bad_device_signature"));
    assert_eq!(run(&mut h, OWNER, bind(40, BUYER, 40)).as_deref(), Some("owner_must_sign"));
    assert_eq!(run(&mut h, OWNER, bind(40, OWNER, 40)), None);
    assert_eq!(passport(&h, 40).owner, Some(did(OWNER)));
    assert_eq!(run(&mut h, BUYER, bind(40, BUYER, 40)).as_deref(), Some("device_bound"));
    // A grant names the model's capabilities only, in a window not yet passed.
    let grant = |capabilities: &[&str], not_after: u64| DeviceInstruction::GrantDevice {
        device: id,
        controller: did(HUB),
        capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
        not_before: 0,
        not_after,
        scene: "kitchen".into(),
    };
    assert_eq!(run(&mut h, OWNER, grant(&["ignite"], 100)).as_deref(), Some("capability_not_declared"));
    assert_eq!(run(&mut h, OWNER, grant(&["light", "light"], 100)).as_deref(), Some("capability_not_declared"));
    assert_eq!(run(&mut h, OWNER, grant(&["light"], 0)).as_deref(), Some("bad_field"));
    assert_eq!(run(&mut h, HUB, grant(&["light"], 100)).as_deref(), Some("not_the_owner"));
    assert_eq!(run(&mut h, OWNER, grant(&["light", "boost"], 100)), None);
    let kitchen = |h: &Harness, owner: u8| {
        let list = DeviceList::Scene(did(owner), "kitchen".into());
        let (_, raw) = query::list_page(&h.store, &list, 0, 10).expect("read");
        raw.iter().map(|e| list.decode_entry(e).expect("an entry")).collect::<Vec<_>>()
    };
    assert_eq!(kitchen(&h, OWNER), vec![ListEntry::Grant(id, did(HUB))], "the scene lists the grant");
    assert_eq!(run(&mut h, OWNER, grant(&["light"], 100)), None);
    assert_eq!(kitchen(&h, OWNER).len(), 1, "a new grant in the same scene is listed once");
    let mut badly_named = grant(&["light"], 100);
    if let DeviceInstruction::GrantDevice { scene, .. } = &mut badly_named {
        *scene = "My Kitchen".into();
    }
    assert_eq!(run(&mut h, OWNER, badly_named).as_deref(), Some("bad_field"));
    assert_eq!(run(&mut h, OWNER, grant(&["light", "boost"], 100)), None);
    let may = |h: &Harness, now: u64| {
        let p = query::passport(&h.store, &id).expect("read");
        let g = query::grant(&h.store, &id, &did(HUB)).expect("read");
        allowed(p.as_ref(), g.as_ref(), now).map(<[String]>::to_vec)
    };
    assert_eq!(may(&h, 50), Ok(vec!["light".to_owned(), "boost".to_owned()]));
    assert_eq!(may(&h, 101), Err(Refusal::GrantExpired), "an expired grant is of no use");
    // Suspended, nothing is in force; resumed, it is again.
    let status = |s: DeviceStatus| DeviceInstruction::SetDeviceStatus { device: id, status: s };
    assert_eq!(run(&mut h, OWNER, status(DeviceStatus::Suspended)), None);
    assert_eq!(may(&h, 50), Err(Refusal::DeviceNotActive(DeviceStatus::Suspended)));
    assert_eq!(run(&mut h, OWNER, status(DeviceStatus::Suspended)).as_deref(), Some("status_unchanged"));
    assert_eq!(run(&mut h, OWNER, status(DeviceStatus::Revoked)).as_deref(), Some("bad_field"));
    assert_eq!(run(&mut h, OWNER, status(DeviceStatus::Active)), None);
    // Key rotation: signed by the current key over the next key version; no replay.
    let new_key = key(43).public_key();
    let rotation = |signer: u8, version: u32| DeviceInstruction::RotateDeviceKey {
        device: id,
        new_key,
        device_signature: key(signer).sign(&rotation_statement(CHAIN, &id, &new_key, version)),
    };
    assert_eq!(run(&mut h, OWNER, rotation(43, 0)).as_deref(), Some("bad_device_signature"));
    assert_eq!(run(&mut h, OWNER, rotation(40, 0)), None);
    assert_eq!((passport(&h, 40).operational_key, passport(&h, 40).key_version), (new_key, 1));
    assert_eq!(run(&mut h, OWNER, rotation(40, 0)).as_deref(), Some("bad_device_signature"));
    // Transfer: only the owner offers; only the recipient accepts, once; grants end.
    let offer = DeviceInstruction::OfferDevice { device: id, to: did(BUYER) };
    assert_eq!(run(&mut h, HUB, offer.clone()).as_deref(), Some("not_the_owner"));
    assert_eq!(run(&mut h, OWNER, offer), None);
    let accept = DeviceInstruction::AcceptDevice { device: id };
    assert_eq!(run(&mut h, HUB, accept.clone()).as_deref(), Some("no_transfer_offer"));
    assert_eq!(run(&mut h, BUYER, accept.clone()), None);
    assert_eq!(run(&mut h, BUYER, accept).as_deref(), Some("no_transfer_offer"));
    assert_eq!(passport(&h, 40).owner, Some(did(BUYER)));
    assert_eq!(may(&h, 50), Err(Refusal::GrantEnded), "the previous owner's grant ended at the transfer");
    let revoke = DeviceInstruction::RevokeGrant { device: id, controller: did(HUB) };
    assert_eq!(run(&mut h, BUYER, revoke.clone()).as_deref(), Some("no_grant"));
    assert_eq!(run(&mut h, BUYER, grant(&["fan_speed"], 100)), None);
    assert_eq!(may(&h, 50), Ok(vec!["fan_speed".to_owned()]));
    assert_eq!(run(&mut h, OWNER, revoke.clone()).as_deref(), Some("not_the_owner"));
    assert_eq!(run(&mut h, BUYER, revoke), None);
    assert_eq!(may(&h, 50), Err(Refusal::NoGrant));
    // Decommissioned: final, and nothing more can be done with it.
    assert_eq!(run(&mut h, BUYER, status(DeviceStatus::Decommissioned)), None);
    for (signer, i) in [
        (BUYER, status(DeviceStatus::Active)),
        (BUYER, grant(&["light"], 100)),
        (BUYER, DeviceInstruction::OfferDevice { device: id, to: did(OWNER) }),
        (BUYER, rotation(43, 1)),
    ] {
        assert_eq!(run(&mut h, signer, i).as_deref(), Some("device_decommissioned"));
    }
    assert_eq!(may(&h, 50), Err(Refusal::DeviceNotActive(DeviceStatus::Decommissioned)));
    // Each owner's list names the device; the passport says whose it is now.
    for owner in [OWNER, BUYER] {
        let (total, raw) = query::list_page(&h.store, &DeviceList::Owned(did(owner)), 0, 10).expect("read");
        assert_eq!((total, raw), (1, vec![id.0.0.to_vec()]));
    }
}
