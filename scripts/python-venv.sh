#!/bin/sh
# Creates .venv at the repository root with the PyPI packages the test harnesses need
# (tests/smsc: the SMPP test SMSC on `smpp34`; tests/browser: Selenium and pytest driving the
# Debian chromium; openapi-spec-validator: APITests checks the served openapi.yaml; schemathesis:
# scripts/contract-tests.sh fuzzes the live API against it). Idempotent; CI calls it before `swift test`.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check smpp34==1.5.0 selenium==4.50.0 pytest==9.2.0 pjsua2-python numpy openapi-spec-validator==0.9.0 schemathesis==4.32.5
"$venv/bin/python" -c "import smpp34, selenium, pytest, pjsua2, numpy, openapi_spec_validator, yaml, schemathesis" && echo "venv ready: $venv"
