//! Attestation tests on a Matter-shaped PKI the tests make themselves (`super::super::testing`)
//! and on the Matter specification's example chain: a good chain, and each way one can be wrong.

use super::super::testing::{Ca, CertSpec, NO_EXPIRY, TestKey};
use super::*;

const FROM: i64 = 1_700_000_000;
const NOW: u64 = 1_800_000_000;

fn dac_spec() -> CertSpec {
    CertSpec { window: (FROM, 1_900_000_000), ..CertSpec::dac() }
}

/// The test PAA (key 1) and PAI (key 2); DACs are for key 3.
fn chain_with(pai: CertSpec) -> (Ca, Ca) {
    let paa = Ca::root(&CertSpec { window: (FROM, NO_EXPIRY), ..CertSpec::paa() }, TestKey::new(1));
    let pai = paa.intermediate(&CertSpec { window: (FROM, NO_EXPIRY), ..pai }, TestKey::new(2));
    (paa, pai)
}

fn roots(paa: &Ca, pai: &Ca) -> (AttestationCert, AttestationCert) {
    (parse(&pai.der, Level::Pai).expect("PAI parses"), parse(&paa.der, Level::Paa).expect("PAA parses"))
}

#[test]
fn a_matter_chain_checks_and_gives_the_device_its_ids_and_key() {
    let (paa_ca, pai_ca) = chain_with(CertSpec::pai());
    let device_key = TestKey::new(3);
    let der = pai_ca.issue(&dac_spec(), &device_key);
    let (pai, paa) = roots(&paa_ca, &pai_ca);
    let device = check_chain(&der, &pai, &paa, NOW).expect("a good chain");
    assert_eq!((device.vendor_id, device.product_id), (Some(0xFFF1), Some(0x8001)));
    assert_eq!(device.public_key.as_slice(), device_key.public());
    assert_eq!(device.fingerprint, Hash::digest(&der));
    assert_eq!(paa.vendor_id, Some(0xFFF1));
    // The device proves it holds the DAC key by signing a challenge.
    let challenge = b"civitas/device/register/v1 chain tx 42";
    device.check_possession(challenge, &device_key.sign_der(challenge)).expect("possession");
    let other = TestKey::new(9).sign_der(challenge);
    assert_eq!(device.check_possession(challenge, &other), Err(AttestationError::BadPossession));
    let wrong_message = device.check_possession(b"another challenge", &device_key.sign_der(challenge));
    assert_eq!(wrong_message, Err(AttestationError::BadPossession));
    assert_eq!(device.check_possession(challenge, b"not DER"), Err(AttestationError::BadPossession));
}

#[test]
fn each_wrong_chain_is_refused_with_its_code() {
    let (paa_ca, pai_ca) = chain_with(CertSpec::pai());
    let (pai, paa) = roots(&paa_ca, &pai_ca);
    let key = TestKey::new(3);
    let code = |der: &[u8], now: u64| check_chain(der, &pai, &paa, now).map(|_| ()).map_err(|e| e.code());
    let good = pai_ca.issue(&dac_spec(), &key);
    // Time comes from the block: before, within and after the DAC's window.
    assert_eq!(code(&good, FROM as u64 - 1), Err("certificate_not_yet_valid"));
    assert_eq!(code(&good, 1_900_000_001), Err("certificate_expired"));
    // Malformed and over-long input.
    assert_eq!(code(b"\x30\x03\x02\x01", NOW), Err("malformed_certificate"));
    assert_eq!(code(&vec![0x30; CERT_DER_BYTES_MAX + 1], NOW), Err("malformed_certificate"));
    let mut flipped = good.clone();
    let at = flipped.len() - 10;
    flipped[at] ^= 1;
    assert!(matches!(code(&flipped, NOW), Err("bad_certificate_signature" | "malformed_certificate")));
    // Another vendor's id under this PAI.
    assert_eq!(code(&pai_ca.issue(&CertSpec { vid: Some("FFF2"), ..dac_spec() }, &key), NOW), Err("vendor_mismatch"));
    // A DAC forged by a key that is not the PAI's, naming the PAI as its issuer.
    let forger =
        Ca::forged(&CertSpec { window: (FROM, NO_EXPIRY), ..CertSpec::pai() }, &TestKey::new(2), TestKey::new(7));
    assert_eq!(code(&forger.issue(&dac_spec(), &key), NOW), Err("bad_certificate_signature"));
    // A chain to another root: the PAI was not issued by this PAA.
    let other_root = Ca::root(&CertSpec { name: "Another PAA", ..CertSpec::paa() }, TestKey::new(5));
    let other_root = parse(&other_root.der, Level::Paa).expect("parses");
    assert_eq!(check_chain(&good, &pai, &other_root, NOW).map_err(|e| e.code()), Err("wrong_issuer"));
    // Profile: a DAC without a product id, lowercase ids, certificates at the wrong level.
    assert_eq!(code(&pai_ca.issue(&CertSpec { pid: None, ..dac_spec() }, &key), NOW), Err("certificate_profile"));
    assert_eq!(
        code(&pai_ca.issue(&CertSpec { vid: Some("fff1"), ..dac_spec() }, &key), NOW),
        Err("certificate_profile")
    );
    assert_eq!(code(&pai_ca.der, NOW), Err("certificate_profile"), "a PAI is no DAC");
    assert_eq!(parse(&good, Level::Pai).map_err(|e| e.code()), Err("certificate_profile"), "a DAC is no PAI");
    assert_eq!(parse(&pai_ca.der, Level::Paa).map_err(|e| e.code()), Err("certificate_profile"), "path length 0");
}

#[test]
fn a_pai_that_names_a_product_binds_its_devices_to_it() {
    let (paa_ca, pai_ca) = chain_with(CertSpec { pid: Some("8001"), ..CertSpec::pai() });
    let (pai, paa) = roots(&paa_ca, &pai_ca);
    let key = TestKey::new(3);
    assert!(check_chain(&pai_ca.issue(&dac_spec(), &key), &pai, &paa, NOW).is_ok());
    let other_product = pai_ca.issue(&CertSpec { pid: Some("8002"), ..dac_spec() }, &key);
    assert_eq!(check_chain(&other_product, &pai, &paa, NOW).map_err(|e| e.code()), Err("product_mismatch"));
}

#[test]
fn the_matter_specification_example_chain_checks() {
    // The Matter Core Specification's example PAA, PAI and DAC (see testdata/README.md).
    let paa = parse(include_bytes!("testdata/matter-spec-paa.der"), Level::Paa).expect("the example PAA");
    let pai = parse(include_bytes!("testdata/matter-spec-pai.der"), Level::Pai).expect("the example PAI");
    let dac_der = include_bytes!("testdata/matter-spec-dac.der");
    let at = parse(dac_der, Level::Dac).expect("the example DAC").not_before + 86_400;
    let dac = check_chain(dac_der, &pai, &paa, at).expect("the example chain");
    assert_eq!(dac.vendor_id, Some(0xFFF1));
    assert!(dac.product_id.is_some());
}
