//! Fuzz targets: one function per decoder or parser that reads bytes from outside the node
//! (peers, clients, files), each feeding them to the code production runs.
//!
//! This crate is internal; nothing depends on it but its tests and the AFL++ runner in
//! `fuzz/afl` (see `fuzz/README.md`). Each target must return normally on every input: a panic
//! is what a fuzzer reports. Where a property is cheap to check (a value that decodes
//! re-encodes to the same bytes, a JSON form parses back to the same value), the target asserts
//! it, so that a broken property is a panic too; these assertions are the only panics here.
//!
//! Seed inputs live in `corpus/<target>/` (made by `cargo run -p civitas-fuzz --example
//! corpus`, plus what fuzzing found), reproducers of fixed crashes in `crashes/<target>/`;
//! `tests/replay.rs` runs them all through their targets on every `cargo test`.

mod codec;
mod credentials;
mod device;
pub mod fixtures;
mod json;

pub use codec::{block, p2p_relay, transaction, tx_batch};
pub use credentials::{jws, sd_jwt};
pub use device::device_certificate;
pub use json::{did_document, genesis, proof_document, request_json};

/// A fuzz target: takes any bytes, and panics only when it finds a bug.
pub type Target = fn(&[u8]);

/// Every target, by the name its corpus folder and the AFL++ runner use.
pub const TARGETS: &[(&str, Target)] = &[
    ("transaction", transaction),
    ("block", block),
    ("tx_batch", tx_batch),
    ("p2p_relay", p2p_relay),
    ("proof_document", proof_document),
    ("sd_jwt", sd_jwt),
    ("jws", jws),
    ("did_document", did_document),
    ("request_json", request_json),
    ("genesis", genesis),
    ("device_certificate", device_certificate),
];

/// The target named `name`, if there is one.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}
