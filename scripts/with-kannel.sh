#!/bin/bash
# Runs CMD… with a throwaway Kannel (bearerbox, smsbox, fakesmsc; tests/kannel/kannel.conf on free
# ports), then stops it and removes its files.
#   scripts/with-kannel.sh swift test --filter KannelLiveTests
# Exports for the tests:
#   VERIGATE_TEST_KANNEL_URL       the smsbox sendsms URL (user tester, password foobar)
#   VERIGATE_TEST_KANNEL_USER / VERIGATE_TEST_KANNEL_PASSWORD
#   VERIGATE_TEST_FAKESMSC_OUT     the file fakesmsc's output goes to ("Got message N: <from to text|ucs-2 …>")
# When VERIGATE_TEST_KANNEL_URL is already set, CMD runs against that Kannel instead. Without the
# Debian packages kannel and kannel-extras it runs CMD with nothing exported (the Kannel tests then
# fail under CI=true and are skipped otherwise).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 CMD [ARGS…]" >&2; exit 2; }
if [ -n "${VERIGATE_TEST_KANNEL_URL:-}" ]; then exec "$@"; fi
root=$(cd "$(dirname "$0")/.." && pwd)
FAKESMSC=/usr/lib/kannel/test/fakesmsc
if ! command -v bearerbox >/dev/null || ! command -v smsbox >/dev/null || [ ! -x "$FAKESMSC" ]; then
  echo "with-kannel: kannel/kannel-extras not installed (apt-get install -y kannel kannel-extras); running without it" >&2
  exec "$@"
fi

free_port() {  # a port nobody listens on, from $1 upwards, not in $taken
  local p
  for p in $(seq "$1" $(($1 + 500))); do
    case " $taken " in *" $p "*) continue ;; esac
    if ! (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then taken="$taken $p"; echo "$p"; return; fi
  done
  echo "with-kannel: no free port from $1" >&2; exit 1
}
taken=""
ADMIN=$(free_port 23000); taken="$taken $ADMIN"
BOX=$(free_port 23100); taken="$taken $BOX"
SENDSMS=$(free_port 23200); taken="$taken $SENDSMS"
SMSC=$(free_port 23300); taken="$taken $SMSC"

KTMP=$(mktemp -d "${TMPDIR:-/tmp}/kannelci.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$KTMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sed -e "s/^admin-port = 13000/admin-port = $ADMIN/" \
    -e "s/^smsbox-port = 13001/smsbox-port = $BOX/" \
    -e "s/^bearerbox-port = 13001/bearerbox-port = $BOX/" \
    -e "s/^sendsms-port = 13013/sendsms-port = $SENDSMS/" \
    -e "s/^port = 10000/port = $SMSC/" \
    -e "s#/tmp/bearerbox.log#$KTMP/bearerbox.log#" \
    -e "s#/tmp/smsbox.log#$KTMP/smsbox.log#" \
    "$root/tests/kannel/kannel.conf" > "$KTMP/kannel.conf"

wait_port() {  # port, what, pid
  for _ in $(seq 200); do
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { echo "with-kannel: $2 exited" >&2; cat "$KTMP"/*.out >&2 || true; exit 1; }
    sleep 0.1
  done
  echo "with-kannel: $2 did not listen on $1" >&2; exit 1
}

bearerbox -v 1 "$KTMP/kannel.conf" >"$KTMP/bearerbox.out" 2>&1 &
pids+=($!); wait_port "$SMSC" bearerbox "${pids[-1]}"
wait_port "$BOX" bearerbox "${pids[-1]}"
"$FAKESMSC" -H 127.0.0.1 -r "$SMSC" -i 1 -m 0 "0000 0000 text nop" >"$KTMP/fakesmsc.out" 2>&1 &
pids+=($!)
smsbox -v 1 "$KTMP/kannel.conf" >"$KTMP/smsbox.out" 2>&1 &
pids+=($!); wait_port "$SENDSMS" smsbox "${pids[-1]}"
for _ in $(seq 100); do grep -q "SMSC\[FAKE\]" "$KTMP/bearerbox.out" && grep -qi "online\|connected" "$KTMP/bearerbox.out" && break; sleep 0.1; done

export VERIGATE_TEST_KANNEL_URL="http://127.0.0.1:$SENDSMS/cgi-bin/sendsms"
export VERIGATE_TEST_KANNEL_USER=tester VERIGATE_TEST_KANNEL_PASSWORD=foobar
export VERIGATE_TEST_FAKESMSC_OUT="$KTMP/fakesmsc.out"
echo "with-kannel: VERIGATE_TEST_KANNEL_URL=$VERIGATE_TEST_KANNEL_URL VERIGATE_TEST_FAKESMSC_OUT=$VERIGATE_TEST_FAKESMSC_OUT" >&2
set +e
"$@"
status=$?
set -e
exit $status
