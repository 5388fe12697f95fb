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

/// A loopback port no one listens on now, below the kernel's ephemeral range
/// ([`free_port_block`]): one from that range can be taken as the source port of any test's
/// outgoing connection before the process it is meant for binds it.
pub(crate) fn free_port() -> u16 {
    free_port_block(1)
}

/// Starts `civitas dev` with its data in `data`, on a free port, and waits for its API; the
/// node's address.
pub(crate) fn start_dev(data: &Path) -> (Proc, String) {
    let port = free_port();
    let (proc, _) = start_dev_at(data, port);
    (proc, format!("http://127.0.0.1:{port}"))
}

/// Starts `civitas dev` with its data in `data` and its API on `port`, and waits for the API.
/// Should the process stop first, the test fails at once with what it wrote.
pub(crate) fn start_dev_at(data: &Path, port: u16) -> (Proc, civitas_client::Client) {
    let log_path = data.with_extension(format!("{port}.log"));
    let log = std::fs::File::create(&log_path).expect("the dev log");
    let child = Command::new(BIN)
        .args(["dev", "--data-dir"])
        .arg(data)
        .args(["--http", &format!("127.0.0.1:{port}")])
        .stdout(log.try_clone().expect("the dev log"))
        .stderr(log)
        .spawn()
        .expect("start civitas dev");
    let mut proc = Proc(child);
    let client = civitas_client::Client::new(&format!("http://127.0.0.1:{port}"));
    let start = Instant::now();
    while client.status().is_err() {
        if let Some(status) = proc.0.try_wait().expect("the dev process") {
            let said = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("civitas dev stopped ({status}) before its API came up:\n{said}");
        }
        assert!(start.elapsed() < Duration::from_secs(180), "civitas dev did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    (proc, client)
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
