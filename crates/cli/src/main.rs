//! `civitas`: run a dev chain, manage keys, send transactions, query, benchmark.

mod aggregator;
mod audit;
mod bench;
mod bench_device;
mod bench_explorer;
mod bench_funds;
mod bench_invoice;
mod bench_lock;
mod bench_rental;
mod bench_stats;
mod chaos;
mod chaos_escrow;
mod chaos_net;
mod common;
mod council;
mod credential;
mod data;
mod demo;
mod device;
mod did;
mod follow;
mod fund;
mod gateway;
mod invoice;
mod keys;
mod lock;
mod migrate;
mod org;
mod query;
mod rental;
mod serve;
mod stats;
mod testnet;
mod tx;
mod verify;
mod wallet;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Every process this binary starts (a validator, a full node, the bench) allocates through
/// jemalloc; see the dependency's note in `Cargo.toml`.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Civitas: the consortium ledger for city services.
#[derive(Debug, Parser)]
#[command(name = "civitas", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands: one per domain file, each run by that file's `run`.
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
    Keys(keys::KeysCommand),
    /// Sign and submit a transaction, then wait for its outcome.
    #[command(subcommand)]
    Tx(tx::TxCommand),
    /// Read from a node.
    #[command(subcommand)]
    Query(query::QueryCommand),
    /// Resolve, update, deactivate and recover DIDs.
    #[command(subcommand)]
    Did(did::DidCommand),
    /// Register organizations and manage their officials.
    #[command(subcommand)]
    Org(org::OrgCommand),
    /// The council: proposals and approvals.
    #[command(subcommand)]
    Council(council::CouncilCommand),
    /// List the audit trail of official acts.
    Audit(audit::AuditArgs),
    /// Credentials: types, issuance, presentation, verification, status, consent, access log.
    #[command(subcommand)]
    Credential(credential::CredentialCommand),
    /// E-invoices: merchants, payments, invoices, claims, credit notes, totals, UBL export.
    #[command(subcommand)]
    Invoice(invoice::InvoiceCommand),
    /// Device passports: vendors, attestation certificates, models, versions, certification,
    /// registration, owners, transfers, grants; a demo PKI to try them with.
    #[command(subcommand)]
    Device(device::DeviceCommand),
    /// Run a device event log gateway: devices post signed events to it, it stores them,
    /// anchors their batches on chain and serves their receipts and sealed payloads.
    Gateway(gateway::GatewayArgs),
    /// Door-lock event logs: name a device's gateway, act as the lock, fetch receipts, read and
    /// erase the sealed payloads, audit a range of events.
    #[command(subcommand)]
    Lock(lock::LockCommand),
    /// Public project funds: appropriations, contracts, milestones, payrolls paid straight to
    /// workers, proofs, and the OCDS 1.1 export.
    #[command(subcommand)]
    Funds(fund::FundsCommand),
    /// Rentals: listings on the housing department's property certificate, leases signed by
    /// both parties and filed, deposits and rent ahead in escrow, disputes, proofs.
    #[command(subcommand)]
    Rental(rental::RentalCommand),
    /// The data catalog: datasets (schema, content hash, licence, endpoint), requests to use
    /// them, grants, refusals, revocations, logged uses, proofs.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Statistics rounds by secure aggregation: define a round, report to it (split and sealed
    /// here), read it, its published total and a proof of it.
    #[command(subcommand)]
    Stats(stats::StatsCommand),
    /// Run one aggregator department's part of a statistics round until it is published (exit
    /// 0), fails (3) or the timeout passes (1).
    Aggregator(aggregator::AggregatorArgs),
    /// Check a proof document offline against a genesis file; exits 4 if it is refused.
    Verify(verify::VerifyArgs),
    /// Your citizen portal, on a loopback port: your DID, credentials (present them), consents
    /// (grant, withdraw) and who verified your data; your key stays in this process.
    Wallet(wallet::WalletArgs),
    /// Measure throughput and latency.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Upgrade a stopped node's chain store to this build's format, in place.
    Migrate(migrate::MigrateArgs),
    /// Check the ledger's guarantees under faults: workloads on a local testnet while a nemesis
    /// kills and pauses validators.
    #[command(subcommand)]
    Chaos(chaos::ChaosCommand),
}

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
        Command::Keys(c) => keys::run(c),
        Command::Tx(c) => tx::run(c),
        Command::Query(c) => query::run(c),
        Command::Did(c) => did::run(c),
        Command::Org(c) => org::run(c),
        Command::Audit(args) => audit::run(args),
        Command::Council(c) => council::run(c),
        Command::Invoice(c) => invoice::run(c),
        Command::Credential(c) => credential::run(c),
        Command::Device(c) => device::run(c),
        Command::Gateway(args) => gateway::run(args),
        Command::Lock(c) => lock::run(c),
        Command::Funds(c) => fund::run(c),
        Command::Rental(c) => rental::run(c),
        Command::Data(c) => data::run(c),
        Command::Stats(c) => stats::run(c),
        Command::Aggregator(args) => aggregator::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Wallet(args) => wallet::run(args),
        Command::Bench(c) => bench::run(c),
        Command::Migrate(args) => migrate::run(args),
        Command::Chaos(c) => chaos::run(c),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
