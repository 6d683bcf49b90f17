#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster:
#
#   scripts/pg.sh go test ./syncserver/pgstore/...
#
# Installs PostgreSQL from Debian's packages when it is missing, creates a
# cluster in a temporary directory (trust authentication, loopback only, its
# own port and socket directory), runs the command with COURIER_PG_URL set to
# it, then stops the cluster and removes it. Without a command it prints the
# URL and serves until interrupted. The command's exit status is the script's.
#
# COURIER_PG_FSYNC=off trades durability for speed (tests only).
# COURIER_PG_OPTS adds server settings, as postgres options, for example
# COURIER_PG_OPTS='-c shared_preload_libraries=pg_stat_statements' to
# profile statements (CREATE EXTENSION pg_stat_statements, then read the
# pg_stat_statements view).
set -euo pipefail

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

bindir=$(pg_bindir || true)
if [ -z "$bindir" ]; then
  echo "pg.sh: installing PostgreSQL (apt-get install postgresql)" >&2
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 ||
    { sudo_if_needed apt-get update -q >&2 && sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; }
  bindir=$(pg_bindir) || { echo "pg.sh: no initdb after installing postgresql" >&2; exit 1; }
fi

# initdb and postgres refuse to run as root: run them as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/courier-pg.XXXXXX")
chmod 755 "$tmp"
mkdir -p "$tmp/data" "$tmp/sock"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$tmp"

cleanup() {
  [ -z "${sleeper:-}" ] || kill "$sleeper" 2>/dev/null || true
  as_pg "$bindir/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_pg "$bindir/initdb" -D "$tmp/data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$tmp/initdb.log" 2>&1 ||
  { cat "$tmp/initdb.log" >&2; exit 1; }

fsync=${COURIER_PG_FSYNC:-on}
started=
for _ in $(seq 1 20); do
  port=$((20000 + RANDOM % 40000))
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi # taken
  if as_pg "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp/sock -c max_connections=300 -c fsync=$fsync ${COURIER_PG_OPTS:-}" start >/dev/null; then
    started=1
    break
  fi
done
[ -n "$started" ] || { echo "pg.sh: the cluster did not start:" >&2; cat "$tmp/server.log" >&2; exit 1; }

export COURIER_PG_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
export COURIER_PG_DATA="$tmp/data"
if [ $# -eq 0 ]; then
  echo "export COURIER_PG_URL='$COURIER_PG_URL'"
  echo "pg.sh: serving until interrupted (Ctrl-C)" >&2
  while :; do # wait, unlike sleep, lets a signal in at once
    sleep 3600 &
    sleeper=$!
    wait $sleeper || true
  done
fi
set +e
"$@"
status=$?
set -e
exit $status
