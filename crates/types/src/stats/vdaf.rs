//! Prio3 (draft-irtf-cfrg-vdaf-18, the `prio` crate) as the statistics rounds use it: what an
//! operator runs to split its measurement (`shard`), what each aggregator runs on its input
//! share (`prep_share`, then `output_share` once the chain has combined the preparation), and
//! what every validator runs without any secret: `decide`, which combines the aggregators'
//! preparation shares of one report into the preparation message (checking the proof that the
//! measurement is in range) or rejects the report, and `unshard`, which adds the aggregate
//! shares into the published total.
//!
//! Everything here after sharding is field arithmetic and TurboSHAKE128: no clock, no
//! randomness, no floats, so validators agree. The application context binds every report to
//! its chain and round.

use prio::codec::ParameterizedDecode;
use prio::field::Field128;
use prio::flp::Type;
use prio::vdaf::prio3::{
    Prio3, Prio3Histogram, Prio3InputShare, Prio3PublicShare, Prio3SumVec, Prio3VerifierMessage, Prio3VerifierShare,
    Prio3VerifyState, optimal_chunk_length,
};
use prio::vdaf::xof::XofTurboShake128;
use prio::vdaf::{AggregateShare, Aggregator, Client, Collector, OutputShare, Vdaf as _, VerifyTransition};

use super::Measurement;

type F = Field128;
type P<T> = Prio3<T, XofTurboShake128, 32>;

/// The size of a report's nonce.
pub const NONCE_BYTES: usize = 16;
/// The size of the aggregators' shared verification key.
pub const VERIFY_KEY_BYTES: usize = 32;

/// Why a VDAF step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VdafError {
    /// The measurement does not fit the round (a bucket past the end, a value over the maximum,
    /// the wrong length).
    #[error("the measurement does not fit the round: {0}")]
    Measurement(String),
    /// A share, message or aggregate that does not decode.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The report's proof does not verify: its measurement is out of range, or its shares do
    /// not fit together.
    #[error("the report is rejected: {0}")]
    Rejected(&'static str),
    /// The round's parameters make no VDAF.
    #[error("bad parameters: {0}")]
    Parameters(String),
}

/// A measurement an operator reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// One count in this bucket of a histogram.
    Bucket(u32),
    /// A vector of sums, each at most the round's maximum.
    Vector(Vec<u64>),
}

/// The round's VDAF.
#[derive(Debug, Clone)]
pub enum Vdaf {
    /// Prio3Histogram.
    Histogram(Prio3Histogram),
    /// Prio3SumVec.
    SumVec(Prio3SumVec),
}

macro_rules! each {
    ($self:expr, $v:ident => $body:expr) => {
        match $self {
            Vdaf::Histogram($v) => $body,
            Vdaf::SumVec($v) => $body,
        }
    };
}

/// The application context of round `round` on chain `chain_id`.
pub fn context(chain_id: &str, round: u64) -> Vec<u8> {
    [b"civitas/stats/v1/".as_slice(), chain_id.as_bytes(), b"/", &round.to_be_bytes()].concat()
}

fn bits(max: u64) -> usize {
    (64 - max.leading_zeros()) as usize
}

impl Vdaf {
    /// The VDAF of `measurement` for `aggregators` aggregators.
    pub fn new(measurement: &Measurement, aggregators: u8) -> Result<Vdaf, VdafError> {
        let bad = |e: prio::vdaf::VdafError| VdafError::Parameters(format!("{e:?}"));
        Ok(match *measurement {
            Measurement::Histogram { length } => {
                let length = length as usize;
                Vdaf::Histogram(Prio3::new_histogram(aggregators, length, optimal_chunk_length(length)).map_err(bad)?)
            }
            Measurement::SumVec { length, max } => {
                let (length, bits) = (length as usize, bits(max));
                let chunk = optimal_chunk_length(length * bits);
                Vdaf::SumVec(Prio3::new_sum_vec(aggregators, u128::from(max), length, chunk).map_err(bad)?)
            }
        })
    }

    /// Splits `value` for the aggregators (an operator runs it; it draws randomness): the
    /// public share and one input share per aggregator, encoded. `measurement` is the round's,
    /// which the value must fit.
    pub fn shard(
        &self,
        measurement: &Measurement,
        context: &[u8],
        value: &Value,
        nonce: &[u8; NONCE_BYTES],
    ) -> Result<(Vec<u8>, Vec<Vec<u8>>), VdafError> {
        let fail = |e: prio::vdaf::VdafError| VdafError::Measurement(format!("{e:?}"));
        let (public, inputs) = match (self, measurement, value) {
            (Vdaf::Histogram(v), Measurement::Histogram { length }, Value::Bucket(b)) => {
                if b >= length {
                    return Err(VdafError::Measurement(format!("bucket {b} of {length}")));
                }
                let (p, i) = v.shard(context, &(*b as usize), nonce).map_err(fail)?;
                (encode(&p)?, i.iter().map(encode).collect::<Result<Vec<_>, _>>()?)
            }
            (Vdaf::SumVec(v), Measurement::SumVec { length, max }, Value::Vector(values)) => {
                if values.len() != *length as usize || values.iter().any(|x| x > max) {
                    return Err(VdafError::Measurement(format!("{length} values of at most {max}")));
                }
                let m: Vec<u128> = values.iter().map(|x| u128::from(*x)).collect();
                let (p, i) = v.shard(context, &m, nonce).map_err(fail)?;
                (encode(&p)?, i.iter().map(encode).collect::<Result<Vec<_>, _>>()?)
            }
            _ => return Err(VdafError::Measurement("a value of another kind than the round's".into())),
        };
        Ok((public, inputs))
    }

    /// Whether `public_share` decodes (the chain checks it at submission).
    pub fn check_public_share(&self, public_share: &[u8]) -> bool {
        each!(self, v => Prio3PublicShare::get_decoded_with_param(v, public_share).is_ok())
    }

    /// Whether `share` decodes as an aggregate share of this VDAF.
    pub fn check_aggregate_share(&self, share: &[u8]) -> bool {
        each!(self, v => AggregateShare::<F>::get_decoded_with_param(&(v, &()), share).is_ok())
    }

    /// Aggregator `aggregator`'s preparation share of one report, from its input share.
    pub fn prep_share(
        &self,
        verify_key: &[u8; VERIFY_KEY_BYTES],
        context: &[u8],
        aggregator: usize,
        (nonce, public_share, input_share): (&[u8; NONCE_BYTES], &[u8], &[u8]),
    ) -> Result<Vec<u8>, VdafError> {
        each!(self, v => {
            let (_, share) = init(v, verify_key, context, aggregator, (nonce, public_share, input_share))?;
            encode(&share)
        })
    }

    /// What every validator runs on one report once each aggregator posted its preparation
    /// share: the joint randomness each share carries must be the public share's part, and the
    /// combined verifier must accept the proof. Gives the preparation message.
    pub fn decide(&self, context: &[u8], public_share: &[u8], prep_shares: &[&[u8]]) -> Result<Vec<u8>, VdafError> {
        each!(self, v => decide(v, context, public_share, prep_shares))
    }

    /// Aggregator `aggregator`'s output share of one report the chain accepted with `message`:
    /// its preparation again (a pure function of its inputs), finished with the message.
    pub fn output_share(
        &self,
        verify_key: &[u8; VERIFY_KEY_BYTES],
        context: &[u8],
        aggregator: usize,
        report: (&[u8; NONCE_BYTES], &[u8], &[u8]),
        message: &[u8],
    ) -> Result<Vec<u8>, VdafError> {
        each!(self, v => {
            let (state, _) = init(v, verify_key, context, aggregator, report)?;
            let msg = Prio3VerifierMessage::get_decoded_with_param(&state, message)
                .map_err(|_| VdafError::Malformed("preparation message"))?;
            match v.verify_next(context, state, msg) {
                Ok(VerifyTransition::Finish(out)) => encode(&out),
                Ok(VerifyTransition::Continue(..)) => Err(VdafError::Rejected("Prio3 prepares in one round")),
                Err(_) => Err(VdafError::Rejected("the preparation message does not finish this share")),
            }
        })
    }

    /// Adds encoded output shares into an encoded aggregate share.
    pub fn aggregate(&self, output_shares: &[Vec<u8>]) -> Result<Vec<u8>, VdafError> {
        each!(self, v => {
            let outs = output_shares
                .iter()
                .map(|b| OutputShare::<F>::get_decoded_with_param(&(v, &()), b))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| VdafError::Malformed("output share"))?;
            encode(&v.aggregate(&(), outs).map_err(|_| VdafError::Malformed("output shares"))?)
        })
    }

    /// What every validator runs once every aggregator posted its aggregate share: their sum,
    /// the round's total, over `reports` accepted reports.
    pub fn unshard(&self, aggregate_shares: &[&[u8]], reports: usize) -> Result<Vec<u128>, VdafError> {
        each!(self, v => unshard(v, aggregate_shares, reports))
    }
}

fn encode<E: prio::codec::Encode>(e: &E) -> Result<Vec<u8>, VdafError> {
    e.get_encoded().map_err(|_| VdafError::Malformed("encoding"))
}

fn init<T: Type<Field = F>>(
    v: &P<T>,
    verify_key: &[u8; VERIFY_KEY_BYTES],
    context: &[u8],
    aggregator: usize,
    (nonce, public_share, input_share): (&[u8; NONCE_BYTES], &[u8], &[u8]),
) -> Result<(Prio3VerifyState<F, 32>, Prio3VerifierShare<F, 32>), VdafError> {
    let public =
        Prio3PublicShare::get_decoded_with_param(v, public_share).map_err(|_| VdafError::Malformed("public share"))?;
    let input = Prio3InputShare::get_decoded_with_param(&(v, aggregator), input_share)
        .map_err(|_| VdafError::Malformed("input share"))?;
    v.verify_init(verify_key, context, aggregator, &(), nonce, &public, &input)
        .map_err(|_| VdafError::Rejected("the input share does not prepare"))
}

/// Whether the VDAF uses joint randomness (its public share then holds a part per aggregator).
fn joint_randomness<T: Type<Field = F>>(v: &P<T>) -> bool {
    Prio3PublicShare::<32>::get_decoded_with_param(v, &[]).is_err()
}

fn decide<T: Type<Field = F>>(
    v: &P<T>,
    context: &[u8],
    public_share: &[u8],
    prep_shares: &[&[u8]],
) -> Result<Vec<u8>, VdafError> {
    let n = v.num_aggregators();
    if prep_shares.len() != n {
        return Err(VdafError::Malformed("preparation shares (one per aggregator)"));
    }
    let joint = joint_randomness(v);
    // Decoding a preparation share needs a preparation state only for its shape: a helper's,
    // made of zeros, has it (no secret is involved).
    let shape = vec![0u8; if joint { 64 } else { 32 }];
    let state = Prio3VerifyState::get_decoded_with_param(&(v, 1usize), &shape)
        .map_err(|_| VdafError::Malformed("preparation state shape"))?;
    let mut shares = Vec::with_capacity(n);
    for bytes in prep_shares {
        shares.push(
            Prio3VerifierShare::get_decoded_with_param(&state, bytes)
                .map_err(|_| VdafError::Rejected("a preparation share does not decode"))?,
        );
    }
    if joint {
        // What each aggregator's `verify_next` would check: its joint-randomness part is the
        // public share's. Checked here, the report is in or out for all of them alike.
        if public_share.len() != 32 * n {
            return Err(VdafError::Rejected("the public share is not one part per aggregator"));
        }
        for (i, bytes) in prep_shares.iter().enumerate() {
            let part = bytes.get(bytes.len().saturating_sub(32)..).unwrap_or_default();
            if part != &public_share[32 * i..32 * (i + 1)] {
                return Err(VdafError::Rejected("the joint randomness does not match the public share"));
            }
        }
    }
    let message = v
        .verifier_shares_to_message(context, &(), shares)
        .map_err(|_| VdafError::Rejected("the proof does not verify: the measurement is out of range"))?;
    encode(&message)
}

fn unshard<T: Type<Field = F, AggregateResult = Vec<u128>>>(
    v: &P<T>,
    aggregate_shares: &[&[u8]],
    reports: usize,
) -> Result<Vec<u128>, VdafError> {
    let shares = aggregate_shares
        .iter()
        .map(|b| AggregateShare::<F>::get_decoded_with_param(&(v, &()), b))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| VdafError::Malformed("aggregate share"))?;
    if shares.len() != v.num_aggregators() {
        return Err(VdafError::Malformed("aggregate shares (one per aggregator)"));
    }
    v.unshard(&(), shares, reports).map_err(|_| VdafError::Malformed("aggregate shares"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn nonce(i: u8) -> [u8; 16] {
        [i; 16]
    }

    /// Operators' reports through both aggregators and the chain's decision: the total and the
    /// count of rejected reports.
    fn round(measurement: &Measurement, values: &[Value], corrupt: &[usize]) -> (Vec<u128>, usize, Vec<Vec<u8>>) {
        let vdaf = Vdaf::new(measurement, 2).expect("vdaf");
        let ctx = context("civitas-test", 3);
        let (mut outs, mut rejected) = ([vec![], vec![]], 0);
        for (i, value) in values.iter().enumerate() {
            let n = nonce(i as u8);
            let (public, mut inputs) = vdaf.shard(measurement, &ctx, value, &n).expect("shard");
            if corrupt.contains(&i) {
                let last = inputs[0].len() - 40;
                inputs[0][last] ^= 1;
            }
            let preps: Vec<Vec<u8>> =
                (0..2).map(|a| vdaf.prep_share(&KEY, &ctx, a, (&n, &public, &inputs[a])).expect("prep")).collect();
            let refs: Vec<&[u8]> = preps.iter().map(Vec::as_slice).collect();
            match vdaf.decide(&ctx, &public, &refs) {
                Ok(message) => {
                    for a in 0..2 {
                        outs[a]
                            .push(vdaf.output_share(&KEY, &ctx, a, (&n, &public, &inputs[a]), &message).expect("out"));
                    }
                }
                Err(VdafError::Rejected(_)) => rejected += 1,
                Err(e) => panic!("{e}"),
            }
        }
        let shares: Vec<Vec<u8>> = outs.iter().map(|o| vdaf.aggregate(o).expect("aggregate")).collect();
        let refs: Vec<&[u8]> = shares.iter().map(Vec::as_slice).collect();
        let accepted = values.len() - rejected;
        (vdaf.unshard(&refs, accepted).expect("unshard"), rejected, shares)
    }

    #[test]
    fn a_histogram_total_is_the_sum_of_the_accepted_reports() {
        let m = Measurement::Histogram { length: 12 };
        let values: Vec<Value> = [3, 3, 7, 0, 11, 3].iter().map(|b| Value::Bucket(*b)).collect();
        let (total, rejected, shares) = round(&m, &values, &[4]);
        assert_eq!(rejected, 1);
        let mut want = vec![0u128; 12];
        for b in [3, 3, 7, 0, 3] {
            want[b] += 1;
        }
        assert_eq!(total, want, "the corrupted report (bucket 11) is out of the total");
        // An aggregator's share alone says nothing like the counts.
        assert_ne!(shares[0], shares[1]);
    }

    #[test]
    fn a_sum_vector_total_is_exact_and_out_of_range_values_never_shard() {
        let m = Measurement::SumVec { length: 4, max: 1_000 };
        let values = vec![Value::Vector(vec![1, 2, 3, 1_000]), Value::Vector(vec![10, 0, 0, 5])];
        let (total, rejected, _) = round(&m, &values, &[]);
        assert_eq!((total, rejected), (vec![11, 2, 3, 1_005], 0));
        let vdaf = Vdaf::new(&m, 2).expect("vdaf");
        let ctx = context("c", 1);
        for bad in [Value::Vector(vec![1_001, 0, 0, 0]), Value::Vector(vec![1]), Value::Bucket(0)] {
            assert!(matches!(vdaf.shard(&m, &ctx, &bad, &nonce(1)), Err(VdafError::Measurement(_))), "{bad:?}");
        }
        let h = Measurement::Histogram { length: 4 };
        let hv = Vdaf::new(&h, 2).expect("vdaf");
        assert!(matches!(hv.shard(&h, &ctx, &Value::Bucket(4), &nonce(1)), Err(VdafError::Measurement(_))));
    }

    #[test]
    fn another_round_or_another_key_rejects_the_report() {
        let m = Measurement::Histogram { length: 5 };
        let vdaf = Vdaf::new(&m, 2).expect("vdaf");
        let (ctx, other) = (context("c", 1), context("c", 2));
        let n = nonce(9);
        let (public, inputs) = vdaf.shard(&m, &ctx, &Value::Bucket(2), &n).expect("shard");
        let prep =
            |key: &[u8; 32], c: &[u8], a: usize| vdaf.prep_share(key, c, a, (&n, &public, &inputs[a])).expect("prep");
        let (a, b) = (prep(&KEY, &other, 0), prep(&KEY, &other, 1));
        assert!(matches!(vdaf.decide(&other, &public, &[&a, &b]), Err(VdafError::Rejected(_))));
        let (a, b) = (prep(&KEY, &ctx, 0), prep(&[8; 32], &ctx, 1));
        assert!(matches!(vdaf.decide(&ctx, &public, &[&a, &b]), Err(VdafError::Rejected(_))));
        assert!(matches!(vdaf.decide(&ctx, &public, &[&a]), Err(VdafError::Malformed(_))));
        assert!(matches!(vdaf.decide(&ctx, &public, &[&a, b"junk"]), Err(VdafError::Rejected(_))));
    }
}
