//! `civitas bench invoice`: payment + invoice pairs on a local testnet. Officials of the demo
//! payment provider record payments; as soon as a payment is seen committed, an official of
//! the metro operator (the payee merchant) issues its invoice. A pair's latency runs from the
//! payment's submission to its invoice's block being visible.

use civitas_types::{InvoiceInstruction, OrgInstruction};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::wire::{self, TxState};
use civitas_node::dev;
use civitas_types::codec::Encode;
use civitas_types::invoice::{LineItem, Payment};
use civitas_types::org::OrgRole;
use civitas_types::{Did, Hash, Instruction, SecretKey, SignedTransaction, Transaction};

use crate::bench::{Target, start_chain, verify_limit};

#[derive(Debug, clap::Args)]
pub(crate) struct InvoiceArgs {
    /// How long to offer load, in seconds (at most 600).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    duration: u64,
    /// Validators the bench starts as processes on this machine (1: a dev node).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    validators: u16,
    /// Offered load in payment + invoice pairs per second.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    rate: u64,
    /// Officials of the provider, and of the merchant, signing in parallel (each signs its own
    /// nonce sequence).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=2_000))]
    officials: u64,
}

fn official_key(role: &str, i: u64) -> SecretKey {
    SecretKey::from_seed(Hash::digest_parts(&[b"civitas bench official", role.as_bytes(), &i.to_be_bytes()]).0)
}

fn did(k: &SecretKey) -> Did {
    Did::from_initial_key(&k.public_key())
}

fn sign(
    chain_id: &str,
    key: &SecretKey,
    nonce: u64,
    valid_until_height: u64,
    instructions: Vec<Instruction>,
) -> SignedTransaction {
    Transaction { chain_id: chain_id.to_owned(), signer: key.public_key(), nonce, valid_until_height, instructions }
        .sign(key)
}

/// Submits `txs` and waits until each is committed successfully.
fn setup(client: &Client, txs: &[SignedTransaction]) -> anyhow::Result<()> {
    let mut hashes = Vec::new();
    for chunk in txs.chunks(wire::BATCH_TXS_MAX) {
        for item in client.submit_batch(chunk)? {
            hashes.push(item.hash.with_context(|| format!("setup transaction refused: {:?}", item.detail))?);
        }
    }
    for h in hashes {
        let hash = Hash::from_hex(&h).map_err(|e| anyhow::anyhow!("{e}"))?;
        let s = client.wait_for(&hash, Duration::from_secs(120))?;
        if s.status == TxState::Failed {
            bail!("setup transaction {h} failed: {:?}", s.error_message);
        }
    }
    Ok(())
}

/// One pair's progress.
struct Pair {
    payment_id: String,
    payment_submitted: Instant,
}

pub(crate) fn run(args: InvoiceArgs) -> anyhow::Result<u8> {
    eprintln!("measuring Ed25519 batch verification on all cores...");
    let machine = verify_limit();
    let limit = machine / u64::from(args.validators);
    eprintln!("verify_limit = {machine} signatures/s on this machine / {} validator(s) = {limit}", args.validators);
    let providers: Vec<SecretKey> = (0..args.officials).map(|i| official_key("provider", i)).collect();
    let merchants: Vec<SecretKey> = (0..args.officials).map(|i| official_key("merchant", i)).collect();
    let funded: Vec<SecretKey> = providers.iter().chain(&merchants).cloned().collect();
    let tmp = tempfile::tempdir().context("creating a temp dir for the bench chain")?;
    let (urls, target) = start_chain(tmp.path(), args.validators, &funded)?;
    let clients: Vec<Client> = urls.iter().map(|u| Client::new(u)).collect();
    let client = &clients[0];
    let status = client.status()?;
    let chain = status.chain_id.clone();
    let valid_until = status.height + 1_000_000;
    let demo = |name: &str| dev::read_key(&tmp.path().join(format!("keys/{name}.key")));
    let (tax, fares, metro) = (demo("tax")?, demo("metro-fares")?, demo("metro")?);

    eprintln!("registering the merchant and {} officials on each side...", args.officials);
    let register = Instruction::Invoices(InvoiceInstruction::RegisterMerchant {
        merchant: did(&metro),
        taxpayer_id: "91310000METRO01".into(),
        address: civitas_types::invoice::PostalAddress::demo(),
        by: did(&tax),
    });
    let mut txs = vec![sign(&chain, &tax, 0, valid_until, vec![register])];
    for (org, officials) in [(&fares, &providers), (&metro, &merchants)] {
        for (nonce, chunk) in (0..).zip(officials.chunks(civitas_types::limits::TX_INSTRUCTIONS_MAX)) {
            let instructions = chunk
                .iter()
                .map(|k| {
                    Instruction::Orgs(OrgInstruction::SetMember {
                        org: did(org),
                        member: did(k),
                        role: Some(OrgRole::Officer),
                    })
                })
                .collect();
            txs.push(sign(&chain, org, nonce, valid_until, instructions));
        }
    }
    setup(client, &txs)?;

    // Each official's next nonce (all start at 0: funded at genesis, never used).
    let mut provider_nonce = vec![0u64; providers.len()];
    let mut merchant_nonce = vec![0u64; merchants.len()];
    let start_height = client.status()?.height;
    let window = Duration::from_secs(args.duration);
    let per_tick = Duration::from_millis(10);
    let pairs_per_tick = (args.rate as f64 * per_tick.as_secs_f64()).max(1.0);
    let (fares_did, metro_did) = (did(&fares), did(&metro));
    let item = LineItem { description: "Metro fare".into(), quantity: 1, unit_price: 550, tax_rate_bp: 900 };

    let mut pairs: Vec<Pair> = Vec::new();
    let mut payments: HashMap<Hash, usize> = HashMap::new();
    let mut invoices: HashMap<Hash, usize> = HashMap::new();
    let mut latencies = Vec::new();
    let (mut in_window, mut failed, mut refused) = (0u64, 0u64, 0u64);
    let mut seen = start_height;
    let before = crate::bench::scrape(&clients);
    let start = Instant::now();
    let mut offered = 0f64;
    let drain_deadline = window + Duration::from_secs(30);
    loop {
        let elapsed = start.elapsed();
        // Offer payments at the rate while the window is open.
        let mut batch = Vec::new();
        if elapsed < window {
            let due = (elapsed.as_secs_f64() / per_tick.as_secs_f64() + 1.0) * pairs_per_tick;
            while offered < due && batch.len() < wire::BATCH_TXS_MAX {
                let j = pairs.len();
                let official = j % providers.len();
                let payment_id = format!("bench-{j}");
                let payment = Payment {
                    id: payment_id.clone(),
                    payee: metro_did,
                    amount: 600,
                    currency: "CNY".into(),
                    paid_at_ms: status.timestamp_ms,
                    channel: "fare-gate".into(),
                    payer_commitment: Hash::digest(&(j as u64).to_be_bytes()),
                };
                let nonce = provider_nonce[official];
                provider_nonce[official] += 1;
                let tx = sign(
                    &chain,
                    &providers[official],
                    nonce,
                    valid_until,
                    vec![Instruction::Invoices(InvoiceInstruction::RecordPayment { payment, by: fares_did })],
                );
                payments.insert(Hash::digest(&tx.encode()), j);
                pairs.push(Pair { payment_id, payment_submitted: Instant::now() });
                batch.push(tx);
                offered += 1.0;
            }
        }
        if !batch.is_empty() {
            let node = &clients[(pairs.len() / wire::BATCH_TXS_MAX) % clients.len()];
            for item in node.submit_batch(&batch)? {
                if item.code.is_some() {
                    refused += 1;
                }
            }
        }
        // Follow committed blocks: committed payments get their invoices; committed invoices
        // complete pairs.
        let height = client.status()?.height;
        let mut invoice_batch = Vec::new();
        while seen < height {
            seen += 1;
            let now = Instant::now();
            let mut offset = 0u32;
            loop {
                let b = client.block(seen, offset, wire::BLOCK_PAGE_MAX)?.context("block vanished")?;
                for t in &b.transactions {
                    let hash = Hash::from_hex(&t.hash).map_err(|e| anyhow::anyhow!("{e}"))?;
                    if t.status == TxState::Failed && (payments.contains_key(&hash) || invoices.contains_key(&hash)) {
                        failed += 1;
                        payments.remove(&hash);
                        invoices.remove(&hash);
                        continue;
                    }
                    if let Some(j) = payments.remove(&hash) {
                        let official = j % merchants.len();
                        let nonce = merchant_nonce[official];
                        merchant_nonce[official] += 1;
                        let issue = Instruction::Invoices(InvoiceInstruction::IssueInvoice {
                            payment_id: pairs[j].payment_id.clone(),
                            buyer_name: "Individual".into(),
                            buyer_taxpayer_id: String::new(),
                            buyer: None,
                            items: vec![item.clone()],
                            by: metro_did,
                        });
                        let tx = sign(&chain, &merchants[official], nonce, valid_until, vec![issue]);
                        invoices.insert(Hash::digest(&tx.encode()), j);
                        invoice_batch.push(tx);
                    } else if let Some(j) = invoices.remove(&hash) {
                        latencies.push(now.duration_since(pairs[j].payment_submitted).as_millis() as u64);
                        if now.duration_since(start) <= window {
                            in_window += 1;
                        }
                    }
                }
                offset += b.transactions.len() as u32;
                if b.transactions.is_empty() || offset >= b.tx_count {
                    break;
                }
            }
        }
        for (k, chunk) in invoice_batch.chunks(wire::BATCH_TXS_MAX).enumerate() {
            for item in clients[k % clients.len()].submit_batch(chunk)? {
                if item.code.is_some() {
                    refused += 1;
                }
            }
        }
        if start.elapsed() >= window
            && ((payments.is_empty() && invoices.is_empty()) || start.elapsed() >= drain_deadline)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let unfinished = payments.len() + invoices.len();
    let after = crate::bench::scrape(&clients);
    match target {
        Target::Dev(running) => running.stop()?,
        Target::Testnet(nodes) => drop(nodes),
        Target::Remote => {}
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let pairs_per_s = in_window as f64 / args.duration as f64;
    eprintln!(
        "offered {} pairs, completed {} ({} in the window), {} failed, {} refused, {} unfinished",
        pairs.len(),
        latencies.len(),
        in_window,
        failed,
        refused,
        unfinished
    );
    crate::bench::report_node_time(&before, &after);
    // A pair is two transactions, two signatures: the ratio is against transactions per second.
    println!(
        "tps={:.0} p50_ms={} p99_ms={} verify_limit={} ratio={:.3}",
        pairs_per_s,
        pct(0.50),
        pct(0.99),
        limit,
        2.0 * pairs_per_s / limit.max(1) as f64
    );
    Ok(0)
}
