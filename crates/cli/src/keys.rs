//! `civitas keys`: create and show key files.

use std::path::PathBuf;

use civitas_node::dev::write_key;
use civitas_types::{Did, SecretKey};

use crate::common::{load_key, print_json};

/// The subcommands of `civitas keys`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a new Ed25519 key file and print its DID.
    New {
        /// Where to write the key (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
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
        KeysCommand::New { out, json } => {
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
