//go:build !windows

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/conductorone/baton-trayai/internal/traysim"
)

// runsPerClass is how often each failure class is run; the SDK's exit
// race showed about once in 20 runs on a busy machine.
const runsPerClass = 20

// failure is one class of failed one-shot run and the exit code README
// documents for it.
type failure struct {
	name  string
	code  int
	says  string
	setup func(t *testing.T) (env, args []string)
}

func failureClasses() []failure {
	sim := traysim.ListenTest
	return []failure{
		{"wrong token (401)", 16, "rejected the API token", func(t *testing.T) ([]string, []string) {
			return nil, []string{"--auth-token", "not-a-token", "--base-url", sim(t, traysim.NewDefault(traysim.ShapeFull))}
		}},
		{"token without the rights a sync needs (403)", 7, "Admin organization role", func(t *testing.T) ([]string, []string) {
			return nil, []string{"--auth-token", traysim.ViewerToken, "--base-url", sim(t, traysim.NewDefault(traysim.ShapeFull))}
		}},
		{"token revoked mid-sync", 16, "check --auth-token", func(t *testing.T) ([]string, []string) {
			s := traysim.NewDefault(traysim.ShapeFull)
			s.SetFaults(traysim.Faults{RevokeAfter: 5})
			return nil, []string{"--auth-token", traysim.AdminToken, "--base-url", sim(t, s)}
		}},
		{"API failing until the outage budget ends the run", 10, "giving up", func(t *testing.T) ([]string, []string) {
			s := traysim.NewDefault(traysim.ShapeFull)
			var served atomic.Int32
			down := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if served.Add(1) > 3 { // validation, users and roles answer, then an outage
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = w.Write([]byte(`{"message":"Service Unavailable"}`))
					return
				}
				s.ServeHTTP(w, r)
			})
			return nil, []string{"--auth-token", traysim.AdminToken, "--base-url", sim(t, down)}
		}},
		{"unreachable host", 10, "could not reach Tray.ai", func(t *testing.T) ([]string, []string) {
			return nil, []string{"--auth-token", traysim.AdminToken, "--base-url", "http://" + closedPort(t)}
		}},
		{"unwritable -f path", 3, "choose a writable c1z path", func(t *testing.T) ([]string, []string) {
			return nil, []string{"--auth-token", traysim.AdminToken, "--base-url", sim(t, traysim.NewDefault(traysim.ShapeFull)),
				"-f", filepath.Join(t.TempDir(), "missing", "sync.c1z")}
		}},
	}
}

// Every class exits non-zero with its code, every time, while busy
// goroutines keep every core saturated: the conditions under which the
// SDK's child watcher used to turn a failed run into exit 0.
func TestEveryFailureClassExitsNonZeroUnderLoad(t *testing.T) {
	skipInShortMode(t, "120 runs of the binary")
	stop := saturateCPU()
	defer stop()
	for _, class := range failureClasses() {
		t.Run(class.name, func(t *testing.T) {
			codes := map[int]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			slots := make(chan struct{}, 4)
			for i := range runsPerClass {
				env, args := class.setup(t)
				if !hasFlag(args, "-f") {
					args = append(args, "-f", filepath.Join(t.TempDir(), fmt.Sprintf("run-%d.c1z", i)))
				}
				args = append(args, "--outage-budget-seconds", "1", "--log-level", "error")
				wg.Add(1)
				slots <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-slots }()
					r := runCLI(t, env, args...)
					mu.Lock()
					defer mu.Unlock()
					codes[r.code]++
					if r.code != class.code || !strings.Contains(r.out, class.says) {
						t.Errorf("exit %d (want %d), output does not say %q:\n%s", r.code, class.code, class.says, tail(r.out))
					}
				}()
			}
			wg.Wait()
			if codes[0] != 0 || codes[class.code] != runsPerClass {
				t.Fatalf("exit codes over %d runs: %v", runsPerClass, codes)
			}
			t.Logf("exit codes over %d runs: %v", runsPerClass, codes)
		})
	}
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag {
			return true
		}
	}
	return false
}

// saturateCPU keeps one busy goroutine per core (and one more) until stop.
func saturateCPU() func() {
	var done atomic.Bool
	for range runtime.NumCPU() + 1 {
		go func() {
			x := 0
			for !done.Load() {
				x++
			}
			_ = x
		}()
	}
	return func() { done.Store(true) }
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// A run stopped by a signal did not finish: it exits 128 plus the signal's
// number, as a shell reports it, and not 0 as the SDK may on an interrupt.
func TestAStoppedRunExitsWithTheSignal(t *testing.T) {
	t.Parallel()
	skipInShortMode(t, "runs stopped by a signal")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		sim := traysim.NewDefault(traysim.ShapeFull)
		sim.SetFaults(traysim.Faults{Latency: 300 * time.Millisecond})
		requested := make(chan struct{}, 1)
		url := traysim.ListenTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case requested <- struct{}{}:
			default:
			}
			sim.ServeHTTP(w, r)
		}))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		tmp := t.TempDir()
		cmd := cliCommand(ctx, []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "TMPDIR=" + tmp},
			"--base-url", url, "--auth-token", traysim.AdminToken, "-f", filepath.Join(t.TempDir(), "s.c1z"), "--log-level", "error")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-requested: // the sync is under way
		case <-ctx.Done():
			t.Fatalf("the sync never asked Tray.ai anything:\n%s", out.String())
		}
		_ = cmd.Process.Signal(sig)
		err := cmd.Wait()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 128+int(sig) {
			t.Fatalf("stopped by %v: %v, want exit %d\n%s", sig, err, 128+int(sig), out.String())
		}
		// The interrupted sync's temporary data is gone with it.
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Fatalf("stopped by %v: TMPDIR holds %v", sig, left)
		}
	}
}

// A run whose stderr cannot be written (`2>/dev/full`, a log file on a full
// disk) still syncs and exits with its task's code: the supervisor's relay
// of the log keeps reading, so the worker never meets a broken pipe.
func TestARunWhoseStderrCannotBeWrittenStillSyncs(t *testing.T) {
	t.Parallel()
	skipInShortMode(t, "a run whose stderr fails")
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("this machine has no /dev/full: %v", err)
	}
	defer full.Close()
	url := traysim.ListenTest(t, traysim.NewDefault(traysim.ShapeFull))
	for _, tc := range []struct {
		token string
		code  int
	}{{traysim.AdminToken, 0}, {"revoked-token", 16}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c1z := filepath.Join(t.TempDir(), "s.c1z")
		cmd := cliCommand(ctx, []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "TMPDIR=" + t.TempDir()},
			"--base-url", url, "--auth-token", tc.token, "-f", c1z, "--log-level", "debug")
		cmd.Stderr = full
		err := cmd.Run()
		var exitErr *exec.ExitError
		code := 0
		if errors.As(err, &exitErr) {
			code = exitErr.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code {
			t.Fatalf("token %s: exit %d, want %d", tc.token, code, tc.code)
		}
		if _, err := os.Stat(c1z); (err == nil) != (tc.code == 0) {
			t.Fatalf("token %s: the c1z exists: %v", tc.token, err == nil)
		}
	}
}
