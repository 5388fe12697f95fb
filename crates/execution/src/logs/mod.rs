//! Device event logs (see `civitas_types::log`): a device's owner names the gateway that
//! anchors its events; a gateway anchors batches, each the root of a tree of device-signed
//! events with one sequence range per device. Each range must continue its device's head (no
//! gap, no repeat), for a live device whose owner named the signer; the anchor keeps each
//! device's operational key at that moment, so a receipt's signature check needs nothing else.
//! The chain never sees an event or a payload: only roots, ranges and heads.

mod error;
pub use error::Error;

pub mod query;

use std::collections::BTreeSet;

use civitas_state::{StateRead, TxState};
use civitas_types::codec::Encode as _;
use civitas_types::device::{DeviceId, Passport};
use civitas_types::log::{
    ANCHOR_COUNT_KEY, ANCHOR_EVENTS_MAX, Anchor, Head, LogInstruction, RANGES_MAX, Range, anchor_key,
    device_anchor_key, device_anchors_count_key, gateway_key, head_key,
};
use civitas_types::{Did, Hash};

use crate::permissions::{Actor, Rule};
use crate::{Context, ExecError, OfficialAct, Outcome, accounts, devices, unaudited};

/// Who may perform each of this module's instructions.
pub(crate) const PERMISSIONS: &[Rule] = &[
    Rule { instruction: "set_log_gateway", target: "a device's log gateway", allowed: &[Actor::Owner] },
    Rule {
        instruction: "anchor_events",
        target: "a batch of events of devices whose owners named the signer",
        allowed: &[Actor::Gateway],
    },
];

/// Device `id`'s passport; it must be live (not revoked nor decommissioned).
fn live(state: &impl StateRead, id: &DeviceId) -> Outcome<Passport> {
    let p = devices::query::passport(state, id)?.ok_or(Error::UnknownDevice(*id))?;
    if p.status.is_final() {
        return Err(Error::DeviceFinal(*id, p.status).into());
    }
    Ok(p)
}

/// `set_log_gateway`: the owner names the gateway (or none). Permission: the device's owner.
pub(crate) fn set_gateway(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    id: &DeviceId,
    gateway: Option<&Did>,
) -> Outcome {
    let p = live(state, id)?;
    if p.owner != Some(accounts::signer_did(state, cx)?) {
        return Err(Error::NotTheOwner.into());
    }
    match gateway {
        None => state.delete(gateway_key(id)),
        Some(g) => {
            if accounts::query::account(state, g)?.is_none() {
                return Err(ExecError::UnknownDid(*g).into());
            }
            state.put(gateway_key(id), g.encode());
        }
    }
    Ok(())
}

/// `anchor_events`: records a batch's root and moves each device's head on. Permission: the
/// gateway every range's device's owner named.
pub(crate) fn anchor(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (root, size, ranges): (&Hash, u64, &[Range]),
) -> Outcome {
    let gateway = accounts::signer_did(state, cx)?;
    if ranges.is_empty() || ranges.len() > RANGES_MAX {
        return Err(ExecError::BadField("ranges (1 to 128)").into());
    }
    if ranges.iter().any(Range::is_empty) {
        return Err(ExecError::BadField("ranges (first_seq <= last_seq)").into());
    }
    let total = ranges.iter().try_fold(0u64, |sum, r| sum.checked_add(r.len()));
    if total != Some(size) || size > ANCHOR_EVENTS_MAX {
        return Err(ExecError::BadField("size (the sum of the ranges' lengths, at most 2^20)").into());
    }
    let mut seen = BTreeSet::new();
    if let Some(dup) = ranges.iter().find(|r| !seen.insert(r.device)) {
        return Err(Error::DuplicateDevice(dup.device).into());
    }
    // The anchor's number (a failure below undoes the count with everything else).
    let n = crate::counters::next(state, ANCHOR_COUNT_KEY)?;
    let mut kept = Vec::with_capacity(ranges.len());
    for range in ranges {
        let id = &range.device;
        let passport = live(state, id)?;
        if query::gateway(state, id)? != Some(gateway) {
            return Err(Error::NotTheGateway(*id).into());
        }
        let head = query::head(state, id)?;
        let (expected, found) = (head.next_seq, range.first_seq);
        if found > expected {
            return Err(Error::SequenceGap { device: *id, expected, found }.into());
        }
        if found < expected {
            return Err(Error::SequenceRepeat { device: *id, expected, found }.into());
        }
        let head = Head { next_seq: range.last_seq + 1, last_hash: range.last_hash, anchor: n };
        state.put(head_key(id), head.encode());
        crate::counters::append(state, &device_anchors_count_key(id), |p| device_anchor_key(id, p), n)?;
        kept.push((range.clone(), passport.operational_key));
    }
    let anchor = Anchor {
        gateway,
        root: *root,
        size,
        ranges: kept,
        height: cx.block.height,
        timestamp_ms: cx.block.timestamp_ms,
    };
    state.put(anchor_key(n), anchor.encode());
    Ok(())
}

/// Runs one instruction of this module.
pub(crate) fn execute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    instruction: &LogInstruction,
) -> Outcome<Option<OfficialAct>> {
    match instruction {
        LogInstruction::SetLogGateway { device, gateway } => {
            unaudited(set_gateway(state, cx, device, gateway.as_ref()))
        }
        LogInstruction::AnchorEvents { root, size, ranges } => unaudited(anchor(state, cx, (root, *size, ranges))),
    }
}

#[cfg(test)]
mod tests;
