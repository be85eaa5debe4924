// Package outcome makes the exit status of a baton-trayai run tell the
// truth.
//
// baton-sdk v0.25.0 runs a one-shot task in two processes: the command
// (the worker) runs the syncer or provisioner, and it starts the same
// binary as `_connector-service` (the connector) to serve the connector
// over gRPC. When the task ends, the worker cancels the connector, and a
// goroutine of the SDK that reaps it calls os.Exit(0), racing the worker's
// own exit with the task's error code. Under load a failed sync can exit 0.
//
// The fix needs no change to the SDK: a small parent (the supervisor)
// starts the worker and owns the exit status. The worker and the connector
// note what happened in a journal file named by an environment variable,
// the worker its task and its final exit code, the connector the outcome
// of the calls that end a task (the sync's cleanup, a grant, a revoke…) and
// every error it returned. When the worker's exit status is 0 but it never
// wrote its code, the SDK's watcher ended it, and the journal decides. The
// supervisor also relays the run's stderr (relay.go) and reads the error
// the SDK logs on the way, so that a worker ended before it said what
// failed still ends the run with one line that does (failure.go).
package outcome

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EnvFile names the journal file; the supervisor sets it for the worker,
// and the connector process inherits it.
const EnvFile = "BATON_TRAYAI_OUTCOME_FILE"

// Task kinds the worker reports.
const (
	// TaskSync is a sync into a c1z file (full or targeted).
	TaskSync = "sync"
	// TaskProvision is a grant, revoke, account creation, deletion or
	// credential rotation.
	TaskProvision = "provision"
	// TaskService is service mode: a long-lived run against ConductorOne.
	TaskService = "service"
	// TaskOther is any other one-shot task of the SDK (diff, compaction,
	// tickets, actions, event feeds).
	TaskOther = "other"
)

// Journal appends one line per event to the journal file. A nil Journal
// (no supervisor) records nothing.
type Journal struct {
	mu   sync.Mutex
	file *os.File
}

// Open opens the journal named by EnvFile, or returns nil when the process
// is not supervised or the file cannot be opened.
func Open() *Journal {
	path := os.Getenv(EnvFile)
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0) //nolint:gosec // the supervisor made this file and named it
	if err != nil {
		return nil
	}
	return &Journal{file: f}
}

func (j *Journal) write(fields ...string) {
	if j == nil {
		return
	}
	for i, f := range fields {
		// One event per line, fields separated by tabs: keep both out of values.
		fields[i] = strings.NewReplacer("\n", " ", "\t", " ").Replace(f)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, _ = j.file.WriteString(strings.Join(fields, "\t") + "\n")
}

// Task records the worker's task before it starts: for a sync, the c1z
// file it writes and that file's modification time before (zero if none).
func (j *Journal) Task(kind, c1z string, c1zBefore time.Time) {
	ns := int64(0)
	if !c1zBefore.IsZero() {
		ns = c1zBefore.UnixNano()
	}
	j.write("task", kind, strconv.FormatInt(ns, 10), c1z)
}

// Exit records the worker's exit code, just before it exits.
func (j *Journal) Exit(code int) { j.write("exit", strconv.Itoa(code)) }

// Fail records an error the connector returned, with its exit code.
func (j *Journal) Fail(method string, code int) { j.write("fail", strconv.Itoa(code), method) }

// Done records a call that ends a task successfully.
func (j *Journal) Done(method string) { j.write("done", method) }

// Records is what a journal holds, folded into what the verdict needs.
type Records struct {
	Task      string
	C1Z       string
	C1ZBefore time.Time
	Exited    bool
	ExitCode  int
	Failed    bool // an error came after the last task-ending success
	FailCode  int
	FailedRPC string
	Done      bool // a task-ending call succeeded after the last error
}

// Read parses a journal file. Lines it cannot parse (a process killed
// mid-write) are skipped.
func Read(path string) (Records, error) {
	f, err := os.Open(path)
	if err != nil {
		return Records{}, err
	}
	defer f.Close()
	var r Records
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		r.add(strings.Split(sc.Text(), "\t"))
	}
	return r, sc.Err()
}

func (r *Records) add(f []string) {
	switch {
	case len(f) == 4 && f[0] == "task":
		if ns, err := strconv.ParseInt(f[2], 10, 64); err == nil {
			r.Task, r.C1Z = f[1], f[3]
			if ns != 0 {
				r.C1ZBefore = time.Unix(0, ns)
			}
		}
	case len(f) == 2 && f[0] == "exit":
		if code, err := strconv.Atoi(f[1]); err == nil {
			r.Exited, r.ExitCode = true, code
		}
	case len(f) == 3 && f[0] == "fail":
		if code, err := strconv.Atoi(f[1]); err == nil {
			r.Failed, r.FailCode, r.FailedRPC, r.Done = true, code, f[2], false
		}
	case len(f) == 2 && f[0] == "done":
		r.Done, r.Failed = true, false
	}
}

func (r Records) String() string {
	return fmt.Sprintf("task=%q exited=%v(%d) failed=%v(%d %s) done=%v", r.Task, r.Exited, r.ExitCode, r.Failed, r.FailCode, r.FailedRPC, r.Done)
}
