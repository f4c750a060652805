#!/usr/bin/env bash
# Trains a zstd dictionary for the event log's format-4 bodies (see
# crates/store-sqlite/src/codec.rs). A dictionary in use is fixed forever:
# run this only to make a NEW one, under a new encoding byte.
# Dictionary 1 (crates/store-sqlite/src/event-dict-1.zdict) was made with
#   bench/train-event-dictionary.sh KINSHIP_FORMAT_3_BIN /tmp/dict-work
# using a format-3 `kinship` (its rows are plain JSON) and zstd 1.5, on
# seed 7 (the benchmarks measure seed 1 and seeds 1000+).
#
#   bench/train-event-dictionary.sh KINSHIP_BIN WORK_DIR
set -euo pipefail
bin=$1 work=$2
rm -rf "$work"; mkdir -p "$work/samples"
"$bin" sim --seed 7 --days 10 --per-day 1200 --error-rate time_without_offset=0 --out "$work/scn" > /dev/null
"$bin" --data "$work/data" import --json "$work/scn/BP.csv" > /dev/null
"$bin" --data "$work/data" --json sim --load-only --out "$work/scn" > /dev/null
# Every tenth event, as format 4 encodes it: the JSON without its "type"
# member, a newline, the metadata.
(cd "$work/samples" && sqlite3 "$work/data/kinship.db" "SELECT writefile(position,
   '{' || substr(payload, length('{\"type\":\"' || type || '\",') + 1) || char(10) || meta)
   FROM events WHERE position % 10 = 0" > /dev/null)
zstd -q --train "$work"/samples/* --maxdict=65536 -o "$work/event-dict.zdict"
echo "$work/event-dict.zdict"
