#!/usr/bin/env bash
# Soak: N managers with the real WebSocket transport against the loopback PBX emulator, under random kills,
# revivals and partitions, then everything healed. Exit code non-zero if a manager is stuck or a socket leaked.
#   tests/scripts/soak.sh [--managers N] [--seconds S] [--seed X]     (defaults: 50 managers, 60 s, seed 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  args=(--managers 50 --seconds 60 --seed 1)
fi

dotnet build samples/Innovaphone.Redundancy.Soak/Innovaphone.Redundancy.Soak.csproj -c Release -warnaserror -v quiet -nologo
dotnet run --project samples/Innovaphone.Redundancy.Soak/Innovaphone.Redundancy.Soak.csproj -c Release --no-build -- "${args[@]}"
