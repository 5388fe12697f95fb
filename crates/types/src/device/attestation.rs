//! Matter device attestation: parsing a Device Attestation Certificate (DAC), its Product
//! Attestation Intermediate (PAI) and Product Attestation Authority (PAA), checking each
//! against the Matter certificate profile, the chain of signatures, validity at a given time
//! (the block's: no clock is read), the vendor and product ids, and the device's proof of
//! possession of its DAC key.
//!
//! The profile, as the Matter specification sets it for the three levels: X.509 v3,
//! ecdsa-with-SHA256 over P-256 keys (uncompressed points), a critical basicConstraints and
//! keyUsage and a 20-byte subjectKeyIdentifier on each; an authorityKeyIdentifier on the PAI and
//! DAC naming their issuer's key. A PAA is a CA whose path length, if given, is 1, may name a
//! vendor id and no product id; a PAI is a CA with path length 0 and a vendor id (a product id
//! optionally); a DAC is no CA, may only sign (digitalSignature), and names a vendor and a
//! product id. The ids are the subject attributes 1.3.6.1.4.1.37244.2.1 and .2.2, each a
//! UTF8String of four uppercase hex digits. The DAC's vendor id is its PAI's (and its PAA's if
//! that names one); a PAI that names a product id names the DAC's. The chain is always three
//! certificates.
//!
//! Certificates are parsed with `x509-cert` (strict DER) and signatures checked with `p256`.

use x509_cert::Certificate;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode as _, Reader as _, SliceReader, Tag, Tagged as _};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use x509_cert::name::Name;

use crate::Hash;

/// Largest certificate accepted, in bytes (Matter's are about 500).
pub const CERT_DER_BYTES_MAX: usize = 2048;
/// Largest possession challenge, in bytes.
pub const CHALLENGE_BYTES_MAX: usize = 256;

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// The Matter vendor id subject attribute.
pub const VENDOR_ID_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.37244.2.1");
/// The Matter product id subject attribute.
pub const PRODUCT_ID_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.37244.2.2");

/// The level of a certificate in an attestation chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Product Attestation Authority: a root, approved by the council.
    Paa,
    /// Product Attestation Intermediate: a vendor's CA, signed by a PAA.
    Pai,
    /// Device Attestation Certificate: one device's, signed by a PAI.
    Dac,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Paa => "PAA",
            Level::Pai => "PAI",
            Level::Dac => "DAC",
        }
    }
}

/// Why an attestation certificate or chain is refused. [`AttestationError::code`] is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// Not a DER X.509 certificate, or too large.
    #[error("{0} is not a DER X.509 certificate: {1}")]
    Malformed(&'static str, String),
    /// Not ecdsa-with-SHA256 over a P-256 key.
    #[error("{0} is not signed with ecdsa-with-SHA256 or its key is not an uncompressed P-256 point")]
    Algorithm(&'static str),
    /// Breaks the Matter certificate profile for its level.
    #[error("{0} breaks the Matter profile: {1}")]
    Profile(&'static str, &'static str),
    /// Names another issuer (subject or key identifier) than the certificate above it.
    #[error("{0} was not issued by the {1} given")]
    WrongIssuer(&'static str, &'static str),
    /// Its issuer's signature does not verify.
    #[error("{0}'s signature does not verify with its issuer's key")]
    BadSignature(&'static str),
    /// Not valid yet at the time of the check.
    #[error("{0} is not valid before {1} (unix seconds)")]
    NotYetValid(&'static str, u64),
    /// Expired at the time of the check.
    #[error("{0} expired at {1} (unix seconds)")]
    Expired(&'static str, u64),
    /// Vendor ids do not agree along the chain.
    #[error("the vendor ids do not agree: {0}")]
    VendorMismatch(String),
    /// Product ids do not agree along the chain.
    #[error("the product ids do not agree: {0}")]
    ProductMismatch(String),
    /// The device's signature over the challenge does not verify with its DAC key.
    #[error("the device's signature over the challenge does not verify with its DAC key")]
    BadPossession,
}

impl AttestationError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AttestationError::Malformed(..) => "malformed_certificate",
            AttestationError::Algorithm(_) => "unsupported_algorithm",
            AttestationError::Profile(..) => "certificate_profile",
            AttestationError::WrongIssuer(..) => "wrong_issuer",
            AttestationError::BadSignature(_) => "bad_certificate_signature",
            AttestationError::NotYetValid(..) => "certificate_not_yet_valid",
            AttestationError::Expired(..) => "certificate_expired",
            AttestationError::VendorMismatch(_) => "vendor_mismatch",
            AttestationError::ProductMismatch(_) => "product_mismatch",
            AttestationError::BadPossession => "bad_possession_signature",
        }
    }
}

/// An attestation certificate that parsed and fits the Matter profile of its level; its
/// signature is not checked yet ([`check_chain`] does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationCert {
    /// Its level.
    pub level: Level,
    /// SHA-256 of its DER: how the chain refers to it.
    pub fingerprint: Hash,
    /// Its subject name, DER.
    pub subject: Vec<u8>,
    /// Its issuer name, DER.
    pub issuer: Vec<u8>,
    /// Its serial number's bytes.
    pub serial: Vec<u8>,
    /// Its subject key identifier (20 bytes).
    pub subject_key_id: Vec<u8>,
    /// Its authority key identifier (absent on a PAA).
    pub authority_key_id: Option<Vec<u8>>,
    /// The vendor id in its subject.
    pub vendor_id: Option<u16>,
    /// The product id in its subject.
    pub product_id: Option<u16>,
    /// Valid from (unix seconds).
    pub not_before: u64,
    /// Valid until (unix seconds; 253402300799 is Matter's "no expiry").
    pub not_after: u64,
    /// Its public key, an uncompressed SEC1 P-256 point.
    pub public_key: [u8; 65],
    tbs: Vec<u8>,
    signature: Vec<u8>,
}

fn malformed(level: Level) -> impl Fn(x509_cert::der::Error) -> AttestationError {
    move |e| AttestationError::Malformed(level.name(), e.to_string())
}

/// The vendor or product id attribute `oid` of `name`: one at most, a UTF8String of four
/// uppercase hex digits.
fn id_attribute(name: &Name, oid: ObjectIdentifier, level: Level) -> Result<Option<u16>, AttestationError> {
    let mut found = name.iter().filter(|a| a.oid == oid);
    let Some(attribute) = found.next() else { return Ok(None) };
    if found.next().is_some() {
        return Err(AttestationError::Profile(level.name(), "a vendor or product id appears twice"));
    }
    let value = &attribute.value;
    let text = value.value();
    let hex_ok = text.len() == 4 && text.iter().all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c));
    if value.tag() != Tag::Utf8String || !hex_ok {
        return Err(AttestationError::Profile(level.name(), "a vendor or product id is not four uppercase hex digits"));
    }
    let text = std::str::from_utf8(text).map_err(|_| AttestationError::Profile(level.name(), "non-UTF-8 id"))?;
    u16::from_str_radix(text, 16).map(Some).map_err(|_| AttestationError::Profile(level.name(), "bad id"))
}

/// The exact TBSCertificate bytes of `der` (what the issuer signed).
fn tbs_bytes(der: &[u8]) -> Result<Vec<u8>, x509_cert::der::Error> {
    let mut reader = SliceReader::new(der)?;
    let tbs = reader.sequence(|r| {
        let tbs = r.tlv_bytes()?;
        r.tlv_bytes()?;
        r.tlv_bytes()?;
        Ok::<_, x509_cert::der::Error>(tbs)
    })?;
    reader.finish()?;
    Ok(tbs.to_vec())
}

/// Parses `der` as a certificate of `level` and checks it against the Matter profile.
pub fn parse(der: &[u8], level: Level) -> Result<AttestationCert, AttestationError> {
    let name = level.name();
    if der.len() > CERT_DER_BYTES_MAX {
        return Err(AttestationError::Malformed(name, format!("over {CERT_DER_BYTES_MAX} bytes")));
    }
    let cert = Certificate::from_der(der).map_err(malformed(level))?;
    let tbs = cert.tbs_certificate();
    let profile = |why: &'static str| AttestationError::Profile(name, why);
    if tbs.version() != x509_cert::certificate::Version::V3 {
        return Err(profile("not X.509 version 3"));
    }
    if cert.signature_algorithm().oid != ECDSA_WITH_SHA256 || tbs.signature().oid != ECDSA_WITH_SHA256 {
        return Err(AttestationError::Algorithm(name));
    }
    let spki = tbs.subject_public_key_info();
    let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let point = spki.subject_public_key.as_bytes().unwrap_or_default();
    let public_key: [u8; 65] = match (spki.algorithm.oid == EC_PUBLIC_KEY, curve == Some(PRIME256V1), point) {
        (true, true, p) if p.len() == 65 && p[0] == 4 => p.try_into().map_err(|_| AttestationError::Algorithm(name))?,
        _ => return Err(AttestationError::Algorithm(name)),
    };
    if p256::ecdsa::VerifyingKey::from_sec1_bytes(&public_key).is_err() {
        return Err(AttestationError::Algorithm(name));
    }
    let signature = cert.signature().as_bytes().ok_or_else(|| profile("the signature has unused bits"))?.to_vec();
    let constraints = tbs.get_extension::<BasicConstraints>().map_err(malformed(level))?;
    let usage = tbs.get_extension::<KeyUsage>().map_err(malformed(level))?;
    let (Some((true, constraints)), Some((true, usage))) = (constraints, usage) else {
        return Err(profile("basicConstraints and keyUsage must be present and critical"));
    };
    let subject_key_id = match tbs.get_extension::<SubjectKeyIdentifier>().map_err(malformed(level))? {
        Some((_, ski)) if ski.0.as_bytes().len() == 20 => ski.0.as_bytes().to_vec(),
        _ => return Err(profile("a 20-byte subjectKeyIdentifier is required")),
    };
    let authority_key_id = match tbs.get_extension::<AuthorityKeyIdentifier>().map_err(malformed(level))? {
        Some((_, aki)) => aki.key_identifier.map(|k| k.as_bytes().to_vec()),
        None => None,
    };
    let vendor_id = id_attribute(tbs.subject(), VENDOR_ID_OID, level)?;
    let product_id = id_attribute(tbs.subject(), PRODUCT_ID_OID, level)?;
    let signs_certificates = usage.key_cert_sign() && usage.crl_sign();
    // The CA levels may also sign (digitalSignature); a DAC may do nothing else.
    let ca_usage_only = usage.0.bits() & !(KEY_CERT_SIGN | CRL_SIGN | DIGITAL_SIGNATURE) == 0;
    match level {
        Level::Paa => {
            if !constraints.ca || constraints.path_len_constraint.is_some_and(|n| n != 1) {
                return Err(profile("a PAA is a CA whose path length, if given, is 1"));
            }
            if !signs_certificates || !ca_usage_only {
                return Err(profile("a PAA's key usage is keyCertSign and cRLSign (and digitalSignature)"));
            }
            if product_id.is_some() {
                return Err(profile("a PAA names no product id"));
            }
        }
        Level::Pai => {
            if !constraints.ca || constraints.path_len_constraint != Some(0) {
                return Err(profile("a PAI is a CA with path length 0"));
            }
            if !signs_certificates || !ca_usage_only {
                return Err(profile("a PAI's key usage is keyCertSign and cRLSign (and digitalSignature)"));
            }
            if vendor_id.is_none() {
                return Err(profile("a PAI names its vendor id"));
            }
        }
        Level::Dac => {
            if constraints.ca || constraints.path_len_constraint.is_some() {
                return Err(profile("a DAC is not a CA"));
            }
            if usage.0.bits() != DIGITAL_SIGNATURE {
                return Err(profile("a DAC's key usage is digitalSignature alone"));
            }
            if vendor_id.is_none() || product_id.is_none() {
                return Err(profile("a DAC names its vendor id and product id"));
            }
        }
    }
    if level != Level::Paa && authority_key_id.is_none() {
        return Err(profile("an authorityKeyIdentifier naming the issuer's key is required"));
    }
    use x509_cert::der::Encode as _;
    Ok(AttestationCert {
        level,
        fingerprint: Hash::digest(der),
        subject: tbs.subject().to_der().map_err(malformed(level))?,
        issuer: tbs.issuer().to_der().map_err(malformed(level))?,
        serial: tbs.serial_number().as_bytes().to_vec(),
        subject_key_id,
        authority_key_id,
        vendor_id,
        product_id,
        not_before: tbs.validity().not_before.to_unix_duration().as_secs(),
        not_after: tbs.validity().not_after.to_unix_duration().as_secs(),
        public_key,
        tbs: tbs_bytes(der).map_err(malformed(level))?,
        signature,
    })
}

// keyUsage bits as x509-cert numbers them (flagset over the named bits, bit 0 first).
const DIGITAL_SIGNATURE: u16 = 1 << 0;
const KEY_CERT_SIGN: u16 = 1 << 5;
const CRL_SIGN: u16 = 1 << 6;

impl AttestationCert {
    /// Whether it is valid at `now` (unix seconds).
    pub fn check_validity(&self, now: u64) -> Result<(), AttestationError> {
        if now < self.not_before {
            return Err(AttestationError::NotYetValid(self.level.name(), self.not_before));
        }
        if now > self.not_after {
            return Err(AttestationError::Expired(self.level.name(), self.not_after));
        }
        Ok(())
    }

    /// Checks that `issuer` issued it: the names and key identifiers match, and the issuer's
    /// key verifies its signature.
    pub fn check_issued_by(&self, issuer: &AttestationCert) -> Result<(), AttestationError> {
        if self.issuer != issuer.subject || self.authority_key_id.as_ref().is_some_and(|a| *a != issuer.subject_key_id)
        {
            return Err(AttestationError::WrongIssuer(self.level.name(), issuer.level.name()));
        }
        if !verify_p256(&issuer.public_key, &self.tbs, &self.signature) {
            return Err(AttestationError::BadSignature(self.level.name()));
        }
        Ok(())
    }

    /// Checks the device's ECDSA-SHA256 signature (DER) over `challenge` with this DAC's key:
    /// proof that the device holds the key the certificate certifies.
    pub fn check_possession(&self, challenge: &[u8], signature: &[u8]) -> Result<(), AttestationError> {
        if challenge.len() > CHALLENGE_BYTES_MAX || !verify_p256(&self.public_key, challenge, signature) {
            return Err(AttestationError::BadPossession);
        }
        Ok(())
    }
}

/// Whether the ECDSA-SHA256 signature `der` (DER, parsed strictly by `p256` on every target so
/// that all validators accept the same encodings) over `message` verifies with the P-256 point
/// `key` (uncompressed, checked to be on the curve when its certificate was parsed). AWS-LC
/// verifies where it is built for commonware anyway, about four times faster than `p256`;
/// elsewhere `p256` does.
fn verify_p256(key: &[u8; 65], message: &[u8], der: &[u8]) -> bool {
    let Ok(signature) = p256::ecdsa::Signature::from_der(der) else { return false };
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key).verify(message, &signature.to_bytes()).is_ok()
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        p256::ecdsa::VerifyingKey::from_sec1_bytes(key).is_ok_and(|k| k.verify(message, &signature).is_ok())
    }
}

/// Checks a whole chain at `now` (unix seconds, the block's time): each certificate fits its
/// level, the PAA signed itself and the PAI, the PAI signed the DAC, all three are valid now,
/// and the vendor and product ids agree. Returns the parsed DAC.
pub fn check_chain(
    dac: &[u8],
    pai: &AttestationCert,
    paa: &AttestationCert,
    now: u64,
) -> Result<AttestationCert, AttestationError> {
    if pai.level != Level::Pai || paa.level != Level::Paa {
        return Err(AttestationError::Profile("chain", "the intermediate must be a PAI and the root a PAA"));
    }
    paa.check_issued_by(paa)?;
    pai.check_issued_by(paa)?;
    check_dac(dac, pai, paa, now)
}

/// [`check_chain`] for a PAI and PAA whose signatures were checked before (when the chain
/// trusted them, say): parses the DAC, checks that the PAI signed it, that all three are valid
/// at `now`, and that the vendor and product ids agree. One signature check instead of three.
pub fn check_dac(
    dac: &[u8],
    pai: &AttestationCert,
    paa: &AttestationCert,
    now: u64,
) -> Result<AttestationCert, AttestationError> {
    let dac = parse(dac, Level::Dac)?;
    if pai.level != Level::Pai || paa.level != Level::Paa {
        return Err(AttestationError::Profile("chain", "the intermediate must be a PAI and the root a PAA"));
    }
    if pai.issuer != paa.subject || pai.authority_key_id.as_ref().is_some_and(|a| *a != paa.subject_key_id) {
        return Err(AttestationError::WrongIssuer(pai.level.name(), paa.level.name()));
    }
    dac.check_issued_by(pai)?;
    for cert in [paa, pai, &dac] {
        cert.check_validity(now)?;
    }
    let (dac_vid, dac_pid) = (dac.vendor_id, dac.product_id);
    if dac_vid != pai.vendor_id || paa.vendor_id.is_some_and(|v| Some(v) != pai.vendor_id) {
        return Err(AttestationError::VendorMismatch(format!(
            "DAC {dac_vid:04X?}, PAI {:04X?}, PAA {:04X?}",
            pai.vendor_id, paa.vendor_id
        )));
    }
    if pai.product_id.is_some_and(|p| Some(p) != dac_pid) {
        return Err(AttestationError::ProductMismatch(format!("DAC {dac_pid:04X?}, PAI {:04X?}", pai.product_id)));
    }
    Ok(dac)
}

#[cfg(test)]
#[path = "attestation_tests.rs"]
mod tests;
