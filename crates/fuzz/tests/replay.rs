//! Replays every corpus input (`corpus/<target>/`) and every crash reproducer
//! (`crashes/<target>/`) through its target, as CI does on each `cargo test`: a panic fails
//! the test with the file's name. Also checks that every target has seeds and that every
//! folder names a target.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use civitas_fuzz::TARGETS;

/// The folder of this crate's inputs of `kind` (`corpus` or `crashes`).
fn root(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(kind)
}

/// The files of `dir`, sorted; none if it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<PathBuf> =
        entries.map(|e| e.expect("a readable folder entry").path()).filter(|p| p.is_file()).collect();
    out.sort();
    out
}

/// Runs every file of `dir` through `target`; returns a line per file that panicked.
fn replay(dir: &Path, target: fn(&[u8])) -> Vec<String> {
    let mut failures = Vec::new();
    for path in files(dir) {
        let data = std::fs::read(&path).expect("a readable corpus file");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target(&data))) {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{}: {why}", path.display()));
        }
    }
    failures
}

#[test]
fn every_corpus_and_crash_input_runs_without_panicking() {
    let mut failures = Vec::new();
    for (name, target) in TARGETS {
        failures.extend(replay(&root("corpus").join(name), *target));
        failures.extend(replay(&root("crashes").join(name), *target));
    }
    assert!(failures.is_empty(), "inputs that panicked:\n{}", failures.join("\n"));
}

#[test]
fn every_target_has_seeds() {
    let empty: Vec<&str> =
        TARGETS.iter().map(|(name, _)| *name).filter(|name| files(&root("corpus").join(name)).is_empty()).collect();
    assert!(empty.is_empty(), "targets without corpus files: {empty:?}");
}

#[test]
fn every_folder_names_a_target() {
    for kind in ["corpus", "crashes"] {
        let Ok(entries) = std::fs::read_dir(root(kind)) else { continue };
        for entry in entries {
            let name = entry.expect("a readable folder entry").file_name();
            let name = name.to_string_lossy();
            assert!(civitas_fuzz::target(&name).is_some(), "{kind}/{name} names no target");
        }
    }
}

#[test]
fn target_names_are_unique() {
    let mut names: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), TARGETS.len());
}
