#!/usr/bin/env bash
# Runs the benchmarks and the failover harness and prints one line per figure:
#   name value unit ratio-to-reference
# (the reference of each figure is given in docs/performance.md).
#   bench/run.sh          full run (BenchmarkDotNet default job, 100 runs per latency figure, 50 half-open runs,
#                         --scale 1000 and 5000 with 60 s idle each; the emulator of the scale runs is a second process)
#   bench/run.sh --quick  about 6 minutes on 2 cores (short job, 50 runs, 5 runs of the 1 s JS peer, 50 half-open runs,
#                         the field-failover cases with library defaults: 10 runs each, 3 of the frozen/black-holed/slow-subscriber
#                         ones (~3 min, mostly the default keepalive and timeouts), --scale 200 with 5 s idle)
# Full logs go to bench/artifacts/.
set -euo pipefail

quick=false
for arg in "$@"; do
  case "$arg" in
    --quick) quick=true ;;
    *) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"

# The scale runs hold two sockets per client (client and emulator end): 5000 clients need more than the usual 1024.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
artifacts="$root/bench/artifacts"
mkdir -p "$artifacts"
cd "$root"

# Other builds may hold the obj/ files for a moment: retry a failed build.
build() {
  for attempt in 1 2 3; do
    if dotnet build "$1" -c Release --nologo -v quiet >"$artifacts/build.log" 2>&1; then
      return 0
    fi
    echo "build of $1 failed (attempt $attempt), retrying" >&2
    sleep 5
  done
  cat "$artifacts/build.log" >&2
  return 1
}

build bench/Innovaphone.Redundancy.Benchmarks/Innovaphone.Redundancy.Benchmarks.csproj
build bench/Innovaphone.Redundancy.Failover/Innovaphone.Redundancy.Failover.csproj

if $quick; then
  bdn_args=(--job short)
  harness_args=(--quick --runs 50 --peer-runs 5 --halfopen-runs 50 --field-runs 10 --field-slow-runs 3 --scale 200 --idle 5)
else
  bdn_args=()
  harness_args=(--runs 100 --peer-runs 50 --halfopen-runs 50 --field-runs 30 --field-slow-runs 5 --scale 1000,5000 --idle 60)
fi

echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# In-process toolchain: the benchmarks run in the harness's process instead of a generated project, which would
# inherit this repository's Directory.Build.props (warnings as errors, analyzers) and cost another build.
(cd "$artifacts" && dotnet "$root/bench/Innovaphone.Redundancy.Benchmarks/bin/Release/net10.0/Innovaphone.Redundancy.Benchmarks.dll" \
  --filter '*' --inProcess --artifacts "$artifacts/BenchmarkDotNet" "${bdn_args[@]}") >"$artifacts/benchmarks.log" 2>&1 \
  || { tail -50 "$artifacts/benchmarks.log" >&2; exit 1; }
sed -n 's/^##figure //p' "$artifacts/benchmarks.log"
# Bytes per transition step by step (no ratio: the last column is the number of commands the step emits).
dotnet "$root/bench/Innovaphone.Redundancy.Benchmarks/bin/Release/net10.0/Innovaphone.Redundancy.Benchmarks.dll" --breakdown \
  | sed -n 's/^##figure //p'

dotnet "$root/bench/Innovaphone.Redundancy.Failover/bin/Release/net10.0/Innovaphone.Redundancy.Failover.dll" "${harness_args[@]}" \
  >"$artifacts/failover.log" 2>&1 || { tail -50 "$artifacts/failover.log" >&2; exit 1; }
sed -n 's/^##figure //p' "$artifacts/failover.log"
