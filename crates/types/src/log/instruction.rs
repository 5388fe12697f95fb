//! The device logs module's instructions: their one definition, names and canonical encoding.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{RANGES_MAX, Range};
use crate::codec::{Decode, DecodeError, Encode, Reader, put_len};
use crate::device::DeviceId;
use crate::{Did, Hash};

/// An instruction of the device logs module (tags 39 and 40 of [`crate::Instruction`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LogInstruction {
    /// The device's owner (the signer) names the gateway that anchors its events, or none.
    SetLogGateway {
        /// The device.
        device: DeviceId,
        /// The gateway's account, or null to name none.
        gateway: Option<Did>,
    },
    /// A gateway (the signer) anchors a batch of events: the root of their tree and, for each
    /// device, the range of sequence numbers it covers, which must continue the device's head.
    AnchorEvents {
        /// The root of the batch's tree (its leaves: each range's events in order).
        root: Hash,
        /// How many events the batch has: the sum of the ranges' lengths.
        size: u64,
        /// One range per device, at most 128.
        ranges: Vec<Range>,
    },
}

impl crate::ModuleInstruction for LogInstruction {
    const MODULE: &'static str = "logs";
    const NAMES: &'static [&'static str] = &["set_log_gateway", "anchor_events"];

    fn tag(&self) -> u8 {
        match self {
            LogInstruction::SetLogGateway { .. } => 0,
            LogInstruction::AnchorEvents { .. } => 1,
        }
    }

    fn encode_fields(&self, out: &mut Vec<u8>) {
        match self {
            LogInstruction::SetLogGateway { device, gateway } => {
                device.encode_to(out);
                match gateway {
                    None => out.push(0),
                    Some(g) => {
                        out.push(1);
                        g.encode_to(out);
                    }
                }
            }
            LogInstruction::AnchorEvents { root, size, ranges } => {
                root.encode_to(out);
                out.extend_from_slice(&size.to_be_bytes());
                put_len(out, ranges.len());
                for r in ranges {
                    r.encode_to(out);
                }
            }
        }
    }

    fn decode_fields(tag: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match tag {
            0 => LogInstruction::SetLogGateway {
                device: DeviceId::decode_from(r)?,
                gateway: match r.u8("gateway")? {
                    0 => None,
                    1 => Some(Did::decode_from(r)?),
                    tag => return Err(DecodeError::UnknownTag { what: "gateway", tag }),
                },
            },
            1 => LogInstruction::AnchorEvents {
                root: Hash::decode_from(r)?,
                size: r.u64("size")?,
                ranges: r.seq(RANGES_MAX, "ranges", Range::decode_from)?,
            },
            tag => return Err(DecodeError::UnknownTag { what: "log instruction", tag }),
        })
    }
}

#[cfg(test)]
use proptest::prelude::*;

#[cfg(test)]
impl LogInstruction {
    /// Any instruction of this module, for property tests.
    pub(crate) fn arbitrary() -> BoxedStrategy<LogInstruction> {
        (any::<[u8; 32]>(), any::<u64>(), 0usize..4, any::<bool>())
            .prop_map(|(k, n, ranges, which)| {
                let device = DeviceId(crate::PublicKey(k));
                if which {
                    let gateway = (n % 2 == 0).then(|| Did::from_initial_key(&crate::PublicKey(k)));
                    LogInstruction::SetLogGateway { device, gateway }
                } else {
                    let range = Range { device, first_seq: n / 2, last_seq: n, last_hash: Hash(k) };
                    LogInstruction::AnchorEvents { root: Hash(k), size: n, ranges: vec![range; ranges] }
                }
            })
            .boxed()
    }
}
