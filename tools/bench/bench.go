package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"

	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
	"github.com/conductorone/baton-trayai/pkg/config"
	"github.com/conductorone/baton-trayai/pkg/connector"
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
	// Processes are the one-shot binary's processes' peaks (binary mode).
	Processes peaks
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

// benchOrg is the organization every benchmark mode syncs: the same seed,
// so that runs of different modes and binaries compare.
func benchOrg(users, workspaces, members int, shape traysim.Shape) *traysim.Server {
	return traysim.New(traysim.Options{
		Org:   traysim.OrgOptions{Seed: 11, Users: users, APIUsers: 2, SharedWorkspaces: workspaces, MembersPerWorkspace: members},
		Shape: shape,
	})
}

// Run performs one benchmark sync.
func Run(ctx context.Context, cfg Config) (Result, error) {
	sim := benchOrg(cfg.Users, cfg.Workspaces, cfg.Members, cfg.Shape)
	sim.SetFaults(traysim.Faults{RateLimit: cfg.ServerRPS, Burst: 50, Latency: cfg.Latency, CompetitorRPS: cfg.CompetitorRPS})
	defer sim.Close()
	url, stop := traysim.Listen(sim)
	defer stop()

	settings, err := connector.ParseSettings(connectorConfig{baseURL: url, rps: cfg.ClientRPS}.trayai())
	if err != nil {
		return Result{}, err
	}
	dir, err := os.MkdirTemp("", "trayai-bench")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sync.c1z")

	start := time.Now()
	full, err := fullSync(ctx, cfg, settings, url, path, dir)
	if err != nil {
		return Result{}, err
	}
	if full.served != nil {
		defer full.served.Close()
	}
	wall := time.Since(start)

	counts, statuses := sim.Counts()
	res := Result{Config: cfg, PerEndpoint: counts, TooMany: statuses[429], Succeeded: statuses[200] + statuses[204], Wall: wall,
		Competitor: sim.Competitor(),
		Minimum:    Minimum(sim.Snapshot(), cfg.Shape, settings.WorkspaceTypes), PeakRSSMB: full.peak, Processes: full.procs}
	for _, n := range counts {
		res.Requests += n
	}
	got, err := harness.Read(ctx, path, dir)
	if err != nil {
		return Result{}, err
	}
	res.Resources, res.Grants = len(got.Resources), len(got.Grants)
	if res.Targeted, err = refreshOne(ctx, cfg, sim, full.served, url, path, dir); err != nil {
		return Result{}, err
	}
	return res, nil
}

// measuredSync is what a benchmark's full sync leaves for the rest of the
// run: the peaks it measured and, in process, the connector it served.
type measuredSync struct {
	peak   float64
	procs  peaks
	served *harness.Served
}

// fullSync writes the full sync to path: with the binary, one-shot, as
// operators run it, or in process through the SDK harness. The caller
// closes the served connector.
func fullSync(ctx context.Context, cfg Config, settings connector.Settings, url, path, dir string) (measuredSync, error) {
	if cfg.Binary != "" {
		procs, err := runBinary(ctx, oneShot{binary: cfg.Binary, baseURL: url, c1z: path, clientRPS: cfg.ClientRPS, workers: cfg.Workers})
		return measuredSync{procs: procs}, err
	}
	conn, err := connector.NewWithSettings(ctx, settings, nil)
	if err != nil {
		return measuredSync{}, err
	}
	served, err := harness.Serve(ctx, conn)
	if err != nil {
		return measuredSync{}, err
	}
	if err := harness.Sync(ctx, served.Client, path, harness.SyncOptions{TmpDir: dir, Workers: cfg.Workers, Production: true}); err != nil {
		served.Close()
		return measuredSync{}, err
	}
	// Measured before the c1z is read back, which is the benchmark's own
	// cost; it includes the in-process simulator.
	return measuredSync{peak: peakRSSMB(), served: served}, nil
}

// refreshOne runs a targeted sync of the first shared workspace into the
// c1z of the full sync, as ConductorOne's refresh after a grant does.
func refreshOne(ctx context.Context, cfg Config, sim *traysim.Server, served *harness.Served, baseURL, path, dir string) (Targeted, error) {
	sn := sim.Snapshot()
	ws := sn.WorkspacesOfType("Shared")[0]
	sim.ResetCounts()
	start := time.Now()
	if cfg.Binary != "" {
		if _, err := runBinary(ctx, oneShot{binary: cfg.Binary, baseURL: baseURL, c1z: path, clientRPS: cfg.ClientRPS, workers: cfg.Workers,
			extra: []string{"--sync-resources", "bid:r:workspace/" + ws.ID}}); err != nil {
			return Targeted{}, err
		}
	} else {
		target := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "workspace", Resource: ws.ID}.Build()}.Build()
		if err := harness.Sync(ctx, served.Client, path, harness.SyncOptions{TmpDir: dir, Production: true, Targets: []*v2.Resource{target}}); err != nil {
			return Targeted{}, err
		}
	}
	t := Targeted{Workspace: ws.Name, Wall: time.Since(start)}
	t.PerEndpoint, _ = sim.Counts()
	for _, n := range t.PerEndpoint {
		t.Requests += n
	}
	pages := func(n, size int) int { return max(1, (n+size-1)/size) }
	// Validation, the workspace, its roles, the organization roles behind
	// the implicit Admin grants, its member pages and, in every shape but
	// the full one, a lookup per member.
	t.Minimum = 1 + 1 + pages(len(ws.Roles), client.MaxPageSizeWsRoles) + pages(len(sn.OrgRoles), client.MaxPageSizeOrgRoles) +
		pages(len(sn.Members[ws.ID]), client.MaxPageSizeWsUsers)
	if cfg.Shape != traysim.ShapeFull {
		t.Minimum += len(sn.Members[ws.ID])
	}
	return t, nil
}

// Minimum is the fewest requests a full sync of this organization needs:
// one validation call, every list at its maximum page size (an empty list
// still costs one request), and in every shape but the full one a GET per
// user and per membership, since those lists lack email or role ids.
func Minimum(sn traysim.Snapshot, shape traysim.Shape, types map[client.WorkspaceType]bool) int {
	pages := func(n, size int) int { return max(1, (n+size-1)/size) }
	n := 1 // validation: GET /core/v1/roles?first=1
	n += pages(len(sn.Users), client.MaxPageSizeUsers)
	n += pages(len(sn.OrgRoles), client.MaxPageSizeOrgRoles)
	n += pages(len(sn.Workspaces), client.MaxPageSizeWorkspaces)
	for _, w := range sn.Workspaces {
		if !types[client.WorkspaceType(w.Type)] || w.Type == "Organization" {
			continue // the Organization workspace's grants come from the user list
		}
		n += pages(len(w.Roles), client.MaxPageSizeWsRoles)
		n += pages(len(sn.Members[w.ID]), client.MaxPageSizeWsUsers)
		if shape != traysim.ShapeFull {
			n += len(sn.Members[w.ID])
		}
	}
	if shape != traysim.ShapeFull {
		n += len(sn.Users)
	}
	return n
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

// peakRSSMB reads this process's high-water resident set (Linux); it
// includes the in-process simulator, so it overstates the connector.
// Elsewhere it falls back to the memory the Go runtime obtained.
func peakRSSMB() float64 {
	if mb := vmHWM(os.Getpid()); mb > 0 {
		return mb
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.Sys) / (1 << 20)
}

// connectorConfig is the production configuration pointed at the simulator.
type connectorConfig struct {
	baseURL string
	rps     int
}

func (c connectorConfig) trayai() *config.Trayai {
	return &config.Trayai{AuthToken: traysim.AdminToken, BaseUrl: c.baseURL, RateLimit: c.rps}
}
