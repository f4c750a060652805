#!/usr/bin/env bash
# Kinship on PostgreSQL: import, verify and rebuild figures against a private
# PostgreSQL 15 cluster started for the run (default settings: fsync and
# synchronous commit on), with the same input as bench/run.sh. Prints a
# Markdown table to paste into BENCHMARKS.md.
#
#   bench/pg.sh            # full run: ~100k-row extract (30,000 families)
#   bench/pg.sh --smoke    # tiny run, to keep the script working
#
# Needs PostgreSQL 15 (apt-get install postgresql-15; or KINSHIP_PG_BIN) and
# GNU time at /usr/bin/time for the client's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."

families=30000
if [[ "${1:-}" == "--smoke" ]]; then families=200; fi
pgbin=${KINSHIP_PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x "$pgbin/initdb" ]] || { echo "PostgreSQL 15 not found in $pgbin (apt-get install postgresql-15)"; exit 1; }

cargo build --release --locked -q
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/kinship"
work=$(mktemp -d)

# PostgreSQL refuses to run as root: run the cluster as the postgres user.
as_pg=()
if [[ $(id -u) == 0 ]]; then chown postgres: "$work"; as_pg=(runuser -u postgres --); fi
port=
for p in $(shuf -i 20000-60000 -n 50); do
  if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then port=$p; break; fi
done
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg" -U kinship -A trust -E UTF8 --locale=C > /dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
  -o "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c shared_buffers=512MB" start > /dev/null
trap '"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" -m fast stop > /dev/null 2>&1 || true; rm -rf "$work"' EXIT
"${as_pg[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U kinship kinship
url="postgres://kinship@127.0.0.1:$port/kinship"

have_time=0; [[ -x /usr/bin/time ]] && have_time=1
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
pg=("$bin" --data "$work/unused" --database "$url")

run import "${pg[@]}" import --json "$work/extract.csv"
grep -q '"rejected":0' "$work/import.out" || { echo "import failed:"; cat "$work/import.err" "$work/import.out" | head -20; exit 1; }
events=$("${pg[@]}" verify --json | sed -n 's/.*"events": \([0-9]*\).*/\1/p')
run verify "${pg[@]}" verify
grep -q intact "$work/verify.out" || { echo "verify failed:"; cat "$work/verify.out" "$work/verify.err"; exit 1; }
run rebuild "${pg[@]}" rebuild
run reimport "${pg[@]}" import --json "$work/extract.csv"
run report "${pg[@]}" report separated-children --json
# The embedded store on the same input in the same run, for comparison under the same load.
run sqlite "$bin" --data "$work/sqlite" import --json "$work/extract.csv"

cat <<MD
Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB · $(uname -sr) · PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on loopback
Command: \`bench/pg.sh${1:+ $1}\` · Date: $(date -u +%Y-%m-%d) · Commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)
Input: $rows rows (demo generator, $families families) → $events events

| measure | figure | wall s | client peak RSS MB |
|---|---|---|---|
| import into PostgreSQL (log + hashes + projections) | $(rate "$rows" "$(secs import)") rows/s | $(secs import) | $(mb import) |
| re-import of the same file (all unchanged) | $(rate "$rows" "$(secs reimport)") rows/s | $(secs reimport) | $(mb reimport) |
| verify (recompute the hash chain) | $(rate "$events" "$(secs verify)") events/s | $(secs verify) | $(mb verify) |
| rebuild (all projections from the log) | $(rate "$events" "$(secs rebuild)") events/s | $(secs rebuild) | $(mb rebuild) |
| report separated-children | – | $(secs report) | $(mb report) |
| import into SQLite, same file, same run | $(rate "$rows" "$(secs sqlite)") rows/s | $(secs sqlite) | $(mb sqlite) |
MD
