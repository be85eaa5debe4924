package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/conductorone/baton-trayai/internal/traysim"
)

// BenchmarkSync is the quick form of `make bench`: a mid-sized organization
// without latency or server limit, reporting requests per sync against the
// minimum. Run it with `go test -bench . ./internal/bench`.
func BenchmarkSync(b *testing.B) {
	for _, shape := range []traysim.Shape{traysim.ShapeFull, traysim.ShapeMinimal} {
		b.Run(shape.String(), func(b *testing.B) {
			var last Result
			for range b.N {
				r, err := Run(context.Background(), Config{Users: 500, Workspaces: 20, Members: 25, Shape: shape, ClientRPS: 50})
				if err != nil {
					b.Fatal(err)
				}
				last = r
			}
			b.ReportMetric(float64(last.Requests), "requests/sync")
			b.ReportMetric(last.Ratio(), "x-minimum")
		})
	}
}

// The benchmark's own arithmetic is checked: a sync must make at least the
// minimum, and the default connector makes no more than 2% over it.
func TestSyncStaysWithinTwoPercentOfTheMinimum(t *testing.T) {
	shapes := []traysim.Shape{traysim.ShapeFull, traysim.ShapeMinimal}
	if testing.Short() {
		// The minimal shape's per-user lookups wait on the pace for
		// seconds; make test runs it.
		shapes = shapes[:1]
	}
	for _, shape := range shapes {
		r, err := Run(context.Background(), Config{Users: 100, Workspaces: 5, Members: 20, Shape: shape, ClientRPS: 50})
		if err != nil {
			t.Fatal(err)
		}
		if r.Requests < r.Minimum {
			t.Fatalf("%s: %d requests is below the computed minimum %d: the minimum is wrong", shape, r.Requests, r.Minimum)
		}
		if r.Ratio() > 1.02 {
			t.Fatalf("%s: %d requests, %.3f x the minimum %d: %v", shape, r.Requests, r.Ratio(), r.Minimum, r.PerEndpoint)
		}
	}
}

// A run's processes are told apart by their place in the tree, whatever
// order the sampler first saw them in and whatever a child's command line
// was before its exec.
func TestProcessesAreAttributedByTheirPlaceInTheTree(t *testing.T) {
	supervised := attribute(
		map[int]float64{30: 55, 10: 40, 20: 190},
		map[int]int{10: 0, 20: 1, 30: 2},
		map[int]bool{30: true},
	)
	if want := (peaks{SupervisorMB: 40, SyncerMB: 190, ConnectorMB: 55}); supervised != want {
		t.Errorf("supervised run: %+v, want %+v", supervised, want)
	}
	direct := attribute(
		map[int]float64{20: 50, 10: 60},
		map[int]int{10: 0, 20: 1},
		map[int]bool{20: true},
	)
	if want := (peaks{SyncerMB: 60, ConnectorMB: 50}); direct != want {
		t.Errorf("unsupervised run: %+v, want %+v", direct, want)
	}
}

// A refresh that made fewer requests than the workspace needs did not
// happen, and the report says so instead of showing its wall time.
func TestAnUndoneRefreshIsReportedAsNotDone(t *testing.T) {
	for _, tc := range []struct {
		requests int
		want     string
	}{
		{1, "not done (1 of the 47 requests it needs"},
		{47, "requests 47, minimum 47, wall 1.6s"},
	} {
		var out strings.Builder
		Print(&out, Result{Requests: 1, Targeted: Targeted{Workspace: "Finance", Requests: tc.requests, Minimum: 47, Wall: 1600 * time.Millisecond}})
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("%d requests: report\n%s\nwant %q", tc.requests, out.String(), tc.want)
		}
	}
}
