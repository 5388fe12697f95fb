//! `civitas bench device`: device registrations on a local testnet (four validators by default).
//! Each registration checks the device's Matter attestation: its DAC against the trusted PAI and
//! PAA (the PAI's P-256 signature over it, validity at the block's time, vendor and product ids),
//! the model and its certified software version, and the DAC key's P-256 signature over the
//! registration challenge. The devices (DACs, keys, possession signatures) and their signed
//! transactions are made before the measured window, so making them is not measured. After the
//! run, what one registration costs, stage by stage, is measured in process (no network) on a
//! chain of the same genesis.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use civitas_client::Client;
use civitas_client::wire::{self, TxState};
use civitas_node::consensus::now_ms;
use civitas_node::{Chain, dev};
use civitas_types::codec::{Encode, put_bytes, put_len};
use civitas_types::council::CouncilAction;
use civitas_types::device::attestation::{self, AttestationCert, Level};
use civitas_types::device::passport::registration_challenge;
use civitas_types::device::testing::{Ca, CertSpec, TestKey};
use civitas_types::device::{Capabilities, DeviceInstruction};
use civitas_types::limits::{TX_BYTES_MAX, TX_INSTRUCTIONS_MAX};
use civitas_types::{
    AccountInstruction, CouncilInstruction, Did, Hash, Instruction, PublicKey, SecretKey, SignedTransaction,
    Transaction, TxOutcome, VerifiedTransaction,
};

use crate::bench::{Target, report_node_time, scrape, start_chain};

/// The bench vendor's id (a Matter test vendor id the dev chain's demo does not use).
pub(crate) const VENDOR_ID: u16 = 0xFFF4;
pub(crate) const VENDOR_ID_HEX: &str = "FFF4";
/// The bench model's product id.
const PRODUCT_ID: u16 = 0x8010;
const PRODUCT_ID_HEX: &str = "8010";
/// The certified software version every bench device runs.
pub(crate) const SOFTWARE_VERSION: u32 = 2;
/// Most devices a run makes (each about 1.5 KB with its signed transaction).
const DEVICES_MAX: u64 = 100_000;
/// How many times each in-process stage runs (each block is built); the fastest counts.
const ROUNDS: usize = 3;

#[derive(Debug, clap::Args)]
pub(crate) struct DeviceArgs {
    /// How long to offer load, in seconds (at most 600).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    duration: u64,
    /// Validators the bench starts as processes on this machine (1: a dev node).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    validators: u16,
    /// Offered load in registrations per second.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=20_000))]
    rate: u64,
    /// Accounts submitting the registrations (installers), each signing its own nonce sequence.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=2_000))]
    installers: u64,
    /// Registrations (and transfers) per block in the in-process measurement of the stages.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=5_000))]
    sample: u64,
}

fn installer_key(i: u64) -> SecretKey {
    SecretKey::from_seed(Hash::digest_parts(&[b"civitas bench installer", &i.to_be_bytes()]).0)
}

pub(crate) fn did(k: &SecretKey) -> Did {
    Did::from_initial_key(&k.public_key())
}

pub(crate) fn sign(
    chain_id: &str,
    key: &SecretKey,
    nonce: u64,
    valid_until_height: u64,
    instructions: Vec<Instruction>,
) -> SignedTransaction {
    Transaction { chain_id: chain_id.to_owned(), signer: key.public_key(), nonce, valid_until_height, instructions }
        .sign(key)
}

/// The bench's attestation PKI, the same on every call: the PAA the council approves and the
/// vendor's PAI under it.
pub(crate) fn pki() -> (Ca, Ca) {
    let paa_spec = CertSpec { name: "Civitas Bench PAA", vid: Some(VENDOR_ID_HEX), ..CertSpec::paa() };
    let paa = Ca::root(&paa_spec, TestKey::new(0x61));
    let pai_spec = CertSpec { name: "Civitas Bench PAI", vid: Some(VENDOR_ID_HEX), ..CertSpec::pai() };
    let pai = paa.intermediate(&pai_spec, TestKey::new(0x62));
    (paa, pai)
}

/// One device as it leaves the factory and is installed: its DAC, its operational key, and its
/// DAC key's signature over the registration challenge.
struct Device {
    dac: Vec<u8>,
    operational_key: PublicKey,
    possession: Vec<u8>,
}

impl Device {
    fn registration(&self) -> Instruction {
        Instruction::Devices(DeviceInstruction::RegisterDevice {
            dac: self.dac.clone(),
            operational_key: self.operational_key,
            software_version: SOFTWARE_VERSION,
            possession: self.possession.clone(),
        })
    }
}

/// `f(0..count)`, spread over all cores, in order.
pub(crate) fn in_parallel<T: Send>(count: u64, f: impl Fn(u64) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let per = count.div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || (t * per..((t + 1) * per).min(count)).map(f).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("bench threads do not panic")).collect()
    })
}

/// `count` devices of the bench model for chain `chain_id`, each with its own DAC key; `tag`
/// keeps one set's keys apart from another's.
fn make_devices(chain_id: &str, tag: &[u8], count: u64) -> Vec<Device> {
    let (_, pai) = pki();
    let spec =
        CertSpec { name: "Bench range hood", vid: Some(VENDOR_ID_HEX), pid: Some(PRODUCT_ID_HEX), ..CertSpec::dac() };
    in_parallel(count, |i| {
        let dac_key = (0u32..)
            .find_map(|j| {
                let seed = Hash::digest_parts(&[b"civitas bench dac", tag, &i.to_be_bytes(), &j.to_be_bytes()]);
                TestKey::from_bytes(seed.0)
            })
            .expect("all but about 2^-32 of SHA-256 digests are P-256 scalars");
        let operational = SecretKey::from_seed(Hash::digest_parts(&[b"civitas bench device", tag, &i.to_be_bytes()]).0);
        let operational_key = operational.public_key();
        Device {
            dac: pai.issue(&spec, &dac_key),
            operational_key,
            possession: dac_key.sign_der(&registration_challenge(chain_id, &operational_key)),
        }
    })
}

/// Where the setup runs: the bench's testnet over HTTP, or a chain in process.
pub(crate) trait Ledger {
    fn chain_id(&self) -> &str;
    /// The height a setup transaction stays valid until.
    fn valid_until(&self) -> anyhow::Result<u64>;
    /// The next nonce of `key`'s account.
    fn nonce(&self, key: &SecretKey) -> anyhow::Result<u64>;
    /// Runs `txs` to commitment; fails unless each succeeded.
    fn settle(&mut self, txs: Vec<SignedTransaction>) -> anyhow::Result<()>;
    /// The newest council proposal's number.
    fn last_proposal(&self) -> anyhow::Result<u64>;
}

/// Makes the world a registration needs, with the demo organizations of the genesis: the
/// manufacturer claims the vendor id, the council approves the PAA (one member proposes,
/// another approves), the manufacturer adds the PAI, the model and a software version, and
/// the certification department certifies that version.
pub(crate) fn setup(ledger: &mut impl Ledger, keys_dir: &std::path::Path) -> anyhow::Result<()> {
    let key = |name: &str| dev::read_key(&keys_dir.join(format!("{name}.key"))).context("reading a demo key");
    let (vendor, proposer, approver, certifier) =
        (key("hoodworks")?, key("civil-affairs")?, key("market-regulation")?, key("certification")?);
    let (paa, pai) = pki();
    let chain_id = ledger.chain_id().to_owned();
    let until = ledger.valid_until()?;
    let tx = |ledger: &dyn Ledger, k: &SecretKey, instructions: Vec<Instruction>| -> anyhow::Result<_> {
        Ok(sign(&chain_id, k, ledger.nonce(k)?, until, instructions))
    };
    let by = did(&vendor);
    let claim = DeviceInstruction::ClaimVendorId { vendor_id: VENDOR_ID, name: "Bench kitchens".into(), by };
    let propose = CouncilInstruction::Propose {
        action: CouncilAction::AddPaa { certificate: paa.der.clone() },
        ttl_blocks: 100,
        by: did(&proposer),
    };
    let txs = vec![
        tx(ledger, &vendor, vec![Instruction::Devices(claim)])?,
        tx(ledger, &proposer, vec![Instruction::Council(propose)])?,
    ];
    ledger.settle(txs)?;
    let approve = CouncilInstruction::Approve { proposal: ledger.last_proposal()?, by: did(&approver) };
    let txs = vec![tx(ledger, &approver, vec![Instruction::Council(approve)])?];
    ledger.settle(txs)?;
    let capabilities = Capabilities {
        properties: vec!["fan_speed".into(), "light".into()],
        actions: vec!["boost".into()],
        events: vec!["grease_filter_full".into()],
    };
    let vendor_steps = [
        DeviceInstruction::AddPai { certificate: pai.der.clone(), by },
        DeviceInstruction::RegisterModel {
            vendor_id: VENDOR_ID,
            product_id: PRODUCT_ID,
            device_type: 0x7A,
            name: "Bench range hood".into(),
            capabilities,
            by,
        },
        DeviceInstruction::AddModelVersion {
            vendor_id: VENDOR_ID,
            product_id: PRODUCT_ID,
            software_version: SOFTWARE_VERSION,
            version_string: "1.2.0".into(),
            checksum: Hash::digest(b"bench range hood firmware 1.2.0"),
            ota_url: "https://ota.hoodworks.example/bench/1.2.0.ota".into(),
            min_applicable: 0,
            max_applicable: 1,
            by,
        },
    ];
    let txs = vec![tx(ledger, &vendor, vendor_steps.into_iter().map(Instruction::Devices).collect())?];
    ledger.settle(txs)?;
    let certify = DeviceInstruction::CertifyModelVersion {
        vendor_id: VENDOR_ID,
        product_id: PRODUCT_ID,
        software_version: SOFTWARE_VERSION,
        certified: true,
        reason: String::new(),
        by: did(&certifier),
    };
    let txs = vec![tx(ledger, &certifier, vec![Instruction::Devices(certify)])?];
    ledger.settle(txs)
}

/// The bench's testnet, through one node's API.
pub(crate) struct Remote<'a> {
    pub(crate) client: &'a Client,
    pub(crate) chain_id: String,
}

impl Ledger for Remote<'_> {
    fn chain_id(&self) -> &str {
        &self.chain_id
    }

    fn valid_until(&self) -> anyhow::Result<u64> {
        Ok(self.client.status()?.height + 1_000)
    }

    fn nonce(&self, key: &SecretKey) -> anyhow::Result<u64> {
        Ok(self.client.account(&did(key))?.map_or(0, |a| a.nonce))
    }

    fn settle(&mut self, txs: Vec<SignedTransaction>) -> anyhow::Result<()> {
        let mut hashes = Vec::new();
        for item in self.client.submit_batch(&txs)? {
            hashes.push(item.hash.with_context(|| format!("setup transaction refused: {:?}", item.detail))?);
        }
        for h in hashes {
            let hash = Hash::from_hex(&h).map_err(|e| anyhow::anyhow!("{e}"))?;
            let s = self.client.wait_for(&hash, Duration::from_secs(120))?;
            if s.status == TxState::Failed {
                bail!("setup transaction {h} failed: {:?}", s.error_message);
            }
        }
        Ok(())
    }

    fn last_proposal(&self) -> anyhow::Result<u64> {
        if self.client.proposal(0)?.is_none() {
            bail!("the council has no proposal");
        }
        let mut id = 0;
        while self.client.proposal(id + 1)?.is_some() {
            id += 1;
        }
        Ok(id)
    }
}

/// A chain in process, new, that only [`Ledger::settle`] extends: blocks are built and committed
/// directly, with no consensus. So it knows its accounts' nonces (genesis accounts start at 0)
/// and its proposals without reading state.
struct Local {
    chain: Chain,
    proposer: PublicKey,
    nonces: HashMap<PublicKey, u64>,
    proposals: u64,
}

impl Local {
    fn check(&self, txs: Vec<SignedTransaction>) -> anyhow::Result<Vec<VerifiedTransaction>> {
        let chain_id = &self.chain.genesis().chain_id;
        Ok(VerifiedTransaction::check_many(txs, chain_id).into_iter().collect::<Result<Vec<_>, _>>()?)
    }

    /// Builds `txs` as the next block `ROUNDS` times (committing nothing); the fastest
    /// build per transaction, in µs. Fails unless every transaction succeeded.
    fn build_us(&self, txs: &[VerifiedTransaction]) -> anyhow::Result<f64> {
        let mut fastest = Duration::MAX;
        for _ in 0..ROUNDS {
            let block = txs.to_vec();
            let start = Instant::now();
            let executed = self.chain.build(block, self.proposer, now_ms())?;
            fastest = fastest.min(start.elapsed());
            failures(executed.receipts())?;
        }
        Ok(fastest.as_secs_f64() * 1e6 / txs.len().max(1) as f64)
    }
}

/// Runs `round` (over `count` items) `ROUNDS` times; the fastest, per item, in µs.
fn fastest_us(count: usize, mut round: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let mut fastest = Duration::MAX;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        round()?;
        fastest = fastest.min(start.elapsed());
    }
    Ok(fastest.as_secs_f64() * 1e6 / count.max(1) as f64)
}

fn failures(receipts: &[civitas_types::TxReceipt]) -> anyhow::Result<()> {
    for r in receipts {
        if let TxOutcome::Failed { code, message } = &r.outcome {
            bail!("transaction {} failed: {code}: {message}", r.tx_hash.to_hex());
        }
    }
    Ok(())
}

impl Ledger for Local {
    fn chain_id(&self) -> &str {
        &self.chain.genesis().chain_id
    }

    fn valid_until(&self) -> anyhow::Result<u64> {
        Ok(self.chain.latest().height + 1_000)
    }

    fn nonce(&self, key: &SecretKey) -> anyhow::Result<u64> {
        Ok(self.nonces.get(&key.public_key()).copied().unwrap_or(0))
    }

    fn settle(&mut self, txs: Vec<SignedTransaction>) -> anyhow::Result<()> {
        for t in &txs {
            self.nonces.insert(t.tx.signer, t.tx.nonce + 1);
            let proposes = |i: &Instruction| matches!(i, Instruction::Council(CouncilInstruction::Propose { .. }));
            self.proposals += t.tx.instructions.iter().filter(|i| proposes(i)).count() as u64;
        }
        let txs = self.check(txs)?;
        let executed = self.chain.build(txs, self.proposer, now_ms())?;
        failures(executed.receipts())?;
        self.chain.commit(&executed, &[])?;
        Ok(())
    }

    fn last_proposal(&self) -> anyhow::Result<u64> {
        self.proposals.checked_sub(1).context("the council has no proposal")
    }
}

/// What one registration costs, stage by stage, in µs, measured in process.
#[derive(Debug)]
struct Stages {
    /// Devices (and transfers) measured.
    sample: u64,
    /// Parsing the DAC and checking it against the Matter profile.
    parse_us: f64,
    /// The PAI's P-256 signature over the DAC.
    dac_sig_us: f64,
    /// `check_dac`: the parse, the PAI's signature, validity and the ids.
    check_dac_us: f64,
    /// The DAC key's P-256 signature over the registration challenge.
    possession_us: f64,
    /// The transaction's Ed25519 signature, checked in a batch (as admission does).
    tx_check_us: f64,
    /// Building a block of registrations (execute_block and the state tree), per registration.
    register_build_us: f64,
    /// The same for a block of as many transfers, per transfer.
    transfer_build_us: f64,
}

/// Measures [`Stages`] over `sample` devices on a chain in process with the bench's genesis
/// shape (the demo organizations and council), set up as the testnet is.
fn stages(sample: u64) -> anyhow::Result<Stages> {
    let tmp = tempfile::tempdir().context("creating a temp dir for the in-process chain")?;
    let dir = tmp.path().join("dev");
    let installers: Vec<SecretKey> = (0..sample).map(installer_key).collect();
    let funded: Vec<(PublicKey, u128)> = installers.iter().map(|k| (k.public_key(), 1_000_000)).collect();
    let prepared = dev::prepare(&dir, false, &funded)?;
    let chain = Chain::open(&dir.join("chain"), prepared.genesis, civitas_node::History::Archive)
        .context("opening the in-process chain")?;
    let mut local = Local { chain, proposer: prepared.validator.public_key(), nonces: HashMap::new(), proposals: 0 };
    setup(&mut local, &dir.join("keys"))?;
    let chain_id = local.chain_id().to_owned();
    let devices = make_devices(&chain_id, b"in process", sample);

    let (paa, pai) = pki();
    let paa = attestation::parse(&paa.der, Level::Paa)?;
    let pai = attestation::parse(&pai.der, Level::Pai)?;
    let now = now_ms() / 1000;
    let parsed =
        devices.iter().map(|d| attestation::parse(&d.dac, Level::Dac)).collect::<Result<Vec<AttestationCert>, _>>()?;
    let n = devices.len();
    let parse_us = fastest_us(n, || {
        for d in &devices {
            attestation::parse(&d.dac, Level::Dac)?;
        }
        Ok(())
    })?;
    let dac_sig_us = fastest_us(n, || {
        for dac in &parsed {
            dac.check_issued_by(&pai)?;
        }
        Ok(())
    })?;
    let check_dac_us = fastest_us(n, || {
        for d in &devices {
            attestation::check_dac(&d.dac, &pai, &paa, now)?;
        }
        Ok(())
    })?;
    let possession_us = fastest_us(n, || {
        for (d, dac) in devices.iter().zip(&parsed) {
            dac.check_possession(&registration_challenge(&chain_id, &d.operational_key), &d.possession)?;
        }
        Ok(())
    })?;

    // One registration, and one transfer, per installer: every transaction has nonce 0.
    let until = local.valid_until()?;
    let registrations: Vec<SignedTransaction> =
        devices.iter().zip(&installers).map(|(d, k)| sign(&chain_id, k, 0, until, vec![d.registration()])).collect();
    let tx_check_us = fastest_us(n, || local.check(registrations.clone()).map(drop))?;
    let registrations = local.check(registrations)?;
    let transfers = installers
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let to = did(&installers[(i + 1) % installers.len()]);
            sign(&chain_id, k, 0, until, vec![Instruction::Accounts(AccountInstruction::Transfer { to, amount: 1 })])
        })
        .collect();
    let transfers = local.check(transfers)?;
    Ok(Stages {
        sample,
        parse_us,
        dac_sig_us,
        check_dac_us,
        possession_us,
        tx_check_us,
        register_build_us: local.build_us(&registrations)?,
        transfer_build_us: local.build_us(&transfers)?,
    })
}

impl Stages {
    fn report(&self) {
        let p256_us = self.dac_sig_us + self.possession_us;
        eprintln!("in process, per registration ({} devices, fastest of {ROUNDS} rounds):", self.sample);
        eprintln!("  DAC parse and Matter profile (x509-cert)           {:>8.1} µs", self.parse_us);
        eprintln!("  the PAI's signature over the DAC (P-256 verify)    {:>8.1} µs", self.dac_sig_us);
        eprintln!("  check_dac (parse, signature, validity, ids)        {:>8.1} µs", self.check_dac_us);
        eprintln!("  possession signature (P-256 verify)                {:>8.1} µs", self.possession_us);
        eprintln!("  transaction signature (Ed25519, batched)           {:>8.1} µs", self.tx_check_us);
        eprintln!("  block build, a registration (execute + state tree) {:>8.1} µs", self.register_build_us);
        eprintln!("  block build, a transfer (execute + state tree)     {:>8.1} µs", self.transfer_build_us);
        eprintln!(
            "  the two P-256 verifications are {:.0}% of a registration's block build; a registration costs {:.1} transfers",
            100.0 * p256_us / self.register_build_us.max(f64::MIN_POSITIVE),
            self.register_build_us / self.transfer_build_us.max(f64::MIN_POSITIVE)
        );
    }

    /// Registrations per second the machine's cores could execute if every validator checked
    /// each one's signature and executed it once, and did nothing else: an upper bound.
    fn exec_limit(&self, validators: u16) -> u64 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let per_registration_us = f64::from(validators) * (self.register_build_us + self.tx_check_us);
        (cores * 1e6 / per_registration_us.max(f64::MIN_POSITIVE)) as u64
    }
}

pub(crate) fn run(args: DeviceArgs) -> anyhow::Result<u8> {
    let installers: Vec<SecretKey> = (0..args.installers).map(installer_key).collect();
    let tmp = tempfile::tempdir().context("creating a temp dir for the bench chain")?;
    let (urls, target) = start_chain(tmp.path(), args.validators, &installers)?;
    let clients: Vec<Client> = urls.iter().map(|u| Client::new(u)).collect();
    let client = &clients[0];
    let chain_id = client.status()?.chain_id;
    eprintln!("setting up: a vendor id, the PAA by council vote, the PAI, a model, a certified version...");
    setup(&mut Remote { client, chain_id: chain_id.clone() }, &tmp.path().join("keys"))?;

    let count = (args.rate.saturating_mul(args.duration) * 11 / 10).clamp(1, DEVICES_MAX);
    eprintln!("making {count} devices (DAC, keys, possession signature) and signing their registrations...");
    let made = Instant::now();
    let devices = make_devices(&chain_id, b"testnet", count);
    let mut first_nonce = Vec::with_capacity(installers.len());
    for k in &installers {
        first_nonce
            .push(client.account(&did(k))?.with_context(|| format!("installer {} has no account", did(k)))?.nonce);
    }
    let height = client.status()?.height;
    let n = installers.len() as u64;
    let txs = in_parallel(count, |i| {
        let who = (i % n) as usize;
        let tx = sign(
            &chain_id,
            &installers[who],
            first_nonce[who] + i / n,
            height + 1_000_000,
            vec![devices[i as usize].registration()],
        );
        let bytes = tx.encode();
        (Hash::digest(&bytes), bytes)
    });
    drop(devices);
    eprintln!("made in {:.1} s", made.elapsed().as_secs_f64());

    let before = scrape(&clients);
    let outcome = drive(&clients, &txs, (args.rate, args.duration, "devices"), height)?;
    let after = scrape(&clients);
    match target {
        Target::Dev(running) => running.stop()?,
        Target::Testnet(nodes) => drop(nodes),
        Target::Remote => {}
    }
    eprintln!(
        "offered {} registrations, admitted {} (refused {}, never admitted {}), committed {} ({} failed) in {} blocks; {} still pending at the end",
        outcome.offered,
        outcome.submitted,
        outcome.refused,
        outcome.unadmitted,
        outcome.committed,
        outcome.failed,
        outcome.blocks,
        outcome.unfinished
    );
    if let Some(why) = &outcome.first_problem {
        eprintln!("first refusal or failure: {why}");
    }
    report_node_time(&before, &after);

    eprintln!("measuring the stages of a registration in process...");
    let stages = stages(args.sample)?;
    stages.report();
    let limit = stages.exec_limit(args.validators);
    let mut lat = outcome.latencies_ms;
    lat.sort_unstable();
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    let tps = outcome.in_window as f64 / args.duration as f64;
    println!(
        "tps={:.0} p50_ms={} p99_ms={} exec_limit={} ratio={:.3} parse_us={:.0} dac_sig_us={:.0} check_dac_us={:.0} possession_us={:.0} register_build_us={:.0} transfer_build_us={:.0}",
        tps,
        pct(0.50),
        pct(0.99),
        limit,
        tps / limit.max(1) as f64,
        stages.parse_us,
        stages.dac_sig_us,
        stages.check_dac_us,
        stages.possession_us,
        stages.register_build_us,
        stages.transfer_build_us,
    );
    Ok(0)
}

/// What [`drive`] saw: offered, admitted, committed (in the window), and their latencies.
#[derive(Default)]
pub(crate) struct Outcome {
    pub(crate) offered: u64,
    pub(crate) submitted: u64,
    pub(crate) refused: u64,
    pub(crate) unadmitted: u64,
    pub(crate) committed: u64,
    pub(crate) in_window: u64,
    pub(crate) failed: u64,
    pub(crate) blocks: u64,
    pub(crate) unfinished: usize,
    pub(crate) first_problem: Option<String>,
    pub(crate) latencies_ms: Vec<u64>,
}

fn batch_body<'a>(txs: impl ExactSizeIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut body = Vec::new();
    put_len(&mut body, txs.len());
    for bytes in txs {
        put_bytes(&mut body, bytes);
    }
    body
}

/// Offers `txs` (signed transactions, `what` they are for messages) at `rate` a second for
/// `duration` seconds, to the nodes in turn, while following the blocks: a transaction's latency
/// runs from its first submission to its block being visible. One refused for a full mempool is
/// offered again while the window is open. Shared by the benches that offer presigned load.
pub(crate) fn drive(
    clients: &[Client],
    txs: &[(Hash, Vec<u8>)],
    (rate, duration, what): (u64, u64, &str),
    start_height: u64,
) -> anyhow::Result<Outcome> {
    let client = &clients[0];
    let window = Duration::from_secs(duration);
    let drain_deadline = window + Duration::from_secs(30);
    let tick = Duration::from_millis(10);
    let per_tick = rate as f64 * tick.as_secs_f64();
    let mut out = Outcome::default();
    let mut pending: HashMap<Hash, Instant> = HashMap::new();
    let mut retry: VecDeque<usize> = VecDeque::new();
    let (mut next, mut batches, mut seen) = (0usize, 0usize, start_height);
    let start = Instant::now();
    loop {
        let elapsed = start.elapsed();
        if elapsed < window {
            let due = (elapsed.as_secs_f64() / tick.as_secs_f64() + 1.0) * per_tick;
            let mut batch: Vec<usize> = retry.drain(..retry.len().min(wire::BATCH_TXS_MAX)).collect();
            while (next as f64) < due && next < txs.len() && batch.len() < wire::BATCH_TXS_MAX {
                batch.push(next);
                next += 1;
            }
            if !batch.is_empty() {
                let node = &clients[batches % clients.len()];
                batches += 1;
                let now = Instant::now();
                for &i in &batch {
                    pending.entry(txs[i].0).or_insert(now);
                }
                let results = node.submit_batch_raw(&batch_body(batch.iter().map(|&i| txs[i].1.as_slice())))?;
                for (&i, item) in batch.iter().zip(results) {
                    match item.code.as_deref() {
                        None | Some("already_pending") => out.submitted += 1,
                        Some("mempool_full" | "signer_full") => retry.push_back(i),
                        Some(code) => {
                            out.refused += 1;
                            pending.remove(&txs[i].0);
                            out.first_problem.get_or_insert_with(|| format!("refused: {code}: {:?}", item.detail));
                        }
                    }
                }
            }
        } else if !retry.is_empty() {
            out.unadmitted += retry.len() as u64;
            for i in retry.drain(..) {
                pending.remove(&txs[i].0);
            }
        }

        let height = client.status()?.height;
        while seen < height {
            seen += 1;
            let now = Instant::now();
            let mut offset = 0u32;
            loop {
                let b = client.block(seen, offset, wire::BLOCK_PAGE_MAX)?.context("block vanished")?;
                for t in &b.transactions {
                    let hash = Hash::from_hex(&t.hash).map_err(|e| anyhow::anyhow!("{e}"))?;
                    let Some(at) = pending.remove(&hash) else { continue };
                    out.committed += 1;
                    if t.status == TxState::Failed {
                        out.failed += 1;
                        out.first_problem.get_or_insert_with(|| format!("failed: {:?}", t.error_code));
                        continue;
                    }
                    out.latencies_ms.push(now.duration_since(at).as_millis() as u64);
                    if now.duration_since(start) <= window {
                        out.in_window += 1;
                    }
                }
                offset += b.transactions.len() as u32;
                if b.transactions.is_empty() || offset >= b.tx_count {
                    break;
                }
            }
            out.blocks += 1;
        }
        let elapsed = start.elapsed();
        if elapsed >= window && (pending.is_empty() || elapsed >= drain_deadline) {
            out.unfinished = pending.len();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    out.offered = next as u64;
    if next == txs.len() {
        eprintln!("the bench ran out of {what} ({}) before the window closed", txs.len());
    }
    Ok(out)
}

/// Setup transactions submitted before waiting for them: below the mempool's 256 per signer.
pub(crate) const SETUP_CHUNK: usize = 200;
/// Room a transaction's fields other than its instructions take, at most (chain id, key,
/// nonce, height, signature, lengths).
pub(crate) const TX_OVERHEAD_BYTES: usize = 512;
/// How long a setup transaction may take to commit.
pub(crate) const SETUP_COMMIT_TIMEOUT: Duration = Duration::from_secs(120);

/// Signs setup transactions with each signer's next nonce (read once from the chain) and runs
/// them to commitment.
pub(crate) struct Setup<'a> {
    /// The node setup goes through.
    pub(crate) client: &'a Client,
    /// The chain's id.
    pub(crate) chain_id: String,
    /// The last height setup transactions are valid at.
    pub(crate) valid_until: u64,
    /// Each signer's next nonce, once read.
    pub(crate) nonces: HashMap<PublicKey, u64>,
}

impl Setup<'_> {
    /// `key`'s next nonce (read from the chain the first time).
    pub(crate) fn next_nonce(&mut self, key: &SecretKey) -> anyhow::Result<u64> {
        let nonce = match self.nonces.get(&key.public_key()) {
            Some(n) => *n,
            None => self.client.account(&did(key))?.with_context(|| format!("{} has no account", did(key)))?.nonce,
        };
        self.nonces.insert(key.public_key(), nonce + 1);
        Ok(nonce)
    }

    /// `instructions`, in order, in as few transactions by `key` as hold them (16
    /// instructions and 16 KiB each).
    pub(crate) fn packed(
        &mut self,
        key: &SecretKey,
        instructions: Vec<Instruction>,
    ) -> anyhow::Result<Vec<SignedTransaction>> {
        let mut txs = Vec::new();
        let mut group: Vec<Instruction> = Vec::new();
        let mut bytes = 0;
        for i in instructions {
            let size = i.encode().len();
            ensure!(size + TX_OVERHEAD_BYTES <= TX_BYTES_MAX, "an instruction of {size} bytes fits no transaction");
            if group.len() == TX_INSTRUCTIONS_MAX || bytes + size + TX_OVERHEAD_BYTES > TX_BYTES_MAX {
                let nonce = self.next_nonce(key)?;
                txs.push(sign(&self.chain_id, key, nonce, self.valid_until, std::mem::take(&mut group)));
                bytes = 0;
            }
            bytes += size;
            group.push(i);
        }
        if !group.is_empty() {
            let nonce = self.next_nonce(key)?;
            txs.push(sign(&self.chain_id, key, nonce, self.valid_until, group));
        }
        Ok(txs)
    }

    /// Runs `txs` to commitment in chunks (each signer's in nonce order); fails unless each
    /// succeeded.
    pub(crate) fn settle(&self, txs: &[SignedTransaction]) -> anyhow::Result<()> {
        for chunk in txs.chunks(SETUP_CHUNK) {
            let mut hashes = Vec::with_capacity(chunk.len());
            for item in self.client.submit_batch(chunk)? {
                let hash = item.hash.with_context(|| format!("setup transaction refused: {:?}", item.detail))?;
                hashes.push(Hash::from_hex(&hash).map_err(|e| anyhow::anyhow!("{e}"))?);
            }
            wait_committed(self.client, &hashes, SETUP_COMMIT_TIMEOUT)?;
        }
        Ok(())
    }

    /// One transaction by `key` of `instructions`.
    pub(crate) fn one(&mut self, key: &SecretKey, instructions: Vec<Instruction>) -> anyhow::Result<SignedTransaction> {
        let nonce = self.next_nonce(key)?;
        Ok(sign(&self.chain_id, key, nonce, self.valid_until, instructions))
    }

    /// Runs `instructions` by `key`, packed, to commitment.
    pub(crate) fn run(&mut self, key: &SecretKey, instructions: Vec<Instruction>) -> anyhow::Result<()> {
        let txs = self.packed(key, instructions)?;
        self.settle(&txs)
    }
}

/// Waits, polling every 5 ms, until each of `hashes` is committed; fails if one failed, was
/// dropped, or is not committed within `timeout`.
pub(crate) fn wait_committed(client: &Client, hashes: &[Hash], timeout: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut pending: Vec<Hash> = hashes.to_vec();
    while !pending.is_empty() {
        let mut still = Vec::with_capacity(pending.len());
        for h in pending {
            match client.tx(&h)? {
                Some(s) if s.status == TxState::Committed => {}
                Some(s) if s.status == TxState::Pending => still.push(h),
                Some(s) => bail!("transaction {} {:?}: {:?} {:?}", h.to_hex(), s.status, s.error_code, s.error_message),
                None => still.push(h),
            }
        }
        pending = still;
        if !pending.is_empty() {
            ensure!(
                start.elapsed() < timeout,
                "{} transaction(s) not committed within {} s",
                pending.len(),
                timeout.as_secs()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_in_process_chain_registers_devices_and_measures_each_stage() {
        // `stages` fails unless every registration and transfer succeeded.
        let s = stages(4).expect("the bench world registers devices");
        for (what, us) in [
            ("parse", s.parse_us),
            ("dac_sig", s.dac_sig_us),
            ("check_dac", s.check_dac_us),
            ("possession", s.possession_us),
            ("register_build", s.register_build_us),
            ("transfer_build", s.transfer_build_us),
        ] {
            assert!(us > 0.0, "{what} took {us} µs");
        }
        assert!(s.exec_limit(4) > 0);
    }
}
