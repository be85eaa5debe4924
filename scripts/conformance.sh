#!/usr/bin/env bash
# Conformance: drive the built binary and the baton CLI exactly as an operator
# (or ConductorOne's sync-test and account-provisioning actions) would, against
# the simulator. Every id is discovered from the c1z. Any non-zero exit fails.
# Usage: scripts/conformance.sh [full|minimal]...
set -euo pipefail
cd "$(dirname "$0")/.."
command -v jq >/dev/null || { echo "conformance: jq is required (apt-get install jq)" >&2; exit 1; }

work="$(mktemp -d)"
bin="$work/bin"
sim_pid=""
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$bin/baton-trayai" ./cmd/baton-trayai
go build -o "$bin/traysim" ./tools/traysim
go build -modfile=tools/baton/go.mod -o "$bin/baton" github.com/conductorone/baton-sdk/cmd/baton

step() { echo "--- $*"; }
fail() { echo "conformance FAILED: $*" >&2; exit 1; }

run_shape() {
  local shape="$1" c1z="$work/$1.c1z"
  coproc SIM { exec "$bin/traysim" -shape "$shape" 2>"$work/traysim-$shape.log"; }
  sim_pid=$SIM_PID
  local base_url
  read -r -t 30 base_url <&"${SIM[0]}" || fail "simulator did not start"
  echo "=== shape $shape: simulator at $base_url"

  export BATON_AUTH_TOKEN=sim-admin-token
  connector() { "$bin/baton-trayai" --base-url "$base_url" -f "$c1z" --log-level error --account-creation-mode create "$@"; }
  bt() { "$bin/baton" -f "$c1z" -o json "$@"; }
  sync() { connector >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; fail "sync"; }; }
  # has prints yes or no; anything else (baton or jq failing) fails both checks below.
  has() {
    local out
    out=$(bt grants -e "$1") || { echo "baton grants -e $1 failed" >&2; return 1; }
    jq -r --arg p "$2" 'if ([.grants[].grant.principal.id.resource] | index($p)) != null then "yes" else "no" end' <<<"$out"
  }
  holds() { [ "$(has "$1" "$2")" = yes ] || fail "$3"; }
  lacks() { [ "$(has "$1" "$2")" = no ] || fail "$3"; }
  grant_id() { bt grants -e "$1" | jq -r --arg p "$2" '.grants[] | select(.grant.principal.id.resource == $p) | .grant.id'; }

  step "capabilities advertise provisioning, account creation and deletion"
  "$bin/baton-trayai" capabilities | jq -e '
    [.resourceTypeCapabilities[] | {(.resourceType.id): .capabilities}] | add as $c
    | ($c.workspace | index("CAPABILITY_PROVISION")) and ($c.role | index("CAPABILITY_PROVISION"))
      and ($c.user | index("CAPABILITY_ACCOUNT_PROVISIONING")) and ($c.user | index("CAPABILITY_RESOURCE_DELETE"))' >/dev/null \
    || fail "capabilities"

  step "sync"
  sync

  # A shared workspace, its Contributor-role entitlement, and a person with
  # the Contributor org role who is not a member of it.
  local ws ent user
  ws=$(bt resources -t workspace | jq -r '[.resources[].resource | select(.profile.type == "Shared")][0].id.resource')
  ent=$(bt entitlements -t workspace | jq -r --arg ws "$ws" \
    '.entitlements[].entitlement | select(.resource.id.resource == $ws and .slug == "Contributor") | .id')
  local members
  members=$(bt grants -e "workspace:$ws:member" | jq -c '[.grants[].grant.principal.id.resource]')
  user=$(bt resources -t user | jq -r --argjson m "$members" \
    '[.resources[].resource | select(.profile.org_role_name == "Contributor" and (.id.resource as $id | $m | index($id) | not))][0].id.resource')
  [ -n "$ws" ] && [ -n "$ent" ] && [ "$user" != "null" ] || fail "could not discover ids (ws=$ws ent=$ent user=$user)"

  step "org Admins reach every workspace: an org Admin outside $ws holds its Admin role (expanded)"
  local admin_ent outsider
  admin_ent=$(bt entitlements -t workspace | jq -r --arg ws "$ws" \
    '.entitlements[].entitlement | select(.resource.id.resource == $ws and .slug == "Admin") | .id')
  outsider=$(bt resources -t user | jq -r --argjson m "$members" \
    '[.resources[].resource | select(.profile.org_role_name == "Admin" and .profile.account_type == "Regular" and (.id.resource as $id | $m | index($id) | not))][0].id.resource')
  [ -n "$admin_ent" ] && [ "$outsider" != "null" ] || fail "could not discover the Admin entitlement or an org Admin outside $ws"
  holds "$admin_ent" "$outsider" "baton grants does not show the org Admin's implicit Admin role"
  bt access -r "$outsider" -t user | jq -e --arg e "$admin_ent" '[.access[].entitlements[].id] | index($e) != null' >/dev/null \
    || fail "baton access does not show the org Admin's implicit Admin role"

  step "workspace role: grant $ent to $user"
  connector --grant-entitlement "$ent" --grant-principal "$user" --grant-principal-type user
  sync; holds "$ent" "$user" "grant not visible after sync"
  holds "workspace:$ws:member" "$user" "membership not visible after grant"
  step "workspace role: grant again (idempotent)"
  connector --grant-entitlement "$ent" --grant-principal "$user" --grant-principal-type user
  local gid; gid=$(grant_id "$ent" "$user")
  step "workspace role: revoke $gid, twice"
  connector --revoke-grant "$gid"
  connector --revoke-grant "$gid"
  sync; lacks "$ent" "$user" "grant still present after revoke"
  lacks "workspace:$ws:member" "$user" "membership still present after revoke"
  step "workspace role: re-grant"
  connector --grant-entitlement "$ent" --grant-principal "$user" --grant-principal-type user
  sync; holds "$ent" "$user" "re-grant not visible"

  step "targeted sync of workspace $ws (--sync-resources) adds a partial sync with its grants as they are now"
  connector --sync-resources "bid:r:workspace/$ws" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; fail "targeted sync"; }
  local partial
  partial=$(bt syncs | jq -r '[.syncs[] | select(.syncType == "partial")] | last | .id')
  [ -n "$partial" ] && [ "$partial" != "null" ] || fail "no partial sync after --sync-resources"
  "$bin/baton" -f "$c1z" -o json grants --sync-id "$partial" -e "$ent" 2>/dev/null \
    | jq -e --arg p "$user" '[.grants[].grant.principal.id.resource] | index($p) != null' >/dev/null \
    || fail "the partial sync does not hold the workspace's current grants"
  sync

  # Organization role: move a Viewer to Contributor and back.
  local contributor viewer person
  contributor=$(bt resources -t role | jq -r '.resources[].resource | select(.displayName == "Contributor") | .id.resource')
  viewer=$(bt resources -t role | jq -r '.resources[].resource | select(.displayName == "Viewer") | .id.resource')
  person=$(bt resources -t user | jq -r '[.resources[].resource | select(.profile.org_role_name == "Viewer" and .profile.account_type == "Regular")][0].id.resource')
  local rent="role:$contributor:assigned"
  step "org role: grant $rent to $person, twice"
  connector --grant-entitlement "$rent" --grant-principal "$person" --grant-principal-type user
  connector --grant-entitlement "$rent" --grant-principal "$person" --grant-principal-type user
  sync; holds "$rent" "$person" "org role grant not visible"
  lacks "role:$viewer:assigned" "$person" "old org role still held"
  gid=$(grant_id "$rent" "$person")
  step "org role: revoke twice (moves to the fallback role)"
  connector --revoke-grant "$gid"
  connector --revoke-grant "$gid"
  sync; lacks "$rent" "$person" "org role still held after revoke"
  holds "role:$viewer:assigned" "$person" "user not moved to the fallback role"
  step "org role: re-grant"
  connector --grant-entitlement "$rent" --grant-principal "$person" --grant-principal-type user
  sync; holds "$rent" "$person" "org role re-grant not visible"

  # Account lifecycle.
  local email="conformance.$shape@acme.example"
  step "create account $email"
  connector --create-account-email "$email" --create-account-login "$email" \
    --create-account-profile '{"name":"Conformance Person","role":"Viewer"}'
  sync
  local matches id
  matches=$(bt resources -t user | jq --arg e "$email" '[.resources[].resource | select(.profile.email == $e)] | length')
  [ "$matches" = 1 ] || fail "$matches users with $email, want exactly one"
  step "create the same account again (already exists, no duplicate)"
  connector --create-account-email "$email" --create-account-login "$email"
  sync
  matches=$(bt resources -t user | jq --arg e "$email" '[.resources[].resource | select(.profile.email == $e)] | length')
  [ "$matches" = 1 ] || fail "second create made a duplicate ($matches users)"
  id=$(bt resources -t user | jq -r --arg e "$email" '.resources[].resource | select(.profile.email == $e) | .id.resource')
  step "delete $id, twice"
  connector --delete-resource "$id" --delete-resource-type user
  connector --delete-resource "$id" --delete-resource-type user
  sync
  matches=$(bt resources -t user | jq --arg e "$email" '[.resources[].resource | select(.profile.email == $e)] | length')
  [ "$matches" = 0 ] || fail "deleted account still synced"

  kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=""
  echo "=== shape $shape: conformance passed"
}

shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(full minimal)
for s in "${shapes[@]}"; do run_shape "$s"; done
echo "conformance: ${#shapes[@]} passed, 0 failed"
