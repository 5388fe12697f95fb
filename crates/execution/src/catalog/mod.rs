//! The data catalog (`docs/transport-data.md`): an organization registers a dataset (title,
//! schema, content hash, licence, where it is served) and publishes new versions; another
//! organization asks to use it for a purpose; the owner grants it for a number of days, or
//! refuses; the grantee logs each use under its grant while the grant is in force, and the owner
//! lists who used what (`CatalogList::OwnerUses`), as the credentials' access log lets a holder.
//! The data itself stays with its owner, served where the record says: the chain holds who may
//! use it, and who did.
//!
//! Every instruction is an official act of the organization it names (`by`), so all of it is in
//! the audit trail too.

mod error;
pub use error::Error;

/// Who may perform each of this module's instructions (rendered into `docs/permissions.md`;
/// the permission test runs each under every kind of actor).
pub(crate) const PERMISSIONS: &[Rule] = &[
    Rule {
        instruction: "register_dataset",
        target: "a dataset of the organization",
        allowed: &[Actor::DataOwnerOfficial],
    },
    Rule { instruction: "update_dataset", target: "a dataset it owns", allowed: &[Actor::DataOwnerOfficial] },
    Rule { instruction: "retire_dataset", target: "a dataset it owns", allowed: &[Actor::DataOwnerOfficial] },
    Rule {
        instruction: "request_access",
        target: "another organization's dataset, for the organization",
        allowed: &[Actor::DataRequesterOfficial],
    },
    Rule {
        instruction: "decide_access",
        target: "a request for a dataset it owns",
        allowed: &[Actor::DataOwnerOfficial],
    },
    Rule { instruction: "revoke_access", target: "a grant of a dataset it owns", allowed: &[Actor::DataOwnerOfficial] },
    Rule {
        instruction: "record_use",
        target: "a dataset, under the organization's grant",
        allowed: &[Actor::DataRequesterOfficial],
    },
];

pub mod query;
#[cfg(test)]
mod tests;

use civitas_state::{StateRead, TxState};
use civitas_types::catalog::{
    AccessRequest, CatalogList, DataUse, Dataset, DatasetStatus, GRANT_DAYS_MAX, LICENCE_BYTES_MAX, RequestStatus,
    SCHEMA_BYTES_MAX, TEXT_BYTES_MAX, TITLE_BYTES_MAX, dataset_key, endpoint_ok, request_key,
};
use civitas_types::codec::Encode;
use civitas_types::{CatalogInstruction, Did, Hash, text_ok};

use crate::counters;
use crate::permissions::{Actor, Rule};
use crate::{Context, ExecError, OfficialAct, Outcome, audited, orgs};

const NEXT_DATASET_KEY: &[u8] = b"cat/n/dataset";
const NEXT_REQUEST_KEY: &[u8] = b"cat/n/request";
const DAY_SECS: u64 = 86_400;

fn now(cx: &Context<'_>) -> u64 {
    cx.block.timestamp_ms / 1000
}

fn text(t: &str, max: usize, what: &'static str) -> Outcome {
    if text_ok(t, max) { Ok(()) } else { Err(ExecError::BadField(what).into()) }
}

fn endpoint(url: &str) -> Outcome {
    if endpoint_ok(url) {
        Ok(())
    } else {
        Err(ExecError::BadField("endpoint (an https:// URL, at most 256 bytes)").into())
    }
}

fn dataset(state: &impl StateRead, id: u64) -> Outcome<Dataset> {
    Ok(query::dataset(state, id)?.ok_or(Error::UnknownDataset(id))?)
}

fn request(state: &impl StateRead, id: u64) -> Outcome<AccessRequest> {
    Ok(query::request(state, id)?.ok_or(Error::UnknownRequest(id))?)
}

fn append(state: &mut TxState<'_, '_>, list: &CatalogList, value: Vec<u8>) -> Outcome {
    let position = counters::next(state, &list.count_key())?;
    state.put(list.entry_key(position), value);
    Ok(())
}

/// The dataset `id`, which `by` (whose official signs) owns and which is not retired.
fn owned(state: &impl StateRead, cx: &Context<'_>, id: u64, by: &Did) -> Outcome<(Dataset, OfficialAct)> {
    let act = orgs::official(state, cx, by)?.0;
    let d = dataset(state, id)?;
    if d.owner != *by {
        return Err(Error::NotTheOwner(*by, id).into());
    }
    Ok((d, act))
}

/// The registration's fields, as the instruction carries them.
pub(crate) struct Registration<'a> {
    pub(crate) title: &'a str,
    pub(crate) description: &'a str,
    pub(crate) schema: &'a str,
    pub(crate) content_hash: &'a Hash,
    pub(crate) licence: &'a str,
    pub(crate) endpoint: &'a str,
    pub(crate) by: &'a Did,
}

/// `register_dataset`. Permission: an official of the owner `by`.
fn register(state: &mut TxState<'_, '_>, cx: &Context<'_>, r: Registration<'_>) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, r.by)?.0;
    text(r.title, TITLE_BYTES_MAX, "title (1 to 160 bytes)")?;
    text(r.description, TEXT_BYTES_MAX, "description (1 to 1,000 bytes)")?;
    if r.schema.trim().is_empty() || r.schema.len() > SCHEMA_BYTES_MAX {
        return Err(ExecError::BadField("schema (1 byte to 8 KiB)").into());
    }
    text(r.licence, LICENCE_BYTES_MAX, "licence (an SPDX identifier or a URL)")?;
    endpoint(r.endpoint)?;
    let id = counters::next(state, NEXT_DATASET_KEY)?;
    let d = Dataset {
        id,
        owner: *r.by,
        title: r.title.to_owned(),
        description: r.description.to_owned(),
        schema: r.schema.to_owned(),
        content_hash: *r.content_hash,
        licence: r.licence.to_owned(),
        endpoint: r.endpoint.to_owned(),
        version: 1,
        status: DatasetStatus::Active,
        registered_at: now(cx),
        updated_at: now(cx),
    };
    state.put(dataset_key(id), d.encode());
    append(state, &CatalogList::Datasets, id.to_be_bytes().to_vec())?;
    append(state, &CatalogList::Owned(*r.by), id.to_be_bytes().to_vec())?;
    Ok(act)
}

/// `update_dataset`. Permission: an official of the owner.
fn update(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, content_hash, url, by): (u64, &Hash, &str, &Did),
) -> Outcome<OfficialAct> {
    let (mut d, act) = owned(state, cx, id, by)?;
    if d.status == DatasetStatus::Retired {
        return Err(Error::Retired(id).into());
    }
    endpoint(url)?;
    d.content_hash = *content_hash;
    d.endpoint = url.to_owned();
    d.version += 1;
    d.updated_at = now(cx);
    state.put(dataset_key(id), d.encode());
    Ok(act)
}

/// `retire_dataset`. Permission: an official of the owner.
fn retire(state: &mut TxState<'_, '_>, cx: &Context<'_>, (id, by): (u64, &Did)) -> Outcome<OfficialAct> {
    let (mut d, act) = owned(state, cx, id, by)?;
    if d.status == DatasetStatus::Retired {
        return Err(Error::Retired(id).into());
    }
    d.status = DatasetStatus::Retired;
    d.updated_at = now(cx);
    state.put(dataset_key(id), d.encode());
    Ok(act)
}

/// `request_access`. Permission: an official of the requester `by`.
fn request_access(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, purpose, days, by): (u64, &str, u32, &Did),
) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, by)?.0;
    let d = dataset(state, id)?;
    if d.status == DatasetStatus::Retired {
        return Err(Error::Retired(id).into());
    }
    if d.owner == *by {
        return Err(Error::OwnDataset(*by, id).into());
    }
    text(purpose, TEXT_BYTES_MAX, "purpose (1 to 1,000 bytes)")?;
    if !(1..=GRANT_DAYS_MAX).contains(&days) {
        return Err(Error::BadDays(GRANT_DAYS_MAX).into());
    }
    let rid = counters::next(state, NEXT_REQUEST_KEY)?;
    let r = AccessRequest {
        id: rid,
        dataset: id,
        requester: *by,
        requested_by: act.official,
        purpose: purpose.to_owned(),
        days,
        status: RequestStatus::Pending,
        requested_at: now(cx),
        decided_at: None,
        decided_by: None,
        expires_at: None,
        reason: String::new(),
        uses: 0,
    };
    state.put(request_key(rid), r.encode());
    append(state, &CatalogList::Requests(id), rid.to_be_bytes().to_vec())?;
    append(state, &CatalogList::Requested(*by), rid.to_be_bytes().to_vec())?;
    Ok(act)
}

/// `decide_access`. Permission: an official of the dataset's owner.
fn decide(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (rid, grant, days, reason, by): (u64, bool, u32, &str, &Did),
) -> Outcome<OfficialAct> {
    let mut r = request(state, rid)?;
    let (d, act) = owned(state, cx, r.dataset, by)?;
    if r.status != RequestStatus::Pending {
        return Err(Error::Decided { id: rid, status: r.status }.into());
    }
    if grant {
        if d.status == DatasetStatus::Retired {
            return Err(Error::Retired(d.id).into());
        }
        if !(1..=r.days).contains(&days) {
            return Err(Error::BadDays(r.days).into());
        }
        r.status = RequestStatus::Granted;
        r.expires_at = Some(now(cx) + u64::from(days) * DAY_SECS);
    } else {
        if !text_ok(reason, TEXT_BYTES_MAX) {
            return Err(Error::ReasonRequired.into());
        }
        r.status = RequestStatus::Refused;
        r.reason = reason.to_owned();
    }
    r.decided_at = Some(now(cx));
    r.decided_by = Some(act.official);
    state.put(request_key(rid), r.encode());
    Ok(act)
}

/// `revoke_access`. Permission: an official of the dataset's owner.
fn revoke(state: &mut TxState<'_, '_>, cx: &Context<'_>, (rid, reason, by): (u64, &str, &Did)) -> Outcome<OfficialAct> {
    let mut r = request(state, rid)?;
    let (_, act) = owned(state, cx, r.dataset, by)?;
    if r.status != RequestStatus::Granted {
        return Err(Error::NotGranted { id: rid, status: r.status }.into());
    }
    if !text_ok(reason, TEXT_BYTES_MAX) {
        return Err(Error::ReasonRequired.into());
    }
    r.status = RequestStatus::Revoked;
    r.reason = reason.to_owned();
    r.decided_at = Some(now(cx));
    r.decided_by = Some(act.official);
    state.put(request_key(rid), r.encode());
    Ok(act)
}

/// `record_use`. Permission: an official of the grantee `by`, while its grant is in force.
fn record_use(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (rid, note, by): (u64, &str, &Did),
) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, by)?.0;
    let mut r = request(state, rid)?;
    if r.requester != *by {
        return Err(Error::NotTheGrantee(*by, rid).into());
    }
    if r.status != RequestStatus::Granted {
        return Err(Error::NotGranted { id: rid, status: r.status }.into());
    }
    let at = now(cx);
    if let Some(expired_at) = r.expires_at
        && !r.in_force(at)
    {
        return Err(Error::Expired { id: rid, expired_at }.into());
    }
    let d = dataset(state, r.dataset)?;
    if d.status == DatasetStatus::Retired {
        return Err(Error::Retired(d.id).into());
    }
    text(note, TEXT_BYTES_MAX, "note (1 to 1,000 bytes)")?;
    let entry = DataUse {
        dataset: d.id,
        version: d.version,
        grant: rid,
        user: *by,
        official: act.official,
        note: note.to_owned(),
        at,
        height: cx.block.height,
    };
    append(state, &CatalogList::Uses(d.id), entry.encode())?;
    append(state, &CatalogList::OwnerUses(d.owner), entry.encode())?;
    r.uses += 1;
    state.put(request_key(rid), r.encode());
    Ok(act)
}

/// Runs one of this module's instructions; an official act comes back for the audit trail.
pub(crate) fn execute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    instruction: &CatalogInstruction,
) -> Outcome<Option<OfficialAct>> {
    match instruction {
        CatalogInstruction::RegisterDataset { title, description, schema, content_hash, licence, endpoint, by } => {
            let r = Registration { title, description, schema, content_hash, licence, endpoint, by };
            audited(register(state, cx, r))
        }
        CatalogInstruction::UpdateDataset { dataset, content_hash, endpoint, by } => {
            audited(update(state, cx, (*dataset, content_hash, endpoint, by)))
        }
        CatalogInstruction::RetireDataset { dataset, by } => audited(retire(state, cx, (*dataset, by))),
        CatalogInstruction::RequestAccess { dataset, purpose, days, by } => {
            audited(request_access(state, cx, (*dataset, purpose, *days, by)))
        }
        CatalogInstruction::DecideAccess { request, grant, days, reason, by } => {
            audited(decide(state, cx, (*request, *grant, *days, reason, by)))
        }
        CatalogInstruction::RevokeAccess { request, reason, by } => audited(revoke(state, cx, (*request, reason, by))),
        CatalogInstruction::RecordUse { request, note, by } => audited(record_use(state, cx, (*request, note, by))),
    }
}
