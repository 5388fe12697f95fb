//! `GET /v1/events`: finalized blocks and each module's events as Server-Sent Events, so that
//! an application (a rental site, a device cloud, the explorer's dashboard) follows the chain
//! without polling. A module event is one instruction of a committed, successful transaction:
//! its module, its kind (the instruction's name), its signer and every account it names.
//!
//! Each event has an id (`H` for block `H`, `H:T:I` for instruction `I` of transaction `T` in
//! it); a client that reconnects with `Last-Event-ID` resumes right after it. Bounded: at most
//! [`EVENT_STREAMS_MAX`] streams at once per process, history read one block at a time as the
//! client reads (a slow client holds one block's events, never a backlog), a keep-alive
//! comment every 15 seconds.

use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use civitas_client::wire;
use civitas_node::Node;
use civitas_types::{Block, Did, Instruction, TxOutcome, TxReceipt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::ApiError;
use crate::common::{NodeState, blocking, parse_did};

/// Most event streams served at once by one process.
pub const EVENT_STREAMS_MAX: usize = 64;

static STREAMS: Semaphore = Semaphore::const_new(EVENT_STREAMS_MAX);

/// The events route.
pub(crate) fn routes() -> Router<Arc<Node>> {
    Router::new().route("/v1/events", get(events))
}

/// The events route's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(events), components(schemas(wire::Problem, StreamEvent, BlockEvent, InstructionEvent)))]
pub(crate) struct Doc;

/// One event of the stream as a `text/event-stream` reader parses it (the schema of each
/// event, for the OpenAPI document; the stream itself is text).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // Only its schema is used.
struct StreamEvent {
    /// `block`, or the module's name for an instruction's event.
    #[schema(pattern = "^[a-z_]{1,32}$")]
    event: String,
    /// `H` for a block's event, `H:T:I` for an instruction's: what `Last-Event-ID` resumes after.
    #[schema(pattern = "^[0-9]{1,20}(:[0-9]{1,10}:[0-9]{1,10})?$")]
    id: String,
    /// The JSON of a BlockEvent or an InstructionEvent.
    #[schema(content_media_type = "application/json")]
    data: String,
}

/// What to stream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    from: Option<u64>,
    module: Option<String>,
    kind: Option<String>,
    account: Option<String>,
}

/// The data of a `block` event.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BlockEvent {
    /// Its height.
    pub height: u64,
    /// Its header hash (hex).
    pub hash: String,
    /// Its time, RFC 3339 in UTC.
    pub time: String,
    /// Its time in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// How many transactions it holds.
    pub tx_count: u32,
    /// The proposer's consensus key (hex).
    pub proposer: String,
    /// The proposer's name in the validator set, where it is in the current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposer_name: Option<String>,
    /// The state root after it (hex).
    pub state_root: String,
}

/// The data of a module event (its SSE event name is the module's name).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InstructionEvent {
    /// The block's height.
    pub height: u64,
    /// The block's time, RFC 3339 in UTC.
    pub time: String,
    /// The transaction's hash (hex).
    pub tx: String,
    /// The transaction's index in the block.
    pub index: u32,
    /// The instruction's index in the transaction.
    pub instruction: u32,
    /// The module.
    pub module: String,
    /// The kind: the instruction's name.
    pub kind: String,
    /// The signer's DID (its account key's hex where it has no account).
    pub signer: String,
    /// Every account the event concerns: the signer and each DID the instruction names.
    pub accounts: Vec<String>,
}

/// The events a client asked for.
#[derive(Debug, Clone)]
struct Filter {
    /// Block events.
    blocks: bool,
    /// Module events (with the three filters below).
    instructions: bool,
    module: Option<String>,
    kind: Option<String>,
    account: Option<String>,
}

impl Filter {
    fn new(q: &EventsQuery) -> Result<Filter, ApiError> {
        if let Some(m) = &q.module
            && !Instruction::MODULES.iter().any(|(name, ..)| name == m)
        {
            let names: Vec<&str> = Instruction::MODULES.iter().map(|(n, ..)| *n).collect();
            return Err(ApiError::bad_request("bad_query", format!("module is one of {}", names.join(", "))));
        }
        let only_blocks = q.kind.as_deref() == Some("block");
        if let Some(k) = q.kind.as_deref().filter(|k| *k != "block")
            && !Instruction::MODULES
                .iter()
                .any(|(m, _, names)| names.contains(&k) && q.module.as_ref().is_none_or(|want| want == m))
        {
            return Err(ApiError::bad_request(
                "bad_query",
                format!("kind `{k}` is `block` or the name of an instruction (of the module asked for)"),
            ));
        }
        if only_blocks && (q.module.is_some() || q.account.is_some()) {
            return Err(ApiError::bad_request("bad_query", "kind=block takes neither module nor account"));
        }
        let account = q.account.as_deref().map(parse_did).transpose()?.map(|d| d.to_string());
        Ok(Filter {
            blocks: q.module.is_none() && account.is_none() && (q.kind.is_none() || only_blocks),
            instructions: !only_blocks,
            module: q.module.clone(),
            kind: q.kind.clone().filter(|_| !only_blocks),
            account,
        })
    }

    fn wants(&self, e: &InstructionEvent) -> bool {
        self.instructions
            && self.module.as_ref().is_none_or(|m| *m == e.module)
            && self.kind.as_ref().is_none_or(|k| *k == e.kind)
            && self.account.as_ref().is_none_or(|a| e.accounts.contains(a))
    }
}

/// Where a stream resumes: the next block, and in it the last event already seen.
fn resume(headers: &HeaderMap, from: Option<u64>, latest: u64) -> Result<(u64, Option<(u32, u32)>), ApiError> {
    let Some(id) = headers.get("last-event-id") else { return Ok((from.unwrap_or(latest + 1).max(1), None)) };
    let bad = || ApiError::bad_request("bad_event_id", "Last-Event-ID is an event's id: `H` or `H:T:I`");
    let id = id.to_str().map_err(|_| bad())?;
    let parts: Vec<&str> = id.split(':').collect();
    let num = |s: &str| s.parse::<u64>().map_err(|_| bad());
    match parts.as_slice() {
        [h] => Ok((num(h)? + 1, None)),
        [h, t, i] => {
            let t = u32::try_from(num(t)?).map_err(|_| bad())?;
            let i = u32::try_from(num(i)?).map_err(|_| bad())?;
            Ok((num(h)?.max(1), Some((t, i))))
        }
        _ => Err(bad()),
    }
}

/// Streams finalized blocks and module events (Server-Sent Events).
#[utoipa::path(
    get, path = "/v1/events",
    params(
        ("from" = Option<u64>, Query, description = "First height to stream (default: the next block); history is streamed first"),
        ("module" = Option<String>, Query, description = "Only this module's events (no block events)", pattern = "^[a-z_]{1,32}$"),
        ("kind" = Option<String>, Query, description = "Only events of this kind: `block`, or an instruction's name", pattern = "^[a-z_]{1,64}$"),
        ("account" = Option<String>, Query, description = "Only events that concern this DID (no block events)", pattern = "^did:civitas:[0-9a-f]{40}$"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (`H` or `H:T:I`); overrides `from`", pattern = "^[0-9]{1,20}(:[0-9]{1,10}:[0-9]{1,10})?$"),
    ),
    responses(
        (status = 200, description = "An endless `text/event-stream`. Event `block` (data: BlockEvent, id `H`) for each finalized block; an event named after the module (data: InstructionEvent, id `H:T:I`) for each instruction of each successful transaction, before its block's event. A comment every 15 s keeps the connection open. The schema is each event's.", body = StreamEvent, content_type = "text/event-stream"),
        (status = 400, description = "Unknown module or kind, bad DID, bad Last-Event-ID", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many streams open", body = wire::Problem, content_type = "application/problem+json"),
    )
)]
async fn events(
    State(node): NodeState,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let filter = Filter::new(&query)?;
    let (next, skip) = resume(&headers, query.from, node.status().latest.height)?;
    // The permit lives as long as the stream: it is moved into its state.
    let permit = STREAMS.try_acquire().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            "too many event streams are open; retry later",
        )
    })?;
    let cursor = Cursor {
        node: node.clone(),
        next,
        skip,
        filter,
        pending: VecDeque::new(),
        height: node.watch_height(),
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(cursor, |mut c| async move {
        let event = c.next_event().await?;
        Some((Ok::<_, Infallible>(event), c))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// One stream's place: the next block to read, the events of the last one read not yet sent.
struct Cursor {
    node: Arc<Node>,
    next: u64,
    skip: Option<(u32, u32)>,
    filter: Filter,
    pending: VecDeque<Event>,
    height: tokio::sync::watch::Receiver<u64>,
    _permit: SemaphorePermit<'static>,
}

impl Cursor {
    /// The next event; `None` ends the stream (the node is gone or failed to read).
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            if self.next > *self.height.borrow_and_update() {
                self.height.changed().await.ok()?;
                continue;
            }
            let (node, height, filter, skip) = (self.node.clone(), self.next, self.filter.clone(), self.skip.take());
            let events = blocking(move || block_events(&node, height, &filter, skip)).await.ok()?.ok()?;
            self.pending.extend(events);
            self.next += 1;
        }
    }
}

/// The events of block `height` that `filter` wants, after `skip` (a transaction and
/// instruction index already sent).
fn block_events(node: &Node, height: u64, filter: &Filter, skip: Option<(u32, u32)>) -> Result<Vec<Event>, ApiError> {
    let Some((block, receipts)) = node.block(height)? else { return Ok(vec![]) };
    let time = civitas_client::did::datetime(block.header.timestamp_ms);
    let mut out = Vec::new();
    if filter.instructions {
        for e in instruction_events(node, &block, &receipts, &time)? {
            if skip.is_some_and(|s| (e.index, e.instruction) <= s) || !filter.wants(&e) {
                continue;
            }
            let id = format!("{height}:{}:{}", e.index, e.instruction);
            let data = serde_json::to_string(&e).unwrap_or_default();
            out.push(Event::default().event(e.module.clone()).id(id).data(data));
        }
    }
    if filter.blocks {
        let h = &block.header;
        let set = node.validators()?;
        let name = set.validators.iter().find(|v| v.key == h.proposer).map(|v| v.name.clone());
        let e = BlockEvent {
            height,
            hash: h.hash().to_hex(),
            time,
            timestamp_ms: h.timestamp_ms,
            tx_count: h.tx_count,
            proposer: h.proposer.to_hex(),
            proposer_name: name,
            state_root: h.state_root.to_hex(),
        };
        out.push(
            Event::default().event("block").id(height.to_string()).data(serde_json::to_string(&e).unwrap_or_default()),
        );
    }
    Ok(out)
}

/// Every instruction of every successful transaction of `block`, as events.
fn instruction_events(
    node: &Node,
    block: &Block,
    receipts: &[TxReceipt],
    time: &str,
) -> Result<Vec<InstructionEvent>, ApiError> {
    let mut out = Vec::new();
    for (index, (tx, receipt)) in block.transactions.iter().zip(receipts).enumerate() {
        if receipt.outcome != TxOutcome::Success {
            continue;
        }
        let t = &tx.tx;
        let signer = match node.account_by_key(&t.signer)? {
            Some(a) => a.did.to_string(),
            None => t.signer.to_hex(),
        };
        for (i, ins) in t.instructions.iter().enumerate() {
            let mut accounts = BTreeSet::new();
            accounts.insert(signer.clone());
            collect_dids(&serde_json::to_value(ins).unwrap_or(Value::Null), &mut accounts);
            out.push(InstructionEvent {
                height: block.header.height,
                time: time.to_owned(),
                tx: receipt.tx_hash.to_hex(),
                index: index as u32,
                instruction: i as u32,
                module: ins.module().to_owned(),
                kind: ins.name().to_owned(),
                signer: signer.clone(),
                accounts: accounts.into_iter().collect(),
            });
        }
    }
    Ok(out)
}

/// Every `did:civitas` DID among the strings of `v`.
fn collect_dids(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) if s.starts_with("did:civitas:") && s.parse::<Did>().is_ok() => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|i| collect_dids(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_dids(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    //! The stream through the router on a dev chain: history from a height, resumption after an
    //! event id, the filters, live blocks, and bad queries refused before any stream opens.

    use std::time::Duration;

    use axum::body::Body;
    use axum::http::Request;
    use civitas_node::consensus::{Application, now_ms};
    use civitas_node::{NodeConfig, dev};
    use civitas_types::{AccountInstruction, SecretKey, Transaction};
    use futures_util::StreamExt;
    use tower::ServiceExt;

    use super::*;

    struct Chain {
        dir: tempfile::TempDir,
        node: Arc<Node>,
        nonce: u64,
    }

    impl Chain {
        fn new() -> Chain {
            let dir = tempfile::tempdir().expect("tempdir");
            let dev = dev::prepare(dir.path(), false, &[]).expect("dev");
            let node =
                Arc::new(Node::open(dir.path(), dev.genesis, dev.validator, NodeConfig::default()).expect("node"));
            Chain { dir, node, nonce: 0 }
        }

        fn key(&self, name: &str) -> SecretKey {
            dev::read_key(&self.dir.path().join(format!("keys/{name}.key"))).expect("key")
        }

        fn did(&self, name: &str) -> Did {
            Did::from_initial_key(&self.key(name).public_key())
        }

        /// Commits a block of alice's transfers to each of `to`, one transaction each.
        fn block(&mut self, to: &[&str]) {
            let alice = self.key("alice");
            let txs = to
                .iter()
                .map(|name| {
                    let tx = Transaction {
                        chain_id: dev::DEV_CHAIN_ID.into(),
                        signer: alice.public_key(),
                        nonce: self.nonce,
                        valid_until_height: 1_000,
                        instructions: vec![Instruction::Accounts(AccountInstruction::Transfer {
                            to: self.did(name),
                            amount: 1,
                        })],
                    }
                    .sign(&alice);
                    self.nonce += 1;
                    tx
                })
                .collect();
            for r in self.node.submit(txs) {
                r.expect("admitted");
            }
            let executed = self.node.propose(now_ms()).expect("propose");
            self.node.finalized(&executed, b"test certificate").expect("commit");
        }

        async fn request(&self, uri: &str, last_id: Option<&str>) -> Response {
            let mut req = Request::builder().uri(uri);
            if let Some(id) = last_id {
                req = req.header("last-event-id", id);
            }
            crate::router(self.node.clone())
                .oneshot(req.body(Body::empty()).expect("request"))
                .await
                .expect("infallible")
        }

        /// The first `n` events of the stream at `uri`: (event name, id, data).
        async fn events(&self, uri: &str, last_id: Option<&str>, n: usize) -> Vec<(String, String, Value)> {
            let resp = self.request(uri, last_id).await;
            assert_eq!(resp.status(), StatusCode::OK, "{uri}");
            assert_eq!(resp.headers()["content-type"], "text/event-stream");
            read(resp, n).await
        }
    }

    async fn read(resp: Response, n: usize) -> Vec<(String, String, Value)> {
        let mut body = resp.into_body().into_data_stream();
        let mut text = String::new();
        let mut out = Vec::new();
        while out.len() < n {
            let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
                .await
                .expect("an event within 10 s")
                .expect("the stream goes on")
                .expect("a chunk");
            text.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
            while let Some(end) = text.find("\n\n") {
                let frame: String = text.drain(..end + 2).collect();
                let field = |name: &str| {
                    frame.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).map(|v| v.trim().to_owned())
                };
                if let (Some(event), Some(id), Some(data)) = (field("event"), field("id"), field("data")) {
                    out.push((event, id, serde_json::from_str(&data).expect("JSON data")));
                }
            }
        }
        out.truncate(n);
        out
    }

    fn names(events: &[(String, String, Value)]) -> Vec<(&str, &str)> {
        events.iter().map(|(e, id, _)| (e.as_str(), id.as_str())).collect()
    }

    #[tokio::test]
    async fn history_streams_each_instruction_before_its_block_and_resumes_after_an_id() {
        let mut c = Chain::new();
        c.block(&["bob", "homehub"]);
        c.block(&["bob"]);
        let all = c.events("/v1/events?from=1", None, 5).await;
        assert_eq!(
            names(&all),
            [("accounts", "1:0:0"), ("accounts", "1:1:0"), ("block", "1"), ("accounts", "2:0:0"), ("block", "2")]
        );
        let (_, _, first) = &all[0];
        assert_eq!(first["kind"], "transfer");
        assert_eq!(first["signer"], c.did("alice").to_string());
        let mut accounts = vec![c.did("alice").to_string(), c.did("bob").to_string()];
        accounts.sort();
        assert_eq!(first["accounts"], serde_json::json!(accounts));
        let (_, _, block) = &all[2];
        assert_eq!((block["height"].as_u64(), block["tx_count"].as_u64()), (Some(1), Some(2)));
        assert_eq!(block["proposer_name"], "dev-validator");
        assert_eq!(block["hash"], c.node.recent_headers(2)[1].hash().to_hex());
        // Resumed after an instruction, then after a block.
        let rest = c.events("/v1/events?from=1", Some("1:0:0"), 2).await;
        assert_eq!(names(&rest), [("accounts", "1:1:0"), ("block", "1")]);
        let rest = c.events("/v1/events", Some("1"), 1).await;
        assert_eq!(names(&rest), [("accounts", "2:0:0")]);
    }

    #[tokio::test]
    async fn filters_pick_a_module_a_kind_or_an_account() {
        let mut c = Chain::new();
        c.block(&["bob", "homehub"]);
        c.block(&["bob"]);
        let hub = c.did("homehub");
        let only = c.events(&format!("/v1/events?from=1&account={hub}"), None, 1).await;
        assert_eq!(names(&only), [("accounts", "1:1:0")]);
        let blocks = c.events("/v1/events?from=1&kind=block", None, 2).await;
        assert_eq!(names(&blocks), [("block", "1"), ("block", "2")]);
        let transfers = c.events("/v1/events?from=2&module=accounts&kind=transfer", None, 1).await;
        assert_eq!(names(&transfers), [("accounts", "2:0:0")]);
    }

    #[tokio::test]
    async fn live_blocks_arrive_as_they_are_committed() {
        let mut c = Chain::new();
        c.block(&["bob"]);
        let resp = c.request("/v1/events?kind=block", None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let reader = tokio::spawn(read(resp, 2));
        tokio::time::sleep(Duration::from_millis(50)).await;
        c.block(&[]);
        c.block(&["bob"]);
        let got = reader.await.expect("reader");
        assert_eq!(names(&got), [("block", "2"), ("block", "3")], "only blocks after the stream opened");
    }

    #[tokio::test]
    async fn bad_queries_are_refused_before_a_stream_opens() {
        let c = Chain::new();
        for (uri, id, code) in [
            ("/v1/events?module=nope", None, "bad_query"),
            ("/v1/events?kind=nope", None, "bad_query"),
            ("/v1/events?module=stats&kind=transfer", None, "bad_query"),
            ("/v1/events?kind=block&module=accounts", None, "bad_query"),
            ("/v1/events?account=did:civitas:zz", None, "bad_did"),
            ("/v1/events?from=x", None, "bad_query"),
            ("/v1/events?other=1", None, "bad_query"),
            ("/v1/events", Some("1:2"), "bad_event_id"),
            ("/v1/events", Some("x"), "bad_event_id"),
        ] {
            let resp = c.request(uri, id).await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{uri} {id:?}");
            let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.expect("body");
            let v: Value = serde_json::from_slice(&body).expect("problem");
            assert_eq!(v["code"], code, "{uri} {id:?}: {v}");
        }
    }
}
