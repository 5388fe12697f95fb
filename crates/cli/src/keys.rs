//! `civitas keys`: create and show key files.

use std::path::PathBuf;

use anyhow::Context;
use civitas_node::dev::{write_key, write_secret_file};
use civitas_types::{Did, SecretKey, keyfile};

use crate::common::{load_key, print_json};

/// The subcommands of `civitas keys`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a new Ed25519 key file and print its DID; with --p256, a P-256 key for a
    /// verification method of your DID document (e.g. to bind credentials to it), and print
    /// the method to add with `civitas did update`.
    New {
        /// Where to write the key (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
        /// A P-256 key instead of an Ed25519 account key.
        #[arg(long)]
        p256: bool,
        /// With --p256: the method's id in your DID document.
        #[arg(long, default_value = "wallet")]
        method_id: String,
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
        KeysCommand::New { out, json, p256: true, method_id } => {
            // 32 random bytes are a P-256 secret unless at or above the group order (odds 2^-32).
            let (secret, text) = std::iter::repeat_with(|| SecretKey::generate().seed())
                .find_map(|s| keyfile::render_p256(&s).map(|text| (s, text)))
                .context("no P-256 key from the random source")?;
            write_secret_file(&out, &text)?;
            let public = keyfile::p256_public(&secret).context("a rendered key has a public key")?;
            let method = serde_json::json!({
                "id": method_id, "key_type": "P-256", "public_key": hex::encode(public), "relations": ["authentication"],
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
