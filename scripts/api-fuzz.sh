#!/bin/sh
# The API contract under fuzzing (docs/TESTING.md, "API contract"): builds `verigate`, makes the
# venv (scripts/python-venv.sh: schemathesis), then tests/contract/api_fuzz.py starts `verigate
# serve` on free loopback ports with a throwaway data dir and runs schemathesis with `--checks all`
# against its served openapi.yaml (tests/contract/schemathesis.toml). Fails on any 5xx, undocumented
# status, or body off its schema. Extra arguments go to `schemathesis run` (e.g. --max-examples 500).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
swift=${SWIFT:-swift}
$swift build --product verigate
bin="$($swift build --show-bin-path)/verigate"
sh scripts/python-venv.sh
VERIGATE_BIN="$bin" exec .venv/bin/python tests/contract/api_fuzz.py "$@"
