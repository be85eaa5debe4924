// Package report holds what a benchmark run of tools/bench measured, and
// writes it out. It imports neither the SDK nor the connector, so its tests
// link in a moment.
package report

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/conductorone/baton-trayai/internal/traysim"
)

// Config describes one benchmark run.
type Config struct {
	Users, Workspaces, Members int
	Shape                      traysim.Shape
	Latency                    time.Duration
	// ServerRPS is the simulator's rate limit (Tray: 30, burst 50).
	ServerRPS float64
	// CompetitorRPS is spent from the same budget by another client.
	CompetitorRPS float64
	// ClientRPS is the connector's limiter; 0 keeps its default.
	ClientRPS int
	Workers   int
	// Binary, when set, runs that baton-trayai binary one-shot instead of
	// the in-process SDK harness, and measures its processes' memory.
	Binary string
}

// Result is what a run measured.
type Result struct {
	Config      Config
	PerEndpoint map[string]int
	Requests    int
	Minimum     int
	TooMany     int
	// Succeeded counts 2xx answers: above the minimum, work was redone.
	Succeeded  int
	Competitor traysim.CompetitorStats
	Wall       time.Duration
	PeakRSSMB  float64
	// Processes are the one-shot binary's processes' Peaks (binary mode).
	Processes Peaks
	Resources int
	Grants    int
	// Targeted is the refresh of one shared workspace after the full sync.
	Targeted Targeted
}

// Targeted is a targeted sync of one workspace (--sync-resources).
type Targeted struct {
	Workspace   string
	PerEndpoint map[string]int
	Requests    int
	Minimum     int
	Wall        time.Duration
}

// Ratio is requests divided by the minimum.
func (r Result) Ratio() float64 { return float64(r.Requests) / float64(r.Minimum) }

// budgetRPS is the share of Tray's 30 rps left to the connector.
func (r Result) budgetRPS() float64 { return 30 - r.Config.CompetitorRPS }

// TimeRatio is wall time divided by the time the minimum takes at the
// rate left to the connector (30 rps, less what a competing client spends).
func (r Result) TimeRatio() float64 {
	return r.Wall.Seconds() / (float64(r.Minimum) / r.budgetRPS())
}

// Print writes a result as a readable block.
func Print(w io.Writer, r Result) {
	fmt.Fprintf(w, "== %d users, %d shared workspaces x ~%d members, shape %s, latency %s, server limit %.0f rps, workers %d\n",
		r.Config.Users, r.Config.Workspaces, r.Config.Members, r.Config.Shape, r.Config.Latency, r.Config.ServerRPS, r.Config.Workers)
	keys := make([]string, 0, len(r.PerEndpoint))
	for k := range r.PerEndpoint {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "   %7d  %s\n", r.PerEndpoint[k], k)
	}
	fmt.Fprintf(w, "   requests %d, theoretical minimum %d (x%.3f), 429s %d (%.2f%%), successes %d\n",
		r.Requests, r.Minimum, r.Ratio(), r.TooMany, 100*float64(r.TooMany)/float64(r.Requests), r.Succeeded)
	if r.Config.CompetitorRPS > 0 {
		fmt.Fprintf(w, "   competing client at %.0f rps: %d requests served\n", r.Config.CompetitorRPS, r.Competitor.Served)
	}
	minTime := time.Duration(float64(r.Minimum) / r.budgetRPS() * float64(time.Second))
	fmt.Fprintf(w, "   wall %s, minimum at %.0f rps %s (x%.2f), %d resources, %d grants\n",
		r.Wall.Round(100*time.Millisecond), r.budgetRPS(), minTime.Round(100*time.Millisecond), r.TimeRatio(), r.Resources, r.Grants)
	t := r.Targeted
	if t.Requests < t.Minimum {
		// A binary older than targeted sync ignores --sync-resources' target
		// and validates only: that is no refresh, whatever its wall time.
		fmt.Fprintf(w, "   targeted refresh of workspace %q: not done (%d of the %d requests it needs; a binary without targeted sync)\n",
			t.Workspace, t.Requests, t.Minimum)
	} else {
		fmt.Fprintf(w, "   targeted refresh of workspace %q: requests %d, minimum %d, wall %s\n",
			t.Workspace, t.Requests, t.Minimum, t.Wall.Round(100*time.Millisecond))
	}
	if r.Config.Binary != "" {
		fmt.Fprintf(w, "   peak RSS: syncer process %.0f MB, connector process %.0f MB, supervisor %.0f MB (one-shot binary)\n",
			r.Processes.SyncerMB, r.Processes.ConnectorMB, r.Processes.SupervisorMB)
	} else {
		fmt.Fprintf(w, "   peak RSS %.0f MB (syncer, connector and simulator in one process)\n", r.PeakRSSMB)
	}
}

// Peaks are the peak resident sets of the processes of a one-shot run:
// the supervisor that owns the exit status (absent in binaries older than
// it), the worker that runs the SDK's syncer and writes the c1z, and the
// connector process the worker starts.
type Peaks struct {
	SupervisorMB, SyncerMB, ConnectorMB float64
	// TempMB is the peak disk use of the run's TMPDIR, when sampled.
	TempMB float64
}

// Attribute names each sampled process by its place in the tree: the
// connector by its command, the syncer as the binary itself or, when the
// binary supervises, its child.
func Attribute(seen map[int]float64, depth map[int]int, connector map[int]bool) Peaks {
	var p Peaks
	var root, child float64
	supervised := false
	for pid, mb := range seen {
		switch {
		case connector[pid]:
			p.ConnectorMB = max(p.ConnectorMB, mb)
		case depth[pid] == 0:
			root = mb
		case depth[pid] == 1:
			supervised, child = true, max(child, mb)
		}
	}
	if supervised {
		p.SupervisorMB, p.SyncerMB = root, child
	} else {
		p.SyncerMB = root
	}
	return p
}
