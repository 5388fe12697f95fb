#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) under AFL++ for SECONDS each (default 60), one at
# a time, and records each run's executions and speed from AFL's fuzzer_stats in
# $OUT_DIR/summary.txt. Needs `cargo afl build --release` first (see fuzz/README.md).
#
#   fuzz/afl/smoke.sh [-s SECONDS] [TARGET...]
#
# Output: $OUT_DIR/<target>/ (AFL's output folder), default $HOME/.cache/civitas/fuzz; never
# the repository.
set -euo pipefail

seconds=60
if [[ "${1:-}" == "-s" ]]; then
  seconds=$2
  shift 2
fi
here=$(cd "$(dirname "$0")" && pwd)
corpus=$(cd "$here/../../crates/fuzz/corpus" && pwd)
target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/civitas/target-afl}
bin=$target_dir/release/civitas-afl
out_dir=${OUT_DIR:-$HOME/.cache/civitas/fuzz}
[[ -x "$bin" ]] || { echo "no $bin: run 'cargo afl build --release' in fuzz/afl first" >&2; exit 1; }

if [[ $# -eq 0 ]]; then
  # Every target: the runner lists them when given no name.
  targets=$({ "$bin" 2>&1 || true; } | sed -n 's/.*targets: //p' | tr -d ,)
else
  targets="$*"
fi

mkdir -p "$out_dir"
summary=$out_dir/summary.txt
printf '%-20s %12s %10s %8s %8s %8s\n' target execs_done execs/s corpus crashes hangs >"$summary"
for t in $targets; do
  rm -rf "${out_dir:?}/$t"
  AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 \
    cargo afl fuzz -V "$seconds" -i "$corpus/$t" -o "$out_dir/$t" -- "$bin" "$t" >"$out_dir/$t.log" 2>&1 || true
  stats=$out_dir/$t/default/fuzzer_stats
  field() { sed -n "s/^$1 *: *//p" "$stats"; }
  if [[ -f "$stats" ]]; then
    printf '%-20s %12s %10s %8s %8s %8s\n' "$t" "$(field execs_done)" "$(field execs_per_sec)" \
      "$(field corpus_count)" "$(field saved_crashes)" "$(field saved_hangs)" >>"$summary"
  else
    printf '%-20s did not start: see %s\n' "$t" "$out_dir/$t.log" >>"$summary"
  fi
done
cat "$summary"
