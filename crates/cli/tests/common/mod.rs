//! What the process-level tests share.

use std::process::Child;

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
