package connector

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestProgressIsLoggedAtInfoAndThrottled(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	l := zap.New(core)
	s := newSyncStats()
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
	core, logs := observer.New(zap.InfoLevel)
	l := zap.New(core)
	s := newSyncStats()
	s.page(l, "workspaces", 3, true)
	s.workspacesFound(3, true)
	s.skip("ws-2", "members")
	s.workspaceDone(l)
	s.workspaceDone(l)
	if n := len(logs.FilterMessageSnippet("sync summary").All()); n != 0 {
		t.Fatalf("summary logged before the last workspace (%d)", n)
	}
	s.workspaceDone(l)
	sum := logs.FilterMessageSnippet("sync summary").All()
	if len(sum) != 1 || sum[0].Level != zap.WarnLevel || sum[0].ContextMap()["skipped_workspaces"] != int64(1) {
		t.Fatalf("summary %v", sum)
	}
}
