//! The explorer in a real browser: Debian's headless Chromium, driven through chromedriver
//! (W3C WebDriver), against a real `civitas dev`. A reader opens the dashboard, searches for a
//! block, follows it to a transaction and to the signer's account, downloads the account's
//! proof and the genesis from the page and checks the proof offline with `civitas verify`;
//! a bad URL is a page with the reason. Screenshots of the main pages are saved under the
//! test's target folder (`CARGO_TARGET_TMPDIR/screenshots`) for review.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs). In CI (`CI` set) their absence fails the test;
//! elsewhere it is skipped with a message saying what to install.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// chromedriver on a free loopback port, and its URL once it answers.
fn start_chromedriver(log: &Path) -> (Proc, String) {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg(format!("--log-path={}", log.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "chromedriver did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Proc(child), url)
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

    // Search for the demo's first block with transactions and follow it to a transaction.
    let api = civitas_client::Client::new(&node);
    let first = (1..=height)
        .find(|h| api.block(*h, 0, 1).ok().flatten().is_some_and(|b| b.tx_count > 0))
        .expect("a block with transactions");
    let q = c.find(Locator::Id("q")).await.expect("search box");
    q.send_keys(&first.to_string()).await.expect("type");
    c.find(Locator::Css("form.search button")).await.expect("button").click().await.expect("search");
    assert!(c.current_url().await.expect("url").path().ends_with(&format!("/blocks/{first}")));
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

    c.close().await.expect("close the session");
    eprintln!("screenshots in {}", shots.display());
}
