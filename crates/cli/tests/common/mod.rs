//! What the process-level tests share. Each test file uses part of it, so what one leaves
//! unused is not dead code.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The civitas binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_civitas");

/// A child process that is killed (SIGKILL) when dropped, so a failing test leaves nothing behind.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port no one listens on now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Starts `civitas dev` with its data in `data`, on a free port, and waits for its API; the
/// process and the API's URL.
pub(crate) fn start_dev(data: &Path) -> (Proc, String) {
    let port = free_port();
    let child = Command::new(BIN)
        .args(["dev", "--data-dir"])
        .arg(data)
        .args(["--http", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start civitas dev");
    let proc = Proc(child);
    let node = format!("http://127.0.0.1:{port}");
    let client = civitas_client::Client::new(&node);
    let start = Instant::now();
    while client.status().is_err() {
        assert!(start.elapsed() < Duration::from_secs(180), "civitas dev did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    (proc, node)
}

/// A base port whose next `n` ports are free now (loopback only), below the kernel's
/// ephemeral range: ports in that range can be taken at any moment as the source port of an
/// outgoing connection, and a testnet's nodes bind theirs seconds or minutes after this runs.
pub(crate) fn free_port_block(n: u16) -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let top = low.saturating_sub(n).max(10_000 + n);
    let span = top - 10_000;
    // Tests of one file run as threads of one process: each call starts past the blocks that
    // earlier calls handed out, or two tests would be handed the same ports.
    static HANDED_OUT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let taken = HANDED_OUT.fetch_add(u32::from(n), std::sync::atomic::Ordering::Relaxed);
    let start = u16::try_from((std::process::id() + taken) % u32::from(span)).expect("below span");
    for step in 0..span / n {
        let base = 10_000 + (start + step * n) % span;
        if (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no block of free ports");
}

/// Starts the node `name` of a testnet made by `civitas testnet init --dir dir`, its log in
/// `dir/name/test.log`.
pub(crate) fn start_node(dir: &Path, name: &str) -> Proc {
    let log = std::fs::File::create(dir.join(format!("{name}/test.log"))).expect("log");
    let child = Command::new(BIN)
        .args(["node", "--config"])
        .arg(dir.join(format!("{name}/config.toml")))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start civitas node");
    Proc(child)
}

/// Waits until `ok`, checking every 200 ms; fails the test after `limit`.
pub(crate) fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A virtual environment `name` in the tests' temp folder with `requirements` (a file beside
/// the tests) installed from PyPI, made once and reused; its `bin/` folder. `ready` says
/// whether a venv's `bin/` already has what is needed.
pub(crate) fn python_venv(name: &str, requirements: &str, ready: impl Fn(&Path) -> bool) -> std::path::PathBuf {
    let venv = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let bin = venv.join("bin");
    if !ready(&bin) {
        let made = Command::new("python3").args(["-m", "venv"]).arg(&venv).status();
        assert!(made.is_ok_and(|s| s.success()), "python3 -m venv failed: this test needs Python 3 with venv");
        let installed = Command::new(bin.join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(format!("{}/tests/{requirements}", env!("CARGO_MANIFEST_DIR")))
            .status();
        assert!(installed.is_ok_and(|s| s.success()), "installing {requirements} from PyPI failed");
        assert!(ready(&bin), "{requirements} is installed but does not run");
    }
    bin
}
