//! Attestation tests on a Matter-shaped PKI the tests make themselves (rcgen, signing with
//! p256): a good chain, and each way a chain can be wrong.

use p256::ecdsa::signature::Signer as _;
use rcgen::{
    BasicConstraints as Bc, CertificateParams, DnType, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PublicKeyData, SignatureAlgorithm, SigningKey,
};

use super::*;

/// A P-256 key from a seed byte, usable by rcgen.
struct Key {
    secret: p256::ecdsa::SigningKey,
    point: Vec<u8>,
}

impl Key {
    fn new(seed: u8) -> Key {
        let secret = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).expect("a scalar");
        let point = secret.verifying_key().to_sec1_point(false).as_bytes().to_vec();
        Key { secret, point }
    }

    fn key_id(&self) -> Vec<u8> {
        Hash::digest(&self.point).0[..20].to_vec()
    }
}

impl PublicKeyData for Key {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for Key {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let signature: p256::ecdsa::Signature = self.secret.sign(message);
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

const FROM: i64 = 1_700_000_000;
const NO_EXPIRY: i64 = 253_402_300_799;
const NOW: u64 = 1_800_000_000;

/// What a certificate in a test chain says.
struct Spec {
    name: &'static str,
    vid: Option<&'static str>,
    pid: Option<&'static str>,
    level: Level,
    window: (i64, i64),
}

fn params(spec: &Spec, key: &Key) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, spec.name);
    if let Some(v) = spec.vid {
        p.distinguished_name.push(DnType::CustomDnType(vec![1, 3, 6, 1, 4, 1, 37244, 2, 1]), v);
    }
    if let Some(p_id) = spec.pid {
        p.distinguished_name.push(DnType::CustomDnType(vec![1, 3, 6, 1, 4, 1, 37244, 2, 2]), p_id);
    }
    use KeyUsagePurpose::*;
    (p.is_ca, p.key_usages) = match spec.level {
        Level::Paa => (IsCa::Ca(Bc::Constrained(1)), vec![KeyCertSign, CrlSign]),
        Level::Pai => (IsCa::Ca(Bc::Constrained(0)), vec![KeyCertSign, CrlSign]),
        Level::Dac => (IsCa::ExplicitNoCa, vec![DigitalSignature]),
    };
    p.not_before = time::OffsetDateTime::from_unix_timestamp(spec.window.0).expect("time");
    p.not_after = time::OffsetDateTime::from_unix_timestamp(spec.window.1).expect("time");
    p.serial_number = Some(vec![1, 2, 3].into());
    p.key_identifier_method = KeyIdMethod::PreSpecified(key.key_id());
    p.use_authority_key_identifier_extension = true;
    p
}

fn spec(level: Level) -> Spec {
    match level {
        Level::Paa => Spec { name: "Civitas Test PAA", vid: Some("FFF1"), pid: None, level, window: (FROM, NO_EXPIRY) },
        Level::Pai => Spec { name: "Civitas Test PAI", vid: Some("FFF1"), pid: None, level, window: (FROM, NO_EXPIRY) },
        Level::Dac => {
            Spec { name: "Range hood 0042", vid: Some("FFF1"), pid: Some("8001"), level, window: (FROM, 1_900_000_000) }
        }
    }
}

/// The keys and the PAA and PAI of the test chain, and a DAC made from `dac`, signed by
/// `signer` (the PAI's key, unless a test forges).
struct Chain {
    paa: Vec<u8>,
    pai: Vec<u8>,
    dac_key: Key,
}

fn chain_with(pai_spec: Spec) -> (Chain, Issuer<'static, Key>) {
    let paa_key = Key::new(1);
    let pai_key = Key::new(2);
    let paa_params = params(&spec(Level::Paa), &paa_key);
    let paa = paa_params.self_signed(&paa_key).expect("PAA").der().to_vec();
    let paa_issuer = Issuer::new(paa_params, paa_key);
    let pai_params = params(&pai_spec, &pai_key);
    let pai = pai_params.signed_by(&pai_key, &paa_issuer).expect("PAI").der().to_vec();
    (Chain { paa, pai, dac_key: Key::new(3) }, Issuer::new(pai_params, pai_key))
}

fn dac(chain: &Chain, pai: &Issuer<'static, Key>, dac_spec: &Spec) -> Vec<u8> {
    params(dac_spec, &chain.dac_key).signed_by(&chain.dac_key, pai).expect("DAC").der().to_vec()
}

fn roots(chain: &Chain) -> (AttestationCert, AttestationCert) {
    (parse(&chain.pai, Level::Pai).expect("PAI parses"), parse(&chain.paa, Level::Paa).expect("PAA parses"))
}

#[test]
fn a_matter_chain_checks_and_gives_the_device_its_ids_and_key() {
    let (chain, pai_issuer) = chain_with(spec(Level::Pai));
    let der = dac(&chain, &pai_issuer, &spec(Level::Dac));
    let (pai, paa) = roots(&chain);
    let device = check_chain(&der, &pai, &paa, NOW).expect("a good chain");
    assert_eq!((device.vendor_id, device.product_id), (Some(0xFFF1), Some(0x8001)));
    assert_eq!(device.public_key.as_slice(), chain.dac_key.point.as_slice());
    assert_eq!(device.fingerprint, Hash::digest(&der));
    assert_eq!(paa.vendor_id, Some(0xFFF1));
    // The device proves it holds the DAC key by signing a challenge.
    let challenge = b"civitas/device/register/v1 chain tx 42";
    let signature: p256::ecdsa::Signature = chain.dac_key.secret.sign(challenge);
    device.check_possession(challenge, signature.to_der().as_bytes()).expect("possession");
    let other: p256::ecdsa::Signature = Key::new(9).secret.sign(challenge);
    assert_eq!(device.check_possession(challenge, other.to_der().as_bytes()), Err(AttestationError::BadPossession));
    assert_eq!(
        device.check_possession(b"another challenge", signature.to_der().as_bytes()),
        Err(AttestationError::BadPossession)
    );
    assert_eq!(device.check_possession(challenge, b"not DER"), Err(AttestationError::BadPossession));
}

#[test]
fn each_wrong_chain_is_refused_with_its_code() {
    let (chain, pai_issuer) = chain_with(spec(Level::Pai));
    let (pai, paa) = roots(&chain);
    let code = |der: &[u8], now: u64| check_chain(der, &pai, &paa, now).map(|_| ()).map_err(|e| e.code());
    let good = dac(&chain, &pai_issuer, &spec(Level::Dac));
    // Time comes from the block: before, within and after the DAC's window.
    assert_eq!(code(&good, FROM as u64 - 1), Err("certificate_not_yet_valid"));
    assert_eq!(code(&good, 1_900_000_001), Err("certificate_expired"));
    // Malformed and over-large input.
    assert_eq!(code(b"\x30\x03\x02\x01", NOW), Err("malformed_certificate"));
    assert_eq!(code(&vec![0x30; CERT_DER_BYTES_MAX + 1], NOW), Err("malformed_certificate"));
    let mut flipped = good.clone();
    let at = flipped.len() - 10;
    flipped[at] ^= 1;
    assert!(matches!(code(&flipped, NOW), Err("bad_certificate_signature" | "malformed_certificate")));
    // Another vendor's id under this PAI.
    let other_vendor = Spec { vid: Some("FFF2"), ..spec(Level::Dac) };
    assert_eq!(code(&dac(&chain, &pai_issuer, &other_vendor), NOW), Err("vendor_mismatch"));
    // A DAC forged by a key that is not the PAI's, naming the PAI as its issuer.
    let forger = Issuer::new(params(&spec(Level::Pai), &Key::new(2)), Key::new(7));
    assert_eq!(code(&dac(&chain, &forger, &spec(Level::Dac)), NOW), Err("bad_certificate_signature"));
    // A chain to another root: the PAI was not issued by this PAA.
    let (other_chain, _) = {
        let root_key = Key::new(5);
        let root_params = params(&Spec { name: "Another PAA", ..spec(Level::Paa) }, &root_key);
        let root = root_params.self_signed(&root_key).expect("root").der().to_vec();
        (root, ())
    };
    let other_root = parse(&other_chain, Level::Paa).expect("parses");
    assert_eq!(check_chain(&good, &pai, &other_root, NOW).map_err(|e| e.code()), Err("wrong_issuer"));
    // Profile: a DAC without a product id, a DAC that is a CA, certificates at the wrong level.
    let no_pid = Spec { pid: None, ..spec(Level::Dac) };
    assert_eq!(code(&dac(&chain, &pai_issuer, &no_pid), NOW), Err("certificate_profile"));
    let bad_id = Spec { vid: Some("fff1"), ..spec(Level::Dac) };
    assert_eq!(code(&dac(&chain, &pai_issuer, &bad_id), NOW), Err("certificate_profile"));
    assert_eq!(code(&chain.pai, NOW), Err("certificate_profile"), "a PAI is no DAC");
    assert_eq!(parse(&good, Level::Pai).map_err(|e| e.code()), Err("certificate_profile"), "a DAC is no PAI");
    assert_eq!(parse(&chain.pai, Level::Paa).map_err(|e| e.code()), Err("certificate_profile"), "path length 0");
}

#[test]
fn a_pai_that_names_a_product_binds_its_devices_to_it() {
    let (chain, pai_issuer) = chain_with(Spec { pid: Some("8001"), ..spec(Level::Pai) });
    let (pai, paa) = roots(&chain);
    assert!(check_chain(&dac(&chain, &pai_issuer, &spec(Level::Dac)), &pai, &paa, NOW).is_ok());
    let other_product = Spec { pid: Some("8002"), ..spec(Level::Dac) };
    let refused = check_chain(&dac(&chain, &pai_issuer, &other_product), &pai, &paa, NOW).map_err(|e| e.code());
    assert_eq!(refused, Err("product_mismatch"));
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
