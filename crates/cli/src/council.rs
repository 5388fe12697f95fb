//! `civitas council`: its members and threshold, the validator set, proposals and approvals.

use std::path::PathBuf;

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_types::CouncilInstruction;
use civitas_types::council::CouncilAction;
use civitas_types::device::KEY_ID_BYTES;
use civitas_types::org::{OrgFunction, OrgKind};
use civitas_types::validators::Validator;
use civitas_types::{Did, Instruction, PublicKey};

use crate::common::{QueryOpts, TxOpts, print_json, submit};

/// The subcommands of `civitas council`.
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
    /// --add-validator, --remove-validator, --add-paa, --revoke-paa.
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
        /// Trust this Product Attestation Authority certificate (DER or PEM file): device
        /// attestation chains may end at it.
        #[arg(long)]
        add_paa: Option<PathBuf>,
        /// Revoke the PAA with this subject key identifier (40 hex digits) for good (with
        /// --reason).
        #[arg(long, requires = "reason")]
        revoke_paa: Option<String>,
        /// Why the PAA is revoked.
        #[arg(long)]
        reason: Option<String>,
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

/// Runs `civitas council`: the reads exit 0, `propose` and `approve` exit as [`submit`] does.
pub(crate) fn run(cmd: CouncilCommand) -> anyhow::Result<u8> {
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
            add_paa,
            revoke_paa,
            reason,
        } => {
            let given = [
                accredit_issuer.is_some(),
                register_org.is_some(),
                threshold.is_some(),
                add_validator.is_some(),
                remove_validator.is_some(),
                add_paa.is_some(),
                revoke_paa.is_some(),
            ];
            if given.iter().filter(|g| **g).count() != 1 {
                bail!(
                    "give exactly one of --accredit-issuer, --register-org, --threshold, --add-validator, \
                     --remove-validator, --add-paa, --revoke-paa"
                );
            }
            let action = if let Some(issuer) = accredit_issuer {
                CouncilAction::AccreditIssuer { issuer, vct: vct.context("--vct names the credential type")? }
            } else if let Some(org) = register_org {
                let kind = kind.context("--kind is needed")?;
                CouncilAction::RegisterOrganization {
                    org,
                    kind: OrgKind::from_name(&kind).with_context(|| format!("action.kind: unknown kind `{kind}`"))?,
                    name: name.context("--name is needed")?,
                    functions: functions
                        .iter()
                        .map(|f| {
                            OrgFunction::from_name(f)
                                .with_context(|| format!("action.functions: unknown function `{f}`"))
                        })
                        .collect::<anyhow::Result<_>>()?,
                }
            } else if let Some(threshold) = threshold {
                CouncilAction::SetThreshold { threshold }
            } else if let Some(public_key) = add_validator {
                let address = p2p.context("--p2p is needed")?;
                if !civitas_types::validators::address_ok(&address) {
                    bail!("action.address: must be IP:port");
                }
                CouncilAction::AddValidator {
                    validator: Validator {
                        key: PublicKey::from_hex(&public_key).map_err(|e| anyhow::anyhow!("action.public_key: {e}"))?,
                        address,
                        name: name.context("--name is needed")?,
                    },
                }
            } else if let Some(file) = add_paa {
                CouncilAction::AddPaa { certificate: crate::device::read_cert(&file)? }
            } else if let Some(key_id) = revoke_paa {
                let subject_key_id =
                    hex::decode(&key_id).ok().filter(|k| k.len() == KEY_ID_BYTES).with_context(|| {
                        format!("--revoke-paa is a subject key identifier, 40 hex digits, not `{key_id}`")
                    })?;
                CouncilAction::RevokePaa { subject_key_id, reason: reason.context("--reason is needed")? }
            } else {
                let public_key = remove_validator.context("an action is needed")?;
                CouncilAction::RemoveValidator {
                    key: PublicKey::from_hex(&public_key).map_err(|e| anyhow::anyhow!("action.public_key: {e}"))?,
                }
            };
            (opts, Instruction::Council(CouncilInstruction::Propose { action, ttl_blocks, by }))
        }
        CouncilCommand::Approve { opts, by, proposal } => {
            (opts, Instruction::Council(CouncilInstruction::Approve { proposal, by }))
        }
    };
    submit(opts, instruction)
}
