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

// runBinary performs a one-shot sync with the real binary, as an operator
// runs it: the binary's main process runs the SDK's syncer and writes the
// c1z, and it starts a child process that hosts the connector. It returns
// the peak RSS of each, sampled from /proc until they exit.
func runBinary(ctx context.Context, binary, baseURL, c1z string, clientRPS, workers int) (parentMB, childMB float64, err error) { //nolint:nonamedreturns // two same-typed results read better named
	args := []string{"--base-url", baseURL, "-f", c1z, "--log-level", "warn"}
	if clientRPS != 0 {
		args = append(args, "--rate-limit", strconv.Itoa(clientRPS))
	}
	if workers != 0 {
		args = append(args, "--workers", strconv.Itoa(workers))
	}
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "BATON_AUTH_TOKEN=sim-admin-token", "BATON_DISABLE_HTTP_CACHE=true")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	var (
		mu    sync.Mutex
		peaks = map[int]float64{}
		done  = make(chan struct{})
	)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, pid := range descendants(cmd.Process.Pid) {
				if mb := vmHWM(pid); mb > 0 {
					mu.Lock()
					peaks[pid] = max(peaks[pid], mb)
					mu.Unlock()
				}
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
		return 0, 0, fmt.Errorf("%s: %w\n%s", filepath.Base(binary), werr, out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	for pid, mb := range peaks {
		if pid == cmd.Process.Pid {
			parentMB = mb
		} else {
			childMB = max(childMB, mb)
		}
	}
	return parentMB, childMB, nil
}

// descendants returns pid and every process below it. Children are listed
// per thread, and Go starts processes from any of its threads.
func descendants(pid int) []int {
	out := []int{pid}
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
				}
			}
		}
	}
	return out
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
