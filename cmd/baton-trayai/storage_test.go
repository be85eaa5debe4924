//go:build linux

package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/traysim"
)

// syncTo runs a one-shot sync of the simulator at url into c1z.
func syncTo(t *testing.T, env []string, url, c1z string, extra ...string) result {
	t.Helper()
	args := append([]string{"--base-url", url, "--auth-token", traysim.AdminToken, "-f", c1z, "--log-level", "error"}, extra...)
	return runCLI(t, env, args...)
}

// BATON_TMPDIR, the SDK's own setting, outranks TMPDIR for the run's
// temporary data, as it does in the SDK.
func TestBatonTmpdirHoldsTheRunsTemporaryData(t *testing.T) {
	t.Parallel()
	skipInShortMode(t, "where a run keeps its temporary data")
	url := traysim.ListenTest(t, traysim.NewDefault(traysim.ShapeFull))
	env := []string{"BATON_TMPDIR=" + t.TempDir(), "TMPDIR=" + notADirectory(t)}
	if r := syncTo(t, env, url, filepath.Join(t.TempDir(), "sync.c1z")); r.code != 0 {
		t.Fatalf("a sync with BATON_TMPDIR set and TMPDIR unwritable exited %d:\n%s", r.code, tail(r.out))
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameContents(a, b harness.Contents) bool {
	return slices.Equal(a.ResourceKeys(), b.ResourceKeys()) && slices.Equal(a.EntitlementIDs(), b.EntitlementIDs()) &&
		slices.Equal(a.GrantIDs(), b.GrantIDs())
}

// A targeted sync added to an existing c1z never loses its full sync: the
// default engine keeps both, and a pebble file, which holds one sync, is
// refused before anything is written, with the way out.
func TestATargetedSyncKeepsTheFullSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, engine := range []string{"", "pebble"} {
		t.Run("engine="+engine, func(t *testing.T) {
			t.Parallel()
			if engine == "pebble" {
				skipPebbleInShortMode(t)
			}
			sim := traysim.NewDefault(traysim.ShapeFull)
			url := traysim.ListenTest(t, sim)
			c1z := filepath.Join(t.TempDir(), "sync.c1z")
			var first []string
			if engine != "" {
				first = []string{"--storage-engine", engine}
			}
			if r := syncTo(t, nil, url, c1z, first...); r.code != 0 {
				t.Fatalf("full sync exited %d:\n%s", r.code, tail(r.out))
			}
			full, err := harness.Read(ctx, c1z, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			before := readFile(t, c1z)
			ws := sim.Snapshot().WorkspacesOfType("Shared")[0]

			r := syncTo(t, nil, url, c1z, "--sync-resources", "bid:r:workspace/"+ws.ID)
			kept, err := harness.ReadFull(ctx, c1z, t.TempDir())
			if err != nil || !sameContents(kept, full) {
				t.Fatalf("after a targeted sync (exit %d) the full sync is gone or changed (%v):\n%s", r.code, err, tail(r.out))
			}
			if engine == "pebble" {
				if r.code != 9 || !strings.Contains(r.out, "is a pebble c1z") || !strings.Contains(r.out, "another file with -f") {
					t.Fatalf("targeted sync into a pebble c1z: exit %d, want 9 and the way out:\n%s", r.code, tail(r.out))
				}
				if !bytes.Equal(readFile(t, c1z), before) {
					t.Fatal("the refused targeted sync changed the file")
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("targeted sync exited %d:\n%s", r.code, tail(r.out))
			}
			partial, err := harness.Read(ctx, c1z, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := partial.Resources["workspace/"+ws.ID]; !ok || len(partial.Resources) != 1 {
				t.Fatalf("the partial sync holds %v, want only workspace/%s", partial.ResourceKeys(), ws.ID)
			}
		})
	}
}

// runDirs lists the run directories under root.
func runDirs(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// start runs the binary in a process group of its own, which a test can
// kill whole, as the kernel kills a container.
func start(t *testing.T, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	base := []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "TMPDIR=" + t.TempDir()}
	cmd := cliCommand(context.Background(), append(base, env...), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	return cmd, &out
}

// after calls reached once the simulator has answered n requests.
func after(sim http.Handler, n int64, reached chan<- struct{}) http.Handler {
	var seen atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sim.ServeHTTP(w, r)
		if seen.Add(1) == n {
			close(reached)
		}
	})
}

// SIGKILL at any point of a one-shot sync into an existing c1z leaves the
// old file byte-identical and readable. The killed runs' temporary data is
// removed by the next start of the connector, and a live run's is not.
func TestKilledRunsKeepTheC1zAndTheNextStartRemovesTheirTemporaryData(t *testing.T) {
	skipInShortMode(t, "runs killed at three points")
	ctx := context.Background()
	root := t.TempDir()
	env := []string{"TMPDIR=" + root}
	sim := traysim.NewDefault(traysim.ShapeFull)
	c1z := filepath.Join(t.TempDir(), "sync.c1z")
	if r := syncTo(t, env, traysim.ListenTest(t, sim), c1z); r.code != 0 {
		t.Fatalf("first sync exited %d:\n%s", r.code, tail(r.out))
	}
	old := readFile(t, c1z)
	requests := int64(sim.Requests())

	// Killed before its first answer, in the middle, and once every answer
	// is in (while the SDK expands grants and writes the file).
	for _, n := range []int64{1, requests / 2, requests} {
		reached := make(chan struct{})
		url := traysim.ListenTest(t, after(sim, n, reached))
		cmd, out := start(t, env, "--base-url", url, "--auth-token", traysim.AdminToken, "-f", c1z, "--log-level", "error")
		select {
		case <-reached:
		case <-time.After(time.Minute):
			t.Fatalf("the sync never made %d requests:\n%s", n, out)
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if !bytes.Equal(readFile(t, c1z), old) {
			t.Fatalf("killed after %d of %d requests: the c1z changed", n, requests)
		}
		if _, err := harness.Read(ctx, c1z, t.TempDir()); err != nil {
			t.Fatalf("killed after %d requests: the c1z is unreadable: %v", n, err)
		}
	}
	left := runDirs(t, root)
	if len(left) == 0 {
		t.Fatal("the killed runs left nothing behind: the sweep below would prove nothing")
	}

	// A live run, slowed down, beside what the killed runs left.
	slow := traysim.NewDefault(traysim.ShapeFull)
	slow.SetFaults(traysim.Faults{Latency: 100 * time.Millisecond})
	started := make(chan struct{})
	live, liveOut := start(t, env, "--base-url", traysim.ListenTest(t, after(slow, 1, started)), "--auth-token", traysim.AdminToken,
		"-f", filepath.Join(t.TempDir(), "live.c1z"), "--log-level", "error")
	select {
	case <-started:
	case <-time.After(time.Minute):
		t.Fatalf("the live run never asked Tray.ai anything:\n%s", liveOut)
	}
	liveDir := "baton-trayai-run-" + strconv.Itoa(live.Process.Pid) + "-"

	// The next run of the connector, beside the live one. (Commands that only
	// print, such as capabilities, sweep nothing.)
	if r := syncTo(t, env, traysim.ListenTest(t, traysim.NewDefault(traysim.ShapeFull)), filepath.Join(t.TempDir(), "next.c1z")); r.code != 0 {
		t.Fatalf("the next sync exited %d:\n%s", r.code, tail(r.out))
	}
	now := runDirs(t, root)
	if len(now) != 1 || !strings.HasPrefix(now[0], liveDir) {
		t.Fatalf("after the next start %v are left, want only the live run's %s* (the killed runs left %v)", now, liveDir, left)
	}
	if err := live.Wait(); err != nil {
		t.Fatalf("the live run failed beside the sweep: %v\n%s", err, liveOut)
	}
	if now := runDirs(t, root); len(now) != 0 {
		t.Fatalf("a finished run left %v in TMPDIR", now)
	}
}

// tmpfs mounts a small tmpfs, or skips the test when the machine allows
// no mount (not root), saying so.
func tmpfs(t *testing.T, kb int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(kb)+"k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("a full disk needs a small tmpfs, and this machine cannot mount one (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// fill leaves about free bytes in dir.
func fill(t *testing.T, dir string, free int64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if n := int64(st.Bavail)*st.Bsize - free; n > 0 {
		if err := os.WriteFile(filepath.Join(dir, "filler"), make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A full disk, where the c1z is written or where the sync keeps its
// temporary data, ends the run non-zero with one line naming the path,
// and leaves the previous c1z as it was.
func TestAFullDiskEndsTheRunAndKeepsThePreviousC1z(t *testing.T) {
	t.Parallel()
	skipInShortMode(t, "runs on a full disk")
	url := traysim.ListenTest(t, traysim.NewDefault(traysim.ShapeFull))
	seed := filepath.Join(t.TempDir(), "sync.c1z")
	if r := syncTo(t, nil, url, seed); r.code != 0 {
		t.Fatalf("first sync exited %d:\n%s", r.code, tail(r.out))
	}
	for _, tc := range []struct {
		name          string
		c1zOnFullDisk bool
	}{
		{"the c1z's disk", true},
		{"the temporary directory's disk", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			full := tmpfs(t, 512)
			c1z, tmp := filepath.Join(full, "sync.c1z"), t.TempDir()
			if !tc.c1zOnFullDisk {
				c1z, tmp = filepath.Join(t.TempDir(), "sync.c1z"), full
			}
			if err := os.WriteFile(c1z, readFile(t, seed), 0o600); err != nil {
				t.Fatal(err)
			}
			fill(t, full, 8<<10)
			r := syncTo(t, []string{"TMPDIR=" + tmp}, url, c1z)
			last := tail(r.out)[strings.LastIndex(tail(r.out), "\n")+1:]
			if r.code == 0 || !strings.Contains(last, full) || !strings.Contains(last, "no space left on device") ||
				!strings.Contains(last, "previous c1z is unchanged") {
				t.Fatalf("exit %d, last line %q: want a failure naming %s; the output ends:\n%s", r.code, last, full, tail(r.out))
			}
			if !bytes.Equal(readFile(t, c1z), readFile(t, seed)) {
				t.Fatal("the previous c1z changed")
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, "baton-trayai-run-*")); len(left) != 0 {
				t.Fatalf("the failed run left %v", left)
			}
		})
	}
}

// A sync that fails after it started leaves the previous full sync in the
// c1z, whatever the engine: SQLite keeps it beside the unfinished one, and
// a pebble file, which holds one sync, is put back as it was.
func TestAFailedSyncKeepsThePreviousFullSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, engine := range []string{"sqlite", "pebble"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			if engine == "pebble" {
				skipPebbleInShortMode(t)
			}
			sim := traysim.NewDefault(traysim.ShapeFull)
			c1z := filepath.Join(t.TempDir(), "sync.c1z")
			if r := syncTo(t, nil, traysim.ListenTest(t, sim), c1z, "--storage-engine", engine); r.code != 0 {
				t.Fatalf("first sync exited %d:\n%s", r.code, tail(r.out))
			}
			full, err := harness.Read(ctx, c1z, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			before := readFile(t, c1z)
			// An admin revokes the token in the middle of the next sync.
			failing := traysim.NewDefault(traysim.ShapeFull)
			failing.SetFaults(traysim.Faults{RevokeAfter: 5})
			if r := syncTo(t, nil, traysim.ListenTest(t, failing), c1z); r.code != 16 {
				t.Fatalf("the failing sync exited %d, want 16:\n%s", r.code, tail(r.out))
			}
			kept, err := harness.ReadFull(ctx, c1z, t.TempDir())
			if err != nil || !sameContents(kept, full) {
				t.Fatalf("after a failed sync the previous full sync is gone or changed: %v", err)
			}
			if engine == "pebble" && !bytes.Equal(readFile(t, c1z), before) {
				t.Fatal("the pebble c1z was not put back as it was")
			}
			if left, _ := filepath.Glob(c1z + ".*"); len(left) != 0 {
				t.Fatalf("the run left %v next to the c1z", left)
			}
		})
	}
}

// skipPebbleInShortMode keeps the pebble engine's runs out of the inner
// loop: pebble zeroes a large sort arena for every index it builds, which
// makes each of its runs cost several times a SQLite one. SQLite is the
// default; make test and CI run both engines.
func skipPebbleInShortMode(t *testing.T) {
	t.Helper()
	skipInShortMode(t, "the pebble engine")
}
