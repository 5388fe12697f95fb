//! The portal through its router, against a real node served on loopback (blocks made every
//! 30 ms): it answers only at its own address and only forms with its token; it shows the
//! wallet's credentials and makes presentations bound to the resident's key; it lists consents
//! and turns a withdrawal the chain refuses into a page that says why.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use civitas_client::sdjwt::{self, VerifyingKey};
use civitas_node::consensus::now_ms;
use tower::ServiceExt;

use super::{PortalConfig, router};
use crate::tests::{Fixture, Served, fixture, serve};

const AUTHORITY: &str = "127.0.0.1:8081";

struct World {
    f: Fixture,
    /// The node on loopback, making blocks while the test runs.
    _served: Served,
    /// The wallet folder, kept for the test's length.
    _wallet: tempfile::TempDir,
    /// One portal (one form token) for the whole test.
    portal: axum::Router,
}

/// A dev chain served on a loopback port, making a block every 30 ms, and a wallet folder
/// holding a property certificate housing issued to alice.
async fn world() -> World {
    let f = fixture();
    let served = serve(f.node.clone()).await;
    let node = served.url.clone();
    let wallet = tempfile::tempdir().expect("wallet");
    let (housing, _) = f.key("housing");
    let claims = ("XA-0001", "1 Lake Road", 72, "Alice");
    let (issuance, _) =
        civitas_node::demo::issue_property_certificate(&housing, &f.alice, 0, now_ms() / 1000, claims).expect("issued");
    std::fs::write(wallet.path().join("alice-property.sdjwt"), issuance).expect("write");
    let portal = router(PortalConfig {
        key: f.alice.clone(),
        wallet: wallet.path().to_owned(),
        node: node.clone(),
        authority: AUTHORITY.into(),
    });
    World { f, _served: served, _wallet: wallet, portal }
}

impl World {
    async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let resp = self.portal.clone().oneshot(req).await.expect("infallible");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let body = axum::body::to_bytes(resp.into_body(), 1 << 22).await.expect("body");
        (status, headers, String::from_utf8(body.to_vec()).expect("utf-8"))
    }

    async fn get(&self, uri: &str) -> (StatusCode, String) {
        let req = Request::builder().uri(uri).header("host", AUTHORITY).body(Body::empty()).expect("request");
        let (s, _, b) = self.send(req).await;
        (s, b)
    }

    /// The form token, as the portal's own pages carry it.
    async fn token(&self) -> String {
        let (_, page) = self.get("/consents").await;
        let at = page.find("name=\"token\" value=\"").expect("a token field") + "name=\"token\" value=\"".len();
        page[at..at + 64].to_owned()
    }

    async fn post(&self, uri: &str, form: &[(&str, &str)]) -> (StatusCode, axum::http::HeaderMap, String) {
        let body = form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("host", AUTHORITY)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_answers_only_at_its_own_address_and_only_its_own_forms() {
    let w = world().await;
    let req = Request::builder().uri("/").header("host", "evil.example:8081").body(Body::empty()).expect("request");
    let (status, _, body) = w.send(req).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{body}");
    assert!(body.contains("this portal answers only at http://127.0.0.1:8081/"));
    let req = Request::builder().uri("/").header("host", AUTHORITY).body(Body::empty()).expect("request");
    let (status, headers, body) = w.send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(body.contains(&w.f.alice_did().to_string()) && body.contains("100.00"), "alice's DID and balance: {body}");
    // A form without the portal's token (another site's page posting here) changes nothing.
    let (status, _, body) = w.post("/consents/0/withdraw", &[("token", "forged")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("did not come from your portal"));
    let (status, _, _) = w.post("/consents/0/withdraw", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_shown_and_presented_with_the_chosen_claims_bound_to_the_key() {
    let w = world().await;
    let (status, list) = w.get("/credentials").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("href=\"/credentials/alice-property\"") && list.contains(civitas_node::demo::PROPERTY_VCT));
    let (status, page) = w.get("/credentials/alice-property").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("1 Lake Road") && page.contains("name=\"claim:property_id\""), "{page}");
    let token = w.token().await;
    let (_, housing) = w.f.key("housing");
    let aud = housing.to_string();
    let form = [
        ("token", token.as_str()),
        ("aud", &aud),
        ("nonce", "n-42"),
        ("claim:property_id", "on"),
        ("claim:nope", "on"),
    ];
    let (status, _, page) = w.post("/credentials/alice-property/present", &form).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let start =
        page.find("readonly rows=\"8\" cols=\"90\" aria-label=\"The presentation\">").expect("the presentation");
    let text = &page[start..];
    let text = &text[text.find('>').expect(">") + 1..text.find("</textarea>").expect("end")];
    // It discloses the chosen claim only and is bound to alice's key for housing and the nonce.
    let (housing_key, _) = w.f.key("housing");
    let issuer = VerifyingKey::ed25519(&housing_key.public_key()).expect("key");
    let expect = sdjwt::Expectations {
        now: now_ms() / 1000,
        typ: Some(sdjwt::VC_TYP),
        key_binding: Some((&aud, "n-42")),
        kb_max_age_secs: 300,
    };
    let verified = sdjwt::verify(text, |_, _| Ok(issuer.clone()), &expect).expect("verifies");
    assert_eq!(verified.disclosed, ["property_id"]);
    assert_eq!(verified.holder, VerifyingKey::ed25519(&w.f.alice.public_key()), "bound to alice's key");
    // No claim chosen, a bad DID, a name that is not a wallet name, a file that is not there.
    let (status, _, page) =
        w.post("/credentials/alice-property/present", &[("token", &token), ("aud", &aud), ("nonce", "n")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("choose at least one claim"));
    let bad = [("token", token.as_str()), ("aud", "did:civitas:zz"), ("nonce", "n"), ("claim:address", "on")];
    let (status, _, page) = w.post("/credentials/alice-property/present", &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("aud: `did:civitas:zz` is not a did:civitas DID"));
    for (uri, status, why) in [
        ("/credentials/..%2Fetc", StatusCode::BAD_REQUEST, "letters, digits"),
        ("/credentials/missing", StatusCode::NOT_FOUND, "no credential missing"),
        ("/consents?zzz=1", StatusCode::BAD_REQUEST, "unknown field"),
        ("/consents?credential=missing", StatusCode::NOT_FOUND, "no credential missing"),
        ("/nowhere", StatusCode::NOT_FOUND, "no such page"),
    ] {
        let (s, page) = w.get(uri).await;
        assert_eq!(s, status, "{uri}: {page}");
        assert!(page.contains(why) && page.contains("role=\"alert\""), "{uri}: {page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_the_chain_refuses_is_a_page_that_says_why() {
    let w = world().await;
    let (status, page) = w.get("/consents?credential=alice-property").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("You have granted no consents"));
    assert!(page.contains(civitas_node::demo::PROPERTY_VCT), "the grant form is filled from the credential");
    let token = w.token().await;
    let (status, _, page) = w.post("/consents/7/withdraw", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("the chain refused it"), "{page}");
    let (status, _, page) = w.post("/consents/x/withdraw", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    let form: BTreeMap<&str, &str> = [("token", token.as_str()), ("verifier", "nope")].into_iter().collect();
    let form: Vec<(&str, &str)> = form.into_iter().collect();
    let (status, _, page) = w.post("/consents", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    let (status, page) = w.get("/access-log").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("No one has recorded a verification"));
}
