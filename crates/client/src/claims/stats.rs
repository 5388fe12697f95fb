//! Statistics rounds: a round's record (or its absence) in the state after the block: who
//! defined it, what it measures, how many reports it took, accepted and rejected, and the
//! published total. Anyone checks a published figure against a finalized header.

use civitas_types::codec::Decode;
use civitas_types::stats::{Round, RoundStatus, round_key};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Claim, Describe, Evidence};
use crate::light::ProofError;
use crate::wire::StateItemJson;

/// Round `round`'s record in the state after the block, or its absence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatsRoundClaim {
    /// The round's number.
    pub round: u64,
    /// Its state item.
    pub item: StateItemJson,
}

/// Round `round` is this one, or there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRoundFact {
    /// The round's number.
    pub round: u64,
    /// It, or `None`: proven absent.
    pub value: Option<Round>,
    /// The block's height: where an open round past its deadline stands is judged at the next.
    pub height: u64,
}

impl Claim for StatsRoundClaim {
    type Fact = StatsRoundFact;

    fn check(&self, at: &Evidence<'_>) -> Result<StatsRoundFact, ProofError> {
        let value = at.item("item", &self.item, &round_key(self.round), || format!("round {}", self.round))?;
        let value =
            value.map(|b| Round::decode(&b)).transpose().map_err(|e| ProofError::Field("item", e.to_string()))?;
        if value.as_ref().is_some_and(|r| r.id != self.round) {
            return Err(ProofError::Field("item", format!("the record is not round {}", self.round)));
        }
        Ok(StatsRoundFact { round: self.round, value, height: at.header.height })
    }
}

/// A round, in words, as it stands at height `next`.
fn round_text(r: &Round, next: u64) -> String {
    let head = format!("round {} ({})", r.id, r.title);
    match r.status_at(next) {
        RoundStatus::Published => {
            let total: Vec<String> = r.total.iter().map(u128::to_string).collect();
            format!(
                "{head}: published total [{}] from {} accepted reports ({} rejected) at height {}",
                total.join(", "),
                r.accepted,
                r.rejected(),
                r.published_height.unwrap_or_default()
            )
        }
        RoundStatus::Open => format!(
            "{head}: open for reports until height {}; {} of the {} needed so far",
            r.deadline, r.reports, r.min_reports
        ),
        RoundStatus::Aggregating => format!(
            "{head}: aggregating {} reports ({} decided, {} accepted, {} rejected)",
            r.reports,
            r.decided,
            r.accepted,
            r.rejected()
        ),
        RoundStatus::Failed => format!(
            "{head}: failed with {} reports of the {} needed by height {}; nothing is published",
            r.reports, r.min_reports, r.deadline
        ),
    }
}

impl Describe for StatsRoundFact {
    fn describe(&self, height: u64) -> (serde_json::Value, String) {
        match &self.value {
            None => (
                serde_json::json!({ "kind": "stats_round", "round": self.round, "exists": false }),
                format!("there is no statistics round {}", self.round),
            ),
            Some(r) => {
                let next = height.max(self.height) + 1;
                let status = r.status_at(next);
                (
                    serde_json::json!({ "kind": "stats_round", "round": self.round, "exists": true,
                        "status": status, "rejected": r.rejected(), "record": r }),
                    round_text(r, next),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_state::{Store, Writes};
    use civitas_types::codec::Encode;
    use civitas_types::stats::{AggregatorKey, Measurement};
    use civitas_types::{Block, BlockHeader, Did, GENESIS_PARENT, Hash, PublicKey, TxReceipt};

    fn did(n: u8) -> Did {
        Did::from_initial_key(&civitas_types::SecretKey::from_seed([n; 32]).public_key())
    }

    fn round(id: u64) -> Round {
        Round {
            id,
            title: "Passengers per district".into(),
            measurement: Measurement::Histogram { length: 4 },
            operators: vec![did(1), did(2), did(3)],
            aggregators: vec![AggregatorKey { org: did(4), key: [4; 32] }, AggregatorKey { org: did(5), key: [5; 32] }],
            min_reports: 3,
            deadline: 10,
            defined_by: did(6),
            height: 2,
            reports: 4,
            key_shared: true,
            prepared: vec![4, 4],
            decided: 4,
            accepted: 3,
            aggregated: vec![true, true],
            status: RoundStatus::Published,
            total: vec![0, 2, 0, 1],
            published_height: Some(14),
        }
    }

    /// A store holding `writes` and a header over its root.
    fn store_with(writes: Writes) -> (tempfile::TempDir, Store, BlockHeader) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let update = store.prepare(writes, 0).expect("prepare");
        let header = BlockHeader {
            height: 0,
            parent_hash: GENESIS_PARENT,
            timestamp_ms: 1_767_225_600_000,
            proposer: PublicKey([0; 32]),
            tx_count: 0,
            tx_root: Block::tx_root(&[]),
            results_root: TxReceipt::results_root(&[]),
            state_root: update.root(),
        };
        let block = Block { header: header.clone(), transactions: vec![] };
        store.commit_genesis(&block, &update, Hash::digest(b"genesis")).expect("commit");
        (dir, store, header)
    }

    fn item(store: &Store, key: &[u8]) -> StateItemJson {
        let (value, proof) = store.prove(key, 0).expect("prove");
        StateItemJson {
            state_key: hex::encode(key),
            value: value.as_ref().map(hex::encode),
            state_proof: hex::encode(proof),
        }
    }

    #[test]
    fn a_proven_round_describes_its_total_or_where_it_stands() {
        let published = round(0);
        let mut open = round(1);
        (open.status, open.reports, open.decided, open.accepted, open.total, open.published_height) =
            (RoundStatus::Open, 2, 0, 0, vec![], None);
        open.deadline = 1_000;
        let writes: Writes = [(round_key(0), Some(published.encode())), (round_key(1), Some(open.encode()))].into();
        let (_dir, store, header) = store_with(writes);
        let evidence = Evidence { header: &header, chain_id: "test" };

        let claim = StatsRoundClaim { round: 0, item: item(&store, &round_key(0)) };
        let fact = claim.check(&evidence).expect("checks out");
        assert_eq!(fact.value.as_ref(), Some(&published));
        let (json, sentence) = fact.describe(0);
        assert_eq!((json["kind"].as_str(), json["status"].as_str()), (Some("stats_round"), Some("published")));
        assert_eq!(json["rejected"], 1);
        assert_eq!(
            sentence,
            "round 0 (Passengers per district): published total [0, 2, 0, 1] from 3 accepted reports (1 rejected) \
             at height 14"
        );

        let claim = StatsRoundClaim { round: 1, item: item(&store, &round_key(1)) };
        let (json, sentence) = claim.check(&evidence).expect("checks out").describe(0);
        assert_eq!(json["status"], "open");
        assert!(sentence.contains("open for reports until height 1000; 2 of the 3 needed"), "{sentence}");

        // Absent, proven so; another round's proof, a forged value, or a record under another
        // number are refused.
        let claim = StatsRoundClaim { round: 2, item: item(&store, &round_key(2)) };
        assert_eq!(claim.check(&evidence).expect("absence").describe(0).1, "there is no statistics round 2");
        let claim = StatsRoundClaim { round: 2, item: item(&store, &round_key(0)) };
        assert!(matches!(claim.check(&evidence), Err(ProofError::WrongKey(_))));
        let mut forged = item(&store, &round_key(0));
        forged.value = Some(hex::encode(open.encode()));
        let claim = StatsRoundClaim { round: 0, item: forged };
        assert!(matches!(claim.check(&evidence), Err(ProofError::State(_))));
        // The claim JSON is tagged as the other kinds are.
        let claim = crate::wire::ClaimJson::StatsRound(StatsRoundClaim { round: 0, item: item(&store, &round_key(0)) });
        let json = serde_json::to_value(&claim).expect("json");
        assert_eq!(json["kind"], "stats_round");
        assert_eq!(serde_json::from_value::<crate::wire::ClaimJson>(json).expect("back"), claim);
    }

    #[test]
    fn a_round_past_its_deadline_reads_failed_or_aggregating() {
        let mut r = round(3);
        (r.status, r.reports, r.decided, r.accepted, r.total, r.published_height) =
            (RoundStatus::Open, 2, 0, 0, vec![], None);
        let fact = StatsRoundFact { round: 3, value: Some(r.clone()), height: 20 };
        let (json, sentence) = fact.describe(20);
        assert_eq!(json["status"], "failed");
        assert!(sentence.contains("failed with 2 reports of the 3 needed by height 10"), "{sentence}");
        r.reports = 3;
        let fact = StatsRoundFact { round: 3, value: Some(r), height: 20 };
        assert!(fact.describe(20).1.contains("aggregating 3 reports (0 decided, 0 accepted, 0 rejected)"));
    }
}
