//! `civitas data`: the data catalog. An organization's official registers a dataset (its title,
//! schema, the SHA-256 of its content, licence and where it is served), publishes new versions
//! and retires it; another organization's official asks to use it for a purpose; the owner
//! grants it for some days, refuses or revokes; the grantee logs each use. Anyone reads the
//! datasets (with proofs for `civitas verify`); requests and uses are signed reads for officials
//! of the requester or the owner, and the owner lists who used what.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::catalog::{CatalogListJson, DatasetJson, RequestJson};
use civitas_types::catalog::{CatalogEntry, CatalogList, LIST_PAGE_MAX};
use civitas_types::{CatalogInstruction, Did, Hash, Instruction};

use crate::common::{DEFAULT_NODE, QueryOpts, TxOpts, load_key, print_json, submit};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum DataCommand {
    /// Register a dataset, as an official of its owner `--by`.
    Register {
        #[command(flatten)]
        opts: TxOpts,
        /// Its title.
        #[arg(long)]
        title: String,
        /// What it holds.
        #[arg(long)]
        description: String,
        /// A file holding its schema (JSON Schema, or a CSV header with types; at most 8 KiB).
        #[arg(long)]
        schema: PathBuf,
        /// The file of its content: its SHA-256 goes on chain, the file stays with you.
        #[arg(long)]
        content: PathBuf,
        /// Its licence (an SPDX identifier such as CC-BY-4.0, or a URL).
        #[arg(long)]
        licence: String,
        /// Where it is served (`https://`).
        #[arg(long)]
        endpoint: String,
        /// The owner you act for.
        #[arg(long)]
        by: Did,
    },
    /// Publish a new version of a dataset you own: its content's SHA-256 and where it is served.
    Update {
        #[command(flatten)]
        opts: TxOpts,
        /// The dataset.
        #[arg(long)]
        dataset: u64,
        /// The file of the new content.
        #[arg(long)]
        content: PathBuf,
        /// Where it is served now (`https://`).
        #[arg(long)]
        endpoint: String,
        /// The owner you act for.
        #[arg(long)]
        by: Did,
    },
    /// Retire a dataset you own: no new requests or uses.
    Retire {
        #[command(flatten)]
        opts: TxOpts,
        /// The dataset.
        #[arg(long)]
        dataset: u64,
        /// The owner you act for.
        #[arg(long)]
        by: Did,
    },
    /// Ask to use a dataset for a purpose (`--dataset … --purpose … --days … --by …`), or, with
    /// a number, read that request (`request N --key K [--prove]`: a signed read by an official of
    /// its requester or of the dataset's owner).
    Request {
        /// The request to read (instead of making one).
        #[arg(conflicts_with_all = ["dataset", "purpose", "days", "by"])]
        id: Option<u64>,
        #[command(flatten)]
        opts: RequestOpts,
        /// The dataset to ask for.
        #[arg(long, required_unless_present = "id")]
        dataset: Option<u64>,
        /// What for.
        #[arg(long, required_unless_present = "id")]
        purpose: Option<String>,
        /// For how many days (1 to 3,660).
        #[arg(long, required_unless_present = "id")]
        days: Option<u32>,
        /// The organization you ask for.
        #[arg(long, required_unless_present = "id")]
        by: Option<Did>,
        /// With a number: print a proof document (JSON) of the request instead.
        #[arg(long, conflicts_with_all = ["dataset", "purpose", "days", "by"])]
        prove: bool,
    },
    /// Grant a pending request for a dataset you own, for at most the days asked.
    Grant {
        #[command(flatten)]
        opts: TxOpts,
        /// The request.
        #[arg(long)]
        request: u64,
        /// For how many days from now.
        #[arg(long)]
        days: u32,
        /// The owner you act for.
        #[arg(long)]
        by: Did,
    },
    /// Refuse a pending request for a dataset you own.
    Refuse {
        #[command(flatten)]
        opts: TxOpts,
        /// The request.
        #[arg(long)]
        request: u64,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The owner you act for.
        #[arg(long)]
        by: Did,
    },
    /// Revoke a grant of a dataset you own.
    Revoke {
        #[command(flatten)]
        opts: TxOpts,
        /// The grant.
        #[arg(long)]
        request: u64,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The owner you act for.
        #[arg(long)]
        by: Did,
    },
    /// Log one use of a dataset under your organization's grant, while it is in force.
    Use {
        #[command(flatten)]
        opts: TxOpts,
        /// The grant.
        #[arg(long)]
        request: u64,
        /// What it was used for this time.
        #[arg(long)]
        note: String,
        /// The grantee you act for.
        #[arg(long)]
        by: Did,
    },
    /// A dataset: owner, title, schema, content hash, licence, endpoint, version, status.
    Show {
        /// Its number.
        id: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// Every dataset in the catalog, or an owner's.
    List {
        /// Only this organization's datasets.
        #[arg(long)]
        owner: Option<Did>,
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = LIST_PAGE_MAX)]
        limit: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// The requests for a dataset (a signed read by an official of its owner), or an
    /// organization's requests (by an official of it).
    Requests {
        /// Your key file (it signs the request).
        #[arg(long)]
        key: PathBuf,
        /// The dataset.
        #[arg(long, required_unless_present = "requester", conflicts_with = "requester")]
        dataset: Option<u64>,
        /// The requesting organization.
        #[arg(long)]
        requester: Option<Did>,
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = LIST_PAGE_MAX)]
        limit: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// Who used a dataset, or any of an owner's datasets, which version and when (a signed read
    /// by an official of the owner).
    Uses {
        /// Your key file (it signs the request).
        #[arg(long)]
        key: PathBuf,
        /// The dataset.
        #[arg(long, required_unless_present = "owner", conflicts_with = "owner")]
        dataset: Option<u64>,
        /// The owner.
        #[arg(long)]
        owner: Option<Did>,
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = LIST_PAGE_MAX)]
        limit: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
}

/// The options of `data request`, which writes (a transaction, as [`TxOpts`]) or reads (signed
/// with `--key`, from `--node`, `--json`).
#[derive(Debug, clap::Args)]
pub(crate) struct RequestOpts {
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

/// [`TxOpts`] alone, to build them from [`RequestOpts`] as the command line would.
#[derive(Debug, clap::Parser)]
struct TxOptsOnly {
    #[command(flatten)]
    opts: TxOpts,
}

impl RequestOpts {
    /// The transaction options these are.
    fn tx_opts(self) -> anyhow::Result<TxOpts> {
        use clap::Parser;
        let mut args: Vec<std::ffi::OsString> = vec!["data request".into(), "--key".into(), self.key.into()];
        args.extend(["--node".into(), self.node.into()]);
        args.extend(["--valid-for-blocks".into(), self.valid_for_blocks.to_string().into()]);
        if let Some(did) = self.did {
            args.extend(["--did".into(), did.to_string().into()]);
        }
        if self.no_wait {
            args.push("--no-wait".into());
        }
        if self.json {
            args.push("--json".into());
        }
        Ok(TxOptsOnly::try_parse_from(args)?.opts)
    }
}

/// SHA-256 of the file at `path`.
fn digest_file(path: &Path) -> anyhow::Result<Hash> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Hash::digest(&bytes))
}

fn catalog(i: CatalogInstruction) -> Instruction {
    Instruction::Catalog(i)
}

fn at(secs: u64) -> String {
    civitas_client::did::datetime(secs * 1000)
}

fn print_dataset(view: &DatasetJson) {
    let d = &view.dataset;
    println!("dataset {}: {} ({})", d.id, d.title, d.status.name());
    println!("  owner:       {}", d.owner);
    println!("  description: {}", d.description);
    println!("  version:     {}, content SHA-256 {}", d.version, d.content_hash);
    println!("  licence:     {}", d.licence);
    println!("  endpoint:    {}", d.endpoint);
    println!("  registered:  {}; changed {}", at(d.registered_at), at(d.updated_at));
    println!("  schema:      {}", d.schema);
}

fn print_request(view: &RequestJson) {
    let r = &view.request;
    let force = if view.in_force { ", in force" } else { "" };
    println!("access request {} for dataset {}: {}{force}", r.id, r.dataset, r.status.name());
    println!("  requester:   {} (asked by {} on {})", r.requester, r.requested_by, at(r.requested_at));
    println!("  purpose:     {}", r.purpose);
    println!("  days asked:  {}", r.days);
    if let (Some(by), Some(on)) = (&r.decided_by, r.decided_at) {
        println!("  decided:     by {by} on {}", at(on));
    }
    if let Some(e) = r.expires_at {
        println!("  expires:     {}", at(e));
    }
    if !r.reason.is_empty() {
        println!("  reason:      {}", r.reason);
    }
    println!("  uses:        {}", r.uses);
}

fn print_page(page: &CatalogListJson) {
    println!("{} ({} in all, from {}):", page.list, page.total, page.from);
    for e in &page.entries {
        match e {
            CatalogEntry::Number { id } => println!("  {id}"),
            CatalogEntry::Use(u) => println!(
                "  {} used dataset {} version {} under grant {} at {} (height {}, by {}): {}",
                u.user,
                u.dataset,
                u.version,
                u.grant,
                at(u.at),
                u.height,
                u.official,
                u.note
            ),
        }
    }
    if let Some(next) = page.next {
        println!("  … more from --from {next}");
    }
}

/// A page of `list`: public, or signed with `key`.
fn show_list(
    query: &QueryOpts,
    key: Option<&Path>,
    list: &CatalogList,
    (from, limit): (u64, u64),
    prove: bool,
) -> anyhow::Result<u8> {
    let client = Client::new(&query.node);
    let key = key.map(load_key).transpose()?;
    if prove {
        let proof = match &key {
            Some(k) => client.prove_catalog_signed_list(k, list, from, limit)?,
            None => client.prove_catalog_list(list, from, limit)?,
        };
        print_json(&proof)?;
        return Ok(0);
    }
    let page = match &key {
        Some(k) => client.catalog_signed_list(k, list, from, limit)?,
        None => client.catalog_list(list, from, limit)?,
    };
    let page = page.with_context(|| format!("no list {list}"))?;
    if query.json {
        print_json(&page)?;
    } else {
        print_page(&page);
    }
    Ok(0)
}

/// Runs `civitas data`: the changes exit as [`submit`] does; a record that is not there exits 1.
pub(crate) fn run(cmd: DataCommand) -> anyhow::Result<u8> {
    match cmd {
        DataCommand::Register { opts, title, description, schema, content, licence, endpoint, by } => {
            let schema = std::fs::read_to_string(&schema).with_context(|| format!("reading {}", schema.display()))?;
            let content_hash = digest_file(&content)?;
            submit(
                opts,
                catalog(CatalogInstruction::RegisterDataset {
                    title,
                    description,
                    schema,
                    content_hash,
                    licence,
                    endpoint,
                    by,
                }),
            )
        }
        DataCommand::Update { opts, dataset, content, endpoint, by } => {
            let content_hash = digest_file(&content)?;
            submit(opts, catalog(CatalogInstruction::UpdateDataset { dataset, content_hash, endpoint, by }))
        }
        DataCommand::Retire { opts, dataset, by } => {
            submit(opts, catalog(CatalogInstruction::RetireDataset { dataset, by }))
        }
        DataCommand::Request { id: Some(id), opts, prove, .. } => {
            let client = Client::new(&opts.node);
            let key = load_key(&opts.key)?;
            if prove {
                print_json(&client.prove_catalog_request(&key, id)?)?;
                return Ok(0);
            }
            let view = client.catalog_request(&key, id)?.with_context(|| format!("no access request {id}"))?;
            if opts.json {
                print_json(&view)?;
            } else {
                print_request(&view);
            }
            Ok(0)
        }
        DataCommand::Request { id: None, opts, dataset, purpose, days, by, .. } => {
            let (Some(dataset), Some(purpose), Some(days), Some(by)) = (dataset, purpose, days, by) else {
                bail!("to ask for a dataset give --dataset, --purpose, --days and --by; to read a request, its number");
            };
            submit(opts.tx_opts()?, catalog(CatalogInstruction::RequestAccess { dataset, purpose, days, by }))
        }
        DataCommand::Grant { opts, request, days, by } => submit(
            opts,
            catalog(CatalogInstruction::DecideAccess { request, grant: true, days, reason: String::new(), by }),
        ),
        DataCommand::Refuse { opts, request, reason, by } => {
            submit(opts, catalog(CatalogInstruction::DecideAccess { request, grant: false, days: 0, reason, by }))
        }
        DataCommand::Revoke { opts, request, reason, by } => {
            submit(opts, catalog(CatalogInstruction::RevokeAccess { request, reason, by }))
        }
        DataCommand::Use { opts, request, note, by } => {
            submit(opts, catalog(CatalogInstruction::RecordUse { request, note, by }))
        }
        DataCommand::Show { id, prove, query } => {
            let client = Client::new(&query.node);
            if prove {
                print_json(&client.prove_catalog_record(&format!("dataset/{id}"))?)?;
                return Ok(0);
            }
            let d = client.catalog_dataset(id)?.with_context(|| format!("no dataset {id}"))?;
            if query.json {
                print_json(&d)?;
            } else {
                print_dataset(&d);
            }
            Ok(0)
        }
        DataCommand::List { owner, from, limit, prove, query } => {
            let list = owner.map_or(CatalogList::Datasets, CatalogList::Owned);
            show_list(&query, None, &list, (from, limit), prove)
        }
        DataCommand::Requests { key, dataset, requester, from, limit, prove, query } => {
            let list = match (dataset, requester) {
                (Some(d), _) => CatalogList::Requests(d),
                (None, Some(r)) => CatalogList::Requested(r),
                (None, None) => bail!("give --dataset or --requester"),
            };
            show_list(&query, Some(&key), &list, (from, limit), prove)
        }
        DataCommand::Uses { key, dataset, owner, from, limit, prove, query } => {
            let list = match (dataset, owner) {
                (Some(d), _) => CatalogList::Uses(d),
                (None, Some(o)) => CatalogList::OwnerUses(o),
                (None, None) => bail!("give --dataset or --owner"),
            };
            show_list(&query, Some(&key), &list, (from, limit), prove)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        command: DataCommand,
    }

    fn parse(args: &[&str]) -> Result<DataCommand, clap::Error> {
        Cli::try_parse_from(std::iter::once("data").chain(args.iter().copied())).map(|c| c.command)
    }

    #[test]
    fn request_asks_with_flags_and_reads_with_a_number() {
        let did = "did:civitas:1111111111111111111111111111111111111111";
        let ask = ["request", "--key", "k", "--dataset", "0", "--purpose", "p", "--days", "90", "--by", did];
        let DataCommand::Request { id: None, opts, dataset: Some(0), days: Some(90), .. } = parse(&ask).expect("ask")
        else {
            panic!("not an ask");
        };
        let tx = opts.tx_opts().expect("tx options");
        assert_eq!((tx.key_path(), tx.node_url()), (Path::new("k"), DEFAULT_NODE));
        let read = parse(&["request", "3", "--key", "k", "--prove", "--json"]).expect("read");
        assert!(matches!(read, DataCommand::Request { id: Some(3), prove: true, .. }));
        assert!(parse(&["request", "3", "--key", "k", "--dataset", "0"]).is_err(), "a read takes no ask's flags");
        assert!(parse(&["request", "--key", "k", "--dataset", "0"]).is_err(), "an ask needs all its flags");
        assert!(
            parse(&[
                "request",
                "--key",
                "k",
                "--dataset",
                "0",
                "--purpose",
                "p",
                "--days",
                "1",
                "--by",
                did,
                "--prove"
            ])
            .is_err()
        );
        assert!(parse(&["uses", "--key", "k"]).is_err(), "a dataset or an owner");
        assert!(parse(&["requests", "--key", "k", "--dataset", "1", "--requester", did]).is_err());
    }
}
