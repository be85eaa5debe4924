// Command bench runs the performance benchmark of docs/performance.md: a
// full sync of a large simulated organization with simulated latency and
// Tray's 30 rps limit, in both list shapes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/conductorone/baton-trayai/internal/bench"
	"github.com/conductorone/baton-trayai/pkg/traysim"
)

func main() {
	users := flag.Int("users", 5000, "human users")
	workspaces := flag.Int("workspaces", 100, "shared workspaces")
	members := flag.Int("members", 40, "average members per shared workspace")
	latency := flag.Duration("latency", 20*time.Millisecond, "simulated latency per request")
	serverRPS := flag.Float64("server-rps", 30, "simulator rate limit (Tray.ai: 30)")
	clientRPS := flag.Int("rate-limit", 0, "connector --rate-limit (0: its default)")
	shapes := flag.String("shapes", "full,minimal", "list shapes to run")
	workers := flag.Int("workers", 0, "SDK --workers")
	binary := flag.String("binary", "", "run this baton-trayai binary one-shot and measure its processes (default: in-process SDK harness)")
	flag.Parse()
	_ = os.Setenv("BATON_DISABLE_HTTP_CACHE", "true")

	for _, name := range strings.Split(*shapes, ",") {
		shape := traysim.ShapeFull
		for _, s := range traysim.Shapes {
			if s.String() == strings.TrimSpace(name) {
				shape = s
			}
		}
		r, err := bench.Run(context.Background(), bench.Config{Users: *users, Workspaces: *workspaces, Members: *members,
			Shape: shape, Latency: *latency, ServerRPS: *serverRPS, ClientRPS: *clientRPS, Workers: *workers, Binary: *binary})
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		bench.Print(os.Stdout, r)
	}
}
