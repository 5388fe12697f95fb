//! `civitas invoice`: merchants, payments, invoices, claims, credit notes, the tax authority's
//! totals, and the UBL export.

use civitas_types::InvoiceInstruction;
use std::path::PathBuf;

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::invoice::{InvoiceJson, UblParties};
use civitas_types::codec::Decode;
use civitas_types::invoice::{LineItem, Payment};
use civitas_types::{Did, Hash, Instruction};

use crate::common::{QueryOpts, TxOpts, load_key, print_json, submit};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum InvoiceCommand {
    /// Register an organization as a merchant, as an official of a tax department.
    Merchant {
        #[command(flatten)]
        opts: TxOpts,
        /// The merchant (an organization's DID).
        #[arg(long)]
        merchant: Did,
        /// Its taxpayer id (uppercase letters and digits).
        #[arg(long)]
        taxpayer_id: String,
        /// Its street and number (on its invoices).
        #[arg(long)]
        street: String,
        /// Its city.
        #[arg(long)]
        city: String,
        /// Its postal code, if it has one.
        #[arg(long, default_value = "")]
        postal_code: String,
        /// Its country, ISO 3166-1 alpha-2 (`CN`).
        #[arg(long)]
        country: String,
        /// The tax department you act for.
        #[arg(long)]
        by: Did,
    },
    /// Record a payment, as an official of a payment provider.
    Pay {
        #[command(flatten)]
        opts: TxOpts,
        /// The payment provider you act for.
        #[arg(long)]
        by: Did,
        /// The payment's id (unique).
        #[arg(long)]
        id: String,
        /// The payee merchant.
        #[arg(long)]
        payee: Did,
        /// The amount in minor units (cents, fen).
        #[arg(long)]
        amount: u128,
        /// The currency (ISO 4217).
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// How it was paid.
        #[arg(long, default_value = "app")]
        channel: String,
        /// When it was paid, ms since the Unix epoch (default: now).
        #[arg(long)]
        paid_at_ms: Option<u64>,
        /// The payer's reference (a card or account number): only a salted hash of it goes on
        /// chain.
        #[arg(long)]
        payer: String,
        /// The salt (default: random, printed so the payer can prove the payment was theirs).
        #[arg(long)]
        salt: Option<String>,
    },
    /// Issue the invoice of a payment, as an official of its payee merchant.
    Issue {
        #[command(flatten)]
        opts: TxOpts,
        /// The merchant you act for.
        #[arg(long)]
        by: Did,
        /// The payment.
        #[arg(long)]
        payment: String,
        /// The buyer's name or title.
        #[arg(long, default_value = "Individual")]
        buyer_name: String,
        /// The buyer's taxpayer id, if it has one.
        #[arg(long, default_value = "")]
        buyer_taxpayer_id: String,
        /// The buyer's DID: only then can the buyer submit it for reimbursement.
        #[arg(long)]
        buyer: Option<Did>,
        /// A line, `DESCRIPTION:QUANTITY:UNIT_PRICE:TAX_RATE_BP` (repeat; price in minor
        /// units, rate in basis points: 900 = 9%). Net plus tax must be the payment's amount.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
    },
    /// Submit an invoice to an employer for reimbursement, as its buyer.
    Submit {
        #[command(flatten)]
        opts: TxOpts,
        /// The invoice's number.
        #[arg(long)]
        number: u64,
        /// The employer.
        #[arg(long)]
        employer: Did,
    },
    /// Reimburse an invoice submitted to your employer, as its official.
    Reimburse {
        #[command(flatten)]
        opts: TxOpts,
        /// The invoice's number.
        #[arg(long)]
        number: u64,
        /// The employer you act for.
        #[arg(long)]
        by: Did,
    },
    /// Reverse an unreimbursed invoice with a red-letter credit note, as an official of its
    /// seller.
    Reverse {
        #[command(flatten)]
        opts: TxOpts,
        /// The invoice's number.
        #[arg(long)]
        number: u64,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The seller you act for.
        #[arg(long)]
        by: Did,
    },
    /// One invoice (a signed read: the buyer, the seller's or employer's officials with --as,
    /// or the tax authority's).
    Show {
        /// Its number.
        number: u64,
        #[command(flatten)]
        read: ReadOpts,
        /// Print a proof document (JSON) instead, for `civitas verify`.
        #[arg(long)]
        prove: bool,
    },
    /// A page of invoices: a seller's, a buyer's, an employer's, or (tax authority) all.
    List {
        #[command(flatten)]
        read: ReadOpts,
        /// The seller's.
        #[arg(long, conflicts_with_all = ["buyer", "employer"])]
        seller: Option<Did>,
        /// The buyer's.
        #[arg(long, conflicts_with = "employer")]
        buyer: Option<Did>,
        /// Those submitted to the employer.
        #[arg(long)]
        employer: Option<Did>,
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Totals of issued, reversed and reimbursed invoices: the chain's, a merchant's, or a
    /// merchant's over days (UTC days since the Unix epoch).
    Totals {
        #[command(flatten)]
        read: ReadOpts,
        /// The merchant.
        #[arg(long)]
        merchant: Option<Did>,
        /// First day of a period (with --to-day).
        #[arg(long, requires = "to_day")]
        from_day: Option<u64>,
        /// Last day of a period.
        #[arg(long, requires = "from_day")]
        to_day: Option<u64>,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
    },
    /// A recorded payment (its provider's or payee's officials, or the tax authority).
    Payment {
        /// Its id.
        id: String,
        #[command(flatten)]
        read: ReadOpts,
    },
    /// Write an invoice as UBL 2.1 XML (EN 16931 core fields).
    Export {
        /// Its number.
        number: u64,
        #[command(flatten)]
        read: ReadOpts,
        /// UBL 2.1 (the one format there is).
        #[arg(long, required = true)]
        ubl: bool,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// How a signed read is made.
#[derive(Debug, clap::Args)]
pub(crate) struct ReadOpts {
    /// Your key file (reads are signed).
    #[arg(long)]
    key: PathBuf,
    /// The organization you act for (an official's reads).
    #[arg(long = "as")]
    as_org: Option<Did>,
    #[command(flatten)]
    query: QueryOpts,
}

/// Parses `DESCRIPTION:QUANTITY:UNIT_PRICE:TAX_RATE_BP` (the description may hold colons).
fn parse_item(s: &str) -> anyhow::Result<LineItem> {
    let mut parts = s.rsplitn(4, ':');
    let (Some(rate), Some(price), Some(quantity), Some(description)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        bail!("--item {s:?}: expected DESCRIPTION:QUANTITY:UNIT_PRICE:TAX_RATE_BP");
    };
    Ok(LineItem {
        description: description.to_owned(),
        quantity: quantity.parse().with_context(|| format!("--item {s:?}: quantity"))?,
        unit_price: price.parse().with_context(|| format!("--item {s:?}: unit price (minor units)"))?,
        tax_rate_bp: rate.parse().with_context(|| format!("--item {s:?}: tax rate (basis points)"))?,
    })
}

/// The payer commitment: SHA-256 over a domain tag, the payer's reference and the salt.
pub(crate) fn payer_commitment(payer: &str, salt: &str) -> Hash {
    Hash::digest_parts(&[b"civitas/payer/v1\0", payer.as_bytes(), b"\0", salt.as_bytes()])
}

fn print_invoice(i: &InvoiceJson) {
    let kind = match i.reverses {
        Some(n) => format!("credit note reversing {n}"),
        None => "invoice".to_owned(),
    };
    println!("{kind} {} ({}), payment {}", i.number, i.status, i.payment_id);
    println!("  seller {} ({}), buyer {}", i.seller, i.seller_taxpayer_id, i.buyer_name);
    for item in &i.items {
        println!("  {} x {} at {} ({} bp)", item.quantity, item.description, item.unit_price, item.tax_rate_bp);
    }
    println!("  net {} + tax {} = {} {}", i.net_total, i.tax_total, i.total, i.currency);
    println!("  hash {}", i.hash);
}

/// Runs `civitas invoice`: the reads exit 0, the changes exit as [`submit`] does.
pub(crate) fn run(cmd: InvoiceCommand) -> anyhow::Result<u8> {
    let (opts, instruction) = match cmd {
        InvoiceCommand::Merchant { opts, merchant, taxpayer_id, street, city, postal_code, country, by } => {
            let address = civitas_types::invoice::PostalAddress { street, city, postal_code, country };
            if let Some(problem) = address.problem() {
                bail!("bad {problem}");
            }
            (opts, Instruction::Invoices(InvoiceInstruction::RegisterMerchant { merchant, taxpayer_id, address, by }))
        }
        InvoiceCommand::Pay { opts, by, id, payee, amount, currency, channel, paid_at_ms, payer, salt } => {
            let salt = salt.unwrap_or_else(|| hex::encode(civitas_types::SecretKey::generate().seed()));
            let payment = Payment {
                id,
                payee,
                amount,
                currency,
                paid_at_ms: paid_at_ms.unwrap_or_else(civitas_node::consensus::now_ms),
                channel,
                payer_commitment: payer_commitment(&payer, &salt),
            };
            eprintln!("payer commitment {} (salt {salt}: the payer keeps it)", payment.payer_commitment);
            (opts, Instruction::Invoices(InvoiceInstruction::RecordPayment { payment, by }))
        }
        InvoiceCommand::Issue { opts, by, payment, buyer_name, buyer_taxpayer_id, buyer, items } => {
            let items = items.iter().map(|i| parse_item(i)).collect::<anyhow::Result<Vec<_>>>()?;
            (
                opts,
                Instruction::Invoices(InvoiceInstruction::IssueInvoice {
                    payment_id: payment,
                    buyer_name,
                    buyer_taxpayer_id,
                    buyer,
                    items,
                    by,
                }),
            )
        }
        InvoiceCommand::Submit { opts, number, employer } => {
            (opts, Instruction::Invoices(InvoiceInstruction::SubmitInvoice { number, employer }))
        }
        InvoiceCommand::Reimburse { opts, number, by } => {
            (opts, Instruction::Invoices(InvoiceInstruction::ReimburseInvoice { number, by }))
        }
        InvoiceCommand::Reverse { opts, number, reason, by } => {
            (opts, Instruction::Invoices(InvoiceInstruction::ReverseInvoice { number, reason, by }))
        }
        InvoiceCommand::Show { number, read, prove } => {
            let (client, key) = (Client::new(&read.query.node), load_key(&read.key)?);
            if prove {
                let doc = client.prove_invoice(&key, number, read.as_org.as_ref())?;
                print_json(&doc.with_context(|| format!("no invoice {number}"))?)?;
                return Ok(0);
            }
            let i =
                client.invoice(&key, number, read.as_org.as_ref())?.with_context(|| format!("no invoice {number}"))?;
            if read.query.json {
                print_json(&i)?;
            } else {
                print_invoice(&i);
            }
            return Ok(0);
        }
        InvoiceCommand::List { read, seller, buyer, employer, from, limit } => {
            let (client, key) = (Client::new(&read.query.node), load_key(&read.key)?);
            let filter = match (seller, buyer, employer) {
                (Some(d), _, _) => format!("seller={d}"),
                (_, Some(d), _) => format!("buyer={d}"),
                (_, _, Some(d)) => format!("employer={d}"),
                _ => String::new(),
            };
            let page = client.invoices(&key, &filter, read.as_org.as_ref(), from, limit)?;
            if read.query.json {
                print_json(&page)?;
            } else {
                for i in &page.invoices {
                    println!("{:>8} {:<12} {:>12} {} {}", i.number, i.status, i.total, i.currency, i.payment_id);
                }
                if let Some(next) = page.next {
                    println!("more: --from {next}");
                }
            }
            return Ok(0);
        }
        InvoiceCommand::Totals { read, merchant, from_day, to_day, prove } => {
            let (client, key) = (Client::new(&read.query.node), load_key(&read.key)?);
            let period = from_day.zip(to_day);
            let value = client.invoice_totals(&key, merchant.as_ref(), period, read.as_org.as_ref(), prove)?;
            if read.query.json || prove {
                print_json(&value)?;
            } else {
                let field = |name: &str| value[name].to_string().trim_matches('"').to_owned();
                println!(
                    "issued {} ({}), reversed {} ({}), reimbursed {} ({})",
                    field("issued_count"),
                    field("issued_amount"),
                    field("reversed_count"),
                    field("reversed_amount"),
                    field("reimbursed_count"),
                    field("reimbursed_amount")
                );
            }
            return Ok(0);
        }
        InvoiceCommand::Payment { id, read } => {
            let (client, key) = (Client::new(&read.query.node), load_key(&read.key)?);
            let p = client.payment(&key, &id, read.as_org.as_ref())?.with_context(|| format!("no payment {id}"))?;
            print_json(&p)?;
            return Ok(0);
        }
        InvoiceCommand::Export { number, read, ubl: _, out } => {
            let (client, key) = (Client::new(&read.query.node), load_key(&read.key)?);
            // The export is built from the proven record, so it carries what the chain holds.
            let doc = client
                .prove_invoice(&key, number, read.as_org.as_ref())?
                .with_context(|| format!("no invoice {number}"))?;
            let civitas_client::wire::ClaimJson::Invoice(civitas_client::claims::invoice::InvoiceClaim {
                value, ..
            }) = &doc.claim
            else {
                bail!("the node answered with another kind of proof");
            };
            let invoice = civitas_types::invoice::Invoice::decode(&hex::decode(value)?)
                .map_err(|e| anyhow::anyhow!("the invoice record does not decode: {e}"))?;
            let seller = client
                .merchant(&invoice.content.seller)?
                .with_context(|| format!("the seller {} is not a registered merchant", invoice.content.seller))?;
            let parties = UblParties { seller_name: seller.name, seller_address: seller.address };
            let xml = civitas_client::invoice::ubl_xml(&invoice, &parties);
            match out {
                Some(path) => {
                    std::fs::write(&path, xml).with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{xml}"),
            }
            return Ok(0);
        }
    };
    submit(opts, instruction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_parse_from_the_right_so_descriptions_may_hold_colons() {
        let item = parse_item("Line 2: Airport:1:550:900").expect("parses");
        assert_eq!(
            (item.description.as_str(), item.quantity, item.unit_price, item.tax_rate_bp),
            ("Line 2: Airport", 1, 550, 900)
        );
        assert!(parse_item("fare:1:550").is_err());
        assert!(parse_item("fare:one:550:900").is_err());
        assert!(parse_item("fare:1:-5:900").is_err());
    }
}
