package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/tools/bench/report"
)

// StorageConfig is one run of the storage comparison: a one-shot full sync
// with the real binary into a new c1z, then a targeted sync of one
// workspace into the same file.
type StorageConfig struct {
	Users, Workspaces, Members int
	Shape                      traysim.Shape
	// Engine is --storage-engine: sqlite or pebble.
	Engine string
	// Listed is --listed-memberships-only: no implicit Admin grants.
	Listed bool
	Binary string
	// ClientRPS is --rate-limit; the simulator answers as fast as it can,
	// so that the storage engine, not Tray's pace, is what is measured.
	ClientRPS int
}

// StorageResult is what a storage run measured.
type StorageResult struct {
	Config StorageConfig
	Wall   time.Duration
	Peaks  report.Peaks
	// C1ZMB is the size of the c1z after the full sync.
	C1ZMB     float64
	Resources int
	Grants    int
	// Refused is true when the binary refused the targeted sync (exit 9).
	Refused       bool
	FullKept      bool // the full sync is still in the file after the targeted one
	KeptResources int
	KeptGrants    int
}

// RunStorage measures one engine on one organization.
func RunStorage(ctx context.Context, cfg StorageConfig) (StorageResult, error) {
	sim := benchOrg(cfg.Users, cfg.Workspaces, cfg.Members, cfg.Shape)
	defer sim.Close()
	url, stop := traysim.Listen(sim)
	defer stop()
	dir, err := os.MkdirTemp("", "trayai-storage")
	if err != nil {
		return StorageResult{}, err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return StorageResult{}, err
	}
	path := filepath.Join(dir, "sync.c1z")
	extra := []string{"--storage-engine", cfg.Engine}
	if cfg.Listed {
		extra = append(extra, "--listed-memberships-only")
	}
	run := oneShot{binary: cfg.Binary, baseURL: url, c1z: path, clientRPS: cfg.ClientRPS, tempDir: tmp, extra: extra}

	res := StorageResult{Config: cfg}
	start := time.Now()
	if res.Peaks, err = runBinary(ctx, run); err != nil {
		return StorageResult{}, err
	}
	res.Wall = time.Since(start)
	res.C1ZMB = fileMB(path)
	full, err := harness.Read(ctx, path, dir)
	if err != nil {
		return StorageResult{}, err
	}
	res.Resources, res.Grants = len(full.Resources), len(full.Grants)

	ws := sim.Snapshot().WorkspacesOfType("Shared")[0]
	run.extra = append(run.extra, "--sync-resources", "bid:r:workspace/"+ws.ID)
	// The refusal a pebble file gets (FailedPrecondition, exit 9) is a
	// result; any other failure fails the benchmark.
	var exit *exec.ExitError
	switch _, err = runBinary(ctx, run); {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == int(codes.FailedPrecondition):
		res.Refused = true
	default:
		return StorageResult{}, fmt.Errorf("targeted sync: %w", err)
	}
	if kept, err := harness.ReadFull(ctx, path, dir); err == nil {
		res.FullKept = len(kept.Resources) == res.Resources && len(kept.Grants) == res.Grants
		res.KeptResources, res.KeptGrants = len(kept.Resources), len(kept.Grants)
	}
	return res, nil
}

func fileMB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

// PrintStorageHeader writes the header of the storage table.
func PrintStorageHeader(w io.Writer) {
	fmt.Fprintln(w, "| Users | Shape | Implicit grants | Engine | Wall | Syncer peak RSS | Connector peak RSS | Supervisor | TMPDIR peak | c1z | Grants | After a targeted sync |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
}

// PrintStorage writes one row of the storage table.
func PrintStorage(w io.Writer, r StorageResult) {
	implicit := "on"
	if r.Config.Listed {
		implicit = "off"
	}
	after := fmt.Sprintf("full sync kept (%d resources, %d grants)", r.KeptResources, r.KeptGrants)
	switch {
	case r.Refused && r.FullKept:
		after = "targeted sync refused; full sync kept"
	case !r.FullKept:
		after = fmt.Sprintf("**full sync lost** (left: %d resources)", r.KeptResources)
	}
	fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.0f MB | %.0f MB | %.0f MB | %.0f MB | %.2f MB | %s | %s |\n",
		thousands(r.Config.Users), r.Config.Shape, implicit, r.Config.Engine, r.Wall.Round(100*time.Millisecond),
		r.Peaks.SyncerMB, r.Peaks.ConnectorMB, r.Peaks.SupervisorMB, r.Peaks.TempMB, r.C1ZMB, thousands(r.Grants), after)
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// PrintImplicitCost writes, per shape and engine, the syncer's peak with
// the implicit Admin grants over its peak with --listed-memberships-only.
func PrintImplicitCost(w io.Writer, results []StorageResult) {
	type key struct {
		shape  traysim.Shape
		engine string
	}
	on, off := map[key]float64{}, map[key]float64{}
	var keys []key
	for _, r := range results {
		k := key{r.Config.Shape, r.Config.Engine}
		if r.Config.Listed {
			off[k] = r.Peaks.SyncerMB
		} else {
			on[k] = r.Peaks.SyncerMB
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if off[k] > 0 {
			fmt.Fprintf(w, "implicit grants, %s shape, %s: syncer peak %.0f MB / %.0f MB listed only = x%.2f\n", k.shape, k.engine, on[k], off[k], on[k]/off[k])
		}
	}
}
