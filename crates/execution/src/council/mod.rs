//! The council: member departments propose actions and approve them; a proposal passes when
//! the threshold of members approve before it expires, and its action executes in the same
//! transaction. Members are the departments named in genesis (on a network, the validators'
//! departments). Each member acts through an admin.

pub mod query;

use civitas_state::{StateRead, StoreError, TxState};
use civitas_types::codec::Encode;
use civitas_types::council::{COUNCIL_MAX, CouncilAction, PROPOSAL_TTL_MAX, Proposal, ProposalStatus, VCT_BYTES_MAX};
use civitas_types::org::{OrgRole, Organization, org_name_ok};
use civitas_types::validators::{self, VALIDATORS_KEY, Validator, ValidatorSet};
use civitas_types::{Did, Hash, PublicKey};

use crate::{BlockContext, ExecError, accounts, audit, orgs};

type Outcome = Result<Result<(), ExecError>, StoreError>;

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
fn member_admin(state: &TxState<'_, '_>, signer: &PublicKey, by: &Did) -> Result<Result<Did, ExecError>, StoreError> {
    let Some(account) = accounts::query::account_by_key(state, signer)? else {
        return Ok(Err(ExecError::UnknownSigner));
    };
    if !query::members(state)?.contains(by) {
        return Ok(Err(ExecError::NotACouncilMember(*by)));
    }
    match orgs::query::role(state, by, &account.did)? {
        Some(OrgRole::Admin) => Ok(Ok(account.did)),
        _ => Ok(Err(ExecError::PermissionDenied("admin of a council member"))),
    }
}

const NO_SET: ExecError = ExecError::BadValidatorChange("this chain's genesis predates validator sets in state");

/// Checks what can be checked of an action before it passes.
fn check_action(state: &impl StateRead, action: &CouncilAction) -> Result<Result<(), ExecError>, StoreError> {
    match action {
        CouncilAction::AccreditIssuer { issuer, vct } => {
            if orgs::query::organization(state, issuer)?.is_none() {
                return Ok(Err(ExecError::UnknownOrganization(*issuer)));
            }
            if vct.is_empty() || vct.len() > VCT_BYTES_MAX || vct.chars().any(char::is_control) {
                return Ok(Err(ExecError::BadName));
            }
        }
        CouncilAction::RegisterOrganization { org, name, .. } => {
            if !org_name_ok(name) {
                return Ok(Err(ExecError::BadName));
            }
            if accounts::query::account(state, org)?.is_none() {
                return Ok(Err(ExecError::UnknownAccount(*org)));
            }
        }
        CouncilAction::SetThreshold { threshold } => {
            let members = query::members(state)?.len();
            if *threshold == 0 || *threshold as usize > members {
                return Ok(Err(ExecError::BadThreshold { threshold: *threshold, members }));
            }
        }
        CouncilAction::AddValidator { validator } => {
            let Some(set) = query::validators(state)? else { return Ok(Err(NO_SET)) };
            if set.validators.iter().any(|v| v.address.is_empty()) {
                return Ok(Err(ExecError::BadValidatorChange(
                    "this chain's validator runs alone, with no p2p address; it cannot gain others",
                )));
            }
            if set.contains(&validator.key) {
                return Ok(Err(ExecError::BadValidatorChange("the key is already a validator's")));
            }
            if !validators::address_ok(&validator.address) {
                return Ok(Err(ExecError::BadValidatorChange("the p2p address must be IP:port")));
            }
            if set.validators.iter().any(|v| v.address == validator.address) {
                return Ok(Err(ExecError::BadValidatorChange("another validator listens at that address")));
            }
            if !org_name_ok(&validator.name) {
                return Ok(Err(ExecError::BadName));
            }
            if set.validators.len() >= validators::VALIDATORS_MAX {
                return Ok(Err(ExecError::BadValidatorChange("the set is full")));
            }
        }
        CouncilAction::RemoveValidator { key } => {
            let Some(set) = query::validators(state)? else { return Ok(Err(NO_SET)) };
            if !set.contains(key) {
                return Ok(Err(ExecError::BadValidatorChange("the key is not a validator's")));
            }
            if set.validators.len() == 1 {
                return Ok(Err(ExecError::BadValidatorChange("the last validator cannot be removed")));
            }
        }
    }
    Ok(Ok(()))
}

/// Executes a passed action.
fn execute(state: &mut TxState<'_, '_>, action: &CouncilAction, ctx: BlockContext) -> Outcome {
    if let Err(e) = check_action(state, action)? {
        return Ok(Err(e));
    }
    match action {
        CouncilAction::AccreditIssuer { issuer, vct } => {
            state.put(accreditation_key(issuer, vct), ctx.height.to_be_bytes().to_vec());
        }
        CouncilAction::RegisterOrganization { org, kind, name, functions } => {
            if orgs::query::organization(state, org)?.is_some() {
                return Ok(Err(ExecError::AlreadyRegistered));
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
    }
    Ok(Ok(()))
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
        match execute(state, &action, ctx)? {
            Ok(()) => proposal.status = ProposalStatus::Executed(ctx.height),
            Err(e) => return Ok(Err(ExecError::ActionFailed(Box::new(e)))),
        }
    }
    state.put(proposal_key(proposal.id), proposal.encode());
    Ok(Ok(()))
}

/// `propose`: opens a proposal, approved by the proposing member.
/// Permission: an admin of a council member department.
pub(crate) fn propose(
    state: &mut TxState<'_, '_>,
    signer: &PublicKey,
    (action, ttl_blocks, by): (&CouncilAction, u64, &Did),
    tx_hash: Hash,
    ctx: BlockContext,
) -> Outcome {
    let official = match member_admin(state, signer, by)? {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    if ttl_blocks == 0 || ttl_blocks > PROPOSAL_TTL_MAX {
        return Ok(Err(ExecError::BadTtl(PROPOSAL_TTL_MAX)));
    }
    if let Err(e) = check_action(state, action)? {
        return Ok(Err(e));
    }
    let id = crate::counters::next(state, NEXT_KEY)?;
    let proposal = Proposal {
        id,
        action: action.clone(),
        proposer: *by,
        created_height: ctx.height,
        expires_height: ctx.height.saturating_add(ttl_blocks),
        approvals: vec![],
        status: ProposalStatus::Open,
    };
    if let Err(e) = add_approval(state, proposal, *by, ctx)? {
        return Ok(Err(e));
    }
    audit::record(state, by, &official, "propose", tx_hash, ctx).map(Ok)
}

/// `approve`: adds a member's approval; the one that reaches the threshold executes.
/// Permission: an admin of a council member department that has not approved yet, before the
/// proposal expires.
pub(crate) fn approve(
    state: &mut TxState<'_, '_>,
    signer: &PublicKey,
    (id, by): (u64, &Did),
    tx_hash: Hash,
    ctx: BlockContext,
) -> Outcome {
    let official = match member_admin(state, signer, by)? {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    let Some(proposal) = query::proposal(state, id)? else {
        return Ok(Err(ExecError::UnknownProposal(id)));
    };
    if proposal.status != ProposalStatus::Open {
        return Ok(Err(ExecError::ProposalClosed(id)));
    }
    if ctx.height > proposal.expires_height {
        return Ok(Err(ExecError::ProposalExpired { id, expired_at: proposal.expires_height }));
    }
    if proposal.approvals.contains(by) {
        return Ok(Err(ExecError::AlreadyApproved(*by)));
    }
    if let Err(e) = add_approval(state, proposal, *by, ctx)? {
        return Ok(Err(e));
    }
    audit::record(state, by, &official, "approve", tx_hash, ctx).map(Ok)
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

#[cfg(test)]
mod tests;
