//! The explorer through the node's whole router, on a real node in a temp dir: pages show what
//! the chain holds, link their proofs, and answer bad input with a 4xx page saying why.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use civitas_node::consensus::{Application, now_ms};
use civitas_node::{Node, NodeConfig, dev};
use civitas_types::{AccountInstruction, Did, Instruction, SecretKey, Transaction};
use tower::ServiceExt;

/// A dev chain (genesis only: no demo transactions) in a temp dir, and what the tests use of it.
pub(crate) struct Fixture {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) node: Arc<Node>,
    pub(crate) alice: SecretKey,
    pub(crate) bob: Did,
}

pub(crate) fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let dev = dev::prepare(dir.path(), false, &[]).expect("dev");
    let node = Node::open(dir.path(), dev.genesis, dev.validator, NodeConfig::default()).expect("node");
    let key = |n: &str| dev::read_key(&dir.path().join(format!("keys/{n}.key"))).expect("key");
    let bob = Did::from_initial_key(&key("bob").public_key());
    Fixture { alice: key("alice"), bob, node: Arc::new(node), _dir: dir }
}

impl Fixture {
    /// Commits a block with alice's transfers of `amounts` to bob (nonces from `nonce`); their
    /// hashes.
    pub(crate) fn transfers(&self, nonce: u64, amounts: &[u128]) -> Vec<String> {
        let txs: Vec<_> = amounts
            .iter()
            .enumerate()
            .map(|(i, amount)| {
                Transaction {
                    chain_id: dev::DEV_CHAIN_ID.into(),
                    signer: self.alice.public_key(),
                    nonce: nonce + i as u64,
                    valid_until_height: 1_000,
                    instructions: vec![Instruction::Accounts(AccountInstruction::Transfer {
                        to: self.bob,
                        amount: *amount,
                    })],
                }
                .sign(&self.alice)
            })
            .collect();
        let hashes = self.node.submit(txs).into_iter().map(|r| r.expect("admitted").to_hex()).collect();
        let executed = self.node.propose(now_ms()).expect("propose");
        self.node.finalized(&executed, b"test certificate").expect("commit");
        hashes
    }

    /// Alice's DID.
    pub(crate) fn alice_did(&self) -> Did {
        Did::from_initial_key(&self.alice.public_key())
    }

    /// The dev key of `name` (`keys/<name>.key`) and its DID.
    pub(crate) fn key(&self, name: &str) -> (SecretKey, Did) {
        let key = dev::read_key(&self._dir.path().join(format!("keys/{name}.key"))).expect("key");
        let did = Did::from_initial_key(&key.public_key());
        (key, did)
    }

    /// Commits a block with one transaction of `name`'s (its next nonce) holding
    /// `instructions`, and checks that it succeeded.
    pub(crate) fn act(&self, name: &str, instructions: Vec<Instruction>) {
        let (key, _) = self.key(name);
        self.act_as(&key, instructions, name);
    }

    /// Commits a block with one transaction signed by `key` (its next nonce) holding
    /// `instructions`, and checks that it succeeded (`what` names it in a failure).
    pub(crate) fn act_as(&self, key: &SecretKey, instructions: Vec<Instruction>, what: &str) {
        let nonce = self.node.account_by_key(&key.public_key()).expect("read").map_or(0, |a| a.nonce);
        let tx = Transaction {
            chain_id: dev::DEV_CHAIN_ID.into(),
            signer: key.public_key(),
            nonce,
            valid_until_height: self.node.next_height() + 100,
            instructions,
        }
        .sign(key);
        let hash = self.node.submit(vec![tx]).remove(0).expect("admitted");
        let executed = self.node.propose(now_ms()).expect("propose");
        self.node.finalized(&executed, b"test certificate").expect("commit");
        match self.node.tx_status(&hash).expect("status") {
            civitas_node::TxStatus::Committed { receipt, .. } => {
                assert_eq!(receipt.outcome, civitas_types::TxOutcome::Success, "{what}")
            }
            other => panic!("{what}: {other:?}"),
        }
    }

    /// Commits each of the demo's `steps` in a block of its own, signed by its signer.
    pub(crate) fn run_steps(&self, steps: Vec<civitas_node::demo::Step>) {
        for step in steps {
            self.act_as(&step.signer, step.instructions, step.what);
        }
    }

    pub(crate) async fn get(&self, uri: &str) -> (StatusCode, String, String) {
        let req = Request::builder().uri(uri).body(Body::empty()).expect("request");
        let resp = crate::app(self.node.clone()).oneshot(req).await.expect("infallible");
        let status = resp.status();
        let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let bytes = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024).await.expect("body");
        (status, ct, String::from_utf8(bytes.to_vec()).expect("utf-8"))
    }

    /// Checks that `uri` is refused with `status` and an HTML page whose alert says `reason`.
    pub(crate) async fn refused(&self, uri: &str, status: StatusCode, reason: &str) {
        let (s, ct, body) = self.get(uri).await;
        assert_eq!(s, status, "{uri}: {body}");
        assert_eq!(ct, "text/html; charset=utf-8", "{uri}");
        assert!(body.contains(reason), "{uri}: {body}");
        assert!(body.contains("role=\"alert\""), "{uri}");
    }

    pub(crate) async fn page(&self, uri: &str) -> String {
        let (status, ct, body) = self.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert_eq!(ct, "text/html; charset=utf-8", "{uri}");
        body
    }
}

#[tokio::test]
async fn the_dashboard_shows_the_height_the_set_and_the_newest_blocks() {
    let f = fixture();
    f.transfers(0, &[100, 200, 300]);
    f.transfers(3, &[1]);
    let page = f.page("/").await;
    assert!(page.contains("As of finalized block <a href=\"/blocks/2\""), "{page}");
    assert!(page.contains("dev-validator"), "the proposer is named");
    assert!(page.contains("<a href=\"/blocks/1\">1</a>") && page.contains("<a href=\"/blocks/2\">2</a>"));
    assert!(page.contains("civitas-dev"));
    assert!(page.contains("<svg class=\"chart\""), "the chart");
    let validators = f.page("/validators").await;
    assert!(validators.contains("dev-validator") && validators.contains("Epoch 0"), "{validators}");
}

#[tokio::test]
async fn a_block_lists_its_transactions_and_a_transaction_offers_its_proof() {
    let f = fixture();
    let hashes = f.transfers(0, &[100, 200]);
    let block = f.page("/blocks/1").await;
    assert!(block.contains("Block 1"));
    for h in &hashes {
        assert!(block.contains(&format!("href=\"/tx/{h}\"")), "{block}");
    }
    assert!(block.contains("accounts.transfer") && block.contains("committed"));
    assert_eq!(f.page("/blocks/latest").await, block);
    let tx = f.page(&format!("/tx/{}", hashes[0])).await;
    assert!(tx.contains(&format!("/v1/transactions/{}?prove=true", hashes[0])), "{tx}");
    assert!(tx.contains("civitas verify tx-") && tx.contains("genesis.json"));
    assert!(tx.contains("&quot;amount&quot;: &quot;100&quot;") || tx.contains("&quot;amount&quot;: 100"), "{tx}");
    // The proof the page links is what the API serves.
    let (status, ct, proof) = f.get(&format!("/v1/transactions/{}?prove=true", hashes[0])).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"), "{proof}");
    let list = f.page("/blocks").await;
    assert!(list.contains("/blocks/1"));
}

#[tokio::test]
async fn an_account_shows_its_balance_document_and_versions() {
    let f = fixture();
    f.transfers(0, &[1_234]);
    let page = f.page(&format!("/accounts/{}", f.bob)).await;
    assert!(page.contains("62.34"), "bob's 5,000 minor units plus 1,234 are 62.34: {page}");
    assert!(page.contains(&format!("/v1/accounts/{}?prove=true", f.bob)));
    assert!(page.contains(&format!("/v1/dids/{}?prove=true", f.bob)));
    assert!(page.contains("versionId=1"));
    assert!(page.contains("&quot;@context&quot;"), "the DID document as resolvers see it");
    let finance =
        Did::from_initial_key(&dev::read_key(&f._dir.path().join("keys/finance.key")).expect("key").public_key());
    let page = f.page(&format!("/accounts/{finance}")).await;
    assert!(page.contains("Organization") && page.contains("department"), "{page}");
}

#[tokio::test]
async fn search_goes_to_what_it_names() {
    let f = fixture();
    let hashes = f.transfers(0, &[5]);
    let to = |uri: &str| {
        let uri = uri.to_owned();
        let f = &f;
        async move {
            let (status, _, _) = f.get(&uri).await;
            let req = Request::builder().uri(&uri).body(Body::empty()).expect("request");
            let resp = crate::app(f.node.clone()).oneshot(req).await.expect("infallible");
            assert_eq!(status, StatusCode::SEE_OTHER, "{uri}");
            resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
        }
    };
    assert_eq!(to("/search?q=1").await, "/blocks/1");
    assert_eq!(to(&format!("/search?q={}", hashes[0])).await, format!("/tx/{}", hashes[0]));
    assert_eq!(to(&format!("/search?q={}", f.bob)).await, format!("/accounts/{}", f.bob));
    let block_hash = f.node.recent_headers(1)[0].hash().to_hex();
    assert_eq!(to(&format!("/search?q=%20{block_hash}%20")).await, "/blocks/1");
}

#[tokio::test]
async fn bad_input_is_a_page_with_the_reason_and_a_4xx() {
    let f = fixture();
    f.transfers(0, &[5]);
    let long = "9".repeat(300);
    let cases = [
        ("/blocks/99", StatusCode::NOT_FOUND, "there is no block at height 99; the newest is 1"),
        ("/blocks/abc", StatusCode::BAD_REQUEST, "the height is a whole number"),
        ("/blocks/1?page=7", StatusCode::NOT_FOUND, "block 1 has 1 page(s)"),
        ("/blocks/1?offset=2", StatusCode::BAD_REQUEST, "unknown field"),
        ("/blocks?before=x", StatusCode::BAD_REQUEST, "before is a whole number"),
        ("/tx/abcd", StatusCode::BAD_REQUEST, "64 hexadecimal digits"),
        (&format!("/tx/{}", "0".repeat(64)), StatusCode::NOT_FOUND, "no transaction"),
        ("/accounts/did:civitas:zz", StatusCode::BAD_REQUEST, "40 hexadecimal digits"),
        (&format!("/accounts/did:civitas:{}", "0".repeat(40)), StatusCode::NOT_FOUND, "there is no account"),
        ("/search?q=", StatusCode::BAD_REQUEST, "search for a height"),
        ("/search?q=hello", StatusCode::BAD_REQUEST, "not a height"),
        ("/search?q=123456", StatusCode::NOT_FOUND, "there is no block 123456"),
        (&format!("/search?q={long}"), StatusCode::BAD_REQUEST, "at most 200 characters"),
        ("/no/such/page", StatusCode::NOT_FOUND, "there is no page /no/such/page"),
    ];
    for (uri, status, reason) in cases {
        f.refused(uri, status, reason).await;
    }
    // Under /v1 a path no route knows is still the API's problem.
    let (s, ct, _) = f.get("/v1/no-such-route").await;
    assert_eq!((s, ct.as_str()), (StatusCode::NOT_FOUND, "application/problem+json"));
}

#[tokio::test]
async fn assets_and_genesis_are_served() {
    let f = fixture();
    let (s, ct, css) = f.get(crate::layout::STYLE_PATH).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "text/css; charset=utf-8"));
    assert!(css.contains("--accent"));
    let (s, ct, js) = f.get(crate::layout::SCRIPT_PATH).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "text/javascript; charset=utf-8"));
    assert!(js.contains("EventSource"));
    let (s, _, genesis) = f.get("/genesis.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(genesis, f.node.chain().genesis().to_json());
}

/// A node served on a loopback port (the explorer and the API), making a block every 30 ms
/// until dropped: what the portal's tests talk to.
pub(crate) struct Served {
    /// The node's URL.
    pub(crate) url: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
    blocks: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(b) = self.blocks.take() {
            let _ = b.join();
        }
    }
}

/// Serves `node` on a loopback port and makes its blocks (call within a Tokio runtime).
pub(crate) async fn serve(node: Arc<Node>) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let served = node.clone();
    tokio::spawn(async move { civitas_api::serve(listener, crate::app(served), std::future::pending()).await });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let blocks = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(executed) = node.propose(now_ms()) {
                    let _ = node.finalized(&executed, b"test certificate");
                }
                std::thread::sleep(std::time::Duration::from_millis(30));
            }
        })
    };
    Served { url, stop, blocks: Some(blocks) }
}
