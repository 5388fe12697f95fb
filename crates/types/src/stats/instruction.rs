//! The stats module's instructions: their one definition, names and canonical encoding.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AGGREGATE_SHARE_BYTES_MAX, AGGREGATORS, Measurement, OPERATORS_MAX, PREP_BATCH_MAX, PREP_SHARE_BYTES_MAX,
    PUBLIC_SHARE_BYTES_MAX, SEALED_KEY_BYTES_MAX, SealedShare, TITLE_BYTES_MAX,
};
use crate::Did;
use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_len, put_seq};

/// An instruction of the stats module (tags 72 to 76 of [`crate::Instruction`]). Each is an
/// official act of the organization it names (`by`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StatsInstruction {
    /// The transport bureau `by` (a department with the transport function) defines a round:
    /// what is measured, the operators that may report, the aggregators (departments with a
    /// key agreement key in their DID documents, leader first), the fewest reports for a
    /// total, and how many blocks it takes reports for.
    DefineRound {
        /// What it counts, for people.
        title: String,
        /// What each report measures.
        measurement: Measurement,
        /// The eligible operators (organizations; 3 to 64, distinct).
        operators: Vec<Did>,
        /// The aggregators (2 to 4 departments, distinct), leader first.
        aggregators: Vec<Did>,
        /// The fewest reports for a total (at least 3).
        min_reports: u32,
        /// How many blocks from now it takes reports for.
        deadline_blocks: u64,
        /// The transport bureau.
        by: Did,
    },
    /// The leader `by` seals the aggregators' shared verification key to each helper (HPKE),
    /// once.
    ShareVerifyKey {
        /// The round.
        round: u64,
        /// One sealed key per helper, in the round's order.
        #[schema(value_type = Vec<String>)]
        #[serde(with = "hex_list")]
        sealed: Vec<Vec<u8>>,
        /// The leader.
        by: Did,
    },
    /// An eligible operator `by` reports: the Prio3 public share and one input share sealed to
    /// each aggregator's key. Once per operator, before the deadline.
    SubmitReport {
        /// The round.
        round: u64,
        /// The report's nonce (16 bytes, unique in the round).
        #[serde(with = "crate::json::hex_bytes")]
        #[schema(value_type = String)]
        nonce: Vec<u8>,
        /// The public share.
        #[serde(with = "crate::json::hex_bytes")]
        #[schema(value_type = String)]
        public_share: Vec<u8>,
        /// The sealed input shares, in the round's aggregator order.
        shares: Vec<SealedShare>,
        /// The operator.
        by: Did,
    },
    /// An aggregator `by` posts its preparation shares of reports `from`, `from + 1`, … (in
    /// report order, continuing what it posted); an empty share rejects a report it could not
    /// open or prepare. Once every aggregator has posted a report's share, the chain decides it.
    PostPrepShares {
        /// The round.
        round: u64,
        /// The first report's index (the count this aggregator posted so far).
        from: u32,
        /// The shares (at most 64).
        #[schema(value_type = Vec<String>)]
        #[serde(with = "hex_list")]
        shares: Vec<Vec<u8>>,
        /// The aggregator.
        by: Did,
    },
    /// An aggregator `by` posts its aggregate share: the sum of its output shares of the reports
    /// the chain accepted. Once every aggregator has, the chain publishes the total.
    PostAggregateShare {
        /// The round.
        round: u64,
        /// How many reports it aggregated (must be the accepted count).
        reports: u32,
        /// The aggregate share.
        #[serde(with = "crate::json::hex_bytes")]
        #[schema(value_type = String)]
        share: Vec<u8>,
        /// The aggregator.
        by: Did,
    },
}

/// Lists of byte strings as lists of hex strings.
mod hex_list {
    use serde::ser::SerializeSeq as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(items: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for i in items {
            seq.serialize_element(&hex::encode(i))?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|h| hex::decode(h).map_err(|e| serde::de::Error::custom(format_args!("not hex: {e}"))))
            .collect()
    }
}

fn put_byte_list(out: &mut Vec<u8>, items: &[Vec<u8>]) {
    put_len(out, items.len());
    for i in items {
        put_bytes(out, i);
    }
}

fn byte_list(r: &mut Reader<'_>, max: usize, each: usize, what: &'static str) -> Result<Vec<Vec<u8>>, DecodeError> {
    r.seq(max, what, |r| Ok(r.bytes(each, what)?.to_vec()))
}

impl crate::ModuleInstruction for StatsInstruction {
    const MODULE: &'static str = "stats";
    const NAMES: &'static [&'static str] =
        &["define_round", "share_verify_key", "submit_report", "post_prep_shares", "post_aggregate_share"];

    fn tag(&self) -> u8 {
        match self {
            StatsInstruction::DefineRound { .. } => 0,
            StatsInstruction::ShareVerifyKey { .. } => 1,
            StatsInstruction::SubmitReport { .. } => 2,
            StatsInstruction::PostPrepShares { .. } => 3,
            StatsInstruction::PostAggregateShare { .. } => 4,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        match self {
            StatsInstruction::DefineRound {
                title,
                measurement,
                operators,
                aggregators,
                min_reports,
                deadline_blocks,
                by,
            } => {
                put_bytes(out, title.as_bytes());
                measurement.encode_to(out);
                put_seq(out, operators);
                put_seq(out, aggregators);
                out.extend_from_slice(&min_reports.to_be_bytes());
                out.extend_from_slice(&deadline_blocks.to_be_bytes());
                by.encode_to(out);
            }
            StatsInstruction::ShareVerifyKey { round, sealed, by } => {
                out.extend_from_slice(&round.to_be_bytes());
                put_byte_list(out, sealed);
                by.encode_to(out);
            }
            StatsInstruction::SubmitReport { round, nonce, public_share, shares, by } => {
                out.extend_from_slice(&round.to_be_bytes());
                put_bytes(out, nonce);
                put_bytes(out, public_share);
                put_seq(out, shares);
                by.encode_to(out);
            }
            StatsInstruction::PostPrepShares { round, from, shares, by } => {
                out.extend_from_slice(&round.to_be_bytes());
                out.extend_from_slice(&from.to_be_bytes());
                put_byte_list(out, shares);
                by.encode_to(out);
            }
            StatsInstruction::PostAggregateShare { round, reports, share, by } => {
                out.extend_from_slice(&round.to_be_bytes());
                out.extend_from_slice(&reports.to_be_bytes());
                put_bytes(out, share);
                by.encode_to(out);
            }
        }
    }

    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let aggregators = *AGGREGATORS.end();
        Ok(match tag {
            0 => StatsInstruction::DefineRound {
                title: r.string(TITLE_BYTES_MAX, "title")?,
                measurement: Measurement::decode_from(r)?,
                operators: r.seq(OPERATORS_MAX, "operators", Did::decode_from)?,
                aggregators: r.seq(aggregators, "aggregators", Did::decode_from)?,
                min_reports: r.u32("min reports")?,
                deadline_blocks: r.u64("deadline blocks")?,
                by: Did::decode_from(r)?,
            },
            1 => StatsInstruction::ShareVerifyKey {
                round: r.u64("round")?,
                sealed: byte_list(r, aggregators, SEALED_KEY_BYTES_MAX, "sealed verification key")?,
                by: Did::decode_from(r)?,
            },
            2 => StatsInstruction::SubmitReport {
                round: r.u64("round")?,
                nonce: r.bytes(super::vdaf::NONCE_BYTES, "nonce")?.to_vec(),
                public_share: r.bytes(PUBLIC_SHARE_BYTES_MAX, "public share")?.to_vec(),
                shares: r.seq(aggregators, "sealed shares", SealedShare::decode_from)?,
                by: Did::decode_from(r)?,
            },
            3 => StatsInstruction::PostPrepShares {
                round: r.u64("round")?,
                from: r.u32("from")?,
                shares: byte_list(r, PREP_BATCH_MAX, PREP_SHARE_BYTES_MAX, "preparation share")?,
                by: Did::decode_from(r)?,
            },
            4 => StatsInstruction::PostAggregateShare {
                round: r.u64("round")?,
                reports: r.u32("reports")?,
                share: r.bytes(AGGREGATE_SHARE_BYTES_MAX, "aggregate share")?.to_vec(),
                by: Did::decode_from(r)?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "stats instruction", tag }),
        })
    }
}

#[cfg(test)]
use proptest::prelude::*;

#[cfg(test)]
impl StatsInstruction {
    /// Any instruction of this module, for property tests.
    pub(crate) fn arbitrary() -> BoxedStrategy<StatsInstruction> {
        let did = || any::<[u8; 32]>().prop_map(|k| Did::from_initial_key(&crate::PublicKey(k)));
        let bytes = |max: usize| prop::collection::vec(any::<u8>(), 0..max);
        let measurement = prop_oneof![
            any::<u32>().prop_map(|length| Measurement::Histogram { length }),
            (any::<u32>(), any::<u64>()).prop_map(|(length, max)| Measurement::SumVec { length, max }),
        ];
        let share = (any::<[u8; 32]>(), bytes(40)).prop_map(|(k, sealed)| SealedShare { key: crate::Hash(k), sealed });
        prop_oneof![
            (
                "[a-z ]{1,24}",
                measurement,
                prop::collection::vec(did(), 0..4),
                prop::collection::vec(did(), 0..4),
                any::<u32>(),
                any::<u64>(),
                did()
            )
                .prop_map(
                    |(title, measurement, operators, aggregators, min_reports, deadline_blocks, by)| {
                        StatsInstruction::DefineRound {
                            title,
                            measurement,
                            operators,
                            aggregators,
                            min_reports,
                            deadline_blocks,
                            by,
                        }
                    }
                ),
            (any::<u64>(), prop::collection::vec(bytes(40), 0..3), did())
                .prop_map(|(round, sealed, by)| StatsInstruction::ShareVerifyKey { round, sealed, by }),
            (any::<u64>(), bytes(16), bytes(64), prop::collection::vec(share, 0..3), did()).prop_map(
                |(round, nonce, public_share, shares, by)| StatsInstruction::SubmitReport {
                    round,
                    nonce,
                    public_share,
                    shares,
                    by
                }
            ),
            (any::<u64>(), any::<u32>(), prop::collection::vec(bytes(40), 0..3), did())
                .prop_map(|(round, from, shares, by)| StatsInstruction::PostPrepShares { round, from, shares, by }),
            (any::<u64>(), any::<u32>(), bytes(64), did()).prop_map(|(round, reports, share, by)| {
                StatsInstruction::PostAggregateShare { round, reports, share, by }
            }),
        ]
        .boxed()
    }
}
