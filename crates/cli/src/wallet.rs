//! `civitas wallet`: the citizen portal, served on a loopback port on the resident's own
//! machine with their key (which never leaves this process): their DID, credentials, consents
//! and the access log, through a node's API. It refuses any address that is not loopback.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::common::{DEFAULT_NODE, load_key};

/// The options of `civitas wallet`.
#[derive(Debug, clap::Args)]
pub(crate) struct WalletArgs {
    /// Your account key file.
    #[arg(long)]
    key: PathBuf,
    /// Your wallet folder (credentials as `<name>.sdjwt`).
    #[arg(long)]
    wallet: PathBuf,
    /// The node's API.
    #[arg(long, default_value = DEFAULT_NODE)]
    node: String,
    /// Where to serve the portal: a loopback address and port.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
}

/// Runs the portal until Ctrl-C or SIGTERM.
pub(crate) fn run(args: WalletArgs) -> anyhow::Result<u8> {
    if !args.listen.ip().is_loopback() {
        bail!("the portal serves your key's actions: it listens on a loopback address only, not {}", args.listen);
    }
    let key = load_key(&args.key)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding the portal to {}", args.listen))?;
        let addr = listener.local_addr().context("the portal's address")?;
        let authority = addr.to_string();
        let router = civitas_web::portal(civitas_web::PortalConfig {
            key,
            wallet: args.wallet.clone(),
            node: args.node.clone(),
            authority: authority.clone(),
        });
        println!("Your portal: http://{authority}/  (wallet {}, node {})", args.wallet.display(), args.node);
        civitas_api::serve(listener, router, crate::serve::shutdown_signal()).await.context("the portal failed")
    })?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_refuses_an_address_that_is_not_loopback() {
        let args = WalletArgs {
            key: PathBuf::from("no-such.key"),
            wallet: PathBuf::from("wallet"),
            node: DEFAULT_NODE.into(),
            listen: "0.0.0.0:8081".parse().expect("an address"),
        };
        let e = run(args).expect_err("refused");
        assert!(e.to_string().contains("loopback address only, not 0.0.0.0:8081"), "{e}");
    }
}
