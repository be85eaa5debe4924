//go:build !windows

package outcome

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The run's last line says what failed: the worker's own line when it
// wrote one, else the error it logged, else the verdict's sentence; and it
// is never said twice.
func TestTheLastLineSaysWhatFailedWhenTheWorkerCouldNot(t *testing.T) {
	sdkLine := `{"level":"error","msg":"error running connector","error":"` + noSpace + `"}` + "\n"
	workerLine := Explain(noSpace) + "\n"
	for _, c := range []struct {
		name     string
		status   int
		exited   bool // the worker journaled its exit
		log      string
		wantCode int
		wantLast string // the whole last line; "": nothing written
	}{
		{"ended by the watcher, an error logged", 0, false, sdkLine, CodeUnknown, Explain(noSpace)},
		{"ended by the watcher, nothing logged", 0, false, "", CodeUnknown,
			"baton-trayai: the sync ended but <dir>/sync.c1z was not written: check the log above and that the -f path is writable"},
		{"the worker said it and journaled its exit", CodeUnknown, true, sdkLine + workerLine, CodeUnknown, ""},
		{"the worker said it but its exit was not journaled", CodeUnknown, false, sdkLine + workerLine, CodeUnknown, ""},
		{"ended with a status error before a word", 1, false,
			`{"level":"error","msg":"error running connector","error":"rpc error: code = Unknown desc = ` + noSpace + `"}` + "\n",
			1, Explain(noSpace)},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			journal := filepath.Join(dir, "journal")
			if err := os.WriteFile(journal, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv(EnvFile, journal)
			worker := Open()
			worker.Task(TaskSync, filepath.Join(dir, "sync.c1z"), time.Time{})
			worker.Done("Cleanup")
			if c.exited {
				worker.Exit(c.status)
			}
			var logged loggedErrors
			if _, err := logged.Write([]byte(c.log)); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			if code := decide(&stderr, c.status, "", journal, 0, &logged); code != c.wantCode {
				t.Fatalf("exit %d, want %d", code, c.wantCode)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			want := strings.ReplaceAll(c.wantLast, "<dir>", dir)
			if want == "" && stderr.Len() != 0 || want != "" && lines[len(lines)-1] != want {
				t.Fatalf("stderr %q, want the last line %q", stderr.String(), want)
			}
		})
	}
}

// A run stopped by a signal that reached the worker exits 128 plus its
// number, whatever the worker reported.
func TestAStoppedRunExitsWithItsSignal(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "journal")
	if err := os.WriteFile(journal, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvFile, journal)
	Open().Exit(0)
	var stderr bytes.Buffer
	if code := decide(&stderr, 0, "", journal, syscall.SIGTERM, &loggedErrors{}); code != 143 ||
		strings.TrimSpace(stderr.String()) != "baton-trayai: the run was stopped by signal terminated" {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := decide(&stderr, 0, "", journal, 0, &loggedErrors{}); code != 0 || stderr.Len() != 0 {
		t.Fatalf("without a signal: exit %d, stderr %q", code, stderr.String())
	}
}
