//! Target over device attestation certificates (X.509 DER in devices' registration
//! instructions).

use std::sync::OnceLock;

use civitas_types::device::attestation::{self, AttestationCert, Level};

use crate::fixtures::NOW_SECS;

/// The Matter specification's example chain, which the types crate's tests accept.
const PAA_DER: &[u8] = include_bytes!("../../types/src/device/testdata/matter-spec-paa.der");
const PAI_DER: &[u8] = include_bytes!("../../types/src/device/testdata/matter-spec-pai.der");
const DAC_DER: &[u8] = include_bytes!("../../types/src/device/testdata/matter-spec-dac.der");

/// The example PAA, PAI and DAC, parsed once.
fn chain() -> &'static (AttestationCert, AttestationCert, AttestationCert) {
    static CHAIN: OnceLock<(AttestationCert, AttestationCert, AttestationCert)> = OnceLock::new();
    CHAIN.get_or_init(|| {
        (
            attestation::parse(PAA_DER, Level::Paa).expect("the Matter specification's PAA parses (types' tests)"),
            attestation::parse(PAI_DER, Level::Pai).expect("the Matter specification's PAI parses (types' tests)"),
            attestation::parse(DAC_DER, Level::Dac).expect("the Matter specification's DAC parses (types' tests)"),
        )
    })
}

/// An attestation certificate at each level (`attestation::parse`), a DAC checked against the
/// example chain (`check_dac`), and the same bytes split into a challenge and a DER signature
/// for the example DAC's proof of possession.
pub fn device_certificate(data: &[u8]) {
    let (paa, pai, dac) = chain();
    for level in [Level::Paa, Level::Pai, Level::Dac] {
        if let Ok(cert) = attestation::parse(data, level) {
            let _ = cert.check_validity(NOW_SECS);
            let _ = cert.check_issued_by(&cert);
            let _ = cert.check_issued_by(paa);
        }
    }
    let _ = attestation::check_dac(data, pai, paa, NOW_SECS);
    let (challenge, signature) = data.split_at(data.len() / 2);
    let _ = dac.check_possession(challenge, signature);
}
