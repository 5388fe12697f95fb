//! `civitas query`: the chain's status, accounts, blocks and transactions.

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_types::{Did, Hash};

use crate::common::{QueryOpts, print_json, report_tx};

/// The subcommands of `civitas query`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum QueryCommand {
    /// The node's view of the chain.
    Status(QueryOpts),
    /// An account by DID.
    Account {
        /// The DID.
        did: Did,
        /// Print a proof document (JSON) of the account, or of its absence, for `civitas verify`.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        opts: QueryOpts,
    },
    /// A block by height (or `latest`).
    Block {
        /// A height or `latest`.
        height: String,
        /// Show up to this many of its transactions.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        opts: QueryOpts,
    },
    /// A transaction by hash.
    Tx {
        /// The hash, 64 hex digits.
        hash: String,
        /// Print a proof document (JSON) of its inclusion and receipt, for `civitas verify`.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        opts: QueryOpts,
    },
}

/// Runs `civitas query`; `query tx` exits as a submitted transaction does (see [`report_tx`]).
pub(crate) fn run(cmd: QueryCommand) -> anyhow::Result<u8> {
    match cmd {
        QueryCommand::Status(opts) => {
            let s = Client::new(&opts.node).status()?;
            if opts.json {
                print_json(&s)?;
            } else {
                println!("chain {} at height {}", s.chain_id, s.height);
                println!("block hash  {}", s.block_hash);
                println!("state root  {}", s.state_root);
                println!("mempool     {} transactions", s.mempool_txs);
            }
        }
        QueryCommand::Account { did, prove: true, opts } => {
            print_json(&Client::new(&opts.node).prove_account(&did)?)?;
        }
        QueryCommand::Account { did, prove: false, opts } => {
            let a = Client::new(&opts.node).account(&did)?.with_context(|| format!("no account {did}"))?;
            if opts.json {
                print_json(&a)?;
            } else {
                println!("{}", a.did);
                println!("balance     {}", a.balance);
                println!("nonce       {}", a.nonce);
                println!("public key  {}", a.public_key);
                println!("roles       {}", if a.roles.is_empty() { "-".to_owned() } else { a.roles.join(", ") });
            }
        }
        QueryCommand::Block { height, limit, opts } => {
            if height != "latest" && height.parse::<u64>().is_err() {
                bail!("height must be a number or `latest`, not `{height}`");
            }
            let client = Client::new(&opts.node);
            let h = if height == "latest" { client.status()?.height } else { height.parse()? };
            let b = client.block(h, 0, limit)?.with_context(|| format!("no block at height {h}"))?;
            if opts.json {
                print_json(&b)?;
            } else {
                let at = civitas_client::did::datetime_ms(b.timestamp_ms);
                println!("block {} ({} transactions) at {at}", b.height, b.tx_count);
                println!("hash        {}", b.hash);
                println!("parent      {}", b.parent_hash);
                println!("state root  {}", b.state_root);
                println!("tx root     {}", b.tx_root);
                for t in &b.transactions {
                    let outcome = t.error_code.as_deref().unwrap_or("ok");
                    println!("  {} nonce {} {}", t.hash, t.nonce, outcome);
                }
            }
        }
        QueryCommand::Tx { hash, prove, opts } => {
            let hash = Hash::from_hex(&hash).map_err(|_| anyhow::anyhow!("a transaction hash is 64 hex digits"))?;
            if prove {
                print_json(&Client::new(&opts.node).prove_tx(&hash)?)?;
                return Ok(0);
            }
            let s = Client::new(&opts.node).tx(&hash)?.with_context(|| format!("no transaction {hash}"))?;
            return report_tx(&s, opts.json);
        }
    }
    Ok(0)
}
