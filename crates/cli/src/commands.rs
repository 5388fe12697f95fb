//! `civitas keys`, `civitas tx`, `civitas query`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::wire::{TxState, TxStatusJson};
use civitas_node::dev::{read_key, write_key};
use civitas_types::{Did, Hash, Instruction, SecretKey, Transaction};

use crate::{DEFAULT_NODE, EXIT_TX_FAILED};

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

/// Options every transaction takes.
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

    /// The node's API.
    pub(crate) fn node_url(&self) -> &str {
        &self.node
    }
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum TxCommand {
    /// Move currency to another account.
    Transfer {
        #[command(flatten)]
        opts: TxOpts,
        /// The receiving DID.
        #[arg(long)]
        to: Did,
        /// Minor units.
        #[arg(long)]
        amount: u128,
    },
    /// Create currency in an account (finance role).
    Mint {
        #[command(flatten)]
        opts: TxOpts,
        /// The receiving DID.
        #[arg(long)]
        to: Did,
        /// Minor units.
        #[arg(long)]
        amount: u128,
    },
    /// Register the key's account.
    Register {
        #[command(flatten)]
        opts: TxOpts,
    },
    /// Move the account to a new key (give the new key's file).
    RotateKey {
        #[command(flatten)]
        opts: TxOpts,
        /// The new key file.
        #[arg(long)]
        new_key: PathBuf,
    },
}

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

/// Options every query takes.
#[derive(Debug, clap::Args)]
pub(crate) struct QueryOpts {
    /// The node's API.
    #[arg(long, default_value = DEFAULT_NODE)]
    pub(crate) node: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub(crate) fn load_key(path: &Path) -> anyhow::Result<SecretKey> {
    Ok(read_key(path)?)
}

pub(crate) fn keys(cmd: KeysCommand) -> anyhow::Result<u8> {
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

#[derive(Debug, clap::Subcommand)]
pub(crate) enum OrgCommand {
    /// Register an account as a company or employer, as an official of a market-regulation
    /// department.
    Register {
        #[command(flatten)]
        opts: TxOpts,
        /// The organization's DID (its account must exist).
        #[arg(long)]
        org: Did,
        /// `company` or `employer`.
        #[arg(long)]
        kind: String,
        /// Its name.
        #[arg(long)]
        name: String,
        /// The department you act for.
        #[arg(long)]
        by: Did,
    },
    /// Give an official a role in an organization (`admin`, `officer`), or remove it (`none`).
    Member {
        #[command(flatten)]
        opts: TxOpts,
        /// The organization.
        #[arg(long)]
        org: Did,
        /// The official.
        #[arg(long)]
        member: Did,
        /// `admin`, `officer` or `none`.
        #[arg(long)]
        role: String,
    },
    /// Show an organization, or an official's role in it.
    Show {
        /// The organization.
        org: Did,
        /// Show this official's role.
        #[arg(long)]
        member: Option<Did>,
        #[command(flatten)]
        opts: QueryOpts,
    },
}

pub(crate) fn org(cmd: OrgCommand) -> anyhow::Result<u8> {
    use civitas_types::org::{OrgKind, OrgRole};
    let (opts, instruction) = match cmd {
        OrgCommand::Show { org, member: Some(member), opts } => {
            let o = Client::new(&opts.node)
                .official(&org, &member)?
                .with_context(|| format!("{member} holds no role in {org}"))?;
            if opts.json {
                print_json(&o)?;
            } else {
                println!("{} is {} of {}", o.member, o.role, o.org);
            }
            return Ok(0);
        }
        OrgCommand::Show { org, member: None, opts } => {
            let o =
                Client::new(&opts.node).organization(&org)?.with_context(|| format!("{org} is not an organization"))?;
            if opts.json {
                print_json(&o)?;
            } else {
                println!("{} ({}) {}", o.name, o.kind, o.did);
                if !o.functions.is_empty() {
                    println!("functions   {}", o.functions.join(", "));
                }
                match &o.registered_by {
                    Some(by) => println!("registered  at height {} by {by}", o.registered_height),
                    None => println!("registered  at genesis"),
                }
            }
            return Ok(0);
        }
        OrgCommand::Register { opts, org, kind, name, by } => {
            let kind = OrgKind::from_name(&kind).with_context(|| format!("unknown organization kind `{kind}`"))?;
            (opts, Instruction::RegisterOrganization { org, kind, name, by })
        }
        OrgCommand::Member { opts, org, member, role } => {
            let role = match role.as_str() {
                "none" => None,
                r => Some(OrgRole::from_name(r).with_context(|| format!("role is admin, officer or none, not `{r}`"))?),
            };
            (opts, Instruction::SetMember { org, member, role })
        }
    };
    submit(opts, instruction)
}

#[derive(Debug, clap::Subcommand)]
// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum CouncilCommand {
    /// The council's members and threshold.
    Show(QueryOpts),
    /// One proposal.
    Proposal {
        /// Its number.
        id: u64,
        #[command(flatten)]
        opts: QueryOpts,
    },
    /// The validator set that finalizes the next block.
    Validators(QueryOpts),
    /// Propose an action, as an admin of a member department (it counts as that member's
    /// approval). Give exactly one of --accredit-issuer, --register-org, --threshold,
    /// --add-validator, --remove-validator.
    Propose {
        #[command(flatten)]
        opts: TxOpts,
        /// The member department you act for.
        #[arg(long)]
        by: Did,
        /// How many blocks it stays open.
        #[arg(long, default_value_t = 1000)]
        ttl_blocks: u64,
        /// Accredit this organization as an issuer (with --vct).
        #[arg(long, requires = "vct")]
        accredit_issuer: Option<Did>,
        /// The credential type to accredit it for.
        #[arg(long)]
        vct: Option<String>,
        /// Register this account as an organization (with --kind and --name).
        #[arg(long, requires_all = ["kind", "name"])]
        register_org: Option<Did>,
        /// Its kind: department, manufacturer, payment_provider, company, employer.
        #[arg(long)]
        kind: Option<String>,
        /// Its name.
        #[arg(long)]
        name: Option<String>,
        /// Its functions (repeat): market_regulation, tax.
        #[arg(long = "function")]
        functions: Vec<String>,
        /// Set the number of approvals a proposal needs.
        #[arg(long)]
        threshold: Option<u32>,
        /// Add the validator with this consensus key, hex (with --p2p and --name): it
        /// validates from the block after the one that passes the proposal.
        #[arg(long, requires_all = ["p2p", "name"])]
        add_validator: Option<String>,
        /// The new validator's p2p address, IP:port.
        #[arg(long)]
        p2p: Option<String>,
        /// Remove the validator with this consensus key, hex.
        #[arg(long)]
        remove_validator: Option<String>,
    },
    /// Approve a proposal, as an admin of a member department.
    Approve {
        #[command(flatten)]
        opts: TxOpts,
        /// The member department you act for.
        #[arg(long)]
        by: Did,
        /// The proposal's number.
        #[arg(long)]
        proposal: u64,
    },
}

pub(crate) fn council(cmd: CouncilCommand) -> anyhow::Result<u8> {
    use civitas_client::wire::CouncilActionJson;
    let (opts, instruction) = match cmd {
        CouncilCommand::Show(opts) => {
            let c = Client::new(&opts.node).council()?;
            if opts.json {
                print_json(&c)?;
            } else {
                println!("{} member(s), {} approval(s) needed", c.members.len(), c.threshold);
                for m in &c.members {
                    println!("  {m}");
                }
            }
            return Ok(0);
        }
        CouncilCommand::Validators(opts) => {
            let set = Client::new(&opts.node).validators()?;
            if opts.json {
                print_json(&set)?;
            } else {
                println!(
                    "epoch {} (from height {}): {} validator(s), {} fault(s) tolerated",
                    set.epoch,
                    set.from_height,
                    set.validators.len(),
                    set.faults_tolerated
                );
                for v in &set.validators {
                    let at = if v.address.is_empty() { String::new() } else { format!(" at {}", v.address) };
                    println!("  {} {}{at}", v.public_key, v.name);
                }
            }
            return Ok(0);
        }
        CouncilCommand::Proposal { id, opts } => {
            let p = Client::new(&opts.node).proposal(id)?.with_context(|| format!("no proposal {id}"))?;
            print_json(&p)?;
            return Ok(0);
        }
        CouncilCommand::Propose {
            opts,
            by,
            ttl_blocks,
            accredit_issuer,
            vct,
            register_org,
            kind,
            name,
            functions,
            threshold,
            add_validator,
            p2p,
            remove_validator,
        } => {
            let given = [
                accredit_issuer.is_some(),
                register_org.is_some(),
                threshold.is_some(),
                add_validator.is_some(),
                remove_validator.is_some(),
            ];
            if given.iter().filter(|g| **g).count() != 1 {
                bail!(
                    "give exactly one of --accredit-issuer, --register-org, --threshold, --add-validator, --remove-validator"
                );
            }
            let action = if let Some(issuer) = accredit_issuer {
                CouncilActionJson::AccreditIssuer {
                    issuer: issuer.to_string(),
                    vct: vct.context("--vct names the credential type")?,
                }
            } else if let Some(org) = register_org {
                CouncilActionJson::RegisterOrganization {
                    org: org.to_string(),
                    kind: kind.context("--kind is needed")?,
                    name: name.context("--name is needed")?,
                    functions,
                }
            } else if let Some(threshold) = threshold {
                CouncilActionJson::SetThreshold { threshold }
            } else if let Some(public_key) = add_validator {
                CouncilActionJson::AddValidator {
                    public_key,
                    address: p2p.context("--p2p is needed")?,
                    name: name.context("--name is needed")?,
                }
            } else {
                CouncilActionJson::RemoveValidator { public_key: remove_validator.context("an action is needed")? }
            };
            let action = action.to_action("action").map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.why))?;
            (opts, Instruction::Propose { action, ttl_blocks, by })
        }
        CouncilCommand::Approve { opts, by, proposal } => (opts, Instruction::Approve { proposal, by }),
    };
    submit(opts, instruction)
}

/// `civitas audit`: the audit trail of official acts.
#[derive(Debug, clap::Args)]
pub(crate) struct AuditArgs {
    /// Print a proof document (JSON) of entry N, for `civitas verify`.
    #[arg(long, value_name = "N")]
    prove: Option<u64>,
    /// Only this organization's acts.
    #[arg(long)]
    org: Option<Did>,
    /// First position.
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// How many (at most 1000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
    limit: u64,
    #[command(flatten)]
    opts: QueryOpts,
}

pub(crate) fn audit(args: AuditArgs) -> anyhow::Result<u8> {
    if let Some(n) = args.prove {
        print_json(&Client::new(&args.opts.node).prove_audit_entry(n)?)?;
        return Ok(0);
    }
    let page = Client::new(&args.opts.node).audit(args.org.as_ref(), args.from, args.limit)?;
    if args.opts.json {
        print_json(&page)?;
    } else {
        println!("{} entries in all", page.total);
        for e in &page.entries {
            println!(
                "#{} height {} {} by {} for {} (tx {})",
                e.index, e.height, e.instruction, e.official, e.org, e.tx_hash
            );
        }
    }
    Ok(0)
}

pub(crate) fn did(cmd: DidCommand) -> anyhow::Result<u8> {
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
            let json: civitas_client::did::DidDocumentDataJson = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a DID document file", document.display()))?;
            let data = json.to_data("document").map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.why))?;
            let did = signer_did(&opts, target)?;
            (opts, Instruction::UpdateDid { did, document: data })
        }
        DidCommand::Deactivate { opts, target } => {
            let did = signer_did(&opts, target)?;
            (opts, Instruction::DeactivateDid { did })
        }
        DidCommand::Recover { opts, recovery_key } => {
            let did = opts.did.context("--did names the DID to recover")?;
            let recovery = load_key(&recovery_key)?;
            let new_key = load_key(&opts.key)?.public_key();
            let proof = recovery.sign(&Instruction::recovery_message(&did, &new_key));
            (opts, Instruction::RecoverDid { did, recovery_key: recovery.public_key(), proof })
        }
    };
    submit(opts, instruction)
}

/// The DID an instruction targets: `target`, else the signer's own.
fn signer_did(opts: &TxOpts, target: Option<Did>) -> anyhow::Result<Did> {
    match (target, opts.did) {
        (Some(t), _) | (None, Some(t)) => Ok(t),
        (None, None) => Ok(Did::from_initial_key(&load_key(&opts.key)?.public_key())),
    }
}

pub(crate) fn tx(cmd: TxCommand) -> anyhow::Result<u8> {
    let (opts, instruction) = match cmd {
        TxCommand::Transfer { opts, to, amount } => (opts, Instruction::Transfer { to, amount }),
        TxCommand::Mint { opts, to, amount } => (opts, Instruction::Mint { to, amount }),
        TxCommand::Register { opts } => (opts, Instruction::RegisterAccount),
        TxCommand::RotateKey { opts, new_key } => {
            let new = load_key(&new_key)?;
            let signer = load_key(&opts.key)?;
            let did = opts.did.unwrap_or_else(|| Did::from_initial_key(&signer.public_key()));
            let proof = new.sign(&Instruction::rotation_message(&did, &new.public_key()));
            (opts, Instruction::RotateKey { new_key: new.public_key(), proof })
        }
    };
    submit(opts, instruction)
}

/// Signs `instruction` with the options' key and the acting DID's next nonce, submits it, and
/// waits for its outcome unless told not to.
pub(crate) fn submit(opts: TxOpts, instruction: Instruction) -> anyhow::Result<u8> {
    let key = load_key(&opts.key)?;
    let client = Client::new(&opts.node);
    let status = client.status()?;
    let registering = matches!(instruction, Instruction::RegisterAccount);
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
    let hash = client.submit(&signed).context("submitting the transaction")?;
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

fn report_tx(s: &TxStatusJson, json: bool) -> anyhow::Result<u8> {
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
        }
    }
    Ok(if s.status == TxState::Failed { EXIT_TX_FAILED } else { 0 })
}

pub(crate) fn query(cmd: QueryCommand) -> anyhow::Result<u8> {
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
                println!("block {} ({} transactions) at {} ms", b.height, b.tx_count, b.timestamp_ms);
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

/// Options of `civitas verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The proof document (from `civitas query account DID --prove`).
    file: PathBuf,
    /// The chain's genesis file: its chain id and validators are the root of trust.
    #[arg(long)]
    genesis: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Exit code when a proof is refused.
pub(crate) const EXIT_PROOF_REFUSED: u8 = 4;

pub(crate) fn verify(args: VerifyArgs) -> anyhow::Result<u8> {
    let genesis = civitas_node::Genesis::load(&args.genesis)?;
    let validators = genesis.validator_keys()?;
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let doc: civitas_client::wire::ProofJson =
        serde_json::from_str(&text).with_context(|| format!("{} is not a proof document", args.file.display()))?;
    match civitas_client::light::verify_proof(&doc, &genesis.chain_id, &validators) {
        Ok(p) => {
            use civitas_client::light::Fact;
            let block = p.header.hash();
            let (fact_json, fact_text) = match &p.fact {
                Fact::Account { did, account: Some(a) } => (
                    serde_json::json!({ "kind": "account", "did": did.to_string(), "exists": true,
                        "balance": a.balance.to_string(), "nonce": a.nonce }),
                    format!("account {did} has balance {} and next nonce {}", a.balance, a.nonce),
                ),
                Fact::Account { did, account: None } => (
                    serde_json::json!({ "kind": "account", "did": did.to_string(), "exists": false }),
                    format!("no account {did} exists"),
                ),
                Fact::Did { did, account: Some(a), document, meta } => {
                    let version = meta.map_or(1, |m| m.version);
                    let deactivated = meta.is_some_and(|m| m.deactivated);
                    let doc = civitas_client::did::civitas_document(did, &a.public_key, document);
                    (
                        serde_json::json!({ "kind": "did", "did": did.to_string(), "exists": true,
                            "version": version, "deactivated": deactivated, "document": doc }),
                        format!(
                            "DID {did} is at version {version}{}, with key #key-0 {} and {} more verification method(s)",
                            if deactivated { " (deactivated)" } else { "" },
                            a.public_key.to_hex(),
                            document.methods.len()
                        ),
                    )
                }
                Fact::Did { did, account: None, .. } => (
                    serde_json::json!({ "kind": "did", "did": did.to_string(), "exists": false }),
                    format!("no DID {did} exists"),
                ),
                Fact::AuditEntry { index, entry } => (
                    serde_json::json!({ "kind": "audit_entry", "index": index, "org": entry.org.to_string(),
                        "official": entry.official.to_string(), "instruction": entry.instruction,
                        "height": entry.height, "tx_hash": entry.tx_hash.to_hex() }),
                    format!(
                        "audit entry {index}: {} did `{}` for {} at height {} (tx {})",
                        entry.official, entry.instruction, entry.org, entry.height, entry.tx_hash
                    ),
                ),
                Fact::Invoice { invoice } => {
                    let c = &invoice.content;
                    let json = civitas_client::invoice::InvoiceJson::from_invoice(invoice);
                    (
                        serde_json::json!({ "kind": "invoice", "invoice": json }),
                        format!(
                            "invoice {} by {} for payment {}: total {} {} (tax {}), {}, hash {}",
                            c.number,
                            c.seller,
                            c.payment_id,
                            c.total,
                            c.currency,
                            c.tax_total,
                            invoice.status.name(),
                            invoice.hash
                        ),
                    )
                }
                Fact::InvoiceTotals { merchant, period, totals } => {
                    let json =
                        civitas_client::invoice::InvoiceTotalsJson::from_totals(totals, merchant.as_ref(), *period);
                    let whose = match (merchant, period) {
                        (None, _) => "all merchants".to_owned(),
                        (Some(m), None) => m.to_string(),
                        (Some(m), Some((f, t))) => format!("{m}, days {f} to {t}"),
                    };
                    (
                        serde_json::json!({ "kind": "invoice_totals", "totals": json }),
                        format!(
                            "invoice totals of {whose}: issued {} ({}), reversed {} ({}), reimbursed {} ({})",
                            totals.issued_count,
                            totals.issued_amount,
                            totals.reversed_count,
                            totals.reversed_amount,
                            totals.reimbursed_count,
                            totals.reimbursed_amount
                        ),
                    )
                }
                Fact::CredentialStatus { issuer, index, status } => (
                    serde_json::json!({ "kind": "credential_status", "issuer": issuer.to_string(), "index": index,
                        "status": status.name() }),
                    format!("the credential at {issuer}'s status entry {index} is {}", status.name()),
                ),
                Fact::Transaction { receipt } => {
                    let (outcome, code) = match &receipt.outcome {
                        civitas_types::TxOutcome::Success => ("committed".to_owned(), None),
                        civitas_types::TxOutcome::Failed { code, .. } => {
                            (format!("failed ({code})"), Some(code.clone()))
                        }
                    };
                    (
                        serde_json::json!({ "kind": "transaction", "tx_hash": receipt.tx_hash.to_hex(),
                            "succeeded": code.is_none(), "error_code": code }),
                        format!("transaction {} is in block {} and {outcome}", receipt.tx_hash, p.height),
                    )
                }
            };
            if args.json {
                print_json(&serde_json::json!({
                    "verified": true,
                    "fact": fact_json,
                    "height": p.height,
                    "block_hash": block.to_hex(),
                    "state_root": p.header.state_root.to_hex(),
                    "epoch": p.finality.epoch,
                    "view": p.finality.view,
                }))?;
            } else {
                println!("verified: {fact_text}");
                println!("  against block {} ({}), state root {}", p.height, block, p.header.state_root);
                let changes = match doc.validator_changes.len() {
                    0 => "the genesis set".to_owned(),
                    n => format!("the set reached from genesis through {n} change(s)"),
                };
                println!(
                    "  finalized by a quorum of the {} validator(s) of chain `{}` in {changes} (epoch {}, view {})",
                    p.validators.len(),
                    genesis.chain_id,
                    p.finality.epoch,
                    p.finality.view
                );
            }
            Ok(0)
        }
        Err(e) => {
            if args.json {
                print_json(&serde_json::json!({ "verified": false, "error": e.to_string() }))?;
            } else {
                eprintln!("refused: {e}");
            }
            Ok(EXIT_PROOF_REFUSED)
        }
    }
}
