//! `civitas funds`: public project funds. Officials open and fund projects, award and accept
//! contracts, subcontract, report and review milestones, pay shares, file and approve payrolls,
//! and terminate contracts; anyone reads projects, contracts, payrolls and lists (with proofs
//! for `civitas verify`), a worker proves their wages, and `export --ocds` writes a project's
//! OCDS 1.1 release package.

use std::path::PathBuf;

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::fund::{ContractJson, ProjectJson};
use civitas_types::fund::{FundEntry, FundList, MilestoneSpec, Payee, PayrollLine};
use civitas_types::{Did, FundInstruction, Instruction};

use crate::common::{QueryOpts, TxOpts, print_json, submit};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum FundsCommand {
    /// Open a project and appropriate its first budget, as an official of the finance bureau.
    Open {
        #[command(flatten)]
        opts: TxOpts,
        /// Its title.
        #[arg(long)]
        title: String,
        /// What the money is for.
        #[arg(long)]
        purpose: String,
        /// The department that owns it.
        #[arg(long)]
        owner: Did,
        /// The organization that approves its milestones.
        #[arg(long)]
        supervisor: Did,
        /// An auditor that must approve each milestone too.
        #[arg(long)]
        auditor: Option<Did>,
        /// The appropriation, in minor units.
        #[arg(long)]
        amount: u128,
        /// The finance bureau you act for.
        #[arg(long)]
        by: Did,
    },
    /// Appropriate more into a project's escrow, as an official of the finance bureau.
    Appropriate {
        #[command(flatten)]
        opts: TxOpts,
        /// The project.
        #[arg(long)]
        project: u64,
        /// How much, in minor units.
        #[arg(long)]
        amount: u128,
        /// The finance bureau you act for.
        #[arg(long)]
        by: Did,
    },
    /// Award a contract, as an official of the project's owner.
    Award {
        #[command(flatten)]
        opts: TxOpts,
        /// The project.
        #[arg(long)]
        project: u64,
        /// The contractor (an organization).
        #[arg(long)]
        contractor: Did,
        /// Its title.
        #[arg(long)]
        title: String,
        /// A milestone, `TITLE:DELIVERABLE:AMOUNT:DUE` (DUE a date, `2027-03-31`, or an RFC 3339
        /// time; repeat, in order).
        #[arg(long = "milestone", required = true)]
        milestones: Vec<String>,
        /// The owner department you act for.
        #[arg(long)]
        by: Did,
    },
    /// Accept a contract or subcontract, as an official of its contractor.
    Accept {
        #[command(flatten)]
        opts: TxOpts,
        /// The contract.
        #[arg(long)]
        contract: u64,
        /// The contractor you act for.
        #[arg(long)]
        by: Did,
    },
    /// Subcontract part of an active contract, as an official of its contractor.
    Subcontract {
        #[command(flatten)]
        opts: TxOpts,
        /// The contract.
        #[arg(long)]
        contract: u64,
        /// The subcontractor (an organization).
        #[arg(long)]
        subcontractor: Did,
        /// What it takes on.
        #[arg(long)]
        title: String,
        /// The part of the contract, in minor units.
        #[arg(long)]
        amount: u128,
        /// The contractor you act for.
        #[arg(long)]
        by: Did,
    },
    /// Report a milestone done, as an official of the contractor.
    Report {
        #[command(flatten)]
        opts: TxOpts,
        /// The contract.
        #[arg(long)]
        contract: u64,
        /// The milestone's index (from 0).
        #[arg(long)]
        milestone: u16,
        /// What was done (a description, or the hash of the evidence).
        #[arg(long)]
        report: String,
        /// The contractor you act for.
        #[arg(long)]
        by: Did,
    },
    /// Approve or reject a reported milestone, as an official of the supervisor or auditor.
    Review {
        #[command(flatten)]
        opts: TxOpts,
        /// The contract.
        #[arg(long)]
        contract: u64,
        /// The milestone's index.
        #[arg(long)]
        milestone: u16,
        /// Reject it, with this reason (default: approve).
        #[arg(long)]
        reject: Option<String>,
        /// The supervisor or auditor you act for.
        #[arg(long)]
        by: Did,
    },
    /// Pay out of a released milestone to the contractor itself or a subcontractor, as an
    /// official of the contractor.
    Pay {
        #[command(flatten)]
        opts: TxOpts,
        /// The contract.
        #[arg(long)]
        contract: u64,
        /// The released milestone.
        #[arg(long)]
        milestone: u16,
        /// The subcontract paid (default: the contractor itself).
        #[arg(long)]
        subcontract: Option<u64>,
        /// How much, in minor units.
        #[arg(long)]
        amount: u128,
        /// The contractor you act for.
        #[arg(long)]
        by: Did,
    },
    /// File a payroll against a released milestone of the parent contract, as an official of
    /// the subcontractor (at most 250 workers; file more payrolls for more).
    Payroll {
        #[command(flatten)]
        opts: TxOpts,
        /// The subcontract.
        #[arg(long)]
        subcontract: u64,
        /// The parent contract's released milestone.
        #[arg(long)]
        milestone: u16,
        /// A worker's wage, `DID:AMOUNT` (repeat).
        #[arg(long = "line")]
        lines: Vec<String>,
        /// A CSV file of `DID,AMOUNT` lines (a header line is skipped).
        #[arg(long)]
        lines_file: Option<PathBuf>,
        /// The subcontractor you act for.
        #[arg(long)]
        by: Did,
    },
    /// Approve a filed payroll (each worker is paid directly), as an official of the parent
    /// contract's contractor.
    ApprovePayroll {
        #[command(flatten)]
        opts: TxOpts,
        /// The payroll.
        #[arg(long)]
        payroll: u64,
        /// The contractor you act for.
        #[arg(long)]
        by: Did,
    },
    /// Reject a filed payroll, as an official of the parent contract's contractor.
    RejectPayroll {
        #[command(flatten)]
        opts: TxOpts,
        /// The payroll.
        #[arg(long)]
        payroll: u64,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The contractor you act for.
        #[arg(long)]
        by: Did,
    },
    /// Terminate a contract (the owner) or a subcontract (its contractor): what it has not
    /// paid returns.
    Terminate {
        #[command(flatten)]
        opts: TxOpts,
        /// The contract.
        #[arg(long)]
        contract: u64,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The owner department (or contractor) you act for.
        #[arg(long)]
        by: Did,
    },
    /// A project: budget, contracted, released, paid, escrow.
    Project {
        /// Its number.
        id: u64,
        #[command(flatten)]
        query: QueryOpts,
        /// Print a proof document (JSON) instead, for `civitas verify`.
        #[arg(long)]
        prove: bool,
    },
    /// A contract or subcontract: milestones (overdue ones marked), released and paid.
    Contract {
        /// Its number.
        id: u64,
        #[command(flatten)]
        query: QueryOpts,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
    },
    /// A payroll.
    ShowPayroll {
        /// Its number.
        id: u64,
        #[command(flatten)]
        query: QueryOpts,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
    },
    /// A page of a list: `projects`, `appropriations/P`, `contracts/P`, `subcontracts/C`,
    /// `payments/C`, `payrolls/S`, `wages/DID`.
    List {
        /// The list.
        list: String,
        #[command(flatten)]
        query: QueryOpts,
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = 100)]
        limit: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
    },
    /// A worker's wage payments (`--prove`: a proof document a worker hands to anyone).
    Wages {
        /// The worker's DID.
        worker: Did,
        #[command(flatten)]
        query: QueryOpts,
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
    },
    /// Write a project as an OCDS 1.1 release package (JSON).
    Export {
        /// The project.
        project: u64,
        /// OCDS 1.1 (the one format there is).
        #[arg(long, required = true)]
        ocds: bool,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        query: QueryOpts,
    },
}

/// Parses a deadline: a date (`2027-03-31`, the end of that day in UTC) or an RFC 3339 time;
/// unix seconds.
fn parse_due(s: &str) -> anyhow::Result<u64> {
    if let Some(ms) = civitas_client::did::parse_datetime(s) {
        return Ok(ms / 1000);
    }
    let end_of_day = format!("{s}T23:59:59Z");
    civitas_client::did::parse_datetime(&end_of_day)
        .map(|ms| ms / 1000)
        .with_context(|| format!("{s:?} is neither a date (2027-03-31) nor an RFC 3339 time"))
}

/// Parses `TITLE:DELIVERABLE:AMOUNT:DUE` (the due time may hold colons; the title may not).
fn parse_milestone(s: &str) -> anyhow::Result<MilestoneSpec> {
    let mut parts = s.splitn(4, ':');
    let (Some(title), Some(deliverable), Some(amount), Some(due)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        bail!("--milestone {s:?}: expected TITLE:DELIVERABLE:AMOUNT:DUE");
    };
    Ok(MilestoneSpec {
        title: title.to_owned(),
        deliverable: deliverable.to_owned(),
        amount: amount.parse().with_context(|| format!("--milestone {s:?}: the amount is not a number"))?,
        due: parse_due(due)?,
    })
}

/// Parses `DID:AMOUNT` or `DID,AMOUNT` (the DID holds colons: the amount is after the last).
fn parse_line(s: &str) -> anyhow::Result<PayrollLine> {
    let (worker, amount) = s.rsplit_once([',', ':']).with_context(|| format!("{s:?}: expected DID:AMOUNT"))?;
    Ok(PayrollLine {
        worker: worker.trim().parse().with_context(|| format!("{s:?}: not a DID"))?,
        amount: amount.trim().parse().with_context(|| format!("{s:?}: the amount is not a number"))?,
    })
}

fn payroll_lines(lines: &[String], file: Option<&PathBuf>) -> anyhow::Result<Vec<PayrollLine>> {
    let mut out: Vec<PayrollLine> = lines.iter().map(|l| parse_line(l)).collect::<anyhow::Result<_>>()?;
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || (i == 0 && !line.starts_with("did:")) {
                continue;
            }
            out.push(parse_line(line).with_context(|| format!("{} line {}", path.display(), i + 1))?);
        }
    }
    if out.is_empty() {
        bail!("a payroll needs at least one --line or a --lines-file");
    }
    Ok(out)
}

fn print_project(p: &ProjectJson) {
    let r = &p.project;
    println!("project {}: {}", r.id, r.title);
    println!("  purpose:      {}", r.purpose);
    println!("  owner:        {}", r.owner);
    println!("  supervisor:   {}", r.supervisor);
    if let Some(a) = &r.auditor {
        println!("  auditor:      {a}");
    }
    println!("  appropriated: {}", r.appropriated);
    println!("  contracted:   {} ({} contracts; {} uncommitted)", r.contracted, p.contracts, p.uncommitted);
    println!("  released:     {}", r.released);
    println!("  paid:         {} ({} released and unpaid)", r.paid, p.unpaid_releases);
    println!("  escrow:       {}", p.escrow);
}

fn print_contract(c: &ContractJson) {
    let r = &c.contract;
    let what = r.parent.map_or_else(String::new, |p| format!(" (subcontract of {p})"));
    println!("contract {}{what} of project {}: {}", r.id, r.project, r.title);
    println!("  contractor: {}", r.contractor);
    println!(
        "  status:     {}{}",
        r.status.name(),
        if r.reason.is_empty() { String::new() } else { format!(" ({})", r.reason) }
    );
    println!(
        "  amount:     {} (released {}, paid {}, subcontracted {})",
        r.amount, r.released, r.paid, r.subcontracted
    );
    for (i, m) in r.milestones.iter().enumerate() {
        let overdue = if c.overdue.contains(&(i as u16)) { ", OVERDUE" } else { "" };
        println!(
            "  milestone {i}: {} — {} — {} due {}: {}{overdue} (paid {})",
            m.title,
            m.deliverable,
            m.amount,
            civitas_client::did::datetime(m.due * 1000),
            m.status.name(),
            m.paid
        );
    }
}

fn print_entry(e: &FundEntry) {
    match e {
        FundEntry::Number { id } => println!("  {id}"),
        FundEntry::Appropriation(a) => {
            println!("  {} from {} at {}", a.amount, a.from, civitas_client::did::datetime(a.at * 1000))
        }
        FundEntry::Payment(p) => {
            let to = match &p.payee {
                Payee::Contractor { account } => format!("contractor {account}"),
                Payee::Subcontractor { subcontract, account } => format!("subcontract {subcontract} ({account})"),
                Payee::Payroll { payroll, workers, .. } => format!("payroll {payroll}: {workers} workers"),
            };
            println!(
                "  {} to {to}, milestone {}, at {}",
                p.amount,
                p.milestone,
                civitas_client::did::datetime(p.at * 1000)
            )
        }
        FundEntry::Wage(w) => println!(
            "  {} from payroll {} (project {}, employer {}) at {}",
            w.amount,
            w.payroll,
            w.project,
            w.employer,
            civitas_client::did::datetime(w.at * 1000)
        ),
    }
}

fn show_list(query: &QueryOpts, list: &FundList, from: u64, limit: u64, prove: bool) -> anyhow::Result<u8> {
    let client = Client::new(&query.node);
    if prove {
        print_json(&client.prove_fund_list(list, from, limit)?)?;
        return Ok(0);
    }
    let page = client.fund_list(list, from, limit)?.context("no such list")?;
    if query.json {
        print_json(&page)?;
    } else {
        println!("{} ({} in all, from {}):", page.list, page.total, page.from);
        page.entries.iter().for_each(print_entry);
        if let Some(next) = page.next {
            println!("  … more from --from {next}");
        }
    }
    Ok(0)
}

fn funds(i: FundInstruction) -> Instruction {
    Instruction::Funds(i)
}

pub(crate) fn run(cmd: FundsCommand) -> anyhow::Result<u8> {
    match cmd {
        FundsCommand::Open { opts, title, purpose, owner, supervisor, auditor, amount, by } => {
            submit(opts, funds(FundInstruction::OpenProject { title, purpose, owner, supervisor, auditor, amount, by }))
        }
        FundsCommand::Appropriate { opts, project, amount, by } => {
            submit(opts, funds(FundInstruction::Appropriate { project, amount, by }))
        }
        FundsCommand::Award { opts, project, contractor, title, milestones, by } => {
            let milestones = milestones.iter().map(|m| parse_milestone(m)).collect::<anyhow::Result<_>>()?;
            submit(opts, funds(FundInstruction::AwardContract { project, contractor, title, milestones, by }))
        }
        FundsCommand::Accept { opts, contract, by } => {
            submit(opts, funds(FundInstruction::AcceptContract { contract, by }))
        }
        FundsCommand::Subcontract { opts, contract, subcontractor, title, amount, by } => {
            submit(opts, funds(FundInstruction::Subcontract { contract, subcontractor, title, amount, by }))
        }
        FundsCommand::Report { opts, contract, milestone, report, by } => {
            submit(opts, funds(FundInstruction::ReportMilestone { contract, milestone, report, by }))
        }
        FundsCommand::Review { opts, contract, milestone, reject, by } => {
            let approve = reject.is_none();
            let reason = reject.unwrap_or_default();
            submit(opts, funds(FundInstruction::ReviewMilestone { contract, milestone, approve, reason, by }))
        }
        FundsCommand::Pay { opts, contract, milestone, subcontract, amount, by } => {
            submit(opts, funds(FundInstruction::PayShare { contract, milestone, subcontract, amount, by }))
        }
        FundsCommand::Payroll { opts, subcontract, milestone, lines, lines_file, by } => {
            let lines = payroll_lines(&lines, lines_file.as_ref())?;
            submit(opts, funds(FundInstruction::FilePayroll { subcontract, milestone, lines, by }))
        }
        FundsCommand::ApprovePayroll { opts, payroll, by } => {
            submit(opts, funds(FundInstruction::ApprovePayroll { payroll, by }))
        }
        FundsCommand::RejectPayroll { opts, payroll, reason, by } => {
            submit(opts, funds(FundInstruction::RejectPayroll { payroll, reason, by }))
        }
        FundsCommand::Terminate { opts, contract, reason, by } => {
            submit(opts, funds(FundInstruction::TerminateContract { contract, reason, by }))
        }
        FundsCommand::Project { id, query, prove } => {
            let client = Client::new(&query.node);
            if prove {
                print_json(&client.prove_fund_record(&format!("project/{id}"))?)?;
                return Ok(0);
            }
            let p = client.fund_project(id)?.with_context(|| format!("no project {id}"))?;
            if query.json {
                print_json(&p)?
            } else {
                print_project(&p)
            }
            Ok(0)
        }
        FundsCommand::Contract { id, query, prove } => {
            let client = Client::new(&query.node);
            if prove {
                print_json(&client.prove_fund_record(&format!("contract/{id}"))?)?;
                return Ok(0);
            }
            let c = client.fund_contract(id)?.with_context(|| format!("no contract {id}"))?;
            if query.json {
                print_json(&c)?
            } else {
                print_contract(&c)
            }
            Ok(0)
        }
        FundsCommand::ShowPayroll { id, query, prove } => {
            let client = Client::new(&query.node);
            if prove {
                print_json(&client.prove_fund_record(&format!("payroll/{id}"))?)?;
                return Ok(0);
            }
            let r = client.fund_payroll(id)?.with_context(|| format!("no payroll {id}"))?;
            if query.json {
                print_json(&r)?;
            } else {
                let r = r.payroll;
                println!(
                    "payroll {} of subcontract {} (contract {} milestone {}): {} in all, {}",
                    r.id,
                    r.subcontract,
                    r.contract,
                    r.milestone,
                    r.total,
                    r.status.name()
                );
                for l in &r.lines {
                    println!("  {} {}", l.worker, l.amount);
                }
            }
            Ok(0)
        }
        FundsCommand::List { list, query, from, limit, prove } => {
            let list = FundList::parse(&list).map_err(anyhow::Error::msg)?;
            show_list(&query, &list, from, limit, prove)
        }
        FundsCommand::Wages { worker, query, from, prove } => {
            show_list(&query, &FundList::Wages(worker), from, civitas_types::fund::LIST_PAGE_MAX, prove)
        }
        FundsCommand::Export { project, ocds: _, out, query } => {
            let client = Client::new(&query.node);
            let package = client.fund_ocds(project)?.with_context(|| format!("no project {project}"))?;
            let text = serde_json::to_string_pretty(&package)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?
                }
                None => println!("{text}"),
            }
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milestones_and_lines_parse() {
        let m = parse_milestone("Foundations:Slab poured:300000:2027-03-31").expect("parse");
        assert_eq!((m.amount, m.due), (300_000, 1_806_537_599));
        let m = parse_milestone("Roof:Roof on:5:2027-03-31T12:00:00Z").expect("parse");
        assert_eq!(m.due, 1_806_494_400);
        assert!(parse_milestone("Roof:5:2027-03-31").is_err());
        assert!(parse_milestone("Roof:x:five:2027-03-31").is_err());
        let did = "did:civitas:1111111111111111111111111111111111111111";
        assert_eq!(parse_line(&format!("{did}:250")).expect("line").amount, 250);
        assert_eq!(parse_line(&format!("{did}, 7")).expect("line").amount, 7);
        assert!(parse_line("nobody:1").is_err());
    }
}
