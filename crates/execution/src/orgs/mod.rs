//! Organizations and their officials. An organization is an account (its DID) with an
//! organization record; officials are other accounts with a role in it. The organization's own
//! account is always an admin of itself.
//!
//! Each instruction's permission check sits next to its effect, and every act is recorded in
//! the audit trail.

mod error;
pub use error::Error;

/// Who may perform each of this module's instructions (rendered into `docs/permissions.md`;
/// the permission test runs each under every kind of actor).
pub(crate) const PERMISSIONS: &[Rule] = &[
    Rule {
        instruction: "register_organization",
        target: "a company or employer (departments, manufacturers, payment providers: the council)",
        allowed: &[Actor::OrgAdmin, Actor::MarketRegulationOfficer],
    },
    Rule { instruction: "set_member", target: "an organization's officials", allowed: &[Actor::OrgAdmin] },
];

pub mod query;

use crate::permissions::{Actor, Rule};
use civitas_state::{StateRead, TxState};
use civitas_types::codec::Encode;
use civitas_types::org::{OrgFunction, OrgKind, OrgRole, Organization, org_name_ok};
use civitas_types::{Did, OrgInstruction};

use crate::{Context, ExecError, OfficialAct, Outcome, accounts, audited};

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

/// The check every official act starts with: the signer's account is an official of `org`
/// (any role). Gives the act the audit trail will record, and the role.
pub(crate) fn official(state: &impl StateRead, cx: &Context<'_>, org: &Did) -> Outcome<(OfficialAct, OrgRole)> {
    let Some(account) = accounts::query::account_by_key(state, cx.signer)? else {
        return Err(ExecError::UnknownSigner.into());
    };
    match query::role(state, org, &account.did)? {
        Some(role) => Ok((OfficialAct { org: *org, official: account.did }, role)),
        None => Err(Error::NotAnOfficial(*org).into()),
    }
}

/// [`official`], for an organization that `fits` (a kind or a function); refused as needing
/// `what` otherwise.
pub(crate) fn official_of(
    state: &impl StateRead,
    cx: &Context<'_>,
    org: &Did,
    fits: impl FnOnce(&Organization) -> bool,
    what: &'static str,
) -> Outcome<OfficialAct> {
    let (act, _) = official(state, cx, org)?;
    match query::organization(state, org)? {
        Some(o) if fits(&o) => Ok(act),
        _ => Err(ExecError::PermissionDenied(what).into()),
    }
}

/// `register_organization`: makes the account `org` an organization of `kind`.
/// Permission: an official of `by`, a department with the function [`registrar`] names for
/// `kind`; kinds the council registers are refused here.
pub(crate) fn register(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (org, kind, name, by): (&Did, OrgKind, &str, &Did),
) -> Outcome<OfficialAct> {
    let Some(function) = registrar(kind) else {
        return Err(ExecError::PermissionDenied("council").into());
    };
    let is_registrar = |o: &Organization| o.kind == OrgKind::Department && o.functions.contains(&function);
    let act = official_of(state, cx, by, is_registrar, function.name())?;
    if !org_name_ok(name) {
        return Err(Error::BadName.into());
    }
    if accounts::query::account(state, org)?.is_none() {
        return Err(ExecError::UnknownAccount(*org).into());
    }
    if query::organization(state, org)?.is_some() {
        return Err(ExecError::AlreadyRegistered.into());
    }
    let record = Organization {
        kind,
        name: name.to_owned(),
        functions: vec![],
        registered_height: cx.block.height,
        registered_by: Some(*by),
    };
    state.put(org_key(org), record.encode());
    Ok(act)
}

/// `set_member`: gives `member` a role in `org`, or removes it.
/// Permission: an admin of `org`.
pub(crate) fn set_member(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (org, member, role): (&Did, &Did, Option<OrgRole>),
) -> Outcome<OfficialAct> {
    if query::organization(state, org)?.is_none() {
        return Err(Error::UnknownOrganization(*org).into());
    }
    let (act, signer_role) = official(state, cx, org)?;
    if signer_role != OrgRole::Admin {
        return Err(ExecError::PermissionDenied("admin").into());
    }
    if member == org {
        return Err(ExecError::PermissionDenied("the organization itself is always its admin").into());
    }
    if accounts::query::account(state, member)?.is_none() {
        return Err(ExecError::UnknownAccount(*member).into());
    }
    match role {
        Some(r) => state.put(member_key(org, member), r.encode()),
        None => state.delete(member_key(org, member)),
    }
    Ok(act)
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

/// Runs one of this module's instructions; an official act comes back for the audit trail.
pub(crate) fn execute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    instruction: &OrgInstruction,
) -> Outcome<Option<OfficialAct>> {
    match instruction {
        OrgInstruction::RegisterOrganization { org, kind, name, by } => {
            audited(register(state, cx, (org, *kind, name, by)))
        }
        OrgInstruction::SetMember { org, member, role } => audited(set_member(state, cx, (org, member, *role))),
    }
}

#[cfg(test)]
mod tests;
