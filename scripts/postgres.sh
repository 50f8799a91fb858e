#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests (act-server's server/tests/postgres_*.rs call it).
#
#   scripts/postgres.sh ensure       installs the Debian package `postgresql` if initdb is missing;
#                                    prints the folder of its binaries
#   scripts/postgres.sh start DIR    initdb in DIR/data, starts postgres on a free 127.0.0.1 port
#                                    (socket and log in DIR), prints postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/postgres.sh stop DIR     stops it by the pid in DIR/data/postmaster.pid and waits for it to end
#
# PostgreSQL refuses to run as root: as root, initdb and postgres run as the `postgres` user the
# package creates (DIR is handed to it). Trust authentication on loopback only; fsync off, since
# the data is thrown away.
set -euo pipefail

bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then
      echo "$d"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

ensure() {
  if bindir >/dev/null; then
    bindir
    return 0
  fi
  local sudo_=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo_="sudo"
  fi
  # Tests start servers in parallel: one install at a time (apt holds the dpkg lock anyway).
  exec 9>"${TMPDIR:-/tmp}/act-postgres-install.lock"
  flock 9
  if bindir >/dev/null; then
    bindir
    return 0
  fi
  echo "postgres.sh: installing the Debian package postgresql" >&2
  $sudo_ apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq postgresql >/dev/null
  bindir || { echo "postgres.sh: initdb not found after installing postgresql" >&2; exit 1; }
}

# Runs a PostgreSQL binary as the postgres user when we are root, as ourselves otherwise.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  local dir=$1 bin port tries
  bin=$(ensure)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
  fi
  as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  for tries in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    port_free "$port" || continue
    if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 start \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200" \
      >/dev/null 2>&1; then
      echo "postgres://postgres@127.0.0.1:$port/postgres"
      return 0
    fi
  done
  echo "postgres.sh: postgres did not start (after $tries tries); its log:" >&2
  cat "$dir/postgres.log" >&2 || true
  exit 1
}

stop() {
  local dir=$1 pid
  [ -f "$dir/data/postmaster.pid" ] || return 0
  pid=$(head -n1 "$dir/data/postmaster.pid")
  # SIGINT: fast shutdown (clients are disconnected, no waiting for them).
  kill -INT "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -QUIT "$pid" 2>/dev/null || true
}

case "${1:-}" in
  ensure) ensure ;;
  start) [ $# -eq 2 ] || { echo "usage: $0 start DIR" >&2; exit 2; }; start "$2" ;;
  stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" ;;
  *) echo "usage: $0 ensure | start DIR | stop DIR" >&2; exit 2 ;;
esac
