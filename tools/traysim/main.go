// Command traysim serves a simulated Tray.ai organization on a loopback
// port, for the demo, the conformance script and manual exploration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/conductorone/baton-trayai/internal/traysim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "traysim:", err)
		os.Exit(1)
	}
}

// printCounts reports the requests served, per endpoint and per status.
func printCounts(sim *traysim.Server) {
	counts, statuses := sim.Counts()
	keys := make([]string, 0, len(counts))
	total := 0
	for k, v := range counts {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	fmt.Fprintf(os.Stderr, "traysim: %d requests served\n", total)
	for _, k := range keys {
		fmt.Fprintf(os.Stderr, "  %5d  %s\n", counts[k], k)
	}
	fmt.Fprintf(os.Stderr, "traysim: answers by status: %v\n", statuses)
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on (port 0 picks a free one)")
	urlFile := flag.String("url-file", "", "write the server's base URL to this file once it listens")
	shape := flag.String("shape", "full", "list shape: full (items carry email and role), minimal (ids only), spec (the spec's workspace model) or third-party (role as a name)")
	users := flag.Int("users", traysim.DefaultOrgOptions.Users, "number of human users besides the Owner")
	workspaces := flag.Int("workspaces", traysim.DefaultOrgOptions.SharedWorkspaces, "number of shared workspaces")
	members := flag.Int("members", traysim.DefaultOrgOptions.MembersPerWorkspace, "average members per shared workspace")
	rateLimit := flag.Float64("rate-limit", 0, "answer 429 above this many requests per second (0: off)")
	latency := flag.Duration("latency", 0, "latency added to every request")
	errorRate := flag.Float64("error-rate", 0, "probability of a 5xx answer")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", *addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %q is not a loopback address: the simulator only listens locally", *addr)
	}
	sh, ok := traysim.ParseShape(*shape)
	if !ok {
		return fmt.Errorf("-shape %q: use one of %s", *shape, strings.Join(traysim.ShapeNames(), ", "))
	}
	org := traysim.DefaultOrgOptions
	org.Users, org.SharedWorkspaces, org.MembersPerWorkspace = *users, *workspaces, *members
	sim := traysim.New(traysim.Options{Org: org, Shape: sh, DeleteCreatesWorkspace: true})
	sim.SetFaults(traysim.Faults{RateLimit: *rateLimit, Latency: *latency, ServerErrorRate: *errorRate, Seed: 1})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(base+"\n"), 0o600); err != nil {
			return err
		}
	}
	// The first stdout line is the bare URL, for scripts to read.
	fmt.Fprintln(os.Stdout, base)
	fmt.Fprintf(os.Stderr, "traysim: serving a simulated Tray.ai organization at %s (token %s, shape %s)\n", base, traysim.AdminToken, sh)

	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	printCounts(sim)
	return nil
}
