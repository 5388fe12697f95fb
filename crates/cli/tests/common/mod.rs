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
        assert!(start.elapsed() < Duration::from_secs(60), "civitas dev did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    (proc, node)
}
