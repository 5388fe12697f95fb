//! A Matter-shaped PKI for tests, demos and benchmarks (feature `test-pki`): P-256 keys from seed
//! bytes and PAA, PAI and DAC certificates made with rcgen (no crypto backend: p256 signs, so
//! the certificates are deterministic), right or deliberately wrong.

use p256::ecdsa::signature::Signer as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    PublicKeyData, SignatureAlgorithm, SigningKey,
};

use super::attestation::Level;
use crate::Hash;

/// Matter's "no expiry" (99991231235959Z), in unix seconds.
pub const NO_EXPIRY: i64 = 253_402_300_799;

/// A P-256 key from a seed byte, or from 32 bytes.
pub struct TestKey {
    secret: p256::ecdsa::SigningKey,
    point: Vec<u8>,
}

impl TestKey {
    /// The key whose secret scalar is 32 copies of `seed` (not zero).
    pub fn new(seed: u8) -> TestKey {
        TestKey::from_bytes([seed; 32]).expect("a nonzero byte repeated is a scalar")
    }

    /// The key whose secret scalar is `secret` (big-endian), if that is a scalar: not zero and
    /// below the group order, as all but about 2^-32 of random 32-byte strings are. For more
    /// keys than [`TestKey::new`] has seeds (a benchmark's devices).
    pub fn from_bytes(secret: [u8; 32]) -> Option<TestKey> {
        let secret = p256::ecdsa::SigningKey::from_slice(&secret).ok()?;
        let point = secret.verifying_key().to_sec1_point(false).as_bytes().to_vec();
        Some(TestKey { secret, point })
    }

    /// The key whose secret scalar is `secret` (32 random bytes, say: a demo PKI's keys);
    /// `None` if the bytes are not a scalar (zero, or not below the group order).
    pub fn from_secret(secret: &[u8; 32]) -> Option<TestKey> {
        let secret = p256::ecdsa::SigningKey::from_slice(secret).ok()?;
        let point = secret.verifying_key().to_sec1_point(false).as_bytes().to_vec();
        Some(TestKey { secret, point })
    }

    /// Its secret as a PKCS#8 PEM document (`-----BEGIN PRIVATE KEY-----`, what `openssl
    /// genpkey` writes): the form a device's DAC key file takes outside a secure element.
    pub fn to_pkcs8_pem(&self) -> String {
        use p256::pkcs8::EncodePrivateKey as _;
        self.secret
            .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .map(|pem| pem.to_string())
            .expect("a P-256 secret key always encodes as PKCS#8")
    }

    /// Its uncompressed public point.
    pub fn public(&self) -> &[u8] {
        &self.point
    }

    /// Its ECDSA-SHA256 signature over `message`, DER (as a device signs a challenge).
    pub fn sign_der(&self, message: &[u8]) -> Vec<u8> {
        let signature: p256::ecdsa::Signature = self.secret.sign(message);
        signature.to_der().as_bytes().to_vec()
    }

    /// Its subject key identifier in test certificates (20 bytes of SHA-256 of the point).
    pub fn key_id(&self) -> Vec<u8> {
        Hash::digest(&self.point).0[..20].to_vec()
    }
}

impl PublicKeyData for TestKey {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for TestKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(self.sign_der(message))
    }
}

/// What a test certificate says.
#[derive(Debug, Clone)]
pub struct CertSpec {
    /// Its common name.
    pub name: &'static str,
    /// Its vendor id attribute, as written (four uppercase hex digits when right).
    pub vid: Option<&'static str>,
    /// Its product id attribute.
    pub pid: Option<&'static str>,
    /// Its level: the basic constraints and key usage it gets.
    pub level: Level,
    /// Its validity, unix seconds.
    pub window: (i64, i64),
}

impl CertSpec {
    /// A PAA of vendor FFF1, valid from 1970 with no expiry.
    pub fn paa() -> CertSpec {
        CertSpec { name: "Civitas Test PAA", vid: Some("FFF1"), pid: None, level: Level::Paa, window: (0, NO_EXPIRY) }
    }

    /// A PAI of vendor FFF1.
    pub fn pai() -> CertSpec {
        CertSpec { name: "Civitas Test PAI", vid: Some("FFF1"), pid: None, level: Level::Pai, window: (0, NO_EXPIRY) }
    }

    /// A DAC of vendor FFF1, product 8001.
    pub fn dac() -> CertSpec {
        CertSpec {
            name: "Range hood 0042",
            vid: Some("FFF1"),
            pid: Some("8001"),
            level: Level::Dac,
            window: (0, NO_EXPIRY),
        }
    }

    fn params(&self, key: &TestKey) -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, self.name);
        if let Some(v) = self.vid {
            p.distinguished_name.push(DnType::CustomDnType(vec![1, 3, 6, 1, 4, 1, 37244, 2, 1]), v);
        }
        if let Some(v) = self.pid {
            p.distinguished_name.push(DnType::CustomDnType(vec![1, 3, 6, 1, 4, 1, 37244, 2, 2]), v);
        }
        use KeyUsagePurpose::*;
        (p.is_ca, p.key_usages) = match self.level {
            Level::Paa => (IsCa::Ca(BasicConstraints::Constrained(1)), vec![KeyCertSign, CrlSign]),
            Level::Pai => (IsCa::Ca(BasicConstraints::Constrained(0)), vec![KeyCertSign, CrlSign]),
            Level::Dac => (IsCa::ExplicitNoCa, vec![DigitalSignature]),
        };
        p.not_before = time::OffsetDateTime::from_unix_timestamp(self.window.0).expect("a time");
        p.not_after = time::OffsetDateTime::from_unix_timestamp(self.window.1).expect("a time");
        // A positive serial unique to the key, as X.509 wants each issuer's serials unique.
        p.serial_number = Some([&[0x01][..], &key.key_id()[..8]].concat().into());
        p.key_identifier_method = KeyIdMethod::PreSpecified(key.key_id());
        p.use_authority_key_identifier_extension = true;
        p
    }
}

/// A test CA: its certificate and what it needs to issue.
pub struct Ca {
    /// Its certificate, DER.
    pub der: Vec<u8>,
    issuer: Issuer<'static, TestKey>,
}

impl Ca {
    /// A self-signed CA (a PAA) of `spec` with `key`.
    pub fn root(spec: &CertSpec, key: TestKey) -> Ca {
        let params = spec.params(&key);
        let der = params.self_signed(&key).expect("self-signed").der().to_vec();
        Ca { der, issuer: Issuer::new(params, key) }
    }

    /// A CA (a PAI) of `spec` with `key`, issued by this one.
    pub fn intermediate(&self, spec: &CertSpec, key: TestKey) -> Ca {
        let params = spec.params(&key);
        let der = params.signed_by(&key, &self.issuer).expect("signed").der().to_vec();
        Ca { der, issuer: Issuer::new(params, key) }
    }

    /// An end-entity certificate (a DAC) of `spec` for `key`, issued by this CA.
    pub fn issue(&self, spec: &CertSpec, key: &TestKey) -> Vec<u8> {
        spec.params(key).signed_by(key, &self.issuer).expect("signed").der().to_vec()
    }

    /// A CA that names this one's subject and key identifier but signs with `forger`.
    pub fn forged(spec: &CertSpec, named_key: &TestKey, forger: TestKey) -> Ca {
        let params = spec.params(named_key);
        Ca { der: Vec::new(), issuer: Issuer::new(params, forger) }
    }
}

#[cfg(test)]
mod tests {
    use p256::pkcs8::DecodePrivateKey as _;

    use super::*;

    #[test]
    fn a_key_from_secret_bytes_exports_as_pkcs8_pem_that_reads_back_as_the_same_key() {
        assert!(TestKey::from_secret(&[0; 32]).is_none(), "zero is no scalar");
        assert!(TestKey::from_secret(&[0xFF; 32]).is_none(), "above the group order");
        let key = TestKey::from_secret(&[7; 32]).expect("a scalar");
        assert_eq!(key.public(), TestKey::new(7).public());
        let pem = key.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        let read = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).expect("PKCS#8 PEM");
        assert_eq!(read.verifying_key().to_sec1_point(false).as_bytes(), key.public());
    }
}
