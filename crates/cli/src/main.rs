//! `civitas`: run a dev chain, manage keys, send transactions, query, benchmark.

mod bench;
mod bench_invoice;
mod commands;
mod credential;
mod follow;
mod invoice;
mod serve;
mod testnet;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Civitas: the consortium ledger for city services.
#[derive(Debug, Parser)]
#[command(name = "civitas", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a single-validator dev chain with demo departments and residents, and its HTTP API.
    Dev(serve::DevArgs),
    /// Run one department's validator from its configuration file.
    Node(testnet::NodeArgs),
    /// Create and run a local testnet of several validators.
    #[command(subcommand)]
    Testnet(testnet::TestnetCommand),
    /// Manage key files.
    #[command(subcommand)]
    Keys(commands::KeysCommand),
    /// Sign and submit a transaction, then wait for its outcome.
    #[command(subcommand)]
    Tx(commands::TxCommand),
    /// Read from a node.
    #[command(subcommand)]
    Query(commands::QueryCommand),
    /// Resolve, update, deactivate and recover DIDs.
    #[command(subcommand)]
    Did(commands::DidCommand),
    /// Register organizations and manage their officials.
    #[command(subcommand)]
    Org(commands::OrgCommand),
    /// The council: proposals and approvals.
    #[command(subcommand)]
    Council(commands::CouncilCommand),
    /// List the audit trail of official acts.
    Audit(commands::AuditArgs),
    /// Credentials: types, issuance, presentation, verification, status, consent, access log.
    #[command(subcommand)]
    Credential(credential::CredentialCommand),
    /// E-invoices: merchants, payments, invoices, claims, credit notes, totals, UBL export.
    #[command(subcommand)]
    Invoice(invoice::InvoiceCommand),
    /// Check a proof document offline against a genesis file; exits 4 if it is refused.
    Verify(commands::VerifyArgs),
    /// Measure throughput and latency.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// Exit code when a transaction was committed but failed.
pub(crate) const EXIT_TX_FAILED: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,fjall=warn,lsm_tree=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Dev(args) => serve::dev(args),
        Command::Node(args) => testnet::node(args),
        Command::Testnet(c) => testnet::testnet(c),
        Command::Keys(c) => commands::keys(c),
        Command::Tx(c) => commands::tx(c),
        Command::Query(c) => commands::query(c),
        Command::Did(c) => commands::did(c),
        Command::Org(c) => commands::org(c),
        Command::Audit(args) => commands::audit(args),
        Command::Council(c) => commands::council(c),
        Command::Invoice(c) => invoice::invoice(c),
        Command::Credential(c) => credential::credential(c),
        Command::Verify(args) => commands::verify(args),
        Command::Bench(c) => bench::run(c),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The default node URL.
pub(crate) const DEFAULT_NODE: &str = "http://127.0.0.1:8080";
