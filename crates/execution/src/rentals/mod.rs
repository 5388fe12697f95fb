//! Rentals (`docs/rentals.md`): a landlord lists a property by presenting the housing
//! department's property certificate (an SD-JWT VC the chain verifies as a verifier would,
//! against block time, under the holder's consent where the type's policy asks one); an agent
//! lists on the owner's signed authorization (the presentation's key binding names the agent).
//! The landlord offers a lease, the tenant signs it: the deposit goes into escrow and the lease
//! is filed with the housing department under a filing number. Amendments are new versions
//! the other party signs; a lease ends by both parties' requests or by the department deciding
//! a dispute. Rent for periods due more than three months ahead waits in escrow until they
//! come within three months. After the end the landlord claims deductions from the deposit
//! within the lease's claim days; the tenant accepts, or the department decides; with no claim
//! by then, [`release_due`] returns the deposit to the tenant at the first block past the
//! window. A lease naming the landlord's door lock grants the tenant its entry capabilities
//! for the lease term, and termination revokes them.
//!
//! Money is conserved: every amount leaves one account or escrow and enters another, and
//! [`ESCROW_TOTAL_KEY`] holds the sum of all leases' escrows, so the supply is always the
//! balances plus the funds escrow plus it. A deposit is released once; rent is never paid past
//! the schedule.

mod error;
pub use error::Error;

/// Who may perform each of this module's instructions (rendered into `docs/permissions.md`;
/// the permission test runs each under every kind of actor).
pub(crate) const PERMISSIONS: &[Rule] = &[
    Rule {
        instruction: "list_property",
        target: "a property the owner's certificate names",
        allowed: &[Actor::Landlord, Actor::AgentOfficial],
    },
    Rule {
        instruction: "withdraw_listing",
        target: "an active listing",
        allowed: &[Actor::Landlord, Actor::AgentOfficial],
    },
    Rule { instruction: "offer_lease", target: "an active listing", allowed: &[Actor::Landlord] },
    Rule { instruction: "amend_lease", target: "an active lease", allowed: &[Actor::Landlord, Actor::Tenant] },
    Rule {
        instruction: "sign_lease",
        target: "a version the other party proposed",
        allowed: &[Actor::Landlord, Actor::Tenant],
    },
    Rule { instruction: "pay_rent", target: "an active lease's schedule", allowed: &[Actor::Tenant] },
    Rule {
        instruction: "collect_rent",
        target: "escrowed rent now due within three months",
        allowed: &[Actor::Landlord],
    },
    Rule { instruction: "terminate_lease", target: "a lease or an offer", allowed: &[Actor::Landlord, Actor::Tenant] },
    Rule { instruction: "open_dispute", target: "a lease or its deposit", allowed: &[Actor::Landlord, Actor::Tenant] },
    Rule {
        instruction: "decide_dispute",
        target: "a dispute on a lease filed with the department",
        allowed: &[Actor::HousingOfficial],
    },
    Rule { instruction: "claim_deposit", target: "an ended lease's deposit", allowed: &[Actor::Landlord] },
    Rule { instruction: "accept_claim", target: "the landlord's claim on the deposit", allowed: &[Actor::Tenant] },
];

pub mod query;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeSet;

use civitas_state::{BlockState, StateRead, StoreError, TxState};
use civitas_types::codec::Encode;
use civitas_types::credential::{AccessEntry, CredentialStatus};
use civitas_types::did_doc::Relations;
use civitas_types::org::{OrgFunction, OrgKind};
use civitas_types::rental::{
    CLAIM_DAYS, DAY_SECS, Deposit, ESCROW_TOTAL_KEY, HistoryEntry, HistoryKind, Lease, LeaseStatus, LeaseTerms,
    LeaseVersion, Listing, ListingStatus, ListingTerms, PERIODS_MAX, PROPERTY_REF_BYTES_MAX, Property,
    REASON_BYTES_MAX, Release, ReleaseKind, RentPayment, RentSegment, RentalList, TITLE_BYTES_MAX, VERSIONS_MAX,
    lease_key, listing_key, property_key, property_ref_key, version_key, year_of,
};
use civitas_types::sdjwt::{self, Expectations, VerifyingKey};
use civitas_types::{Amount, Did, Hash, RentalInstruction, text_ok};

use crate::counters::{self, read_u64};
use crate::devices::passports;
use crate::permissions::{Actor, Rule};
use crate::{
    BlockContext, Context, ExecError, Failure, OfficialAct, Outcome, accounts, audited, council, credentials, dids,
    orgs, unaudited,
};

/// The purpose a listing's consent names (the verifier: the housing department).
pub const LISTING_PURPOSE: &str = "rental listing";

const NEXT_LISTING_KEY: &[u8] = b"rent/n/listing";
const NEXT_PROPERTY_KEY: &[u8] = b"rent/n/property";
const NEXT_LEASE_KEY: &[u8] = b"rent/n/lease";
/// Where the sweep of deposits due back to tenants stands: the day and position it reached.
const SWEEP_CURSOR_KEY: &[u8] = b"rent/due/cursor";
/// Most queue entries (and empty days) one block's sweep looks at.
const SWEEP_PER_BLOCK: u32 = 64;

/// The nonce a listing's key binding carries: the chain and the purpose, so a presentation made
/// for another verifier or chain is refused.
pub fn listing_nonce(chain_id: &str) -> String {
    format!("{chain_id}/rental-listing")
}

fn now(cx: &Context<'_>) -> u64 {
    cx.block.timestamp_ms / 1000
}

fn reason_ok(reason: &str) -> Outcome {
    if text_ok(reason, REASON_BYTES_MAX) { Ok(()) } else { Err(Error::ReasonRequired.into()) }
}

fn filing_count_key(housing: &Did) -> Vec<u8> {
    [b"rent/n/filing/".as_slice(), housing.as_bytes()].concat()
}

fn used_key(presentation: &Hash) -> Vec<u8> {
    [b"rent/used/".as_slice(), &presentation.0].concat()
}

fn due_count_key(day: u64) -> Vec<u8> {
    [b"rent/due/".as_slice(), &day.to_be_bytes(), b"/n"].concat()
}

fn due_entry_key(day: u64, position: u64) -> Vec<u8> {
    [b"rent/due/".as_slice(), &day.to_be_bytes(), b"/e/", &position.to_be_bytes()].concat()
}

fn listing(state: &impl StateRead, id: u64) -> Outcome<Listing> {
    Ok(query::listing(state, id)?.ok_or(Error::UnknownListing(id))?)
}

fn lease(state: &impl StateRead, id: u64) -> Outcome<Lease> {
    Ok(query::lease(state, id)?.ok_or(Error::UnknownLease(id))?)
}

fn property(state: &impl StateRead, id: u64) -> Outcome<Property> {
    Ok(query::property(state, id)?
        .ok_or_else(|| StoreError::Corrupt(format!("property {id} of a listing is missing")))?)
}

fn put_lease(state: &mut TxState<'_, '_>, l: &Lease) {
    state.put(lease_key(l.id), l.encode());
}

fn put_version(state: &mut TxState<'_, '_>, v: &LeaseVersion) {
    state.put(version_key(v.lease, v.version), v.encode());
}

fn append(state: &mut TxState<'_, '_>, list: RentalList, value: Vec<u8>) -> Outcome {
    let position = counters::next(state, &list.count_key())?;
    state.put(list.entry_key(position), value);
    Ok(())
}

fn history(state: &mut TxState<'_, '_>, cx: &Context<'_>, property: u64, event: (HistoryKind, u64, u32)) -> Outcome {
    let (kind, subject, version) = event;
    let entry = HistoryEntry { kind, subject, version, at: now(cx), height: cx.block.height };
    append(state, RentalList::History(property), entry.encode())
}

/// Moves the escrow total by `amount` in (`true`) or out.
fn escrow(state: &mut TxState<'_, '_>, amount: Amount, into: bool) -> Outcome {
    let total = query::escrow_total(state)?;
    let next = if into { total.checked_add(amount) } else { total.checked_sub(amount) };
    let next = next.ok_or(accounts::Error::Overflow)?;
    state.put(ESCROW_TOTAL_KEY.to_vec(), next.to_be_bytes().to_vec());
    Ok(())
}

/// Pays `amount` out of the escrow into `to`'s account.
fn pay_out(state: &mut TxState<'_, '_>, to: &Did, amount: Amount) -> Outcome {
    if amount > 0 {
        escrow(state, amount, false)?;
        accounts::credit(state, to, amount)?;
    }
    Ok(())
}

/// Takes `amount` from `from`'s account into the escrow.
fn pay_in(state: &mut TxState<'_, '_>, from: &Did, amount: Amount) -> Outcome {
    if amount > 0 {
        accounts::debit(state, from, amount)?;
        escrow(state, amount, true)?;
    }
    Ok(())
}

/// What a verified property certificate says.
struct Certificate {
    housing: Did,
    vct: String,
    owner: Did,
    reference: String,
    address: Option<String>,
    floor_area_m2: Option<u32>,
    disclosed: Vec<String>,
    holder_ref: Hash,
    presentation: Hash,
}

fn bad_credential(code: &'static str, detail: impl Into<String>) -> Failure {
    Error::Credential { code, detail: detail.into() }.into()
}

/// The key `kid` names in `did`'s document: `#key-0` (or none) is the account key, others must
/// be listed under `relation`.
fn document_key(state: &impl StateRead, did: &Did, kid: Option<&str>, relation: Relations) -> Outcome<VerifyingKey> {
    let account = accounts::query::account(state, did)?;
    let Some(account) = account else { return Err(bad_credential("unknown_issuer", format!("no account {did}"))) };
    if dids::check_active(state, did).is_err() {
        return Err(bad_credential("issuer_deactivated", format!("{did} is deactivated")));
    }
    let fragment = kid.map_or("key-0", |k| k.rsplit('#').next().unwrap_or(k));
    if fragment == "key-0" {
        return VerifyingKey::ed25519(&account.public_key)
            .ok_or_else(|| bad_credential("unknown_issuer_key", "the account key is not a curve point"));
    }
    let document = dids::query::document(state, did)?;
    let method = document
        .method(fragment, relation)
        .ok_or_else(|| bad_credential("unknown_issuer_key", format!("{did} lists no such method #{fragment}")))?;
    VerifyingKey::from_key_material(&method.key)
        .ok_or_else(|| bad_credential("unknown_issuer_key", "the method's key is not a curve point"))
}

/// Whether `key` is one of `did`'s own keys: its account key or an authentication method.
fn is_own_key(state: &impl StateRead, did: &Did, key: &VerifyingKey) -> Outcome<bool> {
    let Some(account) = accounts::query::account(state, did)? else { return Ok(false) };
    if VerifyingKey::ed25519(&account.public_key).is_some_and(|k| k.thumbprint() == key.thumbprint()) {
        return Ok(true);
    }
    let document = dids::query::document(state, did)?;
    Ok(document.methods.iter().any(|m| {
        m.relations.contains(Relations::AUTHENTICATION)
            && VerifyingKey::from_key_material(&m.key).is_some_and(|k| k.thumbprint() == key.thumbprint())
    }))
}

/// Verifies a listing's presentation against the chain at block time, as the credential
/// endpoint does for a verifier: the issuer's signature (with the key its `kid` names), the
/// disclosures, the validity window, the key binding (audience `lister`, the chain's listing
/// nonce, at most a day old), the issuer's accreditation and housing function, the type, the
/// anchored commitment, the status, the policy for a department, and the consent where the
/// policy asks one (used once). Gives what the certificate says.
fn verify_certificate(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    presentation: &str,
    consent: Option<u64>,
    lister: &Did,
) -> Outcome<Certificate> {
    let seen = sdjwt::inspect(presentation).map_err(|e| bad_credential(e.code(), e.to_string()))?;
    let housing: Did = seen
        .issuer
        .parse()
        .map_err(|_| bad_credential("unknown_issuer", format!("iss {} is not a did:civitas DID", seen.issuer)))?;
    let is_housing = orgs::query::organization(state, &housing)?
        .is_some_and(|o| o.kind == OrgKind::Department && o.functions.contains(&OrgFunction::Housing));
    if !is_housing {
        return Err(Error::NotHousing(housing).into());
    }
    let key = document_key(state, &housing, seen.kid.as_deref(), Relations::ASSERTION_METHOD)?;
    let audience = lister.to_string();
    let nonce = listing_nonce(cx.chain_id);
    let expect = Expectations {
        now: now(cx),
        typ: Some(sdjwt::VC_TYP),
        key_binding: Some((audience.as_str(), nonce.as_str())),
        kb_max_age_secs: civitas_types::rental::AUTHORIZATION_MAX_AGE_SECS,
    };
    let verified =
        sdjwt::verify(presentation, |_, _| Ok(key), &expect).map_err(|e| bad_credential(e.code(), e.to_string()))?;
    if council::query::accredited(state, &housing, &seen.vct)?.is_none() {
        return Err(bad_credential("not_accredited", format!("{housing} is not accredited for {}", seen.vct)));
    }
    let Some(kind) = credentials::query::credential_type(state, &housing, &seen.vct)? else {
        return Err(bad_credential("unknown_credential_type", format!("{housing} defined no type {}", seen.vct)));
    };
    let index = seen
        .status_index
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| bad_credential("no_status", "the certificate has no status list entry"))?;
    let Some((anchor, status)) = credentials::query::anchor_with_status(state, &housing, index)? else {
        return Err(bad_credential("unanchored_credential", format!("nothing is anchored at entry {index}")));
    };
    if anchor.commitment != Hash(seen.commitment) || anchor.vct != seen.vct {
        return Err(bad_credential("commitment_mismatch", "the certificate is not the one anchored at its entry"));
    }
    match status {
        CredentialStatus::Valid => {}
        CredentialStatus::Revoked => return Err(bad_credential("credential_revoked", "the department revoked it")),
        CredentialStatus::Suspended => {
            return Err(bad_credential("credential_suspended", "the department suspended it"));
        }
    }
    if !kind.policy.allows(OrgKind::Department, &verified.disclosed) {
        return Err(bad_credential("policy_forbids", "the policy keeps these claims from the housing department"));
    }
    let verification = credentials::Verification {
        verifier: &housing,
        issuer: &housing,
        vct: &seen.vct,
        purpose: LISTING_PURPOSE,
        disclosed: &verified.disclosed,
    };
    match consent {
        Some(id) => credentials::use_consent_for(state, id, &verification, cx.block.height)?,
        None if kind.policy.holder_consent => {
            return Err(bad_credential(
                "consent_required",
                format!("the policy requires the holder's consent to {housing} for `{LISTING_PURPOSE}`"),
            ));
        }
        None => {}
    }
    let claim = |name: &str| verified.claims.get(name);
    let reference = claim("property_id")
        .and_then(|v| v.as_str())
        .filter(|r| {
            !r.is_empty()
                && r.len() <= PROPERTY_REF_BYTES_MAX
                && r.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
        })
        .ok_or_else(|| bad_credential("no_property_id", "the presentation discloses no usable property_id"))?
        .to_owned();
    let owner: Did = claim("sub")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad_credential("no_owner", "the certificate's sub is not the owner's DID"))?;
    let holder = verified.holder.ok_or_else(|| bad_credential("key_binding_missing", "no holder key (cnf)"))?;
    if !is_own_key(state, &owner, &holder)? {
        return Err(Error::NotTheOwner("the key binding is not the owner's key").into());
    }
    let address = claim("address")
        .and_then(|v| v.as_str())
        .filter(|a| text_ok(a, civitas_types::rental::ADDRESS_BYTES_MAX))
        .map(str::to_owned);
    let floor_area_m2 = claim("floor_area").and_then(|v| v.as_u64()).and_then(|a| u32::try_from(a).ok());
    Ok(Certificate {
        housing,
        vct: seen.vct,
        owner,
        reference,
        address,
        floor_area_m2,
        disclosed: verified.disclosed,
        holder_ref: Hash::digest(&holder.thumbprint()),
        presentation: Hash(seen.presentation),
    })
}

fn check_listing_terms(t: &ListingTerms) -> Outcome {
    if !text_ok(&t.title, TITLE_BYTES_MAX) {
        return Err(Error::BadTerms("a title of 1 to 160 bytes").into());
    }
    if t.rent == 0 {
        return Err(Error::BadTerms("rent above zero").into());
    }
    if !(1..=120).contains(&t.min_term_months) {
        return Err(Error::BadTerms("a minimum term of 1 to 120 months").into());
    }
    let distinct: BTreeSet<&str> = t.includes.iter().map(|i| i.name()).collect();
    if distinct.len() != t.includes.len() {
        return Err(Error::BadTerms("each inclusion at most once").into());
    }
    Ok(())
}

/// `list_property`. Permission: the owner the certificate names, or an official of the agent
/// `by` its key binding names.
fn list_property(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (presentation, consent, terms, by): (&str, Option<u64>, &ListingTerms, Option<&Did>),
) -> Outcome<Option<OfficialAct>> {
    let me = accounts::signer_did(state, cx)?;
    let act = match by {
        Some(agent) => Some(orgs::official(state, cx, agent)?.0),
        None => None,
    };
    check_listing_terms(terms)?;
    let lister = by.copied().unwrap_or(me);
    let cert = verify_certificate(state, cx, presentation, consent, &lister)?;
    if by.is_none() && cert.owner != me {
        return Err(Error::NotTheOwner("the certificate names another owner").into());
    }
    let at = now(cx);
    let mut prop = match query::property_by_ref(state, &cert.housing, &cert.reference)? {
        Some(id) => property(state, id)?,
        None => {
            let id = counters::next(state, NEXT_PROPERTY_KEY)?;
            state.put(property_ref_key(&cert.housing, &cert.reference), id.to_be_bytes().to_vec());
            Property {
                id,
                housing: cert.housing,
                reference: cert.reference.clone(),
                address: String::new(),
                floor_area_m2: None,
                owner: cert.owner,
                listing: None,
                lease: None,
                registered_at: at,
            }
        }
    };
    if let Some(active) = prop.listing {
        return Err(Error::AlreadyListed { property: prop.id, listing: active }.into());
    }
    if state.get(&used_key(&cert.presentation))?.is_some() {
        return Err(Error::PresentationUsed.into());
    }
    state.put(used_key(&cert.presentation), vec![1]);
    let id = counters::next(state, NEXT_LISTING_KEY)?;
    prop.owner = cert.owner;
    prop.listing = Some(id);
    if let Some(a) = cert.address {
        prop.address = a;
    }
    if cert.floor_area_m2.is_some() {
        prop.floor_area_m2 = cert.floor_area_m2;
    }
    state.put(property_key(prop.id), prop.encode());
    let record = Listing {
        id,
        property: prop.id,
        landlord: cert.owner,
        agent: by.copied(),
        terms: terms.clone(),
        status: ListingStatus::Active,
        listed_at: at,
        ended_at: None,
        presentation: cert.presentation,
        height: cx.block.height,
    };
    state.put(listing_key(id), record.encode());
    append(state, RentalList::Listings, id.to_be_bytes().to_vec())?;
    history(state, cx, prop.id, (HistoryKind::Listed, id, 0))?;
    let entry = AccessEntry {
        verifier: cert.housing,
        official: me,
        issuer: cert.housing,
        vct: cert.vct,
        purpose: LISTING_PURPOSE.to_owned(),
        consent,
        holder_ref: cert.holder_ref,
        presentation: cert.presentation,
        disclosed: cert.disclosed,
        outcome: "ok".to_owned(),
        height: cx.block.height,
        timestamp_ms: cx.block.timestamp_ms,
    };
    credentials::log_access(state, &entry)?;
    Ok(act)
}

/// `withdraw_listing`. Permission: the landlord, or an official of the listing's agent `by`.
fn withdraw_listing(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, by): (u64, Option<&Did>),
) -> Outcome<Option<OfficialAct>> {
    let mut l = listing(state, id)?;
    let act = match by {
        Some(agent) => {
            let act = orgs::official(state, cx, agent)?.0;
            if l.agent != Some(*agent) {
                return Err(Error::NotAParty("the agent did not list it").into());
            }
            Some(act)
        }
        None => {
            if accounts::signer_did(state, cx)? != l.landlord {
                return Err(Error::NotAParty("only the landlord or its agent withdraws a listing").into());
            }
            None
        }
    };
    if l.status != ListingStatus::Active {
        return Err(Error::ListingNotActive { listing: id, status: l.status }.into());
    }
    l.status = ListingStatus::Withdrawn;
    l.ended_at = Some(now(cx));
    state.put(listing_key(id), l.encode());
    let mut prop = property(state, l.property)?;
    prop.listing = None;
    state.put(property_key(prop.id), prop.encode());
    history(state, cx, l.property, (HistoryKind::Withdrawn, id, 0))?;
    Ok(act)
}

/// Checks terms a party proposes at `at`: rent above zero, an end after the start and after
/// `at`, 1 to [`PERIODS_MAX`] periods, claim days in range, and a lock the landlord owns.
fn check_lease_terms(state: &impl StateRead, t: &LeaseTerms, landlord: &Did, at: u64) -> Outcome {
    if t.rent == 0 {
        return Err(Error::BadTerms("rent above zero").into());
    }
    if t.end <= t.start || t.end <= at {
        return Err(Error::BadTerms("an end after the start and in the future").into());
    }
    if t.periods() > PERIODS_MAX {
        return Err(Error::BadTerms("at most 520 rent periods").into());
    }
    if !CLAIM_DAYS.contains(&t.claim_days) {
        return Err(Error::BadTerms("claim days of 1 to 90").into());
    }
    if let Some(lock) = &t.lock {
        passports::entry_capabilities(state, lock, landlord)
            .map_err(|_| Error::NotALock("the landlord's own live lock, whose model declares unlock"))?;
    }
    Ok(())
}

/// `offer_lease`. Permission: the listing's landlord.
fn offer_lease(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (listing_id, tenant, terms): (u64, &Did, &LeaseTerms),
) -> Outcome {
    let me = accounts::signer_did(state, cx)?;
    let l = listing(state, listing_id)?;
    if l.landlord != me {
        return Err(Error::NotAParty("only the landlord offers a lease").into());
    }
    if l.status != ListingStatus::Active {
        return Err(Error::ListingNotActive { listing: listing_id, status: l.status }.into());
    }
    if *tenant == me {
        return Err(Error::BadTerms("a tenant other than the landlord").into());
    }
    if accounts::query::account(state, tenant)?.is_none() {
        return Err(ExecError::UnknownAccount(*tenant).into());
    }
    let at = now(cx);
    check_lease_terms(state, terms, &me, at)?;
    let prop = property(state, l.property)?;
    let id = counters::next(state, NEXT_LEASE_KEY)?;
    let record = Lease {
        id,
        property: l.property,
        listing: listing_id,
        landlord: me,
        tenant: *tenant,
        housing: prop.housing,
        status: LeaseStatus::Offered,
        version: 0,
        latest: 1,
        terms: terms.clone(),
        rent: vec![],
        filing: String::new(),
        filed_at: None,
        paid: 0,
        to_landlord: 0,
        rent_escrow: 0,
        refunded: 0,
        deposit: Deposit { held: 0, claimed: None, claim_reason: String::new(), claim_until: None, released: None },
        termination: None,
        dispute: None,
        ended_at: None,
        height: cx.block.height,
    };
    put_lease(state, &record);
    put_version(
        state,
        &LeaseVersion {
            lease: id,
            version: 1,
            terms: terms.clone(),
            proposed_by: me,
            proposed_at: at,
            signed_at: None,
            superseded: false,
        },
    );
    append(state, RentalList::Leases(me), id.to_be_bytes().to_vec())?;
    append(state, RentalList::Leases(*tenant), id.to_be_bytes().to_vec())?;
    history(state, cx, l.property, (HistoryKind::Offered, id, 1))
}

/// The lease, whose party signs; and that party.
fn party_lease(state: &impl StateRead, cx: &Context<'_>, id: u64) -> Outcome<(Lease, Did)> {
    let l = lease(state, id)?;
    let me = accounts::signer_did(state, cx)?;
    if !l.is_party(&me) {
        return Err(Error::NotAParty("only the landlord or the tenant").into());
    }
    Ok((l, me))
}

/// Whether the lease has ended by `at`: terminated, or past its end.
fn ended(l: &Lease, at: u64) -> bool {
    l.status == LeaseStatus::Terminated || (l.status == LeaseStatus::Active && at >= l.terms.end)
}

/// An active lease that has not run out.
fn live(l: &Lease, at: u64) -> Outcome {
    match l.status {
        LeaseStatus::Active if at < l.terms.end => Ok(()),
        LeaseStatus::Active | LeaseStatus::Terminated => Err(Error::LeaseEnded(l.id).into()),
        status => Err(Error::LeaseState { lease: l.id, status, needs: "signed by both" }.into()),
    }
}

/// `amend_lease`. Permission: either party; the other signs.
fn amend_lease(state: &mut TxState<'_, '_>, cx: &Context<'_>, (id, terms): (u64, &LeaseTerms)) -> Outcome {
    let (mut l, me) = party_lease(state, cx, id)?;
    let at = now(cx);
    live(&l, at)?;
    if terms.start != l.terms.start || terms.period != l.terms.period {
        return Err(Error::BadTerms("an amendment keeps the start and the rent period").into());
    }
    check_lease_terms(state, terms, &l.landlord, at)?;
    if l.latest >= VERSIONS_MAX {
        return Err(Error::TooManyVersions(VERSIONS_MAX).into());
    }
    if l.latest > l.version
        && let Some(mut pending) = query::version(state, id, l.latest)?
    {
        pending.superseded = true;
        put_version(state, &pending);
    }
    l.latest += 1;
    put_version(
        state,
        &LeaseVersion {
            lease: id,
            version: l.latest,
            terms: terms.clone(),
            proposed_by: me,
            proposed_at: at,
            signed_at: None,
            superseded: false,
        },
    );
    put_lease(state, &l);
    Ok(())
}

/// Where the auto-release sweep is: the day and position it reached.
fn read_cursor(state: &impl StateRead) -> Result<Option<(u64, u64)>, StoreError> {
    match state.get(SWEEP_CURSOR_KEY)? {
        None => Ok(None),
        Some(b) if b.len() == 16 => {
            let day = u64::from_be_bytes(b[..8].try_into().unwrap_or_default());
            let position = u64::from_be_bytes(b[8..].try_into().unwrap_or_default());
            Ok(Some((day, position)))
        }
        Some(_) => Err(StoreError::Corrupt("the rental sweep cursor is not 16 bytes".into())),
    }
}

fn write_cursor(state: &mut TxState<'_, '_>, (day, position): (u64, u64)) {
    state.put(SWEEP_CURSOR_KEY.to_vec(), [day.to_be_bytes(), position.to_be_bytes()].concat());
}

/// Queues lease `id` for the sweep on the day its claim window closes.
fn queue_release(state: &mut TxState<'_, '_>, cx: &Context<'_>, id: u64, claim_until: u64) -> Outcome {
    let day = claim_until / DAY_SECS;
    if read_cursor(state)?.is_none() {
        write_cursor(state, (now(cx) / DAY_SECS, 0));
    }
    let position = counters::next(state, &due_count_key(day))?;
    state.put(due_entry_key(day, position), id.to_be_bytes().to_vec());
    Ok(())
}

/// Sets the deposit's claim window to close `claim_days` after `end`, and queues the sweep.
fn open_claim_window(state: &mut TxState<'_, '_>, cx: &Context<'_>, l: &mut Lease, end: u64) -> Outcome {
    let until = end.saturating_add(u64::from(l.terms.claim_days) * DAY_SECS);
    l.deposit.claim_until = Some(until);
    queue_release(state, cx, l.id, until)
}

fn scene(id: u64) -> String {
    format!("lease-{id}")
}

/// Grants the tenant the lease's lock for its term (if it names one).
fn grant_lock(state: &mut TxState<'_, '_>, cx: &Context<'_>, l: &Lease) -> Outcome {
    if let Some(lock) = &l.terms.lock {
        passports::grant_lease_entry(
            state,
            cx,
            (lock, &l.landlord, &l.tenant),
            (l.terms.start, l.terms.end),
            &scene(l.id),
        )
        .map_err(|_| Error::NotALock("the landlord's own live lock, whose model declares unlock"))?;
    }
    Ok(())
}

fn revoke_lock(state: &mut TxState<'_, '_>, l: &Lease, lock: Option<&civitas_types::device::DeviceId>) -> Outcome {
    if let Some(lock) = lock {
        passports::end_lease_entry(state, lock, &l.tenant, &scene(l.id))?;
    }
    Ok(())
}

/// `sign_lease`. Permission: the party that did not propose the version.
fn sign_lease(state: &mut TxState<'_, '_>, cx: &Context<'_>, (id, version): (u64, u32)) -> Outcome {
    let (mut l, me) = party_lease(state, cx, id)?;
    let at = now(cx);
    let pending = (l.latest > l.version && version == l.latest)
        .then(|| query::version(state, id, version))
        .transpose()?
        .flatten();
    let Some(mut v) = pending else {
        return Err(Error::UnknownVersion { lease: id, version }.into());
    };
    if v.proposed_by == me {
        return Err(Error::AlreadySigned(version).into());
    }
    if version == 1 {
        if l.status != LeaseStatus::Offered {
            return Err(Error::LeaseState { lease: id, status: l.status, needs: "offered" }.into());
        }
        if l.terms.end <= at {
            return Err(Error::BadTerms("the offer's end has passed").into());
        }
        let mut listing_record = listing(state, l.listing)?;
        if listing_record.status != ListingStatus::Active {
            return Err(Error::ListingNotActive { listing: l.listing, status: listing_record.status }.into());
        }
        listing_record.status = ListingStatus::Leased;
        listing_record.ended_at = Some(at);
        state.put(listing_key(l.listing), listing_record.encode());
        let mut prop = property(state, l.property)?;
        prop.listing = None;
        prop.lease = Some(id);
        state.put(property_key(prop.id), prop.encode());
        pay_in(state, &l.tenant, l.terms.deposit)?;
        l.deposit.held = l.terms.deposit;
        let number = counters::next(state, &filing_count_key(&l.housing))? + 1;
        l.filing = format!("{}-{number:06}", year_of(at));
        l.filed_at = Some(at);
        l.status = LeaseStatus::Active;
        l.rent = vec![RentSegment { from_period: 0, rent: l.terms.rent }];
        append(state, RentalList::Filings(l.housing), id.to_be_bytes().to_vec())?;
        let end = l.terms.end;
        open_claim_window(state, cx, &mut l, end)?;
        grant_lock(state, cx, &l)?;
    } else {
        live(&l, at)?;
        let old = l.terms.clone();
        let terms = v.terms.clone();
        // The new rent applies from the first period not yet due.
        let first = l.due_count(at);
        if terms.rent != old.rent {
            l.rent.retain(|s| s.from_period < first);
            l.rent.push(RentSegment { from_period: first, rent: terms.rent });
        }
        l.terms = terms.clone();
        if l.total_rent() < l.paid {
            return Err(Error::BadTerms("the new schedule's rent is less than what was paid").into());
        }
        if terms.deposit > old.deposit {
            pay_in(state, &l.tenant, terms.deposit - old.deposit)?;
        } else {
            pay_out(state, &l.tenant, old.deposit - terms.deposit)?;
        }
        l.deposit.held = terms.deposit;
        if terms.end != old.end || terms.claim_days != old.claim_days {
            open_claim_window(state, cx, &mut l, terms.end)?;
        }
        if terms.lock != old.lock || terms.end != old.end {
            revoke_lock(state, &l, old.lock.as_ref())?;
            grant_lock(state, cx, &l)?;
        }
    }
    l.version = version;
    v.signed_at = Some(at);
    put_version(state, &v);
    put_lease(state, &l);
    history(state, cx, l.property, (HistoryKind::Signed, id, version))
}

/// Moves the escrowed rent that is the landlord's by now (periods due within three months) to
/// the landlord; gives how much.
fn settle_rent(state: &mut TxState<'_, '_>, l: &mut Lease, at: u64) -> Outcome<Amount> {
    let release = l.landlords_share(at).saturating_sub(l.to_landlord).min(l.rent_escrow);
    if release > 0 {
        l.rent_escrow -= release;
        l.to_landlord += release;
        pay_out(state, &l.landlord, release)?;
    }
    Ok(release)
}

/// `pay_rent`. Permission: the tenant.
fn pay_rent(state: &mut TxState<'_, '_>, cx: &Context<'_>, (id, amount): (u64, Amount)) -> Outcome {
    let (mut l, me) = party_lease(state, cx, id)?;
    if me != l.tenant {
        return Err(Error::WrongParty("the tenant").into());
    }
    match l.status {
        LeaseStatus::Active => {}
        LeaseStatus::Terminated => return Err(Error::LeaseEnded(id).into()),
        status => return Err(Error::LeaseState { lease: id, status, needs: "signed by both" }.into()),
    }
    if amount == 0 {
        return Err(Error::ZeroAmount.into());
    }
    let left = l.total_rent().saturating_sub(l.paid);
    if amount > left {
        return Err(Error::Overpayment { asked: amount, left }.into());
    }
    let at = now(cx);
    pay_in(state, &l.tenant, amount)?;
    l.paid += amount;
    l.rent_escrow += amount;
    let released = settle_rent(state, &mut l, at)?;
    let to_landlord = released.min(amount);
    let payment = RentPayment { amount, to_landlord, to_escrow: amount - to_landlord, at, height: cx.block.height };
    append(state, RentalList::Payments(id), payment.encode())?;
    put_lease(state, &l);
    Ok(())
}

/// `collect_rent`. Permission: the landlord.
fn collect_rent(state: &mut TxState<'_, '_>, cx: &Context<'_>, id: u64) -> Outcome {
    let (mut l, me) = party_lease(state, cx, id)?;
    if me != l.landlord {
        return Err(Error::WrongParty("the landlord").into());
    }
    if settle_rent(state, &mut l, now(cx))? == 0 {
        return Err(Error::NothingToCollect.into());
    }
    put_lease(state, &l);
    Ok(())
}

/// Ends an active lease now: rent owed to the termination goes to the landlord, the rest of
/// the escrowed rent back to the tenant; the lock grant ends; the deposit's claim window opens.
fn terminate(state: &mut TxState<'_, '_>, cx: &Context<'_>, l: &mut Lease) -> Outcome {
    let at = now(cx);
    l.status = LeaseStatus::Terminated;
    l.ended_at = Some(at);
    l.termination = None;
    settle_rent(state, l, at)?;
    let refund = l.rent_escrow;
    l.rent_escrow = 0;
    l.refunded += refund;
    pay_out(state, &l.tenant, refund)?;
    revoke_lock(state, l, l.terms.lock.as_ref())?;
    if l.deposit.released.is_none() {
        open_claim_window(state, cx, l, at)?;
    }
    if l.latest > l.version
        && let Some(mut pending) = query::version(state, l.id, l.latest)?
    {
        pending.superseded = true;
        put_version(state, &pending);
        l.latest = l.version;
    }
    Ok(())
}

/// `terminate_lease`. Permission: either party (both, for a signed lease).
fn terminate_lease(state: &mut TxState<'_, '_>, cx: &Context<'_>, (id, reason): (u64, &str)) -> Outcome {
    let (mut l, me) = party_lease(state, cx, id)?;
    reason_ok(reason)?;
    let at = now(cx);
    if l.status == LeaseStatus::Offered {
        l.status = LeaseStatus::Withdrawn;
        l.ended_at = Some(at);
        if let Some(mut v) = query::version(state, id, 1)? {
            v.superseded = true;
            put_version(state, &v);
        }
        put_lease(state, &l);
        return history(state, cx, l.property, (HistoryKind::OfferWithdrawn, id, 0));
    }
    live(&l, at)?;
    match &l.termination {
        Some(r) if r.by == me => return Err(Error::AlreadyRequested.into()),
        Some(_) => {
            terminate(state, cx, &mut l)?;
            history(state, cx, l.property, (HistoryKind::Terminated, id, l.version))?;
        }
        None => l.termination = Some(civitas_types::rental::Request { by: me, reason: reason.to_owned(), at }),
    }
    put_lease(state, &l);
    Ok(())
}

/// `open_dispute`. Permission: either party.
fn open_dispute(state: &mut TxState<'_, '_>, cx: &Context<'_>, (id, reason): (u64, &str)) -> Outcome {
    let (mut l, me) = party_lease(state, cx, id)?;
    reason_ok(reason)?;
    let open = match l.status {
        LeaseStatus::Active | LeaseStatus::Terminated => l.deposit.released.is_none() || !ended(&l, now(cx)),
        _ => false,
    };
    if !open {
        return Err(Error::LeaseState { lease: id, status: l.status, needs: "signed, its deposit not released" }.into());
    }
    if l.dispute.is_some() {
        return Err(Error::DisputeOpen(id).into());
    }
    l.dispute = Some(civitas_types::rental::Request { by: me, reason: reason.to_owned(), at: now(cx) });
    put_lease(state, &l);
    history(state, cx, l.property, (HistoryKind::Disputed, id, l.version))
}

/// Releases the deposit: `to_landlord` to the landlord, the rest to the tenant.
fn release(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    l: &mut Lease,
    to_landlord: Amount,
    kind: ReleaseKind,
) -> Outcome {
    let held = l.deposit.held;
    pay_out(state, &l.landlord, to_landlord)?;
    pay_out(state, &l.tenant, held - to_landlord)?;
    l.deposit.held = 0;
    l.deposit.released = Some(Release { to_landlord, to_tenant: held - to_landlord, kind, at: now(cx) });
    history(state, cx, l.property, (HistoryKind::DepositReleased, l.id, l.version))
}

/// `decide_dispute`. Permission: an official of the housing department the lease is filed with.
fn decide_dispute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, terminate_now, to_landlord, reason, by): (u64, bool, Option<Amount>, &str, &Did),
) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, by)?.0;
    let mut l = lease(state, id)?;
    if l.housing != *by {
        return Err(Error::WrongParty("the housing department the lease is filed with").into());
    }
    reason_ok(reason)?;
    if l.dispute.is_none() {
        return Err(Error::NoDispute(id).into());
    }
    let at = now(cx);
    if terminate_now {
        live(&l, at)?;
        terminate(state, cx, &mut l)?;
    }
    if let Some(amount) = to_landlord {
        if !ended(&l, at) {
            return Err(Error::NotEnded(id).into());
        }
        if l.deposit.released.is_some() {
            return Err(Error::DepositReleased(id).into());
        }
        if amount > l.deposit.held {
            return Err(Error::ExceedsDeposit { asked: amount, held: l.deposit.held }.into());
        }
        release(state, cx, &mut l, amount, ReleaseKind::Decided)?;
    } else if l.deposit.released.is_none() && ended(&l, at) && l.deposit.claim_until.is_some_and(|t| t <= at) {
        // The window closed while the dispute was open: it runs again from the decision.
        open_claim_window(state, cx, &mut l, at)?;
    }
    l.dispute = None;
    put_lease(state, &l);
    history(state, cx, l.property, (HistoryKind::Decided, id, l.version))?;
    Ok(act)
}

/// `claim_deposit`. Permission: the landlord.
fn claim_deposit(state: &mut TxState<'_, '_>, cx: &Context<'_>, (id, amount, reason): (u64, Amount, &str)) -> Outcome {
    let (mut l, me) = party_lease(state, cx, id)?;
    if me != l.landlord {
        return Err(Error::WrongParty("the landlord").into());
    }
    let at = now(cx);
    if !ended(&l, at) {
        return Err(Error::NotEnded(id).into());
    }
    if l.deposit.released.is_some() {
        return Err(Error::DepositReleased(id).into());
    }
    if l.deposit.claimed.is_some() {
        return Err(Error::AlreadyClaimed.into());
    }
    if let Some(until) = l.deposit.claim_until
        && at > until
    {
        return Err(Error::ClaimWindowClosed(until).into());
    }
    if amount > l.deposit.held {
        return Err(Error::ExceedsDeposit { asked: amount, held: l.deposit.held }.into());
    }
    if amount == 0 {
        release(state, cx, &mut l, 0, ReleaseKind::Unclaimed)?;
    } else {
        reason_ok(reason)?;
        l.deposit.claimed = Some(amount);
        l.deposit.claim_reason = reason.to_owned();
    }
    put_lease(state, &l);
    Ok(())
}

/// `accept_claim`. Permission: the tenant.
fn accept_claim(state: &mut TxState<'_, '_>, cx: &Context<'_>, id: u64) -> Outcome {
    let (mut l, me) = party_lease(state, cx, id)?;
    if me != l.tenant {
        return Err(Error::WrongParty("the tenant").into());
    }
    if l.deposit.released.is_some() {
        return Err(Error::DepositReleased(id).into());
    }
    let Some(amount) = l.deposit.claimed else { return Err(Error::NoClaim.into()) };
    release(state, cx, &mut l, amount, ReleaseKind::Agreed)?;
    l.dispute = None;
    put_lease(state, &l);
    Ok(())
}

/// Returns lease `id`'s deposit to the tenant if its claim window has closed with no claim and
/// no dispute open.
fn release_unclaimed(state: &mut TxState<'_, '_>, cx: &Context<'_>, id: u64) -> Outcome {
    let mut l = lease(state, id)?;
    let at = now(cx);
    let due = l.deposit.released.is_none()
        && l.deposit.claimed.is_none()
        && l.dispute.is_none()
        && ended(&l, at)
        && l.deposit.claim_until.is_some_and(|t| t <= at);
    if due {
        release(state, cx, &mut l, 0, ReleaseKind::Automatic)?;
        put_lease(state, &l);
    }
    Ok(())
}

/// Runs at the end of every block: returns to their tenants the deposits whose claim windows
/// closed with no claim, walking the day queues from where the last block stopped, at most
/// [`SWEEP_PER_BLOCK`] steps a block (the rest wait for the next). No transaction, no signer:
/// time comes from the block.
pub(crate) fn release_due(state: &mut BlockState<'_>, block: BlockContext) -> Result<(), StoreError> {
    let Some(start) = read_cursor(state)? else { return Ok(()) };
    let today = block.timestamp_ms / 1000 / DAY_SECS;
    let signer = civitas_types::PublicKey([0; 32]);
    let cx = Context { signer: &signer, chain_id: "", tx_hash: Hash([0; 32]), block, index: 0 };
    let (mut day, mut position) = start;
    let mut steps = 0;
    while steps < SWEEP_PER_BLOCK && day <= today {
        steps += 1;
        if position < read_u64(state, &due_count_key(day))? {
            let entry = state.get(&due_entry_key(day, position))?;
            let Some(id) = entry.and_then(|b| b.as_slice().try_into().ok()).map(u64::from_be_bytes) else {
                return Err(StoreError::Corrupt(format!("rental due queue {day}/{position} is missing")));
            };
            position += 1;
            // Each release is all or nothing, as a transaction is.
            let mut one = state.begin_tx();
            match Failure::split(release_unclaimed(&mut one, &cx, id))? {
                Ok(()) => one.commit(),
                Err(_) => drop(one),
            }
        } else if day < today {
            day += 1;
            position = 0;
        } else {
            break;
        }
    }
    if (day, position) != start {
        let mut tx = state.begin_tx();
        write_cursor(&mut tx, (day, position));
        tx.commit();
    }
    Ok(())
}

/// Runs one of this module's instructions; an official act comes back for the audit trail.
pub(crate) fn execute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    instruction: &RentalInstruction,
) -> Outcome<Option<OfficialAct>> {
    match instruction {
        RentalInstruction::ListProperty { presentation, consent, terms, by } => {
            list_property(state, cx, (presentation, *consent, terms, by.as_ref()))
        }
        RentalInstruction::WithdrawListing { listing, by } => withdraw_listing(state, cx, (*listing, by.as_ref())),
        RentalInstruction::OfferLease { listing, tenant, terms } => {
            unaudited(offer_lease(state, cx, (*listing, tenant, terms)))
        }
        RentalInstruction::AmendLease { lease, terms } => unaudited(amend_lease(state, cx, (*lease, terms))),
        RentalInstruction::SignLease { lease, version } => unaudited(sign_lease(state, cx, (*lease, *version))),
        RentalInstruction::PayRent { lease, amount } => unaudited(pay_rent(state, cx, (*lease, *amount))),
        RentalInstruction::CollectRent { lease } => unaudited(collect_rent(state, cx, *lease)),
        RentalInstruction::TerminateLease { lease, reason } => unaudited(terminate_lease(state, cx, (*lease, reason))),
        RentalInstruction::OpenDispute { lease, reason } => unaudited(open_dispute(state, cx, (*lease, reason))),
        RentalInstruction::DecideDispute { lease, terminate, deposit_to_landlord, reason, by } => {
            audited(decide_dispute(state, cx, (*lease, *terminate, *deposit_to_landlord, reason, by)))
        }
        RentalInstruction::ClaimDeposit { lease, amount, reason } => {
            unaudited(claim_deposit(state, cx, (*lease, *amount, reason)))
        }
        RentalInstruction::AcceptClaim { lease } => unaudited(accept_claim(state, cx, *lease)),
    }
}
