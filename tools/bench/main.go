// Command bench runs the performance benchmark of docs/performance.md: a
// full sync of a large simulated organization with simulated latency and
// Tray's 30 rps limit, in both list shapes, and compares the requests it
// made with the fewest the Tray.ai API allows.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/conductorone/baton-trayai/internal/manifest"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/tools/bench/report"
)

func main() {
	users := flag.Int("users", 5000, "human users")
	workspaces := flag.Int("workspaces", 100, "shared workspaces")
	members := flag.Int("members", 40, "average members per shared workspace")
	latency := flag.Duration("latency", 20*time.Millisecond, "simulated latency per request")
	serverRPS := flag.Float64("server-rps", 30, "simulator rate limit (Tray.ai: 30)")
	competitorRPS := flag.Float64("competitor-rps", 0, "requests a second another client spends from the same budget")
	clientRPS := flag.Int("rate-limit", 0, "connector --rate-limit (0: its default; with -storage, 50)")
	shapes := flag.String("shapes", "full,minimal", "list shapes to run: "+strings.Join(traysim.ShapeNames(), ", "))
	workers := flag.Int("workers", 0, "SDK --workers")
	binary := flag.String("binary", "", "run this baton-trayai binary one-shot and measure its processes (default: in-process SDK harness)")
	storage := flag.String("storage", "", "compare these storage engines (e.g. sqlite,pebble) with -binary: full and targeted sync, memory, disk, c1z")
	implicit := flag.String("implicit", "on,off", "with -storage: the implicit Admin grants on (default) and/or off (--listed-memberships-only)")
	service := flag.Int("service", 0, "with -binary: run this many sync tasks in service mode against the ConductorOne stand-in, shapes alternating")
	manifest := flag.String("manifest", "", "with -service: hold the service to this Kubernetes manifest's memory limit and give it its Go runtime settings (e.g. deploy/kubernetes)")
	expand := flag.Bool("expand", false, "with -service: sync tasks without skip_expand_grants (ConductorOne normally sends it)")
	extraArgs := flag.String("args", "", "with -service: more arguments for the binary, space-separated (e.g. --storage-engine pebble)")
	flag.Parse()

	var runs []traysim.Shape
	for _, name := range strings.Split(*shapes, ",") {
		shape, ok := traysim.ParseShape(strings.TrimSpace(name))
		if !ok {
			fmt.Fprintf(os.Stderr, "bench: -shapes: %q is not a list shape; use %s\n", name, strings.Join(traysim.ShapeNames(), ", "))
			os.Exit(2)
		}
		runs = append(runs, shape)
	}
	if *service > 0 {
		os.Exit(serviceSoak(ServiceConfig{Users: *users, Workspaces: *workspaces, Members: *members, Shapes: runs, Tasks: *service,
			Binary: *binary, Expand: *expand, Args: strings.Fields(*extraArgs), ClientRPS: 50}, *manifest))
	}
	if *storage != "" {
		rps := *clientRPS
		if rps == 0 {
			rps = 50 // the simulator has no limit here: pace only the client
		}
		os.Exit(storageTable(*storage, *implicit, *binary, *users, *workspaces, *members, rps, runs))
	}
	for _, shape := range runs {
		r, err := Run(context.Background(), report.Config{Users: *users, Workspaces: *workspaces, Members: *members,
			Shape: shape, Latency: *latency, ServerRPS: *serverRPS, CompetitorRPS: *competitorRPS, ClientRPS: *clientRPS, Workers: *workers, Binary: *binary})
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		report.Print(os.Stdout, r)
	}
}

// storageTable runs the storage comparison and prints it as a table.
func storageTable(engines, implicit, binary string, users, workspaces, members, clientRPS int, shapes []traysim.Shape) int {
	if binary == "" {
		fmt.Fprintln(os.Stderr, "bench: -storage measures the real binary's processes: give -binary")
		return 2
	}
	PrintStorageHeader(os.Stdout)
	var results []StorageResult
	defer func() { PrintImplicitCost(os.Stdout, results) }()
	for _, shape := range shapes {
		for _, imp := range strings.Split(implicit, ",") {
			for _, engine := range strings.Split(engines, ",") {
				r, err := RunStorage(context.Background(), StorageConfig{Users: users, Workspaces: workspaces, Members: members,
					Shape: shape, Engine: strings.TrimSpace(engine), Listed: strings.TrimSpace(imp) == "off", Binary: binary, ClientRPS: clientRPS})
				if err != nil {
					fmt.Fprintln(os.Stderr, "bench:", err)
					return 1
				}
				PrintStorage(os.Stdout, r)
				results = append(results, r)
			}
		}
	}
	return 0
}

// serviceSoak runs a service-mode soak and prints it.
func serviceSoak(cfg ServiceConfig, manifestDir string) int {
	if cfg.Binary == "" {
		fmt.Fprintln(os.Stderr, "bench: -service runs the real binary: give -binary")
		return 2
	}
	if manifestDir != "" {
		dep, _, err := manifest.Load(manifestDir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		cfg.MemoryLimit = dep.MemoryLimit
		for _, e := range dep.Env {
			if strings.HasPrefix(e.Name, "GO") {
				cfg.Env = append(cfg.Env, e.Name+"="+e.Value)
			}
		}
	}
	r, err := RunService(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	PrintService(os.Stdout, r)
	return 0
}
