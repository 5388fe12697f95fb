//! Device event logs: events a device signs (a door lock's entries and exits), chained per
//! device by hash and sequence number, their payloads sealed for the owner and kept off chain;
//! gateways batch them into Merkle trees ([`crate::merkle`], RFC 9162's shape) and anchor each
//! batch's root with the per-device sequence ranges it covers. The chain keeps each device's
//! head (the next sequence number and the last event's hash), so an anchor can neither skip nor
//! repeat an event, and the anchors themselves, so a receipt (event, path, anchor) is checked
//! offline against a finalized block.

mod instruction;

pub use instruction::LogInstruction;

use crate::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_len};
use crate::device::DeviceId;
use crate::{Did, Hash, PublicKey, Signature};

/// Most public header fields an event carries.
pub const FIELDS_MAX: usize = 8;
/// Longest field name or value, in bytes.
pub const FIELD_BYTES_MAX: usize = 32;
/// Longest event name, in bytes (a capability name of the device's model).
pub const EVENT_NAME_BYTES_MAX: usize = super::device::CAPABILITY_NAME_BYTES_MAX;
/// Most sealed payloads an event commits to (the owner's, and a guest's).
pub const PAYLOADS_MAX: usize = 2;
/// Largest sealed payload, in bytes.
pub const PAYLOAD_BYTES_MAX: usize = 64 * 1024;
/// HPKE's `info` for event payloads: binds a sealed payload to this use.
pub const PAYLOAD_INFO: &[u8] = b"civitas/event-payload/v1";
/// Most devices one anchor covers (an anchor is one instruction in a transaction of at most
/// [`crate::limits::TX_BYTES_MAX`]).
pub const RANGES_MAX: usize = 128;
/// Most events one anchor covers.
pub const ANCHOR_EVENTS_MAX: u64 = 1 << 20;

/// The public part of an event: what anyone holding it may read, what the payloads are bound
/// to as associated data, and what the hash chain links.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventHeader {
    /// The device.
    pub device: DeviceId,
    /// Its sequence number: 0 for the device's first event, then one more each time.
    pub seq: u64,
    /// The previous event's hash ([`EventHeader::hash`]); zero for the first.
    pub prev: Hash,
    /// When it happened, by the device's clock (milliseconds since the Unix epoch).
    pub time_ms: u64,
    /// What happened: an event its model declares (`lock_operation`).
    pub event: String,
    /// Public fields, no personal data (a lock: `operation` = `unlock`, `source` = `keypad`).
    pub fields: Vec<(String, String)>,
    /// SHA-256 of each sealed payload (the owner's first, then a guest's, if any).
    pub payloads: Vec<Hash>,
}

/// An event with its device's signature.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedEvent {
    /// The event.
    pub header: EventHeader,
    /// The device's operational key's signature over [`EventHeader::signing_bytes`].
    pub signature: Signature,
}

impl EventHeader {
    /// The bytes every payload is sealed with as associated data: the header without the
    /// payload hashes (which are the payloads' own).
    pub fn public_bytes(&self) -> Vec<u8> {
        let mut out = b"civitas/event-aad/v1\0".to_vec();
        self.device.encode_to(&mut out);
        out.extend_from_slice(&self.seq.to_be_bytes());
        self.prev.encode_to(&mut out);
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        put_bytes(&mut out, self.event.as_bytes());
        put_len(&mut out, self.fields.len());
        for (k, v) in &self.fields {
            put_bytes(&mut out, k.as_bytes());
            put_bytes(&mut out, v.as_bytes());
        }
        out
    }

    /// Its hash: what the next event's `prev` names and the anchors' `last_hash`.
    pub fn hash(&self) -> Hash {
        Hash::digest_parts(&[b"civitas/event/v1\0", &self.encode()])
    }

    /// What the device signs: the header's hash, bound to one chain.
    pub fn signing_bytes(&self, chain_id: &str) -> Vec<u8> {
        let mut out = b"civitas/event-sig/v1\0".to_vec();
        put_bytes(&mut out, chain_id.as_bytes());
        self.hash().encode_to(&mut out);
        out
    }

    /// Whether its fields are within the limits: an event name and field names of
    /// `a-z 0-9 _`, printable values, at most [`FIELDS_MAX`] fields, each name once, and 1 to
    /// [`PAYLOADS_MAX`] payloads.
    pub fn well_formed(&self) -> bool {
        let name_ok = |n: &str| {
            !n.is_empty()
                && n.len() <= FIELD_BYTES_MAX.max(EVENT_NAME_BYTES_MAX)
                && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        let mut names: Vec<&str> = self.fields.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        name_ok(&self.event)
            && self.event.len() <= EVENT_NAME_BYTES_MAX
            && self.fields.len() <= FIELDS_MAX
            && names.len() == self.fields.len()
            && self.fields.iter().all(|(k, v)| {
                name_ok(k)
                    && k.len() <= FIELD_BYTES_MAX
                    && v.len() <= FIELD_BYTES_MAX
                    && v.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
            })
            && !self.payloads.is_empty()
            && self.payloads.len() <= PAYLOADS_MAX
    }
}

impl SignedEvent {
    /// Whether `key` signed it for `chain_id`.
    pub fn verify(&self, chain_id: &str, key: &PublicKey) -> bool {
        key.verify(&self.signature, &self.header.signing_bytes(chain_id))
    }

    /// Its leaf in a batch's tree.
    pub fn leaf(&self) -> Hash {
        crate::merkle::leaf(&self.encode())
    }
}

/// One device's events in an anchored batch: sequence numbers `first_seq..=last_seq`, the
/// last one's hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// The device.
    pub device: DeviceId,
    /// Its first event's sequence number in the batch.
    pub first_seq: u64,
    /// Its last.
    pub last_seq: u64,
    /// The last event's hash: the device's new head.
    pub last_hash: Hash,
}

impl Range {
    /// How many events it covers.
    pub fn len(&self) -> u64 {
        self.last_seq.saturating_sub(self.first_seq).saturating_add(1)
    }

    /// Whether it covers none (never, for a well-formed range).
    pub fn is_empty(&self) -> bool {
        self.last_seq < self.first_seq
    }
}

/// An anchored batch, as the chain keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Anchor {
    /// The gateway that anchored it.
    pub gateway: Did,
    /// The root of the batch's tree, whose leaves are its events in order: each range's
    /// events by sequence number, the ranges in the order given.
    pub root: Hash,
    /// How many events (leaves) it has.
    pub size: u64,
    /// The devices' ranges, each with the operational key the device had when anchored.
    pub ranges: Vec<(Range, PublicKey)>,
    /// When it was anchored.
    pub height: u64,
    /// The block's time.
    pub timestamp_ms: u64,
}

impl Anchor {
    /// The range of `device` covering `seq`, with the device's key then, and the position of
    /// that event's leaf in the batch.
    pub fn locate(&self, device: &DeviceId, seq: u64) -> Option<(&Range, &PublicKey, u64)> {
        let mut offset = 0u64;
        for (range, key) in &self.ranges {
            if range.device == *device && (range.first_seq..=range.last_seq).contains(&seq) {
                return Some((range, key, offset + (seq - range.first_seq)));
            }
            offset = offset.saturating_add(range.len());
        }
        None
    }
}

/// A device's log head: where its next anchored event must start.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Head {
    /// The next event's sequence number (how many events are anchored).
    pub next_seq: u64,
    /// The last anchored event's hash (zero before any).
    pub last_hash: Hash,
    /// The anchor that holds it.
    pub anchor: u64,
}

/// Where the gateway a device's owner designated is named.
pub fn gateway_key(device: &DeviceId) -> Vec<u8> {
    [b"log/gateway/".as_slice(), &device.0.0].concat()
}

/// Where a device's head is kept.
pub fn head_key(device: &DeviceId) -> Vec<u8> {
    [b"log/head/".as_slice(), &device.0.0].concat()
}

/// Where anchor `n` is kept.
pub fn anchor_key(n: u64) -> Vec<u8> {
    [b"log/anchor/".as_slice(), &n.to_be_bytes()].concat()
}

/// Where the number of anchors is counted.
pub const ANCHOR_COUNT_KEY: &[u8] = b"log/anchor-count";

/// The list of a device's anchors (numbers), in order.
pub fn device_anchors_count_key(device: &DeviceId) -> Vec<u8> {
    [b"log/device-anchors/".as_slice(), &device.0.0, b"/count"].concat()
}

/// Entry `position` of a device's anchors.
pub fn device_anchor_key(device: &DeviceId, position: u64) -> Vec<u8> {
    [b"log/device-anchors/".as_slice(), &device.0.0, b"/", &position.to_be_bytes()].concat()
}

impl Encode for EventHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.device.encode_to(out);
        out.extend_from_slice(&self.seq.to_be_bytes());
        self.prev.encode_to(out);
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        put_bytes(out, self.event.as_bytes());
        put_len(out, self.fields.len());
        for (k, v) in &self.fields {
            put_bytes(out, k.as_bytes());
            put_bytes(out, v.as_bytes());
        }
        put_len(out, self.payloads.len());
        for p in &self.payloads {
            p.encode_to(out);
        }
    }
}

impl Decode for EventHeader {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(EventHeader {
            device: DeviceId::decode_from(r)?,
            seq: r.u64("sequence number")?,
            prev: Hash::decode_from(r)?,
            time_ms: r.u64("time")?,
            event: r.string(EVENT_NAME_BYTES_MAX, "event name")?,
            fields: r.seq(FIELDS_MAX, "fields", |r| {
                Ok((r.string(FIELD_BYTES_MAX, "field name")?, r.string(FIELD_BYTES_MAX, "field value")?))
            })?,
            payloads: r.seq(PAYLOADS_MAX, "payloads", Hash::decode_from)?,
        })
    }
}

impl Encode for SignedEvent {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        self.signature.encode_to(out);
    }
}

impl Decode for SignedEvent {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SignedEvent { header: EventHeader::decode_from(r)?, signature: Signature::decode_from(r)? })
    }
}

impl Encode for Range {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.device.encode_to(out);
        out.extend_from_slice(&self.first_seq.to_be_bytes());
        out.extend_from_slice(&self.last_seq.to_be_bytes());
        self.last_hash.encode_to(out);
    }
}

impl Decode for Range {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Range {
            device: DeviceId::decode_from(r)?,
            first_seq: r.u64("first sequence number")?,
            last_seq: r.u64("last sequence number")?,
            last_hash: Hash::decode_from(r)?,
        })
    }
}

impl Encode for Anchor {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.gateway.encode_to(out);
        self.root.encode_to(out);
        out.extend_from_slice(&self.size.to_be_bytes());
        put_len(out, self.ranges.len());
        for (range, key) in &self.ranges {
            range.encode_to(out);
            key.encode_to(out);
        }
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
    }
}

impl Decode for Anchor {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Anchor {
            gateway: Did::decode_from(r)?,
            root: Hash::decode_from(r)?,
            size: r.u64("size")?,
            ranges: r.seq(RANGES_MAX, "ranges", |r| Ok((Range::decode_from(r)?, PublicKey::decode_from(r)?)))?,
            height: r.u64("height")?,
            timestamp_ms: r.u64("timestamp")?,
        })
    }
}

impl Encode for Head {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.next_seq.to_be_bytes());
        self.last_hash.encode_to(out);
        out.extend_from_slice(&self.anchor.to_be_bytes());
    }
}

impl Decode for Head {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Head {
            next_seq: r.u64("next sequence number")?,
            last_hash: Hash::decode_from(r)?,
            anchor: r.u64("anchor")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn event(seq: u64, prev: Hash) -> EventHeader {
        EventHeader {
            device: DeviceId(PublicKey([7; 32])),
            seq,
            prev,
            time_ms: 1_700_000_000_000 + seq,
            event: "lock_operation".into(),
            fields: vec![("operation".into(), "unlock".into()), ("source".into(), "keypad".into())],
            payloads: vec![Hash([seq as u8; 32])],
        }
    }

    proptest! {
        #[test]
        fn records_round_trip(k in any::<[u8; 32]>(), seq in any::<u64>(), n in any::<u64>(), text in "[a-z_]{1,20}") {
            let did = Did::from_initial_key(&PublicKey(k));
            let header = EventHeader { event: text.clone(), fields: vec![(text.clone(), text)], ..event(seq, Hash(k)) };
            let signed = SignedEvent { header: header.clone(), signature: Signature([3; 64]) };
            prop_assert_eq!(SignedEvent::decode(&signed.encode()), Ok(signed));
            let range = Range { device: DeviceId(PublicKey(k)), first_seq: seq / 2, last_seq: seq, last_hash: Hash(k) };
            let anchor = Anchor { gateway: did, root: Hash(k), size: n, ranges: vec![(range, PublicKey(k))], height: n, timestamp_ms: seq };
            prop_assert_eq!(Anchor::decode(&anchor.encode()), Ok(anchor));
            let head = Head { next_seq: seq, last_hash: Hash(k), anchor: n };
            prop_assert_eq!(Head::decode(&head.encode()), Ok(head));
        }
    }

    #[test]
    fn events_chain_sign_and_locate_in_their_anchor() {
        let key = crate::SecretKey::from_seed([9; 32]);
        let first = event(0, Hash([0; 32]));
        let second = event(1, first.hash());
        assert_ne!(first.hash(), second.hash());
        assert!(first.well_formed() && second.well_formed());
        let signed = SignedEvent { signature: key.sign(&second.signing_bytes("civitas-dev")), header: second.clone() };
        assert!(signed.verify("civitas-dev", &key.public_key()));
        assert!(!signed.verify("another-chain", &key.public_key()), "bound to one chain");
        // The payloads are sealed with the public part, which does not cover the payload hashes.
        let other_payload = EventHeader { payloads: vec![Hash([9; 32])], ..second.clone() };
        assert_eq!(other_payload.public_bytes(), second.public_bytes());
        assert_ne!(other_payload.hash(), second.hash());
        let bad = EventHeader { fields: vec![("Name".into(), "x".into())], ..second.clone() };
        assert!(!bad.well_formed());
        let none = EventHeader { payloads: vec![], ..second.clone() };
        assert!(!none.well_formed());
        let device = second.device;
        let other = DeviceId(PublicKey([8; 32]));
        let r = |device, first_seq, last_seq| Range { device, first_seq, last_seq, last_hash: Hash([0; 32]) };
        let anchor = Anchor {
            gateway: Did::from_initial_key(&PublicKey([1; 32])),
            root: Hash([0; 32]),
            size: 5,
            ranges: vec![(r(other, 10, 12), PublicKey([8; 32])), (r(device, 0, 1), PublicKey([7; 32]))],
            height: 1,
            timestamp_ms: 1,
        };
        assert_eq!(anchor.locate(&device, 1).map(|(_, _, i)| i), Some(4));
        assert_eq!(anchor.locate(&other, 10).map(|(_, _, i)| i), Some(0));
        assert!(anchor.locate(&device, 2).is_none());
    }
}
