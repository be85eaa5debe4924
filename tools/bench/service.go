package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/conductorone/baton-trayai/internal/c1sim"
	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/memcg"
	"github.com/conductorone/baton-trayai/internal/traysim"
)

// ServiceConfig is a soak of service mode: the binary runs against the
// ConductorOne stand-in and is handed sync tasks one after the other, as
// ConductorOne hands them out.
type ServiceConfig struct {
	Users, Workspaces, Members int
	// Shapes alternate from task to task.
	Shapes []traysim.Shape
	Tasks  int
	Binary string
	// Env is added to the binary's environment (the manifest's, e.g.
	// GOMEMLIMIT), after the stand-in's credentials.
	Env []string
	// Args are added to the binary's arguments (e.g. --storage-engine).
	Args []string
	// Expand asks the connector to expand grants; ConductorOne normally
	// sends skip_expand_grants and expands them itself.
	Expand bool
	// MemoryLimit, when set, holds the binary's process tree to it in a
	// memory cgroup, as a pod's limit does.
	MemoryLimit int64
	ClientRPS   int
}

// TaskSample is what one sync task cost.
type TaskSample struct {
	N     int
	Shape traysim.Shape
	Wall  time.Duration
	OK    bool
	// Peak resident set during the task, per process and of the whole
	// tree at once (sampled every 20 ms).
	RSS        processMB
	TreeMB     float64
	CgroupMB   float64 // the memory cgroup's own peak, when held to a limit
	FDs        processCount
	TempPeakMB float64
	// TempLeft is what TMPDIR holds once the task is finished, besides the
	// run directory and its lock.
	TempLeft  int
	Grants    int
	Resources int
}

type processMB struct{ Supervisor, Sync, Connector float64 }

type processCount struct{ Supervisor, Sync, Connector int }

// ServiceResult is a whole soak.
type ServiceResult struct {
	Config   ServiceConfig
	Tasks    []TaskSample
	OOMKills int
	// Exited is set when the service exited during the soak.
	Exited bool
	Output string
}

// RunService runs a service-mode soak.
func RunService(ctx context.Context, cfg ServiceConfig) (ServiceResult, error) {
	sim := benchOrg(cfg.Users, cfg.Workspaces, cfg.Members, cfg.Shapes[0])
	defer sim.Close()
	url, stop := traysim.Listen(sim)
	defer stop()
	c1, err := c1sim.Start(c1sim.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		return ServiceResult{}, err
	}
	defer c1.Close()
	dir, err := os.MkdirTemp("", "trayai-service")
	if err != nil {
		return ServiceResult{}, err
	}
	defer os.RemoveAll(dir)

	svc := &service{cfg: cfg, sim: sim, c1: c1, dir: dir, cmd: serviceCommand(ctx, cfg, url, c1, dir)}
	svc.cmd.Stdout, svc.cmd.Stderr = &svc.out, &svc.out
	if cfg.MemoryLimit > 0 {
		if svc.group, err = memcg.New(fmt.Sprintf("trayai-bench-%d", os.Getpid()), cfg.MemoryLimit); err != nil {
			return ServiceResult{}, err
		}
		defer svc.group.Close()
		svc.group.Enter(svc.cmd)
	}
	if err := svc.start(); err != nil {
		return ServiceResult{}, err
	}
	defer svc.stop()
	helloCtx, cancel := svc.untilExit(ctx)
	defer cancel()
	if _, err := c1.WaitHello(helloCtx, 1); err != nil {
		return ServiceResult{}, fmt.Errorf("no Hello: %w\n%s", err, svc.out.String())
	}
	return svc.soak(ctx), nil
}

// service is the binary running in service mode during a soak, with the
// simulators it talks to.
type service struct {
	cfg   ServiceConfig
	sim   *traysim.Server
	c1    *c1sim.Server
	dir   string // the service's TMPDIR
	cmd   *exec.Cmd
	out   lockedBuffer
	group *memcg.Group  // nil without a memory limit
	done  chan struct{} // closed once the service has exited
}

// serviceCommand is the binary in service mode, with the stand-in's
// credentials, the simulated organization's token and TMPDIR dir.
func serviceCommand(ctx context.Context, cfg ServiceConfig, url string, c1 *c1sim.Server, dir string) *exec.Cmd {
	args := append([]string{"--base-url", url, "--log-level", "warn", "--rate-limit", strconv.Itoa(max(cfg.ClientRPS, 1))}, cfg.Args...)
	cmd := exec.CommandContext(ctx, cfg.Binary, args...) //nolint:gosec // the binary under measurement, named on the command line
	cmd.Env = append(append(append(os.Environ(), c1.Env()...), "BATON_AUTH_TOKEN="+traysim.AdminToken, "TMPDIR="+dir), cfg.Env...)
	return cmd
}

func (svc *service) start() error {
	if err := svc.cmd.Start(); err != nil {
		return err
	}
	svc.done = make(chan struct{})
	go func() { _ = svc.cmd.Wait(); close(svc.done) }()
	return nil
}

// stop ends the service as Kubernetes ends a pod: SIGTERM, and SIGKILL if
// it has not exited after a grace period.
func (svc *service) stop() {
	_ = svc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-svc.done:
	case <-time.After(15 * time.Second):
		_ = svc.cmd.Process.Kill()
		<-svc.done
	}
}

// soak hands the service its sync tasks one after the other, and stops
// early when it exits.
func (svc *service) soak(ctx context.Context) ServiceResult {
	res := ServiceResult{Config: svc.cfg}
	for n := 1; n <= svc.cfg.Tasks; n++ {
		s, err := svc.runTask(ctx, n)
		res.Tasks = append(res.Tasks, s)
		if err != nil {
			res.Exited = true
			break
		}
	}
	if svc.group != nil {
		res.OOMKills = svc.group.OOMKills()
	}
	res.Output = svc.out.String()
	return res
}

// runTask hands the service sync task n and measures it. The error says the
// task never finished: the service exited (or ctx ended) first.
func (svc *service) runTask(ctx context.Context, n int) (TaskSample, error) {
	shape := svc.cfg.Shapes[(n-1)%len(svc.cfg.Shapes)]
	svc.sim.SetShape(shape)
	w := watch(svc.cmd.Process.Pid, svc.dir, svc.group)
	start := time.Now()
	id := svc.c1.EnqueueFullSync(c1sim.FullSync{SkipExpandGrants: !svc.cfg.Expand})
	f, err := svc.waitFinished(ctx, id)
	s := w.stop()
	s.N, s.Shape, s.Wall, s.OK = n, shape, time.Since(start), err == nil && f.Success
	// The SDK removes a task's c1z after it sends FinishTask.
	s.TempLeft = settledLeft(svc.dir)
	if ups := svc.c1.Uploads(id); s.OK && len(ups) > 0 {
		s.Resources, s.Grants = tallyUploads(ctx, ups, svc.dir)
	}
	return s, err
}

// waitFinished waits for task id to finish, but no longer than the service
// runs: a service that exited never finishes it.
func (svc *service) waitFinished(ctx context.Context, id string) (*c1sim.Finished, error) {
	taskCtx, cancel := svc.untilExit(ctx)
	defer cancel()
	return svc.c1.WaitFinished(taskCtx, id)
}

// untilExit is ctx, ended also when the service exits: a wait on the
// stand-in must not outlive the process it waits for.
func (svc *service) untilExit(ctx context.Context) (context.Context, context.CancelFunc) {
	waitCtx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-svc.done:
			cancel()
		case <-waitCtx.Done():
		}
	}()
	return waitCtx, cancel
}

// lockedBuffer is the service's output, written by the process while the
// soak reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tallyUploads returns the number of resources and of grants in the first
// c1z a task uploaded, and removes the task's uploads: a soak keeps none.
func tallyUploads(ctx context.Context, ups []c1sim.Upload, dir string) (int, int) {
	got, err := harness.Read(ctx, ups[0].Path, dir)
	for _, u := range ups {
		_ = os.Remove(u.Path)
	}
	if err != nil {
		return 0, 0
	}
	return len(got.Resources), len(got.Grants)
}

// watcher samples a service's processes during one task.
type watcher struct {
	mu    sync.Mutex
	s     TaskSample
	quit  chan struct{}
	done  chan struct{}
	group *memcg.Group
}

func watch(root int, tmp string, group *memcg.Group) *watcher {
	w := &watcher{quit: make(chan struct{}), done: make(chan struct{}), group: group}
	if group != nil {
		group.ResetMaxUsage()
	}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			w.sample(root, tmp, n%10 == 0)
			select {
			case <-w.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *watcher) sample(root int, tmp string, disk bool) {
	var rss processMB
	var fds processCount
	tree := 0.0
	supervised := false
	for pid, depth := range descendants(root) {
		mb := statusMB(pid, "VmRSS:")
		n := countFDs(pid)
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		tree += mb
		switch {
		case strings.Contains(string(cmdline), "_connector-service"):
			rss.Connector, fds.Connector = mb, n
		case depth == 0:
			rss.Supervisor, fds.Supervisor = mb, n
		case depth == 1:
			supervised = true
			rss.Sync, fds.Sync = mb, n
		}
	}
	if !supervised { // the binary itself runs the SDK: no supervisor
		rss.Sync, fds.Sync, rss.Supervisor, fds.Supervisor = rss.Supervisor, fds.Supervisor, 0, 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.s.RSS = processMB{max(w.s.RSS.Supervisor, rss.Supervisor), max(w.s.RSS.Sync, rss.Sync), max(w.s.RSS.Connector, rss.Connector)}
	w.s.FDs = processCount{max(w.s.FDs.Supervisor, fds.Supervisor), max(w.s.FDs.Sync, fds.Sync), max(w.s.FDs.Connector, fds.Connector)}
	w.s.TreeMB = max(w.s.TreeMB, tree)
	if disk {
		w.s.TempPeakMB = max(w.s.TempPeakMB, diskUseMB(tmp))
	}
}

func (w *watcher) stop() TaskSample {
	close(w.quit)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.group != nil {
		w.s.CgroupMB = float64(w.group.MaxUsage()) / (1 << 20)
	}
	return w.s
}

func statusMB(pid int, field string) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func countFDs(pid int) int {
	entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(entries)
}

// settledLeft counts what dir holds once the files of the task just
// finished are gone, or after two seconds.
func settledLeft(dir string) int {
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := leftIn(dir)
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leftIn counts the files under dir besides run directories' locks.
func leftIn(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != "lock" {
			n++
		}
		return nil
	})
	return n
}

// PrintService writes a soak as a table, one row per task.
func PrintService(w io.Writer, r ServiceResult) {
	c := r.Config
	fmt.Fprintf(w, "== service mode: %d users, %d shared workspaces x ~%d members, %d sync tasks, expand %v, limit %s, %s %s\n",
		c.Users, c.Workspaces, c.Members, c.Tasks, c.Expand, limitText(c.MemoryLimit), filepath.Base(c.Binary), strings.Join(append(c.Args, c.Env...), " "))
	fmt.Fprintln(w, "| Task | Shape | OK | Wall | Supervisor RSS | Sync process RSS | Connector RSS | Tree | Cgroup peak | Open files (sync/connector) | TMPDIR peak | Files left | Grants |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, t := range r.Tasks {
		fmt.Fprintf(w, "| %d | %s | %v | %s | %.0f MB | %.0f MB | %.0f MB | %.0f MB | %.0f MB | %d / %d | %.0f MB | %d | %d |\n",
			t.N, t.Shape, t.OK, t.Wall.Round(100*time.Millisecond), t.RSS.Supervisor, t.RSS.Sync, t.RSS.Connector, t.TreeMB, t.CgroupMB,
			t.FDs.Sync, t.FDs.Connector, t.TempPeakMB, t.TempLeft, t.Grants)
	}
	fmt.Fprintf(w, "OOM kills: %d, service exited: %v\n", r.OOMKills, r.Exited)
	if r.Exited {
		fmt.Fprintln(w, tailLines(r.Output, 10))
	}
}

func limitText(b int64) string {
	if b == 0 {
		return "none"
	}
	return fmt.Sprintf("%d MiB", b>>20)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
