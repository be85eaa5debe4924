//go:build !windows

package outcome

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"syscall"
	"time"
)

// Supervise runs this binary again, with the same arguments, as the worker
// of the run and returns the exit code the run deserves. It returns false
// when this process must run the command itself: it is the worker or the
// SDK's connector process, or it cannot start the worker.
func Supervise(ctx context.Context) (int, bool) {
	if os.Getenv(EnvFile) != "" || slices.Contains(os.Args[1:], "_connector-service") {
		return 0, false
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, false
	}
	path, err := newJournal()
	if err != nil {
		return 0, false
	}
	defer os.Remove(path)

	worker := exec.CommandContext(ctx, exe, os.Args[1:]...) //nolint:gosec // the same binary, with the arguments it was given
	worker.Stdin, worker.Stdout, worker.Stderr = os.Stdin, os.Stdout, os.Stderr
	stderr, pipe, err := startRelay(os.Stderr)
	if err == nil {
		worker.Stderr = pipe
	}
	worker.Env = append(os.Environ(), EnvFile+"="+path)
	err = worker.Start()
	if pipe != nil {
		_ = pipe.Close() // the worker holds its own copy
	}
	if err != nil {
		return 0, false
	}
	stopped, release := forwardSignals(worker.Process)
	status, note := exitStatus(worker.Wait())
	// A signal stopped the run if it came before the worker ended, not
	// while the last lines are relayed.
	var stoppedBy syscall.Signal
	select {
	case stoppedBy = <-stopped:
	default:
	}
	// The SDK's connector process writes to the same stderr: its last
	// lines come before the run's own last line.
	stderr.drain(2 * time.Second)
	release()
	return decide(os.Stderr, status, note, path, stoppedBy, &stderr.logged), true
}

// forwardSignals passes the signals that stop a run on to the worker, which
// handles them as the SDK does, so that stopping a run works as it always
// has. The channel holds the first of them; release stops forwarding.
func forwardSignals(worker *os.Process) (<-chan syscall.Signal, func()) {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	stopped := make(chan syscall.Signal, 1)
	go func() {
		for s := range signals {
			select {
			case stopped <- s.(syscall.Signal):
			default:
			}
			_ = worker.Signal(s)
		}
	}()
	return stopped, func() {
		signal.Stop(signals)
		close(signals)
	}
}

// decide turns the worker's exit status and its journal into the run's
// exit code, says why on stderr when that is not plain, and settles the
// previous c1z of a sync. stoppedBy is the signal that stopped the run (0:
// none); logged is what the run's stderr held.
func decide(stderr io.Writer, status int, note, journal string, stoppedBy syscall.Signal, logged *loggedErrors) int {
	records, err := Read(journal)
	if err != nil {
		records = Records{}
	}
	code, why := Verdict(status, records, Written)
	if failure := logged.Error(); code != 0 && !records.Exited && failure != "" {
		// The worker did not journal its exit: the SDK's watcher ended it
		// before it could say what failed, or the journal's disk is full.
		// The error it logged says what failed.
		why = Explain(failure)
	}
	if why == logged.LastLine() {
		why = "" // the worker said it
	}
	if stoppedBy != 0 {
		// A stopped run exits 128 plus the signal's number, as a shell
		// reports it, whatever the worker made of the cancellation: the
		// SDK may exit 0, or fail on a request the stop cancelled.
		code, note, why = CodeSignaled+int(stoppedBy), fmt.Sprintf("baton-trayai: the run was stopped by signal %s", stoppedBy), ""
	}
	for _, line := range []string{note, why} {
		if line != "" {
			_, _ = fmt.Fprintln(stderr, line)
		}
	}
	if records.Task == TaskSync {
		if note := settlePrevious(records.C1Z, code != 0); note != "" {
			_, _ = fmt.Fprintln(stderr, note)
		}
	}
	return code
}

// newJournal creates the empty file the worker writes its records to and
// returns its path.
func newJournal() (string, error) {
	journal, err := os.CreateTemp("", "baton-trayai-outcome-*")
	if err != nil {
		return "", err
	}
	path := journal.Name()
	_ = journal.Close()
	return path, nil
}

// exitStatus is the worker's exit code; a worker killed by a signal exits
// 128 plus the signal's number, as a shell reports it.
func exitStatus(err error) (int, string) {
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, ""
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return CodeSignaled + int(ws.Signal()), fmt.Sprintf("baton-trayai: the connector was stopped by signal %s", ws.Signal())
		}
		return exitErr.ExitCode(), ""
	default:
		return 1, fmt.Sprintf("baton-trayai: waiting for the connector failed: %v", err)
	}
}
