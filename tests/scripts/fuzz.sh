#!/usr/bin/env bash
# Long fuzz run of the myApps protocol layer (frame parser, login driver, post-login receive path).
# Usage: tests/scripts/fuzz.sh [frames] [seed]
#   frames  login/parser frames (FUZZ_FRAMES), default 100000; the socket fuzz gets a tenth (FUZZ_SOCKET_FRAMES)
#   seed    FUZZ_SEED, default: from the clock (printed, so that a failure can be replayed with it)
# A failure prints the seed and the failing frame; replay it with: tests/scripts/fuzz.sh <frames> <seed>
set -euo pipefail

cd "$(dirname "$0")/../.."

export FUZZ_FRAMES="${1:-${FUZZ_FRAMES:-100000}}"
export FUZZ_SEED="${2:-${FUZZ_SEED:-$(date +%s)}}"
export FUZZ_REPORT="$(mktemp)"
export FUZZ_SOCKET_FRAMES="${FUZZ_SOCKET_FRAMES:-$(( FUZZ_FRAMES / 10 ))}"

echo "fuzzing: FUZZ_FRAMES=${FUZZ_FRAMES} FUZZ_SOCKET_FRAMES=${FUZZ_SOCKET_FRAMES} FUZZ_SEED=${FUZZ_SEED}"
start=$(date +%s)
set +e
# The parser and login fuzzers are unit tests; the post-login fuzzer runs over sockets (integration tests).
status=0
for project in tests/Innovaphone.Redundancy.Tests tests/Innovaphone.Redundancy.IntegrationTests; do
    dotnet test --project "$project" --filter-class "*Fuzz*" || status=$?
done
set -e
elapsed=$(( $(date +%s) - start ))

echo
cat "$FUZZ_REPORT"
rm -f "$FUZZ_REPORT"
if [ "$status" -eq 0 ]; then
    echo "RESULT: PASSED (${elapsed} s, FUZZ_FRAMES=${FUZZ_FRAMES}, FUZZ_SEED=${FUZZ_SEED})"
else
    echo "RESULT: FAILED with exit code ${status} (${elapsed} s, FUZZ_FRAMES=${FUZZ_FRAMES}, FUZZ_SEED=${FUZZ_SEED}); replay: tests/scripts/fuzz.sh ${FUZZ_FRAMES} ${FUZZ_SEED}"
fi
exit "$status"
