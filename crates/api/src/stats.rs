//! Statistics rounds routes. Everything here is public by design: a round's definition, its
//! reports (public shares and input shares sealed to each aggregator's HPKE key: no operator's
//! measurement is ever in clear), the verification keys the leader sealed to the helpers, and
//! the published total. A round is provable (`prove=true`, claim `stats_round`).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use civitas_client::claims::stats::StatsRoundClaim;
use civitas_client::stats::RoundJson;
use civitas_client::wire;
use civitas_execution::stats::query;
use civitas_node::Node;
use civitas_types::stats::{Report, round_key};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;
use crate::common::{NodeState, ProveParam, not_found, parse_number, proof_doc, prove_item};

/// Most rounds a page lists (and its default).
const ROUNDS_PAGE_MAX: u64 = 100;

/// The rounds page's query: where to start and how many.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParams {
    from: Option<u64>,
    limit: Option<u64>,
}

/// A page of the rounds' numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct RoundsJson {
    /// How many rounds there are (numbered from 0).
    total: u64,
    /// The first number listed.
    from: u64,
    /// The rounds' numbers, from `from` on.
    rounds: Vec<u64>,
}

/// The verification key the leader sealed to one helper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct SealedKeyJson {
    /// The sealed key (HPKE encapsulated key and ciphertext), hex.
    sealed: String,
}

/// The statistics routes.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/v1/stats/rounds", get(rounds))
        .route("/v1/stats/rounds/{id}", get(round))
        .route("/v1/stats/rounds/{id}/reports/{index}", get(report))
        .route("/v1/stats/rounds/{id}/verify-keys/{aggregator}", get(verify_key))
}

/// The statistics routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(rounds, round, report, verify_key),
    components(schemas(
        wire::Problem,
        wire::ProofJson,
        wire::ClaimJson,
        RoundJson,
        RoundsJson,
        Report,
        SealedKeyJson
    ))
)]
pub(crate) struct Doc;

fn unknown_round(id: u64) -> ApiError {
    not_found("unknown_round", format!("no statistics round {id}"))
}

/// The rounds' numbers, a page at a time.
#[utoipa::path(
    get, path = "/v1/stats/rounds",
    params(
        ("from" = Option<u64>, Query, description = "The first round's number (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many, 1 to 100 (default 100)", minimum = 1, maximum = 100),
    ),
    responses(
        (status = 200, description = "The page", body = RoundsJson),
        (status = 400, description = "Bad query (`bad_query`, `bad_limit`)", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn rounds(
    axum::extract::State(node): NodeState,
    query: Result<Query<PageParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(ROUNDS_PAGE_MAX);
    if limit == 0 || limit > ROUNDS_PAGE_MAX {
        return Err(ApiError::bad_request("bad_limit", format!("limit is 1 to {ROUNDS_PAGE_MAX}")));
    }
    let from = q.from.unwrap_or(0);
    let total = node.query(query::rounds)?;
    let rounds = (from..total.min(from.saturating_add(limit))).collect();
    Ok(Json(RoundsJson { total, from, rounds }).into_response())
}

/// A round: what it measures, its operators and aggregators, its counts, where it stands at the
/// next block and, once published, its total; with `prove=true`, a proof of it (`stats_round`).
#[utoipa::path(
    get, path = "/v1/stats/rounds/{id}",
    params(
        ("id" = u64, Path, description = "The round's number"),
        ("prove" = Option<bool>, Query, description = "Return a proof (ProofJson, claim `stats_round`)"),
    ),
    responses(
        (status = 200, description = "The round (RoundJson), or with prove=true its proof", body = crate::common::OrProof<RoundJson>),
        (status = 400, description = "Not a number (`bad_number`), or a bad query (`bad_query`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such round (`unknown_round`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not in a finalized block yet", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn round(
    axum::extract::State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<ProveParam>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let id: u64 = parse_number(&id, "round")?;
    let (r, tip) = node.query(|s| Ok((query::round(s, id)?, civitas_execution::chain_tip(s)?)))?;
    let r = r.ok_or_else(|| unknown_round(id))?;
    if q.prove() {
        let (proof, item) = prove_item(&node, round_key(id))?;
        if item.value.is_none() {
            return Err(ApiError::not_yet_final());
        }
        let claim = wire::ClaimJson::StatsRound(StatsRoundClaim { round: id, item });
        return Ok(Json(proof_doc(&node, &proof, claim)).into_response());
    }
    let next = tip.map_or(0, |(height, _)| height + 1);
    Ok(Json(RoundJson::new(r, next)).into_response())
}

/// A report of a round: its operator, nonce, public share, input shares sealed to each
/// aggregator, and what the chain decided of it.
#[utoipa::path(
    get, path = "/v1/stats/rounds/{id}/reports/{index}",
    params(
        ("id" = u64, Path, description = "The round's number"),
        ("index" = u32, Path, description = "The report's index in the round (from 0)"),
    ),
    responses(
        (status = 200, description = "The report", body = Report),
        (status = 400, description = "Not a number (`bad_number`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such round (`unknown_round`) or report (`unknown_report`)", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn report(
    axum::extract::State(node): NodeState,
    Path((id, index)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id: u64 = parse_number(&id, "round")?;
    let index: u32 = parse_number(&index, "report index")?;
    let (r, report) = node.query(|s| Ok((query::round(s, id)?, query::report(s, id, index)?)))?;
    r.ok_or_else(|| unknown_round(id))?;
    let report = report.ok_or_else(|| not_found("unknown_report", format!("round {id} has no report {index}")))?;
    Ok(Json(report).into_response())
}

/// The verification key the leader of a round sealed to one helper (HPKE to the helper's key:
/// only it opens it), once shared.
#[utoipa::path(
    get, path = "/v1/stats/rounds/{id}/verify-keys/{aggregator}",
    params(
        ("id" = u64, Path, description = "The round's number"),
        ("aggregator" = u8, Path, description = "The helper's index among the round's aggregators (1 to 3)", minimum = 1, maximum = 3),
    ),
    responses(
        (status = 200, description = "The sealed key", body = SealedKeyJson),
        (status = 400, description = "Not a number (`bad_number`)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such round (`unknown_round`), or no key sealed to that aggregator (`not_shared`)", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn verify_key(
    axum::extract::State(node): NodeState,
    Path((id, aggregator)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id: u64 = parse_number(&id, "round")?;
    let aggregator: u8 = parse_number(&aggregator, "aggregator index")?;
    let (r, sealed) = node.query(|s| Ok((query::round(s, id)?, query::sealed_verify_key(s, id, aggregator)?)))?;
    r.ok_or_else(|| unknown_round(id))?;
    let sealed = sealed.ok_or_else(|| {
        not_found("not_shared", format!("round {id} has no verification key sealed to aggregator {aggregator}"))
    })?;
    Ok(Json(SealedKeyJson { sealed: hex::encode(sealed) }).into_response())
}

#[cfg(test)]
mod tests {
    //! A whole round through the routes, on a dev chain whose civil-affairs department is also
    //! the transport bureau: the operators report with the SDK (real Prio3 and HPKE), the
    //! aggregators read reports and the sealed verification key here, and the published total
    //! is proven.

    use std::collections::BTreeMap;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use civitas_client::seal::X25519KeyPair;
    use civitas_client::stats::{Aggregator, open_verify_key, report, seal_verify_key};
    use civitas_node::consensus::{Application, now_ms};
    use civitas_node::{NodeConfig, dev};
    use civitas_types::codec::{Decode, Encode};
    use civitas_types::did_doc::{DidDocumentData, KeyMaterial, Relations, VerificationMethod};
    use civitas_types::stats::vdaf::Value;
    use civitas_types::stats::{Measurement, Round, RoundStatus, Verdict};
    use civitas_types::{Did, DidInstruction, Hash, Instruction, SecretKey, StatsInstruction, Transaction};
    use serde_json::Value as Json;
    use tower::ServiceExt;

    use super::*;

    struct Chain {
        dir: tempfile::TempDir,
        node: Arc<Node>,
        nonces: BTreeMap<&'static str, u64>,
    }

    impl Chain {
        fn new() -> Chain {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut dev = dev::prepare(dir.path(), false, &[]).expect("dev");
            let civil = dev.genesis.accounts.iter_mut().find(|a| a.name == "civil-affairs").expect("civil affairs");
            civil.organization.as_mut().expect("a department").functions.push("transport".into());
            let node = Node::open(dir.path(), dev.genesis, dev.validator, NodeConfig::default()).expect("node");
            Chain { dir, node: Arc::new(node), nonces: BTreeMap::new() }
        }

        fn key(&self, name: &str) -> SecretKey {
            dev::read_key(&self.dir.path().join(format!("keys/{name}.key"))).expect("key")
        }

        fn did(&self, name: &str) -> Did {
            Did::from_initial_key(&self.key(name).public_key())
        }

        fn commit(&self) {
            let executed = self.node.propose(now_ms()).expect("propose");
            self.node.finalized(&executed, b"test certificate").expect("commit");
        }

        /// Signs `instruction` as `name`, commits it in a block, and checks that it succeeded.
        async fn act(&mut self, name: &'static str, instruction: Instruction) {
            let key = self.key(name);
            let nonce = self.nonces.entry(name).or_insert(0);
            let signed = Transaction {
                chain_id: dev::DEV_CHAIN_ID.into(),
                signer: key.public_key(),
                nonce: *nonce,
                valid_until_height: 1_000,
                instructions: vec![instruction],
            }
            .sign(&key);
            *nonce += 1;
            let hash = Hash::digest(&signed.encode()).to_hex();
            for r in self.node.submit(vec![signed]) {
                r.expect("admitted");
            }
            self.commit();
            let (status, v) = self.get(&format!("/v1/transactions/{hash}")).await;
            assert_eq!((status, v["status"].as_str()), (StatusCode::OK, Some("committed")), "{name}: {v}");
        }

        async fn get(&self, uri: &str) -> (StatusCode, Json) {
            let req = Request::builder().uri(uri).body(Body::empty()).expect("request");
            let resp = crate::router(self.node.clone()).oneshot(req).await.expect("infallible");
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
            (status, serde_json::from_slice(&bytes).unwrap_or(Json::Null))
        }

        async fn round(&self, id: u64) -> RoundJson {
            let (s, v) = self.get(&format!("/v1/stats/rounds/{id}")).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            serde_json::from_value(v).expect("a round")
        }

        async fn reports(&self, r: &Round) -> Vec<Report> {
            let mut out = Vec::new();
            for i in 0..r.reports {
                let (s, v) = self.get(&format!("/v1/stats/rounds/{}/reports/{i}", r.id)).await;
                assert_eq!(s, StatusCode::OK, "{v}");
                out.push(serde_json::from_value(v).expect("a report"));
            }
            out
        }
    }

    fn stats(i: StatsInstruction) -> Instruction {
        Instruction::Stats(i)
    }

    #[tokio::test]
    async fn a_round_runs_through_the_routes_and_its_total_is_proven() {
        let mut chain = Chain::new();
        let aggregators = ["education", "audit-office"];
        let hpke = [X25519KeyPair::generate().expect("key"), X25519KeyPair::generate().expect("key")];
        for (name, pair) in aggregators.iter().zip(&hpke) {
            let document = DidDocumentData {
                methods: vec![VerificationMethod {
                    fragment: "hpke".into(),
                    key: KeyMaterial::X25519(pair.public()),
                    relations: Relations::KEY_AGREEMENT,
                }],
                ..DidDocumentData::default()
            };
            let did = chain.did(name);
            chain.act(name, Instruction::Dids(DidInstruction::UpdateDid { did, document })).await;
        }
        let (s, v) = chain.get("/v1/stats/rounds").await;
        assert_eq!((s, v["total"].as_u64()), (StatusCode::OK, Some(0)), "{v}");
        let operators = ["metro", "bus", "taxi"];
        let define = StatsInstruction::DefineRound {
            title: "Passengers per district".into(),
            measurement: Measurement::Histogram { length: 4 },
            operators: operators.iter().map(|o| chain.did(o)).collect(),
            aggregators: aggregators.iter().map(|a| chain.did(a)).collect(),
            min_reports: 3,
            deadline_blocks: 5,
            by: chain.did("civil-affairs"),
        };
        chain.act("civil-affairs", stats(define)).await;
        let (s, v) = chain.get("/v1/stats/rounds?from=0&limit=10").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v, serde_json::json!({ "total": 1, "from": 0, "rounds": [0] }));
        let view = chain.round(0).await;
        assert_eq!((view.status, view.rejected), (RoundStatus::Open, 0));

        // The leader seals the verification key; the helper opens its copy from the route.
        let verify_key = [9u8; 32];
        let sealed = seal_verify_key(&view.round, &verify_key).expect("seal");
        let by = chain.did("education");
        chain.act("education", stats(StatsInstruction::ShareVerifyKey { round: 0, sealed, by })).await;
        let (s, v) = chain.get("/v1/stats/rounds/0/verify-keys/1").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let sealed = hex::decode(v["sealed"].as_str().expect("hex")).expect("hex");
        assert_eq!(open_verify_key(&view.round, 1, hpke[1].secret(), &sealed).expect("opens"), verify_key);
        let (s, v) = chain.get("/v1/stats/rounds/0/verify-keys/0").await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_shared")));

        // The operators report, split and sealed by the SDK.
        for (op, bucket) in operators.iter().zip([1u32, 3, 1]) {
            let round = chain.round(0).await.round;
            let i = report(dev::DEV_CHAIN_ID, &round, &Value::Bucket(bucket), chain.did(op)).expect("report");
            chain.act(op, stats(i)).await;
        }
        let (s, v) = chain.get("/v1/stats/rounds/0/reports/3").await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_report")));
        while chain.round(0).await.status == RoundStatus::Open {
            chain.commit();
        }
        assert_eq!(chain.round(0).await.status, RoundStatus::Aggregating, "status at the next block");

        // Each aggregator prepares what it reads from the routes, then aggregates.
        let round = chain.round(0).await.round;
        let reports = chain.reports(&round).await;
        for (index, name) in aggregators.iter().enumerate() {
            let agg = Aggregator {
                round: &round,
                chain_id: dev::DEV_CHAIN_ID,
                index: index as u8,
                secret: *hpke[index].secret(),
                verify_key,
            };
            let shares = reports.iter().map(|r| agg.prep_share(r).expect("prep")).collect();
            let by = chain.did(name);
            chain.act(name, stats(StatsInstruction::PostPrepShares { round: 0, from: 0, shares, by })).await;
        }
        let round = chain.round(0).await.round;
        assert_eq!((round.decided, round.accepted), (3, 3));
        let reports = chain.reports(&round).await;
        assert!(reports.iter().all(|r| r.verdict == Verdict::Accepted));
        for (index, name) in aggregators.iter().enumerate() {
            let agg = Aggregator {
                round: &round,
                chain_id: dev::DEV_CHAIN_ID,
                index: index as u8,
                secret: *hpke[index].secret(),
                verify_key,
            };
            let (share, count) = agg.aggregate_share(&reports).expect("aggregate");
            let by = chain.did(name);
            chain.act(name, stats(StatsInstruction::PostAggregateShare { round: 0, reports: count, share, by })).await;
        }
        let view = chain.round(0).await;
        assert_eq!(view.status, RoundStatus::Published);
        assert_eq!(view.round.total, vec![0, 2, 0, 1]);
        let (_, v) = chain.get("/v1/stats/rounds/0").await;
        assert_eq!(v["round"]["total"], serde_json::json!(["0", "2", "0", "1"]), "{v}");

        // The proof of the round checks out against its header and says the total.
        let (s, v) = chain.get("/v1/stats/rounds/0?prove=true").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let doc: wire::ProofJson = serde_json::from_value(v).expect("a proof document");
        let header = civitas_types::BlockHeader::decode(&hex::decode(&doc.header).expect("hex")).expect("header");
        let evidence = civitas_client::claims::Evidence { header: &header, chain_id: &doc.chain_id };
        let sentence = doc.claim.check(&evidence).expect("checks out").describe(doc.height).1;
        assert!(
            sentence.starts_with("round 0 (Passengers per district): published total [0, 2, 0, 1] from 3 accepted"),
            "{sentence}"
        );

        // Refusals.
        for (uri, status, code) in [
            ("/v1/stats/rounds/9", StatusCode::NOT_FOUND, "unknown_round"),
            ("/v1/stats/rounds/9/reports/0", StatusCode::NOT_FOUND, "unknown_round"),
            ("/v1/stats/rounds/9/verify-keys/1", StatusCode::NOT_FOUND, "unknown_round"),
            ("/v1/stats/rounds/x", StatusCode::BAD_REQUEST, "bad_number"),
            ("/v1/stats/rounds/0/verify-keys/300", StatusCode::BAD_REQUEST, "bad_number"),
            ("/v1/stats/rounds?limit=0", StatusCode::BAD_REQUEST, "bad_limit"),
            ("/v1/stats/rounds?zzz=1", StatusCode::BAD_REQUEST, "bad_query"),
            ("/v1/stats/rounds/0?prove=maybe", StatusCode::BAD_REQUEST, "bad_query"),
        ] {
            let (s, v) = chain.get(uri).await;
            assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{uri}: {v}");
        }
    }
}
