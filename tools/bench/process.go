package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// peaks are the peak resident sets of the processes of a one-shot run:
// the supervisor that owns the exit status (absent in binaries older than
// it), the worker that runs the SDK's syncer and writes the c1z, and the
// connector process the worker starts.
type peaks struct {
	SupervisorMB, SyncerMB, ConnectorMB float64
}

// runBinary performs a one-shot sync with the real binary, as an operator
// runs it, and returns each process's peak RSS, sampled from /proc every
// 10 ms until they exit (a peak in a process's last milliseconds can
// escape the sampler).
func runBinary(ctx context.Context, binary, baseURL, c1z string, clientRPS, workers int, extra ...string) (peaks, error) {
	args := append([]string{"--base-url", baseURL, "-f", c1z, "--log-level", "warn"}, extra...)
	if clientRPS != 0 {
		args = append(args, "--rate-limit", strconv.Itoa(clientRPS))
	}
	if workers != 0 {
		args = append(args, "--workers", strconv.Itoa(workers))
	}
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "BATON_AUTH_TOKEN=sim-admin-token")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return peaks{}, err
	}
	var (
		mu        sync.Mutex
		seen      = map[int]float64{}
		connector = map[int]bool{}
		depth     = map[int]int{} // 0 for the binary, 1 for its children, …
		done      = make(chan struct{})
	)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			for pid, d := range descendants(cmd.Process.Pid) {
				mb := vmHWM(pid)
				if mb == 0 {
					continue
				}
				// Read on every sample: a child first seen between fork and
				// exec still shows its parent's command line.
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				mu.Lock()
				depth[pid] = d
				connector[pid] = connector[pid] || strings.Contains(string(cmdline), "_connector-service")
				seen[pid] = max(seen[pid], mb)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	werr := cmd.Wait()
	close(done)
	if werr != nil {
		return peaks{}, fmt.Errorf("%s: %w\n%s", filepath.Base(binary), werr, out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	return attribute(seen, depth, connector), nil
}

// attribute names each sampled process by its place in the tree: the
// connector by its command, the syncer as the binary itself or, when the
// binary supervises, its child.
func attribute(seen map[int]float64, depth map[int]int, connector map[int]bool) peaks {
	var p peaks
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

// descendants returns pid and every process below it, each with its depth
// below pid. Children are listed per thread, and Go starts processes from
// any of its threads.
func descendants(pid int) map[int]int {
	out := []int{pid}
	depth := map[int]int{pid: 0}
	for i := 0; i < len(out); i++ {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", out[i]))
		for _, t := range tasks {
			raw, err := os.ReadFile(t)
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(raw)) {
				if c, err := strconv.Atoi(f); err == nil && !slices.Contains(out, c) {
					out = append(out, c)
					depth[c] = depth[out[i]] + 1
				}
			}
		}
	}
	return depth
}

func vmHWM(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
