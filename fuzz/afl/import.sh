#!/usr/bin/env bash
# Minimises what AFL++ found for TARGET together with its corpus (`cargo afl cmin`) and copies
# the new inputs of at most MAX_BYTES (default 4096), at most MAX_FILES (default 30) of them, into
# crates/fuzz/corpus/TARGET/ as afl-<sha256 prefix>, spread over the sizes. Inputs already in the
# corpus are skipped.
#
#   fuzz/afl/import.sh TARGET
set -euo pipefail

t=${1:?usage: import.sh TARGET}
here=$(cd "$(dirname "$0")" && pwd)
corpus=$(cd "$here/../../crates/fuzz/corpus/$t" && pwd)
target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/civitas/target-afl}
bin=$target_dir/release/civitas-afl
out_dir=${OUT_DIR:-$HOME/.cache/civitas/fuzz}
max_bytes=${MAX_BYTES:-4096}
max_files=${MAX_FILES:-30}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/all"
cp "$out_dir/$t"/default/queue/id:* "$work/all/" 2>/dev/null || true
cp "$corpus"/* "$work/all/"
AFL_SKIP_CPUFREQ=1 cargo afl cmin -i "$work/all" -o "$work/min" -- "$bin" "$t" >"$work/cmin.log" 2>&1 \
  || { cat "$work/cmin.log" >&2; exit 1; }

known=$(sha256sum "$corpus"/* | cut -d' ' -f1)
# The new inputs small enough to keep, smallest first.
fresh=()
for name in $(ls -Sr "$work/min"); do
  f=$work/min/$name
  [[ $(stat -c %s "$f") -le $max_bytes ]] || continue
  grep -q "$(sha256sum "$f" | cut -d' ' -f1)" <<<"$known" && continue
  fresh+=("$f")
done
# At most max_files of them, spread evenly over the sizes: short inputs pin the parsers' early
# exits, long ones the paths deep inside.
n=${#fresh[@]}
added=0
for ((i = 0; i < n && i < max_files; i++)); do
  if ((n <= max_files)); then j=$i; else j=$((i * (n - 1) / (max_files - 1))); fi
  f=${fresh[$j]}
  sum=$(sha256sum "$f" | cut -d' ' -f1)
  cp "$f" "$corpus/afl-${sum:0:16}"
  added=$((added + 1))
done
echo "$t: $(ls "$work/min" | wc -l) inputs after cmin, $added added to $corpus"
