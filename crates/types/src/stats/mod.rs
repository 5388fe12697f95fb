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
