//! `civitas gateway`: a device event log gateway, the process a home hub or a building's
//! gateway runs (`docs/device-logs.md`). Devices post the events they signed, with the payloads
//! sealed for their owner (and for a guest); the gateway checks each against the device's
//! passport and its own copy of the device's hash chain, stores it durably before it answers,
//! batches what is pending into RFC 9162-shaped trees, anchors each batch's root with one
//! `anchor_events` transaction signed by its account key, and turns the chain's proof of an
//! anchor into each event's receipt. Sealed payloads are kept by hash and served only to their
//! readers (signed reads); the owner can erase them while the anchors remain.
//!
//! Storage: one fjall database in `DATA_DIR/store`, a keyspace per record kind:
//! - `events`: device ‖ seq → arrival number ‖ the signed event (canonical encoding);
//! - `pending`: arrival number → device ‖ seq: the events not anchored yet, in arrival order;
//! - `anchored`: device ‖ last seq → first seq ‖ anchor number: one entry per anchored range;
//! - `heads`: device → next seq ‖ last hash ‖ base seq (the chain's head when first seen);
//! - `blobs`: SHA-256 → sealed payload (key-value separated: values are large);
//! - `readers`: SHA-256 → device ‖ seq ‖ slot (0 the owner's, 1 a guest's) ‖ erased ‖ guest;
//! - `meta`: the next arrival number.
//!
//! Numbers are big-endian, so keys sort as the numbers do. Only a writer thread stores events:
//! it groups the requests waiting for it into one batch, persisted with `SyncAll` before any of
//! them is answered (group commit), so an acknowledged event survives `kill -9`. A batcher
//! thread anchors pending events and marks them anchored; after a restart it first asks the
//! chain, for each device with pending events, whether anchors already hold them (an anchor
//! committed just before the crash): those it finds through the device's anchors and marks,
//! the rest it anchors again. Tests reach that window at will: with the environment variable
//! `CIVITAS_GATEWAY_CRASH_AFTER_ANCHOR` set, the process exits at once after its first anchor
//! commits, before marking it.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
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
use civitas_types::codec::{Decode, Encode};
use civitas_types::device::{DeviceId, DeviceStatus};
use civitas_types::log::{
    ANCHOR_EVENTS_MAX, Anchor, Head, LogInstruction, PAYLOAD_BYTES_MAX, RANGES_MAX, Range, SignedEvent,
};
use civitas_types::merkle::Tree;
use civitas_types::{Did, Hash, Instruction, PublicKey, SecretKey, Transaction};
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
/// How many blocks an anchor transaction stays valid: one that did not commit by then never
/// will, so a retry cannot anchor the same events twice.
const ANCHOR_VALID_BLOCKS: u64 = 100;
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
    /// from the file's folder.
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
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig { events_max: 10_000, interval_ms: 500 }
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
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostEventsJson {
    /// The events, in order (a device's consecutive events may come in one batch).
    pub(crate) events: Vec<PostedEventJson>,
}

/// One posted event.
#[derive(Debug, Serialize, Deserialize)]
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
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PostedResultsJson {
    /// The results.
    pub(crate) results: Vec<EventResultJson>,
}

/// What became of one posted event.
#[derive(Debug, Serialize, Deserialize)]
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
#[derive(Debug, Serialize, Deserialize)]
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
#[derive(Debug, Serialize, Deserialize)]
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
#[derive(Debug, Serialize, Deserialize)]
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
#[derive(Debug, Serialize, Deserialize)]
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
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct GatewayStatusJson {
    /// The gateway's account.
    pub(crate) did: Did,
    /// The chain it anchors on.
    pub(crate) chain_id: String,
    /// Events waiting for an anchor.
    pub(crate) pending_events: u64,
    /// Devices it keeps a log for.
    pub(crate) devices: u64,
    /// Devices whose events it cannot anchor now, and why.
    pub(crate) blocked: Vec<(DeviceId, String)>,
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
    pending: Keyspace,
    anchored: Keyspace,
    heads: Keyspace,
    blobs: Keyspace,
    readers: Keyspace,
    meta: Keyspace,
}

/// What [`Store::load`] finds.
struct Loaded {
    heads: HashMap<DeviceId, LocalHead>,
    pending: u64,
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
            pending: ks("pending")?,
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
        let mut pending = 0u64;
        let mut devices = HashSet::new();
        for guard in self.pending.iter() {
            let (_, value) = guard.into_inner()?;
            devices.insert(parse_event_key(&value)?.0);
            pending += 1;
        }
        let after_last = match self.pending.last_key_value() {
            Some(guard) => u64_at(&guard.key()?, 0)?.saturating_add(1),
            None => 0,
        };
        let counted = match self.meta.get(META_ARRIVAL)? {
            Some(v) => u64_at(&v, 0)?,
            None => 0,
        };
        let mut pending_devices: Vec<DeviceId> = devices.into_iter().collect();
        pending_devices.sort();
        Ok(Loaded { heads, pending, next_arrival: after_last.max(counted), pending_devices })
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
    tree: Tree,
}

/// An event that passed every check that needs no log order, on its way to the writer.
struct Checked {
    event: SignedEvent,
    payloads: Vec<Vec<u8>>,
    guest: Option<Did>,
    chain_head: Head,
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

    /// The checks of one posted event that do not depend on the log's order: the device,
    /// its owner's choice of gateway, the event's form and name, the payloads, the guest and
    /// the signature. The writer checks the sequence.
    fn check(&self, posted: PostedEventJson) -> Result<Checked, Refusal> {
        let PostedEventJson { event, payloads, guest } = posted;
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
        let mut bytes = Vec::with_capacity(payloads.len());
        for (i, (text, hash)) in payloads.iter().zip(&h.payloads).enumerate() {
            if text.len() > 2 * PAYLOAD_BYTES_MAX {
                return Err(Refusal::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("payload {i} is {} bytes; at most {PAYLOAD_BYTES_MAX}", text.len() / 2),
                ));
            }
            let b = hex::decode(text).map_err(|_| Refusal::bad("bad_payload", format!("payload {i} is not hex")))?;
            if Hash::digest(&b) != *hash {
                return Err(Refusal::bad(
                    "payload_mismatch",
                    format!("payload {i}'s SHA-256 is not the one the event commits to"),
                ));
            }
            Sealed::parse(&b)
                .map_err(|e| Refusal::bad("bad_payload", format!("payload {i} is not a sealed message: {e}")))?;
            bytes.push(b);
        }
        if !event.verify(&self.chain_id, &info.key) {
            return Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                "bad_signature",
                format!("the event is not signed by {id}'s operational key for chain `{}`", self.chain_id),
            ));
        }
        match (&guest, bytes.len()) {
            (None, 2) => {
                return Err(Refusal::bad("guest_missing", "a second payload is sealed for a guest: name the guest"));
            }
            (Some(_), 1) => {
                return Err(Refusal::bad("bad_guest", "a guest is named only with a second payload, sealed for them"));
            }
            (Some(g), _) => {
                let answer = self.node.device_grant(&id, g).map_err(|e| Refusal::node(&e))?;
                if !answer.is_some_and(|a| a.allowed) {
                    return Err(Refusal::new(
                        StatusCode::FORBIDDEN,
                        "guest_not_granted",
                        format!("{g} holds no grant in force on {id}: the owner grants guests access first"),
                    ));
                }
            }
            (None, _) => {}
        }
        Ok(Checked { event, payloads: bytes, guest, chain_head: info.head.clone() })
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
        let mut batch = self.store.db.batch().durability(Some(PersistMode::SyncAll));
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
                                fresh_blobs: &mut fresh_blobs,
                                queued,
                            };
                            let outcome = self.admit(c, &mut cx, &mut batch, next)?;
                            if matches!(outcome, Ok(Stored::New(_))) {
                                next += 1;
                            }
                            outcome
                        }
                    });
                }
                results.push(out);
            }
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
        let pending = self.pending.fetch_add(added, Ordering::SeqCst) + added;
        if pending >= self.batch.events_max {
            let _ = self.wake.try_send(());
        }
        Ok(results)
    }

    /// The sequence checks of one event against the device's log (as this group leaves it),
    /// and its writes.
    fn admit(
        &self,
        c: Checked,
        cx: &mut Admission<'_>,
        batch: &mut fjall::OwnedWriteBatch,
        arrival: u64,
    ) -> anyhow::Result<Result<Stored, Refusal>> {
        let h = &c.event.header;
        let id = h.device;
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
        let hash = h.hash();
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
            if cx.fresh_blobs.contains(p) || self.store.readers.contains_key(p.0)? {
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
        let key = event_key(&id, h.seq);
        batch.insert(&self.store.events, key, [&arrival.to_be_bytes()[..], &c.event.encode()].concat());
        batch.insert(&self.store.pending, arrival.to_be_bytes(), key);
        for (slot, (bytes, p)) in c.payloads.iter().zip(&h.payloads).enumerate() {
            let guest = if slot == 0 { None } else { c.guest };
            batch.insert(&self.store.blobs, p.0, bytes.as_slice());
            batch.insert(&self.store.readers, p.0, BlobMeta { device: id, seq: h.seq, guest, erased: false }.encode());
            cx.fresh_blobs.insert(*p);
        }
        let new = LocalHead { next_seq: h.seq + 1, last_hash: hash, ..head };
        batch.insert(&self.store.heads, device_bytes(&id), new.encode());
        cx.overlay.insert(id, new);
        Ok(Ok(Stored::New(hash)))
    }

    /// Marks `ranges` anchored in anchor `n`: they leave the pending queue.
    fn mark(&self, ranges: &[Range], n: u64) -> anyhow::Result<()> {
        let mut batch = self.store.db.batch().durability(Some(PersistMode::SyncAll));
        let mut removed = 0u64;
        for r in ranges {
            let value = [r.first_seq.to_be_bytes(), n.to_be_bytes()].concat();
            batch.insert(&self.store.anchored, event_key(&r.device, r.last_seq), value);
            for seq in r.first_seq..=r.last_seq {
                let Some(record) = self.store.events.get(event_key(&r.device, seq))? else { continue };
                let arrival = u64_at(&record, 0)?.to_be_bytes();
                if self.store.pending.get(arrival)?.is_some_and(|v| v.as_ref() == event_key(&r.device, seq)) {
                    batch.remove(&self.store.pending, arrival);
                    removed += 1;
                }
            }
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

    /// The next batch: pending events in arrival order, each device's a prefix of its
    /// pending ones, at most [`RANGES_MAX`] devices and `events_max` events.
    fn pick(&self) -> anyhow::Result<Vec<(Range, Vec<SignedEvent>)>> {
        let blocked: HashSet<DeviceId> = lock(&self.blocked).keys().copied().collect();
        let mut picked: Vec<(Range, Vec<SignedEvent>)> = Vec::new();
        let mut index: HashMap<DeviceId, usize> = HashMap::new();
        let mut skipped: HashSet<DeviceId> = HashSet::new();
        let mut total = 0u64;
        for guard in self.store.pending.iter() {
            if total >= self.batch.events_max {
                break;
            }
            let (_, value) = guard.into_inner()?;
            let (device, seq) = parse_event_key(&value)?;
            if skipped.contains(&device) || blocked.contains(&device) {
                continue;
            }
            let Some((_, event)) = self.store.event(&device, seq)? else {
                bail!("pending event {seq} of {device} is not stored");
            };
            match index.get(&device) {
                Some(&i) => {
                    let (range, events) = &mut picked[i];
                    if seq != range.last_seq + 1 {
                        skipped.insert(device);
                        self.block(device, format!("its pending events skip from {} to {seq}", range.last_seq), true);
                        continue;
                    }
                    range.last_seq = seq;
                    range.last_hash = event.header.hash();
                    events.push(event);
                }
                None => {
                    if picked.len() >= RANGES_MAX {
                        skipped.insert(device);
                        continue;
                    }
                    let anchored_next = lock(&self.heads).get(&device).map(|h| h.anchored_next);
                    if anchored_next != Some(seq) {
                        skipped.insert(device);
                        self.block(
                            device,
                            format!("its first pending event {seq} does not follow what is anchored"),
                            true,
                        );
                        continue;
                    }
                    index.insert(device, picked.len());
                    let range = Range { device, first_seq: seq, last_seq: seq, last_hash: event.header.hash() };
                    picked.push((range, vec![event]));
                }
            }
            total += 1;
        }
        Ok(picked)
    }

    /// Anchors one batch of pending events and waits for the outcome; returns how many
    /// events it anchored.
    fn anchor_once(&self) -> anyhow::Result<u64> {
        let picked = self.pick()?;
        if picked.is_empty() {
            return Ok(0);
        }
        let tree = Tree::new(picked.iter().flat_map(|(_, events)| events.iter().map(SignedEvent::leaf)).collect());
        let ranges: Vec<Range> = picked.iter().map(|(r, _)| r.clone()).collect();
        let devices: Vec<DeviceId> = ranges.iter().map(|r| r.device).collect();
        let size: u64 = ranges.iter().map(Range::len).sum();
        let status = self.node.status()?;
        let nonce = self
            .node
            .account(&self.did)?
            .with_context(|| format!("the gateway's account {} is not on the chain", self.did))?
            .nonce;
        let root = tree.root();
        let tx = Transaction {
            chain_id: self.chain_id.clone(),
            signer: self.key.public_key(),
            nonce,
            valid_until_height: status.height.saturating_add(ANCHOR_VALID_BLOCKS),
            instructions: vec![Instruction::Logs(LogInstruction::AnchorEvents { root, size, ranges: ranges.clone() })],
        }
        .sign(&self.key);
        let hash = match self.node.submit(&tx) {
            Ok(hash) => hash,
            Err(ClientError::Api(p)) => {
                // A transaction sent before a crash may hold the nonce, or have anchored these.
                tracing::warn!(code = %p.code, detail = %p.detail, "the node refused an anchor; reconciling");
                self.reconcile(&devices)?;
                return Ok(0);
            }
            Err(e) => return Err(e.into()),
        };
        let outcome = match self.node.wait_for(&hash, ANCHOR_WAIT) {
            Ok(outcome) => outcome,
            Err(ClientError::Timeout(..)) => {
                self.reconcile(&devices)?;
                return Ok(0);
            }
            Err(e) => return Err(e.into()),
        };
        if outcome.status != TxState::Committed {
            tracing::warn!(
                tx = %hash, code = outcome.error_code.as_deref().unwrap_or("?"),
                message = outcome.error_message.as_deref().unwrap_or(""), "an anchor failed; reconciling"
            );
            self.reconcile(&devices)?;
            return Ok(0);
        }
        if std::env::var_os(CRASH_AFTER_ANCHOR_ENV).is_some() {
            tracing::error!(tx = %hash, "anchor committed; exiting before marking it, as {CRASH_AFTER_ANCHOR_ENV} asks");
            std::process::exit(137);
        }
        // The anchor is the one that now holds the first range's last event.
        let log = self.node.log_device(&devices[0])?.context("an anchored device has no log")?;
        let n = log.head.anchor;
        let anchor = self.node.anchor(n)?.with_context(|| format!("anchor {n} is not on the chain"))?.anchor;
        let same = anchor.gateway == self.did
            && anchor.root == root
            && anchor.ranges.len() == ranges.len()
            && anchor.ranges.iter().zip(&ranges).all(|((a, _), r)| a == r);
        if !same {
            self.reconcile(&devices)?;
            return Ok(0);
        }
        self.mark(&ranges, n)?;
        tracing::info!(anchor = n, events = size, devices = ranges.len(), height = anchor.height, "anchored");
        Ok(size)
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
        let tree = Tree::new(leaves);
        if tree.root() != anchor.root {
            return Err(Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "root_mismatch",
                format!("the stored events of anchor {n} do not make its root"),
            ));
        }
        let batch = Arc::new(Batch { item: claim.item.clone(), proof, anchor, tree });
        let mut cache = lock(&self.batches);
        if cache.len() >= BATCH_CACHE_MAX {
            cache.pop_front();
        }
        cache.push_back((n, batch.clone()));
        Ok(batch)
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
    fresh_blobs: &'a mut HashSet<Hash>,
    queued: u64,
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
    while !gw.stopping() {
        let result = gw
            .recheck_blocked()
            .and_then(|()| if gw.pending.load(Ordering::SeqCst) == 0 { Ok(0) } else { gw.anchor_once() });
        let wait = match result {
            Ok(n) if n > 0 && gw.pending.load(Ordering::SeqCst) >= gw.batch.events_max => continue,
            Ok(_) => interval,
            Err(e) => {
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

// ---------------------------------------------------------------------------------------------
// The HTTP API.

type GatewayState = State<Arc<Gateway>>;

fn router(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/events", post(post_events))
        .route("/v1/events/{device}", get(events))
        .route("/v1/devices/{device}/head", get(head))
        .route("/v1/receipts/{device}/{seq}", get(receipt))
        .route("/v1/blobs/{hash}", get(blob).delete(erase_blob))
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

async fn post_events(State(gw): GatewayState, body: Body) -> Result<Json<PostedResultsJson>, Refusal> {
    if gw.stopping() {
        return Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "stopping", "the gateway is stopping").retry(1));
    }
    let limit = gw.limits.request_bytes_max;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("a request body is at most {limit} bytes"),
        )
    })?;
    let posted: PostEventsJson = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&bytes))
        .map_err(|e| Refusal::bad("bad_json", format!("not a batch of events: {e}")))?;
    let max = gw.limits.request_events_max;
    if posted.events.is_empty() || posted.events.len() > max {
        return Err(Refusal::bad("bad_batch", format!("a batch holds 1 to {max} events")));
    }
    let ids: Vec<(DeviceId, u64)> = posted.events.iter().map(|e| (e.event.header.device, e.event.header.seq)).collect();
    let checker = gw.clone();
    let items = blocking(move || Ok(posted.events.into_iter().map(|e| checker.check(e)).collect())).await?;
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
    Ok(Json(PostedResultsJson { results }))
}

/// A page's query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    from: Option<u64>,
    limit: Option<u64>,
}

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
        pending: AtomicU64::new(loaded.pending),
        devices: Mutex::new(HashMap::new()),
        models: Mutex::new(HashMap::new()),
        batches: Mutex::new(VecDeque::new()),
        blocked: Mutex::new(HashMap::new()),
        jobs,
        wake,
        stopping: AtomicBool::new(false),
        fatal: Mutex::new(None),
    });
    tracing::info!(pending = loaded.pending, devices = lock(&gw.heads).len(), "store opened");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn device(n: u8) -> DeviceId {
        DeviceId(PublicKey([n; 32]))
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
        {
            let store = Store::open(dir.path()).expect("opens");
            let head = LocalHead { next_seq: 5, last_hash: Hash([3; 32]), base_seq: 2, anchored_next: 2 };
            let mut batch = store.db.batch().durability(Some(PersistMode::SyncAll));
            batch.insert(&store.heads, device_bytes(&d), head.encode());
            batch.insert(&store.anchored, event_key(&d, 3), [2u64.to_be_bytes(), 11u64.to_be_bytes()].concat());
            batch.insert(&store.pending, 9u64.to_be_bytes(), event_key(&d, 4));
            batch.insert(&store.meta, META_ARRIVAL, 10u64.to_be_bytes());
            batch.commit().expect("commits");
        }
        let store = Store::open(dir.path()).expect("reopens");
        let loaded = store.load().expect("loads");
        let head = loaded.heads[&d];
        assert_eq!((head.next_seq, head.base_seq, head.anchored_next), (5, 2, 4));
        assert_eq!((loaded.pending, loaded.next_arrival, loaded.pending_devices), (1, 10, vec![d]));
        assert_eq!(store.anchor_of(&d, 2).expect("reads"), Some(11));
        assert_eq!(store.anchor_of(&d, 3).expect("reads"), Some(11));
        assert_eq!(store.anchor_of(&d, 1).expect("reads"), None);
        assert_eq!(store.anchor_of(&d, 4).expect("reads"), None);
        assert_eq!(store.anchor_of(&device(3), 3).expect("reads"), None);
    }
}
