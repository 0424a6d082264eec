#!/usr/bin/env bash
# Runs the benchmarks and the failover harness and prints one line per figure:
#   name value unit ratio-to-reference
# (the reference of each figure is given in docs/performance.md).
#   bench/run.sh          full run (BenchmarkDotNet default job, 100 runs per latency figure, --scale 1000)
#   bench/run.sh --quick  under 3 minutes on 2 cores (short job, 50 runs, 5 runs of the 1 s JS peer, --scale 200)
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
  harness_args=(--quick --runs 50 --peer-runs 5 --scale 200 --idle 5)
else
  bdn_args=()
  harness_args=(--runs 100 --peer-runs 50 --scale 1000 --idle 20)
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
