//! The dashboard (the chain's height and time, the validator set and its epoch, the newest
//! blocks, transactions per second over the last minutes as a chart) and the validators page.
//! Both read the node's in-memory header ring and status: no block is read from disk.

use std::fmt::Write as _;

use axum::extract::State;
use civitas_node::Node;
use civitas_types::BlockHeader;
use civitas_types::validators::ValidatorSet;
use maud::{Markup, html};

use super::{NodeState, blocking};
use crate::error::PageError;
use crate::layout::{self, badge, facts, short, time};

/// Newest blocks listed on the dashboard.
const RECENT_ROWS: usize = 20;
/// The chart's buckets and their width: five minutes in ten-second steps.
const BUCKETS: u64 = 30;
const BUCKET_MS: u64 = 10_000;

/// The validator's name in `set` for `key`, or its shortened key.
pub(crate) fn proposer(set: &ValidatorSet, key: &civitas_types::PublicKey) -> Markup {
    match set.validators.iter().find(|v| v.key == *key) {
        Some(v) => html! { abbr title=(key.to_hex()) { (v.name) } },
        None => short(&key.to_hex()),
    }
}

/// `GET /`.
pub(crate) async fn dashboard(State(node): NodeState) -> Result<Markup, PageError> {
    blocking(move || dashboard_page(&node)).await
}

/// The dashboard, as `GET /` renders it (public for the render benchmark).
pub(crate) fn dashboard_page(node: &Node) -> Result<Markup, PageError> {
    let status = node.status();
    let set = node.validators()?;
    let headers = node.recent_headers(civitas_node::RECENT_HEADERS_MAX);
    let latest = &status.latest;
    let sync = if status.sync.catching_up {
        badge(&format!("catching up: {} blocks behind", status.sync.behind), "wait")
    } else {
        badge("in step", "ok")
    };
    let rate = per_second(&headers, 60_000);
    let body = html! {
        section.cards aria-label="The chain now" {
            div.card { h2 { "Height" } p.big data-live-height { (latest.height) } p { (time(latest.timestamp_ms)) } }
            div.card { h2 { "Transactions per second" } p.big { (rate) } p { "over the last minute" } }
            div.card { h2 { "Validators" } p.big { (set.validators.len()) } p { "epoch " (set.epoch) ", from block " (set.from_height) } }
            div.card { h2 { "Waiting" } p.big { (status.mempool_txs) } p { "transactions in this node's pool" } }
        }
        (facts(&[
            ("Chain", html! { code { (status.chain_id) } }),
            ("This node", html! { (sync) @if let Some(k) = &status.validator { " validator " (short(&k.to_hex())) } @else { " full node" } }),
            ("State root", short(&latest.state_root.to_hex())),
            ("Latest block hash", short(&latest.block_hash.to_hex())),
        ]))
        section aria-labelledby="chart-h" {
            h2 #chart-h { "Transactions per second, last five minutes" }
            (chart(&headers))
        }
        section aria-labelledby="recent-h" {
            h2 #recent-h { "Newest blocks" }
            (block_rows(&headers[..headers.len().min(RECENT_ROWS)], &set))
            p { a href="/blocks" { "All blocks" } " · " a href="/v1/events" { "live events (Server-Sent Events)" } }
        }
    };
    Ok(layout::page("Dashboard", Some(latest.height), body))
}

/// A table of block headers, newest first.
pub(crate) fn block_rows(headers: &[BlockHeader], set: &ValidatorSet) -> Markup {
    html! {
        table #recent-blocks {
            thead { tr { th scope="col" { "Height" } th scope="col" { "Time" } th scope="col" class="num" { "Transactions" } th scope="col" { "Proposer" } th scope="col" { "Hash" } } }
            tbody {
                @for h in headers {
                    tr {
                        td { (layout::height(h.height)) }
                        td { (time(h.timestamp_ms)) }
                        td.num { (h.tx_count) }
                        td { (proposer(set, &h.proposer)) }
                        td { (short(&h.hash().to_hex())) }
                    }
                }
            }
        }
    }
}

/// Transactions per second over the `window_ms` before the newest block, with one decimal.
fn per_second(headers: &[BlockHeader], window_ms: u64) -> String {
    let Some(newest) = headers.first() else { return "0.0".into() };
    let since = newest.timestamp_ms.saturating_sub(window_ms);
    let txs: u64 = headers.iter().take_while(|h| h.timestamp_ms > since).map(|h| u64::from(h.tx_count)).sum();
    let tenths = txs * 10_000 / window_ms;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// Transactions per bucket over the five minutes before the newest block, oldest first.
fn buckets(headers: &[BlockHeader]) -> Vec<u64> {
    let mut out = vec![0u64; BUCKETS as usize];
    let Some(newest) = headers.first() else { return out };
    let end = newest.timestamp_ms;
    for h in headers {
        let age = end - h.timestamp_ms.min(end);
        let back = age / BUCKET_MS;
        if back >= BUCKETS {
            break;
        }
        out[(BUCKETS - 1 - back) as usize] += u64::from(h.tx_count);
    }
    out
}

/// The chart: one bar per ten seconds, as an inline SVG drawn from numbers only, each bar with
/// its value as a tooltip; the figures are in a table for those who cannot see it.
fn chart(headers: &[BlockHeader]) -> Markup {
    let counts = buckets(headers);
    let peak = counts.iter().copied().max().unwrap_or(0).max(1);
    let (w, h, bar) = (600u64, 120u64, 20u64);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-labelledby=\"chart-h\" preserveAspectRatio=\"none\">",
        h + 16
    );
    for (i, c) in counts.iter().enumerate() {
        let height = c * h / peak;
        let x = i as u64 * bar;
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{height}\"><title>{}.{} tx/s</title></rect>",
            x + 2,
            h - height,
            bar - 4,
            c / 10,
            c % 10
        );
    }
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"{}\">5 min ago</text><text x=\"{w}\" y=\"{}\" text-anchor=\"end\">now · peak {}.{} tx/s</text></svg>",
        h + 14,
        h + 14,
        peak / 10,
        peak % 10
    );
    html! {
        figure {
            (layout::raw(svg))
            details {
                summary { "The figures" }
                table {
                    thead { tr { th scope="col" { "Seconds ago" } th scope="col" class="num" { "Transactions" } } }
                    tbody {
                        @for (i, c) in counts.iter().enumerate().rev() {
                            tr { td { ((BUCKETS - 1 - i as u64) * 10) "–" ((BUCKETS - i as u64) * 10) } td.num { (c) } }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /validators`: the set that finalizes blocks now.
pub(crate) async fn validators(State(node): NodeState) -> Result<Markup, PageError> {
    blocking(move || {
        let height = node.status().latest.height;
        let set = node.validators()?;
        let body = html! {
            p { "Epoch " (set.epoch) ", finalizing from block " (layout::height(set.from_height))
                ". A block is final with the signatures of a quorum of these validators; the council changes the set by vote." }
            table {
                thead { tr { th scope="col" { "Department" } th scope="col" { "Consensus key" } th scope="col" { "Address" } } }
                tbody {
                    @for v in &set.validators {
                        tr { td { (v.name) } td { (short(&v.key.to_hex())) } td { code { (if v.address.is_empty() { "(alone)" } else { &v.address }) } } }
                    }
                }
            }
            p { "As JSON: " a href="/v1/validators" { "/v1/validators" } }
        };
        Ok(layout::page("Validators", Some(height), body))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(height: u64, ms: u64, txs: u32) -> BlockHeader {
        BlockHeader {
            height,
            parent_hash: civitas_types::Hash::digest(b"p"),
            timestamp_ms: ms,
            proposer: civitas_types::SecretKey::from_seed([1; 32]).public_key(),
            tx_count: txs,
            tx_root: civitas_types::Hash::digest(b"t"),
            results_root: civitas_types::Hash::digest(b"r"),
            state_root: civitas_types::Hash::digest(b"s"),
        }
    }

    #[test]
    fn the_chart_buckets_transactions_by_ten_seconds_back_from_the_newest_block() {
        // Newest first, as the ring gives them.
        let hs = vec![header(5, 600_000, 7), header(4, 595_000, 3), header(3, 589_999, 10), header(2, 300_000, 99)];
        let b = buckets(&hs);
        assert_eq!(b.len(), 30);
        assert_eq!(b[29], 10, "the newest ten seconds");
        assert_eq!(b[28], 10, "590 s is ten seconds back; 589.999 s too");
        assert_eq!(b.iter().sum::<u64>(), 20, "a block five minutes back is outside");
        assert_eq!(per_second(&hs, 60_000), "0.3");
        assert_eq!(per_second(&[], 60_000), "0.0");
    }
}
