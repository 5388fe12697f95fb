//! `civitas dev`'s demo data that genesis cannot hold (see [`civitas_node::demo`]): its
//! transactions, submitted in order through the running node, each waited for.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use civitas_node::{Node, TxStatus, demo};
use civitas_types::{Transaction, TxOutcome};

/// Longest the demo waits for one of its transactions.
const STEP_WAIT: Duration = Duration::from_secs(30);

/// Makes the demo devices, the demo school project, the demo rental (a listed flat and a
/// signed lease) and the demo data catalog (metro's dataset, granted to bus and used) on a newly
/// created dev chain in `data_dir`.
pub(crate) fn seed(node: &Node, data_dir: &Path) -> anyhow::Result<()> {
    run(node, demo::device_steps(node, data_dir)?)?;
    run(node, demo::fund_steps(node, data_dir)?)?;
    run(node, demo::rental_steps(node, data_dir)?)?;
    run(node, demo::catalog_steps(node, data_dir)?)
}

fn run(node: &Node, steps: Vec<demo::Step>) -> anyhow::Result<()> {
    for step in steps {
        let signer = &step.signer;
        let nonce = node.account_by_key(&signer.public_key())?.map_or(0, |a| a.nonce);
        let tx = Transaction {
            chain_id: node.status().chain_id.clone(),
            signer: signer.public_key(),
            nonce,
            valid_until_height: node.next_height() + 100,
            instructions: step.instructions,
        }
        .sign(signer);
        let hash =
            node.submit(vec![tx]).pop().context("one result per transaction")?.map_err(|e| anyhow::anyhow!("{e}"))?;
        let start = Instant::now();
        loop {
            match node.tx_status(&hash)? {
                TxStatus::Committed { receipt, .. } => match receipt.outcome {
                    TxOutcome::Success => break,
                    TxOutcome::Failed { code, message } => bail!("demo step `{}` failed: {code}: {message}", step.what),
                },
                TxStatus::Pending if start.elapsed() < STEP_WAIT => std::thread::sleep(Duration::from_millis(20)),
                other => bail!("demo step `{}` did not commit: {other:?}", step.what),
            }
        }
    }
    Ok(())
}
