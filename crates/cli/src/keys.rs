//! `civitas keys`: create and show key files.

use std::path::PathBuf;

use anyhow::Context;
use civitas_client::did::x25519_multibase;
use civitas_client::seal::X25519KeyPair;
use civitas_node::dev::{write_key, write_secret_file};
use civitas_types::{Did, SecretKey, keyfile};

use crate::common::{load_key, print_json};

/// The subcommands of `civitas keys`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a new Ed25519 key file and print its DID; with --p256, a P-256 key for a
    /// verification method of your DID document (e.g. to bind credentials to it), and print
    /// the method to add with `civitas did update`; with --x25519, an X25519 key agreement key
    /// (others seal messages to it, e.g. a device's event logs), and print its public key as
    /// multibase (`z6LS…`), with the method to add on stderr.
    New {
        /// Where to write the key (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
        /// A P-256 key instead of an Ed25519 account key.
        #[arg(long)]
        p256: bool,
        /// An X25519 key agreement key instead of an Ed25519 account key.
        #[arg(long, conflicts_with = "p256")]
        x25519: bool,
        /// With --p256 or --x25519: the method's id in your DID document (default `wallet` for
        /// --p256, `key-agreement` for --x25519).
        #[arg(long)]
        method_id: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a key file's DID and public key.
    Show {
        /// The key file.
        key: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `civitas keys`: prints the key's DID, and for a new key where it was written (on stderr, so
/// that stdout stays the DID alone for scripts).
pub(crate) fn run(cmd: KeysCommand) -> anyhow::Result<u8> {
    let (key, json, created) = match cmd {
        KeysCommand::New { out, json, x25519: true, method_id, .. } => {
            let pair = X25519KeyPair::generate()?;
            write_secret_file(&out, &keyfile::render_x25519(pair.secret()))?;
            let multibase = x25519_multibase(&pair.public());
            let method = serde_json::json!({
                "id": method_id.as_deref().unwrap_or("key-agreement"), "key_type": "X25519",
                "public_key": hex::encode(pair.public()), "relations": ["keyAgreement"],
            });
            if json {
                print_json(&serde_json::json!({ "public_key_multibase": multibase, "method": method }))?;
            } else {
                println!("{multibase}");
                eprintln!(
                    "X25519 key written to {}; add this method to your DID document's `methods` \
                     (civitas did update) so that others can seal messages to you:\n{method}",
                    out.display()
                );
            }
            return Ok(0);
        }
        KeysCommand::New { out, json, p256: true, method_id, .. } => {
            // 32 random bytes are a P-256 secret unless at or above the group order (odds 2^-32).
            let (secret, text) = std::iter::repeat_with(|| SecretKey::generate().seed())
                .find_map(|s| keyfile::render_p256(&s).map(|text| (s, text)))
                .context("no P-256 key from the random source")?;
            write_secret_file(&out, &text)?;
            let public = keyfile::p256_public(&secret).context("a rendered key has a public key")?;
            let method = serde_json::json!({
                "id": method_id.as_deref().unwrap_or("wallet"), "key_type": "P-256", "public_key": hex::encode(public), "relations": ["authentication"],
            });
            if json {
                print_json(&method)?;
            } else {
                println!("{method}");
                eprintln!(
                    "P-256 key written to {}; add the method above to your DID document's `methods` \
                     (civitas did update) to bind credentials to it",
                    out.display()
                );
            }
            return Ok(0);
        }
        KeysCommand::New { out, json, .. } => {
            let key = SecretKey::generate();
            write_key(&out, &key)?;
            (key, json, Some(out))
        }
        KeysCommand::Show { key, json } => (load_key(&key)?, json, None),
    };
    let did = Did::from_initial_key(&key.public_key());
    if json {
        print_json(&serde_json::json!({ "did": did.to_string(), "public_key": key.public_key().to_hex() }))?;
    } else {
        println!("{did}");
        if let Some(out) = created {
            eprintln!("key written to {} (public key {})", out.display(), key.public_key().to_hex());
        }
    }
    Ok(0)
}
