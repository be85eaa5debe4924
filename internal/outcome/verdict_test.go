package outcome

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestVerdict(t *testing.T) {
	never := func(string, time.Time) bool { return false }
	always := func(string, time.Time) bool { return true }
	cases := []struct {
		name    string
		status  int
		records Records
		c1z     func(string, time.Time) bool
		want    int
	}{
		{"the worker wrote its code", 0, Records{Exited: true, ExitCode: 16}, never, 16},
		{"the worker wrote success", 0, Records{Exited: true, Task: TaskSync, Done: true}, always, 0},
		{"a non-zero exit stands", 9, Records{Task: TaskSync}, always, 9},
		{"watcher race after an error", 0, Records{Task: TaskSync, Failed: true, FailCode: 7, FailedRPC: "Validate"}, always, 7},
		{"watcher race after a sealed sync", 0, Records{Task: TaskSync, Done: true}, always, 0},
		{"watcher race, sync sealed but no c1z", 0, Records{Task: TaskSync, Done: true}, never, CodeUnknown},
		{"watcher race after a grant", 0, Records{Task: TaskProvision, Done: true}, never, 0},
		{"watcher race before any outcome", 0, Records{Task: TaskProvision}, always, CodeUnknown},
		{"an SDK task the journal cannot judge", 0, Records{Task: TaskOther}, never, 0},
		{"a command without a task (capabilities)", 0, Records{}, never, 0},
	}
	for _, c := range cases {
		if got, _ := Verdict(c.status, c.records, c.c1z); got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
	}
}

func TestJournalRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvFile, path)
	before := time.Unix(1700000000, 123)
	w, g := Open(), Open() // the worker and the connector process
	w.Task(TaskSync, "/tmp/a\tb.c1z", before)
	g.Fail("ListUsers", 14)
	g.Done("Cleanup") // a later success clears the earlier, retried error
	g.Fail("Validate", 16)
	r, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Task != TaskSync || r.C1Z != "/tmp/a b.c1z" || !r.C1ZBefore.Equal(before) || r.Exited {
		t.Fatalf("task %+v", r)
	}
	if !r.Failed || r.FailCode != 16 || r.FailedRPC != "Validate" || r.Done {
		t.Fatalf("outcome %+v: want the last failure, after the last success", r)
	}
	w.Exit(0)
	if r, _ = Read(path); !r.Exited || r.ExitCode != 0 {
		t.Fatalf("exit %+v", r)
	}
	var none *Journal
	none.Exit(1) // an unsupervised process records nothing, and does not fail
}

func TestWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sync.c1z")
	if Written(path, time.Time{}) || !ModTime(path).IsZero() {
		t.Fatal("a missing file counts as written")
	}
	if err := os.WriteFile(path, []byte("c1z"), 0o600); err != nil {
		t.Fatal(err)
	}
	mtime := ModTime(path)
	if !Written(path, time.Time{}) || Written(path, mtime) {
		t.Fatalf("written since nothing: %v; since its own mtime: %v", Written(path, time.Time{}), Written(path, mtime))
	}
}
