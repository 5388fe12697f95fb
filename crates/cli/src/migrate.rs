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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_without_a_chain_store_is_refused_and_a_current_store_is_left_as_it_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = run(MigrateArgs { data_dir: dir.path().to_path_buf() }).expect_err("refused").to_string();
        assert!(e.contains("holds no chain store"), "{e}");
        let dev = civitas_node::dev::prepare(dir.path(), false, &[]).expect("a dev chain");
        drop(
            civitas_node::Node::open(dir.path(), dev.genesis, dev.validator, civitas_node::NodeConfig::default())
                .expect("the chain store"),
        );
        assert_eq!(run(MigrateArgs { data_dir: dir.path().to_path_buf() }).expect("nothing to do"), 0);
        assert_eq!(civitas_node::chain::migrate(dir.path()).expect("read"), civitas_node::STORE_FORMAT);
    }
}
