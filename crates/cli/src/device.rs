//! `civitas device`: device passports. Vendors claim vendor ids, add and revoke their PAIs,
//! revoke device certificates, register models and their software versions; a certification
//! body certifies versions; a device is registered (the CLI signs the registration challenge
//! with the DAC key, as the device's secure element would), bound, offered, accepted, re-keyed,
//! suspended or decommissioned by its owner, who grants other controllers named capabilities.
//! The reads show passports, grants, certificates, device certificates' revocation, models and
//! versions, and prove passports, grants and revocations for `civitas verify`. `device pki`
//! writes a demo Matter-shaped PKI to try it with.
//!
//! Vendor and product ids are written as Matter writes them: four hex digits (`FFF1`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::device::{CertificateJson, DacStatusJson, DeviceJson, GrantAnswerJson};
use civitas_client::did::{datetime_ms, parse_datetime};
use civitas_node::dev::{write_key, write_secret_file};
use civitas_types::device::attestation::{self, CERT_DER_BYTES_MAX, Level};
use civitas_types::device::passport::{
    DeviceId, DeviceStatus, binding_statement, registration_challenge, rotation_statement,
};
use civitas_types::device::testing::{Ca, CertSpec, TestKey};
use civitas_types::device::{Capabilities, Certification, DeviceInstruction, KEY_ID_BYTES, Passport};
use civitas_types::{Did, Hash, Instruction, SecretKey};
use p256::ecdsa::signature::Signer as _;

use crate::common::{QueryOpts, TxOpts, load_key, print_json, submit};

/// Largest certificate or key file read, in bytes: a DER certificate is at most
/// [`CERT_DER_BYTES_MAX`], its PEM a third more; anything far larger is not one.
const CERT_FILE_BYTES_MAX: u64 = 16 * 1024;
/// Largest OTA image `device version add --image` hashes in memory (Matter images are a few
/// MiB); a larger one takes `--checksum` (`sha256sum`).
const IMAGE_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// Most devices `device pki` makes in one run.
const PKI_DEVICES_MAX: u32 = 1000;

/// The subcommands of `civitas device`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum DeviceCommand {
    /// Write a demo Matter-shaped PKI to try the flow with: a PAA and a PAI of one vendor, and
    /// per device a DAC, its key (PKCS#8 PEM) and the device's operational key (a civitas key
    /// file). Fresh random keys each run; never for a real chain.
    Pki {
        /// The folder to write into (created if missing; existing files are never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// The vendor id the certificates name (default FFF3: a Matter test vendor id the dev
        /// chain's demo leaves free).
        #[arg(long, default_value = "FFF3", value_parser = matter_id)]
        vendor_id: u16,
        /// The product id the device certificates name.
        #[arg(long, default_value = "8001", value_parser = matter_id)]
        product_id: u16,
        /// How many devices.
        #[arg(long, default_value_t = 1)]
        devices: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Vendor ids: claim one for a manufacturer, or show who holds one.
    #[command(subcommand)]
    Vendor(VendorCommand),
    /// Product Attestation Intermediates: add one of your vendor ids (issued by a PAA the
    /// council trusts), or revoke one for good.
    #[command(subcommand)]
    Pai(PaiCommand),
    /// A trusted attestation certificate (PAA or PAI) by subject key identifier
    /// (`--prove`: a proof that it is revoked or not).
    Cert {
        /// Its subject key identifier, 40 hex digits.
        #[arg(value_parser = key_id, required_unless_present = "cert")]
        key_id: Option<[u8; KEY_ID_BYTES]>,
        /// Or the certificate file (DER or PEM) to take it from.
        #[arg(long, conflicts_with = "key_id")]
        cert: Option<PathBuf>,
        /// Print a proof document (JSON) of its revocation status, for `civitas verify`.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        opts: QueryOpts,
    },
    /// Revoke one device's attestation certificate (DAC) for good, as an official of its
    /// vendor: the device registered with it is revoked too.
    RevokeDac {
        #[command(flatten)]
        opts: TxOpts,
        /// The DAC file (DER or PEM): its fingerprint and vendor id.
        #[arg(long, required_unless_present = "fingerprint", conflicts_with = "fingerprint")]
        dac: Option<PathBuf>,
        /// Or its SHA-256 fingerprint, 64 hex digits (with --vendor-id).
        #[arg(long, value_parser = fingerprint, requires = "vendor_id")]
        fingerprint: Option<Hash>,
        /// The vendor id it names (read from --dac when given).
        #[arg(long, value_parser = matter_id)]
        vendor_id: Option<u16>,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The manufacturer you act for.
        #[arg(long)]
        by: Did,
    },
    /// Whether a device certificate is revoked, and which device registered with it
    /// (`--prove`: a proof that it is revoked or not).
    Dac {
        /// Its SHA-256 fingerprint, 64 hex digits.
        #[arg(long, value_parser = fingerprint, required_unless_present = "dac", conflicts_with = "dac")]
        fingerprint: Option<Hash>,
        /// Or the DAC file (DER or PEM).
        #[arg(long)]
        dac: Option<PathBuf>,
        /// Print a proof document (JSON) of its revocation status, for `civitas verify`.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        opts: QueryOpts,
    },
    /// Device models: register one of a vendor id you hold, with what it exposes, or show one.
    #[command(subcommand)]
    Model(ModelCommand),
    /// A model's software versions: add one, or show one with its certification.
    #[command(subcommand)]
    Version(VersionCommand),
    /// Certify a model's software version, or with --revoke revoke its certification for good,
    /// as an official of a certification body.
    Certify {
        #[command(flatten)]
        opts: TxOpts,
        /// The vendor id.
        #[arg(long, value_parser = matter_id)]
        vendor_id: u16,
        /// The product id.
        #[arg(long, value_parser = matter_id)]
        product_id: u16,
        /// The software version number.
        #[arg(long)]
        software_version: u32,
        /// Revoke the certification instead (with --reason).
        #[arg(long, requires = "reason")]
        revoke: bool,
        /// Why it is revoked.
        #[arg(long)]
        reason: Option<String>,
        /// The certification body you act for.
        #[arg(long)]
        by: Did,
    },
    /// Register a device: its DAC must chain to a trusted PAI and PAA and name a model whose
    /// software version is certified. The DAC key signs the registration challenge over the
    /// device's operational key, as the device's secure element would. Prints the device's id
    /// on stderr.
    Register {
        #[command(flatten)]
        opts: TxOpts,
        /// The device's attestation certificate (DER or PEM).
        #[arg(long)]
        dac: PathBuf,
        /// The DAC's private key: PKCS#8 (`openssl genpkey`) or SEC1, PEM or DER.
        #[arg(long)]
        dac_key: PathBuf,
        /// The device's operational key (a civitas key file): the device's id is its did:key.
        #[arg(long)]
        device_key: PathBuf,
        /// The certified software version it runs.
        #[arg(long)]
        software_version: u32,
    },
    /// Bind an unbound device to you (the signer), with the device's consent signed by its
    /// operational key.
    Bind {
        #[command(flatten)]
        opts: TxOpts,
        /// The device's current operational key (a civitas key file).
        #[arg(long)]
        device_key: PathBuf,
        /// The device (default: the did:key of --device-key, right until its key is rotated).
        #[arg(long)]
        device: Option<DeviceId>,
    },
    /// Offer your device to another account; it is theirs when they accept.
    Offer {
        #[command(flatten)]
        opts: TxOpts,
        /// The device.
        #[arg(long)]
        device: DeviceId,
        /// The recipient.
        #[arg(long)]
        to: Did,
    },
    /// Accept a device offered to you; the previous owner's grants end.
    Accept {
        #[command(flatten)]
        opts: TxOpts,
        /// The device.
        #[arg(long)]
        device: DeviceId,
    },
    /// Rotate a device's operational key: the current key signs the new one in (and its owner
    /// signs the transaction).
    RotateKey {
        #[command(flatten)]
        opts: TxOpts,
        /// The device's current operational key (a civitas key file).
        #[arg(long)]
        device_key: PathBuf,
        /// The new key (a civitas key file, from `civitas keys new`).
        #[arg(long)]
        new_key: PathBuf,
        /// The device (default: the did:key of --device-key, right until its key is rotated).
        #[arg(long)]
        device: Option<DeviceId>,
    },
    /// Suspend your device, resume it (`active`), or decommission it for good.
    SetStatus {
        #[command(flatten)]
        opts: TxOpts,
        /// The device.
        #[arg(long)]
        device: DeviceId,
        /// `active`, `suspended` or `decommissioned`.
        #[arg(long)]
        status: String,
    },
    /// Grant a controller (another brand's hub, say) named capabilities of your device for a
    /// while, replacing any earlier grant to it.
    Grant {
        #[command(flatten)]
        opts: TxOpts,
        /// The device.
        #[arg(long)]
        device: DeviceId,
        /// The controller's DID.
        #[arg(long)]
        controller: Did,
        /// Capabilities of the device's model, comma-separated (`boost,fan_speed`).
        #[arg(long, value_delimiter = ',', required = true)]
        capabilities: Vec<String>,
        /// In force for this many hours from --from.
        #[arg(long, required_unless_present = "until", conflicts_with = "until")]
        hours: Option<u64>,
        /// In force until this time (RFC 3339, `2027-01-01T00:00:00Z`).
        #[arg(long)]
        until: Option<String>,
        /// In force from this time (RFC 3339; default: the latest block's time).
        #[arg(long)]
        from: Option<String>,
        /// The scene it belongs to (`kitchen`).
        #[arg(long, default_value = "")]
        scene: String,
    },
    /// Revoke your grant to a controller.
    RevokeGrant {
        #[command(flatten)]
        opts: TxOpts,
        /// The device.
        #[arg(long)]
        device: DeviceId,
        /// The controller.
        #[arg(long)]
        controller: Did,
    },
    /// A device's passport (`--prove`: a proof of it and of its attestation chain's revocation
    /// status).
    Show {
        /// The device (did:key).
        device: DeviceId,
        /// Print a proof document (JSON), for `civitas verify`.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        opts: QueryOpts,
    },
    /// A page of one of the module's lists: `paas`, `pais/FFF1`, `models/FFF1`,
    /// `versions/FFF1/8001`, `revocations` (every revocation, in order), `owned/<DID>`,
    /// `scene/<DID>/<name>` (`--prove`: a proof of the page and of the list's length).
    List {
        /// The list.
        list: String,
        /// The first position.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = 100)]
        limit: u64,
        /// Print a proof document (JSON), for `civitas verify`.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        opts: QueryOpts,
    },
    /// What a controller may do on a device now (`--prove`: a proof of the passport and the
    /// grant, from which a verifier draws the same answer at the proven block's time).
    May {
        /// The device.
        #[arg(long)]
        device: DeviceId,
        /// The controller.
        #[arg(long)]
        controller: Did,
        /// Print a proof document (JSON), for `civitas verify`.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        opts: QueryOpts,
    },
}

/// The subcommands of `civitas device vendor`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum VendorCommand {
    /// Claim a vendor id for a manufacturer, as its official (once; a manufacturer may hold
    /// several).
    Claim {
        #[command(flatten)]
        opts: TxOpts,
        /// The vendor id.
        #[arg(long, value_parser = matter_id)]
        vendor_id: u16,
        /// The brand, for people.
        #[arg(long)]
        name: String,
        /// The manufacturer you act for.
        #[arg(long)]
        by: Did,
    },
    /// Who holds a vendor id.
    Show {
        /// The vendor id.
        #[arg(value_parser = matter_id)]
        vendor_id: u16,
        #[command(flatten)]
        opts: QueryOpts,
    },
}

/// The subcommands of `civitas device pai`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum PaiCommand {
    /// Add a PAI of one of your vendor ids, as an official of the manufacturer.
    Add {
        #[command(flatten)]
        opts: TxOpts,
        /// The certificate (DER or PEM).
        #[arg(long)]
        cert: PathBuf,
        /// The manufacturer you act for.
        #[arg(long)]
        by: Did,
    },
    /// Revoke a PAI for good: no device it attests registers any more.
    Revoke {
        #[command(flatten)]
        opts: TxOpts,
        /// Its subject key identifier, 40 hex digits.
        #[arg(long, value_parser = key_id, required_unless_present = "cert", conflicts_with = "cert")]
        key_id: Option<[u8; KEY_ID_BYTES]>,
        /// Or the certificate file (DER or PEM) to take it from.
        #[arg(long)]
        cert: Option<PathBuf>,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The manufacturer you act for.
        #[arg(long)]
        by: Did,
    },
}

/// The subcommands of `civitas device model`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ModelCommand {
    /// Register a model of one of your vendor ids, with the capabilities grants may name.
    Register {
        #[command(flatten)]
        opts: TxOpts,
        /// The vendor id.
        #[arg(long, value_parser = matter_id)]
        vendor_id: u16,
        /// The product id.
        #[arg(long, value_parser = matter_id)]
        product_id: u16,
        /// The Matter device type: a number, decimal or 0x-hex (`0x007A`).
        #[arg(long, value_parser = number_u32)]
        device_type: u32,
        /// Its name.
        #[arg(long)]
        name: String,
        /// Properties it exposes, comma-separated (`fan_speed,light`).
        #[arg(long, value_delimiter = ',')]
        properties: Vec<String>,
        /// Actions it does (`boost`).
        #[arg(long, value_delimiter = ',')]
        actions: Vec<String>,
        /// Events it reports (`grease_filter_full`).
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// The manufacturer you act for.
        #[arg(long)]
        by: Did,
    },
    /// A model and what it exposes.
    Show {
        /// The vendor id.
        #[arg(value_parser = matter_id)]
        vendor_id: u16,
        /// The product id.
        #[arg(value_parser = matter_id)]
        product_id: u16,
        #[command(flatten)]
        opts: QueryOpts,
    },
}

/// The subcommands of `civitas device version`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum VersionCommand {
    /// Add a software version of one of your models.
    Add {
        #[command(flatten)]
        opts: TxOpts,
        /// The vendor id.
        #[arg(long, value_parser = matter_id)]
        vendor_id: u16,
        /// The product id.
        #[arg(long, value_parser = matter_id)]
        product_id: u16,
        /// The software version number.
        #[arg(long)]
        software_version: u32,
        /// Its version string, for people (`1.4.2`).
        #[arg(long)]
        version_string: String,
        /// The OTA image: its SHA-256 is recorded.
        #[arg(long, required_unless_present = "checksum", conflicts_with = "checksum")]
        image: Option<PathBuf>,
        /// Or the image's SHA-256, 64 hex digits.
        #[arg(long, value_parser = fingerprint)]
        checksum: Option<Hash>,
        /// Where the image is (`https://`).
        #[arg(long)]
        ota_url: String,
        /// The oldest software version it may update.
        #[arg(long, default_value_t = 0)]
        min_applicable: u32,
        /// The newest software version it may update (default: the one before it).
        #[arg(long)]
        max_applicable: Option<u32>,
        /// The manufacturer you act for.
        #[arg(long)]
        by: Did,
    },
    /// A software version of a model, with its certification.
    Show {
        /// The vendor id.
        #[arg(value_parser = matter_id)]
        vendor_id: u16,
        /// The product id.
        #[arg(value_parser = matter_id)]
        product_id: u16,
        /// The software version number.
        software_version: u32,
        #[command(flatten)]
        opts: QueryOpts,
    },
}

/// A vendor or product id: four hex digits, as Matter writes them (`FFF1`).
fn matter_id(s: &str) -> Result<u16, String> {
    let digits = s.len() == 4 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let id = if digits { u16::from_str_radix(s, 16).ok() } else { None };
    id.ok_or_else(|| format!("a vendor or product id is four hex digits (FFF1), not `{s}`"))
}

/// A subject key identifier: 20 bytes, hex.
fn key_id(s: &str) -> Result<[u8; KEY_ID_BYTES], String> {
    let mut id = [0u8; KEY_ID_BYTES];
    hex::decode_to_slice(s, &mut id).map_err(|_| format!("a subject key identifier is 40 hex digits, not `{s}`"))?;
    Ok(id)
}

/// A SHA-256 hash: 64 hex digits.
fn fingerprint(s: &str) -> Result<Hash, String> {
    Hash::from_hex(s).map_err(|_| format!("a SHA-256 hash is 64 hex digits, not `{s}`"))
}

/// A number, decimal or `0x` hex.
fn number_u32(s: &str) -> Result<u32, String> {
    let n = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse(),
    };
    n.map_err(|_| format!("a number (decimal or 0x-hex), not `{s}`"))
}

/// Reads a small file (a certificate or a key), refusing one too large to be either.
fn read_small(path: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if size > CERT_FILE_BYTES_MAX {
        bail!("{} is {size} bytes: too large for a certificate or key ({CERT_FILE_BYTES_MAX} at most)", path.display());
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Whether `bytes` are PEM (text beginning with a `-----BEGIN` line).
fn is_pem(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(b"-----BEGIN ")
}

/// Reads a certificate file: DER, or PEM (`-----BEGIN CERTIFICATE-----`), as DER. Shared with
/// `civitas council propose --add-paa`.
pub(crate) fn read_cert(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = read_small(path)?;
    let der = if is_pem(&bytes) {
        let (label, der) = p256::pkcs8::der::pem::decode_vec(bytes.trim_ascii())
            .map_err(|e| anyhow::anyhow!("{} is not a PEM document: {e}", path.display()))?;
        if label != "CERTIFICATE" {
            bail!("{} holds a PEM `{label}`, not a CERTIFICATE", path.display());
        }
        der
    } else {
        bytes
    };
    if der.len() > CERT_DER_BYTES_MAX {
        bail!("{} is over {CERT_DER_BYTES_MAX} bytes of DER: not an attestation certificate", path.display());
    }
    Ok(der)
}

/// Reads a DAC private key file: PKCS#8 (what `openssl genpkey` and `device pki` write) or
/// SEC1 (`openssl ecparam -genkey -noout`), PEM or DER.
fn read_dac_key(path: &Path) -> anyhow::Result<p256::ecdsa::SigningKey> {
    use p256::pkcs8::DecodePrivateKey as _;
    let bytes = read_small(path)?;
    let key = if is_pem(&bytes) {
        let text = std::str::from_utf8(&bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))?;
        let text = text.trim();
        p256::ecdsa::SigningKey::from_pkcs8_pem(text)
            .ok()
            .or_else(|| p256::SecretKey::from_sec1_pem(text).ok().map(p256::ecdsa::SigningKey::from))
    } else {
        p256::ecdsa::SigningKey::from_pkcs8_der(&bytes)
            .ok()
            .or_else(|| p256::SecretKey::from_sec1_der(&bytes).ok().map(p256::ecdsa::SigningKey::from))
    };
    key.with_context(|| format!("{} is not a P-256 private key (PKCS#8 or SEC1, PEM or DER)", path.display()))
}

/// The subject key identifier of a PAA or PAI certificate file.
fn cert_key_id(path: &Path) -> anyhow::Result<[u8; KEY_ID_BYTES]> {
    let der = read_cert(path)?;
    let cert = attestation::parse(&der, Level::Pai)
        .or_else(|_| attestation::parse(&der, Level::Paa))
        .map_err(|e| anyhow::anyhow!("{} is not a PAA or PAI: {e}", path.display()))?;
    cert.subject_key_id.try_into().map_err(|_| anyhow::anyhow!("the Matter profile's key ids are 20 bytes"))
}

/// The DID a transaction's signer acts as: `--did`, or the one derived from its key.
fn signer_did(opts: &TxOpts) -> anyhow::Result<Did> {
    match opts.did() {
        Some(did) => Ok(did),
        None => Ok(Did::from_initial_key(&load_key(opts.key_path())?.public_key())),
    }
}

/// The device `device`, or the one whose first operational key `key` is, with its passport;
/// the key must be its current operational key (it signs for the device).
fn device_for_key(client: &Client, device: Option<DeviceId>, key: &SecretKey) -> anyhow::Result<(DeviceId, Passport)> {
    let id = device.unwrap_or(DeviceId(key.public_key()));
    let passport = client.device(&id)?.with_context(|| format!("no device {id} is registered"))?.passport;
    if passport.operational_key != key.public_key() {
        bail!(
            "the device key file holds {}, not the current operational key {} of {id} (key version {})",
            key.public_key().to_hex(),
            passport.operational_key.to_hex(),
            passport.key_version
        );
    }
    Ok((id, passport))
}

fn unix_secs(rfc3339: &str, flag: &str) -> anyhow::Result<u64> {
    parse_datetime(rfc3339)
        .map(|ms| ms / 1000)
        .with_context(|| format!("{flag} is an RFC 3339 time (2027-01-01T00:00:00Z), not `{rfc3339}`"))
}

fn status_named(name: &str) -> anyhow::Result<DeviceStatus> {
    [DeviceStatus::Active, DeviceStatus::Suspended, DeviceStatus::Decommissioned]
        .into_iter()
        .find(|s| s.name() == name)
        .with_context(|| {
            format!(
                "status is active, suspended or decommissioned, not `{name}` (revocation is the vendor's: revoke-dac)"
            )
        })
}

/// A read: with `--prove` the proof document, else the answer as JSON (`--json`) or as `print`
/// writes it for people.
fn read<T: serde::Serialize>(
    opts: &QueryOpts,
    proof: Option<Result<civitas_client::wire::ProofJson, civitas_client::ClientError>>,
    answer: impl FnOnce() -> anyhow::Result<T>,
    print: impl FnOnce(&T),
) -> anyhow::Result<u8> {
    if let Some(proof) = proof {
        print_json(&proof?)?;
        return Ok(0);
    }
    let answer = answer()?;
    if opts.json {
        print_json(&answer)?;
    } else {
        print(&answer);
    }
    Ok(0)
}

/// Runs `civitas device`: the reads and `pki` exit 0, the changes exit as [`submit`] does.
pub(crate) fn run(cmd: DeviceCommand) -> anyhow::Result<u8> {
    let (opts, instruction) = match cmd {
        DeviceCommand::Pki { out, vendor_id, product_id, devices, json } => {
            return pki(&out, vendor_id, product_id, devices, json);
        }
        DeviceCommand::Vendor(VendorCommand::Show { vendor_id, opts }) => {
            let v = Client::new(&opts.node).vendor(vendor_id)?.with_context(|| format!("no vendor {vendor_id:04X}"))?;
            if opts.json {
                print_json(&v)?;
            } else {
                println!(
                    "vendor {:04X} ({}) held by {} since height {}",
                    v.vendor_id, v.vendor.name, v.vendor.org, v.vendor.height
                );
            }
            return Ok(0);
        }
        DeviceCommand::Cert { key_id, cert, prove, opts } => {
            let key_id = match (key_id, cert) {
                (Some(k), _) => k,
                (None, Some(file)) => cert_key_id(&file)?,
                (None, None) => bail!("give a subject key identifier or --cert FILE"),
            };
            let client = Client::new(&opts.node);
            return read(
                &opts,
                prove.then(|| client.prove_certificate_revocation(&key_id)),
                || {
                    client
                        .attestation_certificate(&key_id)?
                        .with_context(|| format!("no trusted certificate {}", hex::encode(key_id)))
                },
                print_certificate,
            );
        }
        DeviceCommand::Dac { fingerprint, dac, prove, opts } => {
            let fingerprint = match (fingerprint, dac) {
                (Some(f), _) => f,
                (None, Some(file)) => Hash::digest(&read_cert(&file)?),
                (None, None) => bail!("give --fingerprint HEX or --dac FILE"),
            };
            let client = Client::new(&opts.node);
            return read(
                &opts,
                prove.then(|| client.prove_dac_revocation(&fingerprint)),
                || client.dac_status(&fingerprint)?.with_context(|| format!("no answer for DAC {fingerprint}")),
                print_dac,
            );
        }
        DeviceCommand::Model(ModelCommand::Show { vendor_id, product_id, opts }) => {
            let m = Client::new(&opts.node)
                .model(vendor_id, product_id)?
                .with_context(|| format!("no model {vendor_id:04X}/{product_id:04X}"))?;
            if opts.json {
                print_json(&m)?;
            } else {
                let c = &m.model.capabilities;
                println!(
                    "model {:04X}/{:04X}: {} (device type 0x{:04X})",
                    m.vendor_id, m.product_id, m.model.name, m.model.device_type
                );
                println!("properties  {}", list(&c.properties));
                println!("actions     {}", list(&c.actions));
                println!("events      {}", list(&c.events));
                println!("registered  at height {}", m.model.height);
            }
            return Ok(0);
        }
        DeviceCommand::Version(VersionCommand::Show { vendor_id, product_id, software_version, opts }) => {
            let v = Client::new(&opts.node)
                .model_version(vendor_id, product_id, software_version)?
                .with_context(|| format!("no version {software_version} of model {vendor_id:04X}/{product_id:04X}"))?;
            if opts.json {
                print_json(&v)?;
            } else {
                let version = &v.version;
                println!(
                    "model {:04X}/{:04X} version {} ({})",
                    v.vendor_id, v.product_id, v.software_version, version.version_string
                );
                println!("image       {} sha256 {}", version.ota_url, version.checksum);
                println!("updates     {} to {}", version.min_applicable, version.max_applicable);
                match &version.certification {
                    Certification::None => println!("certified   no"),
                    Certification::Certified { by, height } => println!("certified   by {by} at height {height}"),
                    Certification::Revoked { by, height, reason } => {
                        println!("certified   revoked by {by} at height {height}: {reason}")
                    }
                }
                println!("added       at height {}", version.height);
            }
            return Ok(0);
        }
        DeviceCommand::Show { device, prove, opts } => {
            let client = Client::new(&opts.node);
            return read(
                &opts,
                prove.then(|| client.prove_device(&device)),
                || client.device(&device)?.with_context(|| format!("no device {device} is registered")),
                print_device,
            );
        }
        DeviceCommand::List { list, from, limit, prove, opts } => {
            let list = civitas_types::device::DeviceList::parse(&list).map_err(anyhow::Error::msg)?;
            let client = Client::new(&opts.node);
            return read(
                &opts,
                prove.then(|| client.prove_device_list(&list, from, limit)),
                || client.device_list(&list, from, limit)?.with_context(|| format!("no list {}", list.name())),
                |page| {
                    println!("{}: {} entries", page.list, page.total);
                    for (position, e) in (page.from..).zip(&page.entries) {
                        println!("  {position:>6}  {:<20} {}", e.kind, e.id);
                    }
                    if let Some(next) = page.next {
                        println!("  (more: --from {next})");
                    }
                },
            );
        }
        DeviceCommand::May { device, controller, prove, opts } => {
            let client = Client::new(&opts.node);
            return read(
                &opts,
                prove.then(|| client.prove_device_grant(&device, &controller)),
                || {
                    client
                        .device_grant(&device, &controller)?
                        .with_context(|| format!("no answer for {controller} on {device}"))
                },
                print_grant,
            );
        }
        DeviceCommand::Vendor(VendorCommand::Claim { opts, vendor_id, name, by }) => {
            (opts, DeviceInstruction::ClaimVendorId { vendor_id, name, by })
        }
        DeviceCommand::Pai(PaiCommand::Add { opts, cert, by }) => {
            (opts, DeviceInstruction::AddPai { certificate: read_cert(&cert)?, by })
        }
        DeviceCommand::Pai(PaiCommand::Revoke { opts, key_id, cert, reason, by }) => {
            let subject_key_id = match (key_id, cert) {
                (Some(k), _) => k,
                (None, Some(file)) => cert_key_id(&file)?,
                (None, None) => bail!("give --key-id HEX or --cert FILE"),
            };
            (opts, DeviceInstruction::RevokePai { subject_key_id: subject_key_id.to_vec(), reason, by })
        }
        DeviceCommand::RevokeDac { opts, dac, fingerprint, vendor_id, reason, by } => {
            let (fingerprint, named) = match (fingerprint, dac) {
                (Some(f), _) => (f, None),
                (None, Some(file)) => {
                    let der = read_cert(&file)?;
                    let vid = attestation::parse(&der, Level::Dac).ok().and_then(|c| c.vendor_id);
                    (Hash::digest(&der), vid)
                }
                (None, None) => bail!("give --dac FILE or --fingerprint HEX"),
            };
            let vendor_id = vendor_id.or(named).context("give --vendor-id: the DAC names none that can be read")?;
            (opts, DeviceInstruction::RevokeDac { fingerprint, vendor_id, reason, by })
        }
        DeviceCommand::Model(ModelCommand::Register {
            opts,
            vendor_id,
            product_id,
            device_type,
            name,
            properties,
            actions,
            events,
            by,
        }) => {
            let capabilities = Capabilities { properties, actions, events };
            (opts, DeviceInstruction::RegisterModel { vendor_id, product_id, device_type, name, capabilities, by })
        }
        DeviceCommand::Version(VersionCommand::Add {
            opts,
            vendor_id,
            product_id,
            software_version,
            version_string,
            image,
            checksum,
            ota_url,
            min_applicable,
            max_applicable,
            by,
        }) => {
            let checksum = match (checksum, image) {
                (Some(c), _) => c,
                (None, Some(file)) => {
                    let size = std::fs::metadata(&file).with_context(|| format!("reading {}", file.display()))?.len();
                    if size > IMAGE_BYTES_MAX {
                        bail!("{} is over {IMAGE_BYTES_MAX} bytes: give its SHA-256 with --checksum", file.display());
                    }
                    Hash::digest(&std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?)
                }
                (None, None) => bail!("give --image FILE or --checksum HEX"),
            };
            let max_applicable = max_applicable.unwrap_or(software_version.saturating_sub(1));
            (
                opts,
                DeviceInstruction::AddModelVersion {
                    vendor_id,
                    product_id,
                    software_version,
                    version_string,
                    checksum,
                    ota_url,
                    min_applicable,
                    max_applicable,
                    by,
                },
            )
        }
        DeviceCommand::Certify { opts, vendor_id, product_id, software_version, revoke, reason, by } => (
            opts,
            DeviceInstruction::CertifyModelVersion {
                vendor_id,
                product_id,
                software_version,
                certified: !revoke,
                reason: reason.unwrap_or_default(),
                by,
            },
        ),
        DeviceCommand::Register { opts, dac, dac_key, device_key, software_version } => {
            let der = read_cert(&dac)?;
            let signer = read_dac_key(&dac_key)?;
            // A DAC that does not parse is left for the chain to refuse with its code; one that
            // does must certify this key, or the chain would refuse the signature anyway.
            if let Ok(cert) = attestation::parse(&der, Level::Dac)
                && cert.public_key.as_slice() != signer.verifying_key().to_sec1_point(false).as_bytes()
            {
                bail!("{} is not the key {} certifies", dac_key.display(), dac.display());
            }
            let operational = load_key(&device_key)?.public_key();
            let chain_id = Client::new(opts.node_url()).status()?.chain_id;
            let signature: p256::ecdsa::Signature = signer.sign(&registration_challenge(&chain_id, &operational));
            eprintln!("device {}", DeviceId(operational));
            (
                opts,
                DeviceInstruction::RegisterDevice {
                    dac: der,
                    operational_key: operational,
                    software_version,
                    possession: signature.to_der().as_bytes().to_vec(),
                },
            )
        }
        DeviceCommand::Bind { opts, device_key, device } => {
            let key = load_key(&device_key)?;
            let client = Client::new(opts.node_url());
            let (id, passport) = device_for_key(&client, device, &key)?;
            let owner = signer_did(&opts)?;
            let chain_id = client.status()?.chain_id;
            let device_signature = key.sign(&binding_statement(&chain_id, &id, &owner, passport.owner_epoch));
            (opts, DeviceInstruction::BindDevice { device: id, owner, device_signature })
        }
        DeviceCommand::Offer { opts, device, to } => (opts, DeviceInstruction::OfferDevice { device, to }),
        DeviceCommand::Accept { opts, device } => (opts, DeviceInstruction::AcceptDevice { device }),
        DeviceCommand::RotateKey { opts, device_key, new_key, device } => {
            let key = load_key(&device_key)?;
            let new_key = load_key(&new_key)?.public_key();
            let client = Client::new(opts.node_url());
            let (id, passport) = device_for_key(&client, device, &key)?;
            let chain_id = client.status()?.chain_id;
            let device_signature = key.sign(&rotation_statement(&chain_id, &id, &new_key, passport.key_version));
            (opts, DeviceInstruction::RotateDeviceKey { device: id, new_key, device_signature })
        }
        DeviceCommand::SetStatus { opts, device, status } => {
            (opts, DeviceInstruction::SetDeviceStatus { device, status: status_named(&status)? })
        }
        DeviceCommand::Grant { opts, device, controller, capabilities, hours, until, from, scene } => {
            let not_before = match from {
                Some(t) => unix_secs(&t, "--from")?,
                None => Client::new(opts.node_url()).status()?.timestamp_ms / 1000,
            };
            let not_after = match (hours, until) {
                (Some(h), _) => h
                    .checked_mul(3600)
                    .and_then(|s| not_before.checked_add(s))
                    .with_context(|| format!("--hours {h} runs past the end of time"))?,
                (None, Some(t)) => unix_secs(&t, "--until")?,
                (None, None) => bail!("give --hours N or --until TIME"),
            };
            (opts, DeviceInstruction::GrantDevice { device, controller, capabilities, not_before, not_after, scene })
        }
        DeviceCommand::RevokeGrant { opts, device, controller } => {
            (opts, DeviceInstruction::RevokeGrant { device, controller })
        }
    };
    submit(opts, Instruction::Devices(instruction))
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "-".to_owned() } else { names.join(", ") }
}

fn print_device(d: &DeviceJson) {
    let p = &d.passport;
    println!("device {}", d.device);
    println!("model       {:04X}/{:04X}, software version {}", p.vendor_id, p.product_id, p.software_version);
    println!("status      {}", p.status.name());
    match p.owner {
        Some(owner) => println!("owner       {owner} (owner epoch {})", p.owner_epoch),
        None => println!("owner       none: unbound"),
    }
    if let Some(to) = p.offered_to {
        println!("offered to  {to}");
    }
    println!("key         {} (version {})", p.operational_key.to_hex(), p.key_version);
    println!("DAC         {}", p.dac_fingerprint);
    println!("PAI         {}", hex::encode(&p.pai_key_id));
    println!("PAA         {}", hex::encode(&p.paa_key_id));
    println!("registered  at height {} by {}", p.height, p.registered_by);
}

fn print_grant(a: &GrantAnswerJson) {
    if a.allowed {
        println!("allowed: {}", a.capabilities.join(", "));
    } else {
        println!("not allowed: {}: {}", a.code.as_deref().unwrap_or("?"), a.reason.as_deref().unwrap_or(""));
    }
    println!("  {} on {} at {}", a.controller, a.device, datetime_ms(a.at.saturating_mul(1000)));
    if let Some(g) = &a.grant {
        let scene = if g.scene.is_empty() { String::new() } else { format!(", scene {}", g.scene) };
        println!(
            "  grant of {} from {} until {}{scene}, by {} at height {}",
            g.capabilities.join(", "),
            datetime_ms(g.not_before.saturating_mul(1000)),
            datetime_ms(g.not_after.saturating_mul(1000)),
            g.by,
            g.height
        );
    }
}

fn print_certificate(c: &CertificateJson) {
    let t = &c.certificate;
    let vendor = t.vendor_id.map_or_else(|| "any vendor".to_owned(), |v| format!("vendor {v:04X}"));
    println!("{} {} ({vendor})", t.level.name().to_uppercase(), c.subject_key_id);
    if let Some(issuer) = &t.issuer_key_id {
        println!("issued by   {}", hex::encode(issuer));
    }
    println!("trusted     at height {} by {}", t.height, t.by);
    match &c.revocation {
        Some(r) => println!("revoked     at height {} by {}: {}", r.height, r.by, r.reason),
        None => println!("revoked     no"),
    }
}

fn print_dac(s: &DacStatusJson) {
    println!("DAC {}", s.fingerprint);
    match &s.revocation {
        Some(r) => println!("revoked     at height {} by {}: {}", r.height, r.by, r.reason),
        None => println!("revoked     no"),
    }
    match &s.device {
        Some(d) => println!("device      {d}"),
        None => println!("device      none registered"),
    }
}

/// A P-256 key from the random source (32 random bytes are a scalar but with odds of 2^-32).
fn random_test_key() -> anyhow::Result<TestKey> {
    std::iter::repeat_with(|| SecretKey::generate().seed())
        .take(4)
        .find_map(|s| TestKey::from_secret(&s))
        .context("no P-256 key from the random source")
}

/// Writes `bytes` to a new file at `path` (refuses to overwrite).
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes).with_context(|| format!("writing {}", path.display()))
}

/// `civitas device pki`.
fn pki(out: &Path, vendor_id: u16, product_id: u16, devices: u32, json: bool) -> anyhow::Result<u8> {
    if devices == 0 || devices > PKI_DEVICES_MAX {
        bail!("--devices is 1 to {PKI_DEVICES_MAX}");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let names = |n: u32| [format!("dac-{n}.der"), format!("dac-{n}-key.pem"), format!("device-{n}.key")];
    let taken = ["paa.der".to_owned(), "pai.der".to_owned()]
        .into_iter()
        .chain((1..=devices).flat_map(names))
        .map(|name| out.join(name))
        .find(|path| path.exists());
    if let Some(path) = taken {
        bail!("{} exists: give --out a new or empty folder", path.display());
    }
    // `CertSpec` holds `&'static str`s; this command writes the PKI and exits, so the two
    // small id strings it leaks are freed with the process.
    let vid: &'static str = format!("{vendor_id:04X}").leak();
    let pid: &'static str = format!("{product_id:04X}").leak();
    let (paa_key, pai_key) = (random_test_key()?, random_test_key()?);
    let (paa_key_id, pai_key_id) = (paa_key.key_id(), pai_key.key_id());
    let paa = Ca::root(&CertSpec { name: "Civitas Demo PAA", vid: Some(vid), ..CertSpec::paa() }, paa_key);
    let pai = paa.intermediate(&CertSpec { name: "Civitas Demo PAI", vid: Some(vid), ..CertSpec::pai() }, pai_key);
    write_new(&out.join("paa.der"), &paa.der)?;
    write_new(&out.join("pai.der"), &pai.der)?;
    let dac_spec = CertSpec { name: "Civitas Demo DAC", vid: Some(vid), pid: Some(pid), ..CertSpec::dac() };
    let mut made = Vec::new();
    for n in 1..=devices {
        let [dac_name, dac_key_name, device_key_name] = names(n);
        let dac_key = random_test_key()?;
        let dac = pai.issue(&dac_spec, &dac_key);
        write_new(&out.join(&dac_name), &dac)?;
        write_secret_file(&out.join(&dac_key_name), &dac_key.to_pkcs8_pem())?;
        let operational = SecretKey::generate();
        write_key(&out.join(&device_key_name), &operational)?;
        made.push(serde_json::json!({
            "device": DeviceId(operational.public_key()).to_string(),
            "dac": out.join(dac_name),
            "dac_key": out.join(dac_key_name),
            "device_key": out.join(device_key_name),
            "dac_fingerprint": Hash::digest(&dac).to_hex(),
        }));
    }
    if json {
        print_json(&serde_json::json!({
            "vendor_id": vid,
            "product_id": pid,
            "paa": { "file": out.join("paa.der"), "subject_key_id": hex::encode(&paa_key_id) },
            "pai": { "file": out.join("pai.der"), "subject_key_id": hex::encode(&pai_key_id) },
            "devices": made,
        }))?;
    } else {
        println!("demo PKI of vendor {vid}, product {pid}, in {}", out.display());
        println!("PAA  paa.der  subject key id {}", hex::encode(&paa_key_id));
        println!("PAI  pai.der  subject key id {}", hex::encode(&pai_key_id));
        for d in &made {
            println!("device {}", d["device"].as_str().unwrap_or_default());
        }
        eprintln!(
            "next: the council adds the PAA (civitas council propose --add-paa {}), the vendor adds \
             the PAI (civitas device pai add), registers the model {vid}/{pid} and a certified version, \
             then civitas device register --dac dac-1.der --dac-key dac-1-key.pem --device-key device-1.key",
            out.join("paa.der").display()
        );
    }
    Ok(0)
}
