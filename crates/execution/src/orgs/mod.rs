//! Organizations and their officials. An organization is an account (its DID) with an
//! organization record; officials are other accounts with a role in it. The organization's own
//! account is always an admin of itself.
//!
//! Each instruction's permission check sits next to its effect, and every act is recorded in
//! the audit trail.

pub mod query;

use civitas_state::{StoreError, TxState};
use civitas_types::codec::Encode;
use civitas_types::org::{OrgFunction, OrgKind, OrgRole, Organization, org_name_ok};
use civitas_types::{Did, PublicKey};

use crate::{BlockContext, ExecError, accounts};

type Outcome = Result<Result<(), ExecError>, StoreError>;

pub(crate) fn org_key(org: &Did) -> Vec<u8> {
    [b"org/record/".as_slice(), org.as_bytes()].concat()
}

pub(crate) fn member_key(org: &Did, member: &Did) -> Vec<u8> {
    [b"org/member/".as_slice(), org.as_bytes(), member.as_bytes()].concat()
}

/// Who registers an organization of `kind`: the council, or an official of a department with
/// this function.
pub fn registrar(kind: OrgKind) -> Option<OrgFunction> {
    match kind {
        OrgKind::Company | OrgKind::Employer => Some(OrgFunction::MarketRegulation),
        OrgKind::Department | OrgKind::Manufacturer | OrgKind::PaymentProvider => None,
    }
}

/// The signer's DID, if it may act for `org` as an official (any role).
pub(crate) fn official_for(
    state: &TxState<'_, '_>,
    signer: &PublicKey,
    org: &Did,
) -> Result<Result<(Did, OrgRole), ExecError>, StoreError> {
    let Some(account) = accounts::query::account_by_key(state, signer)? else {
        return Ok(Err(ExecError::UnknownSigner));
    };
    match query::role(state, org, &account.did)? {
        Some(role) => Ok(Ok((account.did, role))),
        None => Ok(Err(ExecError::NotAnOfficial(*org))),
    }
}

/// `register_organization`: makes the account `org` an organization of `kind`.
/// Permission: an official of `by`, a department with the function [`registrar`] names for
/// `kind`; kinds the council registers are refused here.
pub(crate) fn register(
    state: &mut TxState<'_, '_>,
    signer: &PublicKey,
    (org, kind, name, by): (&Did, OrgKind, &str, &Did),
    tx_hash: civitas_types::Hash,
    ctx: BlockContext,
) -> Outcome {
    let Some(function) = registrar(kind) else {
        return Ok(Err(ExecError::PermissionDenied("council")));
    };
    let (official, _) = match official_for(state, signer, by)? {
        Ok(o) => o,
        Err(e) => return Ok(Err(e)),
    };
    let registrar_org = query::organization(state, by)?;
    if !registrar_org.is_some_and(|o| o.kind == OrgKind::Department && o.functions.contains(&function)) {
        return Ok(Err(ExecError::PermissionDenied(function.name())));
    }
    if !org_name_ok(name) {
        return Ok(Err(ExecError::BadName));
    }
    if accounts::query::account(state, org)?.is_none() {
        return Ok(Err(ExecError::UnknownAccount(*org)));
    }
    if query::organization(state, org)?.is_some() {
        return Ok(Err(ExecError::AlreadyRegistered));
    }
    let record = Organization {
        kind,
        name: name.to_owned(),
        functions: vec![],
        registered_height: ctx.height,
        registered_by: Some(*by),
    };
    state.put(org_key(org), record.encode());
    crate::audit::record(state, by, &official, "register_organization", tx_hash, ctx).map(|()| Ok(()))
}

/// `set_member`: gives `member` a role in `org`, or removes it.
/// Permission: an admin of `org`.
pub(crate) fn set_member(
    state: &mut TxState<'_, '_>,
    signer: &PublicKey,
    (org, member, role): (&Did, &Did, Option<OrgRole>),
    tx_hash: civitas_types::Hash,
    ctx: BlockContext,
) -> Outcome {
    if query::organization(state, org)?.is_none() {
        return Ok(Err(ExecError::UnknownOrganization(*org)));
    }
    let official = match official_for(state, signer, org)? {
        Ok((did, OrgRole::Admin)) => did,
        Ok(_) => return Ok(Err(ExecError::PermissionDenied("admin"))),
        Err(e) => return Ok(Err(e)),
    };
    if member == org {
        return Ok(Err(ExecError::PermissionDenied("the organization itself is always its admin")));
    }
    if accounts::query::account(state, member)?.is_none() {
        return Ok(Err(ExecError::UnknownAccount(*member)));
    }
    match role {
        Some(r) => state.put(member_key(org, member), r.encode()),
        None => state.delete(member_key(org, member)),
    }
    crate::audit::record(state, org, &official, "set_member", tx_hash, ctx).map(|()| Ok(()))
}

/// A genesis organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisOrganization {
    /// Its account's DID.
    pub did: Did,
    /// Its kind.
    pub kind: OrgKind,
    /// Its name.
    pub name: String,
    /// Its functions.
    pub functions: Vec<OrgFunction>,
}

/// Writes the genesis organizations.
pub fn apply_genesis(state: &mut TxState<'_, '_>, orgs: &[GenesisOrganization]) {
    for o in orgs {
        let record = Organization {
            kind: o.kind,
            name: o.name.clone(),
            functions: o.functions.clone(),
            registered_height: 0,
            registered_by: None,
        };
        state.put(org_key(&o.did), record.encode());
    }
}

#[cfg(test)]
mod tests;
