//! AFL++ runner: `civitas-afl <target>` (or `CIVITAS_FUZZ_TARGET=<target> civitas-afl`) feeds
//! AFL's inputs to one of `civitas_fuzz::TARGETS`. Build and run it with `cargo afl` (see
//! `fuzz/README.md`).

use std::process::ExitCode;

/// Exit status for a missing or unknown target name.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let name = std::env::args().nth(1).or_else(|| std::env::var("CIVITAS_FUZZ_TARGET").ok());
    let Some(target) = name.as_deref().and_then(civitas_fuzz::target) else {
        let names: Vec<&str> = civitas_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
        if let Some(name) = &name {
            eprintln!("`{name}` is not a target");
        }
        eprintln!("usage: civitas-afl <target> (or CIVITAS_FUZZ_TARGET=<target>); targets: {}", names.join(", "));
        return ExitCode::from(EXIT_USAGE);
    };
    afl::fuzz!(|data: &[u8]| target(data));
    ExitCode::SUCCESS
}
