//! `civitas bench rental`: rentals on a local testnet (four validators by default), with the
//! demo organizations of the genesis: the council accredits the housing department for property
//! certificates and housing defines their type as the dev demo does; each of N landlords holds a
//! certificate housing issued and anchored, consents that housing see the listed claims, lists
//! the property and offers a lease to its own tenant (all set up before timing, many
//! instructions per transaction where one signer makes them).
//!
//! Two timed phases, each of transactions signed before it starts and offered at the same rate:
//! the tenants sign their leases (each deposit goes into escrow, the lease is filed with
//! housing), then pay rent. Money is then checked to be conserved: the parties' balances plus
//! the leases' escrow equal what they were funded with.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use civitas_client::Client;
use civitas_client::sdjwt::{self, SigningKey};
use civitas_node::demo::{
    LISTED_CLAIMS, LISTING_PURPOSE, PROPERTY_VCT, issue_property_certificate, listing_nonce, property_policy,
    property_schema,
};
use civitas_node::dev;
use civitas_types::codec::Encode;
use civitas_types::council::CouncilAction;
use civitas_types::rental::{Furnished, LeaseTerms, ListingTerms, RentPeriod, RentalEntry, RentalList, add_months};
use civitas_types::{
    Amount, CouncilInstruction, CredentialInstruction, Did, Hash, Instruction, RentalInstruction, SecretKey,
    SignedTransaction,
};

use crate::bench::{Target, report_node_time, scrape, start_chain};
use crate::bench_device::{Outcome, Setup, did, drive, in_parallel, sign};

/// Most leases a run prepares.
const LEASES_MAX: u64 = 20_000;
/// What each lease asks each month.
const RENT: Amount = 1_200;
/// Each lease's deposit.
pub(crate) const DEPOSIT: Amount = 2_400;
/// What each payment pays (a lease of 12 months takes 144 of them).
const PAYMENT: Amount = 100;
/// Payments a lease takes before its rent is paid in full.
const PAYMENTS_PER_LEASE: u64 = 12 * (RENT / PAYMENT) as u64;
/// What start_chain funds each key with.
const FUNDED: Amount = 1_000_000_000_000;
/// The status list entries the bench anchors at, from this one (clear of the demo's).
const STATUS_FROM: u32 = 10_000;

#[derive(Debug, clap::Args)]
pub(crate) struct RentalArgs {
    /// How long to offer each phase's load (signings, then payments), in seconds (at most 600).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    duration: u64,
    /// Validators the bench starts as processes on this machine (1: a dev node).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    validators: u16,
    /// Offered load in transactions per second, in each phase.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    rate: u64,
    /// Leases (landlord and tenant pairs) to set up (default: the rate times the duration, and
    /// a tenth more, so the signing phase never runs dry).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=LEASES_MAX))]
    leases: Option<u64>,
}

fn landlord_key(i: u64) -> SecretKey {
    SecretKey::from_seed(Hash::digest_parts(&[b"civitas bench rental landlord", &i.to_be_bytes()]).0)
}

fn tenant_key(i: u64) -> SecretKey {
    SecretKey::from_seed(Hash::digest_parts(&[b"civitas bench rental tenant", &i.to_be_bytes()]).0)
}

fn r(i: RentalInstruction) -> Instruction {
    Instruction::Rentals(i)
}

fn c(i: CredentialInstruction) -> Instruction {
    Instruction::Credentials(i)
}

/// The latest block's time, unix seconds.
fn block_secs(client: &Client) -> anyhow::Result<u64> {
    Ok(client.status()?.timestamp_ms / 1000)
}

/// The world the measurements need: housing accredited and the type defined, every landlord's
/// certificate anchored, consented to, listed and offered to its tenant. Gives each pair's
/// lease number.
pub(crate) fn setup(
    s: &mut Setup<'_>,
    keys_dir: &Path,
    landlords: &[SecretKey],
    tenants: &[SecretKey],
) -> anyhow::Result<Vec<u64>> {
    let client = s.client;
    let key = |name: &str| dev::read_key(&keys_dir.join(format!("{name}.key"))).context("reading a demo key");
    let (housing, proposer) = (key("housing")?, key("civil-affairs")?);
    let housing_did = did(&housing);
    let n = landlords.len();

    // The council accredits housing (civil affairs proposes, housing approves), as the demo.
    let action = CouncilAction::AccreditIssuer { issuer: housing_did, vct: PROPERTY_VCT.into() };
    let propose = CouncilInstruction::Propose { action, ttl_blocks: 100, by: did(&proposer) };
    s.run(&proposer, vec![Instruction::Council(propose)])?;
    s.run(&housing, vec![Instruction::Council(CouncilInstruction::Approve { proposal: 0, by: housing_did })])?;

    // Housing defines the type and anchors each landlord's certificate.
    let now = block_secs(client)?;
    let issued = in_parallel(n as u64, |i| {
        let id = format!("BENCH-{i}");
        let address = format!("Unit {i}, Bench Road");
        let index = STATUS_FROM + i as u32;
        issue_property_certificate(&housing, &landlords[i as usize], index, now, (&id, &address, 60, "Bench owner"))
            .map(|(issuance, commitment)| (issuance, commitment, index))
    });
    let issued: Vec<(String, Hash, u32)> =
        issued.into_iter().collect::<Result<_, _>>().map_err(|e| anyhow::anyhow!("issuing a certificate: {e}"))?;
    let mut steps = vec![c(CredentialInstruction::DefineCredentialType {
        vct: PROPERTY_VCT.into(),
        schema: property_schema().to_string(),
        policy: property_policy(),
        by: housing_did,
    })];
    steps.extend(issued.iter().map(|(_, commitment, index)| {
        c(CredentialInstruction::AnchorCredential {
            vct: PROPERTY_VCT.into(),
            commitment: *commitment,
            status_index: *index,
            by: housing_did,
        })
    }));
    s.run(&housing, steps)?;

    // Each landlord consents; the consents are numbered chain-wide in the order executed.
    let claims: Vec<String> = LISTED_CLAIMS.iter().map(|c| (*c).to_owned()).collect();
    let mut grants = Vec::with_capacity(n);
    for k in landlords {
        let grant = CredentialInstruction::GrantConsent {
            verifier: housing_did,
            issuer: housing_did,
            vct: PROPERTY_VCT.into(),
            purpose: LISTING_PURPOSE.into(),
            claims: claims.clone(),
            ttl_blocks: 1_000_000,
            max_uses: 1,
        };
        grants.push(s.one(k, vec![c(grant)])?);
    }
    s.settle(&grants)?;
    // Each landlord's consent number, from its own consents (a signed read).
    let present = |i: usize, aud: &str, nonce: &str, at: u64| {
        sdjwt::present(&issued[i].0, &LISTED_CLAIMS, Some((&SigningKey::Ed25519(landlords[i].clone()), aud, nonce, at)))
            .map_err(|e| anyhow::anyhow!("presenting a certificate: {e}"))
    };
    let mut consents = Vec::with_capacity(n);
    for (i, k) in landlords.iter().enumerate() {
        let mine = client.consents(k, 0, 1)?;
        let id = mine["consents"][0]["id"].as_u64().with_context(|| format!("landlord {i} has no consent"))?;
        consents.push(id);
    }
    eprintln!("  {n} consents granted");

    // Each landlord lists its property.
    let at = block_secs(client)?;
    let listing_nonce = listing_nonce(&s.chain_id);
    let mut lists = Vec::with_capacity(n);
    for (i, k) in landlords.iter().enumerate() {
        let terms = ListingTerms {
            title: format!("Bench flat {i}"),
            rent: RENT,
            period: RentPeriod::Monthly,
            deposit: DEPOSIT,
            min_term_months: 12,
            available_from: at + 24 * 3600,
            furnished: Furnished::Unfurnished,
            includes: Vec::new(),
        };
        let presentation = present(i, &did(k).to_string(), &listing_nonce, at)?;
        let list = RentalInstruction::ListProperty { presentation, consent: Some(consents[i]), terms, by: None };
        lists.push(s.one(k, vec![r(list)])?);
    }
    s.settle(&lists)?;
    let index: HashMap<Did, usize> = landlords.iter().enumerate().map(|(i, k)| (did(k), i)).collect();
    let mut listing_of = vec![None; n];
    let mut id = 0u64;
    let mut found = 0;
    while found < n {
        let l = client.rental_listing(id)?.with_context(|| format!("only {found} of {n} listings found"))?;
        if let Some(&i) = index.get(&l.listing.landlord) {
            listing_of[i] = Some((id, l.listing.property));
            found += 1;
        }
        id += 1;
    }

    // Each landlord offers its tenant a year's lease.
    let start = block_secs(client)? + 24 * 3600;
    let document = Hash::digest(b"civitas bench rental lease");
    let mut offers = Vec::with_capacity(n);
    for (i, k) in landlords.iter().enumerate() {
        let (listing, _) = listing_of[i].context("a listing not found")?;
        let terms = LeaseTerms {
            rent: RENT,
            period: RentPeriod::Monthly,
            deposit: DEPOSIT,
            start,
            end: add_months(start, 12),
            lock: None,
            claim_days: 14,
            document,
        };
        offers.push(s.one(k, vec![r(RentalInstruction::OfferLease { listing, tenant: did(&tenants[i]), terms })])?);
    }
    s.settle(&offers)?;
    // Each landlord's one lease, from its (signed) list of leases.
    let mut leases = Vec::with_capacity(n);
    for k in landlords {
        let page = client
            .rental_signed_list(k, &RentalList::Leases(did(k)), 0, 1)?
            .with_context(|| format!("no leases of {}", did(k)))?;
        match page.entries.first() {
            Some(RentalEntry::Number { id }) => leases.push(*id),
            other => bail!("{}'s leases list {other:?}", did(k)),
        }
    }
    Ok(leases)
}

fn report(outcome: &Outcome, what: &str) {
    eprintln!(
        "{what}: offered {}, admitted {} (refused {}, never admitted {}), committed {} ({} failed) in {} blocks; {} still pending at the end",
        outcome.offered,
        outcome.submitted,
        outcome.refused,
        outcome.unadmitted,
        outcome.committed,
        outcome.failed,
        outcome.blocks,
        outcome.unfinished
    );
    if let Some(why) = &outcome.first_problem {
        eprintln!("  first refusal or failure: {why}");
    }
}

pub(crate) fn run(args: RentalArgs) -> anyhow::Result<u8> {
    let per_phase = args.rate.saturating_mul(args.duration) * 11 / 10;
    let n = args.leases.unwrap_or(per_phase).clamp(1, LEASES_MAX);
    let payments = per_phase.clamp(1, n * PAYMENTS_PER_LEASE);
    let landlords: Vec<SecretKey> = (0..n).map(landlord_key).collect();
    let tenants: Vec<SecretKey> = (0..n).map(tenant_key).collect();
    let funded: Vec<SecretKey> = landlords.iter().chain(&tenants).cloned().collect();
    let tmp = tempfile::tempdir().context("creating a temp dir for the bench chain")?;
    let (urls, target) = start_chain(tmp.path(), args.validators, &funded)?;
    let clients: Vec<Client> = urls.iter().map(|u| Client::new(u)).collect();
    let client = &clients[0];
    let chain_id = client.status()?.chain_id;

    eprintln!("setting up: housing accredited, {n} landlords with a certificate, consent, listing and offer...");
    let made = Instant::now();
    let mut s = Setup {
        client,
        chain_id: chain_id.clone(),
        valid_until: client.status()?.height + 1_000_000,
        nonces: HashMap::new(),
    };
    let leases = setup(&mut s, &tmp.path().join("keys"), &landlords, &tenants)?;

    let mut first_nonce = Vec::with_capacity(tenants.len());
    for k in &tenants {
        first_nonce.push(client.account(&did(k))?.with_context(|| format!("tenant {} has no account", did(k)))?.nonce);
    }
    let height = client.status()?.height;
    let encoded = |tx: SignedTransaction| {
        let bytes = tx.encode();
        (Hash::digest(&bytes), bytes)
    };
    let signings = in_parallel(n, |i| {
        let i = i as usize;
        let sign_lease = RentalInstruction::SignLease { lease: leases[i], version: 1 };
        encoded(sign(&chain_id, &tenants[i], first_nonce[i], height + 1_000_000, vec![r(sign_lease)]))
    });
    let pays = in_parallel(payments, |j| {
        let i = (j % n) as usize;
        let pay = RentalInstruction::PayRent { lease: leases[i], amount: PAYMENT };
        encoded(sign(&chain_id, &tenants[i], first_nonce[i] + 1 + j / n, height + 1_000_000, vec![r(pay)]))
    });
    eprintln!(
        "set up and signed {} signings and {} payments in {:.1} s",
        signings.len(),
        pays.len(),
        made.elapsed().as_secs_f64()
    );

    let before = scrape(&clients);
    let signed = drive(&clients, &signings, (args.rate, args.duration, "lease signings"), height)?;
    report(&signed, "lease signings");
    let height = client.status()?.height;
    let paid = drive(&clients, &pays, (args.rate, args.duration, "rent payments"), height)?;
    report(&paid, "rent payments");
    let after = scrape(&clients);
    report_node_time(&before, &after);

    // Conservation: every party's balance plus every lease's escrow is what they were funded.
    let mut total: Amount = 0;
    for k in landlords.iter().chain(&tenants) {
        let a = client.account(&did(k))?.with_context(|| format!("{} has no account", did(k)))?;
        total += a.balance.parse::<Amount>().with_context(|| format!("{}'s balance is not a number", did(k)))?;
    }
    let (mut escrowed, mut rent_paid, mut active) = (0, 0, 0u64);
    for (i, &lease) in leases.iter().enumerate() {
        let view = client.rental_lease(&landlords[i], lease)?.with_context(|| format!("no lease {lease}"))?;
        let l = &view.lease;
        escrowed += l.deposit.held + l.rent_escrow;
        rent_paid += l.paid;
        if l.version >= 1 && l.filed_at.is_some() {
            active += 1;
        }
    }
    let funded_total = FUNDED * Amount::from(2 * n);
    ensure!(
        total + escrowed == funded_total,
        "money not conserved: balances {total} + escrow {escrowed} != funded {funded_total}"
    );
    let payments_ok = paid.committed - paid.failed;
    ensure!(
        rent_paid == Amount::from(payments_ok) * PAYMENT,
        "the leases record {rent_paid} paid, not {payments_ok} payments of {PAYMENT}"
    );
    eprintln!(
        "conserved: balances {total} + escrow {escrowed} = funded {funded_total}; {active} leases signed, {rent_paid} rent paid"
    );
    match target {
        Target::Dev(running) => running.stop()?,
        Target::Testnet(nodes) => drop(nodes),
        Target::Remote => {}
    }

    let mut lat = signed.latencies_ms;
    lat.extend(paid.latencies_ms);
    lat.sort_unstable();
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    let tps = (signed.in_window + paid.in_window) as f64 / (2 * args.duration) as f64;
    println!(
        "tps={:.0} p50_ms={} p99_ms={} signings={} payments={} signing_tps={:.0} payment_tps={:.0}",
        tps,
        pct(0.50),
        pct(0.99),
        signed.committed - signed.failed,
        payments_ok,
        signed.in_window as f64 / args.duration as f64,
        paid.in_window as f64 / args.duration as f64,
    );
    Ok(0)
}
