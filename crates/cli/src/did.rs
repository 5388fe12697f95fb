//! `civitas did`: resolve, update, deactivate and recover DIDs.

use civitas_types::DidInstruction;
use std::path::PathBuf;

use anyhow::Context;
use civitas_client::Client;
use civitas_types::did_doc::DidDocumentData;
use civitas_types::{Did, Hash, Instruction};

use crate::common::{DEFAULT_NODE, TxOpts, load_key, print_json, submit};

/// The subcommands of `civitas did`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum DidCommand {
    /// Resolve a DID to its DID Core document and metadata (JSON); `did:key` resolves locally.
    Resolve {
        /// The DID (`did:civitas:…` or `did:key:…`).
        did: String,
        /// Resolve this version (1 is the creation).
        #[arg(long, conflicts_with = "version_time")]
        version_id: Option<u64>,
        /// Resolve the version in effect at this RFC 3339 time.
        #[arg(long)]
        version_time: Option<String>,
        /// Print a proof document (JSON) of the DID's latest state instead, for `civitas verify`.
        #[arg(long, conflicts_with_all = ["version_id", "version_time"])]
        prove: bool,
        /// The node's API.
        #[arg(long, default_value = DEFAULT_NODE)]
        node: String,
    },
    /// Replace the DID document's methods, services, controllers and recovery key hash with
    /// those in a JSON file (`{"controllers": [], "methods": [], "services": [], "recovery_key_hash": "…"}`).
    Update {
        #[command(flatten)]
        opts: TxOpts,
        /// The document file.
        #[arg(long)]
        document: PathBuf,
        /// Update this DID as its controller (default: the signer's own).
        #[arg(long = "for")]
        target: Option<Did>,
    },
    /// Deactivate a DID for good.
    Deactivate {
        #[command(flatten)]
        opts: TxOpts,
        /// Deactivate this DID as its controller (default: the signer's own).
        #[arg(long = "for")]
        target: Option<Did>,
    },
    /// Move a DID to a new key with its recovery key: `--key` is the new key, `--did` the DID.
    Recover {
        #[command(flatten)]
        opts: TxOpts,
        /// The recovery key file.
        #[arg(long)]
        recovery_key: PathBuf,
    },
    /// Print the hash of a key file's public key, for a document's `recovery_key_hash`.
    RecoveryHash {
        /// The recovery key file.
        key: PathBuf,
    },
}

/// Runs `civitas did`: `resolve` exits 1 when the resolution result holds an error, the changes
/// exit as [`submit`] does.
pub(crate) fn run(cmd: DidCommand) -> anyhow::Result<u8> {
    let (opts, instruction) = match cmd {
        DidCommand::Resolve { did, prove: true, node, .. } => {
            let parsed: Did = did.parse().map_err(|e| anyhow::anyhow!("{did}: {e}"))?;
            print_json(&Client::new(&node).prove_did(&parsed)?)?;
            return Ok(0);
        }
        DidCommand::Resolve { did, version_id, version_time, node, prove: false } => {
            let r = if did.starts_with("did:key:") {
                civitas_client::did::resolve_did_key(&did)
            } else {
                Client::new(&node).resolve_did(&did, version_id, version_time.as_deref())?
            };
            print_json(&r)?;
            return Ok(if r.error().is_some() { 1 } else { 0 });
        }
        DidCommand::RecoveryHash { key } => {
            println!("{}", Hash::digest(&load_key(&key)?.public_key().0).to_hex());
            return Ok(0);
        }
        DidCommand::Update { opts, document, target } => {
            let text = std::fs::read_to_string(&document).with_context(|| format!("reading {}", document.display()))?;
            let data: DidDocumentData = civitas_client::wire::json_at_path(text.as_bytes())
                .map_err(|e| anyhow::anyhow!("{} is not a DID document file: document.{e}", document.display()))?;
            let did = signer_did(&opts, target)?;
            (opts, Instruction::Dids(DidInstruction::UpdateDid { did, document: data }))
        }
        DidCommand::Deactivate { opts, target } => {
            let did = signer_did(&opts, target)?;
            (opts, Instruction::Dids(DidInstruction::DeactivateDid { did }))
        }
        DidCommand::Recover { opts, recovery_key } => {
            let did = opts.did().context("--did names the DID to recover")?;
            let recovery = load_key(&recovery_key)?;
            let new_key = load_key(opts.key_path())?.public_key();
            let proof = recovery.sign(&DidInstruction::recovery_message(&did, &new_key));
            (opts, Instruction::Dids(DidInstruction::RecoverDid { did, recovery_key: recovery.public_key(), proof }))
        }
    };
    submit(opts, instruction)
}

/// The DID an instruction targets: `target`, else the signer's own.
fn signer_did(opts: &TxOpts, target: Option<Did>) -> anyhow::Result<Did> {
    match (target, opts.did()) {
        (Some(t), _) | (None, Some(t)) => Ok(t),
        (None, None) => Ok(Did::from_initial_key(&load_key(opts.key_path())?.public_key())),
    }
}
