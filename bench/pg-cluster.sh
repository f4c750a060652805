# Sourced by bench scripts: a private PostgreSQL 15 cluster for one run.
#
#   source bench/pg-cluster.sh
#   pg_cluster_start         # initdb + start in a new temp dir; sets $pg_url (database "kinship")
#   pg_cluster_stop          # fast shutdown, removes the dir (call it from the EXIT trap too)
#
# Default durability settings (fsync and synchronous commit on), loopback TCP
# on a free port, trust authentication, no Unix socket. PostgreSQL refuses to
# run as root, so under root the cluster runs as the postgres user.
pg_bin=${KINSHIP_PG_BIN:-/usr/lib/postgresql/15/bin}
pg_dir=
pg_as=()

pg_cluster_available() { [[ -x "$pg_bin/initdb" ]]; }

pg_cluster_start() {
  # Its own directory: the postgres user must be able to reach it.
  pg_dir=$(mktemp -d -t kinship-pg-XXXXXX)
  if [[ $(id -u) == 0 ]]; then chown postgres: "$pg_dir"; pg_as=(runuser -u postgres --); fi
  local port= p
  for p in $(shuf -i 20000-60000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
  done
  "${pg_as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U kinship -A trust -E UTF8 --locale=C > /dev/null
  "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
    -o "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c shared_buffers=512MB" start > /dev/null
  "${pg_as[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U kinship kinship
  pg_url="postgres://kinship@127.0.0.1:$port/kinship"
}

pg_cluster_stop() {
  [[ -n "$pg_dir" && -d "$pg_dir/data" ]] || return 0
  "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop > /dev/null 2>&1 || true
  rm -rf "$pg_dir"
  pg_dir=
}

pg_version() { "$pg_bin/postgres" --version | awk '{print $3}'; }
