//! Device logs: an event's receipt (the device-signed event, its path in an anchored batch, the
//! anchor) and a device's log head.

use civitas_types::Hash;
use civitas_types::codec::Decode;
use civitas_types::device::DeviceId;
use civitas_types::log::{Anchor, Head, SignedEvent, anchor_key, head_key};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Describe, Evidence};
use crate::light::{ProofError, field_hex};
use crate::wire::{MerkleStepJson, StateItemJson};

/// Most steps in a batch's path (a batch has at most 2^20 events).
pub const PATH_STEPS_MAX: usize = 24;

/// An event's receipt: the event as the device signed it, its leaf's position and path in its
/// batch's tree, and the anchor holding the batch's root, in the state after the block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventReceiptClaim {
    /// The signed event (canonical encoding), hex.
    pub event: String,
    /// Its leaf's position in the batch.
    pub leaf: u64,
    /// The path from the leaf to the batch's root.
    pub path: Vec<MerkleStepJson>,
    /// The anchor's number.
    pub anchor: u64,
    /// The anchor record.
    pub item: StateItemJson,
}

/// The device signed this event, and gateway anchored it in anchor `anchor` at `height`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventReceiptFact {
    /// The event.
    pub event: SignedEvent,
    /// The anchor's number.
    pub anchor: u64,
    /// The anchor.
    pub record: Anchor,
}

impl Claim for EventReceiptClaim {
    type Fact = EventReceiptFact;

    fn check(&self, at: &Evidence<'_>) -> Result<EventReceiptFact, ProofError> {
        let event = SignedEvent::decode(&field_hex("event", &self.event)?)
            .map_err(|e| ProofError::Field("event", e.to_string()))?;
        let value = at
            .item("item", &self.item, &anchor_key(self.anchor), || format!("anchor {}", self.anchor))?
            .ok_or(ProofError::Field("item", format!("anchor {} does not exist", self.anchor)))?;
        let record = Anchor::decode(&value).map_err(|e| ProofError::Field("item", e.to_string()))?;
        let (h, anchor) = (&event.header, self.anchor);
        let Some((range, key, leaf)) = record.locate(&h.device, h.seq) else {
            return Err(ProofError::Field("event", format!("anchor {anchor} has no event {} of {}", h.seq, h.device)));
        };
        if leaf != self.leaf {
            return Err(ProofError::Field("leaf", format!("the event is leaf {leaf} of anchor {anchor}")));
        }
        if !event.verify(at.chain_id, key) {
            return Err(ProofError::Field("event", "the device's signature does not verify".into()));
        }
        if h.seq == range.last_seq && h.hash() != range.last_hash {
            return Err(ProofError::Field("event", "the event is not the one the anchor's range ends with".into()));
        }
        if self.path.len() > PATH_STEPS_MAX {
            return Err(ProofError::Field("path", format!("at most {PATH_STEPS_MAX} steps")));
        }
        let path = self
            .path
            .iter()
            .map(|s| Ok((s.left, Hash::from_hex(&s.hash).map_err(|e| ProofError::Field("path", e.to_string()))?)))
            .collect::<Result<Vec<_>, ProofError>>()?;
        if civitas_types::merkle::root_from_proof(event.leaf(), &path) != record.root {
            return Err(ProofError::Field("path", format!("the path does not lead to anchor {anchor}'s root")));
        }
        Ok(EventReceiptFact { event, anchor, record })
    }
}

impl Describe for EventReceiptFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let h = &self.event.header;
        let fields: Vec<String> = h.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        (
            serde_json::json!({ "kind": "event_receipt", "event": self.event, "event_hash": h.hash().to_hex(),
                "anchor": self.anchor, "gateway": self.record.gateway.to_string(),
                "anchored_height": self.record.height }),
            format!(
                "device {} signed event {} ({} {}, at {}), hash {}, and gateway {} anchored it in anchor {} at height {}",
                h.device,
                h.seq,
                h.event,
                fields.join(" "),
                crate::did::datetime_ms(h.time_ms),
                h.hash(),
                self.record.gateway,
                self.anchor,
                self.record.height
            ),
        )
    }
}

/// A device's log head (or, absent, none anchored yet) in the state after the block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogHeadClaim {
    /// The device (`did:key`).
    pub device: String,
    /// The head.
    pub item: StateItemJson,
}

/// The device's anchored events are its first `next_seq`, the last with this hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHeadFact {
    /// The device.
    pub device: DeviceId,
    /// Its head (next sequence number 0: none anchored).
    pub head: Head,
}

impl Claim for LogHeadClaim {
    type Fact = LogHeadFact;

    fn check(&self, at: &Evidence<'_>) -> Result<LogHeadFact, ProofError> {
        let device: DeviceId = self
            .device
            .parse()
            .map_err(|e: civitas_types::device::passport::DeviceIdError| ProofError::Field("device", e.to_string()))?;
        let value = at.item("item", &self.item, &head_key(&device), || self.device.clone())?;
        let head = match value {
            Some(v) => Head::decode(&v).map_err(|e| ProofError::Field("item", e.to_string()))?,
            None => Head { next_seq: 0, last_hash: Hash([0; 32]), anchor: 0 },
        };
        Ok(LogHeadFact { device, head })
    }
}

impl Describe for LogHeadFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let (d, h) = (self.device.to_string(), &self.head);
        let sentence = if h.next_seq == 0 {
            format!("device {d} has no anchored events")
        } else {
            format!(
                "device {d} has events 0 to {} anchored, the last with hash {} (anchor {})",
                h.next_seq - 1,
                h.last_hash,
                h.anchor
            )
        };
        (serde_json::json!({ "kind": "log_head", "device": d, "head": h }), sentence)
    }
}

/// An anchor in the state after the block: what a gateway turns into receipts (it swaps this
/// claim for an [`EventReceiptClaim`] with the same item, in the same document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogAnchorClaim {
    /// The anchor's number.
    pub anchor: u64,
    /// The anchor record.
    pub item: StateItemJson,
}

/// Anchor `anchor` is this record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogAnchorFact {
    /// The anchor's number.
    pub anchor: u64,
    /// The record.
    pub record: Anchor,
}

impl Claim for LogAnchorClaim {
    type Fact = LogAnchorFact;

    fn check(&self, at: &Evidence<'_>) -> Result<LogAnchorFact, ProofError> {
        let value = at
            .item("item", &self.item, &anchor_key(self.anchor), || format!("anchor {}", self.anchor))?
            .ok_or(ProofError::Field("item", format!("anchor {} does not exist", self.anchor)))?;
        let record = Anchor::decode(&value).map_err(|e| ProofError::Field("item", e.to_string()))?;
        Ok(LogAnchorFact { anchor: self.anchor, record })
    }
}

impl Describe for LogAnchorFact {
    fn describe(&self, _height: u64) -> (serde_json::Value, String) {
        let r = &self.record;
        (
            serde_json::json!({ "kind": "log_anchor", "anchor": self.anchor, "record": r }),
            format!(
                "anchor {} by gateway {} at height {}: {} events of {} devices, root {}",
                self.anchor,
                r.gateway,
                r.height,
                r.size,
                r.ranges.len(),
                r.root
            ),
        )
    }
}
