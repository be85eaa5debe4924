#!/usr/bin/env bash
# The embedded default: serve a simulated Tray.ai organization on loopback,
# run a one-shot sync against it with the real binary, and show the result.
# Needs only Go. Usage: scripts/demo.sh [full|minimal|service]
#   service: the same binary in service mode against a ConductorOne
#   stand-in, which hands it a sync and a grant.
set -euo pipefail
cd "$(dirname "$0")/.."
shape="${1:-full}"
out="dist/demo"
mkdir -p "$out"
bin="$out/bin"

if [ "$shape" = service ]; then
  echo "==> Building baton-trayai, the service demo and the c1z reader"
  go build -o "$bin/baton-trayai" ./cmd/baton-trayai
  go build -o "$bin/servicedemo" ./tools/servicedemo
  go build -o "$bin/c1zreport" ./tools/c1zreport
  "$bin/servicedemo" -binary "$bin/baton-trayai" -out "$out/service"
  echo
  echo "What ConductorOne received from the sync task:"
  "$bin/c1zreport" -f "$out/service/uploaded.c1z"
  exit 0
fi

echo "==> Building baton-trayai, the simulator and the c1z reader"
go build -o "$bin/baton-trayai" ./cmd/baton-trayai
go build -o "$bin/traysim" ./tools/traysim
go build -o "$bin/c1zreport" ./tools/c1zreport

echo "==> Starting the simulated Tray.ai organization (shape: $shape)"
coproc SIM { exec "$bin/traysim" -shape "$shape" 2>"$out/traysim.log"; }
sim_pid=$SIM_PID
trap 'kill "$sim_pid" 2>/dev/null || true' EXIT
read -r -t 30 base_url <&"${SIM[0]}" || { echo "the simulator did not start; see $out/traysim.log" >&2; exit 1; }
echo "    $base_url"

echo "==> Syncing (one-shot) into $out/sync.c1z"
rm -f "$out/sync.c1z"
BATON_AUTH_TOKEN=sim-admin-token "$bin/baton-trayai" --base-url "$base_url" -f "$out/sync.c1z" \
  --log-level info --log-format json >"$out/sync.log" 2>&1 || { tail -n 20 "$out/sync.log" >&2; exit 1; }
kill "$sim_pid" && wait "$sim_pid" 2>/dev/null || true
trap - EXIT

echo
"$bin/c1zreport" -f "$out/sync.c1z"
echo
echo "Tray.ai API requests made by the sync (from the simulator):"
sed -n '/requests served/,$p' "$out/traysim.log"
# The connector's summary line, as the sentence it logs.
sed -n 's/.*"msg":"\(baton-trayai: sync summary[^"]*\)".*/\1/p' "$out/sync.log" | head -n 1
echo
echo "Explore further with: go tool -modfile=tools/baton/go.mod baton resources -f $out/sync.c1z   (or grants, entitlements, stats)"
