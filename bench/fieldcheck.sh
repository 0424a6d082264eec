#!/usr/bin/env bash
# The field check: the real Monitor CLI, built as users run it, with default options, against the loopback PBX
# emulator; one table per runtime (see docs/field-check.md):
#   net10.0  framework-dependent build, run with the installed .NET 10 runtime (dotnet Monitor.dll)
#   net8.0   self-contained linux-x64 publish for net8.0 (its own 8.0 runtime from the runtime pack)
# Usage:
#   bench/fieldcheck.sh            5 runs of each fast case, 1 of each slow case, 70 s idle   (about 7 min per runtime)
#   bench/fieldcheck.sh --quick    3 runs, 1 slow run, 35 s idle                               (about 5 min per runtime)
#   bench/fieldcheck.sh [--quick] [--only net10.0|net8.0] [runner options: --runs N --slow-runs N --idle-seconds N --cases ... --monitor-env NAME=VALUE,...]
# Full output, every Monitor's stdout (stamped) and stderr go to bench/artifacts/fieldcheck*.
# Runs as root: the runner and its Monitors run in a private network namespace (unshare -n), where the netchange case
# adds an address to lo (a real network change that nothing else on the machine sees).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
artifacts="$root/bench/artifacts"
mkdir -p "$artifacts"
cd "$root"

runner_args=()
runtimes=(net10.0 net8.0)
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) runner_args+=(--runs 3 --slow-runs 1 --idle-seconds 35) ;;
    --only) runtimes=("$2"); shift ;;
    --runs|--slow-runs|--idle-seconds|--cases|--timeout-seconds|--slow-timeout-seconds|--monitor-env) runner_args+=("$1" "$2"); shift ;;
    *) echo "usage: bench/fieldcheck.sh [--quick] [--only net10.0|net8.0] [--runs N] [--slow-runs N] [--idle-seconds N] [--cases LIST] [--monitor-env NAME=VALUE,...]" >&2; exit 2 ;;
  esac
  shift
done

# Other builds on the machine may hold obj/ files for a moment: retry a failed build.
retry() {
  local log="$artifacts/fieldcheck-build.log"
  for attempt in 1 2 3; do
    if "$@" --nologo -v quiet >"$log" 2>&1; then
      return 0
    fi
    echo "'$*' failed (attempt $attempt), retrying" >&2
    sleep 5
  done
  cat "$log" >&2
  return 1
}

retry dotnet build bench/Innovaphone.Redundancy.FieldCheck/Innovaphone.Redundancy.FieldCheck.csproj -c Release
monitor_net10="dotnet $root/src/Innovaphone.Redundancy.Monitor/bin/Release/net10.0/Innovaphone.Redundancy.Monitor.dll"
monitor_net8="$artifacts/monitor-net8/Innovaphone.Redundancy.Monitor"
for runtime in "${runtimes[@]}"; do
  case "$runtime" in
    net10.0) retry dotnet build src/Innovaphone.Redundancy.Monitor -c Release -f net10.0 ;;
    # The tool's net8.0 build (what `dotnet tool install` picks on a machine with only .NET 8), published
    # self-contained: the 8.0 runtime pack comes from the package feed, so no .NET 8 installation is needed.
    net8.0) retry dotnet publish src/Innovaphone.Redundancy.Monitor -c Release -r linux-x64 --self-contained \
              -f net8.0 -o "$artifacts/monitor-net8" ;;
    *) echo "unknown runtime $runtime (net10.0 or net8.0)" >&2; exit 2 ;;
  esac
done

echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src samples || echo ' (src/samples modified)'), $(date -u '+%Y-%m-%d %H:%M UTC')"
# In a private network namespace (loopback only, brought up): the netchange case changes a real network there, which
# nothing else on the machine sees; every other case runs on loopback as before. Needs root (unshare -n); without it
# the runner runs as it is and reports the netchange case as not run.
if unshare -n true 2>/dev/null && command -v ip >/dev/null 2>&1; then
  in_namespace=(env IPR_FIELDCHECK_NETNS=1 unshare -n -- sh -c 'ip link set lo up && exec "$0" "$@"')
else
  echo "# no private network namespace (needs root, unshare and ip): the netchange case will not run" >&2
  in_namespace=()
fi

first=true
status=0
for runtime in "${runtimes[@]}"; do
  if [ "$runtime" = net10.0 ]; then monitor="$monitor_net10"; else monitor="$monitor_net8"; fi
  log="$artifacts/fieldcheck-$runtime.log"
  ${in_namespace[@]+"${in_namespace[@]}"} dotnet bench/Innovaphone.Redundancy.FieldCheck/bin/Release/net10.0/Innovaphone.Redundancy.FieldCheck.dll \
    --monitor "$monitor" --runtime "$runtime" --artifacts "$artifacts/fieldcheck" ${runner_args[@]+"${runner_args[@]}"} >"$log" 2>&1 \
    || { echo "runner failed for $runtime (exit $?), see $log" >&2; tail -20 "$log" >&2; status=1; continue; }
  if $first; then
    # The explanation of the cases, once.
    sed -n '/^# field check/,/^# columns/p' "$log"
    first=false
  fi

  echo
  echo "## $runtime: $(sed -n 's/^# Monitor runtime loaded: //p' "$log")"
  grep -v '^#' "$log" | column -t
done

exit $status
