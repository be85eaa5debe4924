package report

import (
	"strings"
	"testing"
	"time"
)

// A run's processes are told apart by their place in the tree, whatever
// order the sampler first saw them in and whatever a child's command line
// was before its exec.
func TestProcessesAreAttributedByTheirPlaceInTheTree(t *testing.T) {
	supervised := Attribute(
		map[int]float64{30: 55, 10: 40, 20: 190},
		map[int]int{10: 0, 20: 1, 30: 2},
		map[int]bool{30: true},
	)
	if want := (Peaks{SupervisorMB: 40, SyncerMB: 190, ConnectorMB: 55}); supervised != want {
		t.Errorf("supervised run: %+v, want %+v", supervised, want)
	}
	direct := Attribute(
		map[int]float64{20: 50, 10: 60},
		map[int]int{10: 0, 20: 1},
		map[int]bool{20: true},
	)
	if want := (Peaks{SyncerMB: 60, ConnectorMB: 50}); direct != want {
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
