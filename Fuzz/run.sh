#!/usr/bin/env bash
# Builds the libFuzzer target for the SIP parser and runs it for a bounded number of runs on the
# committed seed corpus. Exits non-zero on any crash, sanitizer report or failed invariant.
#   Fuzz/run.sh [runs]        (default 200000; FUZZ_RUNS also works)
# Crash reproducers land in fuzz-out/ (ignored by git); new corpus entries are not written back.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-${FUZZ_RUNS:-200000}}"
SCRATCH="${FUZZ_SCRATCH:-.build-fuzz}"

export VERIGATE_FUZZ=1 VERIGATE_TARGETS=SIPMessage,SIPMessageFuzz
CONFIG="${FUZZ_CONFIG:-debug}"   # debug builds in a third of the time; still fast enough for 10^5 runs
swift build -c "$CONFIG" --scratch-path "$SCRATCH" --product SIPMessageFuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
BIN="$(swift build -c "$CONFIG" --scratch-path "$SCRATCH" --show-bin-path)/SIPMessageFuzz"

mkdir -p fuzz-out/sipmessage
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp Fuzz/corpus/sipmessage/* "$WORK/"
# -max_len covers the 64 KiB limit's edge without making every input huge.
"$BIN" "$WORK" -runs="$RUNS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=fuzz-out/sipmessage/ -print_final_stats=1 2>&1 | tail -n 40   # pipefail keeps its exit code
echo "fuzz: SIPMessage parser survived $RUNS runs"
