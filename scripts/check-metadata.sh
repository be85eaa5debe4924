#!/usr/bin/env bash
# Fails when baton_capabilities.json or config_schema.json differ from what
# the binary prints, or when docs/connector.mdx's capabilities table is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/baton-trayai" ./cmd/baton-trayai
"$tmp/baton-trayai" capabilities > "$tmp/caps.json"
"$tmp/baton-trayai" config > "$tmp/config.json"
status=0
for pair in "baton_capabilities.json:$tmp/caps.json" "config_schema.json:$tmp/config.json"; do
  committed="${pair%%:*}"; fresh="${pair#*:}"
  if ! cmp -s <(jq -cS . "$committed") <(jq -cS . "$fresh"); then
    echo "$committed is stale: run make metadata and commit it" >&2
    status=1
  fi
done
exit $status
