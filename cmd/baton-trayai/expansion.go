package main

import (
	"os"
	"strconv"
)

// EnvExpandDestBatch is the baton-sdk setting (pkg/sync/expand) of how many
// destination entitlements one step of grant expansion fans a source
// entitlement's grants out to, on a store that is not sorted by principal
// (SQLite; pebble expands another way and does not read it).
const EnvExpandDestBatch = "BATON_GRAPH_EXPAND_DEST_BATCH_SIZE"

// ExpandDestBatch is the fan-out this connector runs the SDK with.
//
// The implicit Admin grants (pkg/connector/implicit_access.go) make the
// assigned entitlements of the Owner and Admin organization roles sources
// with one destination per workspace, and each source has a grant per
// holder: about a tenth of the users. The SDK's default fan-out of 4 holds
// a new grant per holder for each of 4 workspaces, and a cache entry for
// each, until the step ends: 8,000 grants, 15-20 MB more live heap at
// 20,000 users, which the garbage collector's headroom doubles, while the
// rest of a sync peaks at about 20 MB. One destination a step holds a
// quarter of that, so the implicit grants add nothing to the syncer's
// peak; the source is read once per workspace instead of once per four,
// a page of about a tenth of the users each time, which costs a few
// percent of the sync's time (docs/performance.md).
const ExpandDestBatch = 1

// tuneExpansion sets the SDK's expansion fan-out for this process and the
// processes it starts, unless the environment already sets it: an
// operator's own value wins.
func tuneExpansion() {
	if _, set := os.LookupEnv(EnvExpandDestBatch); set {
		return
	}
	_ = os.Setenv(EnvExpandDestBatch, strconv.Itoa(ExpandDestBatch))
}
