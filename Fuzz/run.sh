#!/usr/bin/env bash
# Builds the libFuzzer targets (one `swift build`, scratch path .build-fuzz) and runs each for a
# bounded number of inputs on its committed seed corpus. Exits non-zero on any crash, sanitizer
# report or failed invariant.
#   Fuzz/run.sh [runs] [target ...]   (runs default 200000, FUZZ_RUNS also works; targets default all)
#   targets: sipmessage sdp rtp smpp gatewayline sipconf
# Crash reproducers land in fuzz-out/<target>/ (ignored by git); new corpus entries are not written back.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-${FUZZ_RUNS:-200000}}"
shift $(( $# > 0 ? 1 : 0 ))
SCRATCH="${FUZZ_SCRATCH:-.build-fuzz}"
CONFIG="${FUZZ_CONFIG:-debug}"   # debug builds in a third of the time; still fast enough for 10^5 runs

# corpus directory name → product, the targets it needs (for VERIGATE_TARGETS), -max_len.
declare -A PRODUCT=([sipmessage]=SIPMessageFuzz [sdp]=SDPFuzz [rtp]=RTPFuzz [smpp]=SMPPFuzz
                    [gatewayline]=GatewayLineFuzz [sipconf]=SIPConfFuzz)
declare -A NEEDS=([sipmessage]=SIPMessage [sdp]=SDP [rtp]=RTP,COpenSSL [smpp]=SMPP [gatewayline]=GatewayProtocol
                  [sipconf]=VoiceGateway,SIPMessage,SIPStack,GatewayProtocol,SDP,RTP,COpenSSL,Media,COpus,CAres)
# -max_len covers each parser's limits' edges without making every input huge: SIP's 64 KiB and
# SDP's 16 KiB limits are tested by unit tests; RTP/RTCP datagrams are small.
declare -A MAXLEN=([sipmessage]=4096 [sdp]=4096 [rtp]=1500 [smpp]=4096 [gatewayline]=4096 [sipconf]=8192)
ALL="sipmessage sdp rtp smpp gatewayline sipconf"
TARGETS="${*:-${FUZZ_TARGETS:-$ALL}}"

needs="FuzzDriver"
for t in $TARGETS; do
    [[ -n "${PRODUCT[$t]:-}" ]] || { echo "fuzz: unknown target '$t' (one of: $ALL)" >&2; exit 2; }
    needs="$needs,${NEEDS[$t]}"
done
# One build for every chosen target: VERIGATE_TARGETS keeps only what they need, so building the
# whole (filtered) package builds exactly the fuzz executables and their dependencies.
export VERIGATE_FUZZ=1 VERIGATE_TARGETS="$needs"
start=$SECONDS
swift build -c "$CONFIG" --scratch-path "$SCRATCH" -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
echo "fuzz: built in $(( SECONDS - start )) s"
BIN="$(swift build -c "$CONFIG" --scratch-path "$SCRATCH" --show-bin-path)"

# libFuzzer reports the crash and saves the input; Swift's own backtracer would only add minutes.
export SWIFT_BACKTRACE=enable=no
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
for t in $TARGETS; do
    mkdir -p "fuzz-out/$t" "$WORK/$t"
    cp Fuzz/corpus/"$t"/* "$WORK/$t/"
    start=$SECONDS
    "$BIN/${PRODUCT[$t]}" "$WORK/$t" -runs="$RUNS" -max_len="${MAXLEN[$t]}" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="fuzz-out/$t/" -print_final_stats=1 2>&1 | tail -n 25   # pipefail keeps its exit code
    echo "fuzz: ${PRODUCT[$t]} survived $RUNS runs in $(( SECONDS - start )) s"
done
