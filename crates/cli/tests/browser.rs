//! The explorer in a real browser: Debian's headless Chromium, driven through chromedriver
//! (W3C WebDriver), against a real `civitas dev`. A reader opens the dashboard, searches for a
//! block, follows it to a transaction and to the signer's account, downloads the account's
//! proof and the genesis from the page and checks the proof offline with `civitas verify`;
//! a bad URL is a page with the reason. Then alice opens her portal (`civitas wallet`): she
//! grants housing a consent for her property certificate and withdraws another, presents the
//! certificate with two claims, housing verifies it from the CLI and records the check, and the
//! entry appears in her access log. Screenshots of the main pages are saved under the test's
//! target folder (`CARGO_TARGET_TMPDIR/screenshots`) for review.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs). In CI (`CI` set) their absence fails the test;
//! elsewhere it is skipped with a message saying what to install.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use civitas_types::{Did, SecretKey, keyfile};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

mod common;

use common::{BIN, Proc, free_port, start_dev};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser is here; in CI it must be.
fn browser_present() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "{CHROMIUM} and {CHROMEDRIVER} are missing: .ci/run installs Debian's chromium and chromium-driver"
        );
        eprintln!(
            "SKIPPED: the browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        );
    }
    present
}

/// chromedriver in a process group of its own, with the Chromium it starts: dropped (when the
/// test ends, passing or failing), the whole group is killed, so no browser outlives the test.
struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free loopback port, and its URL once it answers.
fn start_chromedriver(log: &Path) -> (Driver, String) {
    use std::os::unix::process::CommandExt;
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg(format!("--log-path={}", log.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "chromedriver did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Driver(child), url)
}

/// A headless Chromium session that saves downloads to `downloads`. The flags keep Chromium
/// from reaching for the network (this machine has none but loopback).
async fn browser(driver: &str, profile: &Path, downloads: &Path) -> Client {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1400",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        },
    });
    let caps = caps.as_object().expect("an object").clone();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector).capabilities(caps).connect(driver).await.expect("a WebDriver session")
}

/// Saves a screenshot of the current page as `name.png` in `dir`.
async fn shot(c: &Client, dir: &Path, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

/// The text of the first element matching `css`.
async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).text().await.expect("text")
}

fn key(data: &Path, name: &str) -> SecretKey {
    let text = std::fs::read_to_string(data.join(format!("keys/{name}.key"))).expect("key");
    keyfile::parse(&text).expect("key file")
}

/// Waits until `file` is fully downloaded into `dir` (Chromium writes `.crdownload` first).
fn downloaded(dir: &Path, file: &str) -> PathBuf {
    let path = dir.join(file);
    let start = Instant::now();
    while !path.exists() || dir.join(format!("{file}.crdownload")).exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "{file} was not downloaded");
        std::thread::sleep(Duration::from_millis(100));
    }
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_follows_a_block_to_an_account_and_checks_its_proof_offline() {
    if !browser_present() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("dev");
    let (_dev, node) = start_dev(&data);
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).expect("downloads");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).expect("screenshots");
    let (_driver, driver_url) = start_chromedriver(&tmp.path().join("chromedriver.log"));
    let c = browser(&driver_url, &tmp.path().join("profile"), &downloads).await;

    // The dashboard says the height it shows and lists the newest blocks.
    c.goto(&format!("{node}/")).await.expect("dashboard");
    assert_eq!(c.title().await.expect("title"), "Dashboard · Civitas");
    let height: u64 = text(&c, ".cards [data-live-height]").await.parse().expect("a height");
    assert!(height >= 1);
    assert!(c.find(Locator::Css("#recent-blocks tbody tr")).await.is_ok(), "newest blocks listed");
    shot(&c, &shots, "dashboard").await;
    // Without a reload, the page follows new blocks through /v1/events (the dev chain makes an
    // empty block every two seconds).
    let start = Instant::now();
    loop {
        let now: u64 = text(&c, ".cards [data-live-height]").await.parse().expect("a height");
        let top = text(&c, "#recent-blocks tbody tr td").await;
        if now > height && top == now.to_string() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the dashboard did not follow the chain past {height}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Search for the demo's first block with transactions and follow it to a transaction.
    let api = civitas_client::Client::new(&node);
    let first = (1..=height)
        .find(|h| api.block(*h, 0, 1).ok().flatten().is_some_and(|b| b.tx_count > 0))
        .expect("a block with transactions");
    let q = c.find(Locator::Id("q")).await.expect("search box");
    q.send_keys(&first.to_string()).await.expect("type");
    c.find(Locator::Css("form.search button")).await.expect("button").click().await.expect("search");
    // The click may return before the search's redirect has loaded the block's page.
    let start = Instant::now();
    loop {
        let url = c.current_url().await.expect("url");
        if url.path().ends_with(&format!("/blocks/{first}")) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the search for {first} stayed at {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text(&c, "h1").await, format!("Block {first}"));
    shot(&c, &shots, "block").await;
    c.find(Locator::Css("table a[href^='/tx/']")).await.expect("a transaction link").click().await.expect("click");
    assert!(text(&c, "h1").await.starts_with("Transaction "));
    assert!(text(&c, "dl.facts").await.contains("committed"));
    shot(&c, &shots, "transaction").await;

    // The signer's account, with its balance and DID document.
    c.find(Locator::Css("dl.facts a[href^='/accounts/']")).await.expect("the signer").click().await.expect("click");
    assert!(text(&c, "h1").await.starts_with("Account "));
    let facts = text(&c, "dl.facts").await;
    assert!(facts.contains("Balance") && facts.contains('.'), "{facts}");
    assert!(text(&c, "pre.json").await.contains("\"@context\""));
    shot(&c, &shots, "account").await;

    // Download the account's proof and the genesis from the page; check the proof offline.
    let link = c.find(Locator::Css("section.proof a[href*='prove=true']")).await.expect("proof link");
    let file = link.attr("download").await.expect("attr").expect("a download name");
    link.click().await.expect("download the proof");
    c.find(Locator::Css("section.proof a[href='/genesis.json']"))
        .await
        .expect("genesis link")
        .click()
        .await
        .expect("click");
    let proof = downloaded(&downloads, &file);
    let genesis = downloaded(&downloads, "genesis.json");
    let out = Command::new(BIN).arg("verify").arg(&proof).arg("--genesis").arg(&genesis).output().expect("verify");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified"));

    // A bad URL is a page that says why, with a 4xx (the title says so; the API says 400).
    c.goto(&format!("{node}/blocks/not-a-height")).await.expect("bad page");
    assert_eq!(text(&c, "h1").await, "Not understood");
    assert!(text(&c, "[role=alert]").await.contains("the height is a whole number"));
    shot(&c, &shots, "bad-input").await;

    // Alice's portal, on its own loopback port, with her key and the demo wallet.
    let port = free_port();
    let portal = format!("http://127.0.0.1:{port}");
    let _wallet = Proc(
        Command::new(BIN)
            .args(["wallet", "--key"])
            .arg(data.join("keys/alice.key"))
            .arg("--wallet")
            .arg(data.join("wallet"))
            .args(["--node", &node, "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start civitas wallet"),
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "the portal did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let housing = Did::from_initial_key(&key(&data, "housing").public_key()).to_string();
    c.goto(&format!("{portal}/credentials")).await.expect("portal");
    shot(&c, &shots, "portal-credentials").await;
    c.find(Locator::Css("a[href='/credentials/alice-property']"))
        .await
        .expect("the certificate")
        .click()
        .await
        .expect("open");
    c.find(Locator::Css("a[href='/consents?credential=alice-property']"))
        .await
        .expect("consent link")
        .click()
        .await
        .expect("open");
    // Two consents to housing: one to withdraw, one to use.
    for purpose in ["a mistake", "tenancy check"] {
        c.find(Locator::Id("verifier")).await.expect("verifier").send_keys(&housing).await.expect("type");
        c.find(Locator::Id("purpose")).await.expect("purpose").send_keys(purpose).await.expect("type");
        c.find(Locator::Css("#grant button[type=submit]")).await.expect("grant").click().await.expect("grant");
        let done =
            c.wait().at_most(Duration::from_secs(30)).for_element(Locator::Css("p.done")).await.expect("granted");
        assert!(done.text().await.expect("text").contains("Committed"));
        c.goto(&format!("{portal}/consents?credential=alice-property")).await.expect("again");
    }
    let row_of = |rows: &[String], purpose: &str| {
        rows.iter()
            .find(|r| r.contains(purpose))
            .cloned()
            .unwrap_or_else(|| panic!("no consent for {purpose}: {rows:?}"))
    };
    let rows = async |c: &Client| {
        let mut out = Vec::new();
        for r in c.find_all(Locator::Css("#consents tbody tr")).await.expect("rows") {
            out.push(r.text().await.expect("text"));
        }
        out
    };
    let mistake = row_of(&rows(&c).await, "a mistake");
    let mistake_id = mistake.split_whitespace().next().expect("an id").to_owned();
    c.find(Locator::XPath(&format!("//button[normalize-space()='Withdraw consent {mistake_id}']")))
        .await
        .expect("withdraw button")
        .click()
        .await
        .expect("withdraw");
    c.wait().at_most(Duration::from_secs(30)).for_element(Locator::Css("p.done")).await.expect("withdrawn");
    let withdrawn = row_of(&rows(&c).await, "a mistake");
    assert!(withdrawn.contains("withdrawn"), "{withdrawn}");
    let used = row_of(&rows(&c).await, "tenancy check");
    assert!(used.contains("in force"), "{used}");
    let consent = used.split_whitespace().next().expect("an id").to_owned();
    shot(&c, &shots, "portal-consents").await;

    // She presents two claims to housing for its nonce; housing verifies and records it.
    c.goto(&format!("{portal}/credentials/alice-property")).await.expect("credential");
    for claim in ["property_id", "address"] {
        c.find(Locator::Id(&format!("claim-{claim}"))).await.expect("checkbox").click().await.expect("check");
    }
    c.find(Locator::Id("aud")).await.expect("aud").send_keys(&housing).await.expect("type");
    c.find(Locator::Id("nonce")).await.expect("nonce").send_keys("portal-nonce-1").await.expect("type");
    c.find(Locator::Css("form button[type=submit]")).await.expect("present").click().await.expect("present");
    // The form posts and the page comes back with the presentation: wait for it, as for the
    // consent forms (an immediate look raced the page load once in CI).
    let presentation = c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id("presentation"))
        .await
        .expect("the presentation")
        .prop("value")
        .await
        .expect("value")
        .expect("a value");
    let file = tmp.path().join("presentation.txt");
    std::fs::write(&file, presentation).expect("write");
    let out = Command::new(BIN)
        .args(["credential", "verify", "--presentation"])
        .arg(&file)
        .args(["--aud", &housing, "--nonce", "portal-nonce-1", "--purpose", "tenancy check", "--consent", &consent])
        .arg("--record")
        .arg("--key")
        .arg(data.join("keys/housing.key"))
        .args(["--by", &housing, "--node", &node])
        .output()
        .expect("verify");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    c.goto(&format!("{portal}/access-log")).await.expect("access log");
    let log = text(&c, "#access-log").await;
    assert!(log.contains("tenancy check") && log.contains("address, property_id"), "{log}");
    shot(&c, &shots, "portal-access-log").await;

    c.close().await.expect("close the session");
    eprintln!("screenshots in {}", shots.display());
}
