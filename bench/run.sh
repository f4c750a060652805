#!/usr/bin/env bash
# Kinship benchmarks: one command runs them all and prints a Markdown table
# (figures, peak RSS, machine, command, date) to paste into BENCHMARKS.md.
#
#   bench/run.sh            # full run: ~100k-row extract (30,000 families)
#   bench/run.sh --smoke    # tiny run, used by CI to keep the script working
#
# Needs GNU time at /usr/bin/time for peak RSS (Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."

families=30000
if [[ "${1:-}" == "--smoke" ]]; then families=200; fi

cargo build --release --locked -q
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/kinship"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

have_time=0; [[ -x /usr/bin/time ]] && have_time=1
# run NAME CMD... : runs CMD, records wall seconds and peak RSS (MB).
run() {
  local name=$1; shift
  if [[ $have_time == 1 ]]; then
    /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" > "$work/$name.out" 2> "$work/$name.err" || true
  else
    local s=$(date +%s.%N); "$@" > "$work/$name.out" 2> "$work/$name.err" || true
    echo "$(echo "$(date +%s.%N) - $s" | bc) 0" > "$work/$name.time"
  fi
}
secs() { cut -d' ' -f1 "$work/$1.time"; }
mb() { echo $(( $(cut -d' ' -f2 "$work/$1.time") / 1024 )); }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "n/a" }'; }

"$bin" --data "$work/unused" demo --families "$families" --write-extract "$work/extract.csv" 2> /dev/null
rows=$(( $(wc -l < "$work/extract.csv") - 1 ))

run import "$bin" --data "$work/data" import --json "$work/extract.csv"
grep -q '"rejected":0' "$work/import.out" || { echo "import failed:"; cat "$work/import.err" "$work/import.out" | head -20; exit 1; }
events=$("$bin" --data "$work/data" verify --json | sed -n 's/.*"events": \([0-9]*\).*/\1/p')
run verify "$bin" --data "$work/data" verify
run rebuild "$bin" --data "$work/data" rebuild
run reimport "$bin" --data "$work/data" import --json "$work/extract.csv"
run report "$bin" --data "$work/data" report separated-children --json

cat <<MD
Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB · $(uname -sr)
Command: \`bench/run.sh${1:+ $1}\` · Date: $(date -u +%Y-%m-%d) · Commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)
Input: $rows rows (demo generator, $families families) → $events events

| measure | figure | wall s | peak RSS MB | goal |
|---|---|---|---|---|
| import into SQLite (log + hashes + projections) | $(rate "$rows" "$(secs import)") rows/s | $(secs import) | $(mb import) | ≥ 50,000 rows/s |
| re-import of the same file (all unchanged) | $(rate "$rows" "$(secs reimport)") rows/s | $(secs reimport) | $(mb reimport) | – |
| verify (recompute the hash chain) | $(rate "$events" "$(secs verify)") events/s | $(secs verify) | $(mb verify) | ≥ 1,000,000 events/s |
| rebuild (all projections from the log) | $(rate "$events" "$(secs rebuild)") events/s | $(secs rebuild) | $(mb rebuild) | ≥ 200,000 events/s |
| report separated-children | – | $(secs report) | $(mb report) | ≤ 0.1 s (at 10.7 M encounters; issue 3) |
MD
