#!/usr/bin/env bash
# Runs a one-shot sync with a wrong token many times (default 200) while
# busy loops keep every core saturated, and prints how often each exit code
# came back. Every run must exit 16; 0 would be a failed sync a scheduler
# takes for a success. Not part of CI (about a minute).
# Usage: scripts/exit-soak.sh [runs] [parallel]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-200}" parallel="${2:-8}"
work="$(mktemp -d)"; sim_pid=""; burners=()
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; for p in "${burners[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/baton-trayai" ./cmd/baton-trayai
go build -o "$work/traysim" ./tools/traysim
coproc SIM { exec "$work/traysim" 2>/dev/null; }
sim_pid=$SIM_PID
read -r -t 30 base_url <&"${SIM[0]}"

for _ in $(seq "$(( $(nproc) + 1 ))"); do ( while :; do :; done ) & burners+=($!); done

pids=()
for i in $(seq "$runs"); do
  ( rc=0; "$work/baton-trayai" --base-url "$base_url" --auth-token wrong-token -f "$work/run-$i.c1z" --log-level error >/dev/null 2>&1 || rc=$?
    echo "$rc" >> "$work/codes" ) &
  pids+=($!)
  if (( i % parallel == 0 )); then wait "${pids[@]}"; pids=(); fi
done
[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
echo "exit codes of $runs wrong-token runs ($parallel at a time, CPU saturated):"
sort "$work/codes" | uniq -c | awk '{printf "  exit %-3s %d runs\n", $2, $1}'
if grep -qx 0 "$work/codes"; then echo "FAIL: some runs exited 0"; exit 1; fi
