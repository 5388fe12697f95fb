//! `civitas audit`: list the audit trail of official acts, or prove one of its entries.

use civitas_client::Client;
use civitas_types::Did;

use crate::common::{QueryOpts, print_json};

/// `civitas audit`: the audit trail of official acts.
#[derive(Debug, clap::Args)]
pub(crate) struct AuditArgs {
    /// Print a proof document (JSON) of entry N, for `civitas verify`.
    #[arg(long, value_name = "N")]
    prove: Option<u64>,
    /// Only this organization's acts.
    #[arg(long)]
    org: Option<Did>,
    /// First position.
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// How many (at most 1000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
    limit: u64,
    #[command(flatten)]
    opts: QueryOpts,
}

/// Runs `civitas audit`: one entry's proof document with `--prove`, otherwise a page of entries.
pub(crate) fn run(args: AuditArgs) -> anyhow::Result<u8> {
    if let Some(n) = args.prove {
        print_json(&Client::new(&args.opts.node).prove_audit_entry(n)?)?;
        return Ok(0);
    }
    let page = Client::new(&args.opts.node).audit(args.org.as_ref(), args.from, args.limit)?;
    if args.opts.json {
        print_json(&page)?;
    } else {
        println!("{} entries in all", page.total);
        for e in &page.entries {
            println!(
                "#{} height {} {} by {} for {} (tx {})",
                e.index, e.height, e.instruction, e.official, e.org, e.tx_hash
            );
        }
    }
    Ok(0)
}
