//! `civitas migrate`: upgrades a stopped node's chain store in place to this build's format
//! (ARCHITECTURE.md, "Store format").

use std::path::PathBuf;

use anyhow::Context as _;

/// Options of `civitas migrate`.
#[derive(Debug, clap::Args)]
pub(crate) struct MigrateArgs {
    /// The node's data directory (the one in its configuration, holding `chain`); stop the
    /// node first.
    #[arg(long)]
    data_dir: PathBuf,
}

pub(crate) fn run(args: MigrateArgs) -> anyhow::Result<u8> {
    let chain = args.data_dir.join("chain");
    if !chain.is_dir() {
        anyhow::bail!(
            "{} holds no chain store (no `chain` folder): is it a node's data directory?",
            args.data_dir.display()
        );
    }
    let found =
        civitas_node::chain::migrate(&args.data_dir).with_context(|| format!("migrating {}", chain.display()))?;
    if found == civitas_node::STORE_FORMAT {
        println!("{}: already in format {found}", chain.display());
    } else {
        println!("{}: migrated from format {found} to {}", chain.display(), civitas_node::STORE_FORMAT);
    }
    Ok(0)
}
