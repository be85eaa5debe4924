package connector

import (
	"context"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestProgressIsLoggedAtInfoAndThrottled(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	l := log{zap.New(core)}
	s := newSyncStats(nil)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }

	s.page(l, "users", 1000, false) // first page: logged
	now = now.Add(time.Second)
	s.page(l, "users", 1000, false) // within the interval: quiet
	now = now.Add(progressInterval)
	s.page(l, "users", 500, false) // interval passed: logged with totals
	entries := logs.FilterMessage("baton-trayai: sync progress").All()
	if len(entries) != 2 {
		t.Fatalf("%d progress lines, want 2", len(entries))
	}
	last := entries[1].ContextMap()
	if last["pages"] != int64(3) || last["items"] != int64(2500) || last["listing"] != "users" {
		t.Fatalf("progress fields %v", last)
	}
}

func TestSummaryIsLoggedAfterTheLastWorkspace(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	ctx := ctxzap.ToContext(context.Background(), zap.New(core))
	st := newSyncState("sync-1", nil)
	st.stats.page(logger(ctx), listingWorkspaces, 3, true)
	st.listedWorkspaces(3, true)
	st.stats.skip("ws-2", "members")
	st.workspaceGrantsDone(ctx)
	st.workspaceGrantsDone(ctx)
	if n := len(logs.FilterMessageSnippet("sync summary").All()); n != 0 {
		t.Fatalf("summary logged before the last workspace (%d)", n)
	}
	st.workspaceGrantsDone(ctx)
	sum := logs.FilterMessageSnippet("sync summary").All()
	if len(sum) != 1 || sum[0].Level != zap.WarnLevel || sum[0].ContextMap()["skipped_workspaces"] != int64(1) {
		t.Fatalf("summary %v", sum)
	}
	if sum[0].Message[:len(prefix)] != prefix {
		t.Fatalf("summary %q does not start with %q", sum[0].Message, prefix)
	}
}

// A sync ends once, whichever end comes first: the last workspace's
// grants, the next sync, or the connector's Close. A sync that listed
// nothing (a targeted one) has no summary.
func TestASyncIsSummarizedOnceWhateverEndsIt(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	ctx := ctxzap.ToContext(context.Background(), zap.New(core))
	summaries := func() int { return len(logs.FilterMessageSnippet("sync summary").All()) }
	s := newSyncs(nil)

	interrupted := s.state(ctx, "full")
	interrupted.stats.page(logger(ctx), listingUsers, 10, true)
	interrupted.listedWorkspaces(2, true)
	interrupted.workspaceGrantsDone(ctx) // one of two: the sync is not over
	if summaries() != 0 {
		t.Fatal("summary logged before the sync ended")
	}
	targeted := s.state(ctx, "targeted") // the next sync ends it
	if summaries() != 1 {
		t.Fatalf("%d summaries when the next sync started, want the interrupted sync's", summaries())
	}
	interrupted.workspaceGrantsDone(ctx)
	targeted.stats.page(logger(ctx), listingWorkspaceGrants, 4, false)
	targeted.workspaceGrantsDone(ctx)
	c := &Connector{syncs: s}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if summaries() != 1 {
		t.Fatalf("%d summaries: a sync was summarized twice, or a targeted sync at all", summaries())
	}
}
