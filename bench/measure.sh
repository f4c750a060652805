# Shared by bench/run.sh and bench/pg.sh (sourced after `work` is set):
# run a command under GNU time and read back what it measured.

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
# GNU time puts "Command exited with non-zero status N" first when a command
# fails, so the figures are read from its last line.
secs() { tail -1 "$work/$1.time" | cut -d" " -f1; }
mb() { echo $(( $(tail -1 "$work/$1.time" | cut -d' ' -f2) / 1024 )); }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "n/a" }'; }
count_rows() { awk 'END { print NR - 1 }' "$@"; }
# num NAME KEY : a number from the JSON that run NAME printed (`kinship load`), 2 decimals.
num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$work/$1.out" | awk '{ printf "%.2f", $1 }'; }
# load_summary NAME : what `kinship load` (run as NAME) measured besides p99.
load_summary() {
  echo "p50 $(num "$1" p50_ms) ms, max $(num "$1" max_ms) ms, $(num "$1" throughput_per_s) commands/s served, failed $(num "$1" failed), dropped $(num "$1" dropped)"
}
