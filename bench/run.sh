#!/usr/bin/env bash
# Kinship benchmarks: one command runs them all and prints a Markdown table
# (figures, peak RSS, machine, command, date) to paste into BENCHMARKS.md.
#
#   bench/run.sh            # full run
#   bench/run.sh --smoke    # tiny run, used by CI to keep the script working
#
# Full run:
# 1. `kinship sim` generates 100 days at 1,200 encounters/day; its Border
#    Patrol extract (>= 100,000 rows, one file) is imported into a new store
#    (import rows/s). The story after the encounters is replayed as commands
#    (steps/s) and the OFO, ICE and ORR extracts are imported; then verify and
#    rebuild run over the whole log (events/s).
# 2. `report separated-children` is timed (median of 5 runs) on a store of
#    10.7 million encounters (bench/big-store.sh), built once through the real
#    append path and cached in $BENCH_CACHE between runs. BIG_ENCOUNTERS sets
#    the size; BIG_BUDGET_MIN (minutes) bounds how long one run spends growing
#    it: the figure is then measured, and labelled, at the size reached.
#
# Needs GNU time at /usr/bin/time for peak RSS (Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0; [[ "${1:-}" == "--smoke" ]] && smoke=1
days=100; per_day=1200
big=${BIG_ENCOUNTERS:-10700000}; budget=${BIG_BUDGET_MIN:--1}
cache=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kinship-bench}
if [[ $smoke == 1 ]]; then days=3; per_day=200; big=0; fi

# A smoke run only checks that the script works: it uses the debug build that
# `cargo test` has already made, so CI does not compile the workspace a third time.
profile=release; [[ $smoke == 1 ]] && profile=debug
if [[ $profile == release ]]; then cargo build --release --locked -q -p kinship; else cargo build --locked -q -p kinship; fi
bin="${CARGO_TARGET_DIR:-$PWD/target}/$profile/kinship"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

source bench/measure.sh

# -- 1. import, story, verify, rebuild on a generated scenario ---------------
run generate "$bin" sim --seed 1 --days $days --per-day $per_day --error-rate time_without_offset=0 --out "$work/scn"
rows=$(count_rows "$work/scn/BP.csv")
other_rows=$(( $(count_rows "$work/scn/OFO.csv") + $(count_rows "$work/scn/ICE.csv") + $(count_rows "$work/scn/ORR.csv") ))
steps=$(count_rows "$work/scn/story/lifecycle.jsonl"); steps=$(( steps + 1 ))

run import "$bin" --data "$work/data" import --json "$work/scn/BP.csv"
grep -q '"rejected":0' "$work/import.out" || { echo "import failed:"; cat "$work/import.err" "$work/import.out" | head -20; exit 1; }
run reimport "$bin" --data "$work/data" import --json "$work/scn/BP.csv"
# Then the rest of the scenario through `kinship sim --load-only`: OFO, the
# story replayed as commands (timed inside, reported as seconds.story), ICE and ORR.
run load "$bin" --data "$work/data" --json sim --load-only --out "$work/scn"
story_s=$(sed -n 's/.*"story":\([0-9][0-9.]*\).*/\1/p' "$work/load.out" | awk '{ printf "%.2f", $1 }')
refused=$(sed -n 's/.*"refused":{\([^}]*\)}.*/\1/p' "$work/load.out")
# The event log's count is the top-level "events" (the audit log's is nested, indented deeper).
events=$("$bin" --data "$work/data" verify --json | sed -n 's/^  "events": \([0-9]*\).*/\1/p')
run verify "$bin" --data "$work/data" verify
run rebuild "$bin" --data "$work/data" rebuild
run report_small "$bin" --data "$work/data" report separated-children --json

# -- 2. separated-children on the large store ---------------------------------
big_line="| report separated-children (10.7 M encounters) | skipped (--smoke or BIG_ENCOUNTERS=0) | – | – | ≤ 0.1 s |"
if (( big > 0 )); then
  held=$(bench/big-store.sh "$bin" "$cache" "$big" "$budget")
  for i in 1 2 3 4 5; do run "big$i" "$bin" --data "$cache/data" report separated-children --json; done
  med=$(for i in 1 2 3 4 5; do secs "big$i"; done | sort -n | sed -n 3p)
  peak=$(for i in 1 2 3 4 5; do mb "big$i"; done | sort -n | tail -1)
  kids=$(grep -o '"child"' "$work/big1.out" | wc -l)
  size=$(du -sm "$cache/data" | cut -f1)
  big_line="| report separated-children ($held encounters, $kids children listed, store $size MB) | median of 5 | $med | $peak | ≤ 0.1 s at 10.7 M |"
fi

# -- 3. PostgreSQL import of the same BP extract (private cluster: bench/pg-cluster.sh; more in bench/pg.sh) --
pg_line="| import BP extract into PostgreSQL | skipped (PostgreSQL 15 not installed) | – | – | – |"
source bench/pg-cluster.sh
if pg_cluster_available; then
  trap 'pg_cluster_stop; rm -rf "$work"' EXIT
  pg_cluster_start
  run pgimport "$bin" --data "$work/pg-unused" --database "$pg_url" import --json "$work/scn/BP.csv"
  grep -q '"rejected":0' "$work/pgimport.out" || { echo "PostgreSQL import failed:"; cat "$work/pgimport.err" "$work/pgimport.out" | head -20; exit 1; }
  # Command latency with the private server on this PostgreSQL database (section 4 does SQLite).
  pg_load_rate=500; pg_load_secs=30
  if [[ $smoke == 1 ]]; then pg_load_rate=50; pg_load_secs=2; fi
  run pgload "$bin" --data "$work/pg-unused" --database "$pg_url" load --rate "$pg_load_rate" --duration "${pg_load_secs}s"
  pg_cluster_stop
  pg_line="| import BP extract into PostgreSQL $(pg_version), loopback (log + hashes + projections) | $(rate "$rows" "$(secs pgimport)") rows/s | $(secs pgimport) | $(mb pgimport) (client) | – |"
  pg_line="$pg_line
| command latency at $pg_load_rate commands/s offered, PostgreSQL $(pg_version), loopback HTTP ($(load_summary pgload)) | p99 $(num pgload p99_ms) ms | $(secs pgload) | $(mb pgload) | – |"
fi
# -- 4. command latency at fixed offered rates (the server helper adds it here) --
# `kinship load` starts a private server on a temporary SQLite store and offers
# RecordPerson commands (3 events + audit record each) over loopback HTTP at
# a fixed rate; latency counts from when each request was due.
load_rate=500; load_secs=30
if [[ "${1:-}" == "--smoke" ]]; then load_rate=50; load_secs=2; fi
run server_load "$bin" load --rate "$load_rate" --duration "${load_secs}s"
server_line="| command latency at $load_rate commands/s offered, SQLite, loopback HTTP ($(load_summary server_load)) | p99 $(num server_load p99_ms) ms | $(secs server_load) | $(mb server_load) | ≤ 10 ms p99 at 500/s |"

cat <<MD
Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB · $(uname -sr)
Command: \`bench/run.sh${1:+ $1}\` · Date: $(date -u +%Y-%m-%d) · Build: $profile · Commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)
Input: \`kinship sim --seed 1 --days $days --per-day $per_day\`: BP extract $rows rows; OFO+ICE+ORR $other_rows rows; story $steps steps → $events events

| measure | figure | wall s | peak RSS MB | goal |
|---|---|---|---|---|
| generate the scenario (kinship sim) | $(rate "$(( rows + other_rows ))" "$(secs generate)") rows/s | $(secs generate) | $(mb generate) | – |
| import BP extract into SQLite (log + hashes + projections) | $(rate "$rows" "$(secs import)") rows/s | $(secs import) | $(mb import) | ≥ 50,000 rows/s |
| re-import of the same file (all unchanged) | $(rate "$rows" "$(secs reimport)") rows/s | $(secs reimport) | $(mb reimport) | – |
| story replayed as commands (separations, reviews, transfers, releases…; refused: {${refused}}) | $(rate "$steps" "$story_s") steps/s | $story_s | $(mb load) (whole load) | – |
| verify (recompute the hash chain) | $(rate "$events" "$(secs verify)") events/s | $(secs verify) | $(mb verify) | ≥ 1,000,000 events/s |
| rebuild (all projections from the log) | $(rate "$events" "$(secs rebuild)") events/s | $(secs rebuild) | $(mb rebuild) | ≥ 200,000 events/s |
| report separated-children (this store) | – | $(secs report_small) | $(mb report_small) | – |
$big_line
$pg_line
$server_line
MD
