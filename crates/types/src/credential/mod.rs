//! Credentials on the chain: what an accredited issuer registers for a credential type (its
//! claims' JSON Schema and its policy), the commitment anchoring each issued credential and its
//! status entry (valid, suspended, revoked: the issuer's status list), holders' consent grants
//! to verifiers, and the access log of verifications. The credential itself (an SD-JWT VC)
//! never goes on chain; only a commitment to it does, and the access log holds commitments
//! instead of personal data.

mod instruction;
pub use instruction::CredentialInstruction;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_len};
use crate::org::OrgKind;
use crate::{Did, Hash};

/// Longest credential type (`vct`), in bytes.
pub const VCT_BYTES_MAX: usize = crate::council::VCT_BYTES_MAX;
/// Largest JSON Schema of a credential type's claims.
pub const SCHEMA_BYTES_MAX: usize = 16 * 1024;
/// Longest claim name.
pub const CLAIM_BYTES_MAX: usize = 64;
/// Most claims a policy rule or consent names.
pub const CLAIMS_MAX: usize = 64;
/// Most disclosure rules in a policy.
pub const RULES_MAX: usize = 16;
/// Longest purpose of a consent or access.
pub const PURPOSE_BYTES_MAX: usize = 256;
/// Entries in an issuer's status list (indices 0 to this, exclusive).
pub const STATUS_LIST_SIZE: u32 = 1 << 20;
/// Status entries per state record (2 bits each: 1 KiB a chunk).
pub const STATUS_CHUNK_ENTRIES: u32 = 4096;
/// Longest consent lifetime, in blocks.
pub const CONSENT_TTL_MAX: u64 = 10_000_000;
/// Most uses a consent may allow.
pub const CONSENT_USES_MAX: u32 = 1_000_000;
/// Longest outcome code in an access-log entry.
pub const OUTCOME_BYTES_MAX: usize = 64;

/// Whether `name` is a claim name: 1 to 64 bytes of letters, digits, `_` and `-`.
pub fn claim_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= CLAIM_BYTES_MAX
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Which claims may be disclosed to verifiers of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisclosureRule {
    /// The kind of organization verifying.
    pub verifier_kind: OrgKind,
    /// The claims it may see.
    pub claims: Vec<String>,
}

/// What an issuer requires of those who verify its credentials of one type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialPolicy {
    /// A verification needs the holder's consent grant.
    pub holder_consent: bool,
    /// A consent grant needs the issuer's approval.
    pub issuer_approval: bool,
    /// Which claims may be disclosed to which kinds of verifier; none: any claim to anyone.
    #[serde(default)]
    pub rules: Vec<DisclosureRule>,
}

impl CredentialPolicy {
    /// Whether a verifier of `kind` may see all of `claims`.
    pub fn allows(&self, kind: OrgKind, claims: &[String]) -> bool {
        if self.rules.is_empty() {
            return true;
        }
        self.rules.iter().any(|r| r.verifier_kind == kind && claims.iter().all(|c| r.claims.contains(c)))
    }
}

/// A credential type an issuer defined (after the council accredited it for `vct`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialType {
    /// The JSON Schema of its claims.
    pub schema: String,
    /// Its policy.
    pub policy: CredentialPolicy,
    /// When it was defined (or last changed).
    pub height: u64,
}

/// Where issuer `issuer`'s type `vct` is kept.
pub fn type_key(issuer: &Did, vct: &str) -> Vec<u8> {
    [b"cred/type/".as_slice(), issuer.as_bytes(), &Hash::digest(vct.as_bytes()).0].concat()
}

/// A credential's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CredentialStatus {
    /// Valid (Token Status List value 0).
    Valid = 0,
    /// Revoked for good (1).
    Revoked = 1,
    /// Suspended until the issuer lifts it (2).
    Suspended = 2,
}

impl CredentialStatus {
    /// From its two-bit value.
    pub fn from_bits(bits: u8) -> Option<CredentialStatus> {
        match bits {
            0 => Some(CredentialStatus::Valid),
            1 => Some(CredentialStatus::Revoked),
            2 => Some(CredentialStatus::Suspended),
            _ => None,
        }
    }

    /// Its stable name.
    pub fn name(self) -> &'static str {
        match self {
            CredentialStatus::Valid => "valid",
            CredentialStatus::Revoked => "revoked",
            CredentialStatus::Suspended => "suspended",
        }
    }
}

/// Where the chunk of issuer `issuer`'s status list holding `index` is kept: 1 KiB, two bits
/// per entry, entry `i` of the chunk in bits `2(i mod 4)` of byte `i / 4` (Token Status List
/// order).
pub fn status_chunk_key(issuer: &Did, index: u32) -> Vec<u8> {
    [b"cred/status/".as_slice(), issuer.as_bytes(), &(index / STATUS_CHUNK_ENTRIES).to_be_bytes()].concat()
}

/// Entry `index`'s status in its chunk's bytes (an absent chunk is all valid).
pub fn status_in_chunk(chunk: Option<&[u8]>, index: u32) -> Option<CredentialStatus> {
    let i = (index % STATUS_CHUNK_ENTRIES) as usize;
    let byte = chunk.map_or(0, |c| c.get(i / 4).copied().unwrap_or(0));
    CredentialStatus::from_bits((byte >> (2 * (i % 4))) & 0b11)
}

/// A chunk with entry `index` set to `status`.
pub fn set_in_chunk(chunk: Option<Vec<u8>>, index: u32, status: CredentialStatus) -> Vec<u8> {
    let mut bytes = chunk.unwrap_or_else(|| vec![0; (STATUS_CHUNK_ENTRIES / 4) as usize]);
    bytes.resize((STATUS_CHUNK_ENTRIES / 4) as usize, 0);
    let i = (index % STATUS_CHUNK_ENTRIES) as usize;
    let shift = 2 * (i % 4);
    bytes[i / 4] = (bytes[i / 4] & !(0b11 << shift)) | ((status as u8) << shift);
    bytes
}

/// An issued credential's anchor: a commitment to it (SHA-256 of its issuer-signed JWT) and
/// its type, at its status index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The commitment.
    pub commitment: Hash,
    /// Its type.
    pub vct: String,
    /// When it was anchored.
    pub height: u64,
}

/// Where issuer `issuer`'s credential at status `index` is anchored.
pub fn anchor_key(issuer: &Did, index: u32) -> Vec<u8> {
    [b"cred/anchor/".as_slice(), issuer.as_bytes(), &index.to_be_bytes()].concat()
}

/// A holder's consent to a verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The holder (who granted it).
    pub holder: Did,
    /// The verifier (an organization).
    pub verifier: Did,
    /// The issuer of the credentials it covers.
    pub issuer: Did,
    /// Their type.
    pub vct: String,
    /// Why the verifier may look.
    pub purpose: String,
    /// The claims it may see.
    pub claims: Vec<String>,
    /// The last height it may be used at.
    pub expires_height: u64,
    /// How many verifications it allows.
    pub max_uses: u32,
    /// How many it has been used for.
    pub uses: u32,
    /// Whether the issuer must approve it, and when it did.
    pub approval: Approval,
    /// When the holder withdrew it.
    pub withdrawn: Option<u64>,
    /// When it was granted.
    pub granted_height: u64,
}

/// A consent's issuer approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// The policy needs none.
    NotRequired,
    /// Waiting for the issuer.
    Pending,
    /// Approved at this height.
    Approved(u64),
}

/// Where consent `id` is kept.
pub fn consent_key(id: u64) -> Vec<u8> {
    [b"cred/consent/".as_slice(), &id.to_be_bytes()].concat()
}

/// One verification, as the verifier records it: who looked at what kind of credential, for
/// which purpose, under which consent; the holder and the presentation only as commitments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    /// The verifier organization.
    pub verifier: Did,
    /// The official who verified.
    pub official: Did,
    /// The credential's issuer.
    pub issuer: Did,
    /// Its type.
    pub vct: String,
    /// Why.
    pub purpose: String,
    /// The consent it was made under.
    pub consent: Option<u64>,
    /// The holder, as a commitment: SHA-256 of the holder key's JWK thumbprint (the holder can
    /// compute it; no one else learns who the holder is).
    pub holder_ref: Hash,
    /// The presentation, as a commitment (its `sd_hash`, or SHA-256 of it).
    pub presentation: Hash,
    /// The disclosed claims' names.
    pub disclosed: Vec<String>,
    /// `ok`, or the code of why verification failed.
    pub outcome: String,
    /// When.
    pub height: u64,
    /// The block time.
    pub timestamp_ms: u64,
}

/// Where access-log entry `n` is kept.
pub fn access_key(n: u64) -> Vec<u8> {
    [b"cred/access/".as_slice(), &n.to_be_bytes()].concat()
}

pub(crate) fn put_strings(out: &mut Vec<u8>, items: &[String]) {
    put_len(out, items.len());
    for s in items {
        put_bytes(out, s.as_bytes());
    }
}

fn read_strings(r: &mut Reader<'_>, max: usize, len: usize, what: &'static str) -> Result<Vec<String>, DecodeError> {
    r.seq(max, what, |r| r.string(len, what))
}

fn put_opt_u64(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        None => out.push(0),
        Some(h) => {
            out.push(1);
            out.extend_from_slice(&h.to_be_bytes());
        }
    }
}

fn read_opt_u64(r: &mut Reader<'_>, what: &'static str) -> Result<Option<u64>, DecodeError> {
    match r.u8(what)? {
        0 => Ok(None),
        1 => Ok(Some(r.u64(what)?)),
        tag => Err(DecodeError::UnknownTag { what, tag }),
    }
}

impl Encode for DisclosureRule {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.verifier_kind.encode_to(out);
        put_strings(out, &self.claims);
    }
}

impl Decode for DisclosureRule {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(DisclosureRule {
            verifier_kind: OrgKind::decode_from(r)?,
            claims: read_strings(r, CLAIMS_MAX, CLAIM_BYTES_MAX, "claims")?,
        })
    }
}

impl Encode for CredentialPolicy {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.holder_consent));
        out.push(u8::from(self.issuer_approval));
        crate::codec::put_seq(out, &self.rules);
    }
}

impl Decode for CredentialPolicy {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(CredentialPolicy {
            holder_consent: r.bool("holder consent")?,
            issuer_approval: r.bool("issuer approval")?,
            rules: r.seq(RULES_MAX, "rules", DisclosureRule::decode_from)?,
        })
    }
}

impl Encode for CredentialType {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.schema.as_bytes());
        self.policy.encode_to(out);
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for CredentialType {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(CredentialType {
            schema: r.string(SCHEMA_BYTES_MAX, "schema")?,
            policy: CredentialPolicy::decode_from(r)?,
            height: r.u64("height")?,
        })
    }
}

impl Encode for Anchor {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.commitment.encode_to(out);
        put_bytes(out, self.vct.as_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
    }
}

impl Decode for Anchor {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Anchor { commitment: Hash::decode_from(r)?, vct: r.string(VCT_BYTES_MAX, "vct")?, height: r.u64("height")? })
    }
}

impl Encode for Consent {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.holder.encode_to(out);
        self.verifier.encode_to(out);
        self.issuer.encode_to(out);
        put_bytes(out, self.vct.as_bytes());
        put_bytes(out, self.purpose.as_bytes());
        put_strings(out, &self.claims);
        out.extend_from_slice(&self.expires_height.to_be_bytes());
        out.extend_from_slice(&self.max_uses.to_be_bytes());
        out.extend_from_slice(&self.uses.to_be_bytes());
        match self.approval {
            Approval::NotRequired => out.push(0),
            Approval::Pending => out.push(1),
            Approval::Approved(h) => {
                out.push(2);
                out.extend_from_slice(&h.to_be_bytes());
            }
        }
        put_opt_u64(out, self.withdrawn);
        out.extend_from_slice(&self.granted_height.to_be_bytes());
    }
}

impl Decode for Consent {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Consent {
            holder: Did::decode_from(r)?,
            verifier: Did::decode_from(r)?,
            issuer: Did::decode_from(r)?,
            vct: r.string(VCT_BYTES_MAX, "vct")?,
            purpose: r.string(PURPOSE_BYTES_MAX, "purpose")?,
            claims: read_strings(r, CLAIMS_MAX, CLAIM_BYTES_MAX, "claims")?,
            expires_height: r.u64("expires")?,
            max_uses: r.u32("max uses")?,
            uses: r.u32("uses")?,
            approval: match r.u8("approval")? {
                0 => Approval::NotRequired,
                1 => Approval::Pending,
                2 => Approval::Approved(r.u64("approved")?),
                tag => return Err(DecodeError::UnknownTag { what: "approval", tag }),
            },
            withdrawn: read_opt_u64(r, "withdrawn")?,
            granted_height: r.u64("granted")?,
        })
    }
}

impl Encode for AccessEntry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.verifier.encode_to(out);
        self.official.encode_to(out);
        self.issuer.encode_to(out);
        put_bytes(out, self.vct.as_bytes());
        put_bytes(out, self.purpose.as_bytes());
        put_opt_u64(out, self.consent);
        self.holder_ref.encode_to(out);
        self.presentation.encode_to(out);
        put_strings(out, &self.disclosed);
        put_bytes(out, self.outcome.as_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
    }
}

impl Decode for AccessEntry {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AccessEntry {
            verifier: Did::decode_from(r)?,
            official: Did::decode_from(r)?,
            issuer: Did::decode_from(r)?,
            vct: r.string(VCT_BYTES_MAX, "vct")?,
            purpose: r.string(PURPOSE_BYTES_MAX, "purpose")?,
            consent: read_opt_u64(r, "consent")?,
            holder_ref: Hash::decode_from(r)?,
            presentation: Hash::decode_from(r)?,
            disclosed: read_strings(r, CLAIMS_MAX, CLAIM_BYTES_MAX, "disclosed")?,
            outcome: r.string(OUTCOME_BYTES_MAX, "outcome")?,
            height: r.u64("height")?,
            timestamp_ms: r.u64("time")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Found by fuzzing (`crates/fuzz/crashes/transaction/`): the policy's flags were read as
    /// "not zero", so 2 to 255 decoded as `true` and the transaction re-encoded differently.
    #[test]
    fn a_policy_flag_other_than_0_or_1_is_refused_so_each_policy_has_one_encoding() {
        let policy = CredentialPolicy { holder_consent: true, issuer_approval: false, rules: Vec::new() };
        let mut bytes = policy.encode();
        assert_eq!(CredentialPolicy::decode(&bytes), Ok(policy));
        for (at, what) in [(0, "holder consent"), (1, "issuer approval")] {
            let original = bytes[at];
            bytes[at] = 2;
            assert_eq!(CredentialPolicy::decode(&bytes), Err(DecodeError::UnknownTag { what, tag: 2 }));
            bytes[at] = original;
        }
    }

    proptest! {
        #[test]
        fn status_chunks_set_and_read_each_entry_alone(
            index in 0..STATUS_LIST_SIZE,
            other in 0..STATUS_LIST_SIZE,
            bits in 0u8..3,
        ) {
            let status = CredentialStatus::from_bits(bits).expect("valid bits");
            let chunk = set_in_chunk(None, index, status);
            prop_assert_eq!(chunk.len(), 1024);
            prop_assert_eq!(status_in_chunk(Some(&chunk), index), Some(status));
            if other / STATUS_CHUNK_ENTRIES == index / STATUS_CHUNK_ENTRIES && other != index {
                prop_assert_eq!(status_in_chunk(Some(&chunk), other), Some(CredentialStatus::Valid));
            }
        }

        #[test]
        fn records_round_trip(
            holder_consent in any::<bool>(),
            uses in any::<u32>(),
            withdrawn in prop::option::of(any::<u64>()),
            claims in prop::collection::vec("[a-z_]{1,10}", 0..4),
        ) {
            let did = Did::from_initial_key(&crate::PublicKey([3; 32]));
            let policy = CredentialPolicy {
                holder_consent,
                issuer_approval: !holder_consent,
                rules: vec![DisclosureRule { verifier_kind: OrgKind::Department, claims: claims.clone() }],
            };
            let t = CredentialType { schema: "{\"type\":\"object\"}".into(), policy, height: 9 };
            prop_assert_eq!(CredentialType::decode(&t.encode()), Ok(t));
            let consent = Consent {
                holder: did, verifier: did, issuer: did, vct: "permit".into(), purpose: "licence".into(),
                claims: claims.clone(), expires_height: 5, max_uses: 2, uses, approval: Approval::Approved(4),
                withdrawn, granted_height: 3,
            };
            prop_assert_eq!(Consent::decode(&consent.encode()), Ok(consent));
            let entry = AccessEntry {
                verifier: did, official: did, issuer: did, vct: "permit".into(), purpose: "licence".into(),
                consent: withdrawn, holder_ref: Hash([1; 32]), presentation: Hash([2; 32]), disclosed: claims,
                outcome: "ok".into(), height: 1, timestamp_ms: 2,
            };
            prop_assert_eq!(AccessEntry::decode(&entry.encode()), Ok(entry));
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = Consent::decode(&bytes);
            let _ = AccessEntry::decode(&bytes);
            let _ = CredentialType::decode(&bytes);
        }
    }

    #[test]
    fn policies_allow_only_the_claims_their_rules_name() {
        let open = CredentialPolicy::default();
        assert!(open.allows(OrgKind::Company, &["anything".into()]));
        let policy = CredentialPolicy {
            holder_consent: true,
            issuer_approval: false,
            rules: vec![DisclosureRule {
                verifier_kind: OrgKind::Department,
                claims: vec!["given_name".into(), "permit_number".into()],
            }],
        };
        assert!(policy.allows(OrgKind::Department, &["permit_number".into()]));
        assert!(!policy.allows(OrgKind::Department, &["address".into()]));
        assert!(!policy.allows(OrgKind::Company, &["permit_number".into()]));
        assert!(claim_name_ok("given_name") && !claim_name_ok("") && !claim_name_ok("a b"));
    }
}
