//! The module pages through the portal's router, against a real node served on loopback:
//! the demo's devices, school project and lease, and an invoice the metro issued to alice,
//! committed before the node starts making a block every 30 ms.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use civitas_node::consensus::now_ms;
use civitas_node::demo;
use civitas_types::invoice::{LineItem, Payment, PostalAddress};
use civitas_types::{Did, Hash, Instruction, InvoiceInstruction};
use tower::ServiceExt;

use crate::portal::{PortalConfig, router};
use crate::tests::{Fixture, Served, fixture, serve};

const AUTHORITY: &str = "127.0.0.1:8082";

struct Chain {
    f: Fixture,
    node: String,
    /// The node on loopback, making blocks while the test runs.
    _served: Served,
    wallet: tempfile::TempDir,
}

/// The dev chain with the demo's data and invoice 1 (metro fare, 6.00 CNY) issued to alice,
/// served on a loopback port.
async fn chain() -> Chain {
    let f = fixture();
    let dir = f._dir.path().to_owned();
    // The lease names alice's door lock, so the devices come first.
    f.run_steps(demo::device_steps(&f.node, &dir).expect("device steps"));
    f.run_steps(demo::fund_steps(&f.node, &dir).expect("fund steps"));
    f.run_steps(demo::rental_steps(&f.node, &dir).expect("rental steps"));
    let (tax, metro, fares) = (f.key("tax").1, f.key("metro").1, f.key("metro-fares").1);
    let register = InvoiceInstruction::RegisterMerchant {
        merchant: metro,
        taxpayer_id: "METRO2026".into(),
        address: PostalAddress::demo(),
        by: tax,
    };
    f.act("tax", vec![Instruction::Invoices(register)]);
    let payment = Payment {
        id: "metro-2026-000042".into(),
        payee: metro,
        amount: 600,
        currency: "CNY".into(),
        paid_at_ms: now_ms() - 60_000,
        channel: "fare-gate".into(),
        payer_commitment: Hash::digest(b"alice's card and her salt"),
    };
    f.act("metro-fares", vec![Instruction::Invoices(InvoiceInstruction::RecordPayment { payment, by: fares })]);
    let issue = InvoiceInstruction::IssueInvoice {
        payment_id: "metro-2026-000042".into(),
        buyer_name: "Alice Wang".into(),
        buyer_taxpayer_id: String::new(),
        buyer: Some(f.alice_did()),
        items: vec![LineItem { description: "Metro fare".into(), quantity: 1, unit_price: 600, tax_rate_bp: 0 }],
        by: metro,
    };
    f.act("metro", vec![Instruction::Invoices(issue)]);

    let served = serve(f.node.clone()).await;
    let node = served.url.clone();
    let wallet = tempfile::tempdir().expect("wallet");
    Chain { f, node, _served: served, wallet }
}

/// One resident's portal (one form token for the test's length).
struct Resident {
    portal: axum::Router,
    did: Did,
}

impl Chain {
    fn resident(&self, name: &str) -> Resident {
        let (key, did) = self.f.key(name);
        let portal = router(PortalConfig {
            key,
            wallet: self.wallet.path().to_owned(),
            node: self.node.clone(),
            authority: AUTHORITY.into(),
        });
        Resident { portal, did }
    }
}

impl Resident {
    async fn send(&self, req: Request<Body>) -> (StatusCode, Option<String>, String) {
        let resp = self.portal.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let location = resp.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).map(str::to_owned);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 22).await.expect("body");
        (status, location, String::from_utf8(body.to_vec()).expect("utf-8"))
    }

    async fn get(&self, uri: &str) -> (StatusCode, String) {
        let req = Request::builder().uri(uri).header("host", AUTHORITY).body(Body::empty()).expect("request");
        let (s, _, b) = self.send(req).await;
        (s, b)
    }

    /// A page that must answer 200.
    async fn page(&self, uri: &str) -> String {
        let (status, page) = self.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {page}");
        page
    }

    /// The form token, as the portal's own pages carry it.
    async fn token(&self) -> String {
        let page = self.page("/consents").await;
        let at = page.find("name=\"token\" value=\"").expect("a token field") + "name=\"token\" value=\"".len();
        page[at..at + 64].to_owned()
    }

    async fn post(&self, uri: &str, form: &[(&str, &str)]) -> (StatusCode, Option<String>, String) {
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

    /// Posts a form that must commit its transaction: the page it redirects to.
    async fn act(&self, uri: &str, form: &[(&str, &str)], back: &str) -> String {
        let (status, location, page) = self.post(uri, form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{uri}: {page}");
        let location = location.expect("a redirect");
        let hash = location.strip_prefix(back).expect("back to the page");
        assert!(Hash::from_hex(hash).is_ok(), "{location}");
        let page = self.page(&location).await;
        assert!(page.contains("Committed in transaction"), "{page}");
        page
    }

    /// Checks that each of `cases` (a GET, or a POST with its form) answers `status` with a
    /// page in the portal's frame that gives `why`.
    async fn refused(&self, cases: &[Refusal<'_>]) {
        for (uri, form, status, why) in cases {
            let (s, page) = match form {
                None => self.get(uri).await,
                Some(f) => {
                    let (s, _, page) = self.post(uri, f).await;
                    (s, page)
                }
            };
            assert_eq!(s, *status, "{uri}: {page}");
            assert!(page.contains(why) && page.contains("role=\"alert\""), "{uri}: expected {why:?} in {page}");
            assert!(page.contains("My Civitas"), "in the portal's frame: {uri}");
        }
    }
}

/// A request the portal refuses: its path, its form if it is a POST, the status, and the
/// words of the reason.
type Refusal<'a> = (&'a str, Option<&'a [(&'a str, &'a str)]>, StatusCode, &'a str);

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

/// The number of times `needle` is in `page`.
fn count(page: &str, needle: &str) -> usize {
    page.matches(needle).count()
}

#[test]
fn amounts_are_typed_as_whole_units_with_at_most_two_decimals() {
    for (text, minor) in [("12", 1_200), ("12.5", 1_250), ("12.05", 1_205), (" 1,200.00 ", 120_000), (".5", 50)] {
        assert_eq!(super::parse_amount("amount", text).expect(text), minor, "{text}");
    }
    for text in ["", ".", "abc", "1.234", "-1", "1e3", "12.x", "340282366920938463463374607431768211456"] {
        assert!(super::parse_amount("amount", text).is_err(), "{text}");
    }
    assert!(format!("{:?}", super::parse_amount("amount", "0.00")).contains("more than 0.00"));
    assert_eq!(super::plain_amount(1_205), "12.05");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_pays_rent_and_both_parties_see_the_lease_terms_standing_and_payments() {
    let c = chain().await;
    let (alice, bob) = (c.resident("alice"), c.resident("bob"));
    let page = bob.page("/leases").await;
    for expected in [
        "Lease 0",
        "You are the tenant.",
        "12.00 monthly",
        "24.00 held in escrow",
        "12.00 of 144.00 over 12 periods",
        "nothing overdue",
        "action=\"/leases/0/pay\"",
        "value=\"12.00\"",
        "Up to 132.00 is left to pay",
    ] {
        assert!(page.contains(expected), "bob's lease page lacks {expected:?}: {page}");
    }
    assert!(page.contains(&alice.did.to_string()), "the landlord is named: {page}");
    assert_eq!(count(&page, "<tr><td><time"), 1, "one payment so far: {page}");
    let token = bob.token().await;
    let page = bob.act("/leases/0/pay", &[("token", &token), ("amount", "12.00")], "/leases?done=").await;
    assert!(page.contains("24.00 of 144.00 over 12 periods"), "{page}");
    assert_eq!(count(&page, "<tr><td><time"), 2, "the new payment is listed: {page}");
    assert!(page.contains("value=\"12.00\""), "the next month is suggested: {page}");

    // The landlord sees the same lease and payments, and no form to pay.
    let page = alice.page("/leases").await;
    assert!(page.contains("You are the landlord.") && page.contains("24.00 of 144.00"), "{page}");
    assert!(!page.contains("action=\"/leases/0/pay\""), "{page}");
    assert_eq!(count(&page, "<tr><td><time"), 2, "{page}");

    // What the chain refuses, and what never reaches it.
    let alices = alice.token().await;
    let (status, _, page) = alice.post("/leases/0/pay", &[("token", &alices), ("amount", "1")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "only the tenant pays: {page}");
    assert!(page.contains("the chain refused it"), "{page}");
    let (status, _, page) = bob.post("/leases/0/pay", &[("token", &token), ("amount", "500")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "more than the lease's rent: {page}");
    assert!(page.contains("the chain refused it"), "{page}");
    bob.refused(&[
        ("/leases?zzz=1", None, StatusCode::BAD_REQUEST, "unknown field"),
        ("/leases?from=x", None, StatusCode::BAD_REQUEST, "from"),
        ("/leases?done=zz", None, StatusCode::BAD_REQUEST, "done is a transaction's hash"),
        ("/leases/0/pay", Some(&[("token", "forged"), ("amount", "1")]), StatusCode::FORBIDDEN, "did not come from"),
        ("/leases/0/pay", Some(&[("amount", "1")]), StatusCode::FORBIDDEN, "did not come from"),
        ("/leases/x/pay", Some(&[("token", &token), ("amount", "1")]), StatusCode::BAD_REQUEST, "whole number"),
        ("/leases/0/pay", Some(&[("token", &token), ("amount", "abc")]), StatusCode::BAD_REQUEST, "such as 12.00"),
        ("/leases/0/pay", Some(&[("token", &token), ("amount", "0")]), StatusCode::BAD_REQUEST, "more than 0.00"),
        ("/leases/0/pay", Some(&[("token", &token)]), StatusCode::BAD_REQUEST, "amount is required"),
    ])
    .await;
    // A resident party to no lease.
    let page = c.resident("worker-2").page("/leases").await;
    assert!(page.contains("You are party to no lease."), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_sees_her_devices_and_their_grants_and_revokes_one() {
    let c = chain().await;
    let alice = c.resident("alice");
    let ids = demo::devices(c.f._dir.path()).expect("demo devices");
    let hub = c.f.key("homehub").1.to_string();
    let page = alice.page("/devices").await;
    for expected in ["Hoodworks range hood H1", "Flameco gas stove S2", "Lockworks door lock L5", "version 2"] {
        assert!(page.contains(expected), "{expected:?}: {page}");
    }
    assert_eq!(count(&page, "badge ok\">active"), 3, "{page}");
    assert!(page.contains(&format!("{}/devices/{}", c.node, ids.stove)), "a link to the explorer: {page}");
    assert!(!page.contains("device-grants"), "no grants until a scene or controller is asked for");

    let kitchen = alice.page("/devices?scene=kitchen").await;
    assert!(kitchen.contains("In your scene <code>kitchen</code>"), "{kitchen}");
    assert_eq!(count(&kitchen, "badge ok\">in force"), 2, "the hood and the stove: {kitchen}");
    assert!(kitchen.contains("shut_off, gas_leak") && kitchen.contains("fan_speed, boost"), "{kitchen}");
    assert_eq!(count(&kitchen, "/revoke\""), 2, "{kitchen}");
    let page = alice.page(&format!("/devices?controller={hub}")).await;
    assert_eq!(count(&page, "badge ok\">in force"), 3, "homehub's grants on all three: {page}");
    assert!(page.contains("lock_state, door_forced"), "{page}");

    let token = alice.token().await;
    let form = [("token", token.as_str()), ("controller", &hub), ("scene", "kitchen")];
    let revoke = format!("/devices/{}/revoke", ids.stove);
    let page = alice.act(&revoke, &form, "/devices?scene=kitchen&done=").await;
    assert_eq!(count(&page, "badge ok\">in force"), 1, "the hood's only: {page}");
    assert!(page.contains("no grant recorded"), "the stove's is gone: {page}");
    assert_eq!(count(&page, "/revoke\""), 1, "{page}");
    // The node agrees.
    let answer = civitas_client::Client::new(&c.node).device_grant(&ids.stove, &c.f.key("homehub").1);
    assert!(!answer.expect("read").expect("device").allowed);

    let (status, _, page) = alice.post(&revoke, &form).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing left to revoke: {page}");
    let civitas = format!("did:civitas:{}", "0".repeat(40));
    alice
        .refused(&[
            ("/devices?scene=Kitchen", None, StatusCode::BAD_REQUEST, "a scene's name is 1 to 64"),
            ("/devices?controller=bob", None, StatusCode::BAD_REQUEST, "controller: `bob` is not a did:civitas DID"),
            (&format!("/devices?scene=a&controller={civitas}"), None, StatusCode::BAD_REQUEST, "not both"),
            ("/devices?owner=1", None, StatusCode::BAD_REQUEST, "unknown field"),
            (
                "/devices/abc/revoke",
                Some(&[("token", &token), ("controller", &hub)]),
                StatusCode::BAD_REQUEST,
                "not a device id",
            ),
            (
                &revoke,
                Some(&[("token", &token), ("controller", "nope")]),
                StatusCode::BAD_REQUEST,
                "controller: `nope`",
            ),
            (
                &revoke,
                Some(&[("token", &token), ("controller", &hub), ("scene", "A B")]),
                StatusCode::BAD_REQUEST,
                "a scene's name",
            ),
            (&revoke, Some(&[("controller", &hub)]), StatusCode::FORBIDDEN, "did not come from"),
        ])
        .await;
    // Bob owns nothing.
    let page = c.resident("bob").page("/devices?scene=kitchen").await;
    assert!(page.contains("You own no device.") && page.contains("No grant is listed here."), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_sees_their_wages_with_project_contract_payroll_and_proof() {
    let c = chain().await;
    let worker = c.resident("worker-1");
    let page = worker.page("/wages").await;
    let wages = format!("{}/v1/funds/wages/{}?prove=true", c.node, worker.did);
    for expected in [
        "6,000.00",
        "Riverside Primary School",
        &format!("href=\"{}/funds/projects/0\"", c.node),
        "Brickwork and masonry (subcontract 1 of contract 0)",
        "lianhua-masonry",
        &format!("href=\"{}/v1/funds/payrolls/0\"", c.node),
        "milestone 0 of contract 0 (paid)",
        &format!("href=\"{wages}\""),
        "1 payment in all",
    ] {
        assert!(page.contains(expected), "{expected:?}: {page}");
    }
    // The proof is there to download.
    let proof = civitas_client::Client::new(&c.node)
        .prove_fund_list(&civitas_types::fund::FundList::Wages(worker.did), 0, 100)
        .expect("the proof");
    assert!(serde_json::to_string(&proof).expect("json").contains("fund_list"));

    let page = c.resident("alice").page("/wages").await;
    assert!(page.contains("No wages were paid into your account."), "{page}");
    worker
        .refused(&[
            ("/wages?page=2", None, StatusCode::BAD_REQUEST, "unknown field"),
            ("/wages?from=-1", None, StatusCode::BAD_REQUEST, "from"),
        ])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_buyer_sees_her_invoice_and_submits_it_to_her_employer() {
    let c = chain().await;
    let alice = c.resident("alice");
    let page = alice.page("/invoices").await;
    for expected in ["Metro fare", "6.00 CNY", "badge ok\">issued", "action=\"/invoices/1/submit\"", ">metro<"] {
        assert!(page.contains(expected), "{expected:?}: {page}");
    }
    let acme = c.f.key("acme").1.to_string();
    let token = alice.token().await;
    let page = alice.act("/invoices/1/submit", &[("token", &token), ("employer", &acme)], "/invoices?done=").await;
    assert!(page.contains("badge wait\">submitted</span> to <a"), "{page}");
    assert!(page.contains(">acme<") && !page.contains("action=\"/invoices/1/submit\""), "{page}");

    let (status, _, page) = alice.post("/invoices/1/submit", &[("token", &token), ("employer", &acme)]).await;
    assert_eq!(status, StatusCode::CONFLICT, "one claim, ever: {page}");
    assert!(page.contains("the chain refused it"), "{page}");
    alice
        .refused(&[
            ("/invoices?from=x", None, StatusCode::BAD_REQUEST, "from"),
            ("/invoices?buyer=x", None, StatusCode::BAD_REQUEST, "unknown field"),
            (
                "/invoices/1/submit",
                Some(&[("token", &token), ("employer", "nope")]),
                StatusCode::BAD_REQUEST,
                "employer: `nope` is not a did:civitas DID",
            ),
            ("/invoices/1/submit", Some(&[("token", &token)]), StatusCode::BAD_REQUEST, "employer is required"),
            (
                "/invoices/one/submit",
                Some(&[("token", &token), ("employer", &acme)]),
                StatusCode::BAD_REQUEST,
                "whole number",
            ),
            (
                "/invoices/1/submit",
                Some(&[("token", "x"), ("employer", &acme)]),
                StatusCode::FORBIDDEN,
                "did not come from",
            ),
        ])
        .await;
    // Bob was issued nothing, and cannot claim alice's invoice.
    let bob = c.resident("bob");
    assert!(bob.page("/invoices").await.contains("No invoice was issued to you."));
    let bobs = bob.token().await;
    let (status, _, page) = bob.post("/invoices/1/submit", &[("token", &bobs), ("employer", &acme)]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
}
