//! Transport statistics by secure aggregation: rounds the transport bureau defines, reports
//! operators split with Prio3 and seal to each aggregator with HPKE, the aggregators'
//! preparation and aggregate shares, and the total the chain combines and publishes. No
//! operator's measurement is ever on the chain or in a log in clear. Light clients decode these
//! records from proven state, so their encoding is part of the public format.

pub mod vdaf;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::codec::{Decode, DecodeError, Encode, Reader};

/// Most buckets a histogram has (a report's leader share is 16 bytes a bucket).
pub const HISTOGRAM_LENGTH_MAX: u32 = 1_024;
/// Most entries a sum vector has.
pub const SUM_VEC_LENGTH_MAX: u32 = 256;

/// What a round measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Measurement {
    /// A histogram: each operator adds one count to one bucket (Prio3Histogram). Several
    /// counts are several reports.
    Histogram {
        /// How many buckets (2 to 1,024).
        length: u32,
    },
    /// A vector of sums: each operator adds a value of at most `max` to each entry
    /// (Prio3SumVec), e.g. passengers per district in one hour.
    SumVec {
        /// How many entries (1 to 256).
        length: u32,
        /// The largest value one operator may add to one entry (1 to 2^32 − 1).
        max: u64,
    },
}

impl Measurement {
    /// Whether its parameters are within the limits.
    pub fn check(&self) -> Result<(), &'static str> {
        match *self {
            Measurement::Histogram { length } if !(2..=HISTOGRAM_LENGTH_MAX).contains(&length) => {
                Err("a histogram has 2 to 1,024 buckets")
            }
            Measurement::SumVec { length, .. } if !(1..=SUM_VEC_LENGTH_MAX).contains(&length) => {
                Err("a sum vector has 1 to 256 entries")
            }
            Measurement::SumVec { max, .. } if max == 0 || max > u64::from(u32::MAX) => {
                Err("a sum vector's maximum is 1 to 2^32 - 1")
            }
            _ => Ok(()),
        }
    }

    /// How many numbers the published total has.
    pub fn length(&self) -> u32 {
        match *self {
            Measurement::Histogram { length } | Measurement::SumVec { length, .. } => length,
        }
    }
}

impl Encode for Measurement {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match *self {
            Measurement::Histogram { length } => {
                out.push(0);
                out.extend_from_slice(&length.to_be_bytes());
            }
            Measurement::SumVec { length, max } => {
                out.push(1);
                out.extend_from_slice(&length.to_be_bytes());
                out.extend_from_slice(&max.to_be_bytes());
            }
        }
    }
}

impl Decode for Measurement {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("measurement")? {
            0 => Measurement::Histogram { length: r.u32("length")? },
            1 => Measurement::SumVec { length: r.u32("length")?, max: r.u64("max")? },
            tag => return Err(DecodeError::UnknownTag { what: "measurement", tag }),
        })
    }
}

use std::fmt;

use crate::codec::{put_bytes, put_seq};
use crate::fund::status_enum;
use crate::{Did, Hash};

mod instruction;
pub use instruction::StatsInstruction;

/// Most operators a round names.
pub const OPERATORS_MAX: usize = 64;
/// Fewest and most aggregators a round has.
pub const AGGREGATORS: std::ops::RangeInclusive<usize> = 2..=4;
/// The fewest reports any round may require (at least three operators).
pub const MIN_REPORTS_FLOOR: u32 = 3;
/// Longest round title, in bytes.
pub const TITLE_BYTES_MAX: usize = 160;
/// Most blocks a round stays open for reports.
pub const DEADLINE_BLOCKS_MAX: u64 = 1_000_000;
/// Largest public share (a 32-byte part per aggregator).
pub const PUBLIC_SHARE_BYTES_MAX: usize = 32 * 4;
/// Largest sealed input share (a 1,024-bucket histogram's leader share is about 18.5 KB).
pub const SEALED_SHARE_BYTES_MAX: usize = 24 * 1024;
/// Largest preparation share.
pub const PREP_SHARE_BYTES_MAX: usize = 8 * 1024;
/// Largest aggregate share (16 bytes a number).
pub const AGGREGATE_SHARE_BYTES_MAX: usize = 16 * (HISTOGRAM_LENGTH_MAX as usize) + 64;
/// Most preparation shares one instruction posts.
pub const PREP_BATCH_MAX: usize = 64;
/// Largest sealed verification key.
pub const SEALED_KEY_BYTES_MAX: usize = 256;

/// The state key of round `id`.
pub fn round_key(id: u64) -> Vec<u8> {
    [b"stats/r/".as_slice(), &id.to_be_bytes()].concat()
}

/// The state key of report `index` of round `round`.
pub fn report_key(round: u64, index: u32) -> Vec<u8> {
    [b"stats/p/".as_slice(), &round.to_be_bytes(), &index.to_be_bytes()].concat()
}

/// The state key of aggregator `aggregator`'s preparation share of report `index`.
pub fn prep_key(round: u64, index: u32, aggregator: u8) -> Vec<u8> {
    [b"stats/q/".as_slice(), &round.to_be_bytes(), &index.to_be_bytes(), &[aggregator]].concat()
}

/// The state key of aggregator `aggregator`'s aggregate share.
pub fn aggregate_key(round: u64, aggregator: u8) -> Vec<u8> {
    [b"stats/a/".as_slice(), &round.to_be_bytes(), &[aggregator]].concat()
}

/// The state key of the verification key the leader sealed for helper `aggregator`.
pub fn verify_key_key(round: u64, aggregator: u8) -> Vec<u8> {
    [b"stats/k/".as_slice(), &round.to_be_bytes(), &[aggregator]].concat()
}

/// The identifier of an aggregator's HPKE key: SHA-256 of its X25519 public key.
pub fn key_id(public_key: &[u8; 32]) -> Hash {
    Hash::digest(public_key)
}

/// One input share sealed with HPKE (RFC 9180, X25519-HKDF-SHA256, ChaCha20-Poly1305) to one
/// aggregator's key, which it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedShare {
    /// The key it is sealed to ([`key_id`]).
    pub key: Hash,
    /// The encapsulated key and the ciphertext.
    #[serde(with = "crate::json::hex_bytes")]
    #[schema(value_type = String)]
    pub sealed: Vec<u8>,
}

impl Encode for SealedShare {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.key.encode_to(out);
        put_bytes(out, &self.sealed);
    }
}

impl Decode for SealedShare {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SealedShare {
            key: Hash::decode_from(r)?,
            sealed: r.bytes(SEALED_SHARE_BYTES_MAX, "sealed share")?.to_vec(),
        })
    }
}

/// An aggregator of a round: a department and its HPKE key (from its DID document's key
/// agreement method when the round was defined).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AggregatorKey {
    /// The department.
    pub org: Did,
    /// Its X25519 public key.
    #[serde(with = "crate::json::hex_bytes_array")]
    #[schema(value_type = String)]
    pub key: [u8; 32],
}

impl Encode for AggregatorKey {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.org.encode_to(out);
        out.extend_from_slice(&self.key);
    }
}

impl Decode for AggregatorKey {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AggregatorKey { org: Did::decode_from(r)?, key: r.array("aggregator key")? })
    }
}

status_enum!(
    /// Where a round stands.
    RoundStatus, "round status" {
        /// Taking reports until its deadline.
        Open = 0, "open";
        /// Past its deadline with enough reports: the aggregators prepare and aggregate.
        Aggregating = 1, "aggregating";
        /// The total is published.
        Published = 2, "published";
        /// Past its deadline with too few reports: it publishes nothing.
        Failed = 3, "failed";
    }
);

/// A statistics round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Round {
    /// Its number.
    pub id: u64,
    /// What it counts, for people.
    pub title: String,
    /// What each report measures.
    pub measurement: Measurement,
    /// The operators that may report (once each).
    pub operators: Vec<Did>,
    /// The aggregators, leader first.
    pub aggregators: Vec<AggregatorKey>,
    /// The fewest reports for a total to be published.
    pub min_reports: u32,
    /// The last height reports are taken at.
    pub deadline: u64,
    /// The transport bureau that defined it.
    pub defined_by: Did,
    /// When it was defined (height).
    pub height: u64,
    /// Reports taken.
    pub reports: u32,
    /// Whether the leader has sealed the verification key to the helpers.
    pub key_shared: bool,
    /// Per aggregator, how many preparation shares it posted (in report order).
    pub prepared: Vec<u32>,
    /// Reports decided (from the first, in order).
    pub decided: u32,
    /// Of those, accepted.
    pub accepted: u32,
    /// Per aggregator, whether it posted its aggregate share.
    pub aggregated: Vec<bool>,
    /// Where it stands (`open` until the first act after its deadline moves it).
    pub status: RoundStatus,
    /// The total, once published: one number per bucket or entry.
    #[serde(with = "crate::json::amounts")]
    #[schema(value_type = Vec<String>)]
    pub total: Vec<u128>,
    /// When it was published (height).
    pub published_height: Option<u64>,
}

impl Round {
    /// Reports rejected so far (out of range, undecodable, or not prepared by an aggregator).
    pub fn rejected(&self) -> u32 {
        self.decided - self.accepted
    }

    /// Where it stands at `height`: an open round past its deadline is aggregating or failed.
    pub fn status_at(&self, height: u64) -> RoundStatus {
        match self.status {
            RoundStatus::Open if height > self.deadline && self.reports < self.min_reports => RoundStatus::Failed,
            RoundStatus::Open if height > self.deadline => RoundStatus::Aggregating,
            s => s,
        }
    }

    /// The index of `org` among its aggregators.
    pub fn aggregator(&self, org: &Did) -> Option<u8> {
        self.aggregators.iter().position(|a| a.org == *org).and_then(|i| u8::try_from(i).ok())
    }
}

impl Encode for Round {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        put_bytes(out, self.title.as_bytes());
        self.measurement.encode_to(out);
        put_seq(out, &self.operators);
        put_seq(out, &self.aggregators);
        out.extend_from_slice(&self.min_reports.to_be_bytes());
        out.extend_from_slice(&self.deadline.to_be_bytes());
        self.defined_by.encode_to(out);
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.reports.to_be_bytes());
        out.push(u8::from(self.key_shared));
        crate::codec::put_len(out, self.prepared.len());
        for p in &self.prepared {
            out.extend_from_slice(&p.to_be_bytes());
        }
        out.extend_from_slice(&self.decided.to_be_bytes());
        out.extend_from_slice(&self.accepted.to_be_bytes());
        crate::codec::put_len(out, self.aggregated.len());
        out.extend(self.aggregated.iter().map(|a| u8::from(*a)));
        self.status.encode_to(out);
        crate::codec::put_len(out, self.total.len());
        for t in &self.total {
            out.extend_from_slice(&t.to_be_bytes());
        }
        crate::fund::put_opt_u64(out, self.published_height);
    }
}

impl Decode for Round {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = *AGGREGATORS.end();
        Ok(Round {
            id: r.u64("round")?,
            title: r.string(TITLE_BYTES_MAX, "title")?,
            measurement: Measurement::decode_from(r)?,
            operators: r.seq(OPERATORS_MAX, "operators", Did::decode_from)?,
            aggregators: r.seq(n, "aggregators", AggregatorKey::decode_from)?,
            min_reports: r.u32("min reports")?,
            deadline: r.u64("deadline")?,
            defined_by: Did::decode_from(r)?,
            height: r.u64("height")?,
            reports: r.u32("reports")?,
            key_shared: r.bool("key shared")?,
            prepared: r.seq(n, "prepared", |r| r.u32("prepared"))?,
            decided: r.u32("decided")?,
            accepted: r.u32("accepted")?,
            aggregated: r.seq(n, "aggregated", |r| r.bool("aggregated"))?,
            status: RoundStatus::decode_from(r)?,
            total: r.seq(HISTOGRAM_LENGTH_MAX as usize, "total", |r| r.u128("total"))?,
            published_height: crate::fund::opt_u64(r, "published height")?,
        })
    }
}

status_enum!(
    /// What the chain decided of a report.
    Verdict, "verdict" {
        /// Not every aggregator has prepared it yet.
        Pending = 0, "pending";
        /// Its proof verified: it is in the total.
        Accepted = 1, "accepted";
        /// Rejected: out of range, undecodable, or an aggregator could not prepare it.
        Rejected = 2, "rejected";
    }
);

/// An operator's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Report {
    /// The operator.
    pub operator: Did,
    /// Its nonce.
    #[serde(with = "crate::json::hex_bytes")]
    #[schema(value_type = String)]
    pub nonce: Vec<u8>,
    /// The Prio3 public share.
    #[serde(with = "crate::json::hex_bytes")]
    #[schema(value_type = String)]
    pub public_share: Vec<u8>,
    /// One sealed input share per aggregator, in the round's order.
    pub shares: Vec<SealedShare>,
    /// When it was taken (height).
    pub height: u64,
    /// What the chain decided.
    pub verdict: Verdict,
    /// The preparation message, once accepted (what each aggregator finishes its share with).
    #[serde(with = "crate::json::hex_bytes")]
    #[schema(value_type = String)]
    pub message: Vec<u8>,
}

impl Encode for Report {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.operator.encode_to(out);
        put_bytes(out, &self.nonce);
        put_bytes(out, &self.public_share);
        put_seq(out, &self.shares);
        out.extend_from_slice(&self.height.to_be_bytes());
        self.verdict.encode_to(out);
        put_bytes(out, &self.message);
    }
}

impl Decode for Report {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Report {
            operator: Did::decode_from(r)?,
            nonce: r.bytes(vdaf::NONCE_BYTES, "nonce")?.to_vec(),
            public_share: r.bytes(PUBLIC_SHARE_BYTES_MAX, "public share")?.to_vec(),
            shares: r.seq(*AGGREGATORS.end(), "sealed shares", SealedShare::decode_from)?,
            height: r.u64("height")?,
            verdict: Verdict::decode_from(r)?,
            message: r.bytes(256, "preparation message")?.to_vec(),
        })
    }
}

/// A list of the stats module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsList {
    /// Every round, in order (numbers).
    Rounds,
}

impl fmt::Display for StatsList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatsList::Rounds => write!(f, "rounds"),
        }
    }
}

impl StatsList {
    /// The key of its length.
    pub fn count_key(&self) -> Vec<u8> {
        b"stats/list/rounds/n".to_vec()
    }

    /// The key of its entry at `position`.
    pub fn entry_key(&self, position: u64) -> Vec<u8> {
        [b"stats/list/rounds/e/".as_slice(), &position.to_be_bytes()].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PublicKey;
    use proptest::prelude::*;

    fn did(b: u8) -> Did {
        Did::from_initial_key(&PublicKey([b; 32]))
    }

    proptest! {
        #[test]
        fn records_round_trip(n in any::<u64>(), v in any::<u32>(), t in any::<u128>(), shared in any::<bool>()) {
            let round = Round {
                id: n, title: "Passengers per district and hour".into(),
                measurement: Measurement::SumVec { length: 12, max: 100_000 },
                operators: vec![did(1), did(2), did(3)],
                aggregators: vec![AggregatorKey { org: did(4), key: [4; 32] }, AggregatorKey { org: did(5), key: [5; 32] }],
                min_reports: 3, deadline: n, defined_by: did(6), height: 2, reports: v, key_shared: shared,
                prepared: vec![v, 0], decided: v, accepted: v / 2, aggregated: vec![shared, false],
                status: RoundStatus::Published, total: vec![t; 12], published_height: Some(n),
            };
            prop_assert_eq!(Round::decode(&round.encode()), Ok(round));
            let report = Report {
                operator: did(1), nonce: vec![1; 16], public_share: vec![2; 64],
                shares: vec![SealedShare { key: Hash([3; 32]), sealed: vec![4; 100] }], height: n,
                verdict: Verdict::Accepted, message: vec![5; 32],
            };
            prop_assert_eq!(Report::decode(&report.encode()), Ok(report));
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = Round::decode(&bytes);
            let _ = Report::decode(&bytes);
        }
    }

    #[test]
    fn limits_and_status_by_height() {
        assert!(Measurement::Histogram { length: 1 }.check().is_err());
        assert!(Measurement::Histogram { length: 1_024 }.check().is_ok());
        assert!(Measurement::SumVec { length: 3, max: 0 }.check().is_err());
        let mut r = Round {
            id: 0,
            title: "t".into(),
            measurement: Measurement::Histogram { length: 4 },
            operators: vec![],
            aggregators: vec![],
            min_reports: 3,
            deadline: 10,
            defined_by: did(1),
            height: 1,
            reports: 2,
            key_shared: false,
            prepared: vec![],
            decided: 0,
            accepted: 0,
            aggregated: vec![],
            status: RoundStatus::Open,
            total: vec![],
            published_height: None,
        };
        assert_eq!(r.status_at(10), RoundStatus::Open);
        assert_eq!(r.status_at(11), RoundStatus::Failed);
        r.reports = 3;
        assert_eq!(r.status_at(11), RoundStatus::Aggregating);
    }
}
