//! `civitas org`: register organizations and manage their officials.

use anyhow::Context;
use civitas_client::Client;
use civitas_types::OrgInstruction;
use civitas_types::org::{OrgKind, OrgRole};
use civitas_types::{Did, Instruction};

use crate::common::{QueryOpts, TxOpts, print_json, submit};

/// The subcommands of `civitas org`.
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

/// Runs `civitas org`: `show` reads and exits 0, the changes exit as [`submit`] does.
pub(crate) fn run(cmd: OrgCommand) -> anyhow::Result<u8> {
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
            (opts, Instruction::Orgs(OrgInstruction::RegisterOrganization { org, kind, name, by }))
        }
        OrgCommand::Member { opts, org, member, role } => {
            let role = match role.as_str() {
                "none" => None,
                r => Some(OrgRole::from_name(r).with_context(|| format!("role is admin, officer or none, not `{r}`"))?),
            };
            (opts, Instruction::Orgs(OrgInstruction::SetMember { org, member, role }))
        }
    };
    submit(opts, instruction)
}
