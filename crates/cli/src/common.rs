//! What several command files share: the options every transaction or query takes, signing and
//! submitting a transaction, reporting its outcome, and printing JSON.

use civitas_types::AccountInstruction;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::wire::{TxState, TxStatusJson};
use civitas_node::dev::read_key;
use civitas_types::{Did, Instruction, SecretKey, Transaction};

/// The default node URL; shared because every option set that talks to a node defaults to it.
pub(crate) const DEFAULT_NODE: &str = "http://127.0.0.1:8080";

/// Exit code when a transaction was committed but failed; shared so that every command that
/// submits one, and `civitas query tx`, exit alike.
pub(crate) const EXIT_TX_FAILED: u8 = 3;

/// Options every transaction takes; shared so that every command that submits one has the same
/// flags and goes through [`submit`].
#[derive(Debug, clap::Args)]
pub(crate) struct TxOpts {
    /// The signer's key file.
    #[arg(long)]
    key: PathBuf,
    /// The signer's DID, if its key was rotated (otherwise derived from the key).
    #[arg(long)]
    did: Option<Did>,
    /// The node's API.
    #[arg(long, default_value = DEFAULT_NODE)]
    node: String,
    /// How many blocks the transaction stays valid for.
    #[arg(long, default_value_t = 100)]
    valid_for_blocks: u64,
    /// Submit and print the hash without waiting for the outcome.
    #[arg(long)]
    no_wait: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl TxOpts {
    /// Options for a transaction signed with `key` sent to `node`, waiting for its outcome.
    pub(crate) fn new(key: PathBuf, node: &str) -> TxOpts {
        TxOpts { key, did: None, node: node.to_owned(), valid_for_blocks: 100, no_wait: false, json: false }
    }

    /// The signer's key file.
    pub(crate) fn key_path(&self) -> &Path {
        &self.key
    }

    /// The signer's DID as given with `--did`: `None` means the one derived from the key.
    pub(crate) fn did(&self) -> Option<Did> {
        self.did
    }

    /// The node's API.
    pub(crate) fn node_url(&self) -> &str {
        &self.node
    }
}

/// Options every query takes; shared so that every read has the same `--node` and `--json`.
#[derive(Debug, clap::Args)]
pub(crate) struct QueryOpts {
    /// The node's API.
    #[arg(long, default_value = DEFAULT_NODE)]
    pub(crate) node: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Prints `value` as pretty JSON; shared so that every command's `--json` output has one format.
pub(crate) fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Reads a key file; shared by every command that signs with a key file or derives a DID from it.
pub(crate) fn load_key(path: &Path) -> anyhow::Result<SecretKey> {
    Ok(read_key(path)?)
}

/// Signs `instruction` with the options' key and the acting DID's next nonce, submits it, and
/// waits for its outcome unless told not to. Shared so that every domain's transactions are
/// built, sent and reported the same way.
pub(crate) fn submit(opts: TxOpts, instruction: Instruction) -> anyhow::Result<u8> {
    let key = load_key(&opts.key)?;
    let client = Client::new(&opts.node);
    let status = client.status()?;
    let registering = matches!(instruction, Instruction::Accounts(AccountInstruction::RegisterAccount));
    let did = opts.did.unwrap_or_else(|| Did::from_initial_key(&key.public_key()));
    let nonce = match client.account(&did)? {
        Some(a) => a.nonce,
        None if registering => 0,
        None => bail!("no account {did} on chain `{}`; register it first (civitas tx register)", status.chain_id),
    };
    let signed = Transaction {
        chain_id: status.chain_id,
        signer: key.public_key(),
        nonce,
        valid_until_height: status.height + opts.valid_for_blocks,
        instructions: vec![instruction],
    }
    .sign(&key);
    let hash = submit_when_synced(&client, &signed)?;
    if opts.no_wait {
        if opts.json {
            print_json(&serde_json::json!({ "hash": hash.to_hex(), "status": "pending" }))?;
        } else {
            println!("submitted {hash}");
        }
        return Ok(0);
    }
    let outcome = client.wait_for(&hash, Duration::from_secs(60))?;
    report_tx(&outcome, opts.json)
}

/// Longest the CLI waits for a node that says it is catching up before giving up.
const SYNCING_WAIT: Duration = Duration::from_secs(30);

/// Submits `signed`; while the node refuses it as `syncing` (it is catching up: a restarted
/// validator, a full node behind its validator), retries every quarter second for at most
/// [`SYNCING_WAIT`], as the refusal asks. Any other refusal is final.
fn submit_when_synced(
    client: &Client,
    signed: &civitas_types::SignedTransaction,
) -> anyhow::Result<civitas_types::Hash> {
    let start = std::time::Instant::now();
    let mut told = false;
    loop {
        match client.submit(signed) {
            Err(civitas_client::ClientError::Api(p)) if p.code == "syncing" && start.elapsed() < SYNCING_WAIT => {
                if !told {
                    eprintln!("the node is catching up; retrying for up to {} s", SYNCING_WAIT.as_secs());
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            other => return other.context("submitting the transaction"),
        }
    }
}

/// Prints a transaction's status and returns the exit code it calls for; shared by [`submit`]
/// and `civitas query tx` so that a looked-up transaction reads like a submitted one.
pub(crate) fn report_tx(s: &TxStatusJson, json: bool) -> anyhow::Result<u8> {
    if json {
        print_json(s)?;
    } else {
        match s.status {
            TxState::Pending => println!("pending {}", s.hash),
            TxState::Committed => {
                println!("committed {} at height {}", s.hash, s.height.unwrap_or_default())
            }
            TxState::Failed => println!(
                "failed {} at height {}: {}: {}",
                s.hash,
                s.height.unwrap_or_default(),
                s.error_code.as_deref().unwrap_or("?"),
                s.error_message.as_deref().unwrap_or("")
            ),
            TxState::Dropped => println!(
                "dropped {}: {}: {}",
                s.hash,
                s.error_code.as_deref().unwrap_or("?"),
                s.error_message.as_deref().unwrap_or("")
            ),
        }
    }
    Ok(if matches!(s.status, TxState::Failed | TxState::Dropped) { EXIT_TX_FAILED } else { 0 })
}
