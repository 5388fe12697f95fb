//! Transport statistics by secure aggregation (`docs/transport-data.md`). The transport bureau
//! defines a round; each eligible operator reports once before the deadline: a Prio3 public
//! share and an input share sealed to each aggregator's HPKE key (the chain checks each names
//! its aggregator's key, and keeps them opaque); after the deadline, a round with fewer reports
//! than its minimum publishes nothing; otherwise each aggregator posts its preparation share of
//! every report, in order, and as soon as all have posted one report's, every validator decides
//! it (`vdaf::Vdaf::decide`: the joint randomness and the proof that the measurement is in
//! range); each aggregator then posts the sum of its output shares of the accepted reports, and
//! the chain adds them into the total (`unshard`), with the counts of accepted and rejected
//! reports. Consensus fixes the round's membership: every aggregator aggregates exactly the
//! reports the chain accepted, and every step is on the ledger.
//!
//! Every instruction is an official act of the organization it names (`by`).

mod error;
pub use error::Error;

/// Who may perform each of this module's instructions (rendered into `docs/permissions.md`;
/// the permission test runs each under every kind of actor).
pub(crate) const PERMISSIONS: &[Rule] = &[
    Rule { instruction: "define_round", target: "a statistics round", allowed: &[Actor::TransportOfficial] },
    Rule {
        instruction: "share_verify_key",
        target: "the round's verification key, sealed to the helpers",
        allowed: &[Actor::AggregatorOfficial],
    },
    Rule { instruction: "submit_report", target: "a report to the round", allowed: &[Actor::OperatorOfficial] },
    Rule {
        instruction: "post_prep_shares",
        target: "the round's reports, prepared",
        allowed: &[Actor::AggregatorOfficial],
    },
    Rule {
        instruction: "post_aggregate_share",
        target: "the round's accepted reports, aggregated",
        allowed: &[Actor::AggregatorOfficial],
    },
];

pub mod query;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeSet;

use civitas_state::{StateRead, TxState};
use civitas_types::codec::Encode;
use civitas_types::did_doc::{KeyMaterial, Relations};
use civitas_types::org::{OrgFunction, OrgKind};
use civitas_types::stats::vdaf::{NONCE_BYTES, Vdaf, VdafError, context};
use civitas_types::stats::{
    AGGREGATORS, AggregatorKey, DEADLINE_BLOCKS_MAX, MIN_REPORTS_FLOOR, OPERATORS_MAX, Report, Round, RoundStatus,
    SealedShare, StatsList, TITLE_BYTES_MAX, Verdict, aggregate_key, key_id, prep_key, report_key, round_key,
    verify_key_key,
};
use civitas_types::{Did, StatsInstruction, text_ok};

use crate::counters;
use crate::permissions::{Actor, Rule};
use crate::{Context, ExecError, OfficialAct, Outcome, audited, dids, orgs};

const NEXT_ROUND_KEY: &[u8] = b"stats/n/round";

fn nonce_key(round: u64, nonce: &[u8]) -> Vec<u8> {
    [b"stats/nonce/".as_slice(), &round.to_be_bytes(), nonce].concat()
}

fn reported_key(round: u64, operator: &Did) -> Vec<u8> {
    [b"stats/o/".as_slice(), &round.to_be_bytes(), operator.as_bytes()].concat()
}

fn round(state: &impl StateRead, id: u64) -> Outcome<Round> {
    Ok(query::round(state, id)?.ok_or(Error::UnknownRound(id))?)
}

fn put_round(state: &mut TxState<'_, '_>, r: &Round) {
    state.put(round_key(r.id), r.encode());
}

fn vdaf(r: &Round) -> Outcome<Vdaf> {
    let n = u8::try_from(r.aggregators.len()).map_err(|_| ExecError::BadField("aggregators"))?;
    Ok(Vdaf::new(&r.measurement, n).map_err(|e| Error::Vdaf(e.to_string()))?)
}

/// The first X25519 key agreement key of `org`'s DID document: its HPKE key.
fn hpke_key(state: &impl StateRead, org: &Did) -> Outcome<[u8; 32]> {
    let document = dids::query::document(state, org)?;
    document
        .methods
        .iter()
        .find_map(|m| match m.key {
            KeyMaterial::X25519(k) if m.relations.contains(Relations::KEY_AGREEMENT) => Some(k),
            _ => None,
        })
        .ok_or_else(|| Error::NoHpkeKey(*org).into())
}

/// `define_round`. Permission: an official of a department with the transport function.
fn define(state: &mut TxState<'_, '_>, cx: &Context<'_>, i: &StatsInstruction) -> Outcome<OfficialAct> {
    let StatsInstruction::DefineRound { title, measurement, operators, aggregators, min_reports, deadline_blocks, by } =
        i
    else {
        return Err(ExecError::BadField("instruction").into());
    };
    let is_bureau = |o: &civitas_types::org::Organization| {
        o.kind == OrgKind::Department && o.functions.contains(&OrgFunction::Transport)
    };
    let act = orgs::official_of(state, cx, by, is_bureau, "transport")?;
    if !text_ok(title, TITLE_BYTES_MAX) {
        return Err(ExecError::BadField("title (1 to 160 bytes)").into());
    }
    measurement.check().map_err(ExecError::BadField)?;
    let distinct = |list: &[Did]| list.iter().collect::<BTreeSet<_>>().len() == list.len();
    if !(MIN_REPORTS_FLOOR as usize..=OPERATORS_MAX).contains(&operators.len()) || !distinct(operators) {
        return Err(ExecError::BadField("operators (3 to 64, distinct)").into());
    }
    if !AGGREGATORS.contains(&aggregators.len()) || !distinct(aggregators) {
        return Err(ExecError::BadField("aggregators (2 to 4, distinct)").into());
    }
    if *min_reports < MIN_REPORTS_FLOOR || *min_reports as usize > operators.len() {
        return Err(ExecError::BadField("min_reports (3 to the number of operators)").into());
    }
    if !(1..=DEADLINE_BLOCKS_MAX).contains(deadline_blocks) {
        return Err(ExecError::BadField("deadline_blocks (1 to 1,000,000)").into());
    }
    for o in operators {
        if orgs::query::organization(state, o)?.is_none() {
            return Err(Error::NotAnOrganization(*o).into());
        }
    }
    let mut keys = Vec::with_capacity(aggregators.len());
    for a in aggregators {
        if orgs::query::organization(state, a)?.is_none_or(|o| o.kind != OrgKind::Department) {
            return Err(Error::NotADepartment(*a).into());
        }
        if operators.contains(a) {
            return Err(ExecError::BadField("an operator cannot aggregate its own round").into());
        }
        keys.push(AggregatorKey { org: *a, key: hpke_key(state, a)? });
    }
    let id = counters::next(state, NEXT_ROUND_KEY)?;
    let n = aggregators.len();
    let r = Round {
        id,
        title: title.clone(),
        measurement: *measurement,
        operators: operators.clone(),
        aggregators: keys,
        min_reports: *min_reports,
        deadline: cx.block.height + deadline_blocks,
        defined_by: *by,
        height: cx.block.height,
        reports: 0,
        key_shared: false,
        prepared: vec![0; n],
        decided: 0,
        accepted: 0,
        aggregated: vec![false; n],
        status: RoundStatus::Open,
        total: vec![],
        published_height: None,
    };
    put_round(state, &r);
    let list = StatsList::Rounds;
    let position = counters::next(state, &list.count_key())?;
    state.put(list.entry_key(position), id.to_be_bytes().to_vec());
    // Every round gets a VDAF: its parameters are checked here, not at the first report.
    vdaf(&r)?;
    Ok(act)
}

/// The round, with `by` (whose official signs) one of its aggregators; and its index.
fn as_aggregator(state: &impl StateRead, cx: &Context<'_>, id: u64, by: &Did) -> Outcome<(Round, u8, OfficialAct)> {
    let act = orgs::official(state, cx, by)?.0;
    let r = round(state, id)?;
    let index = r.aggregator(by).ok_or(Error::NotAnAggregator(*by, id))?;
    Ok((r, index, act))
}

/// `share_verify_key`. Permission: an official of the round's leader.
fn share_key(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, sealed, by): (u64, &[Vec<u8>], &Did),
) -> Outcome<OfficialAct> {
    let (mut r, index, act) = as_aggregator(state, cx, id, by)?;
    if index != 0 {
        return Err(Error::NotTheLeader(id).into());
    }
    if r.key_shared {
        return Err(Error::AlreadyPosted("the verification key").into());
    }
    if sealed.len() != r.aggregators.len() - 1 || sealed.iter().any(|s| s.len() < 48) {
        return Err(ExecError::BadField("sealed (one sealed key per helper)").into());
    }
    for (i, s) in sealed.iter().enumerate() {
        state.put(verify_key_key(id, (i + 1) as u8), s.clone());
    }
    r.key_shared = true;
    put_round(state, &r);
    Ok(act)
}

/// `submit_report`. Permission: an official of an eligible operator, once, before the deadline.
fn submit(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, nonce, public_share, shares, by): (u64, &[u8], &[u8], &[SealedShare], &Did),
) -> Outcome<OfficialAct> {
    let act = orgs::official(state, cx, by)?.0;
    let mut r = round(state, id)?;
    if cx.block.height > r.deadline {
        return Err(Error::Closed(id).into());
    }
    if !r.operators.contains(by) {
        return Err(Error::NotEligible(*by, id).into());
    }
    if state.get(&reported_key(id, by))?.is_some() {
        return Err(Error::AlreadyReported(*by, id).into());
    }
    if nonce.len() != NONCE_BYTES {
        return Err(ExecError::BadField("nonce (16 bytes)").into());
    }
    if state.get(&nonce_key(id, nonce))?.is_some() {
        return Err(Error::NonceUsed.into());
    }
    if shares.len() != r.aggregators.len() {
        return Err(ExecError::BadField("shares (one per aggregator)").into());
    }
    for (i, (share, aggregator)) in shares.iter().zip(&r.aggregators).enumerate() {
        if share.key != key_id(&aggregator.key) {
            return Err(Error::WrongKey(i).into());
        }
        if share.sealed.len() < 48 {
            return Err(ExecError::BadField("a sealed share (an HPKE encapsulation and ciphertext)").into());
        }
    }
    if !vdaf(&r)?.check_public_share(public_share) {
        return Err(Error::Vdaf("the public share does not decode".into()).into());
    }
    let report = Report {
        operator: *by,
        nonce: nonce.to_vec(),
        public_share: public_share.to_vec(),
        shares: shares.to_vec(),
        height: cx.block.height,
        verdict: Verdict::Pending,
        message: vec![],
    };
    state.put(report_key(id, r.reports), report.encode());
    state.put(reported_key(id, by), vec![1]);
    state.put(nonce_key(id, nonce), vec![1]);
    r.reports += 1;
    put_round(state, &r);
    Ok(act)
}

/// Moves an open round past its deadline to aggregating, or fails it (too few reports).
fn settle(r: &mut Round, height: u64) -> Outcome {
    r.status = r.status_at(height);
    match r.status {
        RoundStatus::Open => Err(Error::StillOpen(r.id, r.deadline).into()),
        RoundStatus::Failed => Err(Error::TooFewReports { round: r.id, reports: r.reports, min: r.min_reports }.into()),
        _ => Ok(()),
    }
}

/// `post_prep_shares`. Permission: an official of one of the round's aggregators.
fn post_prep(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, from, shares, by): (u64, u32, &[Vec<u8>], &Did),
) -> Outcome<OfficialAct> {
    let (mut r, index, act) = as_aggregator(state, cx, id, by)?;
    settle(&mut r, cx.block.height)?;
    if r.status != RoundStatus::Aggregating {
        return Err(Error::AlreadyPosted("the round's preparation").into());
    }
    let posted = r.prepared[usize::from(index)];
    if from != posted {
        return Err(Error::OutOfOrder { expected: posted, found: from }.into());
    }
    let end = posted.saturating_add(shares.len() as u32);
    if shares.is_empty() || end > r.reports {
        return Err(ExecError::BadField("shares (1 to 64, for reports the round has)").into());
    }
    for (k, share) in (posted..end).zip(shares) {
        state.put(prep_key(id, k, index), share.clone());
    }
    r.prepared[usize::from(index)] = end;
    // Decide every report all aggregators have now prepared, in order.
    let ready = r.prepared.iter().copied().min().unwrap_or(0);
    if r.decided < ready {
        let v = vdaf(&r)?;
        let ctx = context(cx.chain_id, id);
        while r.decided < ready {
            let k = r.decided;
            let mut report = query::report(state, id, k)?.ok_or(Error::UnknownRound(id))?;
            let mut preps = Vec::with_capacity(r.aggregators.len());
            for a in 0..r.aggregators.len() {
                preps.push(state.get(&prep_key(id, k, a as u8))?.unwrap_or_default());
            }
            let refs: Vec<&[u8]> = preps.iter().map(Vec::as_slice).collect();
            let verdict = if refs.iter().any(|p| p.is_empty()) {
                Err(VdafError::Rejected("an aggregator could not prepare it"))
            } else {
                v.decide(&ctx, &report.public_share, &refs)
            };
            match verdict {
                Ok(message) => {
                    report.verdict = Verdict::Accepted;
                    report.message = message;
                    r.accepted += 1;
                }
                Err(_) => report.verdict = Verdict::Rejected,
            }
            state.put(report_key(id, k), report.encode());
            r.decided += 1;
        }
    }
    put_round(state, &r);
    Ok(act)
}

/// `post_aggregate_share`. Permission: an official of one of the round's aggregators, once
/// every report is decided.
fn post_aggregate(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    (id, reports, share, by): (u64, u32, &[u8], &Did),
) -> Outcome<OfficialAct> {
    let (mut r, index, act) = as_aggregator(state, cx, id, by)?;
    settle(&mut r, cx.block.height)?;
    if r.status == RoundStatus::Published || r.aggregated[usize::from(index)] {
        return Err(Error::AlreadyPosted("its aggregate share").into());
    }
    if r.decided < r.reports {
        return Err(Error::NotDecided { round: id, decided: r.decided, reports: r.reports }.into());
    }
    if reports != r.accepted {
        return Err(Error::WrongCount { accepted: r.accepted, found: reports }.into());
    }
    state.put(aggregate_key(id, index), share.to_vec());
    r.aggregated[usize::from(index)] = true;
    if r.aggregated.iter().all(|a| *a) {
        let mut shares = Vec::with_capacity(r.aggregators.len());
        for a in 0..r.aggregators.len() {
            shares.push(state.get(&aggregate_key(id, a as u8))?.unwrap_or_default());
        }
        let refs: Vec<&[u8]> = shares.iter().map(Vec::as_slice).collect();
        let total = vdaf(&r)?.unshard(&refs, r.accepted as usize).map_err(|e| Error::Vdaf(e.to_string()))?;
        r.total = total;
        r.status = RoundStatus::Published;
        r.published_height = Some(cx.block.height);
    } else if !vdaf(&r)?.check_aggregate_share(share) {
        // Checked alone, so a malformed share is refused when it is posted, not at the end.
        return Err(Error::Vdaf("the aggregate share does not decode".into()).into());
    }
    put_round(state, &r);
    Ok(act)
}

/// Runs one of this module's instructions; an official act comes back for the audit trail.
pub(crate) fn execute(
    state: &mut TxState<'_, '_>,
    cx: &Context<'_>,
    instruction: &StatsInstruction,
) -> Outcome<Option<OfficialAct>> {
    match instruction {
        StatsInstruction::DefineRound { .. } => audited(define(state, cx, instruction)),
        StatsInstruction::ShareVerifyKey { round, sealed, by } => audited(share_key(state, cx, (*round, sealed, by))),
        StatsInstruction::SubmitReport { round, nonce, public_share, shares, by } => {
            audited(submit(state, cx, (*round, nonce, public_share, shares, by)))
        }
        StatsInstruction::PostPrepShares { round, from, shares, by } => {
            audited(post_prep(state, cx, (*round, *from, shares, by)))
        }
        StatsInstruction::PostAggregateShare { round, reports, share, by } => {
            audited(post_aggregate(state, cx, (*round, *reports, share, by)))
        }
    }
}
