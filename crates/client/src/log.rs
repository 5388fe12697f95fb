//! Device logs in the SDK: the JSON answers of the `/v1/logs` routes and the reads that fetch
//! them, with or without a proof.

use civitas_types::Did;
use civitas_types::device::DeviceId;
use civitas_types::log::{Anchor, Head};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Client, ClientError, wire};

/// A device's log: the gateway its owner named and its head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogDeviceJson {
    /// The device.
    pub device: DeviceId,
    /// The gateway its owner named, if any.
    pub gateway: Option<Did>,
    /// Its head: the next sequence number and the last anchored event's hash.
    pub head: Head,
    /// How many anchors hold its events.
    pub anchors: u64,
}

/// An anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AnchorJson {
    /// Its number.
    pub number: u64,
    /// The record.
    pub anchor: Anchor,
}

/// A page of a device's anchors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceAnchorsJson {
    /// The device.
    pub device: DeviceId,
    /// How many anchors hold its events.
    pub total: u64,
    /// The anchors' numbers, in order, from `from`.
    pub from: u64,
    /// Their numbers.
    pub anchors: Vec<u64>,
    /// The position of the next page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

impl Client {
    fn log_proof(&self, path: &str) -> Result<wire::ProofJson, ClientError> {
        self.get(path)?.ok_or_else(|| ClientError::Protocol { url: self.url(path), why: "404".into() })
    }

    /// Device `id`'s log: gateway and head.
    pub fn log_device(&self, id: &DeviceId) -> Result<Option<LogDeviceJson>, ClientError> {
        self.get(&format!("/v1/logs/devices/{id}"))
    }

    /// A proof of device `id`'s log head.
    pub fn prove_log_head(&self, id: &DeviceId) -> Result<wire::ProofJson, ClientError> {
        self.log_proof(&format!("/v1/logs/devices/{id}?prove=true"))
    }

    /// Device `id`'s anchors from position `from`.
    pub fn device_anchors(
        &self,
        id: &DeviceId,
        from: u64,
        limit: u64,
    ) -> Result<Option<DeviceAnchorsJson>, ClientError> {
        self.get(&format!("/v1/logs/devices/{id}/anchors?from={from}&limit={limit}"))
    }

    /// Anchor `n`.
    pub fn anchor(&self, n: u64) -> Result<Option<AnchorJson>, ClientError> {
        self.get(&format!("/v1/logs/anchors/{n}"))
    }

    /// A proof of anchor `n` (a `log_anchor` claim, which a gateway turns into receipts).
    pub fn prove_anchor(&self, n: u64) -> Result<wire::ProofJson, ClientError> {
        self.log_proof(&format!("/v1/logs/anchors/{n}?prove=true"))
    }
}
