//! Statistics rounds from the outside: what an operator does to report (split its measurement
//! with Prio3 and seal each input share to its aggregator's HPKE key) and what an aggregator
//! does (open its shares, prepare, finish with the chain's messages, aggregate), as pure
//! functions of the round's records. The chain never sees a share in clear; the `info` and
//! associated data bind each sealed share to its chain, round, aggregator and report, so a share
//! cannot be replayed into another round or opened as another aggregator's.

use civitas_types::Did;
use civitas_types::stats::vdaf::{NONCE_BYTES, VERIFY_KEY_BYTES, Value, Vdaf, VdafError, context};
use civitas_types::stats::{Report, Round, RoundStatus, SealedShare, StatsInstruction, Verdict, key_id};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::seal::{self, SealError, Sealed};
use crate::{Client, ClientError, wire};

/// Why an operator's or aggregator's step failed.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// A Prio3 step failed.
    #[error(transparent)]
    Vdaf(#[from] VdafError),
    /// Sealing or opening failed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The round's records do not fit the step.
    #[error("{0}")]
    Round(&'static str),
}

/// The HPKE `info` of an input share for aggregator `aggregator` of round `round` (as DAP's
/// "input share" label with the sender and receiver roles).
pub fn share_info(round: u64, aggregator: u8) -> Vec<u8> {
    [b"civitas/stats/v1 input share".as_slice(), &[1, aggregator], &round.to_be_bytes()].concat()
}

/// The associated data of a report's sealed shares: its chain, round, nonce and public share.
pub fn share_aad(chain_id: &str, round: u64, nonce: &[u8], public_share: &[u8]) -> Vec<u8> {
    [context(chain_id, round).as_slice(), nonce, public_share].concat()
}

fn key_info(round: u64, helper: u8) -> Vec<u8> {
    [b"civitas/stats/v1 verify key".as_slice(), &[helper], &round.to_be_bytes()].concat()
}

/// An operator's report of `value` to `round` on chain `chain_id`, signed for `by`: a fresh
/// nonce, the public share and one input share sealed to each aggregator's key.
pub fn report(chain_id: &str, round: &Round, value: &Value, by: Did) -> Result<StatsInstruction, StatsError> {
    let vdaf = Vdaf::new(&round.measurement, round.aggregators.len() as u8)?;
    let nonce: [u8; NONCE_BYTES] = random_nonce()?;
    let (public_share, inputs) = vdaf.shard(&round.measurement, &context(chain_id, round.id), value, &nonce)?;
    let aad = share_aad(chain_id, round.id, &nonce, &public_share);
    let mut shares = Vec::with_capacity(inputs.len());
    for (i, (input, aggregator)) in inputs.iter().zip(&round.aggregators).enumerate() {
        let sealed = seal::seal(&aggregator.key, &share_info(round.id, i as u8), &aad, input)?;
        shares.push(SealedShare { key: key_id(&aggregator.key), sealed: sealed.encode() });
    }
    Ok(StatsInstruction::SubmitReport { round: round.id, nonce: nonce.to_vec(), public_share, shares, by })
}

fn random_nonce() -> Result<[u8; NONCE_BYTES], StatsError> {
    // An ephemeral key's public half is as random as the operating system's randomness.
    let kp = seal::X25519KeyPair::generate()?;
    let mut nonce = [0; NONCE_BYTES];
    nonce.copy_from_slice(&kp.secret()[..NONCE_BYTES]);
    Ok(nonce)
}

/// The leader's sealing of the aggregators' verification key to each helper of `round`.
pub fn seal_verify_key(round: &Round, verify_key: &[u8; VERIFY_KEY_BYTES]) -> Result<Vec<Vec<u8>>, StatsError> {
    round
        .aggregators
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, a)| Ok(seal::seal(&a.key, &key_info(round.id, i as u8), &[], verify_key)?.encode()))
        .collect()
}

/// One aggregator of a round: its index, its HPKE secret key and the verification key.
pub struct Aggregator<'a> {
    /// The round.
    pub round: &'a Round,
    /// The chain's id.
    pub chain_id: &'a str,
    /// Its index among the round's aggregators (0: the leader).
    pub index: u8,
    /// Its X25519 secret key (its DID document's key agreement key).
    pub secret: [u8; 32],
    /// The verification key (the leader's own, or opened from the chain).
    pub verify_key: [u8; VERIFY_KEY_BYTES],
}

/// A helper opens the verification key the leader sealed to it.
pub fn open_verify_key(round: &Round, helper: u8, secret: &[u8; 32], sealed: &[u8]) -> Result<[u8; 32], StatsError> {
    let sealed = Sealed::parse(sealed)?;
    let key = seal::open(secret, &key_info(round.id, helper), &[], &sealed)?;
    key.try_into().map_err(|_| StatsError::Round("the verification key is not 32 bytes"))
}

impl Aggregator<'_> {
    fn vdaf(&self) -> Result<Vdaf, StatsError> {
        Ok(Vdaf::new(&self.round.measurement, self.round.aggregators.len() as u8)?)
    }

    /// Its input share of `report`, opened; `None` if it does not open (sealed to another key,
    /// altered, another round's).
    pub fn open(&self, report: &Report) -> Option<Vec<u8>> {
        let share = report.shares.get(usize::from(self.index))?;
        let sealed = Sealed::parse(&share.sealed).ok()?;
        let aad = share_aad(self.chain_id, self.round.id, &report.nonce, &report.public_share);
        seal::open(&self.secret, &share_info(self.round.id, self.index), &aad, &sealed).ok()
    }

    fn nonce(report: &Report) -> Result<[u8; NONCE_BYTES], StatsError> {
        report.nonce.as_slice().try_into().map_err(|_| StatsError::Round("a nonce is not 16 bytes"))
    }

    /// Its preparation share of `report`: empty (which the chain counts as a rejection) if the
    /// share does not open or prepare.
    pub fn prep_share(&self, report: &Report) -> Result<Vec<u8>, StatsError> {
        let vdaf = self.vdaf()?;
        let Some(input) = self.open(report) else { return Ok(vec![]) };
        let ctx = context(self.chain_id, self.round.id);
        let nonce = Self::nonce(report)?;
        let share =
            vdaf.prep_share(&self.verify_key, &ctx, usize::from(self.index), (&nonce, &report.public_share, &input));
        Ok(share.unwrap_or_default())
    }

    /// Its aggregate share over the reports the chain accepted, and how many there are.
    pub fn aggregate_share(&self, reports: &[Report]) -> Result<(Vec<u8>, u32), StatsError> {
        let vdaf = self.vdaf()?;
        let ctx = context(self.chain_id, self.round.id);
        let mut outs = Vec::new();
        for report in reports.iter().filter(|r| r.verdict == Verdict::Accepted) {
            let input = self.open(report).ok_or(StatsError::Round("an accepted report's share does not open"))?;
            let nonce = Self::nonce(report)?;
            outs.push(vdaf.output_share(
                &self.verify_key,
                &ctx,
                usize::from(self.index),
                (&nonce, &report.public_share, &input),
                &report.message,
            )?);
        }
        let count = outs.len() as u32;
        Ok((vdaf.aggregate(&outs)?, count))
    }
}

/// A round as the API serves it: the record, where it stands at the next block, and how many
/// reports the chain rejected so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoundJson {
    /// The round as stored.
    pub round: Round,
    /// Where it stands at the next block (an open round past its deadline is aggregating or
    /// failed before any act moves it).
    pub status: RoundStatus,
    /// Reports rejected so far.
    pub rejected: u32,
}

impl RoundJson {
    /// The view of `round` at height `next` (the next block's).
    pub fn new(round: Round, next: u64) -> RoundJson {
        RoundJson { status: round.status_at(next), rejected: round.rejected(), round }
    }
}

/// A 404 (`unknown_round`, `unknown_report`, `not_found`) as `None`.
fn absent<T>(read: Result<Option<T>, ClientError>) -> Result<Option<T>, ClientError> {
    match read {
        Err(ClientError::Api(p)) if p.status == 404 => Ok(None),
        other => other,
    }
}

/// The sealed verification key of one helper, as the API serves it.
#[derive(Debug, Deserialize)]
struct SealedKeyJson {
    sealed: String,
}

impl Client {
    /// Round `id`.
    pub fn stats_round(&self, id: u64) -> Result<Option<RoundJson>, ClientError> {
        absent(self.get(&format!("/v1/stats/rounds/{id}")))
    }

    /// A page of the rounds' numbers from `from`: `{ "total", "from", "rounds" }`.
    pub fn stats_rounds(&self, from: u64, limit: u64) -> Result<serde_json::Value, ClientError> {
        let path = format!("/v1/stats/rounds?from={from}&limit={limit}");
        self.get(&path)?.ok_or_else(|| ClientError::Protocol { url: self.url(&path), why: "404".into() })
    }

    /// Report `index` of round `round`.
    pub fn stats_report(&self, round: u64, index: u32) -> Result<Option<Report>, ClientError> {
        absent(self.get(&format!("/v1/stats/rounds/{round}/reports/{index}")))
    }

    /// The verification key the leader of `round` sealed to helper `aggregator`, once shared.
    pub fn stats_verify_key(&self, round: u64, aggregator: u8) -> Result<Option<Vec<u8>>, ClientError> {
        let path = format!("/v1/stats/rounds/{round}/verify-keys/{aggregator}");
        let Some(k) = absent(self.get::<SealedKeyJson>(&path))? else { return Ok(None) };
        let sealed = hex::decode(&k.sealed)
            .map_err(|e| ClientError::Protocol { url: self.url(&path), why: format!("sealed key not hex: {e}") })?;
        Ok(Some(sealed))
    }

    /// A proof of round `id` (claim `stats_round`).
    pub fn prove_stats_round(&self, id: u64) -> Result<wire::ProofJson, ClientError> {
        self.proof(&format!("/v1/stats/rounds/{id}?prove=true"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_types::PublicKey;
    use civitas_types::stats::{AggregatorKey, Measurement};

    fn did(b: u8) -> Did {
        Did::from_initial_key(&PublicKey([b; 32]))
    }

    /// Operators seal, aggregators open and prepare, a stand-in for the chain decides and adds
    /// the shares: the total is the sum, a share sealed for the other aggregator does not open,
    /// and the helper opens the verification key the leader sealed.
    #[test]
    fn sealed_reports_open_only_for_their_aggregator_and_add_up() {
        let keys = [seal::X25519KeyPair::generate().expect("key"), seal::X25519KeyPair::generate().expect("key")];
        let m = Measurement::Histogram { length: 6 };
        let round = Round {
            id: 4,
            title: "t".into(),
            measurement: m,
            operators: vec![did(1), did(2), did(3)],
            aggregators: keys
                .iter()
                .enumerate()
                .map(|(i, k)| AggregatorKey { org: did(10 + i as u8), key: k.public() })
                .collect(),
            min_reports: 3,
            deadline: 10,
            defined_by: did(9),
            height: 1,
            reports: 0,
            key_shared: false,
            prepared: vec![0, 0],
            decided: 0,
            accepted: 0,
            aggregated: vec![false, false],
            status: RoundStatus::Open,
            total: vec![],
            published_height: None,
        };
        let chain = "civitas-test";
        let verify_key = [3u8; 32];
        let sealed = seal_verify_key(&round, &verify_key).expect("seal key");
        let helper_key = open_verify_key(&round, 1, keys[1].secret(), &sealed[0]).expect("open key");
        assert_eq!(helper_key, verify_key);
        assert!(open_verify_key(&round, 1, keys[0].secret(), &sealed[0]).is_err());
        let aggregators: Vec<Aggregator<'_>> = (0..2)
            .map(|i| Aggregator {
                round: &round,
                chain_id: chain,
                index: i as u8,
                secret: *keys[i].secret(),
                verify_key,
            })
            .collect();
        let mut reports = Vec::new();
        for (o, bucket) in [(1u8, 2u32), (2, 2), (3, 5)] {
            let StatsInstruction::SubmitReport { nonce, public_share, shares, .. } =
                report(chain, &round, &Value::Bucket(bucket), did(o)).expect("report")
            else {
                panic!("a report");
            };
            reports.push(Report {
                operator: did(o),
                nonce,
                public_share,
                shares,
                height: 2,
                verdict: Verdict::Pending,
                message: vec![],
            });
        }
        // A share swapped to the other aggregator does not open.
        let mut swapped = reports[0].clone();
        swapped.shares.swap(0, 1);
        assert!(aggregators[0].open(&swapped).is_none());
        assert!(aggregators[1].prep_share(&swapped).expect("prep").is_empty());
        // The chain's part, as validators run it.
        let vdaf = Vdaf::new(&m, 2).expect("vdaf");
        let ctx = context(chain, round.id);
        for r in &mut reports {
            let preps: Vec<Vec<u8>> = aggregators.iter().map(|a| a.prep_share(r).expect("prep")).collect();
            let refs: Vec<&[u8]> = preps.iter().map(Vec::as_slice).collect();
            r.message = vdaf.decide(&ctx, &r.public_share, &refs).expect("accepted");
            r.verdict = Verdict::Accepted;
        }
        let shares: Vec<(Vec<u8>, u32)> =
            aggregators.iter().map(|a| a.aggregate_share(&reports).expect("agg")).collect();
        assert!(shares.iter().all(|(_, n)| *n == 3));
        let refs: Vec<&[u8]> = shares.iter().map(|(s, _)| s.as_slice()).collect();
        assert_eq!(vdaf.unshard(&refs, 3).expect("total"), vec![0, 0, 2, 0, 0, 1]);
    }
}
