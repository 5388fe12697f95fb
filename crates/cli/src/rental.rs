//! `civitas rental`: rentals. A landlord lists a property by presenting the housing department's
//! property certificate (from a wallet folder, with a key binding for the chain's listing
//! nonce), offers leases, amends them; the tenant signs and pays rent; either party asks to
//! terminate or takes a dispute to the housing department, which decides it; after the end the
//! landlord claims from the deposit and the tenant accepts. Anyone reads listings, properties
//! and their history (with proofs for `civitas verify`); a lease and the lists of leases are
//! signed reads for its parties and its housing department.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use civitas_client::Client;
use civitas_client::rental::{LeaseJson, RentalListJson};
use civitas_client::sdjwt::{self, SigningKey};
use civitas_node::demo::{LISTING_PURPOSE, listing_nonce};
use civitas_types::rental::{
    Furnished, Included, LIST_PAGE_MAX, LeaseTerms, ListingTerms, RentPeriod, RentalEntry, RentalList,
};
use civitas_types::{Amount, CredentialInstruction, Did, Hash, Instruction, RentalInstruction};

use crate::common::{QueryOpts, TxOpts, load_key, print_json, submit};

/// The claims a listing discloses unless told otherwise.
const DEFAULT_CLAIMS: [&str; 3] = ["property_id", "address", "floor_area"];

#[derive(Debug, clap::Subcommand)]
pub(crate) enum RentalCommand {
    /// List a property: present your property certificate (the housing department's SD-JWT VC)
    /// with a key binding for the lister (you, or `--agent`) and the chain's listing nonce
    /// (`<chain id>/rental-listing`). An agent's official lists with `--presentation`, a
    /// presentation the owner made for the agent (`civitas credential present --aud AGENT`).
    List {
        #[command(flatten)]
        opts: TxOpts,
        /// The wallet folder holding the certificate (with `--name`).
        #[arg(long, requires = "name", conflicts_with_all = ["credential", "presentation"])]
        wallet: Option<PathBuf>,
        /// The certificate's name in the wallet.
        #[arg(long, requires = "wallet")]
        name: Option<String>,
        /// A file holding the certificate's issuance (`<jwt>~<disclosure>~…~`).
        #[arg(long, conflicts_with = "presentation")]
        credential: Option<PathBuf>,
        /// A file holding a finished presentation (with its key binding), made by the owner.
        #[arg(long, conflicts_with = "grant_consent")]
        presentation: Option<PathBuf>,
        /// The key the certificate binds, for the key binding (default: `--key`): an account
        /// key, or a P-256 key from `civitas keys new --p256`.
        #[arg(long)]
        holder_key: Option<PathBuf>,
        /// A claim to disclose (repeat; default: property_id, address, floor_area).
        #[arg(long = "claim")]
        claims: Vec<String>,
        /// Your consent that the housing department see the claims for `rental listing`, where
        /// the certificate's type requires one.
        #[arg(long, conflicts_with = "grant_consent")]
        consent: Option<u64>,
        /// Grant that consent first (a transaction of its own), then list under it.
        #[arg(long, conflicts_with = "agent")]
        grant_consent: bool,
        /// A title for people.
        #[arg(long)]
        title: String,
        /// The rent asked each period, in minor units.
        #[arg(long)]
        rent: Amount,
        /// How often rent falls due: weekly, monthly, quarterly, yearly.
        #[arg(long, default_value = "monthly", value_parser = parse_period)]
        period: RentPeriod,
        /// The deposit asked, in minor units.
        #[arg(long, default_value_t = 0)]
        deposit: Amount,
        /// The shortest term, in months (1 to 120).
        #[arg(long)]
        min_term_months: u16,
        /// When it is available: unix seconds, a date (`2027-03-01`, its start in UTC) or an
        /// RFC 3339 time.
        #[arg(long, value_parser = parse_time)]
        available_from: u64,
        /// unfurnished, partially, furnished.
        #[arg(long, default_value = "unfurnished", value_parser = parse_furnished)]
        furnished: Furnished,
        /// What the rent includes (repeat): water, electricity, gas, heating, internet,
        /// management, parking, cleaning.
        #[arg(long = "include", value_parser = parse_included)]
        includes: Vec<Included>,
        /// The agent listing on the owner's authorization (you sign as its official).
        #[arg(long)]
        agent: Option<Did>,
    },
    /// Withdraw an active listing: as its landlord, or an official of its agent.
    Withdraw {
        #[command(flatten)]
        opts: TxOpts,
        /// The listing.
        #[arg(long)]
        listing: u64,
        /// The agent you act for.
        #[arg(long)]
        agent: Option<Did>,
    },
    /// Offer a lease on your active listing (version 1, signed by you).
    Offer {
        #[command(flatten)]
        opts: TxOpts,
        /// The listing.
        #[arg(long)]
        listing: u64,
        /// The tenant's DID.
        #[arg(long)]
        tenant: Did,
        #[command(flatten)]
        terms: TermsArgs,
    },
    /// Propose new terms for an active lease (the next version; the other party signs it).
    Amend {
        #[command(flatten)]
        opts: TxOpts,
        /// The lease.
        #[arg(long)]
        lease: u64,
        #[command(flatten)]
        terms: TermsArgs,
    },
    /// Sign a version the other party proposed (the offer: the deposit goes into escrow and the
    /// lease is filed with the housing department).
    Sign {
        #[command(flatten)]
        opts: TxOpts,
        /// The lease.
        #[arg(long)]
        lease: u64,
        /// The version.
        #[arg(long)]
        version: u32,
    },
    /// Pay rent, as the tenant (beyond three months ahead it waits in escrow).
    Pay {
        #[command(flatten)]
        opts: TxOpts,
        /// The lease.
        #[arg(long)]
        lease: u64,
        /// How much, in minor units.
        #[arg(long)]
        amount: Amount,
    },
    /// Collect the escrowed rent now due within three months, as the landlord.
    Collect {
        #[command(flatten)]
        opts: TxOpts,
        /// The lease.
        #[arg(long)]
        lease: u64,
    },
    /// Ask to terminate a lease (it ends when the other party asks too); withdraw or decline an
    /// unsigned offer.
    Terminate {
        #[command(flatten)]
        opts: TxOpts,
        /// The lease.
        #[arg(long)]
        lease: u64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Take a lease, or its deposit, to the housing department.
    Dispute {
        #[command(flatten)]
        opts: TxOpts,
        /// The lease.
        #[arg(long)]
        lease: u64,
        /// What it is about.
        #[arg(long)]
        reason: String,
    },
    /// Decide an open dispute, as an official of the housing department the lease is filed with.
    Decide {
        #[command(flatten)]
        opts: TxOpts,
        /// The housing department you act for.
        #[arg(long)]
        by: Did,
        /// The lease.
        #[arg(long)]
        lease: u64,
        /// End the lease now.
        #[arg(long)]
        terminate: bool,
        /// Release the deposit (once the lease has ended): this much to the landlord, the rest to
        /// the tenant (default: keep it held).
        #[arg(long)]
        deposit_to_landlord: Option<Amount>,
        /// The decision's reasons.
        #[arg(long)]
        reason: String,
    },
    /// Claim deductions from the deposit of an ended lease, as the landlord (0 releases it all
    /// to the tenant).
    Claim {
        #[command(flatten)]
        opts: TxOpts,
        /// The lease.
        #[arg(long)]
        lease: u64,
        /// The deduction, in minor units.
        #[arg(long)]
        amount: Amount,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Accept the landlord's claim on the deposit, as the tenant.
    AcceptClaim {
        #[command(flatten)]
        opts: TxOpts,
        /// The lease.
        #[arg(long)]
        lease: u64,
    },
    /// A listing (`--prove`: a proof document for `civitas verify`).
    ShowListing {
        /// Its number.
        id: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// A property: its certificate's reference, address, owner, listing and lease.
    Property {
        /// Its number.
        id: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// A property's history: listings, offers, signatures, terminations, disputes.
    History {
        /// The property.
        id: u64,
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = LIST_PAGE_MAX)]
        limit: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// Every listing, in order.
    Listings {
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = LIST_PAGE_MAX)]
        limit: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// A lease, where its rent stands, and its versions (a signed read: a party's, or the
    /// housing department's).
    Lease {
        /// Its number.
        id: u64,
        /// Your key file (it signs the request).
        #[arg(long)]
        key: PathBuf,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// The leases you (or `--party`) are landlord or tenant of (a signed read).
    Leases {
        /// Your key file (it signs the request).
        #[arg(long)]
        key: PathBuf,
        /// Whose leases (default: the key's DID).
        #[arg(long)]
        party: Option<Did>,
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = LIST_PAGE_MAX)]
        limit: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// The leases filed with a housing department (a signed read by its official).
    Filings {
        /// Your key file (it signs the request).
        #[arg(long)]
        key: PathBuf,
        /// The housing department.
        #[arg(long)]
        housing: Did,
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = LIST_PAGE_MAX)]
        limit: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
    /// A lease's rent payments (a signed read: a party's, or the housing department's).
    Payments {
        /// Your key file (it signs the request).
        #[arg(long)]
        key: PathBuf,
        /// The lease.
        #[arg(long)]
        lease: u64,
        /// Position to start at.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = LIST_PAGE_MAX)]
        limit: u64,
        /// Print a proof document (JSON) instead.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        query: QueryOpts,
    },
}

/// A lease's terms, as `offer` and `amend` take them.
#[derive(Debug, clap::Args)]
pub(crate) struct TermsArgs {
    /// The rent each period, in minor units.
    #[arg(long)]
    rent: Amount,
    /// How often rent falls due: weekly, monthly, quarterly, yearly (an amendment keeps it).
    #[arg(long, default_value = "monthly", value_parser = parse_period)]
    period: RentPeriod,
    /// The deposit, in minor units.
    #[arg(long, default_value_t = 0)]
    deposit: Amount,
    /// When the tenancy starts and the first rent falls due: unix seconds, a date or an RFC
    /// 3339 time.
    #[arg(long, value_parser = parse_time)]
    start: u64,
    /// When it ends: unix seconds, a date or an RFC 3339 time.
    #[arg(long, value_parser = parse_time)]
    end: u64,
    /// Days after the end the landlord has to claim from the deposit (1 to 90).
    #[arg(long, default_value_t = 14)]
    claim_days: u16,
    /// The lease's full text both parties hold: its SHA-256 goes on chain.
    #[arg(long)]
    document: PathBuf,
    /// The property's door lock (a device you own whose model declares `unlock`): the tenant
    /// may open it for the term.
    #[arg(long)]
    lock: Option<civitas_types::device::DeviceId>,
}

impl TermsArgs {
    fn terms(self) -> anyhow::Result<LeaseTerms> {
        let text = std::fs::read(&self.document).with_context(|| format!("reading {}", self.document.display()))?;
        Ok(LeaseTerms {
            rent: self.rent,
            period: self.period,
            deposit: self.deposit,
            start: self.start,
            end: self.end,
            lock: self.lock,
            claim_days: self.claim_days,
            document: Hash::digest(&text),
        })
    }
}

/// A name from one of the module's enumerations (`monthly`, `partially`, `water`).
fn parse_named<T: serde::de::DeserializeOwned>(s: &str, choices: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| format!("expected one of {choices}"))
}

fn parse_period(s: &str) -> Result<RentPeriod, String> {
    parse_named(s, "weekly, monthly, quarterly, yearly")
}

fn parse_furnished(s: &str) -> Result<Furnished, String> {
    parse_named(s, "unfurnished, partially, furnished")
}

fn parse_included(s: &str) -> Result<Included, String> {
    parse_named(s, "water, electricity, gas, heating, internet, management, parking, cleaning")
}

/// Unix seconds, a date (`2027-03-01`: its start, UTC) or an RFC 3339 time.
fn parse_time(s: &str) -> Result<u64, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| "too large for unix seconds".to_owned());
    }
    civitas_client::did::parse_datetime(s)
        .or_else(|| civitas_client::did::parse_datetime(&format!("{s}T00:00:00Z")))
        .map(|ms| ms / 1000)
        .ok_or_else(|| "expected unix seconds, a date (2027-03-01) or an RFC 3339 time".to_owned())
}

fn now_secs() -> u64 {
    civitas_node::consensus::now_ms() / 1000
}

fn wallet_file(wallet: &Path, name: &str) -> anyhow::Result<PathBuf> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        bail!("a wallet name is letters, digits, - and _");
    }
    Ok(wallet.join(format!("{name}.sdjwt")))
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?.trim().to_owned())
}

/// A holder's signing key from a key file: an account key (Ed25519), or a P-256 key of its DID
/// document (`civitas keys new --p256`).
fn load_holder_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if civitas_types::keyfile::key_type(&text) == "P-256" {
        let secret = civitas_types::keyfile::parse_p256(&text).with_context(|| format!("{}", path.display()))?;
        return SigningKey::p256_from_bytes(&secret).context("not a P-256 secret key");
    }
    Ok(SigningKey::Ed25519(load_key(path)?))
}

/// The housing department that issued a certificate (its `iss`), read without checking it.
fn issuer_of(sd_jwt: &str) -> anyhow::Result<Did> {
    let seen = sdjwt::inspect(sd_jwt).map_err(|e| anyhow::anyhow!("the certificate: {e} ({})", e.code()))?;
    seen.issuer
        .parse()
        .map_err(|_| anyhow::anyhow!("the certificate's issuer {} is not a did:civitas DID", seen.issuer))
}

/// What `rental list` presents from.
enum Source {
    /// The certificate's issuance: the CLI makes the presentation.
    Issuance(String),
    /// A finished presentation the owner made.
    Presentation(String),
}

/// Grants the consent a listing needs (a transaction of its own: the holder consents that the
/// housing department see `claims` for `rental listing`, once) and finds its number in the
/// holder's consents (`GET /v1/credentials/consents`, a signed read): the newest one for this
/// verifier, issuer, type and purpose. Gives the number, or the grant's exit code if it failed.
fn grant_listing_consent(
    client: &Client,
    opts: &TxOpts,
    issuance: &str,
    claims: &[String],
) -> anyhow::Result<Result<u64, u8>> {
    if opts.did().is_some() {
        bail!("--grant-consent signs with the key's own DID; grant it with `civitas credential consent grant --did`");
    }
    let seen = sdjwt::inspect(issuance).map_err(|e| anyhow::anyhow!("the certificate: {e} ({})", e.code()))?;
    let housing = issuer_of(issuance)?;
    let grant = Instruction::Credentials(CredentialInstruction::GrantConsent {
        verifier: housing,
        issuer: housing,
        vct: seen.vct.clone(),
        purpose: LISTING_PURPOSE.to_owned(),
        claims: claims.to_vec(),
        ttl_blocks: 100_000,
        max_uses: 1,
    });
    let code = submit(TxOpts::new(opts.key_path().to_owned(), opts.node_url()), grant)?;
    if code != 0 {
        return Ok(Err(code));
    }
    let key = load_key(opts.key_path())?;
    let (housing_text, mut from, mut found) = (housing.to_string(), 0u64, None);
    // A holder has few consents; the walk is bounded all the same.
    for _ in 0..1_000 {
        let page = client.consents(&key, from, 100)?;
        for c in page["consents"].as_array().into_iter().flatten() {
            let fits = c["verifier"] == housing_text.as_str()
                && c["issuer"] == housing_text.as_str()
                && c["vct"] == seen.vct.as_str()
                && c["purpose"] == LISTING_PURPOSE;
            if fits {
                found = c["id"].as_u64();
            }
        }
        match page["next"].as_u64() {
            Some(next) => from = next,
            None => break,
        }
    }
    let id = found.context("the consent granted is not among the signer's consents")?;
    eprintln!("consent {id}: {housing} may see {} for `{LISTING_PURPOSE}`", claims.join(", "));
    Ok(Ok(id))
}

/// What `rental list` takes besides its source and terms.
struct ListArgs {
    holder_key: Option<PathBuf>,
    claims: Vec<String>,
    consent: Option<u64>,
    grant_consent: bool,
    agent: Option<Did>,
}

fn list(opts: TxOpts, source: Source, a: ListArgs, terms: ListingTerms) -> anyhow::Result<u8> {
    let client = Client::new(opts.node_url());
    let chain_id = client.status()?.chain_id;
    let signer = load_key(opts.key_path())?;
    let me = opts.did().unwrap_or_else(|| Did::from_initial_key(&signer.public_key()));
    let lister = a.agent.unwrap_or(me).to_string();
    let claims: Vec<String> =
        if a.claims.is_empty() { DEFAULT_CLAIMS.iter().map(|c| (*c).to_owned()).collect() } else { a.claims };
    let mut consent = a.consent;
    let presentation = match source {
        Source::Presentation(p) => p,
        Source::Issuance(issuance) => {
            let holder = match &a.holder_key {
                Some(path) => load_holder_key(path)?,
                None => SigningKey::Ed25519(signer),
            };
            let disclose: Vec<&str> = claims.iter().map(String::as_str).collect();
            let present = |aud: &str, nonce: &str| {
                sdjwt::present(&issuance, &disclose, Some((&holder, aud, nonce, now_secs())))
                    .map_err(|e| anyhow::anyhow!("presenting the certificate: {e}"))
            };
            if a.grant_consent {
                match grant_listing_consent(&client, &opts, &issuance, &claims)? {
                    Ok(id) => consent = Some(id),
                    Err(code) => return Ok(code),
                }
            }
            present(&lister, &listing_nonce(&chain_id))?
        }
    };
    submit(opts, rentals(RentalInstruction::ListProperty { presentation, consent, terms, by: a.agent }))
}

fn rentals(i: RentalInstruction) -> Instruction {
    Instruction::Rentals(i)
}

fn at(secs: u64) -> String {
    civitas_client::did::datetime(secs * 1000)
}

fn print_lease(view: &LeaseJson) {
    let l = &view.lease;
    let t = &l.terms;
    println!("lease {} on property {} (listing {}): {}", l.id, l.property, l.listing, l.status.name());
    println!("  landlord:  {}", l.landlord);
    println!("  tenant:    {}", l.tenant);
    let filed = l.filed_at.map_or_else(String::new, |f| format!(" as {} on {}", l.filing, at(f)));
    println!("  housing:   {}{filed}", l.housing);
    println!("  version:   {} in force, {} latest", l.version, l.latest);
    println!("  term:      {} to {} ({} rent periods)", at(t.start), at(t.end), t.periods());
    println!("  rent:      {} {}", t.rent, t.period.name());
    if let Some(lock) = &t.lock {
        println!("  lock:      {lock}");
    }
    println!("  document:  {}", t.document);
    let s = &view.standing;
    println!(
        "  paid:      {} (to the landlord {}, in escrow {}, refunded {})",
        l.paid, l.to_landlord, l.rent_escrow, l.refunded
    );
    println!(
        "  due:       {} of {} over {}/{} periods; overdue {}",
        s.due, s.total, s.periods_due, s.periods, s.overdue
    );
    if let Some(next) = s.next_due {
        println!("  next due:  {}", at(next));
    }
    let d = &l.deposit;
    println!("  deposit:   {} held", d.held);
    if let Some(claimed) = d.claimed {
        println!("  claimed:   {claimed} ({})", d.claim_reason);
    }
    if let Some(r) = &d.released {
        println!(
            "  released:  {} to the landlord, {} to the tenant ({}, {})",
            r.to_landlord,
            r.to_tenant,
            r.kind.name(),
            at(r.at)
        );
    }
    if let Some(r) = &l.termination {
        println!("  termination asked by {} on {}: {}", r.by, at(r.at), r.reason);
    }
    if let Some(r) = &l.dispute {
        println!("  dispute opened by {} on {}: {}", r.by, at(r.at), r.reason);
    }
    for v in &view.versions {
        let signed = v.signed_at.map_or_else(|| "unsigned".to_owned(), |s| format!("signed {}", at(s)));
        let aside = if v.superseded { ", superseded" } else { "" };
        println!(
            "  version {}: rent {} deposit {} to {}, by {} on {}, {signed}{aside}",
            v.version,
            v.terms.rent,
            v.terms.deposit,
            at(v.terms.end),
            v.proposed_by,
            at(v.proposed_at)
        );
    }
}

fn print_page(page: &RentalListJson) {
    println!("{} ({} in all, from {}):", page.list, page.total, page.from);
    for e in &page.entries {
        match e {
            RentalEntry::Number { id } => println!("  {id}"),
            RentalEntry::Event(h) => {
                let version = if h.version > 0 { format!(" version {}", h.version) } else { String::new() };
                println!("  {} {}{version} at {} (height {})", h.kind.name(), h.subject, at(h.at), h.height)
            }
            RentalEntry::Payment(p) => println!(
                "  {} at {} ({} to the landlord, {} to escrow)",
                p.amount,
                at(p.at),
                p.to_landlord,
                p.to_escrow
            ),
        }
    }
    if let Some(next) = page.next {
        println!("  … more from --from {next}");
    }
}

/// A page of `list`: public, or signed with `key`.
fn show_list(
    query: &QueryOpts,
    key: Option<&Path>,
    list: &RentalList,
    (from, limit): (u64, u64),
    prove: bool,
) -> anyhow::Result<u8> {
    let client = Client::new(&query.node);
    let key = key.map(load_key).transpose()?;
    if prove {
        let proof = match &key {
            Some(k) => client.prove_rental_signed_list(k, list, from, limit)?,
            None => client.prove_rental_list(list, from, limit)?,
        };
        print_json(&proof)?;
        return Ok(0);
    }
    let page = match &key {
        Some(k) => client.rental_signed_list(k, list, from, limit)?,
        None => client.rental_list(list, from, limit)?,
    };
    let page = page.with_context(|| format!("no list {list}"))?;
    if query.json {
        print_json(&page)?;
    } else {
        print_page(&page);
    }
    Ok(0)
}

/// Runs `civitas rental`: the changes exit as [`submit`] does; a record that is not there exits
/// 1.
pub(crate) fn run(cmd: RentalCommand) -> anyhow::Result<u8> {
    match cmd {
        RentalCommand::List {
            opts,
            wallet,
            name,
            credential,
            presentation,
            holder_key,
            claims,
            consent,
            grant_consent,
            title,
            rent,
            period,
            deposit,
            min_term_months,
            available_from,
            furnished,
            includes,
            agent,
        } => {
            let source = match (wallet, name, credential, presentation) {
                (_, _, _, Some(p)) => Source::Presentation(read_text(&p)?),
                (_, _, Some(c), None) => Source::Issuance(read_text(&c)?),
                (Some(w), Some(n), None, None) => Source::Issuance(
                    read_text(&wallet_file(&w, &n)?)
                        .with_context(|| format!("no credential {n} in {}", w.display()))?,
                ),
                _ => bail!("give the certificate: --wallet and --name, --credential, or --presentation"),
            };
            let terms =
                ListingTerms { title, rent, period, deposit, min_term_months, available_from, furnished, includes };
            let args = ListArgs { holder_key, claims, consent, grant_consent, agent };
            list(opts, source, args, terms)
        }
        RentalCommand::Withdraw { opts, listing, agent } => {
            submit(opts, rentals(RentalInstruction::WithdrawListing { listing, by: agent }))
        }
        RentalCommand::Offer { opts, listing, tenant, terms } => {
            submit(opts, rentals(RentalInstruction::OfferLease { listing, tenant, terms: terms.terms()? }))
        }
        RentalCommand::Amend { opts, lease, terms } => {
            submit(opts, rentals(RentalInstruction::AmendLease { lease, terms: terms.terms()? }))
        }
        RentalCommand::Sign { opts, lease, version } => {
            submit(opts, rentals(RentalInstruction::SignLease { lease, version }))
        }
        RentalCommand::Pay { opts, lease, amount } => {
            submit(opts, rentals(RentalInstruction::PayRent { lease, amount }))
        }
        RentalCommand::Collect { opts, lease } => submit(opts, rentals(RentalInstruction::CollectRent { lease })),
        RentalCommand::Terminate { opts, lease, reason } => {
            submit(opts, rentals(RentalInstruction::TerminateLease { lease, reason }))
        }
        RentalCommand::Dispute { opts, lease, reason } => {
            submit(opts, rentals(RentalInstruction::OpenDispute { lease, reason }))
        }
        RentalCommand::Decide { opts, by, lease, terminate, deposit_to_landlord, reason } => submit(
            opts,
            rentals(RentalInstruction::DecideDispute { lease, terminate, deposit_to_landlord, reason, by }),
        ),
        RentalCommand::Claim { opts, lease, amount, reason } => {
            submit(opts, rentals(RentalInstruction::ClaimDeposit { lease, amount, reason }))
        }
        RentalCommand::AcceptClaim { opts, lease } => submit(opts, rentals(RentalInstruction::AcceptClaim { lease })),
        RentalCommand::ShowListing { id, prove, query } => {
            let client = Client::new(&query.node);
            if prove {
                print_json(&client.prove_rental_record(&format!("listing/{id}"))?)?;
                return Ok(0);
            }
            let l = client.rental_listing(id)?.with_context(|| format!("no listing {id}"))?;
            if query.json {
                print_json(&l)?;
                return Ok(0);
            }
            let (l, t) = (&l.listing, &l.listing.terms);
            println!("listing {} of property {}: {} ({})", l.id, l.property, t.title, l.status.name());
            println!("  landlord:  {}", l.landlord);
            if let Some(a) = &l.agent {
                println!("  agent:     {a}");
            }
            println!("  rent:      {} {}, deposit {}", t.rent, t.period.name(), t.deposit);
            println!("  term:      at least {} months, from {}", t.min_term_months, at(t.available_from));
            let includes: Vec<&str> = t.includes.iter().map(|i| i.name()).collect();
            println!(
                "  furnished: {}; includes: {}",
                t.furnished.name(),
                if includes.is_empty() { "nothing".to_owned() } else { includes.join(", ") }
            );
            let ended = l.ended_at.map_or_else(String::new, |e| format!(", ended {}", at(e)));
            println!("  listed:    {} at height {}{ended}", at(l.listed_at), l.height);
            println!("  presented: {}", l.presentation);
            Ok(0)
        }
        RentalCommand::Property { id, prove, query } => {
            let client = Client::new(&query.node);
            if prove {
                print_json(&client.prove_rental_record(&format!("property/{id}"))?)?;
                return Ok(0);
            }
            let p = client.rental_property(id)?.with_context(|| format!("no property {id}"))?;
            if query.json {
                print_json(&p)?;
                return Ok(0);
            }
            let (history, p) = (p.history, &p.property);
            println!("property {}: {} (certified by {})", p.id, p.reference, p.housing);
            println!("  address:   {}", p.address);
            if let Some(area) = p.floor_area_m2 {
                println!("  area:      {area} m2");
            }
            println!("  owner:     {}", p.owner);
            let or_none = |n: Option<u64>| n.map_or_else(|| "none".to_owned(), |n| n.to_string());
            println!("  listing:   {}; lease: {}", or_none(p.listing), or_none(p.lease));
            println!("  since:     {}; {history} history events", at(p.registered_at));
            Ok(0)
        }
        RentalCommand::History { id, from, limit, prove, query } => {
            show_list(&query, None, &RentalList::History(id), (from, limit), prove)
        }
        RentalCommand::Listings { from, limit, prove, query } => {
            show_list(&query, None, &RentalList::Listings, (from, limit), prove)
        }
        RentalCommand::Lease { id, key, prove, query } => {
            let client = Client::new(&query.node);
            let key = load_key(&key)?;
            if prove {
                print_json(&client.prove_rental_lease(&key, id)?)?;
                return Ok(0);
            }
            let view = client.rental_lease(&key, id)?.with_context(|| format!("no lease {id}"))?;
            if query.json {
                print_json(&view)?;
            } else {
                print_lease(&view);
            }
            Ok(0)
        }
        RentalCommand::Leases { key, party, from, limit, prove, query } => {
            let party = match party {
                Some(p) => p,
                None => Did::from_initial_key(&load_key(&key)?.public_key()),
            };
            show_list(&query, Some(&key), &RentalList::Leases(party), (from, limit), prove)
        }
        RentalCommand::Filings { key, housing, from, limit, prove, query } => {
            show_list(&query, Some(&key), &RentalList::Filings(housing), (from, limit), prove)
        }
        RentalCommand::Payments { key, lease, from, limit, prove, query } => {
            show_list(&query, Some(&key), &RentalList::Payments(lease), (from, limit), prove)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_times_parse() {
        assert_eq!(parse_period("quarterly"), Ok(RentPeriod::Quarterly));
        assert!(parse_period("daily").is_err_and(|e| e.contains("weekly, monthly")));
        assert_eq!(parse_furnished("partially"), Ok(Furnished::Partially));
        assert_eq!(parse_included("internet"), Ok(Included::Internet));
        assert!(parse_included("pool").is_err());
        assert_eq!(parse_time("1806537599"), Ok(1_806_537_599));
        assert_eq!(parse_time("2027-03-31"), Ok(1_806_451_200));
        assert_eq!(parse_time("2027-03-31T12:00:00Z"), Ok(1_806_494_400));
        assert!(parse_time("next week").is_err());
        assert!(wallet_file(Path::new("w"), "alice-property").is_ok());
        assert!(wallet_file(Path::new("w"), "../x").is_err());
    }
}
