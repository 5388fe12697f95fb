//! The council: member departments propose actions and approve them; a proposal passes when
//! the threshold of members approve before it expires, and its action executes in the same
//! transaction. Members are the departments named in genesis (on a network, the validators'
//! departments). Each member acts through an admin.

mod error;
pub use error::Error;

/// Who may perform each of this module's instructions (rendered into `docs/permissions.md`;
/// the permission test runs each under every kind of actor).
pub(crate) const PERMISSIONS: &[Rule] = &[
    Rule { instruction: "propose", target: "a council proposal", allowed: &[Actor::OrgAdmin] },
    Rule { instruction: "approve", target: "a council proposal", allowed: &[Actor::OrgAdmin] },
];

pub mod query;

use crate::permissions::{Actor, Rule};
use civitas_state::{StateRead, StoreError, TxState};
use civitas_types::codec::Encode;
use civitas_types::council::{COUNCIL_MAX, CouncilAction, PROPOSAL_TTL_MAX, Proposal, ProposalStatus, VCT_BYTES_MAX};
use civitas_types::org::{OrgRole, Organization, org_name_ok};
use civitas_types::validators::{self, VALIDATORS_KEY, Validator, ValidatorSet};
use civitas_types::{CouncilInstruction, Did, Hash};

use crate::{BlockContext, Context, ExecError, Failure, OfficialAct, Outcome, accounts, audited, orgs};

const MEMBERS_KEY: &[u8] = b"council/members";
const THRESHOLD_KEY: &[u8] = b"council/threshold";
const NEXT_KEY: &[u8] = b"council/next-proposal";

pub(crate) fn proposal_key(id: u64) -> Vec<u8> {
    [b"council/proposal/".as_slice(), &id.to_be_bytes()].concat()
}

/// Where an accreditation of `issuer` for `vct` is recorded (the height it passed at).
pub fn accreditation_key(issuer: &Did, vct: &str) -> Vec<u8> {
    [b"council/accredited/".as_slice(), issuer.as_bytes(), &Hash::digest(vct.as_bytes()).0].concat()
}

/// The signer's DID, if it is an admin of `by` and `by` is a council member.
fn member_admin(state: &TxState<'_, '_>, cx: &Context<'_>, by: &Did) -> Outcome<OfficialAct> {
    let Some(account) = accounts::query::account_by_key(state, cx.signer)? else {
        return Err(ExecError::UnknownSigner.into());
    };
    if !query::members(state)?.contains(by) {
        return Err(Error::NotACouncilMember(*by).into());
    }
    match orgs::query::role(state, by, &account.did)? {
        Some(OrgRole::Admin) => Ok(OfficialAct { org: *by, official: account.did }),
        _ => Err(ExecError::PermissionDenied("admin of a council member").into()),
    }
}

const NO_SET: Error = Error::BadValidatorChange("this chain's genesis predates validator sets in state");

/// Checks what can be checked of an action before it passes.
fn check_action(state: &impl StateRead, action: &CouncilAction, ctx: BlockContext) -> Outcome {
    match action {
        CouncilAction::AccreditIssuer { issuer, vct } => {
            if orgs::query::organization(state, issuer)?.is_none() {
                return Err(orgs::Error::UnknownOrganization(*issuer).into());
            }
            if vct.is_empty() || vct.len() > VCT_BYTES_MAX || vct.chars().any(char::is_control) {
                return Err(orgs::Error::BadName.into());
            }
        }
        CouncilAction::RegisterOrganization { org, name, .. } => {
            if !org_name_ok(name) {
                return Err(orgs::Error::BadName.into());
            }
            if accounts::query::account(state, org)?.is_none() {
                return Err(ExecError::UnknownAccount(*org).into());
            }
        }
        CouncilAction::SetThreshold { threshold } => {
            let members = query::members(state)?.len();
            if *threshold == 0 || *threshold as usize > members {
                return Err(Error::BadThreshold { threshold: *threshold, members }.into());
            }
        }
        CouncilAction::AddValidator { validator } => {
            let Some(set) = query::validators(state)? else { return Err(NO_SET.into()) };
            if set.validators.iter().any(|v| v.address.is_empty()) {
                return Err(Error::BadValidatorChange(
                    "this chain's validator runs alone, with no p2p address; it cannot gain others",
                )
                .into());
            }
            if set.contains(&validator.key) {
                return Err(Error::BadValidatorChange("the key is already a validator's").into());
            }
            if !validators::address_ok(&validator.address) {
                return Err(Error::BadValidatorChange("the p2p address must be IP:port").into());
            }
            if set.validators.iter().any(|v| v.address == validator.address) {
                return Err(Error::BadValidatorChange("another validator listens at that address").into());
            }
            if !org_name_ok(&validator.name) {
                return Err(orgs::Error::BadName.into());
            }
            if set.validators.len() >= validators::VALIDATORS_MAX {
                return Err(Error::BadValidatorChange("the set is full").into());
            }
        }
        CouncilAction::RemoveValidator { key } => {
            let Some(set) = query::validators(state)? else { return Err(NO_SET.into()) };
            if !set.contains(key) {
                return Err(Error::BadValidatorChange("the key is not a validator's").into());
            }
            if set.validators.len() == 1 {
                return Err(Error::BadValidatorChange("the last validator cannot be removed").into());
            }
        }
        CouncilAction::AddPaa { certificate } => {
            crate::devices::check_add_paa(state, certificate, ctx)?;
        }
        CouncilAction::RevokePaa { subject_key_id, reason } => {
            crate::devices::check_revoke_paa(state, subject_key_id, reason)?;
        }
    }
    Ok(())
}

/// Executes a passed action.
fn execute_action(state: &mut TxState<'_, '_>, action: &CouncilAction, by: &Did, ctx: BlockContext) -> Outcome {
    check_action(state, action, ctx)?;
    match action {
        CouncilAction::AccreditIssuer { issuer, vct } => {
            state.put(accreditation_key(issuer, vct), ctx.height.to_be_bytes().to_vec());
        }
        CouncilAction::RegisterOrganization { org, kind, name, functions } => {
            if orgs::query::organization(state, org)?.is_some() {
                return Err(ExecError::AlreadyRegistered.into());
            }
            let record = Organization {
                kind: *kind,
                name: name.clone(),
                functions: functions.clone(),
                registered_height: ctx.height,
                registered_by: None,
            };
            state.put(orgs::org_key(org), record.encode());
        }
        CouncilAction::SetThreshold { threshold } => {
            state.put(THRESHOLD_KEY.to_vec(), threshold.to_be_bytes().to_vec());
        }
        CouncilAction::AddValidator { validator } => {
            change_validators(state, ctx, |set| set.validators.push(validator.clone()))?;
        }
        CouncilAction::RemoveValidator { key } => {
            change_validators(state, ctx, |set| set.validators.retain(|v| v.key != *key))?;
        }
        CouncilAction::AddPaa { certificate } => crate::devices::add_paa(state, certificate, by, ctx)?,
        CouncilAction::RevokePaa { subject_key_id, reason } => {
            crate::devices::revoke_paa(state, subject_key_id, reason, by, ctx)?;
        }
    }
    Ok(())
}

/// Changes the validator set: the changed set is a new epoch that finalizes blocks from the
/// next height on. Several changes in one block make one new epoch.
fn change_validators(
    state: &mut TxState<'_, '_>,
    ctx: BlockContext,
    change: impl FnOnce(&mut ValidatorSet),
) -> Result<(), StoreError> {
    let Some(mut set) = query::validators(state)? else {
        return Err(StoreError::Corrupt("no validator set in state".into()));
    };
    if set.from_height != ctx.height + 1 {
        set.epoch += 1;
        set.from_height = ctx.height + 1;
    }
    change(&mut set);
    state.put(VALIDATORS_KEY.to_vec(), set.encode());
    Ok(())
}

/// Adds `by`'s approval to `proposal` and executes it if that reaches the threshold.
fn add_approval(state: &mut TxState<'_, '_>, mut proposal: Proposal, by: Did, ctx: BlockContext) -> Outcome {
    proposal.approvals.push(by);
    if proposal.approvals.len() as u64 >= u64::from(query::threshold(state)?) {
        let action = proposal.action.clone();
        match execute_action(state, &action, &by, ctx) {
            Ok(()) => proposal.status = ProposalStatus::Executed(ctx.height),
            Err(Failure::Tx(e)) => return Err(ExecError::ActionFailed(Box::new(e)).into()),
            Err(store) => return Err(store),
        }
    }
    state.put(proposal_key(proposal.id), proposal.encode());
    Ok(())
}

/// `propose`: opens a proposal, approved by the proposing member.
/// Permission: an admin of a council member department.
pub(crate) fn propose(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (action, ttl_blocks, by): (&CouncilAction, u64, &Did),
) -> Outcome<OfficialAct> {
    let act = member_admin(state, cx, by)?;
    if ttl_blocks == 0 || ttl_blocks > PROPOSAL_TTL_MAX {
        return Err(Error::BadTtl(PROPOSAL_TTL_MAX).into());
    }
    check_action(state, action, cx.block)?;
    let id = crate::counters::next(state, NEXT_KEY)?;
    let proposal = Proposal {
        id,
        action: action.clone(),
        proposer: *by,
        created_height: cx.block.height,
        expires_height: cx.block.height.saturating_add(ttl_blocks),
        approvals: vec![],
        status: ProposalStatus::Open,
    };
    add_approval(state, proposal, *by, cx.block)?;
    Ok(act)
}

/// `approve`: adds a member's approval; the one that reaches the threshold executes.
/// Permission: an admin of a council member department that has not approved yet, before the
/// proposal expires.
pub(crate) fn approve(state: &mut TxState<'_, '_>, cx: &Context<'_>, (id, by): (u64, &Did)) -> Outcome<OfficialAct> {
    let act = member_admin(state, cx, by)?;
    let Some(proposal) = query::proposal(state, id)? else {
        return Err(Error::UnknownProposal(id).into());
    };
    if proposal.status != ProposalStatus::Open {
        return Err(Error::ProposalClosed(id).into());
    }
    if cx.block.height > proposal.expires_height {
        return Err(Error::ProposalExpired { id, expired_at: proposal.expires_height }.into());
    }
    if proposal.approvals.contains(by) {
        return Err(Error::AlreadyApproved(*by).into());
    }
    add_approval(state, proposal, *by, cx.block)?;
    Ok(act)
}

/// Writes the genesis validator set (epoch 0, finalizing from height 1).
pub fn apply_genesis_validators(state: &mut TxState<'_, '_>, validators: Vec<Validator>) {
    state.put(VALIDATORS_KEY.to_vec(), ValidatorSet { epoch: 0, from_height: 1, validators }.encode());
}

/// Writes the genesis council: its member departments and threshold.
pub fn apply_genesis(state: &mut TxState<'_, '_>, members: &[Did], threshold: u32) {
    let mut sorted = members.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted.truncate(COUNCIL_MAX);
    let mut bytes = Vec::new();
    civitas_types::codec::put_seq(&mut bytes, &sorted);
    state.put(MEMBERS_KEY.to_vec(), bytes);
    state.put(THRESHOLD_KEY.to_vec(), threshold.to_be_bytes().to_vec());
}

/// Runs one of this module's instructions; an official act comes back for the audit trail.
pub(crate) fn execute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    instruction: &CouncilInstruction,
) -> Outcome<Option<OfficialAct>> {
    match instruction {
        CouncilInstruction::Propose { action, ttl_blocks, by } => {
            audited(propose(state, cx, (action, *ttl_blocks, by)))
        }
        CouncilInstruction::Approve { proposal, by } => audited(approve(state, cx, (*proposal, by))),
    }
}

#[cfg(test)]
mod tests;
