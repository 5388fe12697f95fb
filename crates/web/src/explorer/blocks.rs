//! Blocks (a paged list, newest first), a block with a page of its transactions and their
//! outcomes, and a transaction with its instructions and the proof of its inclusion.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use civitas_node::{Node, TxStatus};
use civitas_types::{BlockHeader, Hash, SignedTransaction, TxOutcome, TxReceipt};
use maud::{Markup, html};
use serde::Deserialize;

use super::dashboard::{block_rows, proposer};
use super::{NodeState, blocking, clip, number};
use crate::error::PageError;
use crate::layout::{self, badge, facts, json_block, pager, short, short_link, time};

/// Blocks per page of the list.
const BLOCKS_PER_PAGE: u64 = 25;
/// Transactions per page of a block.
pub(crate) const TXS_PER_PAGE: usize = 1_000;

/// The list's query: the newest height to show.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    before: Option<String>,
}

/// `GET /blocks?before=H`.
pub(crate) async fn blocks(
    State(node): NodeState,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Markup, PageError> {
    let Query(query) = query.map_err(|e| PageError::bad(e.body_text()))?;
    blocking(move || {
        let latest = node.status().latest.height;
        let top = match query.before.as_deref() {
            None => latest,
            Some(b) => number("before", b)?.min(latest),
        };
        let bottom = top.saturating_sub(BLOCKS_PER_PAGE - 1).max(1);
        let headers = headers(&node, bottom, top)?;
        let set = node.validators()?;
        let newer = (top < latest).then(|| format!("/blocks?before={}", (top + BLOCKS_PER_PAGE).min(latest)));
        let older = (bottom > 1).then(|| format!("/blocks?before={}", bottom - 1));
        let body = html! {
            @if headers.is_empty() { p { "No blocks yet." } } @else { (block_rows(&headers, &set)) }
            (pager(newer, older))
        };
        Ok(layout::page("Blocks", Some(latest), body))
    })
    .await
}

/// Headers `bottom..=top`, newest first: from the node's memory where it has them, from the
/// store otherwise.
fn headers(node: &Node, bottom: u64, top: u64) -> Result<Vec<BlockHeader>, PageError> {
    if top < bottom {
        return Ok(vec![]);
    }
    let recent: HashMap<u64, BlockHeader> = node
        .recent_headers(civitas_node::RECENT_HEADERS_MAX)
        .into_iter()
        .filter(|h| (bottom..=top).contains(&h.height))
        .map(|h| (h.height, h))
        .collect();
    let mut out = Vec::new();
    for height in (bottom..=top).rev() {
        match recent.get(&height) {
            Some(h) => out.push(h.clone()),
            None => {
                if let Some(header) = node.header(height)? {
                    out.push(header);
                }
            }
        }
    }
    Ok(out)
}

/// A block page's query: which page of its transactions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BlockQuery {
    page: Option<String>,
}

/// `GET /blocks/{height}?page=N`.
pub(crate) async fn block(
    State(node): NodeState,
    Path(height): Path<String>,
    query: Result<Query<BlockQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Markup, PageError> {
    let Query(query) = query.map_err(|e| PageError::bad(e.body_text()))?;
    let height = if height == "latest" { node.status().latest.height } else { number("the height", &height)? };
    let page = query.page.as_deref().map(|p| number("page", p)).transpose()?.unwrap_or(0);
    blocking(move || block_page(&node, height, page)).await
}

/// A block with page `page` of its transactions (public for the render benchmark).
pub(crate) fn block_page(node: &Node, height: u64, page: u64) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let Some((block, receipts)) = node.block(height)? else {
        return Err(PageError::not_found(format!("there is no block at height {height}; the newest is {latest}")));
    };
    let h = &block.header;
    let set = node.validators_after(height.saturating_sub(1))?;
    let pages = (block.transactions.len() as u64).div_ceil(TXS_PER_PAGE as u64).max(1);
    if page >= pages {
        return Err(PageError::not_found(format!("block {height} has {pages} page(s) of transactions")));
    }
    let start = page as usize * TXS_PER_PAGE;
    let rows = block.transactions.iter().zip(&receipts).enumerate().skip(start).take(TXS_PER_PAGE);
    let link = |p: u64| format!("/blocks/{height}?page={p}");
    let body = html! {
        (facts(&[
            ("Time", time(h.timestamp_ms)),
            ("Hash", short(&h.hash().to_hex())),
            ("Parent", if height > 1 { short_link(&h.parent_hash.to_hex(), &format!("/blocks/{}", height - 1)) } else { short(&h.parent_hash.to_hex()) }),
            ("Proposer", proposer(&set, &h.proposer)),
            ("Transactions", html! { (h.tx_count) }),
            ("State root", short(&h.state_root.to_hex())),
            ("Transactions root", short(&h.tx_root.to_hex())),
            ("Results root", short(&h.results_root.to_hex())),
        ]))
        nav.pager aria-label="Blocks" {
            @if height > 1 { a rel="prev" href=(format!("/blocks/{}", height - 1)) { "← Block " (height - 1) } }
            @if height < latest { a rel="next" href=(format!("/blocks/{}", height + 1)) { "Block " (height + 1) " →" } }
        }
        h2 { "Transactions" }
        @if block.transactions.is_empty() {
            p { "None: an empty block keeps the chain's time moving." }
        } @else {
            table {
                thead { tr { th scope="col" class="num" { "#" } th scope="col" { "Hash" } th scope="col" { "Instructions" } th scope="col" class="num" { "Nonce" } th scope="col" { "Outcome" } } }
                tbody {
                    @for (i, (tx, receipt)) in rows {
                        tr {
                            td.num { (i) }
                            td { (short_link(&receipt.tx_hash.to_hex(), &format!("/tx/{}", receipt.tx_hash.to_hex()))) }
                            td { (instruction_names(tx)) }
                            td.num { (tx.tx.nonce) }
                            td { (outcome(receipt)) }
                        }
                    }
                }
            }
            (pager((page > 0).then(|| link(page - 1)), (page + 1 < pages).then(|| link(page + 1))))
        }
        section.proof {
            h2 { "Check it yourself" }
            p { "The block and the certificate that finalized it, as full nodes fetch them: "
                a href=(format!("/v1/blocks/{height}/raw")) download=(format!("block-{height}.bin")) { "block-" (height) ".bin" }
                ". Each transaction's page offers the proof of its inclusion and outcome." }
        }
    };
    Ok(layout::page(&format!("Block {height}"), Some(latest), body))
}

fn instruction_names(tx: &SignedTransaction) -> Markup {
    html! {
        @for (i, ins) in tx.tx.instructions.iter().enumerate() {
            @if i > 0 { ", " }
            code { (ins.module()) "." (ins.name()) }
        }
    }
}

fn outcome(receipt: &TxReceipt) -> Markup {
    match &receipt.outcome {
        TxOutcome::Success => badge("committed", "ok"),
        TxOutcome::Failed { code, message } => {
            html! { abbr title=(message) { (badge(&format!("failed: {code}"), "bad")) } }
        }
    }
}

/// `GET /tx/{hash}`.
pub(crate) async fn transaction(State(node): NodeState, Path(hash): Path<String>) -> Result<Markup, PageError> {
    let parsed = Hash::from_hex(&hash).map_err(|_| {
        PageError::bad(format!(
            "a transaction hash is 64 hexadecimal digits; `{}` is {} characters",
            clip(&hash),
            hash.len()
        ))
    })?;
    blocking(move || transaction_page(&node, &parsed)).await
}

fn transaction_page(node: &Node, hash: &Hash) -> Result<Markup, PageError> {
    let latest = node.status().latest.height;
    let hex = hash.to_hex();
    let title = format!("Transaction {}…", &hex[..12]);
    let (height, index, receipt) = match node.tx_status(hash)? {
        TxStatus::Committed { height, index, receipt } => (height, index, receipt),
        TxStatus::Pending => {
            let body = html! { p { (badge("pending", "wait")) " It waits in this node's pool for a block." } };
            return Ok(layout::page(&title, Some(latest), body));
        }
        TxStatus::Dropped(d) => {
            let body = html! { p { (badge(&format!("dropped: {}", d.code), "bad")) " " (d.message) } };
            return Ok(layout::page(&title, Some(latest), body));
        }
        TxStatus::Unknown => {
            return Err(PageError::not_found(format!(
                "no transaction {hex} is committed, pending or lately dropped here"
            )));
        }
    };
    let (block, _) = node.block(height)?.ok_or_else(|| PageError::internal(format!("block {height} is missing")))?;
    let tx = block
        .transactions
        .get(index as usize)
        .ok_or_else(|| PageError::internal(format!("block {height} has no transaction {index}")))?;
    let t = &tx.tx;
    let signer = node.account_by_key(&t.signer)?;
    let instructions: Vec<serde_json::Value> =
        t.instructions.iter().map(|i| serde_json::to_value(i).unwrap_or_default()).collect();
    let body = html! {
        (facts(&[
            ("Hash", short(&hex)),
            ("Outcome", outcome(&receipt)),
            ("Block", html! { (layout::height(height)) ", transaction " (index) ", " (time(block.header.timestamp_ms)) }),
            ("Signer", match &signer { Some(a) => layout::did(&a.did), None => short(&t.signer.to_hex()) }),
            ("Nonce", html! { (t.nonce) }),
            ("Valid until", html! { "block " (t.valid_until_height) }),
        ]))
        @if let TxOutcome::Failed { code, message } = &receipt.outcome {
            p.reason { "It failed with " code { (code) } ": " (message) ". A failed transaction changes nothing but its signer's nonce." }
        }
        h2 { "Instructions" }
        @for (ins, json) in t.instructions.iter().zip(&instructions) {
            h3 { code { (ins.module()) "." (ins.name()) } }
            (json_block(json))
        }
        (layout::proof(&format!("/v1/transactions/{hex}?prove=true"), &format!("tx-{}.json", &hex[..12]), "this transaction's inclusion and outcome"))
    };
    Ok(layout::page(&title, Some(latest), body))
}
