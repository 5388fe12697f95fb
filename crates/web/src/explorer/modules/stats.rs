//! Statistics rounds: the rounds (newest first), and a round: what it measures, who reports and
//! who aggregates, its deadline and where it stands, each report's verdict, and once published
//! its total as a table and a bar chart, with the proof of the round. No operator's measurement
//! is ever shown, because none is ever on the chain in clear: only the total is.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use civitas_execution::stats::query;
use civitas_node::Node;
use civitas_types::Did;
use civitas_types::stats::{Measurement, Report, Round, RoundStatus, Verdict};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Newest, NoParams, org_names, params, party, scale};
use crate::error::PageError;
use crate::explorer::{NodeState, blocking, number};
use crate::layout::{self, badge, facts, short};

/// The statistics pages.
pub(super) fn routes() -> Router<Arc<Node>> {
    Router::new().route("/stats", get(rounds)).route("/stats/rounds/{id}", get(round))
}

/// The rounds page's query: the round to list before.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    before: Option<String>,
}

/// `GET /stats?before=N`.
async fn rounds(State(node): NodeState, query: Result<Query<ListQuery>, QueryRejection>) -> Result<Markup, PageError> {
    let q = params(query)?;
    let before = q.before.as_deref().map(|b| number("before", b)).transpose()?;
    blocking(move || rounds_page(&node, before)).await
}

fn status(s: RoundStatus) -> Markup {
    match s {
        RoundStatus::Open => badge("open", "wait"),
        RoundStatus::Aggregating => badge("aggregating", "wait"),
        RoundStatus::Published => badge("published", "ok"),
        RoundStatus::Failed => badge("failed", "bad"),
    }
}

fn measurement(m: &Measurement) -> String {
    match *m {
        Measurement::Histogram { length } => {
            format!("a histogram of {length} buckets: each report adds one to one bucket")
        }
        Measurement::SumVec { length, max } => {
            format!("{length} sums: each report adds at most {max} to each")
        }
    }
}

fn rounds_page(node: &Node, before: Option<u64>) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let (page, rows) = node.query(|s| {
        let page = Newest::of(query::rounds(s)?, before);
        let mut rows = Vec::new();
        for id in page.positions.clone().rev() {
            rows.extend(query::round(s, id)?);
        }
        Ok((page, rows))
    })?;
    let next = latest.saturating_add(1);
    let body = html! {
        p { "The transport bureau asks operators for figures no one of them should see of another's: each operator splits its figures and seals one share to each aggregator, and only the total is ever put together and published (Prio3 secure aggregation)." }
        @if rows.is_empty() {
            p { "No round yet." }
        } @else {
            table {
                thead { tr {
                    th scope="col" class="num" { "#" } th scope="col" { "Round" } th scope="col" { "Measures" } th scope="col" { "Status" }
                    th scope="col" class="num" { "Reports" } th scope="col" { "Deadline" }
                } }
                tbody {
                    @for r in &rows {
                        tr {
                            td.num { (r.id) }
                            td { a href=(format!("/stats/rounds/{}", r.id)) { (r.title) } }
                            td { (measurement(&r.measurement)) }
                            td { (status(r.status_at(next))) }
                            td.num { (r.reports) " of " (r.operators.len()) }
                            td { "block " (r.deadline) }
                        }
                    }
                }
            }
            (page.pager("/stats"))
        }
    };
    Ok(layout::page("Statistics", Some(latest), body))
}

/// `GET /stats/rounds/{id}`.
async fn round(
    State(node): NodeState,
    Path(id): Path<String>,
    query: Result<Query<NoParams>, QueryRejection>,
) -> Result<Markup, PageError> {
    params(query)?;
    let id = number("a round's number", &id)?;
    blocking(move || {
        let latest = node.status().latest.height;
        let read = node.query(|s| {
            let Some(r) = query::round(s, id)? else { return Ok(None) };
            let mut reports = Vec::new();
            for i in 0..r.reports {
                reports.extend(query::report(s, id, i)?);
            }
            let dids = r.operators.iter().copied().chain(r.aggregators.iter().map(|a| a.org));
            let names = org_names(s, dids.chain([r.defined_by]))?;
            Ok(Some((r, reports, names)))
        })?;
        let Some((r, reports, names)) = read else {
            return Err(PageError::not_found(format!("there is no statistics round {id} at block {latest}")));
        };
        let body = round_body(&r, latest, &reports, &names);
        Ok(layout::page(&r.title, Some(latest), body))
    })
    .await
}

/// A round as of block `latest`, with its reports.
fn round_body(r: &Round, latest: u64, reports: &[Report], names: &BTreeMap<Did, String>) -> Markup {
    let now = r.status_at(latest.saturating_add(1));
    let id = r.id;
    html! {
        (facts(&[
            ("Status", html! {
                (status(now))
                @match now {
                    RoundStatus::Open => { ": taking reports until block " (r.deadline) }
                    RoundStatus::Aggregating => { ": the aggregators prepare and add up the reports" }
                    RoundStatus::Published => { @if let Some(h) = r.published_height { " at block " (layout::height(h)) } }
                    RoundStatus::Failed => { ": fewer than " (r.min_reports) " reports came by the deadline: it publishes nothing" }
                }
            }),
            ("Measures", html! { (measurement(&r.measurement)) }),
            ("Defined", html! { "by " (party(&r.defined_by, names)) " at block " (layout::height(r.height)) }),
            ("Deadline", html! {
                "block " (r.deadline)
                @if r.deadline > latest { " (" (r.deadline - latest) " blocks from now)" } @else { " (passed)" }
            }),
            ("Reports", html! { (r.reports) " of " (r.operators.len()) " operators; at least " (r.min_reports) " for a total" }),
            ("Decided", html! { (r.decided) ": " (r.accepted) " accepted, " (r.decided.saturating_sub(r.accepted)) " rejected" }),
            ("Verification key", html! { @if r.key_shared { "sealed to the helpers by the leader" } @else { "not shared yet" } }),
        ]))
        h2 { "Operators" }
        ul { @for o in &r.operators { li { (party(o, names)) } } }
        h2 { "Aggregators" }
        table {
            thead { tr { th scope="col" class="num" { "#" } th scope="col" { "Department" } th scope="col" { "HPKE key" } th scope="col" class="num" { "Reports prepared" } th scope="col" { "Aggregate share" } } }
            tbody {
                @for (i, a) in r.aggregators.iter().enumerate() {
                    tr {
                        td.num { (i) }
                        td { (party(&a.org, names)) @if i == 0 { " (leader)" } }
                        td { (short(&hex::encode(a.key))) }
                        td.num { (r.prepared.get(i).copied().unwrap_or(0)) }
                        td { @if r.aggregated.get(i).copied().unwrap_or(false) { (badge("posted", "ok")) } @else { "not yet" } }
                    }
                }
            }
        }
        @if !reports.is_empty() {
            h2 { "Reports" }
            p { "Each report is an operator's figures split into shares sealed to the aggregators: none of them is readable here or anywhere." }
            table {
                thead { tr { th scope="col" class="num" { "#" } th scope="col" { "Operator" } th scope="col" { "Block" } th scope="col" { "Verdict" } } }
                tbody {
                    @for (i, rep) in reports.iter().enumerate() {
                        tr {
                            td.num { a href=(format!("/v1/stats/rounds/{id}/reports/{i}")) { (i) } }
                            td { (party(&rep.operator, names)) }
                            td { (layout::height(rep.height)) }
                            td { @match rep.verdict {
                                Verdict::Accepted => (badge("accepted", "ok")),
                                Verdict::Rejected => (badge("rejected", "bad")),
                                Verdict::Pending => (badge("pending", "wait")),
                            } }
                        }
                    }
                }
            }
        }
        @if now == RoundStatus::Published {
            section aria-labelledby="total-h" {
                h2 #total-h { "The published total" }
                (total(&r.total))
            }
        }
        (layout::proof(&format!("/v1/stats/rounds/{id}?prove=true"), &format!("round-{id}.json"), "this round, its counts and its published total"))
    }
}

/// The total as a bar chart (an inline SVG from numbers only, each bar's value as a tooltip)
/// and the same figures in a table.
fn total(values: &[u128]) -> Markup {
    let peak = values.iter().copied().max().unwrap_or(0).max(1);
    let count = values.len().max(1) as u64;
    let bar = (600 / count).max(4);
    let (w, h) = (bar * count, 120u64);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-labelledby=\"total-h\" preserveAspectRatio=\"none\">",
        h + 16
    );
    for (i, v) in values.iter().enumerate() {
        let height = scale(*v, peak, h);
        let x = i as u64 * bar;
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{height}\"><title>{i}: {v}</title></rect>",
            x + bar / 8,
            h - height,
            bar - bar / 4,
        );
    }
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"{}\">0</text><text x=\"{w}\" y=\"{}\" text-anchor=\"end\">{} · peak {peak}</text></svg>",
        h + 14,
        h + 14,
        values.len().saturating_sub(1)
    );
    html! {
        figure {
            (layout::raw(svg))
            table {
                thead { tr { th scope="col" class="num" { "Bucket or entry" } th scope="col" class="num" { "Total" } } }
                tbody { @for (i, v) in values.iter().enumerate() { tr { td.num { (i) } td.num { (v) } } } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use civitas_types::did_doc::{DidDocumentData, KeyMaterial, Relations, VerificationMethod};
    use civitas_types::stats::AggregatorKey;
    use civitas_types::{DidInstruction, Instruction, StatsInstruction, keyfile};

    use super::*;
    use crate::tests::fixture;

    #[tokio::test]
    async fn a_defined_round_shows_open_with_its_operators_and_proof() {
        let f = fixture();
        let aggregators = ["statistics", "audit-office"];
        for (n, name) in aggregators.iter().enumerate() {
            let method = VerificationMethod {
                fragment: "hpke".into(),
                key: KeyMaterial::X25519(keyfile::x25519_public(&[n as u8 + 7; 32])),
                relations: Relations::KEY_AGREEMENT,
            };
            let document = DidDocumentData { methods: vec![method], ..DidDocumentData::default() };
            let (_, did) = f.key(name);
            f.act(name, vec![Instruction::Dids(DidInstruction::UpdateDid { did, document })]);
        }
        assert!(f.page("/stats").await.contains("No round yet."));
        let define = StatsInstruction::DefineRound {
            title: "Passengers per <district>".into(),
            measurement: Measurement::SumVec { length: 3, max: 1_000 },
            operators: ["metro", "bus", "taxi"].iter().map(|o| f.key(o).1).collect(),
            aggregators: aggregators.iter().map(|a| f.key(a).1).collect(),
            min_reports: 3,
            deadline_blocks: 50,
            by: f.key("transport").1,
        };
        f.act("transport", vec![Instruction::Stats(define)]);

        let list = f.page("/stats").await;
        assert!(
            list.contains("href=\"/stats/rounds/0\"") && list.contains("Passengers per &lt;district&gt;"),
            "{list}"
        );
        assert!(list.contains("badge wait\">open"), "{list}");
        let page = f.page("/stats/rounds/0").await;
        for expected in [
            "Passengers per &lt;district&gt;",
            "badge wait\">open",
            "3 sums: each report adds at most 1000 to each",
            "0 of 3 operators; at least 3 for a total",
            "blocks from now",
            "(leader)",
            "not shared yet",
            &f.key("metro").1.to_string(),
            &f.key("statistics").1.to_string(),
            "/v1/stats/rounds/0?prove=true",
            "civitas verify round-0.json",
        ] {
            assert!(page.contains(expected), "{expected}: {page}");
        }
        assert!(!page.contains("The published total"), "nothing is published yet");
        let (s, _, _) = f.get("/v1/stats/rounds/0?prove=true").await;
        assert_eq!(s, axum::http::StatusCode::OK);
    }

    #[test]
    fn a_published_round_shows_its_total_as_a_table_and_a_chart() {
        let did = Did::from_initial_key(&civitas_types::SecretKey::from_seed([5; 32]).public_key());
        let round = Round {
            id: 4,
            title: "Boardings".into(),
            measurement: Measurement::Histogram { length: 4 },
            operators: vec![did; 3],
            aggregators: vec![AggregatorKey { org: did, key: [1; 32] }, AggregatorKey { org: did, key: [2; 32] }],
            min_reports: 3,
            deadline: 10,
            defined_by: did,
            height: 2,
            reports: 3,
            key_shared: true,
            prepared: vec![3, 3],
            decided: 3,
            accepted: 2,
            aggregated: vec![true, true],
            status: RoundStatus::Published,
            total: vec![0, 2, 0, 1],
            published_height: Some(14),
        };
        let m = round_body(&round, 20, &[], &BTreeMap::new()).into_string();
        assert!(m.contains("badge ok\">published") && m.contains("2 accepted, 1 rejected"), "{m}");
        assert!(m.contains("<svg class=\"chart\"") && m.contains("<title>1: 2</title>"), "{m}");
        assert!(m.contains("<td class=\"num\">3</td><td class=\"num\">1</td>"), "the table has each figure: {m}");
        assert!(m.contains("height=\"120\"") && m.contains("height=\"60\""), "bars to scale: {m}");
        assert!(m.contains("/v1/stats/rounds/4?prove=true"));
    }
}
