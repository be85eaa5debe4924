// Package testkit holds the checks that the tests of several packages
// share. Standing up a simulated Tray.ai is traysim.ListenTest.
package testkit

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// WantCode fails the test unless err has the gRPC code code and its
// message contains every one of contains.
func WantCode(t *testing.T, err error, code codes.Code, contains ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v (%v), want code %v", status.Code(err), err, code)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Fatalf("error %q does not say %q", err, c)
		}
	}
}

// ShortRunsInMemory points TMPDIR at a new directory on /dev/shm for the
// rest of a -short run (call it from TestMain, after flag.Parse) and returns
// what removes it. The SDK's SQLite store syncs its files to disk on every
// commit; on tmpfs that is free, which halves the time of a package whose
// tests write c1z files. Full runs (make test, CI) write to the disk, as
// production does; so does a run whose TMPDIR is already set.
func ShortRunsInMemory() func() {
	if !testing.Short() || os.Getenv("TMPDIR") != "" {
		return func() {}
	}
	dir, err := os.MkdirTemp("/dev/shm", "baton-trayai-test-")
	if err != nil {
		return func() {}
	}
	_ = os.Setenv("TMPDIR", dir)
	return func() {
		_ = os.Unsetenv("TMPDIR")
		_ = os.RemoveAll(dir)
	}
}

// ParallelUnlessSet runs up to n parallel tests at once (more on a machine
// with more cores), unless the command
// line set -test.parallel. For tests that spend much of their time waiting
// (on the binaries they start, on Retry-After, on a simulated latency), more
// at once than there are cores finishes sooner. Call it from TestMain, after
// flag.Parse.
func ParallelUnlessSet(n int) {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", strconv.Itoa(max(n, runtime.GOMAXPROCS(0))))
	}
}
