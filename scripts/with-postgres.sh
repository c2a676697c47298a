#!/bin/bash
# Runs CMD… with DATABASE_URL pointing at a throwaway PostgreSQL on 127.0.0.1, then removes it.
#   scripts/with-postgres.sh swift test --filter Store
# When DATABASE_URL is already set, CMD runs against that server instead.
# Needs the Debian packages postgresql (server binaries under /usr/lib/postgresql/N/bin) and
# postgresql-client; as root the server runs as the postgres user (initdb refuses root).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 CMD [ARGS…]" >&2; exit 2; }
if [ -n "${DATABASE_URL:-}" ]; then exec "$@"; fi

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || { echo "with-postgres: PostgreSQL server not installed (apt-get install -y postgresql)" >&2; exit 1; }

# A free port (several test runs may share the machine).
if [ -z "${PGPORT:-}" ]; then
  for PGPORT in $(seq 55432 55532); do
    (echo >"/dev/tcp/127.0.0.1/$PGPORT") 2>/dev/null || break
  done
fi

PGTMP=$(mktemp -d "${TMPDIR:-/tmp}/pgci.XXXXXX")   # the socket path $PGTMP/.s.PGSQL.N must stay < 107 chars
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$PGTMP"
  as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
  as_pg() { "$@"; }
fi
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$PGTMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_pg "$PGBIN/initdb" -D "$PGTMP/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" -w -t 30 \
  -o "-p $PGPORT -k $PGTMP -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null || { cat "$PGTMP/log" >&2; exit 1; }
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres verigate_test

export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/verigate_test?sslmode=disable"
echo "with-postgres: DATABASE_URL=$DATABASE_URL" >&2
set +e
"$@"
status=$?
set -e
exit $status
