#!/usr/bin/env bash
# A/B of two kinship binaries in the same minutes, alternating runs (this
# VM's speed varies by the hour, so a figure is only compared with one taken
# beside it). Each write waits for the kernel's dirty pages to drain first.
#
#   bench/ab.sh BASE_BINARY NEW_BINARY SCENARIO_DIR [LINK_DIR] [OUT_DIR]
#
# SCENARIO_DIR: `kinship sim --seed 1 --days 100 --per-day 1200 --error-rate
# time_without_offset=0 --out DIR`. LINK_DIR (optional): `kinship sim --seed 3
# --days 140 --per-day 12000 --out DIR` for `link families` (~3 GB of memory).
# Prints one line per run: measure, binary, GNU time's wall/user/sys/peak KB.
set -euo pipefail
base=$1; new=$2; scn=$3; link=${4:-}; out=${5:-$(mktemp -d)}
mkdir -p "$out"
T="/usr/bin/time -f %e_s_wall_%U_user_%S_sys_%M_KB"
settle() { sync; while (( $(awk '/^Dirty:/{print $2}' /proc/meminfo) > 20000 )); do sleep 1; done; }
report() { echo "$1 $2 $(cat "$out/$1-$2.time")"; }
echo "load before: $(cat /proc/loadavg)"
for r in 1 2; do for b in base new; do
  k=${!b}; rm -rf "$out/d-$b"; settle
  $T -o "$out/import$r-$b.time" "$k" --data "$out/d-$b" import --json "$scn/BP.csv" > "$out/import$r-$b.out"; report "import$r" $b
done; done
settle; "$new" --data "$out/d-new" --json sim --load-only --out "$scn" > /dev/null
for r in 1 2; do for b in base new; do
  settle; $T -o "$out/rebuild$r-$b.time" "${!b}" --data "$out/d-new" rebuild > /dev/null; report "rebuild$r" $b
done; done
for b in base new; do $T -o "$out/verify-$b.time" "${!b}" --data "$out/d-new" verify > /dev/null; report verify $b; done
for b in base new; do
  $T -o "$out/latency-$b.time" "${!b}" load --rate 500 --duration 30s > "$out/latency-$b.out" 2> /dev/null
  echo "latency $b $(grep -o '"p99_ms": [0-9.]*' "$out/latency-$b.out")"
done
if [[ -n $link ]]; then for b in new base; do
  settle; $T -o "$out/link-$b.time" "${!b}" link families "$link"/{BP,OFO,ICE,ORR}.csv > "$out/link-$b.jsonl" 2> "$out/link-$b.err"
  report link $b; grep 'wall time by stage' "$out/link-$b.err" || true
done; fi
echo "load after: $(cat /proc/loadavg)"
rm -rf "$out/d-base" "$out/d-new"
