#!/bin/sh
# Creates .venv at the repository root with the PyPI packages the test harnesses need
# (tests/smsc: the SMPP test SMSC on `smpp34`). Idempotent; CI calls it before `swift test`.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check smpp34==1.5.0
"$venv/bin/python" -c "import smpp34" && echo "venv ready: $venv"
