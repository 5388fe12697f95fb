//! `civitas gateway`: a device event log gateway, the process a home hub or a building's
//! gateway runs (`docs/device-logs.md`). Devices post the events they signed, with the payloads
//! sealed for their owner (and for a guest), as JSON or in the binary frame of
//! [`encode_events`]; the gateway checks each against the device's passport and its own copy of
//! the device's hash chain (the signatures of one request in one batch check), stores it
//! durably before it answers, batches what is pending into RFC 9162-shaped trees, anchors each
//! batch's root with one `anchor_events` transaction signed by its account key, and turns the
//! chain's proof of an anchor into each event's receipt. Sealed payloads are kept by hash and
//! served only to their readers (signed reads); the owner can erase them while the anchors
//! remain.
//!
//! Storage: one fjall database in `DATA_DIR/store`, a keyspace per record kind:
//! - `events`: device ‖ seq → arrival number ‖ the signed event (canonical encoding);
//! - `anchored`: device ‖ last seq → first seq ‖ anchor number: one entry per anchored range;
//! - `heads`: device → next seq ‖ last hash ‖ base seq (the chain's head when first seen);
//! - `blobs`: SHA-256 → sealed payload (key-value separated: values are large);
//! - `readers`: SHA-256 → device ‖ seq ‖ slot (0 the owner's, 1 a guest's) ‖ erased ‖ guest;
//! - `meta`: the next arrival number.
//!
//! Numbers are big-endian, so keys sort as the numbers do. Only a writer thread stores events:
//! it groups the requests waiting for it into one batch, persisted with `SyncAll` before any of
//! them is answered (group commit), so an acknowledged event survives `kill -9`. The events not
//! anchored yet (pending) are each device's past its last anchored range; the gateway keeps them
//! in memory (device, sequence number, hash and leaf, in arrival order), so it writes no index of
//! them, and the batcher never reads them back. A batcher thread anchors pending events without waiting for each
//! anchor to commit before it sends the next (at most `batch.in_flight_max` in flight, with
//! consecutive nonces, so the chain runs them in the order sent and each device's ranges follow
//! one another), and marks each anchored as it commits. When one fails or is not admitted, it
//! waits for those in flight, puts what did not commit back in the queue and asks the chain.
//! After a restart it first asks the chain, for each device with pending events, whether
//! anchors already hold them (an anchor committed just before the crash): those it finds
//! through the device's anchors and marks, the rest it anchors again. Tests reach that window at
//! will: with the environment variable `CIVITAS_GATEWAY_CRASH_AFTER_ANCHOR` set, the process
//! exits at once after its first anchor commits, before marking it.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use civitas_client::claims::log::EventReceiptClaim;
use civitas_client::seal::Sealed;
use civitas_client::signed::{HEADER_KEY, HEADER_SIGNATURE, HEADER_TIME, check_request};
use civitas_client::wire::{self, ClaimJson, Problem, ProofJson, StateItemJson, TxState};
use civitas_client::{Client, ClientError};
use civitas_types::codec::{Decode, DecodeError, Encode, Reader, put_bytes, put_len};
use civitas_types::crypto::verify_batch;
use civitas_types::device::{DeviceId, DeviceStatus};
use civitas_types::log::{
    ANCHOR_EVENTS_MAX, Anchor, Head, LogInstruction, PAYLOAD_BYTES_MAX, PAYLOADS_MAX, RANGES_MAX, Range, SignedEvent,
};
use civitas_types::merkle::Tree;
use civitas_types::{Did, Hash, Instruction, PublicKey, SecretKey, Signature, Transaction};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, KvSeparationOptions, PersistMode};
use serde::{Deserialize, Serialize};

use crate::common::load_key;

/// How long a device's passport, gateway and head are trusted from the cache: a revoked
/// gateway or a decommissioned device is refused at most this late (the chain refuses its
/// anchors at once).
const DEVICE_CACHE_TTL: Duration = Duration::from_secs(5);
/// Most devices whose passports are cached.
const DEVICE_CACHE_MAX: usize = 10_000;
/// Most models whose declared events are cached.
const MODEL_CACHE_MAX: usize = 1_000;
/// Most anchored batches (proof and tree) kept for receipts.
const BATCH_CACHE_MAX: usize = 16;
/// Most requests waiting for the writer; more are refused (`busy`) rather than queued.
const WRITE_QUEUE_MAX: usize = 256;
/// Most requests one group commit takes.
const GROUP_REQUESTS_MAX: usize = 64;
/// Most events one page of `GET /v1/events/{device}` lists.
const EVENTS_PAGE_MAX: u64 = 1_000;
/// Most anchor numbers asked of the node in one page.
const ANCHORS_PAGE_MAX: u64 = 100;
/// When a device whose events cannot be anchored (its owner named another gateway, it was
/// decommissioned, the chain holds other events) is looked at again.
const BLOCKED_RECHECK: Duration = Duration::from_secs(30);
/// Longest the batcher waits for an anchor to commit before it asks the chain what happened.
const ANCHOR_WAIT: Duration = Duration::from_secs(60);
/// How often the batcher asks whether the oldest anchor in flight committed.
const ANCHOR_POLL: Duration = Duration::from_millis(10);
/// Most anchor numbers past the last one found that the batcher reads to find a committed
/// anchor's number, before it looks through the device's own anchors instead.
const ANCHOR_PROBES_MAX: u64 = 8;
/// How many blocks an anchor transaction stays valid: one that did not commit by then never
/// will, so a retry cannot anchor the same events twice.
const ANCHOR_VALID_BLOCKS: u64 = 100;
/// Most anchors in flight a configuration may ask for: well within the nonces a node admits
/// ahead of a signer's next (its mempool's per-signer bound, 256 by default).
const IN_FLIGHT_MAX: u64 = 128;
/// Set in the environment, makes the gateway exit, as if killed, right after its first anchor
/// commits and before it marks it: how tests reach the window reconciliation covers.
const CRASH_AFTER_ANCHOR_ENV: &str = "CIVITAS_GATEWAY_CRASH_AFTER_ANCHOR";
/// Longest the gateway waits for its node when it starts.
const NODE_WAIT: Duration = Duration::from_secs(60);
/// How often the writer and batcher look whether the gateway is stopping.
const STOP_POLL: Duration = Duration::from_millis(200);

/// Options of `civitas gateway`.
#[derive(Debug, clap::Args)]
pub(crate) struct GatewayArgs {
    /// The configuration file (TOML): `node` (the node's API), `key` (the gateway's account
    /// key file), `listen` (address of its API), `data_dir`, and optionally `did`, `[batch]`
    /// (`events_max`, `interval_ms`) and `[limits]` (`request_events_max`,
    /// `request_bytes_max`, `pending_events_max`, `devices_max`). Relative paths are taken
    /// from the file's folder. `batch` also takes `in_flight_max`: most anchors sent and not
    /// yet committed.
    #[arg(long)]
    config: PathBuf,
}

/// The configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The node's API.
    node: String,
    /// The gateway's account key file: it signs the anchors.
    key: PathBuf,
    /// The gateway's DID, if its key was rotated (default: the key's).
    #[serde(default)]
    did: Option<Did>,
    /// Where the gateway's API listens.
    listen: SocketAddr,
    /// Where it keeps its store.
    data_dir: PathBuf,
    #[serde(default)]
    batch: BatchConfig,
    #[serde(default)]
    limits: Limits,
}

/// How events are batched into anchors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct BatchConfig {
    /// Most events one anchor covers.
    events_max: u64,
    /// Longest a pending event waits for its anchor to be sent, in milliseconds.
    interval_ms: u64,
    /// Most anchors sent and not yet committed (each takes the next nonce).
    in_flight_max: u64,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig { events_max: 10_000, interval_ms: 500, in_flight_max: 16 }
    }
}

/// Bounds on what the gateway takes in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Limits {
    /// Most events one `POST /v1/events` carries.
    request_events_max: usize,
    /// Largest request body, in bytes.
    request_bytes_max: usize,
    /// Most events waiting for an anchor; beyond it devices are told to retry (`queue_full`).
    pending_events_max: u64,
    /// Most devices the gateway keeps a log for.
    devices_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_events_max: 256,
            request_bytes_max: 16 * 1024 * 1024,
            pending_events_max: 1_000_000,
            devices_max: 100_000,
        }
    }
}

impl Config {
    /// Reads and checks the file; relative paths are made relative to its folder.
    fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut config: Config =
            toml::from_str(&text).with_context(|| format!("{} is not a gateway configuration", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.key = base.join(&config.key);
        config.data_dir = base.join(&config.data_dir);
        let (b, l) = (&config.batch, &config.limits);
        if b.events_max == 0 || b.events_max > ANCHOR_EVENTS_MAX {
            bail!("batch.events_max is 1 to {ANCHOR_EVENTS_MAX} (the chain's bound on one anchor)");
        }
        if !(10..=600_000).contains(&b.interval_ms) {
            bail!("batch.interval_ms is 10 to 600000");
        }
        if !(1..=IN_FLIGHT_MAX).contains(&b.in_flight_max) {
            bail!("batch.in_flight_max is 1 to {IN_FLIGHT_MAX}");
        }
        if l.request_events_max == 0 || l.request_events_max > 10_000 {
            bail!("limits.request_events_max is 1 to 10000");
        }
        if l.request_bytes_max < 4 * PAYLOAD_BYTES_MAX || l.request_bytes_max > 256 * 1024 * 1024 {
            bail!(
                "limits.request_bytes_max is {} to 268435456 (one event with two largest payloads must fit)",
                4 * PAYLOAD_BYTES_MAX
            );
        }
        if l.pending_events_max < b.events_max {
            bail!("limits.pending_events_max must be at least batch.events_max");
        }
        if l.devices_max == 0 {
            bail!("limits.devices_max is at least 1");
        }
        Ok(config)
    }
}

// ---------------------------------------------------------------------------------------------
// The JSON forms of the gateway's API, shared with `civitas lock`.

/// A batch of events a device posts (`POST /v1/events`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostEventsJson {
    /// The events, in order (a device's consecutive events may come in one batch).
    pub(crate) events: Vec<PostedEventJson>,
}

/// One posted event.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostedEventJson {
    /// The event as the device signed it.
    pub(crate) event: SignedEvent,
    /// Its sealed payloads, hex, in the order of the header's hashes: the owner's, then the
    /// guest's.
    pub(crate) payloads: Vec<String>,
    /// The guest the second payload is sealed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) guest: Option<Did>,
}

/// The answer to a batch: one result per event, in order.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct PostedResultsJson {
    /// The results.
    pub(crate) results: Vec<EventResultJson>,
}

/// What became of one posted event.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct EventResultJson {
    /// The device.
    pub(crate) device: DeviceId,
    /// The sequence number.
    pub(crate) seq: u64,
    /// `stored` (durably), `duplicate` (this very event was stored before) or `refused`.
    pub(crate) status: String,
    /// The event's hash, when stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) hash: Option<Hash>,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<Problem>,
}

/// A device's log at the gateway (`GET /v1/devices/{device}/head`): where its next event goes.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct GatewayHeadJson {
    /// The device.
    pub(crate) device: DeviceId,
    /// The next event's sequence number.
    pub(crate) next_seq: u64,
    /// The last event's hash (what the next one's `prev` names; zero before any).
    pub(crate) last_hash: Hash,
    /// The first sequence number not anchored yet.
    pub(crate) anchored_next_seq: u64,
}

/// A page of a device's events (`GET /v1/events/{device}`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct EventsPageJson {
    /// The device.
    pub(crate) device: DeviceId,
    /// The events from the first sequence number asked for, in order.
    pub(crate) events: Vec<EventEntryJson>,
    /// Where the next page starts, if there is more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<u64>,
}

/// One stored event.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct EventEntryJson {
    /// The event as the device signed it.
    pub(crate) event: SignedEvent,
    /// Its hash.
    pub(crate) hash: Hash,
    /// The anchor holding it, once anchored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) anchor: Option<u64>,
}

/// A sealed payload (`GET /v1/blobs/{hash}`, a signed read).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct BlobJson {
    /// Its SHA-256.
    pub(crate) hash: Hash,
    /// The device whose event commits to it.
    pub(crate) device: DeviceId,
    /// That event's sequence number.
    pub(crate) seq: u64,
    /// `owner` or `guest`: whom it is sealed for.
    pub(crate) slot: String,
    /// The sealed bytes (HPKE `enc ‖ ciphertext`), hex.
    pub(crate) sealed: String,
}

/// The gateway's state (`GET /v1/status`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct GatewayStatusJson {
    /// The gateway's account.
    pub(crate) did: Did,
    /// The chain it anchors on.
    pub(crate) chain_id: String,
    /// Events waiting for an anchor.
    pub(crate) pending_events: u64,
    /// Devices it keeps a log for.
    pub(crate) devices: u64,
    /// Devices whose events it cannot anchor now, and why (pairs of a device and a reason).
    #[schema(value_type = Vec<Vec<String>>)]
    pub(crate) blocked: Vec<(DeviceId, String)>,
}

// ---------------------------------------------------------------------------------------------
// The binary form of `POST /v1/events`: for hubs and devices that post many events, the same
// fields as the JSON form in the canonical codec, so the gateway parses no JSON, hex or
// did:key text. Numbers are big-endian; every count and length is bounded before anything is
// allocated, and a body with bytes after its last event is refused.
//
//   request = count:u32 (event payloads guest)^count      count: 1 to limits.request_events_max
//   event   = the signed event's canonical encoding        (bounded by its own codec limits)
//   payloads = count:u32 (len:u32 sealed)^count            1 or 2, each at most 128 KiB framed
//   guest   = 0 | 1 did
//
//   answer  = count:u32 outcome^count                      in the order posted
//   outcome = 0 hash (stored) | 1 hash (duplicate) | 2 code detail (refused; len:u32 UTF-8 each)

/// The content type of the binary form of `POST /v1/events` and of its answer.
pub(crate) const BINARY_CONTENT_TYPE: &str = "application/octet-stream";
/// Longest sealed payload the binary form frames; one over [`PAYLOAD_BYTES_MAX`] is refused
/// as that event's `payload_too_large`, as in JSON.
const FRAME_PAYLOAD_BYTES_MAX: usize = 2 * PAYLOAD_BYTES_MAX;
/// Longest refusal code in a binary answer.
const FRAME_CODE_BYTES_MAX: usize = 64;
/// Longest refusal detail in a binary answer.
const FRAME_DETAIL_BYTES_MAX: usize = 4096;

/// One posted event, from either form.
pub(crate) struct PostedEvent {
    /// The event as the device signed it.
    pub(crate) event: SignedEvent,
    /// Its sealed payloads, in the order of the header's hashes.
    pub(crate) payloads: Payloads,
    /// The guest the second payload is sealed for.
    pub(crate) guest: Option<Did>,
}

/// A posted event's sealed payloads: hex from JSON (decoded when the event is checked, so a bad
/// one refuses that event only), bytes from the binary form.
pub(crate) enum Payloads {
    Hex(Vec<String>),
    Bytes(Vec<Vec<u8>>),
}

impl Payloads {
    fn len(&self) -> usize {
        match self {
            Payloads::Hex(p) => p.len(),
            Payloads::Bytes(p) => p.len(),
        }
    }
}

impl From<PostedEventJson> for PostedEvent {
    fn from(p: PostedEventJson) -> PostedEvent {
        PostedEvent { event: p.event, payloads: Payloads::Hex(p.payloads), guest: p.guest }
    }
}

/// The binary form of a batch of events: each with its sealed payloads and guest.
pub(crate) fn encode_events<'a>(
    events: impl ExactSizeIterator<Item = (&'a SignedEvent, &'a [Vec<u8>], Option<&'a Did>)>,
) -> Vec<u8> {
    let mut out = Vec::new();
    put_len(&mut out, events.len());
    for (event, payloads, guest) in events {
        encode_event_to(&mut out, event, payloads, guest);
    }
    out
}

/// One event of [`encode_events`]'s batch: a batch is the count, then its events' encodings.
pub(crate) fn encode_event_to(out: &mut Vec<u8>, event: &SignedEvent, payloads: &[Vec<u8>], guest: Option<&Did>) {
    event.encode_to(out);
    put_len(out, payloads.len());
    for p in payloads {
        put_bytes(out, p);
    }
    match guest {
        None => out.push(0),
        Some(g) => {
            out.push(1);
            g.encode_to(out);
        }
    }
}

/// Reads the binary form of a batch of at most `events_max` events.
pub(crate) fn decode_events(bytes: &[u8], events_max: usize) -> Result<Vec<PostedEvent>, DecodeError> {
    let mut r = Reader::new(bytes);
    let events = r.seq(events_max, "events", |r| {
        let event = SignedEvent::decode_from(r)?;
        let payloads =
            r.seq(PAYLOADS_MAX, "payloads", |r| Ok(r.bytes(FRAME_PAYLOAD_BYTES_MAX, "sealed payload")?.to_vec()))?;
        let guest = match r.u8("guest")? {
            0 => None,
            1 => Some(Did::decode_from(r)?),
            _ => return Err(DecodeError::Invalid { what: "guest", why: "neither 0 (none) nor 1 (a DID follows)" }),
        };
        Ok(PostedEvent { event, payloads: Payloads::Bytes(payloads), guest })
    })?;
    r.finish()?;
    Ok(events)
}

/// What became of one posted event, as the binary answer says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventOutcome {
    /// Stored durably, with the event's hash.
    Stored(Hash),
    /// This very event was stored before.
    Duplicate(Hash),
    /// Refused: the problem's code and detail.
    Refused { code: String, detail: String },
}

/// The binary answer to a binary batch.
fn encode_outcomes(outcomes: &[EventOutcome]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 33 * outcomes.len());
    put_len(&mut out, outcomes.len());
    for o in outcomes {
        match o {
            EventOutcome::Stored(h) => {
                out.push(0);
                h.encode_to(&mut out);
            }
            EventOutcome::Duplicate(h) => {
                out.push(1);
                h.encode_to(&mut out);
            }
            EventOutcome::Refused { code, detail } => {
                out.push(2);
                put_bytes(&mut out, truncated(code, FRAME_CODE_BYTES_MAX).as_bytes());
                put_bytes(&mut out, truncated(detail, FRAME_DETAIL_BYTES_MAX).as_bytes());
            }
        }
    }
    out
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn truncated(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Reads the binary answer to a batch of at most `events_max` events.
pub(crate) fn decode_outcomes(bytes: &[u8], events_max: usize) -> Result<Vec<EventOutcome>, DecodeError> {
    let mut r = Reader::new(bytes);
    let outcomes = r.seq(events_max, "outcomes", |r| match r.u8("outcome")? {
        0 => Ok(EventOutcome::Stored(Hash::decode_from(r)?)),
        1 => Ok(EventOutcome::Duplicate(Hash::decode_from(r)?)),
        2 => Ok(EventOutcome::Refused {
            code: r.string(FRAME_CODE_BYTES_MAX, "code")?,
            detail: r.string(FRAME_DETAIL_BYTES_MAX, "detail")?,
        }),
        _ => Err(DecodeError::Invalid { what: "outcome", why: "not 0 (stored), 1 (duplicate) or 2 (refused)" }),
    })?;
    r.finish()?;
    Ok(outcomes)
}

// ---------------------------------------------------------------------------------------------
// Refusals: problem+json with a stable code.

/// Why a request or one event of it was refused.
#[derive(Debug, Clone)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    detail: String,
    retry_after: Option<u32>,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Refusal {
        Refusal { status, code, detail: detail.into(), retry_after: None }
    }

    fn bad(code: &'static str, detail: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, code, detail)
    }

    fn retry(self, secs: u32) -> Refusal {
        Refusal { retry_after: Some(secs), ..self }
    }

    /// The node could not answer: the caller may retry.
    fn node(e: &ClientError) -> Refusal {
        tracing::warn!(error = %e, "the node did not answer");
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "node_unavailable",
            format!("the gateway's node did not answer: {e}"),
        )
        .retry(1)
    }

    /// The gateway's store failed: it stops (see [`Gateway::fail`]).
    fn storage(e: &dyn std::fmt::Display) -> Refusal {
        tracing::error!(error = %e, "the store failed");
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "storage_failed", "the gateway's store failed; see its log")
    }

    fn problem(&self) -> Problem {
        Problem {
            type_: format!("urn:civitas:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).expect("a problem always serializes");
        let mut response = (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
    }
}

// ---------------------------------------------------------------------------------------------
// The store.

/// A device's key prefix: its operational key's 32 bytes.
fn device_bytes(device: &DeviceId) -> [u8; 32] {
    device.0.0
}

/// `device ‖ seq`: the key of an event, and of an anchored range by its last sequence number.
fn event_key(device: &DeviceId, seq: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(&device_bytes(device));
    key[32..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn parse_event_key(bytes: &[u8]) -> anyhow::Result<(DeviceId, u64)> {
    let (device, seq) = bytes.split_first_chunk::<32>().context("a stored key is not device ‖ seq")?;
    let seq: [u8; 8] = seq.try_into().context("a stored key is not device ‖ seq")?;
    Ok((DeviceId(PublicKey(*device)), u64::from_be_bytes(seq)))
}

fn u64_at(bytes: &[u8], at: usize) -> anyhow::Result<u64> {
    let b: [u8; 8] = bytes.get(at..at + 8).and_then(|b| b.try_into().ok()).context("a stored record is too short")?;
    Ok(u64::from_be_bytes(b))
}

/// Who may read a sealed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BlobMeta {
    device: DeviceId,
    seq: u64,
    /// The guest it is sealed for; `None`: the owner's.
    guest: Option<Did>,
    erased: bool,
}

impl BlobMeta {
    fn encode(&self) -> Vec<u8> {
        let mut out = event_key(&self.device, self.seq).to_vec();
        out.push(u8::from(self.guest.is_some()));
        out.push(u8::from(self.erased));
        if let Some(g) = &self.guest {
            g.encode_to(&mut out);
        }
        out
    }

    fn decode(bytes: &[u8]) -> anyhow::Result<BlobMeta> {
        let (device, seq) = parse_event_key(bytes.get(..40).context("a blob record is too short")?)?;
        let guest = match bytes.get(40) {
            Some(0) => None,
            Some(1) => Some(Did::decode(bytes.get(42..).unwrap_or_default()).context("a blob record's guest")?),
            _ => bail!("a blob record has no slot"),
        };
        Ok(BlobMeta { device, seq, guest, erased: bytes.get(41) == Some(&1) })
    }
}

/// A device's log as the gateway keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LocalHead {
    /// The next event's sequence number.
    next_seq: u64,
    /// The last event's hash.
    last_hash: Hash,
    /// The chain's next sequence number when the gateway first saw the device: the events
    /// before it were anchored by others.
    base_seq: u64,
    /// The first sequence number not anchored yet (in memory only: from `anchored`).
    anchored_next: u64,
}

impl LocalHead {
    fn from_chain(head: &Head) -> LocalHead {
        LocalHead {
            next_seq: head.next_seq,
            last_hash: head.last_hash,
            base_seq: head.next_seq,
            anchored_next: head.next_seq,
        }
    }

    fn encode(&self) -> Vec<u8> {
        [&self.next_seq.to_be_bytes()[..], &self.last_hash.0, &self.base_seq.to_be_bytes()].concat()
    }
}

const META_ARRIVAL: &[u8] = b"arrival";

/// The gateway's fjall database.
struct Store {
    db: Database,
    events: Keyspace,
    anchored: Keyspace,
    heads: Keyspace,
    blobs: Keyspace,
    readers: Keyspace,
    meta: Keyspace,
}

/// What [`Store::load`] finds.
struct Loaded {
    heads: HashMap<DeviceId, LocalHead>,
    /// The pending events, by arrival number.
    queue: BTreeMap<u64, PendingEvent>,
    next_arrival: u64,
    pending_devices: Vec<DeviceId>,
}

impl Store {
    fn open(dir: &Path) -> anyhow::Result<Store> {
        let db = Database::builder(dir)
            .open()
            .with_context(|| format!("opening the gateway's store in {}", dir.display()))?;
        let ks = |name: &str| db.keyspace(name, KeyspaceCreateOptions::default);
        let blobs = db.keyspace("blobs", || {
            KeyspaceCreateOptions::default().with_kv_separation(Some(KvSeparationOptions::default()))
        })?;
        Ok(Store {
            events: ks("events")?,
            anchored: ks("anchored")?,
            heads: ks("heads")?,
            readers: ks("readers")?,
            meta: ks("meta")?,
            blobs,
            db,
        })
    }

    /// Heads (with what is anchored), the pending events and the devices they belong to.
    fn load(&self) -> anyhow::Result<Loaded> {
        let mut heads = HashMap::new();
        for guard in self.heads.iter() {
            let (key, value) = guard.into_inner()?;
            let device: [u8; 32] = key.as_ref().try_into().context("a head's key is not a device")?;
            let device = DeviceId(PublicKey(device));
            let hash: [u8; 32] =
                value.get(8..40).and_then(|h| h.try_into().ok()).context("a head record is too short")?;
            let base_seq = u64_at(&value, 40)?;
            let anchored_next = self.anchored_next(&device)?.unwrap_or(base_seq).max(base_seq);
            heads.insert(
                device,
                LocalHead { next_seq: u64_at(&value, 0)?, last_hash: Hash(hash), base_seq, anchored_next },
            );
        }
        // A device's pending events: those past its last anchored range.
        let mut queue = BTreeMap::new();
        let mut pending_devices = Vec::new();
        for (device, head) in &heads {
            if head.anchored_next >= head.next_seq {
                continue;
            }
            for seq in head.anchored_next..head.next_seq {
                let (arrival, event) = self
                    .event(device, seq)?
                    .with_context(|| format!("pending event {seq} of {device} is not stored"))?;
                let pending = PendingEvent { device: *device, seq, hash: event.header.hash(), leaf: event.leaf() };
                queue.insert(arrival, pending);
            }
            pending_devices.push(*device);
        }
        pending_devices.sort();
        let after_last = queue.last_key_value().map_or(0, |(a, _)| a.saturating_add(1));
        let counted = match self.meta.get(META_ARRIVAL)? {
            Some(v) => u64_at(&v, 0)?,
            None => 0,
        };
        Ok(Loaded { heads, queue, next_arrival: after_last.max(counted), pending_devices })
    }

    /// The event `seq` of `device`, with its arrival number.
    fn event(&self, device: &DeviceId, seq: u64) -> anyhow::Result<Option<(u64, SignedEvent)>> {
        let Some(value) = self.events.get(event_key(device, seq))? else { return Ok(None) };
        let event =
            SignedEvent::decode(value.get(8..).unwrap_or_default()).context("a stored event does not decode")?;
        Ok(Some((u64_at(&value, 0)?, event)))
    }

    /// The anchor holding event `seq` of `device`, if this gateway marked it anchored.
    fn anchor_of(&self, device: &DeviceId, seq: u64) -> anyhow::Result<Option<u64>> {
        let Some(guard) = self.anchored.range(event_key(device, seq)..=event_key(device, u64::MAX)).next() else {
            return Ok(None);
        };
        let (_, value) = guard.into_inner()?;
        if u64_at(&value, 0)? > seq {
            return Ok(None);
        }
        Ok(Some(u64_at(&value, 8)?))
    }

    /// One past the last anchored sequence number of `device`, if any range is anchored.
    fn anchored_next(&self, device: &DeviceId) -> anyhow::Result<Option<u64>> {
        match self.anchored.range(event_key(device, 0)..=event_key(device, u64::MAX)).next_back() {
            None => Ok(None),
            Some(guard) => Ok(Some(parse_event_key(&guard.key()?)?.1.saturating_add(1))),
        }
    }

    fn blob_meta(&self, hash: &Hash) -> anyhow::Result<Option<BlobMeta>> {
        self.readers.get(hash.0)?.map(|v| BlobMeta::decode(&v)).transpose()
    }
}

// ---------------------------------------------------------------------------------------------
// The gateway.

/// What the gateway knows of a device from the chain.
#[derive(Debug)]
struct DeviceInfo {
    key: PublicKey,
    status: DeviceStatus,
    gateway: Option<Did>,
    events: EventNames,
    head: Head,
}

/// The events a model declares, shared by the devices of the model.
type EventNames = Arc<Vec<String>>;

/// An anchored batch as receipts need it: the chain's proof of the anchor and the batch's tree.
struct Batch {
    proof: ProofJson,
    item: StateItemJson,
    anchor: Anchor,
    tree: Arc<Tree>,
}

/// An event that passed every check that needs no log order, on its way to the writer.
struct Checked {
    event: SignedEvent,
    payloads: Vec<Vec<u8>>,
    guest: Option<Did>,
    chain_head: Head,
    /// The device's operational key.
    key: PublicKey,
    /// The header's hash.
    hash: Hash,
    /// The event's leaf in a batch's tree.
    leaf: Hash,
}

/// A stored event waiting for its anchor, as the batcher needs it.
#[derive(Debug, Clone, Copy)]
struct PendingEvent {
    device: DeviceId,
    seq: u64,
    /// The event's hash (a range's `last_hash`).
    hash: Hash,
    /// Its leaf.
    leaf: Hash,
}

/// An anchor sent and not yet settled.
struct Flight {
    /// The transaction's hash.
    tx: Hash,
    root: Hash,
    ranges: Vec<Range>,
    /// Its events, by arrival number, in the tree's order.
    events: Vec<(u64, PendingEvent)>,
    tree: Arc<Tree>,
    sent: Instant,
}

/// What the writer did with an event.
enum Stored {
    New(Hash),
    Duplicate(Hash),
}

/// One request's events for the writer, and where to send their outcomes.
struct WriteJob {
    items: Vec<Result<Checked, Refusal>>,
    reply: tokio::sync::oneshot::Sender<Vec<Result<Stored, Refusal>>>,
}

/// The running gateway, shared by its API, writer and batcher.
struct Gateway {
    did: Did,
    key: SecretKey,
    chain_id: String,
    node: Client,
    store: Store,
    batch: BatchConfig,
    limits: Limits,
    heads: Mutex<HashMap<DeviceId, LocalHead>>,
    pending: AtomicU64,
    devices: Mutex<HashMap<DeviceId, (Instant, Arc<DeviceInfo>)>>,
    models: Mutex<HashMap<(u16, u16), EventNames>>,
    batches: Mutex<VecDeque<(u64, Arc<Batch>)>>,
    /// The pending events not in an anchor in flight, by arrival number.
    queue: Mutex<BTreeMap<u64, PendingEvent>>,
    /// The trees of the anchors this gateway last saw commit, by number, for receipts.
    trees: Mutex<VecDeque<(u64, Arc<Tree>)>>,
    /// Devices whose pending events are not anchored for now: when to look again, and why.
    blocked: Mutex<HashMap<DeviceId, (Instant, String)>>,
    jobs: SyncSender<WriteJob>,
    wake: SyncSender<()>,
    stopping: AtomicBool,
    fatal: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().expect("lock is never poisoned: holders do not panic")
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Gateway {
    /// Stops the gateway: its store failed, and limping on could acknowledge what is not
    /// durable.
    fn fail(&self, why: String) {
        tracing::error!(%why, "the gateway stops");
        lock(&self.fatal).get_or_insert(why);
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// The device's passport, gateway and head from the chain (cached for
    /// [`DEVICE_CACHE_TTL`]); `None` if it has no passport.
    fn device_info(&self, id: &DeviceId) -> Result<Option<Arc<DeviceInfo>>, Refusal> {
        if let Some((at, info)) = lock(&self.devices).get(id)
            && at.elapsed() < DEVICE_CACHE_TTL
        {
            return Ok(Some(info.clone()));
        }
        let Some(device) = self.node.device(id).map_err(|e| Refusal::node(&e))? else { return Ok(None) };
        let p = device.passport;
        let events = self.model_events(p.vendor_id, p.product_id)?;
        let log = self.node.log_device(id).map_err(|e| Refusal::node(&e))?;
        let Some(log) = log else { return Ok(None) };
        let info = Arc::new(DeviceInfo {
            key: p.operational_key,
            status: p.status,
            gateway: log.gateway,
            events,
            head: log.head,
        });
        let mut cache = lock(&self.devices);
        if cache.len() >= DEVICE_CACHE_MAX {
            cache.retain(|_, (at, _)| at.elapsed() < DEVICE_CACHE_TTL);
            if cache.len() >= DEVICE_CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(*id, (Instant::now(), info.clone()));
        Ok(Some(info))
    }

    /// The events a model declares (a model's capabilities never change once registered).
    fn model_events(&self, vendor_id: u16, product_id: u16) -> Result<EventNames, Refusal> {
        if let Some(events) = lock(&self.models).get(&(vendor_id, product_id)) {
            return Ok(events.clone());
        }
        let model = self.node.model(vendor_id, product_id).map_err(|e| Refusal::node(&e))?;
        let events = Arc::new(model.map(|m| m.model.capabilities.events).unwrap_or_default());
        let mut cache = lock(&self.models);
        if cache.len() >= MODEL_CACHE_MAX {
            cache.clear();
        }
        cache.insert((vendor_id, product_id), events.clone());
        Ok(events)
    }

    /// The checks of a request's events that do not depend on the log's order: the device,
    /// its owner's choice of gateway, the event's form and name, the payloads, the signature
    /// (all the request's in one batch check) and the guest. The writer checks the sequence.
    fn check_many(&self, posted: Vec<PostedEvent>) -> Vec<Result<Checked, Refusal>> {
        let prechecked: Vec<Result<Checked, Refusal>> = posted.into_iter().map(|p| self.precheck(p)).collect();
        let valid = {
            let messages: Vec<Option<Vec<u8>>> = prechecked
                .iter()
                .map(|c| c.as_ref().ok().map(|c| c.event.header.signing_bytes(&self.chain_id)))
                .collect();
            let items: Vec<(PublicKey, Signature, &[u8])> = prechecked
                .iter()
                .zip(&messages)
                .filter_map(|(c, m)| Some((c.as_ref().ok()?.key, c.as_ref().ok()?.event.signature, m.as_deref()?)))
                .collect();
            verify_batch(&items)
        };
        let mut valid = valid.into_iter();
        prechecked
            .into_iter()
            .map(|c| match c {
                Err(r) => Err(r),
                Ok(c) if valid.next().unwrap_or(false) => self.check_guest(c),
                Ok(c) => Err(Refusal::new(
                    StatusCode::UNAUTHORIZED,
                    "bad_signature",
                    format!(
                        "the event is not signed by {}'s operational key for chain `{}`",
                        c.event.header.device, self.chain_id
                    ),
                )),
            })
            .collect()
    }

    /// [`Gateway::check_many`]'s checks of one event before its signature's.
    fn precheck(&self, posted: PostedEvent) -> Result<Checked, Refusal> {
        let PostedEvent { event, payloads, guest } = posted;
        let h = &event.header;
        let id = h.device;
        if !h.well_formed() {
            return Err(Refusal::bad(
                "malformed_event",
                "an event names a declared event (a-z 0-9 _), at most 8 public fields of 32 bytes, and 1 or 2 payloads",
            ));
        }
        let info = self.device_info(&id)?.ok_or_else(|| {
            Refusal::new(StatusCode::NOT_FOUND, "unknown_device", format!("no device {id} on the chain"))
        })?;
        match info.status {
            DeviceStatus::Decommissioned => {
                return Err(Refusal::new(
                    StatusCode::GONE,
                    "device_decommissioned",
                    format!("device {id} is decommissioned"),
                ));
            }
            DeviceStatus::Revoked => {
                return Err(Refusal::new(
                    StatusCode::GONE,
                    "device_revoked",
                    format!("device {id}'s attestation is revoked"),
                ));
            }
            DeviceStatus::Active | DeviceStatus::Suspended => {}
        }
        if info.gateway != Some(self.did) {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "not_my_device",
                format!("the owner of {id} did not name this gateway ({}) to anchor its events", self.did),
            ));
        }
        if !info.events.contains(&h.event) {
            return Err(Refusal::bad(
                "undeclared_event",
                format!(
                    "`{}` is not an event of the device's model (it declares: {})",
                    h.event,
                    info.events.join(", ")
                ),
            ));
        }
        if payloads.len() != h.payloads.len() {
            return Err(Refusal::bad(
                "payload_mismatch",
                format!("the event commits to {} payload(s); {} came with it", h.payloads.len(), payloads.len()),
            ));
        }
        let too_large = |i: usize, len: usize| {
            Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("payload {i} is {len} bytes; at most {PAYLOAD_BYTES_MAX}"),
            )
        };
        let bytes = match payloads {
            Payloads::Hex(texts) => {
                let mut bytes = Vec::with_capacity(texts.len());
                for (i, text) in texts.iter().enumerate() {
                    if text.len() > 2 * PAYLOAD_BYTES_MAX {
                        return Err(too_large(i, text.len() / 2));
                    }
                    bytes.push(
                        hex::decode(text)
                            .map_err(|_| Refusal::bad("bad_payload", format!("payload {i} is not hex")))?,
                    );
                }
                bytes
            }
            Payloads::Bytes(bytes) => bytes,
        };
        for (i, (b, hash)) in bytes.iter().zip(&h.payloads).enumerate() {
            if b.len() > PAYLOAD_BYTES_MAX {
                return Err(too_large(i, b.len()));
            }
            if Hash::digest(b) != *hash {
                return Err(Refusal::bad(
                    "payload_mismatch",
                    format!("payload {i}'s SHA-256 is not the one the event commits to"),
                ));
            }
            Sealed::parse(b)
                .map_err(|e| Refusal::bad("bad_payload", format!("payload {i} is not a sealed message: {e}")))?;
        }
        let (hash, leaf) = (h.hash(), event.leaf());
        Ok(Checked { event, payloads: bytes, guest, chain_head: info.head.clone(), key: info.key, hash, leaf })
    }

    /// [`Gateway::check_many`]'s last check, of a signed event: a guest is named exactly when a
    /// second payload is sealed for one, and holds a grant in force on the device.
    fn check_guest(&self, c: Checked) -> Result<Checked, Refusal> {
        match (&c.guest, c.payloads.len()) {
            (None, 2) => Err(Refusal::bad("guest_missing", "a second payload is sealed for a guest: name the guest")),
            (Some(_), 1) => {
                Err(Refusal::bad("bad_guest", "a guest is named only with a second payload, sealed for them"))
            }
            (Some(g), _) => {
                let id = c.event.header.device;
                let answer = self.node.device_grant(&id, g).map_err(|e| Refusal::node(&e))?;
                if !answer.is_some_and(|a| a.allowed) {
                    return Err(Refusal::new(
                        StatusCode::FORBIDDEN,
                        "guest_not_granted",
                        format!("{g} holds no grant in force on {id}: the owner grants guests access first"),
                    ));
                }
                Ok(c)
            }
            (None, _) => Ok(c),
        }
    }

    /// Stores the events of a group of requests in one batch, persisted before any is
    /// answered; returns each request's outcomes. An error is the store's: the gateway stops.
    fn write_group(
        &self,
        group: &mut [WriteJob],
        arrival: &mut u64,
    ) -> anyhow::Result<Vec<Vec<Result<Stored, Refusal>>>> {
        let mut overlay: HashMap<DeviceId, LocalHead> = HashMap::new();
        let mut fresh_blobs: HashSet<Hash> = HashSet::new();
        let mut fresh: Vec<(u64, PendingEvent)> = Vec::new();
        let mut writes = GroupWrites::default();
        // Which payloads are stored already, asked in key order: a lookup then follows the
        // last one's path through the memtable, which stays in the CPU's cache.
        let mut payloads: Vec<Hash> = group
            .iter()
            .flat_map(|job| job.items.iter().flatten().flat_map(|c| c.event.header.payloads.iter().copied()))
            .collect();
        payloads.sort_unstable();
        payloads.dedup();
        let mut stored_blobs = HashSet::new();
        for p in payloads {
            if self.store.readers.contains_key(p.0)? {
                stored_blobs.insert(p);
            }
        }
        let mut next = *arrival;
        let pending = self.pending.load(Ordering::SeqCst);
        let mut results = Vec::with_capacity(group.len());
        {
            let heads = lock(&self.heads);
            for job in group.iter_mut() {
                let mut out = Vec::with_capacity(job.items.len());
                for item in std::mem::take(&mut job.items) {
                    out.push(match item {
                        Err(r) => Err(r),
                        Ok(c) => {
                            let queued = pending.saturating_add(next - *arrival);
                            let mut cx = Admission {
                                heads: &heads,
                                overlay: &mut overlay,
                                stored_blobs: &stored_blobs,
                                fresh_blobs: &mut fresh_blobs,
                                writes: &mut writes,
                                queued,
                            };
                            let pending = PendingEvent {
                                device: c.event.header.device,
                                seq: c.event.header.seq,
                                hash: c.hash,
                                leaf: c.leaf,
                            };
                            let outcome = self.admit(c, &mut cx, next)?;
                            if matches!(outcome, Ok(Stored::New(_))) {
                                fresh.push((next, pending));
                                next += 1;
                            }
                            outcome
                        }
                    });
                }
                results.push(out);
            }
        }
        // The group's writes in key order, keyspace by keyspace, so that consecutive inserts
        // share most of their path through a memtable (payload hashes are random keys).
        let mut batch = self.store.db.batch().durability(Some(PersistMode::SyncAll));
        writes.events.sort_unstable_by_key(|w| w.0);
        for (key, record) in writes.events {
            batch.insert(&self.store.events, key, record);
        }
        writes.blobs.sort_unstable_by_key(|w| w.0);
        for (key, sealed) in writes.blobs {
            batch.insert(&self.store.blobs, key.0, sealed);
        }
        writes.readers.sort_unstable_by_key(|w| w.0);
        for (key, meta) in writes.readers {
            batch.insert(&self.store.readers, key.0, meta);
        }
        // A device's head once per group, as the group leaves it.
        let mut heads: Vec<(&DeviceId, &LocalHead)> = overlay.iter().collect();
        heads.sort_unstable_by_key(|(id, _)| **id);
        for (id, new) in heads {
            batch.insert(&self.store.heads, device_bytes(id), new.encode());
        }
        if next != *arrival {
            batch.insert(&self.store.meta, META_ARRIVAL, next.to_be_bytes());
        }
        batch.commit()?;
        let added = next - *arrival;
        *arrival = next;
        {
            let mut heads = lock(&self.heads);
            for (id, new) in overlay {
                let head = heads.entry(id).or_insert(new);
                head.next_seq = new.next_seq;
                head.last_hash = new.last_hash;
            }
        }
        let queued = {
            let mut queue = lock(&self.queue);
            queue.extend(fresh);
            queue.len() as u64
        };
        self.pending.fetch_add(added, Ordering::SeqCst);
        if queued >= self.batch.events_max {
            let _ = self.wake.try_send(());
        }
        Ok(results)
    }

    /// The sequence checks of one event against the device's log (as this group leaves it),
    /// and its writes.
    fn admit(&self, c: Checked, cx: &mut Admission<'_>, arrival: u64) -> anyhow::Result<Result<Stored, Refusal>> {
        let h = &c.event.header;
        let id = h.device;
        let hash = c.hash;
        let head = match cx.overlay.get(&id).or_else(|| cx.heads.get(&id)) {
            Some(head) => *head,
            None if cx.heads.len() + cx.overlay.len() >= self.limits.devices_max => {
                return Ok(Err(Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too_many_devices",
                    format!("this gateway keeps the logs of at most {} devices", self.limits.devices_max),
                )));
            }
            None => LocalHead::from_chain(&c.chain_head),
        };
        if h.seq < head.next_seq {
            if let Some((_, stored)) = self.store.event(&id, h.seq)?
                && stored == c.event
            {
                return Ok(Ok(Stored::Duplicate(hash)));
            }
            return Ok(Err(Refusal::new(
                StatusCode::CONFLICT,
                "sequence_repeat",
                format!("device {id} already logged event {} (its next is {})", h.seq, head.next_seq),
            )));
        }
        if h.seq > head.next_seq {
            return Ok(Err(Refusal::new(
                StatusCode::CONFLICT,
                "sequence_gap",
                format!(
                    "device {id}'s next event is {}: events {} to {} are missing",
                    head.next_seq,
                    head.next_seq,
                    h.seq - 1
                ),
            )));
        }
        if h.prev != head.last_hash {
            return Ok(Err(Refusal::new(
                StatusCode::CONFLICT,
                "wrong_prev",
                format!("event {} of {id} must name the previous event's hash {}", h.seq, head.last_hash),
            )));
        }
        for p in &h.payloads {
            if cx.fresh_blobs.contains(p) || cx.stored_blobs.contains(p) {
                return Ok(Err(Refusal::new(
                    StatusCode::CONFLICT,
                    "payload_reused",
                    format!("payload {p} belongs to another event: each payload is sealed afresh"),
                )));
            }
        }
        if cx.queued >= self.limits.pending_events_max {
            return Ok(Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_full",
                format!("{} events wait for an anchor; retry shortly", cx.queued),
            )
            .retry(1)));
        }
        let mut record = Vec::with_capacity(512);
        record.extend_from_slice(&arrival.to_be_bytes());
        c.event.encode_to(&mut record);
        cx.writes.events.push((event_key(&id, h.seq), record));
        let seq = h.seq;
        cx.overlay.insert(id, LocalHead { next_seq: seq + 1, last_hash: hash, ..head });
        for (slot, (bytes, p)) in c.payloads.into_iter().zip(c.event.header.payloads).enumerate() {
            let guest = if slot == 0 { None } else { c.guest };
            cx.writes.blobs.push((p, bytes));
            cx.writes.readers.push((p, BlobMeta { device: id, seq, guest, erased: false }.encode()));
            cx.fresh_blobs.insert(p);
        }
        Ok(Ok(Stored::New(hash)))
    }

    /// Marks `ranges` anchored in anchor `n`, found on the chain: their events leave the
    /// pending queue.
    fn mark(&self, ranges: &[Range], n: u64) -> anyhow::Result<()> {
        let mut arrivals = Vec::new();
        for r in ranges {
            for seq in r.first_seq..=r.last_seq {
                let Some(record) = self.store.events.get(event_key(&r.device, seq))? else { continue };
                arrivals.push(u64_at(&record, 0)?);
            }
        }
        let removed = {
            let mut queue = lock(&self.queue);
            arrivals.iter().filter(|a| queue.remove(a).is_some()).count() as u64
        };
        self.commit_marks(ranges, n, removed)
    }

    /// Marks a flight's ranges anchored in anchor `n` (its events left the in-memory queue when
    /// they were sent).
    fn mark_flight(&self, flight: &Flight, n: u64) -> anyhow::Result<()> {
        self.commit_marks(&flight.ranges, n, flight.events.len() as u64)?;
        let mut trees = lock(&self.trees);
        if trees.len() >= BATCH_CACHE_MAX {
            trees.pop_front();
        }
        trees.push_back((n, flight.tree.clone()));
        Ok(())
    }

    /// Writes that `ranges` are anchored in anchor `n`, in one durable batch; `removed` events
    /// were pending.
    fn commit_marks(&self, ranges: &[Range], n: u64, removed: u64) -> anyhow::Result<()> {
        let mut batch = self.store.db.batch().durability(Some(PersistMode::SyncAll));
        for r in ranges {
            let value = [r.first_seq.to_be_bytes(), n.to_be_bytes()].concat();
            batch.insert(&self.store.anchored, event_key(&r.device, r.last_seq), value);
        }
        batch.commit()?;
        let mut heads = lock(&self.heads);
        for r in ranges {
            if let Some(head) = heads.get_mut(&r.device) {
                head.anchored_next = head.anchored_next.max(r.last_seq.saturating_add(1));
            }
        }
        drop(heads);
        self.pending.fetch_sub(removed, Ordering::SeqCst);
        Ok(())
    }

    /// Sets a device's pending events aside until [`BLOCKED_RECHECK`] (now: at the next
    /// round, after a reconciliation).
    fn block(&self, device: DeviceId, why: String, recheck_now: bool) {
        let at = if recheck_now { Instant::now() } else { Instant::now() + BLOCKED_RECHECK };
        let mut blocked = lock(&self.blocked);
        if blocked.get(&device).is_none_or(|(_, w)| *w != why) {
            tracing::warn!(%device, %why, "the device's pending events are set aside");
        }
        blocked.insert(device, (at, why));
    }

    /// The next batch, taken out of the in-memory queue: pending events in arrival order, each
    /// device's a prefix of its pending ones that continues what is anchored or in flight
    /// (`sent_next`), at most [`RANGES_MAX`] devices and `events_max` events.
    fn pick(&self, sent_next: &HashMap<DeviceId, u64>) -> Vec<(Range, Vec<(u64, PendingEvent)>)> {
        let blocked: HashSet<DeviceId> = lock(&self.blocked).keys().copied().collect();
        let mut picked: Vec<(Range, Vec<(u64, PendingEvent)>)> = Vec::new();
        let mut index: HashMap<DeviceId, usize> = HashMap::new();
        let mut skipped: HashSet<DeviceId> = HashSet::new();
        let mut total = 0u64;
        let mut queue = lock(&self.queue);
        for (&arrival, event) in queue.iter() {
            if total >= self.batch.events_max {
                break;
            }
            let (device, seq) = (event.device, event.seq);
            if skipped.contains(&device) || blocked.contains(&device) {
                continue;
            }
            match index.get(&device) {
                Some(&i) => {
                    let (range, events) = &mut picked[i];
                    if seq != range.last_seq + 1 {
                        skipped.insert(device);
                        self.block(device, format!("its pending events skip from {} to {seq}", range.last_seq), true);
                        continue;
                    }
                    range.last_seq = seq;
                    range.last_hash = event.hash;
                    events.push((arrival, *event));
                }
                None => {
                    if picked.len() >= RANGES_MAX {
                        skipped.insert(device);
                        continue;
                    }
                    let next = match sent_next.get(&device) {
                        Some(next) => Some(*next),
                        None => lock(&self.heads).get(&device).map(|h| h.anchored_next),
                    };
                    if next != Some(seq) {
                        skipped.insert(device);
                        self.block(
                            device,
                            format!("its first pending event {seq} does not follow what is anchored"),
                            true,
                        );
                        continue;
                    }
                    index.insert(device, picked.len());
                    let range = Range { device, first_seq: seq, last_seq: seq, last_hash: event.hash };
                    picked.push((range, vec![(arrival, *event)]));
                }
            }
            total += 1;
        }
        for (_, events) in &picked {
            for (arrival, _) in events {
                queue.remove(arrival);
            }
        }
        picked
    }

    /// Puts the events of anchors that did not commit back in the queue.
    fn unsend(&self, events: Vec<(u64, PendingEvent)>) {
        lock(&self.queue).extend(events);
    }

    /// Whether anchor `a` is the one `flight` sent.
    fn is_flight(&self, a: &Anchor, flight: &Flight) -> bool {
        a.gateway == self.did
            && a.root == flight.root
            && a.ranges.len() == flight.ranges.len()
            && a.ranges.iter().zip(&flight.ranges).all(|((a, _), r)| a == r)
    }

    /// Brings the gateway's view of each device in line with the chain: ranges the chain
    /// anchored (by this gateway) past what it marked are marked; a device whose pending
    /// events cannot be anchored now is set aside, with why.
    fn reconcile(&self, devices: &[DeviceId]) -> anyhow::Result<()> {
        let mut anchors: HashMap<u64, Anchor> = HashMap::new();
        for device in devices {
            let Some(local) = lock(&self.heads).get(device).copied() else { continue };
            match self.reconcile_one(device, local, &mut anchors)? {
                Some(why) => self.block(*device, why, false),
                None => {
                    lock(&self.blocked).remove(device);
                }
            }
            lock(&self.devices).remove(device);
        }
        Ok(())
    }

    /// [`Gateway::reconcile`] of one device: why its events cannot be anchored now, if so.
    fn reconcile_one(
        &self,
        device: &DeviceId,
        local: LocalHead,
        anchors: &mut HashMap<u64, Anchor>,
    ) -> anyhow::Result<Option<String>> {
        let Some(log) = self.node.log_device(device)? else { return Ok(Some("it is not on the chain".into())) };
        if log.head.next_seq > local.anchored_next {
            // Newest first, back to the first range past what is marked.
            let mut found: Vec<(Range, u64, Did)> = Vec::new();
            let mut end = log.anchors;
            'pages: while end > 0 {
                let from = end.saturating_sub(ANCHORS_PAGE_MAX);
                let page = self.node.device_anchors(device, from, end - from)?.context("a device's anchors")?;
                for &n in page.anchors.iter().rev() {
                    let a = match anchors.entry(n) {
                        Entry::Occupied(e) => e.into_mut(),
                        Entry::Vacant(e) => {
                            e.insert(self.node.anchor(n)?.with_context(|| format!("anchor {n}"))?.anchor)
                        }
                    };
                    let Some((range, _)) = a.ranges.iter().find(|(r, _)| r.device == *device) else { continue };
                    if range.last_seq < local.anchored_next {
                        break 'pages;
                    }
                    found.push((range.clone(), n, a.gateway));
                }
                end = from;
            }
            found.reverse();
            for (range, n, gateway) in found {
                let last = self.store.event(device, range.last_seq)?;
                let ours = gateway == self.did
                    && range.first_seq >= local.anchored_next
                    && last.is_some_and(|(_, e)| e.header.hash() == range.last_hash);
                if !ours {
                    return Ok(Some(format!(
                        "anchor {n} holds its events {} to {} but not as this gateway holds them",
                        range.first_seq, range.last_seq
                    )));
                }
                self.mark(std::slice::from_ref(&range), n)?;
                tracing::info!(%device, anchor = n, first = range.first_seq, last = range.last_seq, "found anchored");
            }
        }
        if log.gateway != Some(self.did) {
            return Ok(Some("its owner no longer names this gateway".into()));
        }
        let passport = self.node.device(device)?.context("a logged device has no passport")?.passport;
        if passport.status.is_final() {
            return Ok(Some(format!("it is {}", passport.status.name())));
        }
        Ok(None)
    }

    /// Looks again at the devices set aside whose time has come.
    fn recheck_blocked(&self) -> anyhow::Result<()> {
        let now = Instant::now();
        let due: Vec<DeviceId> = {
            let mut blocked = lock(&self.blocked);
            let due: Vec<DeviceId> = blocked.iter().filter(|(_, (at, _))| *at <= now).map(|(d, _)| *d).collect();
            for d in &due {
                blocked.remove(d);
            }
            due
        };
        if due.is_empty() { Ok(()) } else { self.reconcile(&due) }
    }

    /// The anchored batch `n`, from the cache or rebuilt from the chain's proof of the anchor
    /// and the stored events.
    fn batch(&self, n: u64) -> Result<Arc<Batch>, Refusal> {
        if let Some((_, b)) = lock(&self.batches).iter().find(|(m, _)| *m == n) {
            return Ok(b.clone());
        }
        let proof = match self.node.prove_anchor(n) {
            Ok(p) => p,
            Err(ClientError::Api(p)) if p.code == "not_yet_final" => {
                return Err(Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_yet_final",
                    "the anchor is not finalized yet",
                )
                .retry(1));
            }
            Err(e) => return Err(Refusal::node(&e)),
        };
        let bad_node = |why: String| Refusal::new(StatusCode::BAD_GATEWAY, "bad_node_answer", why);
        let ClaimJson::LogAnchor(claim) = &proof.claim else {
            return Err(bad_node(format!("the node's proof of anchor {n} is not a log_anchor claim")));
        };
        let value = claim.item.value.as_deref().ok_or_else(|| bad_node(format!("anchor {n} is proven absent")))?;
        let anchor = hex::decode(value)
            .ok()
            .and_then(|b| Anchor::decode(&b).ok())
            .ok_or_else(|| bad_node(format!("anchor {n}'s record does not decode")))?;
        if anchor.gateway != self.did {
            return Err(Refusal::new(
                StatusCode::NOT_FOUND,
                "not_my_anchor",
                format!("anchor {n} is another gateway's"),
            ));
        }
        let cached = lock(&self.trees).iter().find(|(m, _)| *m == n).map(|(_, t)| t.clone());
        if let Some(tree) = cached.filter(|t| t.root() == anchor.root) {
            let batch = Arc::new(Batch { item: claim.item.clone(), proof, anchor, tree });
            return Ok(self.cache_batch(n, batch));
        }
        let mut leaves = Vec::with_capacity(usize::try_from(anchor.size).unwrap_or(0));
        for (r, _) in &anchor.ranges {
            for seq in r.first_seq..=r.last_seq {
                let event = self.store.event(&r.device, seq).map_err(|e| Refusal::storage(&e))?;
                let (_, event) = event.ok_or_else(|| {
                    Refusal::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "events_missing",
                        format!("event {seq} of {} in anchor {n} is not stored here", r.device),
                    )
                })?;
                leaves.push(event.leaf());
            }
        }
        let tree = Arc::new(Tree::new(leaves));
        if tree.root() != anchor.root {
            return Err(Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "root_mismatch",
                format!("the stored events of anchor {n} do not make its root"),
            ));
        }
        let batch = Arc::new(Batch { item: claim.item.clone(), proof, anchor, tree });
        Ok(self.cache_batch(n, batch))
    }

    fn cache_batch(&self, n: u64, batch: Arc<Batch>) -> Arc<Batch> {
        let mut cache = lock(&self.batches);
        if cache.len() >= BATCH_CACHE_MAX {
            cache.pop_front();
        }
        cache.push_back((n, batch.clone()));
        batch
    }

    /// Event `seq` of `device`'s receipt: the anchor's proof with an `event_receipt` claim.
    fn receipt(&self, device: &DeviceId, seq: u64) -> Result<ProofJson, Refusal> {
        let storage = |e: anyhow::Error| Refusal::storage(&e);
        let Some((_, event)) = self.store.event(device, seq).map_err(storage)? else {
            return Err(Refusal::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("this gateway holds no event {seq} of {device}"),
            ));
        };
        let Some(n) = self.store.anchor_of(device, seq).map_err(storage)? else {
            let retry = u32::try_from(self.batch.interval_ms.div_ceil(1000)).unwrap_or(1).max(1);
            return Err(Refusal::new(
                StatusCode::NOT_FOUND,
                "not_anchored",
                format!("event {seq} of {device} is not anchored yet"),
            )
            .retry(retry));
        };
        let batch = self.batch(n)?;
        let internal = |why: String| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", why);
        let (_, _, leaf) = batch
            .anchor
            .locate(device, seq)
            .ok_or_else(|| internal(format!("anchor {n} has no event {seq} of {device}")))?;
        let path = usize::try_from(leaf)
            .ok()
            .and_then(|i| batch.tree.path(i))
            .ok_or_else(|| internal(format!("no leaf {leaf} in anchor {n}")))?;
        let mut doc = batch.proof.clone();
        doc.claim = ClaimJson::EventReceipt(EventReceiptClaim {
            event: hex::encode(event.encode()),
            leaf,
            path: wire::path_json(&path),
            anchor: n,
            item: batch.item.clone(),
        });
        Ok(doc)
    }

    /// The key of `did`'s account now.
    fn account_key(&self, did: &Did) -> Result<Option<PublicKey>, Refusal> {
        let account = self.node.account(did).map_err(|e| Refusal::node(&e))?;
        Ok(account.and_then(|a| PublicKey::from_hex(&a.public_key).ok()))
    }

    /// Whether `key` may read (or, with `erase`, erase) a blob: the device's current owner
    /// may do both; its guest may read it.
    fn may(&self, meta: &BlobMeta, key: &PublicKey, erase: bool) -> Result<(), Refusal> {
        let device = self.node.device(&meta.device).map_err(|e| Refusal::node(&e))?;
        if let Some(owner) = device.and_then(|d| d.passport.owner)
            && self.account_key(&owner)? == Some(*key)
        {
            return Ok(());
        }
        if !erase
            && let Some(guest) = &meta.guest
            && self.account_key(guest)? == Some(*key)
        {
            return Ok(());
        }
        let (code, who) = if erase {
            ("not_the_owner", "the device's owner")
        } else {
            ("not_a_reader", "the device's owner or the guest it is sealed for")
        };
        Err(Refusal::new(StatusCode::FORBIDDEN, code, format!("only {who} may do this")))
    }
}

/// What [`Gateway::admit`] reads and updates across one group.
struct Admission<'a> {
    heads: &'a HashMap<DeviceId, LocalHead>,
    overlay: &'a mut HashMap<DeviceId, LocalHead>,
    /// The group's payloads stored before it.
    stored_blobs: &'a HashSet<Hash>,
    /// The payloads of the group's events admitted so far.
    fresh_blobs: &'a mut HashSet<Hash>,
    writes: &'a mut GroupWrites,
    queued: u64,
}

/// What a group stores, by keyspace, before it is sorted into one batch.
#[derive(Default)]
struct GroupWrites {
    /// `events`: device ‖ seq → arrival ‖ event.
    events: Vec<([u8; 40], Vec<u8>)>,
    /// `blobs`: hash → sealed payload.
    blobs: Vec<(Hash, Vec<u8>)>,
    /// `readers`: hash → who may read it.
    readers: Vec<(Hash, Vec<u8>)>,
}

// ---------------------------------------------------------------------------------------------
// Threads: the writer and the batcher.

fn writer(gw: Arc<Gateway>, jobs: Receiver<WriteJob>, mut arrival: u64) {
    while !gw.stopping() {
        let first = match jobs.recv_timeout(STOP_POLL) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut group = vec![first];
        while group.len() < GROUP_REQUESTS_MAX {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        match gw.write_group(&mut group, &mut arrival) {
            Ok(results) => {
                for (job, r) in group.into_iter().zip(results) {
                    let _ = job.reply.send(r);
                }
            }
            Err(e) => {
                gw.fail(format!("storing events failed: {e:#}"));
                let refusal = Refusal::storage(&e);
                for job in group {
                    let _ = job.reply.send(vec![Err(refusal.clone())]);
                }
                return;
            }
        }
    }
}

fn batcher(gw: Arc<Gateway>, wake: Receiver<()>, pending_devices: Vec<DeviceId>) {
    let interval = Duration::from_millis(gw.batch.interval_ms);
    // After a restart: find what the chain anchored before the gateway could mark it.
    while !gw.stopping() && !pending_devices.is_empty() {
        match gw.reconcile(&pending_devices) {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "reconciling with the chain failed; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
    let mut anchorer = Anchorer::new();
    while !gw.stopping() {
        let wait = match anchorer.step(&gw) {
            Ok(wait) => wait,
            Err(e) => {
                // The node did not answer: what is in flight is settled (or, past ANCHOR_WAIT,
                // recovered) at a later step.
                tracing::warn!(error = %format!("{e:#}"), "anchoring failed; retrying");
                interval.max(Duration::from_secs(1))
            }
        };
        let deadline = Instant::now() + wait;
        while !gw.stopping() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match wake.recv_timeout(left.min(STOP_POLL)) {
                Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

/// The batcher's anchors in flight: sent with consecutive nonces, settled in that order.
struct Anchorer {
    flights: VecDeque<Flight>,
    /// The next nonce; `None`: read it from the chain (nothing is in flight then).
    nonce: Option<u64>,
    /// Per device with a range in flight, the sequence number after its last one.
    sent_next: HashMap<DeviceId, u64>,
    /// The number of the last anchor of this gateway's seen to commit.
    last_found: Option<u64>,
    /// When the queue was last emptied into anchors (or found empty).
    last_round: Instant,
}

impl Anchorer {
    fn new() -> Anchorer {
        Anchorer {
            flights: VecDeque::new(),
            nonce: None,
            sent_next: HashMap::new(),
            last_found: None,
            last_round: Instant::now(),
        }
    }

    /// Settles what committed, sends what is due; returns how long to wait before the next step.
    fn step(&mut self, gw: &Gateway) -> anyhow::Result<Duration> {
        let interval = Duration::from_millis(gw.batch.interval_ms);
        self.settle(gw)?;
        let recheck = lock(&gw.blocked).values().any(|(at, _)| *at <= Instant::now());
        if recheck {
            // Reconciling asks the chain about devices: only with nothing of theirs in flight.
            if !self.flights.is_empty() {
                return Ok(ANCHOR_POLL);
            }
            gw.recheck_blocked()?;
        }
        let unsent = lock(&gw.queue).len() as u64;
        if unsent >= gw.batch.events_max || (unsent > 0 && self.last_round.elapsed() >= interval) {
            let mut valid_until = None;
            while (self.flights.len() as u64) < gw.batch.in_flight_max {
                let picked = gw.pick(&self.sent_next);
                if picked.is_empty() {
                    self.last_round = Instant::now();
                    break;
                }
                let until = match valid_until {
                    Some(h) => h,
                    None => match gw.node.status() {
                        Ok(s) => *valid_until.insert(s.height.saturating_add(ANCHOR_VALID_BLOCKS)),
                        Err(e) => {
                            gw.unsend(picked.into_iter().flat_map(|(_, events)| events).collect());
                            return Err(e.into());
                        }
                    },
                };
                if !self.send(gw, picked, until)? {
                    return Ok(interval);
                }
            }
        } else if unsent == 0 {
            self.last_round = Instant::now();
        }
        Ok(if self.flights.is_empty() { interval.saturating_sub(self.last_round.elapsed()) } else { ANCHOR_POLL })
    }

    /// Signs and submits one anchor of `picked` with the next nonce; `false` if the node
    /// refused it (its events are back in the queue, the chain was asked about their devices).
    fn send(
        &mut self,
        gw: &Gateway,
        picked: Vec<(Range, Vec<(u64, PendingEvent)>)>,
        valid_until_height: u64,
    ) -> anyhow::Result<bool> {
        let ranges: Vec<Range> = picked.iter().map(|(r, _)| r.clone()).collect();
        let events: Vec<(u64, PendingEvent)> = picked.into_iter().flat_map(|(_, events)| events).collect();
        let tree = Tree::new(events.iter().map(|(_, e)| e.leaf).collect());
        let size = events.len() as u64;
        let nonce = match self.nonce {
            Some(n) => n,
            None => match gw.node.account(&gw.did) {
                Ok(Some(account)) => account.nonce,
                Ok(None) => {
                    gw.unsend(events);
                    bail!("the gateway's account {} is not on the chain", gw.did);
                }
                Err(e) => {
                    gw.unsend(events);
                    return Err(e.into());
                }
            },
        };
        let root = tree.root();
        let tx = Transaction {
            chain_id: gw.chain_id.clone(),
            signer: gw.key.public_key(),
            nonce,
            valid_until_height,
            instructions: vec![Instruction::Logs(LogInstruction::AnchorEvents { root, size, ranges: ranges.clone() })],
        }
        .sign(&gw.key);
        match gw.node.submit(&tx) {
            Ok(hash) => {
                self.nonce = Some(nonce + 1);
                for r in &ranges {
                    self.sent_next.insert(r.device, r.last_seq.saturating_add(1));
                }
                self.flights.push_back(Flight {
                    tx: hash,
                    root,
                    ranges,
                    events,
                    tree: Arc::new(tree),
                    sent: Instant::now(),
                });
                Ok(true)
            }
            Err(e) => {
                // Refused (a transaction sent before a crash may hold the nonce, or have
                // anchored these), or not answered: ask the chain once nothing is in flight.
                if let ClientError::Api(p) = &e {
                    tracing::warn!(code = %p.code, detail = %p.detail, "the node refused an anchor; reconciling");
                }
                let devices = ranges.iter().map(|r| r.device).collect();
                gw.unsend(events);
                self.recover(gw, devices)?;
                match e {
                    ClientError::Api(_) => Ok(false),
                    e => Err(e.into()),
                }
            }
        }
    }

    /// Settles the anchors in flight that committed, oldest first; one that failed, was dropped
    /// or waited too long starts a recovery.
    fn settle(&mut self, gw: &Gateway) -> anyhow::Result<()> {
        while let Some(flight) = self.flights.front() {
            let status = gw.node.tx(&flight.tx)?;
            match status.as_ref().map(|s| s.status) {
                Some(TxState::Committed) => {
                    let flight = self.flights.pop_front().expect("the front flight exists");
                    if !self.settle_committed(gw, flight)? {
                        return Ok(());
                    }
                }
                Some(TxState::Failed | TxState::Dropped) => {
                    let s = status.expect("a status was read");
                    tracing::warn!(
                        tx = %flight.tx, code = s.error_code.as_deref().unwrap_or("?"),
                        message = s.error_message.as_deref().unwrap_or(""), "an anchor failed; reconciling"
                    );
                    return self.recover(gw, Vec::new());
                }
                Some(TxState::Pending) | None if flight.sent.elapsed() > ANCHOR_WAIT => {
                    tracing::warn!(tx = %flight.tx, "an anchor did not commit in time; reconciling");
                    return self.recover(gw, Vec::new());
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// Marks a committed flight's ranges anchored, once its anchor's number is found; `false`
    /// if the chain holds no such anchor of this gateway (then it recovered: its events are
    /// back in the queue).
    fn settle_committed(&mut self, gw: &Gateway, flight: Flight) -> anyhow::Result<bool> {
        if std::env::var_os(CRASH_AFTER_ANCHOR_ENV).is_some() {
            tracing::error!(tx = %flight.tx, "anchor committed; exiting before marking it, as {CRASH_AFTER_ANCHOR_ENV} asks");
            std::process::exit(137);
        }
        let Some(n) = self.find_anchor(gw, &flight)? else {
            let devices: Vec<DeviceId> = flight.ranges.iter().map(|r| r.device).collect();
            gw.unsend(flight.events);
            self.recover(gw, devices)?;
            return Ok(false);
        };
        if let Err(e) = gw.mark_flight(&flight, n) {
            gw.fail(format!("marking anchor {n} failed: {e:#}"));
            return Err(e);
        }
        for r in &flight.ranges {
            if self.sent_next.get(&r.device) == Some(&r.last_seq.saturating_add(1)) {
                self.sent_next.remove(&r.device);
            }
        }
        self.last_found = Some(n);
        let latency_ms = flight.sent.elapsed().as_millis() as u64;
        tracing::info!(anchor = n, events = flight.events.len(), devices = flight.ranges.len(), latency_ms, "anchored");
        Ok(true)
    }

    /// The number of the committed anchor `flight` sent. This gateway's anchors commit in nonce
    /// order, so it is one of the next after the last found (other gateways' may come
    /// between); failing that, one of the newest anchors of its first device.
    fn find_anchor(&self, gw: &Gateway, flight: &Flight) -> anyhow::Result<Option<u64>> {
        if let Some(last) = self.last_found {
            for n in last + 1..=last + ANCHOR_PROBES_MAX {
                match gw.node.anchor(n)? {
                    None => break,
                    Some(a) if gw.is_flight(&a.anchor, flight) => return Ok(Some(n)),
                    Some(_) => {}
                }
            }
        }
        let device = &flight.ranges[0].device;
        let Some(log) = gw.node.log_device(device)? else { return Ok(None) };
        let from = log.anchors.saturating_sub(gw.batch.in_flight_max + 1);
        let page = gw.node.device_anchors(device, from, log.anchors - from)?.context("a device's anchors")?;
        for &n in page.anchors.iter().rev() {
            if gw.node.anchor(n)?.is_some_and(|a| gw.is_flight(&a.anchor, flight)) {
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    /// After an anchor failed, was refused or went unanswered: waits for every other one in
    /// flight to settle, puts the events of those that did not commit back in the queue, and
    /// asks the chain about their devices (and `devices`); the next anchor reads its nonce anew.
    fn recover(&mut self, gw: &Gateway, mut devices: Vec<DeviceId>) -> anyhow::Result<()> {
        while let Some(flight) = self.flights.pop_front() {
            let committed = match gw.node.wait_for(&flight.tx, ANCHOR_WAIT) {
                Ok(s) => s.status == TxState::Committed,
                Err(e) => {
                    tracing::warn!(tx = %flight.tx, error = %e, "an anchor's outcome is unknown");
                    false
                }
            };
            if committed && let Some(n) = self.find_anchor(gw, &flight)? {
                if let Err(e) = gw.mark_flight(&flight, n) {
                    gw.fail(format!("marking anchor {n} failed: {e:#}"));
                    return Err(e);
                }
                self.last_found = Some(n);
                continue;
            }
            devices.extend(flight.ranges.iter().map(|r| r.device));
            gw.unsend(flight.events);
        }
        self.sent_next.clear();
        self.nonce = None;
        devices.sort();
        devices.dedup();
        gw.reconcile(&devices)
    }
}

// ---------------------------------------------------------------------------------------------
// The HTTP API.

type GatewayState = State<Arc<Gateway>>;

/// The gateway's OpenAPI document (`GET /openapi.json`).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Civitas gateway API",
        description = "Devices post signed events; owners and guests read their sealed payloads; anyone fetches receipts."
    ),
    paths(status, post_events, events, head, receipt, blob, erase_blob),
    components(schemas(
        PostEventsJson,
        PostedEventJson,
        PostedResultsJson,
        EventResultJson,
        GatewayHeadJson,
        EventsPageJson,
        EventEntryJson,
        BlobJson,
        GatewayStatusJson,
        Problem,
        ProofJson,
    ))
)]
struct GatewayDoc;

fn router(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/events", post(post_events))
        .route("/v1/events/{device}", get(events))
        .route("/v1/devices/{device}/head", get(head))
        .route("/v1/receipts/{device}/{seq}", get(receipt))
        .route("/v1/blobs/{hash}", get(blob).delete(erase_blob))
        .route("/openapi.json", get(|| async { Json(<GatewayDoc as utoipa::OpenApi>::openapi()) }))
        .fallback(|| async { Refusal::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .with_state(gw)
}

/// Runs `f` on the blocking pool: it calls the node or reads the store.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, Refusal> + Send + 'static) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "a worker failed"))?
}

fn parse_device(s: &str) -> Result<DeviceId, Refusal> {
    s.parse().map_err(|e: civitas_types::device::passport::DeviceIdError| Refusal::bad("bad_device", e.to_string()))
}

/// The gateway's account, chain, pending events, devices, and the devices it cannot anchor now.
#[utoipa::path(get, path = "/v1/status", responses((status = 200, description = "The gateway's state", body = GatewayStatusJson)))]
async fn status(State(gw): GatewayState) -> Json<GatewayStatusJson> {
    let blocked = lock(&gw.blocked).iter().map(|(d, (_, why))| (*d, why.clone())).collect();
    Json(GatewayStatusJson {
        did: gw.did,
        chain_id: gw.chain_id.clone(),
        pending_events: gw.pending.load(Ordering::SeqCst),
        devices: lock(&gw.heads).len() as u64,
        blocked,
    })
}

/// A batch of device-signed events with their sealed payloads, as JSON (`PostEventsJson`) or
/// binary (`application/octet-stream`, see `docs/device-logs.md`); one result per event.
#[utoipa::path(
    post, path = "/v1/events",
    request_body(content = PostEventsJson, description = "The events (JSON, or the binary framing)"),
    responses(
        (status = 200, description = "One result per event: stored (durably), duplicate or refused with its problem", body = PostedResultsJson),
        (status = 400, description = "A body that is not a batch", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "A body over the limit", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy or stopping; retry", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn post_events(State(gw): GatewayState, headers: HeaderMap, body: Body) -> Result<Response, Refusal> {
    if gw.stopping() {
        return Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "stopping", "the gateway is stopping").retry(1));
    }
    let binary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case(BINARY_CONTENT_TYPE)));
    let limit = gw.limits.request_bytes_max;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("a request body is at most {limit} bytes"),
        )
    })?;
    let max = gw.limits.request_events_max;
    let checker = gw.clone();
    // Decoding and checking (signatures, hashes) take CPU: the blocking pool runs them.
    let (ids, items) = blocking(move || {
        let posted: Vec<PostedEvent> = if binary {
            decode_events(&bytes, max)
                .map_err(|e| Refusal::bad("bad_body", format!("not a binary batch of events: {e}")))?
        } else {
            let posted: PostEventsJson = civitas_client::wire::json_at_path(&bytes)
                .map_err(|e| Refusal::bad("bad_json", format!("not a batch of events: {e}")))?;
            posted.events.into_iter().map(PostedEvent::from).collect()
        };
        if posted.is_empty() || posted.len() > max {
            return Err(Refusal::bad("bad_batch", format!("a batch holds 1 to {max} events")));
        }
        let ids: Vec<(DeviceId, u64)> = posted.iter().map(|e| (e.event.header.device, e.event.header.seq)).collect();
        Ok((ids, checker.check_many(posted)))
    })
    .await?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    match gw.jobs.try_send(WriteJob { items, reply }) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            return Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many requests wait to be stored; retry shortly",
            )
            .retry(1));
        }
        Err(TrySendError::Disconnected(_)) => {
            return Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "stopping", "the gateway is stopping"));
        }
    }
    let outcomes = answer
        .await
        .map_err(|_| Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "stopping", "the gateway is stopping"))?;
    if outcomes.len() != ids.len() {
        // The store failed: nothing of this request is acknowledged.
        return Err(outcomes
            .into_iter()
            .find_map(Result::err)
            .unwrap_or_else(|| Refusal::storage(&"the writer stopped")));
    }
    if binary {
        let outcomes: Vec<EventOutcome> = outcomes
            .into_iter()
            .map(|o| match o {
                Ok(Stored::New(hash)) => EventOutcome::Stored(hash),
                Ok(Stored::Duplicate(hash)) => EventOutcome::Duplicate(hash),
                Err(r) => EventOutcome::Refused { code: r.code.to_owned(), detail: r.detail },
            })
            .collect();
        return Ok(([(header::CONTENT_TYPE, BINARY_CONTENT_TYPE)], encode_outcomes(&outcomes)).into_response());
    }
    let results = ids
        .into_iter()
        .zip(outcomes)
        .map(|((device, seq), outcome)| match outcome {
            Ok(Stored::New(hash)) => {
                EventResultJson { device, seq, status: "stored".into(), hash: Some(hash), error: None }
            }
            Ok(Stored::Duplicate(hash)) => {
                EventResultJson { device, seq, status: "duplicate".into(), hash: Some(hash), error: None }
            }
            Err(r) => EventResultJson { device, seq, status: "refused".into(), hash: None, error: Some(r.problem()) },
        })
        .collect();
    Ok(Json(PostedResultsJson { results }).into_response())
}

/// A page's query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    from: Option<u64>,
    limit: Option<u64>,
}

/// A page of a device's stored events, from a sequence number.
#[utoipa::path(
    get, path = "/v1/events/{device}",
    params(
        ("device" = String, Path, description = "The device (did:key)", pattern = "^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{40,50}$"),
        ("from" = Option<u64>, Query, description = "The first sequence number"),
        ("limit" = Option<u64>, Query, description = "At most this many (1 to 1000)"),
    ),
    responses(
        (status = 200, description = "The page", body = EventsPageJson),
        (status = 400, description = "A bad device id or query", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn events(
    State(gw): GatewayState,
    UrlPath(device): UrlPath<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<EventsPageJson>, Refusal> {
    let Query(q) = query.map_err(|e| Refusal::bad("bad_query", e.body_text()))?;
    let device = parse_device(&device)?;
    let (from, limit) = (q.from.unwrap_or(0), q.limit.unwrap_or(EVENTS_PAGE_MAX));
    if limit == 0 || limit > EVENTS_PAGE_MAX {
        return Err(Refusal::bad("bad_limit", format!("limit is 1 to {EVENTS_PAGE_MAX}")));
    }
    blocking(move || {
        let storage = |e: anyhow::Error| Refusal::storage(&e);
        let mut events = Vec::new();
        let mut next = None;
        for guard in gw.store.events.range(event_key(&device, from)..=event_key(&device, u64::MAX)) {
            let (key, _) = guard.into_inner().map_err(|e| Refusal::storage(&e))?;
            let (_, seq) = parse_event_key(&key).map_err(storage)?;
            if events.len() as u64 == limit {
                next = Some(seq);
                break;
            }
            let Some((_, event)) = gw.store.event(&device, seq).map_err(storage)? else { continue };
            let anchor = gw.store.anchor_of(&device, seq).map_err(storage)?;
            events.push(EventEntryJson { hash: event.header.hash(), event, anchor });
        }
        Ok(Json(EventsPageJson { device, events, next }))
    })
    .await
}

/// Where a device's next event goes: its sequence number and the last event's hash.
#[utoipa::path(
    get, path = "/v1/devices/{device}/head",
    params(("device" = String, Path, description = "The device (did:key)", pattern = "^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{40,50}$")),
    responses(
        (status = 200, description = "The head", body = GatewayHeadJson),
        (status = 400, description = "A bad device id", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn head(State(gw): GatewayState, UrlPath(device): UrlPath<String>) -> Result<Json<GatewayHeadJson>, Refusal> {
    let device = parse_device(&device)?;
    if let Some(h) = lock(&gw.heads).get(&device) {
        return Ok(Json(GatewayHeadJson {
            device,
            next_seq: h.next_seq,
            last_hash: h.last_hash,
            anchored_next_seq: h.anchored_next,
        }));
    }
    // A device the gateway has not logged yet continues from the chain's head.
    blocking(move || {
        let info = gw.device_info(&device)?.ok_or_else(|| {
            Refusal::new(StatusCode::NOT_FOUND, "unknown_device", format!("no device {device} on the chain"))
        })?;
        let h = &info.head;
        Ok(Json(GatewayHeadJson {
            device,
            next_seq: h.next_seq,
            last_hash: h.last_hash,
            anchored_next_seq: h.next_seq,
        }))
    })
    .await
}

/// An event's receipt: a proof document (`event_receipt`) for `civitas verify`.
#[utoipa::path(
    get, path = "/v1/receipts/{device}/{seq}",
    params(
        ("device" = String, Path, description = "The device (did:key)", pattern = "^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{40,50}$"),
        ("seq" = u64, Path, description = "The event's sequence number"),
    ),
    responses(
        (status = 200, description = "The receipt", body = ProofJson),
        (status = 400, description = "A bad device id or number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event (`not_found`), or not anchored yet (`not_anchored`, with Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn receipt(
    State(gw): GatewayState,
    UrlPath((device, seq)): UrlPath<(String, String)>,
) -> Result<Json<ProofJson>, Refusal> {
    let device = parse_device(&device)?;
    let seq: u64 = seq.parse().map_err(|_| Refusal::bad("bad_seq", "a sequence number is a number"))?;
    blocking(move || gw.receipt(&device, seq).map(Json)).await
}

/// The key that signed the request (`civitas_client::signed`), checked against this
/// gateway's clock.
fn signer(method: &str, uri: &Uri, headers: &HeaderMap) -> Result<PublicKey, Refusal> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(key), Some(time), Some(signature)) = (header(HEADER_KEY), header(HEADER_TIME), header(HEADER_SIGNATURE))
    else {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "unsigned_request",
            format!("this request is signed: send {HEADER_KEY}, {HEADER_TIME} and {HEADER_SIGNATURE}"),
        ));
    };
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    check_request(method, path, key, time, signature, now_ms())
        .map_err(|why| Refusal::new(StatusCode::UNAUTHORIZED, "bad_signature", why))
}

fn parse_hash(s: &str) -> Result<Hash, Refusal> {
    Hash::from_hex(s).map_err(|_| Refusal::bad("bad_hash", "a payload's hash is 64 hex digits"))
}

/// A sealed payload: a signed read by the device's owner, or by the guest it is sealed for.
#[utoipa::path(
    get, path = "/v1/blobs/{hash}",
    params(("hash" = String, Path, description = "The payload's SHA-256, hex", pattern = "^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The sealed payload", body = BlobJson),
        (status = 401, description = "Unsigned, or a bad signature", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner nor its guest", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such payload", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Erased by the device's owner", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn blob(
    State(gw): GatewayState,
    UrlPath(hash): UrlPath<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<BlobJson>, Refusal> {
    let key = signer("GET", &uri, &headers)?;
    let hash = parse_hash(&hash)?;
    blocking(move || {
        let storage = |e: anyhow::Error| Refusal::storage(&e);
        let meta = gw.store.blob_meta(&hash).map_err(storage)?;
        let meta =
            meta.ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "not_found", format!("no payload {hash} here")))?;
        gw.may(&meta, &key, false)?;
        let bytes = gw.store.blobs.get(hash.0).map_err(|e| Refusal::storage(&e))?;
        let bytes = bytes.filter(|_| !meta.erased).ok_or_else(|| {
            Refusal::new(StatusCode::GONE, "blob_erased", format!("payload {hash} was erased by the device's owner"))
        })?;
        let slot = if meta.guest.is_some() { "guest" } else { "owner" };
        Ok(Json(BlobJson { hash, device: meta.device, seq: meta.seq, slot: slot.into(), sealed: hex::encode(bytes) }))
    })
    .await
}

/// Erases a sealed payload (crypto-shredding): a signed request by the device's owner.
#[utoipa::path(
    delete, path = "/v1/blobs/{hash}",
    params(("hash" = String, Path, description = "The payload's SHA-256, hex", pattern = "^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "Erased", body = serde_json::Value),
        (status = 401, description = "Unsigned, or a bad signature", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the device's owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such payload", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn erase_blob(
    State(gw): GatewayState,
    UrlPath(hash): UrlPath<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, Refusal> {
    let key = signer("DELETE", &uri, &headers)?;
    let hash = parse_hash(&hash)?;
    blocking(move || {
        let storage = |e: anyhow::Error| Refusal::storage(&e);
        let meta = gw.store.blob_meta(&hash).map_err(storage)?;
        let meta =
            meta.ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "not_found", format!("no payload {hash} here")))?;
        gw.may(&meta, &key, true)?;
        // The ciphertext goes; the record that it existed, and the anchors, stay.
        let mut batch = gw.store.db.batch().durability(Some(PersistMode::SyncAll));
        batch.remove(&gw.store.blobs, hash.0);
        batch.insert(&gw.store.readers, hash.0, BlobMeta { erased: true, ..meta.clone() }.encode());
        batch.commit().map_err(|e| {
            gw.fail(format!("erasing a payload failed: {e}"));
            Refusal::storage(&e)
        })?;
        tracing::info!(%hash, device = %meta.device, seq = meta.seq, "payload erased");
        Ok(Json(serde_json::json!({ "hash": hash, "erased": true })))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Running it.

/// The chain id, once the node answers.
fn wait_for_node(node: &Client) -> anyhow::Result<String> {
    let start = Instant::now();
    loop {
        match node.status() {
            Ok(s) => return Ok(s.chain_id),
            Err(e) if start.elapsed() > NODE_WAIT => return Err(e).context("the node does not answer"),
            Err(e) => {
                tracing::info!(error = %e, "waiting for the node");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

/// Runs `civitas gateway` until Ctrl-C or SIGTERM, or until its store fails.
pub(crate) fn run(args: GatewayArgs) -> anyhow::Result<u8> {
    let config = Config::load(&args.config)?;
    let key = load_key(&config.key)?;
    let did = config.did.unwrap_or_else(|| Did::from_initial_key(&key.public_key()));
    let node = Client::new(&config.node);
    let chain_id = wait_for_node(&node)?;
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
    let store = Store::open(&config.data_dir.join("store"))?;
    let loaded = store.load()?;
    let (jobs, jobs_rx) = std::sync::mpsc::sync_channel(WRITE_QUEUE_MAX);
    let (wake, wake_rx) = std::sync::mpsc::sync_channel(1);
    let gw = Arc::new(Gateway {
        did,
        key,
        chain_id,
        node,
        store,
        batch: config.batch.clone(),
        limits: config.limits.clone(),
        heads: Mutex::new(loaded.heads),
        pending: AtomicU64::new(loaded.queue.len() as u64),
        queue: Mutex::new(loaded.queue),
        trees: Mutex::new(VecDeque::new()),
        devices: Mutex::new(HashMap::new()),
        models: Mutex::new(HashMap::new()),
        batches: Mutex::new(VecDeque::new()),
        blocked: Mutex::new(HashMap::new()),
        jobs,
        wake,
        stopping: AtomicBool::new(false),
        fatal: Mutex::new(None),
    });
    tracing::info!(pending = gw.pending.load(Ordering::SeqCst), devices = lock(&gw.heads).len(), "store opened");
    let writer = {
        let gw = gw.clone();
        std::thread::Builder::new()
            .name("gateway-writer".into())
            .spawn(move || writer(gw, jobs_rx, loaded.next_arrival))?
    };
    let batcher = {
        let gw = gw.clone();
        let devices = loaded.pending_devices;
        std::thread::Builder::new().name("gateway-batcher".into()).spawn(move || batcher(gw, wake_rx, devices))?
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let served = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding the gateway's API to {}", config.listen))?;
        let addr = listener.local_addr()?;
        println!(
            "civitas gateway {} on chain `{}`: API on http://{addr}, node {}, data in {}",
            gw.did,
            gw.chain_id,
            config.node,
            config.data_dir.display()
        );
        let watched = gw.clone();
        let stop = async move { crate::serve::signal_or(STOP_POLL, || watched.stopping()).await };
        civitas_api::serve(listener, router(gw.clone()), stop).await.context("the gateway's API")
    });
    gw.stopping.store(true, Ordering::SeqCst);
    drop(rt);
    // The writer finishes the group it is storing; the batcher may be waiting for an anchor to
    // commit and is left to the process's end (a restart reconciles whatever it sent).
    let _ = writer.join();
    drop(batcher);
    served?;
    if let Some(why) = lock(&gw.fatal).clone() {
        bail!(why);
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// Measuring the writer (`civitas bench lock`).

/// Stores `events` (each device's from sequence number 0 on, with their sealed payloads) in a
/// new store in `dir` as the writer does, `group` events to one durable batch, with no node:
/// they are taken as checked (device, signature, payloads). Returns the time the groups took.
pub(crate) fn measure_writes(
    dir: &Path,
    events: Vec<(SignedEvent, Vec<Vec<u8>>)>,
    group: usize,
) -> anyhow::Result<Duration> {
    let key = SecretKey::from_seed([7; 32]);
    let (jobs, _jobs_rx) = std::sync::mpsc::sync_channel(1);
    let (wake, _wake_rx) = std::sync::mpsc::sync_channel(1);
    let gw = Gateway {
        did: Did::from_initial_key(&key.public_key()),
        key,
        chain_id: "civitas-bench".into(),
        // Never called: the writer does not ask the node.
        node: Client::new("http://127.0.0.1:9"),
        store: Store::open(dir)?,
        batch: BatchConfig { events_max: ANCHOR_EVENTS_MAX, ..BatchConfig::default() },
        limits: Limits { pending_events_max: u64::MAX, devices_max: usize::MAX, ..Limits::default() },
        heads: Mutex::new(HashMap::new()),
        pending: AtomicU64::new(0),
        queue: Mutex::new(BTreeMap::new()),
        trees: Mutex::new(VecDeque::new()),
        devices: Mutex::new(HashMap::new()),
        models: Mutex::new(HashMap::new()),
        batches: Mutex::new(VecDeque::new()),
        blocked: Mutex::new(HashMap::new()),
        jobs,
        wake,
        stopping: AtomicBool::new(false),
        fatal: Mutex::new(None),
    };
    let first = Head { next_seq: 0, last_hash: Hash([0; 32]), anchor: 0 };
    let mut items: Vec<Result<Checked, Refusal>> = events
        .into_iter()
        .map(|(event, payloads)| {
            let (hash, leaf, key) = (event.header.hash(), event.leaf(), event.header.device.0);
            Ok(Checked { event, payloads, guest: None, chain_head: first.clone(), key, hash, leaf })
        })
        .collect();
    let (mut arrival, mut took) = (0u64, Duration::ZERO);
    while !items.is_empty() {
        let rest = items.split_off(items.len().min(group.max(1)));
        let (reply, _answer) = tokio::sync::oneshot::channel();
        let mut jobs = vec![WriteJob { items: std::mem::replace(&mut items, rest), reply }];
        let start = Instant::now();
        let results = gw.write_group(&mut jobs, &mut arrival)?;
        took += start.elapsed();
        if let Some(Err(r)) = results.iter().flatten().find(|r| r.is_err()) {
            bail!("the writer refused an event: {}: {}", r.code, r.detail);
        }
    }
    Ok(took)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_lists_every_route() {
        let doc = <super::GatewayDoc as utoipa::OpenApi>::openapi();
        let paths: Vec<&String> = doc.paths.paths.keys().collect();
        assert_eq!(
            paths,
            vec![
                "/v1/blobs/{hash}",
                "/v1/devices/{device}/head",
                "/v1/events",
                "/v1/events/{device}",
                "/v1/receipts/{device}/{seq}",
                "/v1/status"
            ]
        );
    }

    use super::*;
    use civitas_types::log::EventHeader;

    fn device(n: u8) -> DeviceId {
        DeviceId(PublicKey([n; 32]))
    }

    /// Event `seq` of device `n`, signed by no one, with one payload of `len` bytes.
    fn event(n: u8, seq: u64, len: usize) -> (SignedEvent, Vec<Vec<u8>>) {
        let payload = vec![n; len];
        let header = EventHeader {
            device: device(n),
            seq,
            prev: Hash([0; 32]),
            time_ms: 1,
            event: "lock_operation".into(),
            fields: vec![("operation".into(), "unlock".into())],
            payloads: vec![Hash::digest(&payload)],
        };
        (SignedEvent { header, signature: Signature([n; 64]) }, vec![payload])
    }

    #[test]
    fn binary_batches_round_trip_and_malformed_ones_say_why() {
        let guest = Did::from_initial_key(&PublicKey([9; 32]));
        let (a, pa) = event(1, 0, 60);
        let (b, pb) = event(2, 7, 0);
        let body = encode_events([(&a, pa.as_slice(), None), (&b, pb.as_slice(), Some(&guest))].into_iter());
        let decoded = decode_events(&body, 2).expect("decodes");
        let plain: Vec<(SignedEvent, Vec<Vec<u8>>, Option<Did>)> = decoded
            .into_iter()
            .map(|e| match e.payloads {
                Payloads::Bytes(p) => (e.event, p, e.guest),
                Payloads::Hex(_) => panic!("the binary form carries bytes"),
            })
            .collect();
        assert_eq!(plain, vec![(a.clone(), pa.clone(), None), (b, pb, Some(guest))]);

        // The first event's guest byte: after the count, the event, the payload count, the
        // payload's length and the payload.
        let guest_at = 4 + a.encode().len() + 4 + 4 + 60;
        let with = |at: usize, byte: u8| {
            let mut b = body.clone();
            b[at] = byte;
            b
        };
        let three_payloads = {
            let mut b = body.clone();
            b[4 + a.encode().len() + 3] = 3;
            b
        };
        let check = |bytes: &[u8], max: usize, says: &str| {
            let error = decode_events(bytes, max).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains(says), "expected `{says}`, got `{error}`");
        };
        check(&body, 1, "events has length 2, over the limit of 1");
        check(&[&body[..], &[0]].concat(), 2, "1 trailing bytes");
        check(&body[..body.len() - 1], 2, "input ends early");
        check(&with(guest_at, 2), 2, "invalid guest");
        check(&three_payloads, 2, "payloads has length 3, over the limit of 2");
        check(&with(3, 0), 2, "trailing bytes");
        assert!(decode_events(&with(guest_at, 1), 2).is_err(), "the next event read as a guest's DID leaves no event");
    }

    #[test]
    fn binary_answers_round_trip_with_long_details_cut() {
        let long = "é".repeat(FRAME_DETAIL_BYTES_MAX);
        let outcomes = vec![
            EventOutcome::Stored(Hash([1; 32])),
            EventOutcome::Duplicate(Hash([2; 32])),
            EventOutcome::Refused { code: "sequence_gap".into(), detail: "events 3 to 4 are missing".into() },
            EventOutcome::Refused { code: "bad_signature".into(), detail: long.clone() },
        ];
        let decoded = decode_outcomes(&encode_outcomes(&outcomes), 4).expect("decodes");
        assert_eq!(decoded[..3], outcomes[..3]);
        let EventOutcome::Refused { detail, .. } = &decoded[3] else { panic!("a refusal") };
        assert_eq!(detail.as_str(), &long[..FRAME_DETAIL_BYTES_MAX]);
        assert!(decode_outcomes(&encode_outcomes(&outcomes), 3).is_err());
        assert!(decode_outcomes(&[0, 0, 0, 1, 3], 1).is_err());
    }

    #[test]
    fn keys_sort_by_device_then_sequence() {
        let mut keys = vec![event_key(&device(2), 0), event_key(&device(1), 256), event_key(&device(1), 3)];
        keys.sort();
        assert_eq!(keys, vec![event_key(&device(1), 3), event_key(&device(1), 256), event_key(&device(2), 0)]);
        assert_eq!(parse_event_key(&event_key(&device(1), 256)).expect("parses"), (device(1), 256));
        assert!(parse_event_key(&[0; 39]).is_err());
    }

    #[test]
    fn blob_records_round_trip() {
        let guest = Did::from_initial_key(&PublicKey([9; 32]));
        for meta in [
            BlobMeta { device: device(1), seq: 7, guest: None, erased: false },
            BlobMeta { device: device(1), seq: 7, guest: Some(guest), erased: true },
        ] {
            assert_eq!(BlobMeta::decode(&meta.encode()).expect("decodes"), meta);
        }
        assert!(BlobMeta::decode(&[1; 40]).is_err());
    }

    #[test]
    fn the_store_finds_anchors_heads_and_pending_after_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = device(4);
        let header = EventHeader {
            device: d,
            seq: 4,
            prev: Hash([3; 32]),
            time_ms: 1,
            event: "lock_operation".into(),
            fields: vec![],
            payloads: vec![Hash([5; 32])],
        };
        let event = SignedEvent { header, signature: Signature([0; 64]) };
        {
            let store = Store::open(dir.path()).expect("opens");
            let head = LocalHead { next_seq: 5, last_hash: Hash([3; 32]), base_seq: 2, anchored_next: 2 };
            let mut batch = store.db.batch().durability(Some(PersistMode::SyncAll));
            batch.insert(&store.heads, device_bytes(&d), head.encode());
            batch.insert(&store.events, event_key(&d, 4), [&9u64.to_be_bytes()[..], &event.encode()].concat());
            batch.insert(&store.anchored, event_key(&d, 3), [2u64.to_be_bytes(), 11u64.to_be_bytes()].concat());
            batch.insert(&store.meta, META_ARRIVAL, 10u64.to_be_bytes());
            batch.commit().expect("commits");
        }
        let store = Store::open(dir.path()).expect("reopens");
        let loaded = store.load().expect("loads");
        let head = loaded.heads[&d];
        assert_eq!((head.next_seq, head.base_seq, head.anchored_next), (5, 2, 4));
        assert_eq!((loaded.queue.len(), loaded.next_arrival, loaded.pending_devices), (1, 10, vec![d]));
        let pending = loaded.queue[&9];
        assert_eq!(
            (pending.device, pending.seq, pending.hash, pending.leaf),
            (d, 4, event.header.hash(), event.leaf())
        );
        assert_eq!(store.anchor_of(&d, 2).expect("reads"), Some(11));
        assert_eq!(store.anchor_of(&d, 3).expect("reads"), Some(11));
        assert_eq!(store.anchor_of(&d, 1).expect("reads"), None);
        assert_eq!(store.anchor_of(&d, 4).expect("reads"), None);
        assert_eq!(store.anchor_of(&device(3), 3).expect("reads"), None);
    }
}
