//! `civitas verify`: check a proof document offline against a genesis file.

use std::path::PathBuf;

use anyhow::Context;

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
            let (fact_json, fact_text) = p.fact.describe(p.height);
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
