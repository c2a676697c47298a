#!/bin/sh
# Runs the browser tests of the hosted page (tests/browser, pytest + Selenium + Debian chromium):
# builds `verigate`, makes the venv (scripts/python-venv.sh), then pytest starts `verigate serve`
# on a free loopback port with a temporary data dir and stops it at the end. Screenshots go to
# $TMPDIR/verigate-screenshots (VERIGATE_SCREENSHOTS=docs/screenshots refreshes the README's). With CI=true a missing chromium, chromedriver or Selenium fails the tests.
# Extra arguments go to pytest (e.g. -k zh).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
swift=${SWIFT:-swift}
$swift build --product verigate
bin="$($swift build --show-bin-path)/verigate"
sh scripts/python-venv.sh
VERIGATE_BIN="$bin" exec .venv/bin/python -m pytest -q -p no:cacheprovider tests/browser "$@"
