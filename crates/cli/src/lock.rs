//! `civitas lock`: door-lock event logs from the command line (`docs/device-logs.md`). The
//! owner names the gateway that anchors a device's events; `lock event` acts as the lock (it
//! signs the next event with the device's operational key and seals its payload, who entered
//! with which credential, for the owner's `keyAgreement` key and for a guest's); the others
//! talk to the gateway: a receipt for `civitas verify`, the owner's (or a guest's) signed
//! reads of the payloads, decrypted, an audit of a range of events against the chain, and the
//! owner's erasure of a payload.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::claims::Fact;
use civitas_client::did::key_from_multibase;
use civitas_client::seal::{self, Sealed};
use civitas_client::wire::{Problem, ProofJson};
use civitas_types::device::DeviceId;
use civitas_types::did_doc::KeyMaterial;
use civitas_types::log::{EventHeader, LogInstruction, Range, SignedEvent};
use civitas_types::{Did, Hash, Instruction, SecretKey, keyfile};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::common::{DEFAULT_NODE, EXIT_TX_FAILED, TxOpts, load_key, print_json, submit};
use crate::gateway::{BlobJson, EventsPageJson, GatewayHeadJson, PostEventsJson, PostedEventJson, PostedResultsJson};

/// Exit code of an audit that finds a gap, a rewritten event or a bad receipt (as `civitas
/// verify` exits for a refused proof).
const EXIT_AUDIT_FAILED: u8 = 4;
/// Most events one audit covers.
const AUDIT_EVENTS_MAX: u64 = 10_000;
/// Most events `lock read` prints.
const READ_EVENTS_MAX: u64 = 10_000;
/// Events asked for per page.
const PAGE: u64 = 1_000;
/// Largest answer read from a gateway.
const ANSWER_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Largest X25519 key file read.
const KEY_FILE_BYTES_MAX: u64 = 4 * 1024;

/// The subcommands of `civitas lock`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum LockCommand {
    /// Name the gateway that anchors your device's events (or, with --none, none), as its
    /// owner.
    Gateway {
        #[command(flatten)]
        opts: TxOpts,
        /// The device.
        #[arg(long)]
        device: DeviceId,
        /// The gateway's account DID.
        #[arg(long, required_unless_present = "none")]
        gateway: Option<Did>,
        /// Name no gateway: no one anchors the device's events.
        #[arg(long, conflicts_with = "gateway")]
        none: bool,
    },
    /// Act as the lock: build the device's next event (sequence number and previous hash
    /// from the gateway), seal its payload (who entered, with which credential) for the
    /// owner's keyAgreement key and, with --guest, for the guest's, sign it with the device's
    /// operational key and post it. Exits 3 if the gateway refuses it.
    Event {
        /// The device's operational key (a civitas key file).
        #[arg(long)]
        device_key: PathBuf,
        /// The device (default: the did:key of --device-key, right until its key is rotated).
        #[arg(long)]
        device: Option<DeviceId>,
        /// The gateway's API.
        #[arg(long)]
        gateway: String,
        /// The node's API (for the passport, the owner's and guest's DID documents, the chain id).
        #[arg(long, default_value = DEFAULT_NODE)]
        node: String,
        /// The event: one the device's model declares.
        #[arg(long, default_value = "lock_operation")]
        event: String,
        /// The public `operation` field (`lock`, `unlock`).
        #[arg(long)]
        operation: Option<String>,
        /// The public `source` field (`keypad`, `rfid`, `remote`).
        #[arg(long)]
        source: Option<String>,
        /// More public fields, `name=value` (no personal data: everyone may read them).
        #[arg(long = "field", value_parser = field)]
        fields: Vec<(String, String)>,
        /// Who entered (sealed: only the owner, and the guest, read it).
        #[arg(long)]
        who: String,
        /// With which credential (sealed).
        #[arg(long, default_value = "")]
        credential: String,
        /// A guest's entry: the guest (who holds a grant on the device) gets a payload of
        /// their own.
        #[arg(long)]
        guest: Option<Did>,
        /// Use this sequence number instead of the gateway's next (to test its checks).
        #[arg(long)]
        seq: Option<u64>,
        /// Pad the payload to this many bytes (to test the gateway's limits).
        #[arg(long)]
        payload_bytes: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print an event's receipt (a proof document for `civitas verify`), waiting for its
    /// anchor if need be.
    Receipt {
        /// The gateway's API.
        #[arg(long)]
        gateway: String,
        /// The device.
        #[arg(long)]
        device: DeviceId,
        /// The event's sequence number.
        #[arg(long)]
        seq: u64,
        /// Wait at most this many seconds for the event to be anchored.
        #[arg(long, default_value_t = 30)]
        wait_secs: u64,
    },
    /// Read a device's events and open the payloads sealed for you (signed reads: the
    /// device's owner reads every payload, a guest their own).
    Read {
        /// The gateway's API.
        #[arg(long)]
        gateway: String,
        /// Your account key (signs the reads).
        #[arg(long)]
        key: PathBuf,
        /// Your X25519 key agreement key (from `civitas keys new --x25519`).
        #[arg(long)]
        x25519_key: PathBuf,
        /// The device.
        #[arg(long)]
        device: DeviceId,
        /// The first sequence number.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// The last (default: the last the gateway holds).
        #[arg(long)]
        to: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check that events A to B of a device are all there, chained by hash, and each anchored
    /// on chain, with every receipt verified offline against the genesis file; names the
    /// first gap or rewritten event. Exits 4 if the audit fails.
    Audit {
        /// The gateway's API.
        #[arg(long)]
        gateway: String,
        /// The device.
        #[arg(long)]
        device: DeviceId,
        /// The first sequence number.
        #[arg(long)]
        from: u64,
        /// The last.
        #[arg(long)]
        to: u64,
        /// The chain's genesis file: the root of trust of the receipts.
        #[arg(long)]
        genesis: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Erase a sealed payload from the gateway, as the device's owner (crypto-shredding: the
    /// event and its anchor remain).
    Erase {
        /// The gateway's API.
        #[arg(long)]
        gateway: String,
        /// The owner's account key (signs the request).
        #[arg(long)]
        key: PathBuf,
        /// The payload's SHA-256 (as the event names it).
        #[arg(long, value_parser = hash)]
        blob: Hash,
    },
}

fn field(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("a field is name=value, not `{s}`"))?;
    Ok((k.to_owned(), v.to_owned()))
}

fn hash(s: &str) -> Result<Hash, String> {
    Hash::from_hex(s).map_err(|_| format!("a SHA-256 hash is 64 hex digits, not `{s}`"))
}

/// Runs `civitas lock`.
pub(crate) fn run(cmd: LockCommand) -> anyhow::Result<u8> {
    match cmd {
        LockCommand::Gateway { opts, device, gateway, none: _ } => {
            submit(opts, Instruction::Logs(LogInstruction::SetLogGateway { device, gateway }))
        }
        LockCommand::Event {
            device_key,
            device,
            gateway,
            node,
            event,
            operation,
            source,
            fields,
            who,
            credential,
            guest,
            seq,
            payload_bytes,
            json,
        } => {
            let mut public = Vec::new();
            public.extend(operation.map(|o| ("operation".to_owned(), o)));
            public.extend(source.map(|s| ("source".to_owned(), s)));
            public.extend(fields);
            let entry = Entry { event, fields: public, who, credential, guest, seq, payload_bytes };
            post_event(&load_key(&device_key)?, device, &Gateway::new(&gateway), &Client::new(&node), entry, json)
        }
        LockCommand::Receipt { gateway, device, seq, wait_secs } => {
            let doc = wait_receipt(&Gateway::new(&gateway), &device, seq, Duration::from_secs(wait_secs))?;
            print_json(&doc)?;
            Ok(0)
        }
        LockCommand::Read { gateway, key, x25519_key, device, from, to, json } => {
            read(&Gateway::new(&gateway), &load_key(&key)?, &load_x25519(&x25519_key)?, &device, (from, to), json)
        }
        LockCommand::Audit { gateway, device, from, to, genesis, json } => {
            audit(&Gateway::new(&gateway), &device, (from, to), &genesis, json)
        }
        LockCommand::Erase { gateway, key, blob } => {
            let path = format!("/v1/blobs/{}", blob.to_hex());
            let answer: serde_json::Value =
                Gateway::new(&gateway).signed("DELETE", &path, &load_key(&key)?)?.map_err(refused)?;
            if answer["erased"] != true {
                bail!("the gateway did not erase {blob}: {answer}");
            }
            println!("erased payload {blob}");
            Ok(0)
        }
    }
}

/// A problem the gateway answered, as an error.
fn refused(p: Problem) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", p.code, p.detail)
}

/// A gateway's API.
struct Gateway {
    base: String,
    agent: ureq::Agent,
}

impl Gateway {
    fn new(base: &str) -> Gateway {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        Gateway { base: base.trim_end_matches('/').to_owned(), agent }
    }

    /// The answer's JSON, or the problem the gateway answered.
    fn answer<T: DeserializeOwned>(
        &self,
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<Result<T, Problem>> {
        let mut resp = result.with_context(|| format!("cannot reach the gateway at {url}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(ANSWER_BYTES_MAX)
            .read_to_vec()
            .with_context(|| format!("reading {url}"))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body).map(Ok).with_context(|| format!("unexpected answer from {url}"));
        }
        let problem: Problem = serde_json::from_slice(&body)
            .with_context(|| format!("{url} answered {status} with a body that is not problem+json"))?;
        Ok(Err(problem))
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<Result<T, Problem>> {
        let url = format!("{}{path}", self.base);
        let r = self.agent.get(&url).call();
        self.answer(&url, r)
    }

    fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> anyhow::Result<Result<T, Problem>> {
        let url = format!("{}{path}", self.base);
        let bytes = serde_json::to_vec(body)?;
        let r = self.agent.post(&url).header("content-type", "application/json").send(&bytes[..]);
        self.answer(&url, r)
    }

    /// A request signed by `key` (`civitas_client::signed`): `GET` or `DELETE`.
    fn signed<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        key: &SecretKey,
    ) -> anyhow::Result<Result<T, Problem>> {
        let url = format!("{}{path}", self.base);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let headers = civitas_client::signed::sign_request(key, method, path, now);
        let r = match method {
            "DELETE" => {
                let mut req = self.agent.delete(&url);
                for (name, value) in headers {
                    req = req.header(name, value);
                }
                req.call()
            }
            _ => {
                let mut req = self.agent.get(&url);
                for (name, value) in headers {
                    req = req.header(name, value);
                }
                req.call()
            }
        };
        self.answer(&url, r)
    }

    /// Events `from..=to` of `device` (to the last one held, without `to`), at most `max`.
    fn events(&self, device: &DeviceId, from: u64, to: Option<u64>, max: u64) -> anyhow::Result<Vec<SignedEvent>> {
        let mut out = Vec::new();
        let mut next = Some(from);
        while let Some(at) = next {
            let page: EventsPageJson =
                self.get(&format!("/v1/events/{device}?from={at}&limit={PAGE}"))?.map_err(refused)?;
            next = page.next;
            for entry in page.events {
                if to.is_some_and(|to| entry.event.header.seq > to) {
                    return Ok(out);
                }
                if out.len() as u64 >= max {
                    bail!("more than {max} events: ask for a shorter range");
                }
                out.push(entry.event);
            }
        }
        Ok(out)
    }
}

/// What `lock event` logs.
struct Entry {
    event: String,
    fields: Vec<(String, String)>,
    who: String,
    credential: String,
    guest: Option<Did>,
    seq: Option<u64>,
    payload_bytes: Option<usize>,
}

/// The X25519 `keyAgreement` key of `did`'s document: its first one.
fn key_agreement(node: &Client, did: &Did) -> anyhow::Result<[u8; 32]> {
    let resolved = node.resolve_did(&did.to_string(), None, None)?;
    let why = resolved.error().unwrap_or("no document").to_owned();
    let doc = resolved.did_document.with_context(|| format!("{did} does not resolve: {why}"))?;
    let first = doc["keyAgreement"].as_array().and_then(|ids| ids.first()).with_context(|| {
        format!("{did}'s DID document has no keyAgreement key (civitas keys new --x25519, then civitas did update)")
    })?;
    // A relationship names a method by id, or embeds it.
    let method = match first.as_str() {
        Some(id) => doc["verificationMethod"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["id"] == id))
            .with_context(|| format!("{did}'s keyAgreement names {id}, which is not among its methods"))?,
        None => first,
    };
    let multibase = method["publicKeyMultibase"]
        .as_str()
        .with_context(|| format!("{did}'s keyAgreement method has no publicKeyMultibase"))?;
    match key_from_multibase(multibase) {
        Ok(KeyMaterial::X25519(key)) => Ok(key),
        Ok(_) => bail!("{did}'s keyAgreement key is not an X25519 key"),
        Err(why) => bail!("{did}'s keyAgreement key: {why}"),
    }
}

/// Reads an X25519 key file (`civitas keys new --x25519`).
fn load_x25519(path: &Path) -> anyhow::Result<[u8; 32]> {
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if size > KEY_FILE_BYTES_MAX {
        bail!("{} is {size} bytes: not a key file", path.display());
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    keyfile::parse_x25519(&text).with_context(|| format!("{} is not an X25519 key file", path.display()))
}

/// The sealed payload's plaintext: a small JSON object, padded with spaces to `bytes`.
fn plaintext(value: &serde_json::Value, bytes: Option<usize>) -> anyhow::Result<Vec<u8>> {
    let mut text = serde_json::to_vec(value)?;
    if let Some(n) = bytes {
        if n < text.len() {
            bail!("--payload-bytes {n} is less than the payload itself ({} bytes)", text.len());
        }
        text.resize(n, b' ');
    }
    Ok(text)
}

/// `lock event`: builds, seals, signs and posts the device's next event.
fn post_event(
    device_key: &SecretKey,
    device: Option<DeviceId>,
    gateway: &Gateway,
    node: &Client,
    entry: Entry,
    json: bool,
) -> anyhow::Result<u8> {
    let device = device.unwrap_or(DeviceId(device_key.public_key()));
    let chain_id = node.status()?.chain_id;
    let passport = node.device(&device)?.with_context(|| format!("no device {device} on the chain"))?.passport;
    let owner = passport.owner.with_context(|| format!("device {device} has no owner to seal its events for"))?;
    let owner_key = key_agreement(node, &owner)?;
    let guest_key = entry.guest.as_ref().map(|g| key_agreement(node, g)).transpose()?;
    let head: GatewayHeadJson = gateway.get(&format!("/v1/devices/{device}/head"))?.map_err(refused)?;
    let time_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut header = EventHeader {
        device,
        seq: entry.seq.unwrap_or(head.next_seq),
        prev: head.last_hash,
        time_ms,
        event: entry.event,
        fields: entry.fields,
        payloads: Vec::new(),
    };
    // The payloads are sealed with the header's public part, which leaves out their hashes.
    let aad = header.public_bytes();
    let mut entered = serde_json::json!({ "who": entry.who, "credential": entry.credential });
    for (k, v) in &header.fields {
        entered[k] = v.clone().into();
    }
    let mut for_owner = entered.clone();
    if let Some(g) = &entry.guest {
        for_owner["guest"] = g.to_string().into();
    }
    let mut payloads = vec![
        seal::seal(&owner_key, civitas_types::log::PAYLOAD_INFO, &aad, &plaintext(&for_owner, entry.payload_bytes)?)?
            .encode(),
    ];
    if let Some(key) = guest_key {
        payloads.push(seal::seal(&key, civitas_types::log::PAYLOAD_INFO, &aad, &plaintext(&entered, None)?)?.encode());
    }
    header.payloads = payloads.iter().map(|p| Hash::digest(p)).collect();
    let signature = device_key.sign(&header.signing_bytes(&chain_id));
    let event = SignedEvent { header, signature };
    let (seq, event_hash) = (event.header.seq, event.header.hash());
    let body = PostEventsJson {
        events: vec![PostedEventJson {
            event,
            payloads: payloads.iter().map(hex::encode).collect(),
            guest: entry.guest,
        }],
    };
    let answer: PostedResultsJson = gateway.post("/v1/events", &body)?.map_err(refused)?;
    let result = answer.results.into_iter().next().context("the gateway answered no result")?;
    if json {
        print_json(&result)?;
    }
    match (&result.error, result.status.as_str()) {
        (Some(p), _) => {
            eprintln!("refused: event {seq} of {device}: {}: {}", p.code, p.detail);
            Ok(EXIT_TX_FAILED)
        }
        (None, status) => {
            if !json {
                println!("{status} event {seq} of {device}, hash {event_hash}");
            }
            Ok(0)
        }
    }
}

/// An event's receipt from the gateway, waiting up to `wait` for its anchor.
fn wait_receipt(gateway: &Gateway, device: &DeviceId, seq: u64, wait: Duration) -> anyhow::Result<ProofJson> {
    let start = Instant::now();
    loop {
        match gateway.get::<ProofJson>(&format!("/v1/receipts/{device}/{seq}"))? {
            Ok(doc) => return Ok(doc),
            Err(p)
                if matches!(p.code.as_str(), "not_anchored" | "not_yet_final" | "node_unavailable")
                    && start.elapsed() < wait =>
            {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(p) => return Err(refused(p)),
        }
    }
}

/// What a reader learns of one payload.
#[derive(Debug, Serialize)]
struct PayloadRead {
    hash: Hash,
    /// `opened`, `erased`, `not_yours` (sealed for someone else, or not the reader's to
    /// fetch), `missing` (the gateway lacks it) or `tampered` (its bytes are not the hash).
    status: &'static str,
    /// The plaintext, when opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    plaintext: Option<serde_json::Value>,
}

/// `lock read`: the device's events with the payloads the reader may open, opened.
fn read(
    gateway: &Gateway,
    key: &SecretKey,
    x25519: &[u8; 32],
    device: &DeviceId,
    (from, to): (u64, Option<u64>),
    json: bool,
) -> anyhow::Result<u8> {
    let events = gateway.events(device, from, to, READ_EVENTS_MAX)?;
    let mut out = Vec::new();
    for event in &events {
        let h = &event.header;
        let aad = h.public_bytes();
        let mut payloads = Vec::new();
        for p in &h.payloads {
            let answer: Result<BlobJson, Problem> = gateway.signed("GET", &format!("/v1/blobs/{}", p.to_hex()), key)?;
            let read = match answer {
                Ok(blob) => {
                    let bytes = hex::decode(&blob.sealed).unwrap_or_default();
                    let opened = (Hash::digest(&bytes) == *p)
                        .then(|| Sealed::parse(&bytes).ok())
                        .flatten()
                        .map(|sealed| seal::open(x25519, civitas_types::log::PAYLOAD_INFO, &aad, &sealed));
                    match opened {
                        None => PayloadRead { hash: *p, status: "tampered", plaintext: None },
                        Some(Err(_)) => PayloadRead { hash: *p, status: "not_yours", plaintext: None },
                        Some(Ok(text)) => {
                            let value = serde_json::from_slice(&text).unwrap_or_else(|_| {
                                serde_json::Value::String(String::from_utf8_lossy(&text).into_owned())
                            });
                            PayloadRead { hash: *p, status: "opened", plaintext: Some(value) }
                        }
                    }
                }
                Err(problem) => match problem.code.as_str() {
                    "blob_erased" => PayloadRead { hash: *p, status: "erased", plaintext: None },
                    "not_a_reader" => PayloadRead { hash: *p, status: "not_yours", plaintext: None },
                    "not_found" => PayloadRead { hash: *p, status: "missing", plaintext: None },
                    _ => return Err(refused(problem)),
                },
            };
            payloads.push(read);
        }
        out.push((event, payloads));
    }
    if json {
        let list: Vec<serde_json::Value> = out
            .iter()
            .map(
                |(e, p)| serde_json::json!({ "seq": e.header.seq, "hash": e.header.hash(), "event": e, "payloads": p }),
            )
            .collect();
        print_json(&list)?;
        return Ok(0);
    }
    for (event, payloads) in &out {
        let h = &event.header;
        let fields: Vec<String> = h.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("#{} {} {} {}", h.seq, civitas_client::did::datetime_ms(h.time_ms), h.event, fields.join(" "));
        for p in payloads {
            match &p.plaintext {
                Some(text) => println!("  {text}"),
                None => println!("  ({} payload {})", p.status.replace('_', " "), p.hash),
            }
        }
    }
    Ok(0)
}

/// `lock audit`: events `from..=to` are all at the gateway, chained by hash, and each proven
/// anchored; the anchored ranges cover them without a hole.
fn audit(
    gateway: &Gateway,
    device: &DeviceId,
    (from, to): (u64, u64),
    genesis: &Path,
    json: bool,
) -> anyhow::Result<u8> {
    if to < from || to - from >= AUDIT_EVENTS_MAX {
        bail!("an audit covers 1 to {AUDIT_EVENTS_MAX} events: --from A --to B with A <= B");
    }
    let genesis = civitas_node::Genesis::load(genesis)?;
    let validators = genesis.validator_keys()?;
    // One event before the range, to check the first one's link.
    let first = from.saturating_sub(1);
    let events: BTreeMap<u64, SignedEvent> =
        gateway.events(device, first, Some(to), AUDIT_EVENTS_MAX + 1)?.into_iter().map(|e| (e.header.seq, e)).collect();
    let mut ranges: BTreeMap<u64, (Range, u64, u64)> = BTreeMap::new();
    let finding = (|| -> anyhow::Result<Option<String>> {
        for seq in from..=to {
            let Some(event) = events.get(&seq) else {
                return Ok(Some(format!("event {seq} is missing: a gap in the device's log")));
            };
            let prev = if seq == 0 { Some(Hash([0; 32])) } else { events.get(&(seq - 1)).map(|p| p.header.hash()) };
            if prev.is_some_and(|p| p != event.header.prev) {
                return Ok(Some(format!(
                    "event {seq} does not follow event {}: one of them was rewritten",
                    seq.saturating_sub(1)
                )));
            }
            let doc = match gateway.get::<ProofJson>(&format!("/v1/receipts/{device}/{seq}"))? {
                Ok(doc) => doc,
                Err(p) => return Ok(Some(format!("event {seq} has no receipt: {}: {}", p.code, p.detail))),
            };
            let proven = match civitas_client::light::verify_proof(&doc, &genesis.chain_id, &validators) {
                Ok(p) => p,
                Err(e) => return Ok(Some(format!("event {seq}'s receipt is refused: {e}"))),
            };
            let Fact::EventReceipt(fact) = proven.fact else {
                return Ok(Some(format!("event {seq}'s receipt is not an event receipt")));
            };
            if fact.event != *event {
                return Ok(Some(format!("event {seq} is not the event its receipt proves: it was rewritten")));
            }
            let Some((range, _)) = fact.record.ranges.iter().find(|(r, _)| r.device == *device) else {
                return Ok(Some(format!("event {seq}'s anchor has no range of the device")));
            };
            ranges.insert(range.first_seq, (range.clone(), fact.anchor, fact.record.height));
        }
        // The anchored ranges follow one another: no event between them went unanchored.
        let mut expected = None;
        for (range, n, _) in ranges.values() {
            if let Some(e) = expected
                && range.first_seq != e
            {
                return Ok(Some(format!(
                    "the anchors skip events {e} to {} (anchor {n} starts at {})",
                    range.first_seq - 1,
                    range.first_seq
                )));
            }
            if let Some(last) = events.get(&range.last_seq)
                && last.header.hash() != range.last_hash
            {
                return Ok(Some(format!(
                    "event {} is not the one anchor {n} ends with: it was rewritten",
                    range.last_seq
                )));
            }
            expected = Some(range.last_seq + 1);
        }
        Ok(None)
    })()?;
    let anchors: Vec<serde_json::Value> = ranges
        .values()
        .map(|(r, n, height)| serde_json::json!({ "anchor": n, "height": height, "first_seq": r.first_seq, "last_seq": r.last_seq }))
        .collect();
    if json {
        print_json(
            &serde_json::json!({ "device": device, "from": from, "to": to, "passed": finding.is_none(), "finding": finding, "anchors": anchors }),
        )?;
    }
    match finding {
        Some(why) => {
            if !json {
                eprintln!("audit failed: {why}");
            }
            Ok(EXIT_AUDIT_FAILED)
        }
        None => {
            if !json {
                let list: Vec<String> = ranges
                    .values()
                    .map(|(r, n, h)| format!("{n} ({}..={} at height {h})", r.first_seq, r.last_seq))
                    .collect();
                println!(
                    "audit passed: events {from} to {to} of {device} are all there, each signed by the device and chained by hash, \
                     anchored without a gap in anchor(s) {}; every receipt verified against chain `{}`",
                    list.join(", "),
                    genesis.chain_id
                );
            }
            Ok(0)
        }
    }
}
