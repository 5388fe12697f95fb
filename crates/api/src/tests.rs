//! API tests through the real router, with a real node on a temp dir.

use civitas_types::{AccountInstruction, DidInstruction};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use civitas_client::wire::{self, TransactionJson};
use civitas_node::consensus::{Application, now_ms};
use civitas_node::{Node, NodeConfig, dev};
use civitas_types::codec::Encode;
use civitas_types::{Did, Instruction, SecretKey, Transaction};
use serde_json::Value;
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    node: Arc<Node>,
    alice: SecretKey,
    bob: Did,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let dev = dev::prepare(dir.path(), false, &[]).expect("dev");
    let node = Node::open(dir.path(), dev.genesis, dev.validator, NodeConfig::default()).expect("node");
    let key = |n: &str| dev::read_key(&dir.path().join(format!("keys/{n}.key"))).expect("key");
    let bob = Did::from_initial_key(&key("bob").public_key());
    Fixture { alice: key("alice"), bob, node: Arc::new(node), _dir: dir }
}

fn transfer(f: &Fixture, nonce: u64, amount: u128) -> civitas_types::SignedTransaction {
    Transaction {
        chain_id: dev::DEV_CHAIN_ID.into(),
        signer: f.alice.public_key(),
        nonce,
        valid_until_height: 100,
        instructions: vec![Instruction::Accounts(AccountInstruction::Transfer { to: f.bob, amount })],
    }
    .sign(&f.alice)
}

async fn call(f: &Fixture, method: &str, uri: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, String, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("request");
    let resp = crate::router(f.node.clone()).oneshot(req).await.expect("infallible");
    let status = resp.status();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if is_stream(&resp) {
        return (status, ct, Value::Null);
    }
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    (status, ct, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Whether `resp` is an event stream, which never ends (its body is not read).
fn is_stream(resp: &axum::response::Response) -> bool {
    resp.headers().get("content-type").is_some_and(|v| v == "text/event-stream")
}

async fn get(f: &Fixture, uri: &str) -> (StatusCode, String, Value) {
    call(f, "GET", uri, "application/json", vec![]).await
}

/// Checks that a request fails with `status`, problem+json, and `code`.
async fn check_problem(f: &Fixture, method: &str, uri: &str, ct: &str, body: Vec<u8>, status: StatusCode, code: &str) {
    let (s, content_type, v) = call(f, method, uri, ct, body).await;
    assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{method} {uri}: {v}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(v["status"], status.as_u16());
    assert_eq!(v["type"], format!("urn:civitas:problem:{code}"));
}

#[tokio::test]
async fn submit_binary_and_json_then_read_back() {
    let f = fixture();
    let (s, _, v) =
        call(&f, "POST", "/v1/transactions", "application/octet-stream", transfer(&f, 0, 10).encode()).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let hash = v["hash"].as_str().expect("hash").to_owned();
    let json = serde_json::to_vec(&TransactionJson::from_signed(&transfer(&f, 1, 5))).expect("json");
    let (s, _, v) = call(&f, "POST", "/v1/transactions", "application/json", json).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");

    let (s, _, v) = get(&f, &format!("/v1/transactions/{hash}")).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("pending")));
    let executed = f.node.propose(now_ms()).expect("propose");
    f.node.finalized(&executed, b"test certificate").expect("commit");
    let (_, _, v) = get(&f, &format!("/v1/transactions/{hash}")).await;
    assert_eq!((v["status"].as_str(), v["height"].as_u64()), (Some("committed"), Some(1)));

    let (_, _, v) = get(&f, &format!("/v1/accounts/{}", f.bob)).await;
    assert_eq!(v["balance"], "5015");
    let (_, _, v) = get(&f, "/v1/blocks/latest?limit=1").await;
    assert_eq!((v["height"].as_u64(), v["tx_count"].as_u64()), (Some(1), Some(2)));
    assert_eq!(v["transactions"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["certificate"], hex::encode(b"test certificate"));
    let (_, _, genesis) = get(&f, "/v1/blocks/0").await;
    assert!(genesis.get("certificate").is_none(), "genesis is final by definition: {genesis}");
    let (_, _, v) = get(&f, "/v1/status").await;
    assert_eq!((v["chain_id"].as_str(), v["height"].as_u64()), (Some("civitas-dev"), Some(1)));
    assert_eq!(v["state_root"].as_str().map(str::len), Some(64));
}

/// method, uri, content type, body, expected status, expected code.
type Case<'a> = (&'a str, &'a str, &'a str, Vec<u8>, StatusCode, &'a str);

#[tokio::test]
async fn bad_requests_are_problems_not_crashes() {
    let f = fixture();
    let bin = "application/octet-stream";
    let json = "application/json";
    let mut bad_sig = transfer(&f, 0, 1);
    bad_sig.signature.0[9] ^= 0xff;
    let mut other_chain = transfer(&f, 0, 1).tx;
    other_chain.chain_id = "other".into();
    let stranger = SecretKey::from_seed([42; 32]);
    let mut from_stranger = transfer(&f, 0, 1).tx;
    from_stranger.signer = stranger.public_key();
    let unknown_tx = format!("/v1/transactions/{}", "ab".repeat(32));
    let unknown_did = format!("/v1/accounts/did:civitas:{}", "00".repeat(20));
    let unknown_proof = format!("{unknown_tx}?prove=true");
    // Only genesis exists, and genesis has no certificate to prove against.
    let bob_proof = format!("/v1/accounts/{}?prove=true", f.bob);
    let bob_bad_query = format!("/v1/accounts/{}?prove=maybe", f.bob);
    let cases: Vec<Case<'_>> = vec![
        ("POST", "/v1/transactions", bin, vec![1, 2, 3], StatusCode::BAD_REQUEST, "malformed_transaction"),
        ("POST", "/v1/transactions", json, b"{\"nope\":1}".to_vec(), StatusCode::BAD_REQUEST, "malformed_json"),
        // A whole transaction with more after it (found by the request_json fuzz target).
        (
            "POST",
            "/v1/transactions",
            json,
            [serde_json::to_vec(&TransactionJson::from_signed(&transfer(&f, 0, 1))).expect("json"), b" {}".to_vec()]
                .concat(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "POST",
            "/v1/transactions",
            bin,
            vec![0; crate::TX_BODY_BYTES_MAX + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        ("POST", "/v1/transactions", bin, bad_sig.encode(), StatusCode::BAD_REQUEST, "bad_signature"),
        ("POST", "/v1/transactions", bin, other_chain.sign(&f.alice).encode(), StatusCode::BAD_REQUEST, "wrong_chain"),
        (
            "POST",
            "/v1/transactions",
            bin,
            from_stranger.sign(&stranger).encode(),
            StatusCode::BAD_REQUEST,
            "unknown_signer",
        ),
        ("POST", "/v1/transactions/batch", bin, vec![0xff; 8], StatusCode::BAD_REQUEST, "malformed_batch"),
        ("GET", "/v1/transactions/xyz", json, vec![], StatusCode::BAD_REQUEST, "bad_hash"),
        ("GET", &unknown_tx, json, vec![], StatusCode::NOT_FOUND, "not_found"),
        ("GET", "/v1/blocks/abc", json, vec![], StatusCode::BAD_REQUEST, "bad_height"),
        ("GET", "/v1/blocks/99", json, vec![], StatusCode::NOT_FOUND, "not_found"),
        ("GET", "/v1/blocks/0?limit=999999", json, vec![], StatusCode::BAD_REQUEST, "bad_query"),
        ("GET", "/v1/blocks/0?limit=-1", json, vec![], StatusCode::BAD_REQUEST, "bad_query"),
        ("GET", "/v1/accounts/did:web:x", json, vec![], StatusCode::BAD_REQUEST, "bad_did"),
        ("GET", &unknown_did, json, vec![], StatusCode::NOT_FOUND, "not_found"),
        ("GET", "/nowhere", json, vec![], StatusCode::NOT_FOUND, "not_found"),
        ("GET", &unknown_proof, json, vec![], StatusCode::NOT_FOUND, "not_found"),
        ("GET", &bob_proof, json, vec![], StatusCode::SERVICE_UNAVAILABLE, "not_yet_final"),
        ("GET", &bob_bad_query, json, vec![], StatusCode::BAD_REQUEST, "bad_query"),
        ("DELETE", "/v1/status", json, vec![], StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
    ];
    let root = f.node.status().latest.state_root;
    for (method, uri, ct, body, status, code) in cases {
        check_problem(&f, method, uri, ct, body, status, code).await;
    }
    assert_eq!(f.node.status().mempool_txs, 0);
    assert_eq!(f.node.status().latest.state_root, root);
}

#[tokio::test]
async fn batch_reports_each_transaction() {
    let f = fixture();
    let mut bad = transfer(&f, 1, 1);
    bad.signature.0[0] ^= 1;
    let mut body = wire::encode_batch(&[transfer(&f, 0, 1), bad, transfer(&f, 0, 1)]);
    // Append a frame that is not a transaction, fixing up the count.
    body[3] = 4;
    body.extend_from_slice(&[0, 0, 0, 2, 9, 9]);
    let (s, _, v) = call(&f, "POST", "/v1/transactions/batch", "application/octet-stream", body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let codes: Vec<Option<&str>> =
        v["results"].as_array().expect("results").iter().map(|r| r["code"].as_str()).collect();
    assert_eq!(codes, vec![None, Some("bad_signature"), Some("already_pending"), Some("malformed_transaction")]);
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let f = fixture();
    let req = Request::builder().uri("/metrics").body(Body::empty()).expect("request");
    let resp = crate::router(f.node.clone()).oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    let text = String::from_utf8(body.to_vec()).expect("utf-8");
    assert!(text.contains("# TYPE civitas_height gauge\ncivitas_height 0\n"), "{text}");
    assert!(text.contains("civitas_mempool_transactions 0"));
    // What the store holds in memory is exported: the block cache's fill, memtables, pinned
    // blocks, tables and held versions. Genesis was written and not yet flushed.
    let gauge = |name: &str| -> f64 {
        let line = text.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).expect(name);
        line.parse().expect("a number")
    };
    assert!(gauge("civitas_store_cache_bytes") >= 0.0, "{text}");
    assert!(gauge("civitas_store_write_buffer_bytes") > 0.0, "{text}");
    for name in ["civitas_store_pinned_bytes", "civitas_store_tables", "civitas_store_versions"] {
        assert!(gauge(name) >= 0.0, "{name}: {text}");
    }
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let f = fixture();
    let (s, _, v) = get(&f, "/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    let paths: Vec<&String> = v["paths"].as_object().expect("paths").keys().collect();
    assert_eq!(
        paths,
        vec![
            "/v1/accounts/{did}",
            "/v1/audit",
            "/v1/audit/{index}",
            "/v1/blocks/{height}",
            "/v1/blocks/{height}/raw",
            "/v1/catalog/datasets",
            "/v1/catalog/datasets/{id}",
            "/v1/catalog/datasets/{id}/requests",
            "/v1/catalog/datasets/{id}/uses",
            "/v1/catalog/owners/{did}/datasets",
            "/v1/catalog/owners/{did}/uses",
            "/v1/catalog/requesters/{did}/requests",
            "/v1/catalog/requests/{id}",
            "/v1/council",
            "/v1/council/proposals/{id}",
            "/v1/credentials/access",
            "/v1/credentials/consents",
            "/v1/credentials/status-list/{issuer}/{chunk}",
            "/v1/credentials/status/{issuer}/{index}",
            "/v1/credentials/verify",
            "/v1/devices/certificates/{subject_key_id}",
            "/v1/devices/dacs/{fingerprint}",
            "/v1/devices/models/{vendor_id}/{product_id}",
            "/v1/devices/models/{vendor_id}/{product_id}/versions",
            "/v1/devices/models/{vendor_id}/{product_id}/versions/{software_version}",
            "/v1/devices/owned/{owner}",
            "/v1/devices/paas",
            "/v1/devices/revocations",
            "/v1/devices/scenes/{owner}/{scene}",
            "/v1/devices/vendors/{vendor_id}",
            "/v1/devices/vendors/{vendor_id}/models",
            "/v1/devices/vendors/{vendor_id}/pais",
            "/v1/devices/{device}",
            "/v1/devices/{device}/grants/{controller}",
            "/v1/dids/{did}",
            "/v1/events",
            "/v1/funds/contracts/{id}",
            "/v1/funds/contracts/{id}/payments",
            "/v1/funds/contracts/{id}/payrolls",
            "/v1/funds/contracts/{id}/subcontracts",
            "/v1/funds/payrolls/{id}",
            "/v1/funds/projects",
            "/v1/funds/projects/{id}",
            "/v1/funds/projects/{id}/appropriations",
            "/v1/funds/projects/{id}/contracts",
            "/v1/funds/projects/{id}/ocds",
            "/v1/funds/wages/{worker}",
            "/v1/invoices",
            "/v1/invoices/totals",
            "/v1/invoices/{number}",
            "/v1/logs/anchors/{number}",
            "/v1/logs/devices/{device}",
            "/v1/logs/devices/{device}/anchors",
            "/v1/merchants/{did}",
            "/v1/orgs/{did}",
            "/v1/orgs/{did}/officials/{member}",
            "/v1/payments/{id}",
            "/v1/rentals/filings/{housing}",
            "/v1/rentals/leases/{id}",
            "/v1/rentals/leases/{id}/payments",
            "/v1/rentals/listings",
            "/v1/rentals/listings/{id}",
            "/v1/rentals/parties/{did}/leases",
            "/v1/rentals/properties",
            "/v1/rentals/properties/{id}",
            "/v1/rentals/properties/{id}/history",
            "/v1/stats/rounds",
            "/v1/stats/rounds/{id}",
            "/v1/stats/rounds/{id}/reports/{index}",
            "/v1/stats/rounds/{id}/verify-keys/{aggregator}",
            "/v1/status",
            "/v1/transactions",
            "/v1/transactions/batch",
            "/v1/transactions/{hash}",
            "/v1/validators"
        ]
    );
    // Every schema a document refers to is in it: the instruction schemas come from the
    // modules' own types.
    fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&v, &mut found);
    let schemas = v["components"]["schemas"].as_object().expect("schemas");
    for r in &found {
        let name = r.strip_prefix("#/components/schemas/").expect("a local schema");
        assert!(schemas.contains_key(name), "{r} is not in the document");
    }
    for name in ["AccountInstruction", "InvoiceInstruction", "CouncilAction", "DidDocumentData", "Payment", "Did"] {
        assert!(schemas.contains_key(name), "{name} is documented");
    }
}

#[tokio::test]
async fn raw_blocks_need_a_certified_height() {
    let f = fixture();
    let (s, _, v) = get(&f, "/v1/blocks/0/raw").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "genesis has no certificate");
    assert_eq!(v["code"], "not_found");
    let (s, _, v) = get(&f, "/v1/blocks/latest/raw").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["code"], "bad_height");
    let (s, _, _) = get(&f, "/v1/blocks/99/raw").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Commits one block of whatever waits, as consensus would.
fn commit_block(f: &Fixture) {
    let executed = f.node.propose(now_ms()).expect("propose");
    f.node.finalized(&executed, b"test certificate").expect("commit");
}

#[tokio::test]
async fn dids_resolve_at_every_version_and_bad_requests_are_resolution_errors() {
    use civitas_types::did_doc::{DidDocumentData, Service};
    let f = fixture();
    let alice = Did::from_initial_key(&f.alice.public_key());
    let (s, _, v) = get(&f, &format!("/v1/dids/{alice}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["didDocument"]["id"], alice.to_string());
    assert_eq!(v["didResolutionMetadata"]["contentType"], "application/did+ld+json");
    assert_eq!(v["didDocumentMetadata"]["versionId"], "1");
    commit_block(&f);

    // Version 2 adds a service; version 3 deactivates.
    let document = DidDocumentData {
        services: vec![Service {
            fragment: "site".into(),
            kind: "LinkedDomains".into(),
            endpoint: "https://alice.example".into(),
        }],
        ..DidDocumentData::default()
    };
    let tx = |nonce: u64, instruction: Instruction| {
        Transaction {
            chain_id: dev::DEV_CHAIN_ID.into(),
            signer: f.alice.public_key(),
            nonce,
            valid_until_height: 100,
            instructions: vec![instruction],
        }
        .sign(&f.alice)
    };
    f.node
        .submit(vec![tx(0, Instruction::Dids(DidInstruction::UpdateDid { did: alice, document }))])
        .remove(0)
        .expect("admitted");
    commit_block(&f);
    let (_, _, v2) = get(&f, &format!("/v1/dids/{alice}")).await;
    assert_eq!(v2["didDocumentMetadata"]["versionId"], "2", "{v2}");
    assert_eq!(v2["didDocument"]["service"][0]["serviceEndpoint"], "https://alice.example");
    f.node
        .submit(vec![tx(1, Instruction::Dids(DidInstruction::DeactivateDid { did: alice }))])
        .remove(0)
        .expect("admitted");
    commit_block(&f);

    let (s, _, v) = get(&f, &format!("/v1/dids/{alice}")).await;
    assert_eq!(s, StatusCode::GONE);
    assert_eq!(
        (v["didDocumentMetadata"]["versionId"].as_str(), v["didDocumentMetadata"]["deactivated"].as_bool()),
        (Some("3"), Some(true))
    );
    let (s, _, v) = get(&f, &format!("/v1/dids/{alice}?versionId=1")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["didDocument"].get("service").is_none(), "version 1 had no service");
    assert_eq!(v["didDocumentMetadata"]["nextVersionId"], "2");
    let (_, _, v) = get(&f, &format!("/v1/dids/{alice}?versionId=2")).await;
    assert_eq!(v["didDocument"], v2["didDocument"]);
    // By time: now is after every version.
    let now = civitas_client::did::datetime(now_ms() + 60_000);
    let (s, _, v) = get(&f, &format!("/v1/dids/{alice}?versionTime={now}")).await;
    assert_eq!((s, v["didDocumentMetadata"]["versionId"].as_str()), (StatusCode::GONE, Some("3")));
    let (s, _, v) = get(&f, &format!("/v1/dids/{alice}?versionTime=1970-01-01T00:00:00Z")).await;
    assert_eq!((s, v["didResolutionMetadata"]["error"].as_str()), (StatusCode::NOT_FOUND, Some("notFound")));
    // A deactivated DID cannot act.
    check_problem(
        &f,
        "POST",
        "/v1/transactions",
        "application/octet-stream",
        transfer(&f, 2, 1).encode(),
        StatusCode::FORBIDDEN,
        "did_deactivated",
    )
    .await;

    for (uri, status, error) in [
        (format!("/v1/dids/{alice}?versionId=9"), StatusCode::NOT_FOUND, "notFound"),
        (format!("/v1/dids/{alice}?versionId=0"), StatusCode::BAD_REQUEST, "invalidOptions"),
        (format!("/v1/dids/{alice}?versionTime=yesterday"), StatusCode::BAD_REQUEST, "invalidOptions"),
        (
            format!("/v1/dids/{alice}?versionId=1&versionTime=2026-01-01T00:00:00Z"),
            StatusCode::BAD_REQUEST,
            "invalidOptions",
        ),
        (format!("/v1/dids/{alice}?color=blue"), StatusCode::BAD_REQUEST, "invalidOptions"),
        ("/v1/dids/did:civitas:nothex".to_owned(), StatusCode::BAD_REQUEST, "invalidDid"),
        ("/v1/dids/did:civitas:0000000000000000000000000000000000000000".to_owned(), StatusCode::NOT_FOUND, "notFound"),
        ("/v1/dids/did:web:example.org".to_owned(), StatusCode::NOT_IMPLEMENTED, "methodNotSupported"),
        ("/v1/dids/did:key:zNotAKey".to_owned(), StatusCode::BAD_REQUEST, "invalidDid"),
    ] {
        let (s, _, v) = get(&f, &uri).await;
        assert_eq!((s, v["didResolutionMetadata"]["error"].as_str()), (status, Some(error)), "{uri}: {v}");
        assert!(v["didDocument"].is_null());
    }
    let (s, _, v) = get(&f, "/v1/dids/did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp").await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn organization_council_and_audit_routes_refuse_bad_input() {
    let f = fixture();
    let nobody = "did:civitas:0000000000000000000000000000000000000000";
    for (uri, status, code) in [
        ("/v1/orgs/did:web:x".to_owned(), StatusCode::BAD_REQUEST, "bad_did"),
        (format!("/v1/orgs/{nobody}"), StatusCode::NOT_FOUND, "not_found"),
        (format!("/v1/orgs/{}/officials/{nobody}", f.bob), StatusCode::NOT_FOUND, "not_found"),
        ("/v1/audit?limit=5000".to_owned(), StatusCode::BAD_REQUEST, "bad_query"),
        ("/v1/audit?org=nope".to_owned(), StatusCode::BAD_REQUEST, "bad_did"),
        ("/v1/audit?color=red".to_owned(), StatusCode::BAD_REQUEST, "bad_query"),
        ("/v1/audit/abc".to_owned(), StatusCode::BAD_REQUEST, "bad_index"),
        ("/v1/audit/0".to_owned(), StatusCode::NOT_FOUND, "not_found"),
        ("/v1/council/proposals/x".to_owned(), StatusCode::BAD_REQUEST, "bad_proposal"),
        ("/v1/council/proposals/0".to_owned(), StatusCode::NOT_FOUND, "not_found"),
    ] {
        check_problem(&f, "GET", &uri, "application/json", vec![], status, code).await;
    }
    let (s, _, v) = get(&f, "/v1/council").await;
    assert_eq!((s, v["threshold"].as_u64()), (StatusCode::OK, Some(2)), "the dev council: 2 of 3");
    let (s, _, v) = get(&f, "/v1/validators").await;
    assert_eq!((s, v["epoch"].as_u64(), v["validators"].as_array().map(Vec::len)), (StatusCode::OK, Some(0), Some(1)));
    let (s, _, v) = get(&f, "/v1/audit").await;
    assert_eq!((s, v["total"].as_u64()), (StatusCode::OK, Some(0)));
}

/// A signed GET of `uri` by `key`, with the time `at`.
async fn signed_get(f: &Fixture, key: &SecretKey, uri: &str, signed_uri: &str, at: u64) -> (StatusCode, Value) {
    let mut req = Request::builder().method("GET").uri(uri);
    for (name, value) in civitas_client::signed::sign_request(key, "GET", signed_uri, at) {
        req = req.header(name, value);
    }
    let resp = crate::router(f.node.clone()).oneshot(req.body(Body::empty()).expect("request")).await.expect("ok");
    let status = resp.status();
    if is_stream(&resp) {
        return (status, Value::Null);
    }
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn invoice_reads_are_signed_and_refuse_bad_input_and_strangers() {
    let f = fixture();
    let now = now_ms();
    // Unsigned, and badly signed: 401 with a code.
    check_problem(
        &f,
        "GET",
        "/v1/invoices/1",
        "application/json",
        vec![],
        StatusCode::UNAUTHORIZED,
        "unsigned_request",
    )
    .await;
    let (s, v) = signed_get(&f, &f.alice, "/v1/invoices/1", "/v1/invoices/2", now).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_signature")), "signed for another path");
    let (s, v) = signed_get(&f, &f.alice, "/v1/invoices/1", "/v1/invoices/1", now - 3_600_000).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_signature")), "an hour old");
    let stranger = SecretKey::from_seed([77; 32]);
    let (s, v) = signed_get(&f, &stranger, "/v1/invoices/1", "/v1/invoices/1", now).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unknown_signer")));
    // Well signed, bad input: 400; missing: 404; another's list or org: 403.
    let bob = f.bob.to_string();
    for (uri, status, code) in [
        ("/v1/invoices/abc".to_owned(), StatusCode::BAD_REQUEST, "bad_number"),
        ("/v1/invoices/1".to_owned(), StatusCode::NOT_FOUND, "not_found"),
        ("/v1/invoices?limit=0".to_owned(), StatusCode::BAD_REQUEST, "bad_limit"),
        (format!("/v1/invoices?seller={bob}&buyer={bob}"), StatusCode::BAD_REQUEST, "bad_query"),
        ("/v1/invoices?seller=nope".to_owned(), StatusCode::BAD_REQUEST, "bad_did"),
        (format!("/v1/invoices?buyer={bob}"), StatusCode::FORBIDDEN, "not_allowed"),
        ("/v1/invoices".to_owned(), StatusCode::FORBIDDEN, "not_allowed"),
        (format!("/v1/invoices?as={bob}"), StatusCode::FORBIDDEN, "not_allowed"),
        ("/v1/invoices/totals".to_owned(), StatusCode::FORBIDDEN, "not_allowed"),
        ("/v1/invoices/totals?from_day=3&to_day=2".to_owned(), StatusCode::BAD_REQUEST, "bad_period"),
        (
            "/v1/invoices/totals?from_day=1&to_day=900&merchant=did:civitas:0000000000000000000000000000000000000000"
                .to_owned(),
            StatusCode::BAD_REQUEST,
            "bad_period",
        ),
        ("/v1/payments/nope".to_owned(), StatusCode::NOT_FOUND, "not_found"),
        ("/v1/invoices/1?colour=red".to_owned(), StatusCode::BAD_REQUEST, "bad_query"),
    ] {
        let (s, v) = signed_get(&f, &f.alice, &uri, &uri, now).await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{uri}");
    }
    // Her own (empty) list is hers to read; merchants are public.
    let alice = Did::from_initial_key(&f.alice.public_key());
    let uri = format!("/v1/invoices?buyer={alice}");
    let (s, v) = signed_get(&f, &f.alice, &uri, &uri, now).await;
    assert_eq!((s, v["invoices"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    check_problem(
        &f,
        "GET",
        &format!("/v1/merchants/{bob}"),
        "application/json",
        vec![],
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn credential_routes_answer_bad_input_with_reasons_not_crashes() {
    use civitas_client::sdjwt::{self, Credential, SigningKey};
    let f = fixture();
    let post = |body: String| call(&f, "POST", "/v1/credentials/verify", "application/json", body.into_bytes());
    let (s, _, v) = post("{not json".into()).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_json")));
    let request = |presentation: &str, aud: &str| {
        serde_json::json!({ "presentation": presentation, "aud": aud, "nonce": "n", "purpose": "test" }).to_string()
    };
    let market = f.bob.to_string();
    let (s, _, v) = post(request("x~", "not-a-did")).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_did")));
    // A garbage presentation is a failed verification with its reason, not an error.
    let (s, _, v) = post(request("garbage", &market)).await;
    assert_eq!(
        (s, v["valid"].as_bool(), v["outcome"].as_str()),
        (StatusCode::OK, Some(false), Some("malformed_sd_jwt"))
    );
    // A well-formed credential from an issuer nobody accredited, and one naming an unknown DID.
    let alice = Did::from_initial_key(&f.alice.public_key());
    let make = |iss: &str| {
        let mut visible = serde_json::Map::new();
        visible.insert("iss".into(), serde_json::json!(iss));
        visible.insert("vct".into(), serde_json::json!("https://civitas.example/vct/anything"));
        visible.insert("status".into(), serde_json::json!({ "status_list": { "idx": 0, "uri": "x" } }));
        let mut disclosable = serde_json::Map::new();
        disclosable.insert("name".into(), serde_json::json!("Alice"));
        let key = SigningKey::Ed25519(f.alice.clone());
        let credential = Credential { visible, disclosable, holder: Some(key.verifying_key()) };
        let issuance = sdjwt::issue(&key, Some("#key-0"), &credential, || [5; 16], 0).expect("issue");
        sdjwt::present(&issuance, &["name"], Some((&key, &market, "n", now_ms() / 1000))).expect("present")
    };
    let (_, _, v) = post(request(&make(&alice.to_string()), &market)).await;
    assert_eq!((v["valid"].as_bool(), v["outcome"].as_str()), (Some(false), Some("not_accredited")), "{v}");
    let nobody = "did:civitas:0000000000000000000000000000000000000000";
    let (_, _, v) = post(request(&make(nobody), &market)).await;
    assert_eq!(v["outcome"].as_str(), Some("unknown_issuer"));
    // Made for another verifier: the key binding's audience does not match.
    let (_, _, v) = post(request(&make(&alice.to_string()), &alice.to_string())).await;
    assert_eq!(v["outcome"].as_str(), Some("wrong_audience"));
    for (uri, status, code) in [
        ("/v1/credentials/status/nope/0".to_owned(), StatusCode::BAD_REQUEST, "bad_did"),
        (format!("/v1/credentials/status/{alice}/x"), StatusCode::BAD_REQUEST, "bad_index"),
        (format!("/v1/credentials/status/{alice}/0"), StatusCode::NOT_FOUND, "not_found"),
        ("/v1/credentials/access".to_owned(), StatusCode::UNAUTHORIZED, "unsigned_request"),
        ("/v1/credentials/consents".to_owned(), StatusCode::UNAUTHORIZED, "unsigned_request"),
        (format!("/v1/credentials/status-list/{alice}/256"), StatusCode::BAD_REQUEST, "bad_chunk"),
    ] {
        check_problem(&f, "GET", &uri, "application/json", vec![], status, code).await;
    }
}

#[tokio::test]
async fn a_node_catching_up_refuses_transactions_and_says_so_in_every_answer() {
    let f = fixture();
    f.node.set_catching_up(true);
    f.node.saw_height(9);
    let req = Request::builder()
        .method("POST")
        .uri("/v1/transactions")
        .header("content-type", "application/octet-stream")
        .body(Body::from(transfer(&f, 0, 10).encode()))
        .expect("request");
    let resp = crate::router(f.node.clone()).oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(retry, Some(crate::SYNCING_RETRY_AFTER_SECS.to_string()));
    assert_eq!(
        resp.headers().get(crate::SYNCING_HEADER).and_then(|v| v.to_str().ok()),
        Some("behind=9; highest-seen=9")
    );
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    let v: Value = serde_json::from_slice(&bytes).expect("problem");
    assert_eq!(v["code"], "syncing");
    let (s, _, v) = get(&f, "/v1/status").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (v["syncing"].as_bool(), v["highest_seen_height"].as_u64(), v["behind_blocks"].as_u64()),
        (Some(true), Some(9), Some(9))
    );
    f.node.set_catching_up(false);
    let (_, _, v) = get(&f, "/v1/status").await;
    assert_eq!(v["syncing"], false);
    check_problem(
        &f,
        "POST",
        "/v1/transactions",
        "application/octet-stream",
        vec![1],
        StatusCode::BAD_REQUEST,
        "malformed_transaction",
    )
    .await;
}

#[tokio::test]
async fn a_transaction_that_can_never_run_reads_as_dropped_with_why() {
    let f = fixture();
    // Nonce 1 waits for nonce 0, which never comes; it expires after height 2.
    let waiting = Transaction {
        chain_id: dev::DEV_CHAIN_ID.into(),
        signer: f.alice.public_key(),
        nonce: 1,
        valid_until_height: 2,
        instructions: vec![Instruction::Accounts(AccountInstruction::Transfer { to: f.bob, amount: 1 })],
    }
    .sign(&f.alice);
    let hash = f.node.submit(vec![waiting]).remove(0).expect("admitted");
    let uri = format!("/v1/transactions/{}", hash.to_hex());
    let (_, _, v) = get(&f, &uri).await;
    assert_eq!(v["status"], "pending");
    commit_block(&f);
    commit_block(&f);
    let (s, _, v) = get(&f, &uri).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["status"].as_str(), v["error_code"].as_str()), (Some("dropped"), Some("expired")), "{v}");
}

/// The served document admits what the server answers for tagged unions: a variant over a
/// struct admits its tag and nothing unknown (`unevaluatedProperties`), and two types of one
/// name do not share a schema.
#[tokio::test]
async fn the_openapi_document_admits_tagged_unions_and_keeps_names_apart() {
    let f = fixture();
    let (_, _, doc) = get(&f, "/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    let variants = schemas["ClaimJson"]["oneOf"].as_array().expect("ClaimJson is a oneOf");
    assert!(variants.len() > 10);
    for v in variants {
        assert_eq!(v["unevaluatedProperties"], serde_json::Value::Bool(false), "{v}");
        let name = v["allOf"][0]["$ref"].as_str().expect("a struct variant").rsplit('/').next().expect("name");
        assert!(schemas[name].get("additionalProperties").is_none(), "{name} still refuses the tag");
    }
    // The served struct keeps its own fields, and only those with the tag, as serde does.
    assert!(schemas["AccountClaim"]["properties"].get("state_proof").is_some());
    // The funds module's payment and the invoices' payment are two schemas.
    assert!(schemas["FundPayment"]["properties"].get("milestone").is_some());
    assert!(schemas["Payment"]["properties"].get("payer_commitment").is_some());
    let fund_entry = schemas["FundEntry"].to_string();
    assert!(fund_entry.contains("#/components/schemas/FundPayment"), "{fund_entry}");
}

/// Every status the server answers is in the OpenAPI document for that operation, and every
/// status the document lists is one the probes reach or one explained below. The probes call
/// each operation with sample values, malformed path values, an unknown query parameter,
/// malformed query values, signed and unsigned, before and after a finalized block.
#[tokio::test]
async fn the_openapi_document_describes_what_the_server_answers() {
    use std::collections::{BTreeMap, BTreeSet};
    let f = fixture();
    let (_, _, doc) = get(&f, "/openapi.json").await;
    // The tax department: an organization, its own admin, and (below) a merchant with an
    // audit entry; the finalized transfer's hash; and values nothing on the chain has.
    let tax_key = dev::read_key(&f._dir.path().join("keys/tax.key")).expect("key");
    let tax = Did::from_initial_key(&tax_key.public_key()).to_string();
    let stranger = Did::from_initial_key(&SecretKey::from_seed([77; 32]).public_key()).to_string();
    let committed = transfer(&f, 0, 10);
    let known_hash = civitas_types::Hash::digest(&committed.encode()).to_hex();
    let unknown_hash = "00000000000000000000000000000000000000000000000000000000000000ab".to_owned();
    let samples = |known: bool, name: &str| -> String {
        match (known, name) {
            (true, "did" | "member" | "issuer" | "housing") => tax.clone(),
            (false, "did" | "member" | "issuer" | "housing") => stranger.clone(),
            (true, "hash") => known_hash.clone(),
            (false, "hash") => unknown_hash.clone(),
            (true, "height" | "id") => "1".into(),
            (false, "height" | "id" | "index" | "number") => "99".into(),
            (_, "device") => "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp".into(),
            (_, "controller" | "owner") => tax.clone(),
            (_, "scene") => "kitchen".into(),
            (_, "worker") => stranger.clone(),
            (_, "vendor_id") => "FFF1".into(),
            (_, "product_id") => "8001".into(),
            (_, "software_version") => "2".into(),
            (_, "subject_key_id") => "00".repeat(20),
            (_, "fingerprint") => unknown_hash.clone(),
            _ => "0".into(),
        }
    };
    // Statuses documented but reached only by conditions the probes do not make.
    let explained: BTreeMap<(&str, &str, u16), &str> = [
        (("POST", "/v1/transactions", 409), "already pending or committed: covered by submit tests"),
        (("POST", "/v1/transactions", 503), "a full mempool or a node catching up: covered by the syncing test"),
        (
            ("POST", "/v1/transactions", 413),
            "a body over TX_BODY_BYTES_MAX: covered by the probe of the batch route's limit",
        ),
        (("POST", "/v1/transactions/batch", 413), "a body over the batch limit (tens of MiB)"),
        (("GET", "/v1/transactions/{hash}", 409), "prove=true on a pending transaction: covered by submit tests"),
        (("GET", "/v1/dids/{did}", 410), "a deactivated DID: covered by the DID test"),
        (("GET", "/v1/events", 503), "more streams open than EVENT_STREAMS_MAX at once"),
        (("GET", "/v1/invoices", 403), "a stranger's read: covered by the invoice-read test"),
        (("GET", "/v1/invoices/totals", 403), "a stranger's read: covered by the invoice-read test"),
        (("GET", "/v1/invoices/{number}", 403), "a stranger's read: covered by the invoice-read test"),
        (("GET", "/v1/payments/{id}", 403), "a stranger's read: covered by the invoice-read test"),
        (("GET", "/v1/invoices/{number}", 200), "needs an invoice: covered by the invoice-read test"),
        (("GET", "/v1/audit/{index}", 503), "an entry with no finalized block yet: entries come with blocks here"),
        (("GET", "/v1/payments/{id}", 200), "needs a payment: covered by the invoice-read test"),
        (("GET", "/v1/council/proposals/{id}", 200), "needs a proposal: covered by the council tests"),
        (("GET", "/v1/credentials/status/{issuer}/{index}", 200), "needs an anchored credential: the CLI scenario"),
        (("POST", "/v1/credentials/verify", 200), "needs a presentation: covered by the credential tests"),
        (("GET", "/v1/devices/{device}", 200), "needs a device: covered by the device routes test"),
        (("GET", "/v1/logs/devices/{device}", 200), "needs a device: covered by the log routes test"),
        (("GET", "/v1/logs/anchors/{number}", 200), "needs an anchor: covered by the log routes test"),
        (
            ("GET", "/v1/logs/anchors/{number}", 503),
            "an anchor in a block not yet finalized: anchors come with blocks here",
        ),
        (("GET", "/v1/devices/vendors/{vendor_id}", 200), "needs a vendor: covered by the device routes test"),
        (("GET", "/v1/funds/projects/{id}", 200), "needs a project: covered by the funds routes test"),
        (("GET", "/v1/funds/projects/{id}", 503), "a project not finalized yet: projects come with blocks here"),
        (("GET", "/v1/funds/projects/{id}/ocds", 200), "needs a project: covered by the funds routes test"),
        (("GET", "/v1/funds/contracts/{id}", 200), "needs a contract: covered by the funds routes test"),
        (("GET", "/v1/funds/contracts/{id}", 503), "a contract not finalized yet: contracts come with blocks here"),
        (("GET", "/v1/funds/payrolls/{id}", 200), "needs a payroll: covered by the funds routes test"),
        (("GET", "/v1/funds/payrolls/{id}", 503), "a payroll not finalized yet: payrolls come with blocks here"),
        (
            ("GET", "/v1/rentals/listings/{id}", 200),
            "needs a listing (a housing certificate): covered by the demo-flat rentals test",
        ),
        (("GET", "/v1/rentals/listings/{id}", 503), "a listing not finalized yet: listings come with blocks here"),
        (("GET", "/v1/rentals/properties", 200), "needs a listed property: covered by the demo-flat rentals test"),
        (("GET", "/v1/rentals/properties", 404), "needs both parameters well formed: covered by the rentals test"),
        (("GET", "/v1/rentals/properties/{id}", 200), "needs a listed property: covered by the demo-flat rentals test"),
        (("GET", "/v1/rentals/properties/{id}", 503), "a property not finalized yet: properties come with blocks here"),
        (("GET", "/v1/rentals/leases/{id}", 200), "needs a lease: covered by the demo-flat rentals test"),
        (
            ("GET", "/v1/rentals/leases/{id}", 403),
            "needs a lease: a stranger's read of one, covered by the demo-flat rentals test",
        ),
        (("GET", "/v1/rentals/leases/{id}", 503), "a lease not finalized yet: leases come with blocks here"),
        (("GET", "/v1/rentals/leases/{id}/payments", 200), "needs a lease: covered by the demo-flat rentals test"),
        (
            ("GET", "/v1/rentals/leases/{id}/payments", 403),
            "needs a lease: a stranger's read of one, covered by the demo-flat rentals test",
        ),
        (("GET", "/v1/rentals/leases/{id}/payments", 503), "a lease not finalized yet: leases come with blocks here"),
        (("GET", "/v1/catalog/datasets/{id}", 200), "needs a dataset: covered by the demo catalog test"),
        (("GET", "/v1/catalog/datasets/{id}", 503), "a dataset not finalized yet: datasets come with blocks here"),
        (("GET", "/v1/catalog/datasets/{id}/requests", 200), "needs a dataset: covered by the demo catalog test"),
        (
            ("GET", "/v1/catalog/datasets/{id}/requests", 403),
            "needs a dataset: a stranger's read of one, covered by the demo catalog test",
        ),
        (("GET", "/v1/catalog/datasets/{id}/requests", 503), "needs a dataset: datasets come with blocks here"),
        (("GET", "/v1/catalog/datasets/{id}/uses", 200), "needs a dataset: covered by the demo catalog test"),
        (
            ("GET", "/v1/catalog/datasets/{id}/uses", 403),
            "needs a dataset: a stranger's read of one, covered by the demo catalog test",
        ),
        (("GET", "/v1/catalog/datasets/{id}/uses", 503), "needs a dataset: datasets come with blocks here"),
        (("GET", "/v1/catalog/requests/{id}", 200), "needs a request: covered by the demo catalog test"),
        (
            ("GET", "/v1/catalog/requests/{id}", 403),
            "needs a request: a stranger's read of one, covered by the demo catalog test",
        ),
        (("GET", "/v1/catalog/requests/{id}", 503), "a request not finalized yet: requests come with blocks here"),
        (("GET", "/v1/stats/rounds/{id}", 200), "needs a round: covered by the round test in stats.rs"),
        (("GET", "/v1/stats/rounds/{id}", 503), "a round not finalized yet: rounds come with blocks here"),
        (
            ("GET", "/v1/stats/rounds/{id}/reports/{index}", 200),
            "needs a report: covered by the round test in stats.rs",
        ),
        (
            ("GET", "/v1/stats/rounds/{id}/verify-keys/{aggregator}", 200),
            "needs a shared key: covered by the round test in stats.rs",
        ),
        (("GET", "/v1/devices/certificates/{subject_key_id}", 200), "needs a PAA: covered by the device routes test"),
        (("GET", "/v1/devices/models/{vendor_id}/{product_id}", 200), "needs a model: the device routes test"),
        (
            ("GET", "/v1/devices/models/{vendor_id}/{product_id}/versions/{software_version}", 200),
            "needs a model version: covered by the device routes test",
        ),
    ]
    .into_iter()
    .collect();
    let mut seen: BTreeMap<(String, String), BTreeSet<u16>> = BTreeMap::new();
    let paths = doc["paths"].as_object().expect("paths").clone();
    for round in 0..2 {
        if round == 1 {
            // A finalized block, so proofs can be served, with a transfer and an official act.
            let merchant = Transaction {
                chain_id: dev::DEV_CHAIN_ID.into(),
                signer: tax_key.public_key(),
                nonce: 0,
                valid_until_height: 100,
                instructions: vec![Instruction::Invoices(civitas_types::InvoiceInstruction::RegisterMerchant {
                    merchant: tax.parse().expect("did"),
                    taxpayer_id: "TAX1".into(),
                    address: civitas_types::invoice::PostalAddress::demo(),
                    by: tax.parse().expect("did"),
                })],
            }
            .sign(&tax_key);
            for r in f.node.submit(vec![committed.clone(), merchant]) {
                r.expect("admitted");
            }
            commit_block(&f);
        }
        for (template, ops) in &paths {
            for (method, op) in ops.as_object().expect("operations") {
                let method = method.to_uppercase();
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                let path_params: Vec<String> = params
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().expect("name").to_owned())
                    .collect();
                let query_params: Vec<String> = params
                    .iter()
                    .filter(|p| p["in"] == "query")
                    .map(|p| p["name"].as_str().expect("name").to_owned())
                    .collect();
                let fill_with = |known: bool, bad: Option<&str>| {
                    path_params.iter().fold(template.clone(), |path, name| {
                        let value = if bad == Some(name.as_str()) { "zz!".into() } else { samples(known, name) };
                        path.replace(&format!("{{{name}}}"), &value)
                    })
                };
                let fill = |bad: Option<&str>| fill_with(true, bad);
                let mut uris = vec![fill(None), fill_with(false, None), format!("{}?zzz=1", fill(None))];
                uris.extend(path_params.iter().map(|p| fill(Some(p))));
                if template == "/v1/dids/{did}" {
                    uris.push("/v1/dids/did:web:example.org".into());
                }
                for q in &query_params {
                    let value = match q.as_str() {
                        "prove" => "true",
                        "org" | "as" | "seller" | "buyer" | "employer" | "merchant" => &tax,
                        "versionTime" => "2026-01-01T00:00:00Z",
                        _ => "1",
                    };
                    uris.push(format!("{}?{q}={value}", fill(None)));
                    uris.push(format!("{}?{q}=zz!", fill(None)));
                }
                let bodies: Vec<(&str, Vec<u8>)> = if method == "POST" {
                    vec![
                        ("application/octet-stream", transfer(&f, 1, 1).encode()),
                        ("application/octet-stream", vec![1, 2, 3]),
                        ("application/json", b"{\"nope\":1}".to_vec()),
                        ("application/json", b"not json".to_vec()),
                        ("application/octet-stream", civitas_client::wire::encode_batch(&[transfer(&f, 1, 1)])),
                        (
                            "application/json",
                            serde_json::json!({"presentation": "x".repeat(70_000), "aud": tax, "nonce": "n", "purpose": "p"})
                                .to_string()
                                .into_bytes(),
                        ),
                    ]
                } else {
                    vec![("application/json", vec![])]
                };
                for uri in &uris {
                    for (ct, body) in &bodies {
                        let (s, _, _) = call(&f, &method, uri, ct, body.clone()).await;
                        seen.entry((method.clone(), template.clone())).or_default().insert(s.as_u16());
                        if method == "GET" {
                            for key in [&f.alice, &tax_key] {
                                let (s, _) = signed_get(&f, key, uri, uri, now_ms()).await;
                                seen.entry((method.clone(), template.clone())).or_default().insert(s.as_u16());
                            }
                        }
                    }
                }
            }
        }
    }
    let mut problems = Vec::new();
    // Every parameter says what it looks like: a pattern or format for text, a number or a
    // boolean otherwise.
    for (path, ops) in &paths {
        for (method, op) in ops.as_object().expect("operations") {
            for p in op["parameters"].as_array().cloned().unwrap_or_default() {
                let schema = &p["schema"];
                let described = schema.get("pattern").is_some()
                    || schema.get("format").is_some()
                    || matches!(schema["type"].as_str(), Some("integer" | "boolean"))
                    || schema["type"].as_array().is_some_and(|t| t.iter().any(|t| t == "integer" || t == "boolean"));
                if !described {
                    problems.push(format!("{method} {path}: parameter {} has no pattern or format", p["name"]));
                }
            }
        }
    }
    for ((method, path), statuses) in &seen {
        let op = &doc["paths"][path][method.to_lowercase()];
        let documented: BTreeSet<u16> =
            op["responses"].as_object().expect("responses").keys().map(|k| k.parse().expect("a status")).collect();
        for s in statuses.difference(&documented) {
            problems.push(format!("{method} {path} answers {s}, which the document does not list"));
        }
        for s in documented.difference(statuses) {
            if !explained.contains_key(&(method.as_str(), path.as_str(), *s)) {
                problems.push(format!("{method} {path} documents {s}, which no probe reached and nothing explains"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The claim of a proof document, checked against its header's state root (the fixture's
/// certificates are not real signatures, so finality is not checked here: the light client's
/// tests and the CLI scenario do that), described.
fn proven_fact(v: &Value) -> String {
    use civitas_types::codec::Decode as _;
    let doc: civitas_client::wire::ProofJson = serde_json::from_value(v.clone()).expect("a proof document");
    let header = civitas_types::BlockHeader::decode(&hex::decode(&doc.header).expect("hex")).expect("a header");
    let evidence = civitas_client::claims::Evidence { header: &header, chain_id: &doc.chain_id };
    doc.claim.check(&evidence).expect("the claim checks out").describe(doc.height).1
}

#[tokio::test]
async fn device_routes_answer_and_prove_the_demo_kitchen() {
    let f = fixture();
    let dir = f._dir.path();
    for step in civitas_node::demo::device_steps(&f.node, dir).expect("demo steps") {
        let nonce = f.node.account_by_key(&step.signer.public_key()).expect("read").map_or(0, |a| a.nonce);
        let tx = Transaction {
            chain_id: dev::DEV_CHAIN_ID.into(),
            signer: step.signer.public_key(),
            nonce,
            valid_until_height: 100,
            instructions: step.instructions,
        }
        .sign(&step.signer);
        let hash = f.node.submit(vec![tx]).pop().expect("one").expect("admitted");
        commit_block(&f);
        match f.node.tx_status(&hash).expect("status") {
            civitas_node::TxStatus::Committed { receipt, .. } => {
                assert_eq!(receipt.outcome, civitas_types::TxOutcome::Success, "{}", step.what)
            }
            other => panic!("{}: {other:?}", step.what),
        }
    }
    let devices = civitas_node::demo::devices(dir).expect("the demo devices");
    let key = |n: &str| dev::read_key(&dir.join(format!("keys/{n}.key"))).expect("key");
    let did = |n: &str| Did::from_initial_key(&key(n).public_key());
    let (stove, hub) = (devices.stove.to_string(), did("homehub"));

    let (s, _, v) = get(&f, &format!("/v1/devices/{stove}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["passport"]["vendor_id"].as_u64(), v["passport"]["status"].as_str()), (Some(0xFFF2), Some("active")));
    assert_eq!(v["passport"]["owner"], did("alice").to_string());
    let (_, _, v) = get(&f, &format!("/v1/devices/{stove}/grants/{hub}")).await;
    assert_eq!(
        (v["allowed"].as_bool(), v["capabilities"].clone()),
        (Some(true), serde_json::json!(["shut_off", "gas_leak"]))
    );
    assert_eq!(v["grant"]["scene"], "kitchen");
    let (_, _, v) = get(&f, &format!("/v1/devices/{stove}/grants/{}", did("bob"))).await;
    assert_eq!((v["allowed"].as_bool(), v["code"].as_str()), (Some(false), Some("no_grant")));
    let (s, _, v) = get(&f, "/v1/devices/vendors/FFF1").await;
    assert_eq!((s, v["vendor"]["org"].clone()), (StatusCode::OK, serde_json::json!(did("hoodworks").to_string())));
    assert_eq!(get(&f, "/v1/devices/vendors/FFF9").await.0, StatusCode::NOT_FOUND);
    let (s, _, v) = get(&f, "/v1/devices/vendors/fff").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_id")));
    let (s, _, v) = get(&f, "/v1/devices/models/FFF2/8002").await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["model"]["capabilities"]["actions"].as_array().is_some_and(|a| a.contains(&"ignite".into())), "{v}");
    let (_, _, v) = get(&f, "/v1/devices/models/FFF2/8002/versions/2").await;
    assert_eq!(v["version"]["certification"]["state"], "certified");
    let paa = std::fs::read(dir.join("pki/paa.der")).expect("the demo PAA");
    let paa =
        civitas_types::device::attestation::parse(&paa, civitas_types::device::attestation::Level::Paa).expect("a PAA");
    let ski = hex::encode(&paa.subject_key_id);
    let (s, _, v) = get(&f, &format!("/v1/devices/certificates/{ski}")).await;
    assert_eq!((s, v["certificate"]["level"].as_str()), (StatusCode::OK, Some("paa")));
    let dac = std::fs::read(dir.join("pki/dac-gas-stove.der")).expect("the stove's DAC");
    let fingerprint = civitas_types::Hash::digest(&dac).to_hex();
    let (_, _, v) = get(&f, &format!("/v1/devices/dacs/{fingerprint}")).await;
    assert_eq!((v["device"].as_str(), v.get("revocation")), (Some(stove.as_str()), None));

    // Proofs: each claim checks out against the proven state and says what it proves.
    let (_, _, v) = get(&f, &format!("/v1/devices/{stove}?prove=true")).await;
    let fact = proven_fact(&v);
    assert!(fact.contains("is active") && fact.contains("its DAC, PAI and PAA are not revoked"), "{fact}");
    let (_, _, v) = get(&f, &format!("/v1/devices/{stove}/grants/{hub}?prove=true")).await;
    assert!(proven_fact(&v).contains("may use shut_off, gas_leak"), "{}", proven_fact(&v));
    let (_, _, v) = get(&f, &format!("/v1/devices/certificates/{ski}?prove=true")).await;
    assert!(proven_fact(&v).ends_with("is not revoked"), "{}", proven_fact(&v));
    let (_, _, v) = get(&f, &format!("/v1/devices/dacs/{fingerprint}?prove=true")).await;
    assert!(proven_fact(&v).ends_with("is not revoked"));
    // Lists, a page at a time, each page provable.
    let (s, _, v) = get(&f, "/v1/devices/paas").await;
    assert_eq!((s, v["total"].as_u64(), v["entries"][0]["id"].as_str()), (StatusCode::OK, Some(1), Some(ski.as_str())));
    let (_, _, v) = get(&f, "/v1/devices/vendors/FFF2/models").await;
    assert_eq!(v["entries"], serde_json::json!([{"kind": "product", "id": "8002"}]));
    let owned = format!("/v1/devices/owned/{}", did("alice"));
    let (_, _, v) = get(&f, &format!("{owned}?limit=1")).await;
    assert_eq!((v["total"].as_u64(), v["next"].as_u64()), (Some(3), Some(1)));
    assert_eq!(v["entries"][0]["id"], devices.hood.to_string());
    let (_, _, v) = get(&f, &format!("{owned}?from=1&limit=1&prove=true")).await;
    assert_eq!(proven_fact(&v), format!("list owned/{} has 3 entries; from position 1: {stove}", did("alice")));
    let (_, _, v) = get(&f, &format!("/v1/devices/scenes/{}/kitchen", did("alice"))).await;
    let scene: Vec<(&str, &str)> = v["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| (e["id"].as_str().expect("device"), e["controller"].as_str().expect("controller")))
        .collect();
    let (hood, hub_text) = (devices.hood.to_string(), hub.to_string());
    assert_eq!(scene, vec![(hood.as_str(), hub_text.as_str()), (stove.as_str(), hub_text.as_str())]);
    let (_, _, v) = get(&f, "/v1/devices/revocations?prove=true").await;
    assert_eq!(proven_fact(&v), "list revocations has 0 entries");
    let (s, _, v) = get(&f, "/v1/devices/paas?limit=101").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_limit")));
    let unknown = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
    let (_, _, v) = get(&f, &format!("/v1/devices/{unknown}?prove=true")).await;
    assert_eq!(proven_fact(&v), format!("no device {unknown} is registered"));
    // A claim about another device's passport is refused.
    let (_, _, mut v) = get(&f, &format!("/v1/devices/{stove}/grants/{hub}?prove=true")).await;
    v["claim"]["device"] = devices.hood.to_string().into();
    let doc: civitas_client::wire::ProofJson = serde_json::from_value(v).expect("a proof document");
    use civitas_types::codec::Decode as _;
    let header = civitas_types::BlockHeader::decode(&hex::decode(&doc.header).expect("hex")).expect("a header");
    assert!(doc.claim.check(&civitas_client::claims::Evidence { header: &header, chain_id: &doc.chain_id }).is_err());
}

#[tokio::test]
async fn log_routes_answer_and_a_receipt_proves_a_lock_event() {
    use civitas_types::log::{EventHeader, LogInstruction, Range, SignedEvent};
    let f = fixture();
    let dir = f._dir.path();
    let run = |signer: &SecretKey, instructions: Vec<Instruction>| {
        let nonce = f.node.account_by_key(&signer.public_key()).expect("read").map_or(0, |a| a.nonce);
        let tx = Transaction {
            chain_id: dev::DEV_CHAIN_ID.into(),
            signer: signer.public_key(),
            nonce,
            valid_until_height: 100,
            instructions,
        }
        .sign(signer);
        let hash = f.node.submit(vec![tx]).pop().expect("one").expect("admitted");
        commit_block(&f);
        match f.node.tx_status(&hash).expect("status") {
            civitas_node::TxStatus::Committed { receipt, .. } => receipt.outcome,
            other => panic!("{other:?}"),
        }
    };
    for step in civitas_node::demo::device_steps(&f.node, dir).expect("demo steps") {
        assert_eq!(run(&step.signer, step.instructions), civitas_types::TxOutcome::Success, "{}", step.what);
    }
    let key = |n: &str| dev::read_key(&dir.join(format!("keys/{n}.key"))).expect("key");
    let stove_key = key("gas-stove");
    let stove = civitas_types::device::DeviceId(stove_key.public_key());
    let (alice, hub) = (key("alice"), key("homehub"));
    let hub_did = Did::from_initial_key(&hub.public_key());
    let name = LogInstruction::SetLogGateway { device: stove, gateway: Some(hub_did) };
    assert_eq!(run(&alice, vec![Instruction::Logs(name)]), civitas_types::TxOutcome::Success);
    // Two events of the stove, chained and signed; the hub anchors them.
    let mut prev = civitas_types::Hash([0; 32]);
    let events: Vec<SignedEvent> = (0..2)
        .map(|seq| {
            let header = EventHeader {
                device: stove,
                seq,
                prev,
                time_ms: 1_796_000_000_000 + seq,
                event: "flame_out".into(),
                fields: vec![("burner".into(), "2".into())],
                payloads: vec![civitas_types::Hash([seq as u8; 32])],
            };
            prev = header.hash();
            SignedEvent { signature: stove_key.sign(&header.signing_bytes(dev::DEV_CHAIN_ID)), header }
        })
        .collect();
    let tree = civitas_types::merkle::Tree::new(events.iter().map(SignedEvent::leaf).collect());
    let range = Range { device: stove, first_seq: 0, last_seq: 1, last_hash: prev };
    let anchor = LogInstruction::AnchorEvents { root: tree.root(), size: 2, ranges: vec![range] };
    assert_eq!(run(&hub, vec![Instruction::Logs(anchor)]), civitas_types::TxOutcome::Success);

    let (s, _, v) = get(&f, &format!("/v1/logs/devices/{stove}")).await;
    assert_eq!(
        (s, v["head"]["next_seq"].as_u64(), v["gateway"].as_str()),
        (StatusCode::OK, Some(2), Some(hub_did.to_string().as_str()))
    );
    let (_, _, v) = get(&f, &format!("/v1/logs/devices/{stove}/anchors")).await;
    assert_eq!(v["anchors"], serde_json::json!([0]));
    let (_, _, v) = get(&f, &format!("/v1/logs/devices/{stove}?prove=true")).await;
    assert!(proven_fact(&v).contains("has events 0 to 1 anchored"), "{}", proven_fact(&v));
    let (s, _, v) = get(&f, "/v1/logs/anchors/0").await;
    assert_eq!((s, v["anchor"]["size"].as_u64()), (StatusCode::OK, Some(2)));
    assert_eq!(get(&f, "/v1/logs/anchors/1").await.0, StatusCode::NOT_FOUND);
    // The anchor's proof becomes each event's receipt.
    let (_, _, doc) = get(&f, "/v1/logs/anchors/0?prove=true").await;
    assert!(proven_fact(&doc).contains("2 events of 1 devices"), "{}", proven_fact(&doc));
    let receipt = |leaf: usize, event: &SignedEvent| {
        let mut r = doc.clone();
        let path: Vec<civitas_client::wire::MerkleStepJson> =
            civitas_client::wire::path_json(&tree.path(leaf).expect("a leaf"));
        r["claim"] = serde_json::json!({
            "kind": "event_receipt", "event": hex::encode(civitas_types::codec::Encode::encode(event)),
            "leaf": leaf, "path": path, "anchor": 0, "item": doc["claim"]["item"].clone(),
        });
        r
    };
    let fact = proven_fact(&receipt(1, &events[1]));
    assert!(fact.contains("signed event 1 (flame_out burner=2") && fact.contains("in anchor 0"), "{fact}");
    // A receipt for another leaf, or for a changed event, is refused.
    let check = |v: &Value| {
        use civitas_types::codec::Decode as _;
        let doc: civitas_client::wire::ProofJson = serde_json::from_value(v.clone()).expect("a proof document");
        let header = civitas_types::BlockHeader::decode(&hex::decode(&doc.header).expect("hex")).expect("a header");
        doc.claim.check(&civitas_client::claims::Evidence { header: &header, chain_id: &doc.chain_id }).map(|_| ())
    };
    assert!(check(&receipt(0, &events[0])).is_ok());
    let mut wrong_leaf = receipt(0, &events[0]);
    wrong_leaf["claim"]["leaf"] = 1.into();
    assert!(check(&wrong_leaf).is_err());
    let mut forged = events[0].clone();
    forged.header.fields = vec![("burner".into(), "3".into())];
    assert!(check(&receipt(0, &forged)).is_err(), "a rewritten event no longer verifies");
    // A second batch: a path of the first batch does not lead to its root, and the first
    // batch's event is not in it.
    let header = EventHeader { seq: 2, prev, ..events[1].header.clone() };
    let third = SignedEvent { signature: stove_key.sign(&header.signing_bytes(dev::DEV_CHAIN_ID)), header };
    let range = Range { device: stove, first_seq: 2, last_seq: 2, last_hash: third.header.hash() };
    let anchor = LogInstruction::AnchorEvents { root: third.leaf(), size: 1, ranges: vec![range] };
    assert_eq!(run(&hub, vec![Instruction::Logs(anchor)]), civitas_types::TxOutcome::Success);
    let (_, _, second) = get(&f, "/v1/logs/anchors/1?prove=true").await;
    let mut other_batch = second.clone();
    other_batch["claim"] = serde_json::json!({
        "kind": "event_receipt", "event": hex::encode(civitas_types::codec::Encode::encode(&events[0])),
        "leaf": 0, "path": civitas_client::wire::path_json(&tree.path(0).expect("a leaf")), "anchor": 1,
        "item": second["claim"]["item"].clone(),
    });
    let refused = check(&other_batch).expect_err("another batch's anchor");
    assert!(refused.to_string().contains("anchor 1 has no event 0"), "{refused}");
    let mut wrong_path = second.clone();
    let path = civitas_client::wire::path_json(&tree.path(0).expect("a leaf"));
    wrong_path["claim"] = serde_json::json!({
        "kind": "event_receipt", "event": hex::encode(civitas_types::codec::Encode::encode(&third)),
        "leaf": 0, "path": path, "anchor": 1, "item": second["claim"]["item"].clone(),
    });
    let refused = check(&wrong_path).expect_err("a path of another batch");
    assert!(refused.to_string().contains("does not lead to anchor 1's root"), "{refused}");
}

#[tokio::test]
async fn funds_routes_answer_and_prove_the_demo_school() {
    let f = fixture();
    let dir = f._dir.path();
    for step in civitas_node::demo::fund_steps(&f.node, dir).expect("demo steps") {
        let nonce = f.node.account_by_key(&step.signer.public_key()).expect("read").map_or(0, |a| a.nonce);
        let tx = Transaction {
            chain_id: dev::DEV_CHAIN_ID.into(),
            signer: step.signer.public_key(),
            nonce,
            valid_until_height: 100,
            instructions: step.instructions,
        }
        .sign(&step.signer);
        let hash = f.node.submit(vec![tx]).pop().expect("one").expect("admitted");
        commit_block(&f);
        match f.node.tx_status(&hash).expect("status") {
            civitas_node::TxStatus::Committed { receipt, .. } => {
                assert_eq!(receipt.outcome, civitas_types::TxOutcome::Success, "{}", step.what)
            }
            other => panic!("{}: {other:?}", step.what),
        }
    }
    let key = |n: &str| dev::read_key(&dir.join(format!("keys/{n}.key"))).expect("key");
    let did = |n: &str| Did::from_initial_key(&key(n).public_key());
    let (s, _, v) = get(&f, "/v1/funds/projects/0").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["project"]["appropriated"].as_str(), v["project"]["released"].as_str(), v["project"]["paid"].as_str()),
        (Some("50000000"), Some("20000000"), Some("14650000"))
    );
    assert_eq!((v["escrow"].as_str(), v["uncommitted"].as_str()), (Some("35350000"), Some("0")));
    let (s, _, v) = get(&f, "/v1/funds/contracts/0").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["contract"]["milestones"][0]["status"], "approved");
    assert_eq!(v["overdue"], serde_json::json!([]));
    let (_, _, v) = get(&f, "/v1/funds/payrolls/0").await;
    assert_eq!((v["payroll"]["status"].as_str(), v["payroll"]["total"].as_str()), (Some("paid"), Some("1650000")));
    let (_, _, v) = get(&f, "/v1/funds/contracts/0/payments").await;
    assert_eq!(v["total"], 3);
    let worker = did("worker-1");
    let (_, _, v) = get(&f, &format!("/v1/funds/wages/{worker}")).await;
    assert_eq!((v["total"].as_u64(), v["entries"][0]["amount"].as_str()), (Some(1), Some("600000")));
    // Bad input: a clear problem each.
    for (path, code) in [
        ("/v1/funds/projects/x", "bad_number"),
        ("/v1/funds/projects?limit=0", "bad_limit"),
        ("/v1/funds/projects?colour=red", "bad_query"),
        ("/v1/funds/wages/nobody", "bad_did"),
    ] {
        let (s, _, v) = get(&f, path).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{path}");
    }
    assert_eq!(get(&f, "/v1/funds/contracts/99").await.0, StatusCode::NOT_FOUND);
    // Proofs: the worker's wages, the project, the contract.
    let (_, _, v) = get(&f, &format!("/v1/funds/wages/{worker}?prove=true")).await;
    let fact = proven_fact(&v);
    assert!(fact.contains("has 1 entries") && fact.contains("600000 from payroll 0"), "{fact}");
    let (_, _, v) = get(&f, "/v1/funds/projects/0?prove=true").await;
    assert!(proven_fact(&v).contains("released 20000000, paid 14650000, escrow holds 35350000"), "{}", proven_fact(&v));
    let (_, _, v) = get(&f, "/v1/funds/contracts/1?prove=true").await;
    assert!(proven_fact(&v).starts_with("subcontract 1 of project 0"), "{}", proven_fact(&v));
    // The OCDS package names the payroll, never the workers.
    let (s, _, v) = get(&f, "/v1/funds/projects/0/ocds").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["version"], "1.1");
    assert!(!v.to_string().contains(&worker.to_string()), "a worker's DID is in the OCDS export");
}

#[tokio::test]
async fn rental_routes_refuse_bad_input_unknown_records_and_strangers() {
    let f = fixture();
    let now = now_ms();
    let tax_key = dev::read_key(&f._dir.path().join("keys/tax.key")).expect("key");
    let tax = Did::from_initial_key(&tax_key.public_key());
    let alice = Did::from_initial_key(&f.alice.public_key());
    // Public reads: bad input is 400 with a code, unknown records 404 with theirs.
    for (path, status, code) in [
        ("/v1/rentals/listings/x".to_owned(), StatusCode::BAD_REQUEST, "bad_number"),
        ("/v1/rentals/listings?limit=0".to_owned(), StatusCode::BAD_REQUEST, "bad_limit"),
        ("/v1/rentals/listings?limit=101".to_owned(), StatusCode::BAD_REQUEST, "bad_limit"),
        ("/v1/rentals/listings?colour=red".to_owned(), StatusCode::BAD_REQUEST, "bad_query"),
        ("/v1/rentals/properties/1/history?limit=101".to_owned(), StatusCode::BAD_REQUEST, "bad_limit"),
        ("/v1/rentals/properties?housing=nobody&reference=A1".to_owned(), StatusCode::BAD_REQUEST, "bad_did"),
        (format!("/v1/rentals/properties?housing={tax}"), StatusCode::BAD_REQUEST, "bad_query"),
        (format!("/v1/rentals/properties?housing={tax}&reference="), StatusCode::BAD_REQUEST, "bad_reference"),
        ("/v1/rentals/listings/7".to_owned(), StatusCode::NOT_FOUND, "unknown_listing"),
        ("/v1/rentals/properties/7".to_owned(), StatusCode::NOT_FOUND, "unknown_property"),
        (format!("/v1/rentals/properties?housing={tax}&reference=A1"), StatusCode::NOT_FOUND, "unknown_property"),
    ] {
        check_problem(&f, "GET", &path, "application/json", vec![], status, code).await;
    }
    let (s, _, v) = get(&f, "/v1/rentals/listings").await;
    assert_eq!((s, v["list"].as_str(), v["total"].as_u64()), (StatusCode::OK, Some("listings"), Some(0)), "{v}");
    // Private reads: unsigned 401; a lease nobody has 404; another's lists 403; one's own, 200.
    check_problem(
        &f,
        "GET",
        "/v1/rentals/leases/1",
        "application/json",
        vec![],
        StatusCode::UNAUTHORIZED,
        "unsigned_request",
    )
    .await;
    for (uri, status, code) in [
        ("/v1/rentals/leases/1".to_owned(), StatusCode::NOT_FOUND, Some("unknown_lease")),
        ("/v1/rentals/leases/1/payments".to_owned(), StatusCode::NOT_FOUND, Some("unknown_lease")),
        ("/v1/rentals/leases/1/payments?limit=101".to_owned(), StatusCode::BAD_REQUEST, Some("bad_limit")),
        (format!("/v1/rentals/filings/{tax}"), StatusCode::FORBIDDEN, Some("not_an_official")),
        (format!("/v1/rentals/parties/{tax}/leases"), StatusCode::FORBIDDEN, Some("not_a_party")),
        (format!("/v1/rentals/parties/{alice}/leases"), StatusCode::OK, None),
    ] {
        let (s, v) = signed_get(&f, &f.alice, &uri, &uri, now).await;
        assert_eq!((s, v["code"].as_str()), (status, code), "{uri}: {v}");
    }
    let uri = format!("/v1/rentals/filings/{tax}");
    let (s, v) = signed_get(&f, &tax_key, &uri, &uri, now).await;
    assert_eq!((s, v["total"].as_u64()), (StatusCode::OK, Some(0)), "an official reads its department's filings");
    // A proof of an empty page, once a block is finalized.
    commit_block(&f);
    let (s, _, v) = get(&f, "/v1/rentals/listings?prove=true").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["claim"]["kind"], "rental_list");
    assert_eq!(proven_fact(&v), "the listings (listings) has 0 entries");
}

#[tokio::test]
async fn rental_routes_answer_and_prove_the_demo_flat_to_its_parties_only() {
    let f = fixture();
    let dir = f._dir.path();
    for step in civitas_node::demo::rental_steps(&f.node, dir).expect("demo steps") {
        let nonce = f.node.account_by_key(&step.signer.public_key()).expect("read").map_or(0, |a| a.nonce);
        let tx = Transaction {
            chain_id: dev::DEV_CHAIN_ID.into(),
            signer: step.signer.public_key(),
            nonce,
            valid_until_height: 100,
            instructions: step.instructions,
        }
        .sign(&step.signer);
        let hash = f.node.submit(vec![tx]).pop().expect("one").expect("admitted");
        commit_block(&f);
        match f.node.tx_status(&hash).expect("status") {
            civitas_node::TxStatus::Committed { receipt, .. } => {
                assert_eq!(receipt.outcome, civitas_types::TxOutcome::Success, "{}", step.what)
            }
            other => panic!("{}: {other:?}", step.what),
        }
    }
    let key = |n: &str| dev::read_key(&dir.join(format!("keys/{n}.key"))).expect("key");
    let did = |n: &str| Did::from_initial_key(&key(n).public_key());
    let now = now_ms();
    // Public: the listing, the property (found by its certificate's reference) and its history.
    let (s, _, v) = get(&f, "/v1/rentals/listings/0").await;
    assert_eq!((s, v["listing"]["status"].as_str()), (StatusCode::OK, Some("leased")), "{v}");
    let (s, _, v) = get(&f, &format!("/v1/rentals/properties?housing={}&reference=XA-RX-0417", did("housing"))).await;
    assert_eq!((s, v["property"]["id"].as_u64(), v["history"].as_u64()), (StatusCode::OK, Some(0), Some(3)), "{v}");
    let (_, _, v) = get(&f, "/v1/rentals/properties/0?prove=true").await;
    assert!(proven_fact(&v).contains("property 0"), "{}", proven_fact(&v));
    let (_, _, v) = get(&f, "/v1/rentals/properties/0/history?prove=true").await;
    assert!(proven_fact(&v).contains("3 entries"), "{}", proven_fact(&v));
    // The lease: its tenant and the housing department read it, with proof; a stranger may not.
    let uri = "/v1/rentals/leases/0";
    let (s, v) = signed_get(&f, &key("bob"), uri, uri, now).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["lease"]["status"].as_str(), v["lease"]["deposit"]["held"].as_str()), (Some("active"), Some("2400")));
    assert_eq!((v["lease"]["paid"].as_str(), v["standing"]["overdue"].as_str()), (Some("1200"), Some("0")));
    assert_eq!(v["versions"].as_array().map(Vec::len), Some(1));
    let (s, _) = signed_get(&f, &key("housing"), uri, uri, now).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = signed_get(&f, &key("worker-1"), uri, uri, now).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_a_party")));
    let (s, v) =
        signed_get(&f, &key("worker-1"), "/v1/rentals/leases/0/payments", "/v1/rentals/leases/0/payments", now).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_a_party")));
    let proved = "/v1/rentals/leases/0?prove=true";
    let (s, v) = signed_get(&f, &key("bob"), proved, proved, now).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let fact = proven_fact(&v);
    assert!(fact.contains(&did("bob").to_string()) && fact.contains("2400"), "{fact}");
    let payments = "/v1/rentals/leases/0/payments";
    let (s, v) = signed_get(&f, &key("alice"), payments, payments, now).await;
    assert_eq!((s, v["total"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let filings = format!("/v1/rentals/filings/{}", did("housing"));
    let (s, v) = signed_get(&f, &key("housing"), &filings, &filings, now).await;
    assert_eq!((s, v["total"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    // Alice's consent, with its number, as she reads it.
    let (s, v) = signed_get(&f, &key("alice"), "/v1/credentials/consents", "/v1/credentials/consents", now).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["consents"][0]["purpose"].as_str(), v["consents"][0]["uses"].as_u64()),
        (Some("rental listing"), Some(1))
    );
}

/// Submits `steps` one block each, and checks each succeeded.
fn run_demo_steps(f: &Fixture, steps: Vec<civitas_node::demo::Step>) {
    for step in steps {
        let nonce = f.node.account_by_key(&step.signer.public_key()).expect("read").map_or(0, |a| a.nonce);
        let tx = Transaction {
            chain_id: dev::DEV_CHAIN_ID.into(),
            signer: step.signer.public_key(),
            nonce,
            valid_until_height: 100,
            instructions: step.instructions,
        }
        .sign(&step.signer);
        let hash = f.node.submit(vec![tx]).pop().expect("one").expect("admitted");
        commit_block(f);
        match f.node.tx_status(&hash).expect("status") {
            civitas_node::TxStatus::Committed { receipt, .. } => {
                assert_eq!(receipt.outcome, civitas_types::TxOutcome::Success, "{}", step.what)
            }
            other => panic!("{}: {other:?}", step.what),
        }
    }
}

#[tokio::test]
async fn catalog_routes_answer_and_prove_the_demo_datasets_to_the_parties_only() {
    let f = fixture();
    let dir = f._dir.path();
    run_demo_steps(&f, civitas_node::demo::catalog_steps(&f.node, dir).expect("demo steps"));
    let key = |n: &str| dev::read_key(&dir.join(format!("keys/{n}.key"))).expect("key");
    let did = |n: &str| Did::from_initial_key(&key(n).public_key());
    let (metro, bus) = (did("metro"), did("bus"));
    let now = now_ms();
    // Public: the catalog, a dataset (its content hash is the demo file's), an owner's datasets.
    let (s, _, v) = get(&f, "/v1/catalog/datasets").await;
    assert_eq!((s, v["list"].as_str(), v["total"].as_u64()), (StatusCode::OK, Some("datasets"), Some(2)), "{v}");
    let (s, _, v) = get(&f, "/v1/catalog/datasets/0").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let csv = std::fs::read(dir.join("data/metro-entries.csv")).expect("the demo's content");
    assert_eq!(v["dataset"]["content_hash"], civitas_types::Hash::digest(&csv).to_hex());
    let schema: Value = serde_json::from_str(v["dataset"]["schema"].as_str().expect("schema")).expect("a JSON Schema");
    assert_eq!(schema["required"], serde_json::json!(["station", "hour", "entries"]));
    assert_eq!(
        (v["dataset"]["owner"].as_str(), v["dataset"]["licence"].as_str(), v["dataset"]["status"].as_str()),
        (Some(metro.to_string().as_str()), Some("CC-BY-4.0"), Some("active"))
    );
    let (s, _, v) = get(&f, &format!("/v1/catalog/owners/{bus}/datasets")).await;
    assert_eq!((s, v["entries"][0]["id"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let (_, _, v) = get(&f, "/v1/catalog/datasets/0?prove=true").await;
    let fact = proven_fact(&v);
    assert!(fact.contains(&format!("\"Metro gate entries by station and hour\" of {metro} is active")), "{fact}");
    assert!(fact.contains("licence CC-BY-4.0"), "{fact}");
    let (_, _, v) = get(&f, "/v1/catalog/datasets?prove=true").await;
    assert_eq!(proven_fact(&v), "the catalog's datasets (datasets) has 2 entries; from position 0: 0; 1");
    // The request: both parties' officials read it, with proof; a stranger may not.
    let uri = "/v1/catalog/requests/0";
    for party in ["bus", "metro"] {
        let (s, v) = signed_get(&f, &key(party), uri, uri, now).await;
        assert_eq!(s, StatusCode::OK, "{party}: {v}");
        assert_eq!(
            (v["request"]["status"].as_str(), v["request"]["uses"].as_u64(), v["in_force"].as_bool()),
            (Some("granted"), Some(1), Some(true))
        );
        assert_eq!(v["request"]["days"], 90);
    }
    let (s, v) = signed_get(&f, &key("taxi"), uri, uri, now).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_a_party")), "{v}");
    let proved = "/v1/catalog/requests/0?prove=true";
    let (s, v) = signed_get(&f, &key("bus"), proved, proved, now).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let fact = proven_fact(&v);
    assert!(
        fact.contains(&format!("access request 0 by {bus}")) && fact.contains("\"bus network planning\""),
        "{fact}"
    );
    assert!(fact.contains(&format!("granted by {metro}")) && fact.contains("1 uses logged"), "{fact}");
    // The owner lists who used what, provably; the requester lists its requests; others may not.
    let uses = format!("/v1/catalog/owners/{metro}/uses?prove=true");
    let (s, v) = signed_get(&f, &key("metro"), &uses, &uses, now).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let fact = proven_fact(&v);
    assert!(fact.contains(&format!("{bus} used dataset 0 version 1 under grant 0")), "{fact}");
    for (signer, uri, status) in [
        ("metro", "/v1/catalog/datasets/0/uses".to_owned(), StatusCode::OK),
        ("metro", "/v1/catalog/datasets/0/requests".to_owned(), StatusCode::OK),
        ("bus", format!("/v1/catalog/requesters/{bus}/requests"), StatusCode::OK),
        ("bus", "/v1/catalog/datasets/0/uses".to_owned(), StatusCode::FORBIDDEN),
        ("bus", "/v1/catalog/datasets/0/requests".to_owned(), StatusCode::FORBIDDEN),
        ("bus", format!("/v1/catalog/owners/{metro}/uses"), StatusCode::FORBIDDEN),
        ("taxi", format!("/v1/catalog/requesters/{bus}/requests"), StatusCode::FORBIDDEN),
    ] {
        let (s, v) = signed_get(&f, &key(signer), &uri, &uri, now).await;
        assert_eq!(s, status, "{signer} {uri}: {v}");
        if status == StatusCode::OK {
            assert_eq!(v["total"], 1, "{uri}: {v}");
        } else {
            assert_eq!(v["code"], "not_an_official", "{uri}: {v}");
        }
    }
    let (_, v) = signed_get(&f, &key("metro"), "/v1/catalog/datasets/0/uses", "/v1/catalog/datasets/0/uses", now).await;
    assert_eq!(
        (v["entries"][0]["type"].as_str(), v["entries"][0]["user"].as_str()),
        (Some("use"), Some(bus.to_string().as_str()))
    );
    // Bad input: a clear problem each; unknown records 404; unsigned 401.
    for (path, status, code) in [
        ("/v1/catalog/datasets/x".to_owned(), StatusCode::BAD_REQUEST, "bad_number"),
        ("/v1/catalog/datasets?limit=0".to_owned(), StatusCode::BAD_REQUEST, "bad_limit"),
        ("/v1/catalog/datasets?limit=101".to_owned(), StatusCode::BAD_REQUEST, "bad_limit"),
        ("/v1/catalog/datasets?colour=red".to_owned(), StatusCode::BAD_REQUEST, "bad_query"),
        ("/v1/catalog/datasets/0?prove=maybe".to_owned(), StatusCode::BAD_REQUEST, "bad_query"),
        ("/v1/catalog/owners/nobody/datasets".to_owned(), StatusCode::BAD_REQUEST, "bad_did"),
        ("/v1/catalog/datasets/9".to_owned(), StatusCode::NOT_FOUND, "unknown_dataset"),
        ("/v1/catalog/requests/0".to_owned(), StatusCode::UNAUTHORIZED, "unsigned_request"),
    ] {
        check_problem(&f, "GET", &path, "application/json", vec![], status, code).await;
    }
    for (uri, status, code) in [
        ("/v1/catalog/requests/9", StatusCode::NOT_FOUND, "unknown_request"),
        ("/v1/catalog/requests/x", StatusCode::BAD_REQUEST, "bad_number"),
        ("/v1/catalog/datasets/9/uses", StatusCode::NOT_FOUND, "unknown_dataset"),
        ("/v1/catalog/datasets/0/uses?limit=101", StatusCode::BAD_REQUEST, "bad_limit"),
        ("/v1/catalog/requesters/nobody/requests", StatusCode::BAD_REQUEST, "bad_did"),
    ] {
        let (s, v) = signed_get(&f, &key("metro"), uri, uri, now).await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{uri}: {v}");
    }
}
