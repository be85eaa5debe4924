package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"

	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
	"github.com/conductorone/baton-trayai/pkg/config"
	"github.com/conductorone/baton-trayai/pkg/connector"
	"github.com/conductorone/baton-trayai/tools/bench/report"
)

// benchOrg is the organization every benchmark mode syncs: the same seed,
// so that runs of different modes and binaries compare.
func benchOrg(users, workspaces, members int, shape traysim.Shape) *traysim.Server {
	return traysim.New(traysim.Options{
		Org:   traysim.OrgOptions{Seed: 11, Users: users, APIUsers: 2, SharedWorkspaces: workspaces, MembersPerWorkspace: members},
		Shape: shape,
	})
}

// Run performs one benchmark sync.
func Run(ctx context.Context, cfg report.Config) (report.Result, error) {
	sim := benchOrg(cfg.Users, cfg.Workspaces, cfg.Members, cfg.Shape)
	sim.SetFaults(traysim.Faults{RateLimit: cfg.ServerRPS, Burst: 50, Latency: cfg.Latency, CompetitorRPS: cfg.CompetitorRPS})
	defer sim.Close()
	url, stop := traysim.Listen(sim)
	defer stop()

	settings, err := connector.ParseSettings(connectorConfig{baseURL: url, rps: cfg.ClientRPS}.trayai())
	if err != nil {
		return report.Result{}, err
	}
	dir, err := os.MkdirTemp("", "trayai-bench")
	if err != nil {
		return report.Result{}, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sync.c1z")

	start := time.Now()
	full, err := fullSync(ctx, cfg, settings, url, path, dir)
	if err != nil {
		return report.Result{}, err
	}
	if full.served != nil {
		defer full.served.Close()
	}
	wall := time.Since(start)

	counts, statuses := sim.Counts()
	synced := func(typ string) bool { return settings.WorkspaceTypes[client.WorkspaceType(typ)] }
	res := report.Result{Config: cfg, PerEndpoint: counts, TooMany: statuses[429], Succeeded: statuses[200] + statuses[204], Wall: wall,
		Competitor: sim.Competitor(),
		Minimum:    sim.Snapshot().FewestSyncRequests(cfg.Shape, synced), PeakRSSMB: full.peak, Processes: full.procs}
	for _, n := range counts {
		res.Requests += n
	}
	got, err := harness.Read(ctx, path, dir)
	if err != nil {
		return report.Result{}, err
	}
	res.Resources, res.Grants = len(got.Resources), len(got.Grants)
	if res.Targeted, err = refreshOne(ctx, cfg, sim, full.served, url, path, dir); err != nil {
		return report.Result{}, err
	}
	return res, nil
}

// measuredSync is what a benchmark's full sync leaves for the rest of the
// run: the peaks it measured and, in process, the connector it served.
type measuredSync struct {
	peak   float64
	procs  report.Peaks
	served *harness.Served
}

// fullSync writes the full sync to path: with the binary, one-shot, as
// operators run it, or in process through the SDK harness. The caller
// closes the served connector.
func fullSync(ctx context.Context, cfg report.Config, settings connector.Settings, url, path, dir string) (measuredSync, error) {
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
func refreshOne(ctx context.Context, cfg report.Config, sim *traysim.Server, served *harness.Served, baseURL, path, dir string) (report.Targeted, error) {
	sn := sim.Snapshot()
	ws := sn.WorkspacesOfType("Shared")[0]
	sim.ResetCounts()
	start := time.Now()
	if cfg.Binary != "" {
		if _, err := runBinary(ctx, oneShot{binary: cfg.Binary, baseURL: baseURL, c1z: path, clientRPS: cfg.ClientRPS, workers: cfg.Workers,
			extra: []string{"--sync-resources", "bid:r:workspace/" + ws.ID}}); err != nil {
			return report.Targeted{}, err
		}
	} else {
		target := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "workspace", Resource: ws.ID}.Build()}.Build()
		if err := harness.Sync(ctx, served.Client, path, harness.SyncOptions{TmpDir: dir, Production: true, Targets: []*v2.Resource{target}}); err != nil {
			return report.Targeted{}, err
		}
	}
	t := report.Targeted{Workspace: ws.Name, Wall: time.Since(start)}
	t.PerEndpoint, _ = sim.Counts()
	for _, n := range t.PerEndpoint {
		t.Requests += n
	}
	t.Minimum = sn.FewestRefreshRequests(cfg.Shape, ws)
	return t, nil
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
