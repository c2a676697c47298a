#!/bin/sh
# The API contract and the dashboard against a live server (docs/TESTING.md, "API contract and
# dashboard"): builds `verigate`, makes the venv (scripts/python-venv.sh), then
#  - tests/contract/test_dashboard.py (pytest): drives a `verigate serve` (SMPP to the test SMSC,
#    SIPp calling its gateway) and checks that every series docs/grafana/verigate.json queries is on
#    its /metrics;
#  - tests/contract/api_fuzz.py: schemathesis --checks all against the served openapi.yaml and a
#    live `verigate serve` (tests/contract/schemathesis.toml); fails on any 5xx, undocumented
#    status or body off its schema.
# Each server runs on free loopback ports with a throwaway data dir. Extra arguments go to
# `schemathesis run` (e.g. --max-examples 500 --seed N).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
swift=${SWIFT:-swift}
$swift build --product verigate
bin="$($swift build --show-bin-path)/verigate"
sh scripts/python-venv.sh
VERIGATE_BIN="$bin" .venv/bin/python -m pytest -q -p no:cacheprovider tests/contract
VERIGATE_BIN="$bin" exec .venv/bin/python tests/contract/api_fuzz.py "$@"
