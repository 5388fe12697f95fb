//! Credentials (`docs/credentials.md`): accredited issuers define credential types (a JSON
//! Schema of the claims and a policy), anchor a commitment to each credential they issue at an
//! entry of their status list, and revoke or suspend it; holders grant verifiers consent (which
//! the issuer approves where its policy says so) and withdraw it; verifiers record every
//! verification in the access log, which a successful one's consent is counted against. The
//! credentials themselves stay with their holders.

mod error;
pub use error::Error;

/// Who may perform each of this module's instructions (rendered into `docs/permissions.md`;
/// the permission test runs each under every kind of actor).
pub(crate) const PERMISSIONS: &[Rule] = &[
    Rule {
        instruction: "define_credential_type",
        target: "a credential type's schema and policy",
        allowed: &[Actor::IssuerOfficial],
    },
    Rule {
        instruction: "anchor_credential",
        target: "an issued credential's commitment",
        allowed: &[Actor::IssuerOfficial],
    },
    Rule {
        instruction: "set_credential_status",
        target: "an anchored credential's status",
        allowed: &[Actor::IssuerOfficial],
    },
    Rule { instruction: "grant_consent", target: "the signer's own consent, as a holder", allowed: ANY_ACCOUNT },
    Rule {
        instruction: "approve_consent",
        target: "a consent to the issuer's credentials",
        allowed: &[Actor::IssuerOfficial],
    },
    Rule {
        instruction: "withdraw_consent",
        target: "a consent (the account / DID itself: its holder)",
        allowed: &[Actor::Owner],
    },
    Rule {
        instruction: "record_access",
        target: "the access log, for the verifier (the market-regulation department)",
        allowed: &[Actor::OrgAdmin, Actor::MarketRegulationOfficer],
    },
];

pub mod query;

use crate::permissions::{ANY_ACCOUNT, Actor, Rule};
use civitas_state::{StateRead, StoreError, TxState};
use civitas_types::codec::Encode;
use civitas_types::credential::{
    AccessEntry, Anchor, Approval, CLAIMS_MAX, CONSENT_TTL_MAX, CONSENT_USES_MAX, Consent, CredentialPolicy,
    CredentialStatus, CredentialType, OUTCOME_BYTES_MAX, PURPOSE_BYTES_MAX, SCHEMA_BYTES_MAX, STATUS_LIST_SIZE,
    access_key, anchor_key, claim_name_ok, consent_key, set_in_chunk, status_chunk_key, type_key,
};
use civitas_types::text_ok;
use civitas_types::{CredentialInstruction, Did, Hash};

use crate::counters::{self, next};
use crate::{BlockContext, Context, ExecError, OfficialAct, Outcome, accounts, audited, council, orgs, unaudited};

const NEXT_CONSENT_KEY: &[u8] = b"cred/next-consent";
const ACCESS_COUNT_KEY: &[u8] = b"cred/access-count";

fn count_key(list: &[u8], owner: &[u8]) -> Vec<u8> {
    [b"cred/list-count/".as_slice(), list, owner].concat()
}

fn entry_key(list: &[u8], owner: &[u8], position: u64) -> Vec<u8> {
    [b"cred/list/".as_slice(), list, owner, &position.to_be_bytes()].concat()
}

/// The lists kept: a holder's consents (by DID), a holder's access-log entries (by holder
/// reference), a verifier's access-log entries (by DID).
pub(crate) const HOLDER_CONSENTS: &[u8] = b"holder-consents/";
pub(crate) const HOLDER_ACCESS: &[u8] = b"holder-access/";
pub(crate) const VERIFIER_ACCESS: &[u8] = b"verifier-access/";

fn append(state: &mut TxState<'_, '_>, list: &[u8], owner: &[u8], value: u64) -> Result<(), StoreError> {
    counters::append(state, &count_key(list, owner), |p| entry_key(list, owner, p), value)
}

fn claims_ok(claims: &[String]) -> bool {
    claims.len() <= CLAIMS_MAX && claims.iter().all(|c| claim_name_ok(c))
}

/// Whether a schema is plausible: 1 to 16 KiB of text with no control characters but
/// whitespace. (Execution knows no JSON; clients check it is a JSON Schema.)
fn schema_ok(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() <= SCHEMA_BYTES_MAX
        && !schema.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// `define_credential_type`: the issuer's type `vct`, its schema and policy.
/// Permission: an official of `by`, which the council accredited for `vct`.
pub(crate) fn define_type(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (vct, schema, policy, by): (&str, &str, &CredentialPolicy, &Did),
) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, by)?.0;
    if council::query::accredited(state, by, vct)?.is_none() {
        return Err(Error::NotAccredited { issuer: *by, vct: vct.to_owned() }.into());
    }
    if !schema_ok(schema) {
        return Err(ExecError::BadField("schema (1 to 16 KiB of text)").into());
    }
    if !policy.rules.iter().all(|r| !r.claims.is_empty() && claims_ok(&r.claims)) {
        return Err(ExecError::BadField("policy rule claims").into());
    }
    let record = CredentialType { schema: schema.to_owned(), policy: policy.clone(), height: cx.block.height };
    state.put(type_key(by, vct), record.encode());
    Ok(act)
}

/// `anchor_credential`: a commitment to an issued credential at an unused status entry.
/// Permission: an official of `by`, which defined the type.
pub(crate) fn anchor(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (vct, commitment, index, by): (&str, &Hash, u32, &Did),
) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, by)?.0;
    if query::credential_type(state, by, vct)?.is_none() {
        return Err(Error::UnknownCredentialType(vct.to_owned()).into());
    }
    if index >= STATUS_LIST_SIZE || state.get(&anchor_key(by, index))?.is_some() {
        return Err(Error::StatusIndex(index).into());
    }
    let record = Anchor { commitment: *commitment, vct: vct.to_owned(), height: cx.block.height };
    state.put(anchor_key(by, index), record.encode());
    Ok(act)
}

/// `set_credential_status`: suspend, reinstate or revoke (for good) an anchored credential.
/// Permission: an official of its issuer `by`.
pub(crate) fn set_status(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (index, status, by): (u32, CredentialStatus, &Did),
) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, by)?.0;
    if index >= STATUS_LIST_SIZE || state.get(&anchor_key(by, index))?.is_none() {
        return Err(Error::Unanchored(index).into());
    }
    let key = status_chunk_key(by, index);
    let chunk = state.get(&key)?;
    if civitas_types::credential::status_in_chunk(chunk.as_deref(), index) == Some(CredentialStatus::Revoked) {
        return Err(Error::Revoked.into());
    }
    state.put(key, set_in_chunk(chunk, index, status));
    Ok(act)
}

/// The consent fields a holder supplies.
pub(crate) struct GrantArgs<'a> {
    pub(crate) verifier: &'a Did,
    pub(crate) issuer: &'a Did,
    pub(crate) vct: &'a str,
    pub(crate) purpose: &'a str,
    pub(crate) claims: &'a [String],
    pub(crate) ttl_blocks: u64,
    pub(crate) max_uses: u32,
}

/// `grant_consent`: the signer consents that a verifier see some claims of its credentials of
/// one type, for a purpose, a number of times, for a while. Pending the issuer's approval
/// where its policy requires one.
/// Permission: any account, for itself (it is the holder).
pub(crate) fn grant(state: &mut TxState<'_, '_>, cx: &Context<'_>, a: GrantArgs<'_>) -> Outcome {
    let Some(holder) = accounts::query::account_by_key(state, cx.signer)? else {
        return Err(ExecError::UnknownSigner.into());
    };
    let Some(verifier) = orgs::query::organization(state, a.verifier)? else {
        return Err(orgs::Error::UnknownOrganization(*a.verifier).into());
    };
    let Some(kind) = query::credential_type(state, a.issuer, a.vct)? else {
        return Err(Error::UnknownCredentialType(a.vct.to_owned()).into());
    };
    if a.claims.is_empty() || !claims_ok(a.claims) {
        return Err(ExecError::BadField("claims (1 to 64 names)").into());
    }
    if !text_ok(a.purpose, PURPOSE_BYTES_MAX) {
        return Err(ExecError::BadField("purpose").into());
    }
    if a.ttl_blocks == 0 || a.ttl_blocks > CONSENT_TTL_MAX {
        return Err(ExecError::BadField("ttl_blocks").into());
    }
    if a.max_uses == 0 || a.max_uses > CONSENT_USES_MAX {
        return Err(ExecError::BadField("max_uses").into());
    }
    if !kind.policy.allows(verifier.kind, a.claims) {
        return Err(Error::PolicyForbids("these claims are not for this kind of verifier").into());
    }
    let id = next(state, NEXT_CONSENT_KEY)?;
    let consent = Consent {
        holder: holder.did,
        verifier: *a.verifier,
        issuer: *a.issuer,
        vct: a.vct.to_owned(),
        purpose: a.purpose.to_owned(),
        claims: a.claims.to_vec(),
        expires_height: cx.block.height.saturating_add(a.ttl_blocks),
        max_uses: a.max_uses,
        uses: 0,
        approval: if kind.policy.issuer_approval { Approval::Pending } else { Approval::NotRequired },
        withdrawn: None,
        granted_height: cx.block.height,
    };
    state.put(consent_key(id), consent.encode());
    append(state, HOLDER_CONSENTS, holder.did.as_bytes(), id)?;
    Ok(())
}

fn load_consent(state: &impl StateRead, id: u64) -> Outcome<Consent> {
    Ok(query::consent(state, id)?.ok_or(Error::UnknownConsent(id))?)
}

/// Why a consent cannot be used or approved at `height`, if it cannot.
fn closed(consent: &Consent, height: u64) -> Option<&'static str> {
    if consent.withdrawn.is_some() {
        Some("consent_withdrawn")
    } else if height > consent.expires_height {
        Some("consent_expired")
    } else if consent.uses >= consent.max_uses {
        Some("consent_used_up")
    } else {
        None
    }
}

/// `approve_consent`: the issuer approves a consent its policy requires it to approve.
/// Permission: an official of `by`, the consent's issuer.
pub(crate) fn approve(state: &mut TxState<'_, '_>, cx: &Context<'_>, (id, by): (u64, &Did)) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, by)?.0;
    let mut consent = load_consent(state, id)?;
    if consent.issuer != *by {
        return Err(ExecError::PermissionDenied("the consent's issuer").into());
    }
    if let Some(why) = closed(&consent, cx.block.height) {
        return Err(Error::ConsentUnusable { id, why }.into());
    }
    if consent.approval != Approval::Pending {
        return Err(Error::ConsentUnusable { id, why: "consent_not_pending" }.into());
    }
    consent.approval = Approval::Approved(cx.block.height);
    state.put(consent_key(id), consent.encode());
    Ok(act)
}

/// `withdraw_consent`: the holder withdraws a consent, at once and for good.
/// Permission: the consent's holder.
pub(crate) fn withdraw(state: &mut TxState<'_, '_>, cx: &Context<'_>, id: u64) -> Outcome {
    let Some(account) = accounts::query::account_by_key(state, cx.signer)? else {
        return Err(ExecError::UnknownSigner.into());
    };
    let mut consent = load_consent(state, id)?;
    if consent.holder != account.did {
        return Err(Error::NotTheHolder.into());
    }
    if consent.withdrawn.is_some() {
        return Err(Error::ConsentUnusable { id, why: "consent_withdrawn" }.into());
    }
    consent.withdrawn = Some(cx.block.height);
    state.put(consent_key(id), consent.encode());
    Ok(())
}

/// The access-log fields a verifier supplies.
pub(crate) struct AccessArgs<'a> {
    pub(crate) issuer: &'a Did,
    pub(crate) vct: &'a str,
    pub(crate) purpose: &'a str,
    pub(crate) consent: Option<u64>,
    pub(crate) holder_ref: &'a Hash,
    pub(crate) presentation: &'a Hash,
    pub(crate) disclosed: &'a [String],
    pub(crate) outcome: &'a str,
    pub(crate) by: &'a Did,
}

/// A verification a consent must cover.
#[derive(Debug, Clone, Copy)]
pub struct Verification<'a> {
    /// The verifier organization.
    pub verifier: &'a Did,
    /// The credential's issuer.
    pub issuer: &'a Did,
    /// Its type.
    pub vct: &'a str,
    /// Why the verifier looks.
    pub purpose: &'a str,
    /// The disclosed claims' names.
    pub disclosed: &'a [String],
}

/// Whether consent `id` covers `v` in a block at `height`: the same verifier, issuer, type and
/// purpose, only consented claims, not withdrawn, expired or used up, and approved where the
/// policy asked. The state machine (`record_access`) and the verification endpoint both use it.
pub fn covers(consent: &Consent, id: u64, v: &Verification<'_>, height: u64) -> Result<(), Error> {
    if consent.verifier != *v.verifier || consent.issuer != *v.issuer || consent.vct != v.vct {
        return Err(Error::ConsentMismatch("another verifier, issuer or credential type"));
    }
    if consent.purpose != v.purpose {
        return Err(Error::ConsentMismatch("another purpose"));
    }
    if !v.disclosed.iter().all(|c| consent.claims.contains(c)) {
        return Err(Error::ConsentMismatch("claims the holder did not consent to"));
    }
    if let Some(why) = closed(consent, height) {
        return Err(Error::ConsentUnusable { id, why });
    }
    if consent.approval == Approval::Pending {
        return Err(Error::ConsentUnusable { id, why: "consent_not_approved" });
    }
    Ok(())
}

/// Checks that consent `id` covers a successful verification by `a.by`, and counts it.
fn use_consent(state: &mut TxState<'_, '_>, id: u64, a: &AccessArgs<'_>, ctx: BlockContext) -> Outcome {
    let verification =
        Verification { verifier: a.by, issuer: a.issuer, vct: a.vct, purpose: a.purpose, disclosed: a.disclosed };
    use_consent_for(state, id, &verification, ctx.height)
}

/// Checks that consent `id` covers `v` at `height`, and counts one use of it: every
/// verification on chain that a consent allows (an access-log entry, a rental listing).
pub(crate) fn use_consent_for(state: &mut TxState<'_, '_>, id: u64, v: &Verification<'_>, height: u64) -> Outcome {
    let mut consent = load_consent(state, id)?;
    covers(&consent, id, v, height)?;
    consent.uses += 1;
    state.put(consent_key(id), consent.encode());
    Ok(())
}

/// Appends `entry` to the access log, listed under its holder reference and its verifier.
pub(crate) fn log_access(state: &mut TxState<'_, '_>, entry: &AccessEntry) -> Outcome {
    let n = next(state, ACCESS_COUNT_KEY)?;
    state.put(access_key(n), entry.encode());
    append(state, HOLDER_ACCESS, &entry.holder_ref.0, n)?;
    append(state, VERIFIER_ACCESS, entry.verifier.as_bytes(), n)?;
    Ok(())
}

/// `record_access`: a verification, successful (`ok`) or not, in the access log. A successful
/// one must be allowed by the issuer's policy and, where it requires, covered by the holder's
/// consent, which it uses once.
/// Permission: an official of the verifier `by`.
pub(crate) fn record_access(state: &mut TxState<'_, '_>, cx: &Context<'_>, a: AccessArgs<'_>) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, a.by)?.0;
    let Some(verifier) = orgs::query::organization(state, a.by)? else {
        return Err(orgs::Error::UnknownOrganization(*a.by).into());
    };
    let Some(kind) = query::credential_type(state, a.issuer, a.vct)? else {
        return Err(Error::UnknownCredentialType(a.vct.to_owned()).into());
    };
    if !text_ok(a.purpose, PURPOSE_BYTES_MAX) || !claims_ok(a.disclosed) {
        return Err(ExecError::BadField("purpose or disclosed claims").into());
    }
    let outcome_ok = !a.outcome.is_empty()
        && a.outcome.len() <= OUTCOME_BYTES_MAX
        && a.outcome.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if !outcome_ok {
        return Err(ExecError::BadField("outcome (`ok` or an error code)").into());
    }
    if a.outcome == "ok" {
        if !kind.policy.allows(verifier.kind, a.disclosed) {
            return Err(Error::PolicyForbids("these claims are not for this kind of verifier").into());
        }
        match a.consent {
            Some(id) => {
                use_consent(state, id, &a, cx.block)?;
            }
            None if kind.policy.holder_consent => {
                return Err(Error::PolicyForbids("the holder's consent is required").into());
            }
            None => {}
        }
    } else if let Some(id) = a.consent
        && query::consent(state, id)?.is_none()
    {
        return Err(Error::UnknownConsent(id).into());
    }
    let entry = AccessEntry {
        verifier: *a.by,
        official: act.official,
        issuer: *a.issuer,
        vct: a.vct.to_owned(),
        purpose: a.purpose.to_owned(),
        consent: a.consent,
        holder_ref: *a.holder_ref,
        presentation: *a.presentation,
        disclosed: a.disclosed.to_vec(),
        outcome: a.outcome.to_owned(),
        height: cx.block.height,
        timestamp_ms: cx.block.timestamp_ms,
    };
    log_access(state, &entry)?;
    Ok(act)
}

/// Runs one of this module's instructions; an official act comes back for the audit trail.
pub(crate) fn execute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    instruction: &CredentialInstruction,
) -> Outcome<Option<OfficialAct>> {
    match instruction {
        CredentialInstruction::DefineCredentialType { vct, schema, policy, by } => {
            audited(define_type(state, cx, (vct, schema, policy, by)))
        }
        CredentialInstruction::AnchorCredential { vct, commitment, status_index, by } => {
            audited(anchor(state, cx, (vct, commitment, *status_index, by)))
        }
        CredentialInstruction::SetCredentialStatus { status_index, status, by } => {
            audited(set_status(state, cx, (*status_index, *status, by)))
        }
        CredentialInstruction::GrantConsent { verifier, issuer, vct, purpose, claims, ttl_blocks, max_uses } => {
            let args =
                GrantArgs { verifier, issuer, vct, purpose, claims, ttl_blocks: *ttl_blocks, max_uses: *max_uses };
            unaudited(grant(state, cx, args))
        }
        CredentialInstruction::ApproveConsent { consent, by } => audited(approve(state, cx, (*consent, by))),
        CredentialInstruction::WithdrawConsent { consent } => unaudited(withdraw(state, cx, *consent)),
        CredentialInstruction::RecordAccess {
            issuer,
            vct,
            purpose,
            consent,
            holder_ref,
            presentation,
            disclosed,
            outcome,
            by,
        } => {
            let args = AccessArgs {
                issuer,
                vct,
                purpose,
                consent: *consent,
                holder_ref,
                presentation,
                disclosed,
                outcome,
                by,
            };
            audited(record_access(state, cx, args))
        }
    }
}

#[cfg(test)]
mod tests;
