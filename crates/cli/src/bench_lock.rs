//! `civitas bench lock`: door-lock events from simulated devices, through one `civitas gateway`
//! process, anchored on a local testnet (four validators by default), all on this machine.
//!
//! Setup, before anything is measured: the bench's owners and its gateway's account are funded
//! at genesis; the vendor, PAA and PAI of `civitas bench device` are set up, with a door-lock
//! model of the vendor (`lock_operation` events) and a certified version; each owner publishes
//! an X25519 key agreement key in its DID document; each device, with its own DAC and
//! operational key, is registered, bound by its owner with the device's consent signature, and
//! its owner names the gateway. The gateway then runs as a process of its own
//! (`civitas gateway --config`), as the validators do.
//!
//! Each device's events are built before the window too: chained by hash, signed by the device,
//! the payload (who entered, with which credential) sealed with HPKE to the owner's key with the
//! event's public part as associated data. Sealing costs more than signing, so with
//! `--seal-every N` only every Nth event is sealed for real; the others carry a stand-in of the
//! same size and shape (an encapsulated key and a ciphertext with its tag, unique bytes no one
//! can open), which the gateway handles exactly as it does a real one: it hashes and stores
//! payloads and never opens them. Senders post the events in requests (the binary frame, or JSON
//! with `--json`), each sender for its own devices so that a device's events arrive in order.
//! A watcher follows the anchors on a validator; for each it asks the gateway for the receipt of
//! the anchor's first range's last event, and the moment the gateway serves it, every event of
//! the anchor counts as anchored. After the run: the receipts of a sample of events, checked
//! offline against the genesis (size and time), the CPU time each process spent, and what each
//! stage of the gateway costs per event, measured in process.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::claims::Fact;
use civitas_client::seal::{self, Sealed, X25519KeyPair};
use civitas_client::wire::ProofJson;
use civitas_node::dev;
use civitas_types::codec::put_len;
use civitas_types::crypto::verify_batch;
use civitas_types::device::passport::{binding_statement, registration_challenge};
use civitas_types::device::testing::{CertSpec, TestKey};
use civitas_types::device::{Capabilities, DeviceId, DeviceInstruction};
use civitas_types::did_doc::DidDocumentData;
use civitas_types::log::{EventHeader, LogInstruction, PAYLOAD_INFO, Range, SignedEvent};
use civitas_types::merkle::Tree;
use civitas_types::{DidInstruction, Hash, Instruction, PublicKey, SecretKey, Signature};

use crate::bench::{Target, report_node_time, scrape, start_chain};
use crate::bench_device::{Ledger, Remote, SOFTWARE_VERSION, VENDOR_ID, VENDOR_ID_HEX, did, in_parallel, pki, sign};
use crate::gateway::{
    BINARY_CONTENT_TYPE, EventOutcome, Payloads, PostEventsJson, PostedEvent, PostedEventJson, decode_events,
    decode_outcomes, encode_event_to, measure_writes,
};

/// The bench's door-lock model, of the bench vendor.
const LOCK_PRODUCT_ID: u16 = 0x8011;
const LOCK_PRODUCT_ID_HEX: &str = "8011";
/// Owners the devices are shared among (device `i` is owner `i % OWNERS`'s).
const OWNERS: u64 = 8;
/// The load the events built beforehand are sized for when no `--rate` is given: well above
/// the 50 000 events per second the bench aims at.
const ASSUMED_RATE: u64 = 80_000;
/// Most events a run builds (about 400 bytes each, framed).
const EVENTS_MAX: u64 = 3_000_000;
/// Registrations per setup transaction (a DAC is about 500 bytes; a transaction at most 16 KiB).
const REGISTRATIONS_PER_TX: usize = 12;
/// Devices bound per setup transaction (two instructions each; at most 16 a transaction).
const BINDINGS_PER_TX: usize = 8;
/// Anchors the gateway may have in flight.
const IN_FLIGHT: u64 = 32;
/// Longest the bench waits, after the window, for what was acknowledged to be anchored.
const DRAIN: Duration = Duration::from_secs(60);
/// Receipts fetched and verified offline after the run.
const RECEIPT_SAMPLES: usize = 16;
/// Times each sampled receipt is verified; the median counts.
const VERIFY_ROUNDS: usize = 5;
/// Events the in-process stages are measured on.
const STAGE_EVENTS: u64 = 4096;
/// Times each in-process stage runs; the fastest counts.
const ROUNDS: usize = 3;
/// Linux reports CPU time in clock ticks of 1/100 s (`USER_HZ`, fixed for user space).
const USER_HZ: u64 = 100;
/// Largest answer read from the gateway.
const ANSWER_BYTES_MAX: u64 = 64 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub(crate) struct LockArgs {
    /// How long to offer load, in seconds (at most 600).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=600))]
    duration: u64,
    /// Validators the bench starts as processes on this machine (1: a dev node).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    validators: u16,
    /// Simulated door locks, each with its own DAC and operational key. An anchor covers at
    /// most 128: more devices, more anchors for the validators to execute.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=4096))]
    devices: u64,
    /// Offered load in events per second; without it, as fast as the gateway acknowledges (each
    /// sender posts its next request when the last is answered). It also sizes the events built
    /// beforehand (without it, for 80 000 a second).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    rate: Option<u64>,
    /// Events per request, as a hub forwarding its locks' events posts them (the gateway's
    /// `request_events_max` is set to it; one request's signatures are checked in one batch).
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch: u64,
    /// Threads posting requests, each for its own devices.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    senders: u64,
    /// The gateway's `batch.interval_ms`: longest an event waits for its anchor to be sent.
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    interval_ms: u64,
    /// Seal every Nth event's payload with HPKE to the owner's key; the others carry a stand-in
    /// of the same size that no one can open (the gateway never opens payloads). 1 seals all.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    seal_every: u64,
    /// Post JSON instead of the binary frame.
    #[arg(long)]
    json: bool,
}

fn owner_key(i: u64) -> SecretKey {
    SecretKey::from_seed(Hash::digest_parts(&[b"civitas bench lock owner", &i.to_be_bytes()]).0)
}

fn owner_x25519(i: u64) -> X25519KeyPair {
    X25519KeyPair::from_secret(Hash::digest_parts(&[b"civitas bench lock owner x25519", &i.to_be_bytes()]).0)
}

fn gateway_key() -> SecretKey {
    SecretKey::from_seed(Hash::digest(b"civitas bench lock gateway").0)
}

fn device_key(i: u64) -> SecretKey {
    SecretKey::from_seed(Hash::digest_parts(&[b"civitas bench lock device", &i.to_be_bytes()]).0)
}

/// The world the events need, on the bench's chain: see the module's documentation.
fn setup(client: &Client, chain_id: &str, keys_dir: &Path, devices: u64) -> anyhow::Result<()> {
    let mut ledger = Remote { client, chain_id: chain_id.to_owned() };
    eprintln!("setting up: a vendor id, the PAA by council vote, the PAI, a door-lock model, a certified version...");
    crate::bench_device::setup(&mut ledger, keys_dir)?;
    let key = |name: &str| dev::read_key(&keys_dir.join(format!("{name}.key"))).context("reading a demo key");
    let (vendor, certifier) = (key("hoodworks")?, key("certification")?);
    let until = ledger.valid_until()?;
    let capabilities = Capabilities {
        properties: vec!["lock_state".into()],
        actions: vec!["lock".into(), "unlock".into()],
        events: vec!["lock_operation".into(), "door_forced".into()],
    };
    let by = did(&vendor);
    let model = [
        DeviceInstruction::RegisterModel {
            vendor_id: VENDOR_ID,
            product_id: LOCK_PRODUCT_ID,
            device_type: 0x000A,
            name: "Bench door lock".into(),
            capabilities,
            by,
        },
        DeviceInstruction::AddModelVersion {
            vendor_id: VENDOR_ID,
            product_id: LOCK_PRODUCT_ID,
            software_version: SOFTWARE_VERSION,
            version_string: "1.2.0".into(),
            checksum: Hash::digest(b"bench door lock firmware 1.2.0"),
            ota_url: "https://ota.hoodworks.example/lock/1.2.0.ota".into(),
            min_applicable: 0,
            max_applicable: 1,
            by,
        },
    ];
    let txs = vec![sign(chain_id, &vendor, ledger.nonce(&vendor)?, until, model.map(Instruction::Devices).to_vec())];
    ledger.settle(txs)?;
    let certify = DeviceInstruction::CertifyModelVersion {
        vendor_id: VENDOR_ID,
        product_id: LOCK_PRODUCT_ID,
        software_version: SOFTWARE_VERSION,
        certified: true,
        reason: String::new(),
        by: did(&certifier),
    };
    let txs = vec![sign(chain_id, &certifier, ledger.nonce(&certifier)?, until, vec![Instruction::Devices(certify)])];
    ledger.settle(txs)?;

    eprintln!("making {devices} door locks (DAC, keys), registering and binding them, naming the gateway...");
    let owners: Vec<SecretKey> = (0..OWNERS).map(owner_key).collect();
    let mut nonces: Vec<u64> = owners.iter().map(|k| ledger.nonce(k)).collect::<anyhow::Result<_>>()?;
    let mut next = |o: usize| {
        nonces[o] += 1;
        nonces[o] - 1
    };
    // The owners' key agreement keys, for the payloads sealed to them.
    let mut txs = Vec::new();
    for (i, k) in owners.iter().enumerate() {
        let x25519 = owner_x25519(i as u64);
        let document: DidDocumentData = serde_json::from_value(serde_json::json!({ "methods": [{
            "id": "key-agreement", "key_type": "X25519",
            "public_key": hex::encode(x25519.public()), "relations": ["keyAgreement"],
        }]}))?;
        let update = DidInstruction::UpdateDid { did: did(k), document };
        txs.push(sign(chain_id, k, next(i), until, vec![Instruction::Dids(update)]));
    }
    ledger.settle(txs)?;
    let (_, pai) = pki();
    let spec = CertSpec {
        name: "Bench door lock",
        vid: Some(VENDOR_ID_HEX),
        pid: Some(LOCK_PRODUCT_ID_HEX),
        ..CertSpec::dac()
    };
    let registrations = in_parallel(devices, |i| {
        let dac_key = (0u32..)
            .find_map(|j| {
                let seed = Hash::digest_parts(&[b"civitas bench lock dac", &i.to_be_bytes(), &j.to_be_bytes()]);
                TestKey::from_bytes(seed.0)
            })
            .expect("all but about 2^-32 of SHA-256 digests are P-256 scalars");
        let operational_key = device_key(i).public_key();
        Instruction::Devices(DeviceInstruction::RegisterDevice {
            dac: pai.issue(&spec, &dac_key),
            operational_key,
            software_version: SOFTWARE_VERSION,
            possession: dac_key.sign_der(&registration_challenge(chain_id, &operational_key)),
        })
    });
    // Each owner registers, then binds, its own devices.
    let of_owner = |o: u64| (0..devices).filter(move |i| i % OWNERS == o);
    let mut txs = Vec::new();
    for (o, owner) in owners.iter().enumerate() {
        let mine: Vec<Instruction> = of_owner(o as u64).map(|i| registrations[i as usize].clone()).collect();
        for chunk in mine.chunks(REGISTRATIONS_PER_TX) {
            txs.push(sign(chain_id, owner, next(o), until, chunk.to_vec()));
        }
    }
    ledger.settle(txs)?;
    let gateway = did(&gateway_key());
    let mut txs = Vec::new();
    for (o, owner) in owners.iter().enumerate() {
        let owner_did = did(owner);
        let mine: Vec<u64> = of_owner(o as u64).collect();
        for chunk in mine.chunks(BINDINGS_PER_TX) {
            let instructions = chunk
                .iter()
                .flat_map(|&i| {
                    let key = device_key(i);
                    let device = DeviceId(key.public_key());
                    // A new passport's owner epoch is 0.
                    let statement = binding_statement(chain_id, &device, &owner_did, 0);
                    [
                        Instruction::Devices(DeviceInstruction::BindDevice {
                            device,
                            owner: owner_did,
                            device_signature: key.sign(&statement),
                        }),
                        Instruction::Logs(LogInstruction::SetLogGateway { device, gateway: Some(gateway) }),
                    ]
                })
                .collect();
            txs.push(sign(chain_id, owner, next(o), until, instructions));
        }
    }
    ledger.settle(txs)
}

/// The `civitas gateway` process the bench starts (killed when dropped).
struct GatewayProcess {
    child: Child,
    url: String,
    agent: ureq::Agent,
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GatewayProcess {
    /// Writes its key and configuration in `dir` and starts it against `node`.
    fn start(dir: &Path, node: &str, args: &LockArgs) -> anyhow::Result<GatewayProcess> {
        dev::write_key(&dir.join("gateway.key"), &gateway_key())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config = format!(
            "node = \"{node}\"\nkey = \"gateway.key\"\nlisten = \"127.0.0.1:{port}\"\ndata_dir = \"gateway\"\n\n\
             [batch]\nevents_max = {}\ninterval_ms = {}\nin_flight_max = {IN_FLIGHT}\n\n\
             [limits]\nrequest_events_max = {}\ndevices_max = {}\n",
            civitas_types::log::ANCHOR_EVENTS_MAX / 16,
            args.interval_ms,
            args.batch,
            args.devices,
        );
        std::fs::write(dir.join("gateway.toml"), config)?;
        let log = dir.join("gateway.log");
        let child = Command::new(std::env::current_exe().context("finding the civitas binary")?)
            .args(["gateway", "--config"])
            .arg(dir.join("gateway.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("starting civitas gateway")?;
        eprintln!("gateway: pid {}, log {}", child.id(), log.display());
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        let gw = GatewayProcess { child, url: format!("http://127.0.0.1:{port}"), agent };
        let start = Instant::now();
        while gw.get("/v1/status").map_or(true, |(status, _)| status != 200) {
            if start.elapsed() > Duration::from_secs(60) {
                bail!("the gateway did not start within 60 s; see {}", log.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(gw)
    }

    fn read(
        &self,
        url: &str,
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut resp = r.with_context(|| format!("cannot reach the gateway at {url}"))?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().with_config().limit(ANSWER_BYTES_MAX).read_to_vec()?;
        Ok((status, body))
    }

    fn get(&self, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let url = format!("{}{path}", self.url);
        let r = self.agent.get(&url).call();
        self.read(&url, r)
    }

    fn post(&self, body: &[u8], json: bool) -> anyhow::Result<(u16, Vec<u8>)> {
        let url = format!("{}/v1/events", self.url);
        let kind = if json { "application/json" } else { BINARY_CONTENT_TYPE };
        let r = self.agent.post(&url).header("content-type", kind).send(body);
        self.read(&url, r)
    }

    /// The receipt of event `seq` of `device`, once the gateway has it, with its size in bytes.
    fn receipt(&self, device: &DeviceId, seq: u64) -> anyhow::Result<Option<(ProofJson, usize)>> {
        let (status, body) = self.get(&format!("/v1/receipts/{device}/{seq}"))?;
        match status {
            200 => {
                Ok(Some((serde_json::from_slice(&body).context("a receipt that is not a proof document")?, body.len())))
            }
            404 | 503 => Ok(None),
            _ => bail!("the gateway answered {status} for a receipt: {}", String::from_utf8_lossy(&body)),
        }
    }
}

/// One event as built: its frame in a request (event, payloads, no guest).
struct Built {
    event: SignedEvent,
    payloads: Vec<Vec<u8>>,
}

/// A device's events `0..count`, chained, signed and sealed (every `seal_every`th for real).
fn build_device(chain_id: &str, i: u64, count: u64, seal_every: u64) -> anyhow::Result<Vec<Built>> {
    let key = device_key(i);
    let device = DeviceId(key.public_key());
    let owner = i % OWNERS;
    let recipient = owner_x25519(owner).public();
    let mut prev = Hash([0; 32]);
    let mut out = Vec::with_capacity(count as usize);
    for seq in 0..count {
        let mut header = EventHeader {
            device,
            seq,
            prev,
            time_ms: 1_700_000_000_000 + seq * 1_000,
            event: "lock_operation".into(),
            fields: vec![
                ("operation".into(), if seq % 2 == 0 { "unlock" } else { "lock" }.into()),
                ("source".into(), ["keypad", "rfid", "remote", "manual"][(seq % 4) as usize].into()),
            ],
            payloads: Vec::new(),
        };
        let plaintext = format!(
            r#"{{"who":"resident {owner}.{}","credential":"rfid:{:08x}","operation":"{}"}}"#,
            seq % 5,
            (i << 8) ^ (seq % 5),
            header.fields[0].1
        );
        let payload = if seq % seal_every == 0 {
            seal::seal(&recipient, PAYLOAD_INFO, &header.public_bytes(), plaintext.as_bytes())?.encode()
        } else {
            stand_in(&device, seq, plaintext.len())
        };
        header.payloads = vec![Hash::digest(&payload)];
        let signature = key.sign(&header.signing_bytes(chain_id));
        prev = header.hash();
        out.push(Built { event: SignedEvent { header, signature }, payloads: vec![payload] });
    }
    Ok(out)
}

/// A payload of the size HPKE seals `plaintext_len` bytes to, shaped as a sealed message (an
/// encapsulated key, a ciphertext and its tag) but of bytes derived from the event: unique, and
/// no one's to open.
fn stand_in(device: &DeviceId, seq: u64, plaintext_len: usize) -> Vec<u8> {
    let len = seal::ENC_BYTES + plaintext_len + seal::TAG_BYTES;
    let mut out = Vec::with_capacity(len + 32);
    let mut block = 0u32;
    while out.len() < len {
        out.extend_from_slice(
            &Hash::digest_parts(&[b"civitas bench stand-in", &device.0.0, &seq.to_be_bytes(), &block.to_be_bytes()]).0,
        );
        block += 1;
    }
    out.truncate(len);
    out
}

/// What the senders post: per sender, its devices and its requests' bodies, in order. Position
/// `p` of a sender's stream is event `p / devices.len()` of its device `p % devices.len()`.
struct Pool {
    senders: Vec<SenderPool>,
    /// Events built per device.
    per_device: u64,
    batch: u64,
}

struct SenderPool {
    devices: Vec<u64>,
    bodies: Vec<Vec<u8>>,
    /// How many events each body carries.
    counts: Vec<u64>,
}

impl Pool {
    /// Builds every device's events, then frames them into requests.
    fn build(chain_id: &str, args: &LockArgs) -> anyhow::Result<Pool> {
        let total =
            (args.rate.unwrap_or(ASSUMED_RATE).saturating_mul(args.duration) * 11 / 10).clamp(args.devices, EVENTS_MAX);
        let per_device = total.div_ceil(args.devices);
        // Each device's frames one after another, with their lengths.
        let built: Vec<(Vec<u8>, Vec<usize>)> = in_parallel(args.devices, |i| {
            let events = build_device(chain_id, i, per_device, args.seal_every).expect("sealing to a valid key works");
            let (mut frames, mut lengths) = (Vec::new(), Vec::with_capacity(events.len()));
            for b in &events {
                let before = frames.len();
                encode_event_to(&mut frames, &b.event, &b.payloads, None);
                lengths.push(frames.len() - before);
            }
            (frames, lengths)
        });
        let senders = args.senders.min(args.devices);
        let mut pool = Pool { senders: Vec::new(), per_device, batch: args.batch };
        for s in 0..senders {
            let devices: Vec<u64> = (s..args.devices).step_by(senders as usize).collect();
            let mut cursors: Vec<usize> = vec![0; devices.len()];
            let positions = per_device * devices.len() as u64;
            let (mut bodies, mut counts) = (Vec::new(), Vec::new());
            let mut p = 0u64;
            while p < positions {
                let count = args.batch.min(positions - p);
                let mut body = Vec::new();
                put_len(&mut body, count as usize);
                for q in p..p + count {
                    let k = (q % devices.len() as u64) as usize;
                    let (d, seq) = (devices[k] as usize, q / devices.len() as u64);
                    let (frames, lengths) = &built[d];
                    let len = lengths[seq as usize];
                    body.extend_from_slice(&frames[cursors[k]..cursors[k] + len]);
                    cursors[k] += len;
                }
                bodies.push(if args.json { to_json(&body, args.batch)? } else { body });
                counts.push(count);
                p += count;
            }
            pool.senders.push(SenderPool { devices, bodies, counts });
        }
        Ok(pool)
    }

    /// Which sender posts `device`'s events, and its rank among that sender's devices.
    fn locate(&self, device: u64) -> (usize, usize) {
        let senders = self.senders.len() as u64;
        ((device % senders) as usize, (device / senders) as usize)
    }

    /// The request of sender `s` that carries event `seq` of its device of rank `rank`.
    fn request_of(&self, s: usize, rank: usize, seq: u64) -> usize {
        let n = self.senders[s].devices.len() as u64;
        ((seq * n + rank as u64) / self.batch) as usize
    }
}

/// The JSON form of a binary request body.
fn to_json(body: &[u8], max: u64) -> anyhow::Result<Vec<u8>> {
    let events = decode_events(body, max as usize)?
        .into_iter()
        .map(|e| {
            let Payloads::Bytes(payloads) = e.payloads else { unreachable!("binary frames carry bytes") };
            PostedEventJson { event: e.event, payloads: payloads.iter().map(hex::encode).collect(), guest: e.guest }
        })
        .collect();
    Ok(serde_json::to_vec(&PostEventsJson { events })?)
}

/// What one sender saw.
#[derive(Default)]
struct SenderOutcome {
    /// When each of its requests was first posted.
    sent_at: Vec<Option<Instant>>,
    acked: u64,
    acked_in_window: u64,
    refused: u64,
    first_problem: Option<String>,
    ran_out: bool,
}

/// Codes a whole request is posted again for (what was stored comes back `duplicate`).
const RETRY_CODES: [&str; 4] = ["queue_full", "node_unavailable", "busy", "stopping"];

/// Posts a sender's requests in order until the window closes; `senders` share the rate.
fn send(
    gw: &GatewayProcess,
    sender: &SenderPool,
    (args, senders): (&LockArgs, usize),
    start: Instant,
    acked_total: &AtomicU64,
) -> anyhow::Result<SenderOutcome> {
    let window = Duration::from_secs(args.duration);
    let mut out = SenderOutcome { sent_at: vec![None; sender.bodies.len()], ..SenderOutcome::default() };
    // This sender's share of the rate, one request at a time.
    let per_request = args.rate.map(|r| Duration::from_secs_f64(args.batch as f64 * senders as f64 / r as f64));
    for (r, (body, &count)) in sender.bodies.iter().zip(&sender.counts).enumerate() {
        if start.elapsed() >= window {
            return Ok(out);
        }
        if let Some(every) = per_request
            && let Some(wait) = every.mul_f64(r as f64).checked_sub(start.elapsed())
        {
            std::thread::sleep(wait);
        }
        out.sent_at[r] = Some(Instant::now());
        loop {
            let (status, answer) = gw.post(body, args.json)?;
            let outcomes: Vec<(bool, Option<String>)> = match status {
                200 if args.json => {
                    let results: serde_json::Value = serde_json::from_slice(&answer)?;
                    let results = results["results"].as_array().context("an answer without results")?;
                    results
                        .iter()
                        .map(|r| {
                            let ok = matches!(r["status"].as_str(), Some("stored" | "duplicate"));
                            (ok, r["error"]["code"].as_str().map(|c| format!("{c}: {}", r["error"]["detail"])))
                        })
                        .collect()
                }
                200 => decode_outcomes(&answer, count as usize)?
                    .into_iter()
                    .map(|o| match o {
                        EventOutcome::Stored(_) | EventOutcome::Duplicate(_) => (true, None),
                        EventOutcome::Refused { code, detail } => (false, Some(format!("{code}: {detail}"))),
                    })
                    .collect(),
                503 => {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                _ => bail!("the gateway answered {status}: {}", String::from_utf8_lossy(&answer)),
            };
            let retry = outcomes
                .iter()
                .any(|(_, why)| why.as_deref().is_some_and(|w| RETRY_CODES.iter().any(|c| w.starts_with(c))));
            if retry && start.elapsed() < window + Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            let acked = outcomes.iter().filter(|(ok, _)| *ok).count() as u64;
            out.acked += acked;
            acked_total.fetch_add(acked, Ordering::SeqCst);
            if start.elapsed() <= window {
                out.acked_in_window += acked;
            }
            for (_, why) in outcomes.into_iter().filter(|(ok, _)| !ok) {
                out.refused += 1;
                if out.first_problem.is_none() {
                    out.first_problem = why;
                }
            }
            break;
        }
    }
    out.ran_out = true;
    Ok(out)
}

/// An anchor as the watcher saw it: when the gateway first served a receipt of it.
struct Seen {
    at: Instant,
    ranges: Vec<Range>,
    receipt_bytes: usize,
}

/// Follows the anchors on `node` and, for each, waits for the gateway to serve a receipt of its
/// first range's last event; stops once the senders are done and everything they had
/// acknowledged is anchored, or [`DRAIN`] after the window.
fn watch(
    node: &Client,
    gw: &GatewayProcess,
    start: Instant,
    window: Duration,
    done: &AtomicBool,
    acked_total: &AtomicU64,
) -> anyhow::Result<Vec<Seen>> {
    let mut seen = Vec::new();
    let (mut n, mut anchored) = (0u64, 0u64);
    loop {
        if done.load(Ordering::SeqCst) && anchored >= acked_total.load(Ordering::SeqCst) {
            break;
        }
        if start.elapsed() > window + DRAIN {
            eprintln!("gave up waiting for anchors {DRAIN:?} after the window");
            break;
        }
        let Some(a) = node.anchor(n)? else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let ranges: Vec<Range> = a.anchor.ranges.into_iter().map(|(r, _)| r).collect();
        let first = ranges.first().context("an anchor without ranges")?;
        let receipt_bytes = loop {
            if let Some((_, bytes)) = gw.receipt(&first.device, first.last_seq)? {
                break bytes;
            }
            if start.elapsed() > window + DRAIN {
                bail!("the gateway serves no receipt of anchor {n}, committed on chain");
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        anchored += a.anchor.size;
        seen.push(Seen { at: Instant::now(), ranges, receipt_bytes });
        n += 1;
    }
    Ok(seen)
}

/// CPU time (user and system) process `pid` (or `self`) has used, from procfs; zero without it.
fn cpu_time(pid: &str) -> Duration {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|text| {
        // The fields after the command's name (which may hold spaces): utime and stime are
        // fields 14 and 15 of the line, the 12th and 13th after it.
        let rest = text.get(text.rfind(')')? + 1..)?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    });
    Duration::from_millis(ticks.unwrap_or(0) * 1000 / USER_HZ)
}

/// CPU time of each of the bench's processes: gateway, validators, the bench itself.
fn cpu_times(gateway: u32, validators: &[u32]) -> [Duration; 3] {
    [cpu_time(&gateway.to_string()), validators.iter().map(|p| cpu_time(&p.to_string())).sum(), cpu_time("self")]
}

/// What each stage of the gateway costs per event, in µs, measured in process.
#[derive(Debug)]
struct Stages {
    /// Decoding a binary request.
    decode_us: f64,
    /// Parsing a JSON request and its hex payloads.
    json_decode_us: f64,
    /// Hashes: the header's, the signed message's, the leaf's, the payload's (and its shape).
    hash_us: f64,
    /// The device's signature, checked in one batch per request.
    sig_us: f64,
    /// The same, one at a time.
    sig_single_us: f64,
    /// The writer: admission and one durable batch per group of requests.
    write_us: f64,
    /// The batch's tree, once per anchor.
    tree_us: f64,
    /// Sealing a payload for real, and signing an event (what the bench's devices do).
    seal_us: f64,
    sign_us: f64,
}

/// Runs `round` `ROUNDS` times; the fastest, per item of `count`, in µs.
fn fastest_us(count: usize, mut round: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let mut fastest = Duration::MAX;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        round()?;
        fastest = fastest.min(start.elapsed());
    }
    Ok(fastest.as_secs_f64() * 1e6 / count.max(1) as f64)
}

/// Measures [`Stages`] on `events` events (of 64 devices, every payload sealed), in requests of
/// `batch`, the writer taking `group` events at a time.
fn stages(events: u64, batch: usize, group: usize) -> anyhow::Result<Stages> {
    let chain_id = "civitas-bench-lock";
    let devices = events.clamp(1, 64);
    let per_device = events.div_ceil(devices);
    let built: Vec<Built> = in_parallel(devices, |i| build_device(chain_id, i, per_device, 1).expect("sealing works"))
        .into_iter()
        .flatten()
        .collect();
    let n = built.len();
    let bodies: Vec<Vec<u8>> = built
        .chunks(batch.max(1))
        .map(|c| crate::gateway::encode_events(c.iter().map(|b| (&b.event, b.payloads.as_slice(), None))))
        .collect();
    let jsons: Vec<Vec<u8>> = bodies.iter().map(|b| to_json(b, batch as u64)).collect::<anyhow::Result<_>>()?;
    let decode_us = fastest_us(n, || {
        for b in &bodies {
            decode_events(b, batch)?;
        }
        Ok(())
    })?;
    let json_decode_us = fastest_us(n, || {
        for j in &jsons {
            let posted: PostEventsJson = serde_json::from_slice(j)?;
            for e in posted.events.into_iter().map(PostedEvent::from) {
                if let Payloads::Hex(texts) = &e.payloads {
                    for t in texts {
                        hex::decode(t)?;
                    }
                }
            }
        }
        Ok(())
    })?;
    let hash_us = fastest_us(n, || {
        for b in &built {
            std::hint::black_box((b.event.header.hash(), b.event.header.signing_bytes(chain_id), b.event.leaf()));
            for p in &b.payloads {
                std::hint::black_box(Hash::digest(p));
                Sealed::parse(p)?;
            }
        }
        Ok(())
    })?;
    let messages: Vec<Vec<u8>> = built.iter().map(|b| b.event.header.signing_bytes(chain_id)).collect();
    let items: Vec<(PublicKey, Signature, &[u8])> =
        built.iter().zip(&messages).map(|(b, m)| (b.event.header.device.0, b.event.signature, m.as_slice())).collect();
    let sig_us = fastest_us(n, || {
        for chunk in items.chunks(batch.max(1)) {
            if !verify_batch(chunk).iter().all(|ok| *ok) {
                bail!("a bench event's signature does not verify");
            }
        }
        Ok(())
    })?;
    let sig_single_us = fastest_us(n, || {
        for (key, sig, msg) in &items {
            if !key.verify(sig, msg) {
                bail!("a bench event's signature does not verify");
            }
        }
        Ok(())
    })?;
    let mut fastest_write = Duration::MAX;
    for _ in 0..ROUNDS {
        let dir = tempfile::tempdir().context("a temp dir for the writer's store")?;
        let events = built.iter().map(|b| (b.event.clone(), b.payloads.clone())).collect();
        fastest_write = fastest_write.min(measure_writes(dir.path(), events, group)?);
    }
    let write_us = fastest_write.as_secs_f64() * 1e6 / n.max(1) as f64;
    let leaves: Vec<Hash> = built.iter().map(|b| b.event.leaf()).collect();
    let tree_us = fastest_us(n, || {
        std::hint::black_box(Tree::new(leaves.clone()).root());
        Ok(())
    })?;
    let sample = 200u64;
    let seal_us = fastest_us(sample as usize, || {
        let recipient = owner_x25519(0).public();
        for i in 0..sample {
            seal::seal(&recipient, PAYLOAD_INFO, &i.to_be_bytes(), &[b' '; 80])?;
        }
        Ok(())
    })?;
    let key = device_key(0);
    let sign_us = fastest_us(n, || {
        for b in &built {
            std::hint::black_box(key.sign(&b.event.header.signing_bytes(chain_id)));
        }
        Ok(())
    })?;
    Ok(Stages { decode_us, json_decode_us, hash_us, sig_us, sig_single_us, write_us, tree_us, seal_us, sign_us })
}

impl Stages {
    fn report(&self, batch: usize, group: usize) {
        eprintln!("in process, per event ({STAGE_EVENTS} events, requests of {batch}, fastest of {ROUNDS} rounds):");
        eprintln!("  binary request decode                                 {:>7.2} µs", self.decode_us);
        eprintln!("  JSON request parse (with hex payloads)                {:>7.2} µs", self.json_decode_us);
        eprintln!("  hashes (header, signed message, leaf, payload)        {:>7.2} µs", self.hash_us);
        eprintln!("  device signature, Ed25519, batch per request          {:>7.2} µs", self.sig_us);
        eprintln!("  device signature, Ed25519, one at a time              {:>7.2} µs", self.sig_single_us);
        eprintln!("  writer: admission + fjall batch, SyncAll per {group:>5}    {:>7.2} µs", self.write_us);
        eprintln!("  the anchor's tree                                     {:>7.2} µs", self.tree_us);
        eprintln!("  (the device's side: HPKE seal {:.1} µs, Ed25519 sign {:.1} µs)", self.seal_us, self.sign_us);
        let core = self.decode_us + self.hash_us + self.sig_us + self.write_us + self.tree_us;
        eprintln!(
            "  sum of the gateway's stages {core:.1} µs: at most {:.0} events/s per core for the gateway alone",
            1e6 / core.max(f64::MIN_POSITIVE)
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

pub(crate) fn run(args: LockArgs) -> anyhow::Result<u8> {
    let mut funded: Vec<SecretKey> = (0..OWNERS).map(owner_key).collect();
    funded.push(gateway_key());
    let tmp = tempfile::tempdir().context("creating a temp dir for the bench chain")?;
    let (urls, target) = start_chain(tmp.path(), args.validators, &funded)?;
    let clients: Vec<Client> = urls.iter().map(|u| Client::new(u)).collect();
    let chain_id = clients[0].status()?.chain_id;
    setup(&clients[0], &chain_id, &tmp.path().join("keys"), args.devices)?;
    let gw = GatewayProcess::start(tmp.path(), &urls[0], &args)?;

    let made = Instant::now();
    eprintln!(
        "building each device's events: signed, every {} sealed for the owner (HPKE), framed as {}...",
        if args.seal_every == 1 { "one".to_owned() } else { format!("{}th", args.seal_every) },
        if args.json { "JSON" } else { "binary" }
    );
    let pool = Pool::build(&chain_id, &args)?;
    let built = pool.per_device * args.devices;
    eprintln!("built {built} events ({} per device) in {:.1} s", pool.per_device, made.elapsed().as_secs_f64());
    // A real sealed payload opens for its owner, and only with its event's public part.
    let check = build_device(&chain_id, 0, 1, 1)?;
    let sealed = Sealed::parse(&check[0].payloads[0])?;
    seal::open(owner_x25519(0).secret(), PAYLOAD_INFO, &check[0].event.header.public_bytes(), &sealed)
        .context("a bench payload does not open for its owner")?;

    let validator_pids = match &target {
        Target::Testnet(nodes) => nodes.pids(),
        Target::Dev(_) => {
            eprintln!("(the dev node runs in the bench's process: its CPU time counts as the bench's)");
            Vec::new()
        }
        Target::Remote => Vec::new(),
    };
    let before = scrape(&clients);
    let cpu_before = cpu_times(gw.child.id(), &validator_pids);
    let window = Duration::from_secs(args.duration);
    let done = AtomicBool::new(false);
    let acked_total = AtomicU64::new(0);
    let start = Instant::now();
    // The watcher asks another validator than the gateway's, when there is one.
    let watcher = &clients[1 % clients.len()];
    let (outcomes, seen) = std::thread::scope(|s| -> anyhow::Result<_> {
        let handles: Vec<_> = pool
            .senders
            .iter()
            .map(|sender| {
                let (gw, args, acked_total, senders) = (&gw, &args, &acked_total, pool.senders.len());
                s.spawn(move || send(gw, sender, (args, senders), start, acked_total))
            })
            .collect();
        let watched = s.spawn(|| watch(watcher, &gw, start, window, &done, &acked_total));
        let mut outcomes = Vec::new();
        for h in handles {
            outcomes.push(h.join().map_err(|_| anyhow::anyhow!("a sender panicked"))?);
        }
        done.store(true, Ordering::SeqCst);
        let seen = watched.join().map_err(|_| anyhow::anyhow!("the watcher panicked"))?;
        let outcomes: Vec<SenderOutcome> = outcomes.into_iter().collect::<anyhow::Result<_>>()?;
        Ok((outcomes, seen?))
    })?;
    let drained = start.elapsed();
    let cpu_after = cpu_times(gw.child.id(), &validator_pids);
    let after = scrape(&clients);

    // Latency: from the request's first posting to the gateway serving the anchor's receipt.
    let mut latencies_ms = Vec::new();
    let (mut anchored, mut anchored_in_window) = (0u64, 0u64);
    let index: HashMap<DeviceId, u64> = (0..args.devices).map(|i| (DeviceId(device_key(i).public_key()), i)).collect();
    for a in &seen {
        for r in &a.ranges {
            let Some(&d) = index.get(&r.device) else { continue };
            let (s, rank) = pool.locate(d);
            for seq in r.first_seq..=r.last_seq {
                let Some(Some(sent)) = outcomes[s].sent_at.get(pool.request_of(s, rank, seq)) else { continue };
                latencies_ms.push(a.at.duration_since(*sent).as_millis() as u64);
                anchored += 1;
                if a.at.duration_since(start) <= window {
                    anchored_in_window += 1;
                }
            }
        }
    }
    let acked: u64 = outcomes.iter().map(|o| o.acked).sum();
    let acked_in_window: u64 = outcomes.iter().map(|o| o.acked_in_window).sum();
    let refused: u64 = outcomes.iter().map(|o| o.refused).sum();
    eprintln!(
        "acknowledged {acked} events ({acked_in_window} in the window, {refused} refused), anchored {anchored} in {} anchors; drained {:.1} s after the window",
        seen.len(),
        drained.saturating_sub(window).as_secs_f64()
    );
    if let Some(why) = outcomes.iter().find_map(|o| o.first_problem.as_ref()) {
        eprintln!("first refusal: {why}");
    }
    if outcomes.iter().any(|o| o.ran_out) {
        eprintln!("a sender ran out of events ({built} built) before the window closed: raise --rate");
    }
    report_node_time(&before, &after);
    let d: Vec<f64> = before.iter().zip(&after).map(|(a, b)| b - a).collect();
    let anchors = seen.len().max(1) as f64;
    eprintln!(
        "validators, per anchor (all {} together): building {:.1} ms, verifying peers' {:.1} ms, commit {:.1} ms",
        args.validators,
        d[2] * 1e3 / anchors,
        d[3] * 1e3 / anchors,
        d[4] * 1e3 / anchors
    );
    let per_event = |t: Duration| t.as_secs_f64() * 1e6 / anchored.max(1) as f64;
    let cpu: Vec<Duration> = cpu_before.iter().zip(&cpu_after).map(|(a, b)| b.saturating_sub(*a)).collect();
    eprintln!(
        "CPU from the window's start to the last anchor ({:.1} s, {} cores): gateway {:.1} s, validators {:.1} s, bench {:.1} s",
        drained.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu[0].as_secs_f64(),
        cpu[1].as_secs_f64(),
        cpu[2].as_secs_f64()
    );

    // Receipts of events spread over the run, checked offline against the genesis.
    let genesis = civitas_node::Genesis::load(&tmp.path().join("genesis.json"))?;
    let validators = genesis.validator_keys()?;
    let (mut sizes, mut verify_us) = (Vec::new(), Vec::new());
    for i in 0..RECEIPT_SAMPLES.min(seen.len()) {
        let a = &seen[i * seen.len() / RECEIPT_SAMPLES.min(seen.len())];
        let r = &a.ranges[a.ranges.len() / 2];
        let seq = (r.first_seq + r.last_seq) / 2;
        let (doc, bytes) = gw.receipt(&r.device, seq)?.context("an anchored event has no receipt")?;
        let mut times = Vec::new();
        for _ in 0..VERIFY_ROUNDS {
            let t = Instant::now();
            let proven = civitas_client::light::verify_proof(&doc, &genesis.chain_id, &validators)
                .map_err(|e| anyhow::anyhow!("a receipt is refused offline: {e}"))?;
            times.push(t.elapsed().as_secs_f64() * 1e6);
            let Fact::EventReceipt(fact) = proven.fact else { bail!("a receipt proves something else") };
            if fact.event.header.device != r.device || fact.event.header.seq != seq {
                bail!("a receipt proves another event");
            }
        }
        sizes.push(bytes as f64);
        verify_us.push(median(times));
    }
    let served: Vec<f64> = seen.iter().map(|a| a.receipt_bytes as f64).collect();
    let (receipt_bytes, verify_us) = (median(sizes), median(verify_us));
    eprintln!(
        "receipts: {receipt_bytes:.0} bytes (median of {} sampled; {:.0} to {:.0} over the anchors), verified offline in {verify_us:.0} µs",
        RECEIPT_SAMPLES.min(seen.len()),
        served.iter().copied().fold(f64::INFINITY, f64::min),
        served.iter().copied().fold(0.0, f64::max),
    );
    drop(gw);
    match target {
        Target::Dev(running) => running.stop()?,
        Target::Testnet(nodes) => drop(nodes),
        Target::Remote => {}
    }

    eprintln!("measuring the gateway's stages in process...");
    let group = (args.batch * args.senders.min(args.devices)) as usize;
    let stages = stages(STAGE_EVENTS, args.batch as usize, group)?;
    stages.report(args.batch as usize, group);
    latencies_ms.sort_unstable();
    let pct = |p: f64| {
        latencies_ms.get(((latencies_ms.len() as f64 * p) as usize).min(latencies_ms.len().saturating_sub(1))).copied()
    };
    let secs = args.duration as f64;
    println!(
        "tps={:.0} p50_ms={} p99_ms={} acked_tps={:.0} receipt_bytes={receipt_bytes:.0} verify_us={verify_us:.0} anchors={} events_per_anchor={:.0} gateway_cpu_us={:.1} validators_cpu_us={:.1} bench_cpu_us={:.1} decode_us={:.2} json_decode_us={:.2} sig_us={:.2} write_us={:.2} devices={} seal_every={}",
        anchored_in_window as f64 / secs,
        pct(0.50).unwrap_or(0),
        pct(0.99).unwrap_or(0),
        acked_in_window as f64 / secs,
        seen.len(),
        anchored as f64 / anchors,
        per_event(cpu[0]),
        per_event(cpu[1]),
        per_event(cpu[2]),
        if args.json { stages.json_decode_us } else { stages.decode_us },
        stages.json_decode_us,
        stages.sig_us,
        stages.write_us,
        args.devices,
        args.seal_every,
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_events_chain_are_signed_and_sealed_for_the_owner() {
        let events = build_device("civitas-test", 3, 4, 3).expect("builds");
        let key = device_key(3).public_key();
        for (i, b) in events.iter().enumerate() {
            assert!(b.event.verify("civitas-test", &key), "event {i} is signed by the device");
            assert_eq!(b.event.header.payloads, vec![Hash::digest(&b.payloads[0])]);
            let prev = if i == 0 { Hash([0; 32]) } else { events[i - 1].event.header.hash() };
            assert_eq!(b.event.header.prev, prev);
        }
        // Events 0 and 3 are sealed for real and open for the owner alone; 1 and 2 carry
        // stand-ins of the size of a sealed payload of the same plaintext (`lock`, `unlock`).
        let opens = |i: usize, secret: &[u8; 32]| {
            let sealed = Sealed::parse(&events[i].payloads[0]).expect("the shape of a sealed message");
            seal::open(secret, PAYLOAD_INFO, &events[i].event.header.public_bytes(), &sealed).is_ok()
        };
        let (owner, other) = (owner_x25519(3 % OWNERS), owner_x25519(4 % OWNERS));
        assert_eq!([0, 1, 2, 3].map(|i| opens(i, owner.secret())), [true, false, false, true]);
        assert!(!opens(0, other.secret()));
        let len = |i: usize| events[i].payloads[0].len();
        assert_eq!((len(0), len(1)), (len(2), len(3)));
    }

    #[test]
    fn the_stages_measure_in_process() {
        let s = stages(32, 8, 16).expect("the stages run");
        for (what, us) in [
            ("decode", s.decode_us),
            ("json_decode", s.json_decode_us),
            ("hash", s.hash_us),
            ("sig", s.sig_us),
            ("sig_single", s.sig_single_us),
            ("write", s.write_us),
            ("tree", s.tree_us),
            ("seal", s.seal_us),
            ("sign", s.sign_us),
        ] {
            assert!(us > 0.0, "{what} took {us} µs");
        }
    }
}
