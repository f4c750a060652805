#!/usr/bin/env bash
# Kinship on PostgreSQL: import, verify and rebuild figures against a private
# PostgreSQL 15 cluster started for the run (bench/pg-cluster.sh: default
# durability, loopback TCP), on the same generated Border Patrol extract as
# bench/run.sh, which is also imported into SQLite in the same run for
# comparison. Prints a Markdown table to paste into BENCHMARKS.md.
#
#   bench/pg.sh            # full run: 100 days × 1,200 encounters/day
#   bench/pg.sh --smoke    # tiny run, to keep the script working
#
# Needs PostgreSQL 15 (apt-get install postgresql-15; or KINSHIP_PG_BIN) and
# GNU time at /usr/bin/time for the client's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/pg-cluster.sh

days=100; per_day=1200; load_rate=500; load_secs=30
smoke=0; [[ "${1:-}" == "--smoke" ]] && smoke=1
if [[ $smoke == 1 ]]; then days=3; per_day=200; load_rate=50; load_secs=2; fi
pg_cluster_available || { echo "PostgreSQL 15 not found in $pg_bin (apt-get install postgresql-15)"; exit 1; }

# A smoke run only checks that the script works: it uses the debug build that
# `cargo test` has already made, so CI does not compile the workspace a third time.
profile=release; [[ $smoke == 1 ]] && profile=debug
if [[ $profile == release ]]; then cargo build --release --locked -q -p kinship; else cargo build --locked -q -p kinship; fi
bin="${CARGO_TARGET_DIR:-$PWD/target}/$profile/kinship"
work=$(mktemp -d)
trap 'pg_cluster_stop; rm -rf "$work"' EXIT
pg_cluster_start

source bench/measure.sh

"$bin" sim --seed 1 --days $days --per-day $per_day --error-rate time_without_offset=0 --out "$work/scn" > /dev/null
extract="$work/scn/BP.csv"
rows=$(awk 'END { print NR - 1 }' "$extract")
pg=("$bin" --data "$work/unused" --database "$pg_url")

run import "${pg[@]}" import --json "$extract"
grep -q '"rejected":0' "$work/import.out" || { echo "import failed:"; cat "$work/import.err" "$work/import.out" | head -20; exit 1; }
events=$("${pg[@]}" verify --json | sed -n 's/^  "events": \([0-9]*\).*/\1/p')
run verify "${pg[@]}" verify
grep -q intact "$work/verify.out" || { echo "verify failed:"; cat "$work/verify.out" "$work/verify.err"; exit 1; }
run rebuild "${pg[@]}" rebuild
run reimport "${pg[@]}" import --json "$extract"
run report "${pg[@]}" report separated-children --json
run sqlite "$bin" --data "$work/sqlite" import --json "$extract"
# Command latency: a private server on this PostgreSQL database, RecordPerson
# commands offered at a fixed rate over loopback HTTP (as bench/run.sh does on SQLite).
run load "${pg[@]}" load --rate "$load_rate" --duration "${load_secs}s"
grep -q '"p99_ms"' "$work/load.out" || { echo "load failed:"; cat "$work/load.err" "$work/load.out" | head -20; exit 1; }

cat <<MD
Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB · $(uname -sr) · PostgreSQL $(pg_version) on loopback
Command: \`bench/pg.sh${1:+ $1}\` · Date: $(date -u +%Y-%m-%d) · Build: $profile · Commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)
Input: \`kinship sim --seed 1 --days $days --per-day $per_day\`: BP extract $rows rows → $events events

| measure | figure | wall s | client peak RSS MB |
|---|---|---|---|
| import BP extract into PostgreSQL (log + hashes + projections) | $(rate "$rows" "$(secs import)") rows/s | $(secs import) | $(mb import) |
| re-import of the same file (all unchanged) | $(rate "$rows" "$(secs reimport)") rows/s | $(secs reimport) | $(mb reimport) |
| verify (recompute the hash chain) | $(rate "$events" "$(secs verify)") events/s | $(secs verify) | $(mb verify) |
| rebuild (all projections from the log) | $(rate "$events" "$(secs rebuild)") events/s | $(secs rebuild) | $(mb rebuild) |
| report separated-children | – | $(secs report) | $(mb report) |
| import into SQLite, same file, same run | $(rate "$rows" "$(secs sqlite)") rows/s | $(secs sqlite) | $(mb sqlite) |
| command latency at $load_rate commands/s offered, PostgreSQL, loopback HTTP ($(load_summary load)) | p99 $(num load p99_ms) ms | $(secs load) | $(mb load) |
MD
