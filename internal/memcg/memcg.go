// Package memcg holds a process tree to a memory limit with a cgroup v1
// memory controller, as a container runtime does for a pod's memory limit,
// so that tests and the benchmark measure what Kubernetes enforces: the
// kernel kills a process of the tree when the tree as a whole goes over.
package memcg

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Root is where the cgroup v1 memory controller is mounted.
const Root = "/sys/fs/cgroup/memory"

// Group is a memory cgroup this process made.
type Group struct {
	dir string
}

// New makes a memory cgroup with a limit in bytes. The error says why the
// machine does not allow one (no cgroup v1 memory controller, not root).
func New(name string, limit int64) (*Group, error) {
	if _, err := os.Stat(filepath.Join(Root, "memory.limit_in_bytes")); err != nil {
		return nil, fmt.Errorf("no cgroup v1 memory controller at %s: %w", Root, err)
	}
	dir := filepath.Join(Root, name)
	// A group of this name that an earlier, killed run left is empty: it
	// can be removed, and it must not make this run skip.
	_ = os.Remove(dir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make a memory cgroup: %w", err)
	}
	g := &Group{dir: dir}
	if err := g.write("memory.limit_in_bytes", strconv.FormatInt(limit, 10)); err != nil {
		_ = os.Remove(dir)
		return nil, fmt.Errorf("set the memory limit: %w", err)
	}
	// Without swap, as in a pod: the limit is the memory, nothing pages out.
	_ = g.write("memory.swappiness", "0")
	return g, nil
}

func (g *Group) write(file, value string) error {
	return os.WriteFile(filepath.Join(g.dir, file), []byte(value), 0o600)
}

func (g *Group) read(file string) string {
	b, _ := os.ReadFile(filepath.Join(g.dir, file))
	return strings.TrimSpace(string(b))
}

// Enter makes cmd join the group before it runs, so that everything it
// starts is in the group from its first instruction.
func (g *Group) Enter(cmd *exec.Cmd) {
	procs := filepath.Join(g.dir, "cgroup.procs")
	args := append([]string{"sh", "-c", `echo $$ > "$0" && exec "$@"`, procs, cmd.Path}, cmd.Args[1:]...)
	cmd.Path, cmd.Args, cmd.Err = "/bin/sh", args, nil
}

// MaxUsage is the most memory the group used since it was made or since
// the last ResetMaxUsage, in bytes.
func (g *Group) MaxUsage() int64 {
	n, _ := strconv.ParseInt(g.read("memory.max_usage_in_bytes"), 10, 64)
	return n
}

// ResetMaxUsage starts a new measurement of MaxUsage.
func (g *Group) ResetMaxUsage() { _ = g.write("memory.max_usage_in_bytes", "0") }

// OOMKills is how many processes of the group the kernel killed for
// going over the limit.
func (g *Group) OOMKills() int {
	for _, line := range strings.Split(g.read("memory.oom_control"), "\n") {
		if rest, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.Atoi(rest)
			return n
		}
	}
	return 0
}

// Close kills what is left in the group (a child the test did not wait
// for) and removes the group, which the kernel allows once the killed
// processes are gone: it waits up to 5 s for that.
func (g *Group) Close() error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, pid := range strings.Fields(g.read("cgroup.procs")) {
			if n, err := strconv.Atoi(pid); err == nil {
				_ = syscall.Kill(n, syscall.SIGKILL)
			}
		}
		err := os.Remove(g.dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove the memory cgroup %s: %w", g.dir, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
