package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/conductorone/baton-trayai/tools/bench/report"
)

// oneShot is a one-shot run of the binary against the simulator.
type oneShot struct {
	binary, baseURL, c1z string
	clientRPS, workers   int
	// tempDir, when set, is the run's TMPDIR, whose disk use is sampled.
	tempDir string
	extra   []string
}

// runBinary performs a one-shot sync with the real binary, as an operator
// runs it, and returns each process's peak RSS, sampled from /proc every
// 10 ms until they exit (a peak in a process's last milliseconds can
// escape the sampler), and the peak disk use of its TMPDIR.
func runBinary(ctx context.Context, o oneShot) (report.Peaks, error) {
	cmd := o.command(ctx)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return report.Peaks{}, err
	}
	s := newPeakSampler()
	go s.run(cmd.Process.Pid, o.tempDir)
	werr := cmd.Wait()
	close(s.done)
	if werr != nil {
		return report.Peaks{}, fmt.Errorf("%s: %w\n%s", filepath.Base(o.binary), werr, out.String())
	}
	return s.peaks(), nil
}

// command is the binary's command line and environment for the run.
func (o oneShot) command(ctx context.Context) *exec.Cmd {
	args := append([]string{"--base-url", o.baseURL, "-f", o.c1z, "--log-level", "warn"}, o.extra...)
	if o.clientRPS != 0 {
		args = append(args, "--rate-limit", strconv.Itoa(o.clientRPS))
	}
	if o.workers != 0 {
		args = append(args, "--workers", strconv.Itoa(o.workers))
	}
	cmd := exec.CommandContext(ctx, o.binary, args...) //nolint:gosec // the binary under measurement, named on the command line
	cmd.Env = append(os.Environ(), "BATON_AUTH_TOKEN=sim-admin-token")
	if o.tempDir != "" {
		cmd.Env = append(cmd.Env, "TMPDIR="+o.tempDir)
	}
	return cmd
}

// peakSampler keeps the peaks of a process tree seen so far.
type peakSampler struct {
	mu        sync.Mutex
	seen      map[int]float64
	connector map[int]bool
	depth     map[int]int // 0 for the binary, 1 for its children, …
	tempPeak  float64
	done      chan struct{} // closed to stop sampling
}

func newPeakSampler() *peakSampler {
	return &peakSampler{seen: map[int]float64{}, connector: map[int]bool{}, depth: map[int]int{}, done: make(chan struct{})}
}

// run samples the tree below root every 10 ms, and the disk use of
// tempDir (when set) every 100 ms, until done is closed.
func (s *peakSampler) run(root int, tempDir string) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		if tempDir != "" && n%10 == 0 {
			mb := diskUseMB(tempDir)
			s.mu.Lock()
			s.tempPeak = max(s.tempPeak, mb)
			s.mu.Unlock()
		}
		s.sampleTree(root)
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
	}
}

// sampleTree records the peak RSS of every process below root.
func (s *peakSampler) sampleTree(root int) {
	for pid, d := range descendants(root) {
		mb := vmHWM(pid)
		if mb == 0 {
			continue
		}
		// Read on every sample: a child first seen between fork and
		// exec still shows its parent's command line.
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		s.mu.Lock()
		s.depth[pid] = d
		s.connector[pid] = s.connector[pid] || strings.Contains(string(cmdline), "_connector-service")
		s.seen[pid] = max(s.seen[pid], mb)
		s.mu.Unlock()
	}
}

// peaks attributes the peaks seen to the processes of a run.
func (s *peakSampler) peaks() report.Peaks {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := report.Attribute(s.seen, s.depth, s.connector)
	p.TempMB = s.tempPeak
	return p
}

// diskUseMB is the disk space the files under dir take, as du and the
// kubelet's emptyDir limit count it: allocated blocks, not file sizes.
func diskUseMB(dir string) float64 {
	var blocks int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil //nolint:nilerr // a file removed while walking
		}
		if info, err := d.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				blocks += st.Blocks
			}
		}
		return nil
	})
	return float64(blocks*512) / (1 << 20)
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
