//! `civitas verify`: check a proof document offline against a genesis file.

use std::path::PathBuf;

use anyhow::Context;
use civitas_client::light::Fact;

use crate::common::print_json;

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

/// Exit code when a proof is refused; distinct from a failed run (1) and a failed transaction (3).
const EXIT_PROOF_REFUSED: u8 = 4;

/// Runs `civitas verify`; a refused proof exits [`EXIT_PROOF_REFUSED`], not as an error, so that
/// scripts can tell a bad proof from a bad invocation.
pub(crate) fn run(args: VerifyArgs) -> anyhow::Result<u8> {
    let genesis = civitas_node::Genesis::load(&args.genesis)?;
    let validators = genesis.validator_keys()?;
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let doc: civitas_client::wire::ProofJson =
        serde_json::from_str(&text).with_context(|| format!("{} is not a proof document", args.file.display()))?;
    match civitas_client::light::verify_proof(&doc, &genesis.chain_id, &validators) {
        Ok(p) => {
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
                            "DID {did} is at version {version}{}, with key #key-0 {} and {} more verification \
                             method(s)",
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
