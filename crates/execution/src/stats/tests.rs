//! Statistics rounds on the state machine, with real Prio3: a whole round from definition to
//! the published total, the chain's rejection of a corrupted report, each refusal the issue
//! names, and a property test that the total is exactly the sum of random measurements.
//!
//! The input shares here travel in the clear inside the "sealed" bytes (the chain never opens
//! them: it checks only which key each names); sealing and opening with HPKE are the SDK's and
//! are tested there.

use civitas_types::did_doc::{DidDocumentData, KeyMaterial, Relations, VerificationMethod};
use civitas_types::stats::vdaf::{Value, Vdaf, context};
use civitas_types::stats::{Measurement, RoundStatus, SealedShare, Verdict, key_id};
use civitas_types::{DidInstruction, Instruction, StatsInstruction, TxOutcome};
use proptest::prelude::*;

use super::query;
use crate::tests::{CHAIN, Harness, did, failed_code, harness, tx};

pub(crate) const BUREAU: u8 = 56;
pub(crate) const LEADER: u8 = 10;
pub(crate) const HELPER: u8 = 12;
pub(crate) const OPERATORS: [u8; 4] = [15, 52, 54, 55];
const STRANGER: u8 = 2;
/// The aggregators' shared verification key (in a deployment the leader draws it and seals it
/// to the helpers on chain).
pub(crate) const VERIFY_KEY: [u8; 32] = [7; 32];

pub(crate) fn s(i: StatsInstruction) -> Vec<Instruction> {
    vec![Instruction::Stats(i)]
}

fn run(h: &mut Harness, signer: u8, i: StatsInstruction) -> TxOutcome {
    let t = tx(h, signer, s(i));
    h.run(t)
}

pub(crate) fn ok(h: &mut Harness, signer: u8, i: StatsInstruction) {
    let outcome = run(h, signer, i);
    assert_eq!(failed_code(&outcome), None, "{outcome:?}");
}

fn refused(h: &mut Harness, signer: u8, i: StatsInstruction, code: &str) {
    let before = query::round(&h.store, 0).expect("read");
    let outcome = run(h, signer, i);
    assert_eq!(failed_code(&outcome), Some(code), "{outcome:?}");
    assert_eq!(query::round(&h.store, 0).expect("read"), before, "a refusal changed round 0");
}

/// The X25519 key agreement key aggregator `n` publishes (any canonical point will do: the
/// chain never opens a share).
fn hpke_public(n: u8) -> [u8; 32] {
    [n; 32]
}

/// The aggregators publish their HPKE keys in their DID documents.
pub(crate) fn publish_keys(h: &mut Harness, aggregators: &[u8]) {
    for &a in aggregators {
        let document = DidDocumentData {
            methods: vec![VerificationMethod {
                fragment: "hpke".into(),
                key: KeyMaterial::X25519(hpke_public(a)),
                relations: Relations::KEY_AGREEMENT,
            }],
            ..DidDocumentData::default()
        };
        let update = Instruction::Dids(DidInstruction::UpdateDid { did: did(a), document });
        let t = tx(h, a, vec![update]);
        assert_eq!(failed_code(&h.run(t)), None);
    }
}

pub(crate) fn define(measurement: Measurement, min_reports: u32, deadline_blocks: u64) -> StatsInstruction {
    StatsInstruction::DefineRound {
        title: "Passengers per district".into(),
        measurement,
        operators: OPERATORS.iter().map(|o| did(*o)).collect(),
        aggregators: vec![did(LEADER), did(HELPER)],
        min_reports,
        deadline_blocks,
        by: did(BUREAU),
    }
}

/// What an operator submits, and the input shares each aggregator would open from it.
pub(crate) struct Sharded {
    pub(crate) instruction: StatsInstruction,
    pub(crate) nonce: [u8; 16],
    pub(crate) public_share: Vec<u8>,
    pub(crate) inputs: Vec<Vec<u8>>,
}

pub(crate) fn report(round: u64, measurement: &Measurement, operator: u8, value: &Value, seq: u8) -> Sharded {
    report_to(round, measurement, (operator, &[LEADER, HELPER]), value, seq)
}

/// [`report`], sealed to `aggregators`' keys.
pub(crate) fn report_to(
    round: u64,
    measurement: &Measurement,
    (operator, aggregators): (u8, &[u8]),
    value: &Value,
    seq: u8,
) -> Sharded {
    let vdaf = Vdaf::new(measurement, 2).expect("vdaf");
    let nonce = [seq; 16];
    let (public_share, inputs) = vdaf.shard(measurement, &context(CHAIN, round), value, &nonce).expect("shard");
    let shares = aggregators
        .iter()
        .zip(&inputs)
        .map(|(a, input)| SealedShare {
            key: key_id(&hpke_public(*a)),
            sealed: [&[0u8; 32][..], input, &[0; 16]].concat(),
        })
        .collect();
    let instruction = StatsInstruction::SubmitReport {
        round,
        nonce: nonce.to_vec(),
        public_share: public_share.clone(),
        shares,
        by: did(operator),
    };
    Sharded { instruction, nonce, public_share, inputs }
}

/// Runs a block with nothing but the tip, so the height moves on.
pub(crate) fn tick(h: &mut Harness) {
    h.block(vec![]);
}

/// Both aggregators prepare every report, the chain decides them, both aggregate the accepted
/// ones; gives the round's total.
pub(crate) fn aggregate(h: &mut Harness, round: u64, measurement: &Measurement, reports: &[Sharded]) {
    let vdaf = Vdaf::new(measurement, 2).expect("vdaf");
    let ctx = context(CHAIN, round);
    for (a, org) in [LEADER, HELPER].iter().enumerate() {
        let shares = reports
            .iter()
            .map(|r| {
                vdaf.prep_share(&VERIFY_KEY, &ctx, a, (&r.nonce, &r.public_share, &r.inputs[a])).unwrap_or_default()
            })
            .collect();
        ok(h, *org, StatsInstruction::PostPrepShares { round, from: 0, shares, by: did(*org) });
    }
    let accepted = query::round(&h.store, round).expect("read").expect("round").accepted;
    for (a, org) in [LEADER, HELPER].iter().enumerate() {
        let mut outs = vec![];
        for (k, r) in reports.iter().enumerate() {
            let rec = query::report(&h.store, round, k as u32).expect("read").expect("report");
            if rec.verdict == Verdict::Accepted {
                let out =
                    vdaf.output_share(&VERIFY_KEY, &ctx, a, (&r.nonce, &r.public_share, &r.inputs[a]), &rec.message);
                outs.push(out.expect("output share"));
            }
        }
        let share = vdaf.aggregate(&outs).expect("aggregate");
        ok(h, *org, StatsInstruction::PostAggregateShare { round, reports: accepted, share, by: did(*org) });
    }
}

fn world() -> Harness {
    let mut h = harness();
    publish_keys(&mut h, &[LEADER, HELPER]);
    h
}

#[test]
fn a_round_publishes_the_exact_total_of_the_accepted_reports_and_counts_the_rejected() {
    let mut h = world();
    let m = Measurement::Histogram { length: 8 };
    ok(&mut h, BUREAU, define(m, 3, 8));
    let values = [2u32, 5, 2, 7];
    let mut reports: Vec<Sharded> = OPERATORS
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (o, v))| report(0, &m, *o, &Value::Bucket(v), i as u8))
        .collect();
    // The last operator's leader share is corrupted after sharding: the proof cannot verify.
    let last = reports[3].inputs[0].len() - 40;
    reports[3].inputs[0][last] ^= 1;
    for (o, r) in OPERATORS.iter().zip(&reports) {
        ok(&mut h, *o, r.instruction.clone());
    }
    assert_eq!(query::round(&h.store, 0).expect("read").expect("round").reports, 4);
    refused(
        &mut h,
        LEADER,
        StatsInstruction::PostPrepShares { round: 0, from: 0, shares: vec![vec![1]], by: did(LEADER) },
        "round_open",
    );
    for _ in 0..8 {
        tick(&mut h);
    }
    ok(&mut h, LEADER, StatsInstruction::ShareVerifyKey { round: 0, sealed: vec![vec![3; 80]], by: did(LEADER) });
    aggregate(&mut h, 0, &m, &reports);
    let r = query::round(&h.store, 0).expect("read").expect("round");
    assert_eq!(r.status, RoundStatus::Published);
    assert_eq!((r.decided, r.accepted, r.rejected()), (4, 3, 1));
    assert_eq!(r.total, vec![0, 0, 2, 0, 0, 1, 0, 0], "buckets 2, 5, 2 counted; the corrupted 7 is not");
    assert_eq!(query::report(&h.store, 0, 3).expect("read").expect("report").verdict, Verdict::Rejected);
    // Neither aggregate share alone says the counts.
    let a = query::aggregate_share(&h.store, 0, 0).expect("read").expect("share");
    let total: Vec<u8> = r.total.iter().flat_map(|t| t.to_le_bytes()).collect();
    assert_ne!(a, total);
    let again = StatsInstruction::PostAggregateShare { round: 0, reports: 3, share: a, by: did(HELPER) };
    refused(&mut h, HELPER, again, "already_posted");
}

#[test]
fn bad_reports_and_shares_are_refused_with_clear_codes() {
    let mut h = world();
    let m = Measurement::SumVec { length: 3, max: 100 };
    // Definitions: not the bureau; an aggregator without a key; too few operators.
    refused(&mut h, STRANGER, define(m, 3, 5), "not_an_official");
    let mut no_key = define(m, 3, 5);
    if let StatsInstruction::DefineRound { aggregators, .. } = &mut no_key {
        aggregators[1] = did(13);
    }
    refused(&mut h, BUREAU, no_key, "no_hpke_key");
    let mut few = define(m, 3, 5);
    if let StatsInstruction::DefineRound { operators, .. } = &mut few {
        operators.truncate(2);
    }
    refused(&mut h, BUREAU, few, "bad_field");
    ok(&mut h, BUREAU, define(m, 3, 20));
    let v = |x: u64| Value::Vector(vec![x, 1, 2]);
    // Unknown round; an operator not named; sealed to the wrong key; a second report.
    let mut unknown = report(9, &m, 15, &v(1), 1).instruction;
    if let StatsInstruction::SubmitReport { round, .. } = &mut unknown {
        *round = 9;
    }
    refused(&mut h, 15, unknown, "unknown_round");
    let mut stranger = report(0, &m, 15, &v(1), 2).instruction;
    if let StatsInstruction::SubmitReport { by, .. } = &mut stranger {
        *by = did(16);
    }
    refused(&mut h, 16, stranger, "not_eligible");
    let mut wrong = report(0, &m, 15, &v(1), 3).instruction;
    if let StatsInstruction::SubmitReport { shares, .. } = &mut wrong {
        shares.swap(0, 1);
    }
    refused(&mut h, 15, wrong, "wrong_key");
    ok(&mut h, 15, report(0, &m, 15, &v(1), 4).instruction);
    refused(&mut h, 15, report(0, &m, 15, &v(2), 5).instruction, "already_reported");
    // The same nonce from another operator.
    refused(&mut h, 52, report(0, &m, 52, &v(2), 4).instruction, "nonce_used");
    ok(&mut h, 52, report(0, &m, 52, &v(2), 6).instruction);
    for _ in 0..20 {
        tick(&mut h);
    }
    // After the deadline: no more reports; two of three reports is too few: nothing is published.
    refused(&mut h, 54, report(0, &m, 54, &v(3), 7).instruction, "round_closed");
    let prep = |by: u8| StatsInstruction::PostPrepShares { round: 0, from: 0, shares: vec![vec![1; 40]], by: did(by) };
    refused(&mut h, LEADER, prep(LEADER), "too_few_reports");
    // A share from a department that does not aggregate the round.
    refused(&mut h, 13, prep(13), "not_an_aggregator");
    assert_eq!(query::round(&h.store, 0).expect("read").expect("round").status_at(h.height()), RoundStatus::Failed);

    // A second round with three reports: preparation in order only; aggregates after decisions.
    ok(&mut h, BUREAU, define(m, 3, 6));
    let reports: Vec<Sharded> =
        [15u8, 52, 54].iter().enumerate().map(|(i, o)| report(1, &m, *o, &v(i as u64), 20 + i as u8)).collect();
    for (o, r) in [15u8, 52, 54].iter().zip(&reports) {
        ok(&mut h, *o, r.instruction.clone());
    }
    for _ in 0..6 {
        tick(&mut h);
    }
    let early = StatsInstruction::PostAggregateShare { round: 1, reports: 3, share: vec![0; 48], by: did(LEADER) };
    let outcome = run(&mut h, LEADER, early);
    assert_eq!(failed_code(&outcome), Some("not_decided"));
    let skip = StatsInstruction::PostPrepShares { round: 1, from: 1, shares: vec![vec![1; 40]], by: did(LEADER) };
    assert_eq!(failed_code(&run(&mut h, LEADER, skip)), Some("out_of_order"));
    let vdaf = Vdaf::new(&m, 2).expect("vdaf");
    let ctx = context(CHAIN, 1);
    for (a, org) in [LEADER, HELPER].iter().enumerate() {
        let shares = reports
            .iter()
            .map(|r| vdaf.prep_share(&VERIFY_KEY, &ctx, a, (&r.nonce, &r.public_share, &r.inputs[a])).expect("prep"))
            .collect();
        ok(&mut h, *org, StatsInstruction::PostPrepShares { round: 1, from: 0, shares, by: did(*org) });
    }
    let wrong_count =
        StatsInstruction::PostAggregateShare { round: 1, reports: 2, share: vec![0; 48], by: did(LEADER) };
    assert_eq!(failed_code(&run(&mut h, LEADER, wrong_count)), Some("wrong_count"));
    let junk = StatsInstruction::PostAggregateShare { round: 1, reports: 3, share: vec![0; 5], by: did(LEADER) };
    assert_eq!(failed_code(&run(&mut h, LEADER, junk)), Some("bad_vdaf_message"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Random measurements from three or four operators: the published total is exactly their
    /// sum, entry by entry.
    #[test]
    fn the_total_is_exactly_the_sum(values in prop::collection::vec(prop::collection::vec(0u64..=1_000, 4), 3..=4)) {
        let mut h = world();
        let m = Measurement::SumVec { length: 4, max: 1_000 };
        ok(&mut h, BUREAU, define(m, 3, 5));
        let reports: Vec<Sharded> = values
            .iter()
            .zip(OPERATORS)
            .enumerate()
            .map(|(i, (v, o))| report(0, &m, o, &Value::Vector(v.clone()), i as u8))
            .collect();
        for (o, r) in OPERATORS.iter().zip(&reports) {
            ok(&mut h, *o, r.instruction.clone());
        }
        for _ in 0..5 {
            tick(&mut h);
        }
        aggregate(&mut h, 0, &m, &reports);
        let r = query::round(&h.store, 0).expect("read").expect("round");
        let want: Vec<u128> = (0..4).map(|j| values.iter().map(|v| u128::from(v[j])).sum()).collect();
        prop_assert_eq!(r.total, want);
        prop_assert_eq!(r.accepted as usize, values.len());
    }
}
