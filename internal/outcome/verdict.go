package outcome

import (
	"fmt"
	"os"
	"time"
)

// Exit codes of a run. Failures exit with the gRPC code of their error,
// as the SDK does (16 Unauthenticated, 7 PermissionDenied, 10 Aborted, 3
// InvalidArgument…); these are the codes the supervisor adds.
const (
	// CodeUnknown is a failure whose kind is unknown (gRPC Unknown).
	CodeUnknown = 2
	// CodeSignaled is added to the number of a signal that killed the worker.
	CodeSignaled = 128
)

// Verdict decides a run's exit code from the worker's exit status and the
// journal. It returns a sentence for stderr when the code is not the one
// the worker itself reported.
//
// A worker that wrote its exit code decided it. A worker that exited
// non-zero failed, whatever it wrote. A worker that exited 0 without
// writing its code was ended by the SDK's child watcher (see the package
// comment): the journal then tells what happened.
func Verdict(status int, r Records, c1zWritten func(path string, before time.Time) bool) (int, string) {
	switch {
	case r.Exited:
		return r.ExitCode, ""
	case status != 0:
		return status, ""
	case r.Failed:
		return r.FailCode, fmt.Sprintf("baton-trayai: the run failed (%s answered with code %d), exiting %d", r.FailedRPC, r.FailCode, r.FailCode)
	case r.Task == TaskSync && r.Done && !c1zWritten(r.C1Z, r.C1ZBefore):
		return CodeUnknown, fmt.Sprintf("baton-trayai: the sync ended but %s was not written: check the log above and that the -f path is writable", r.C1Z)
	case r.Done, r.Task == TaskOther, r.Task == TaskService, r.Task == "":
		// A task that succeeded; or one this journal cannot judge, which
		// the SDK itself reported as a success.
		return 0, ""
	default:
		return CodeUnknown, "baton-trayai: the run ended before it reported its outcome: treat it as failed and see the log above"
	}
}

// Written reports whether the file at path was written after the run
// began, when it had the modification time before (zero: it did not exist).
func Written(path string, before time.Time) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0 && fi.ModTime().After(before)
}

// ModTime is the modification time of path, or zero when there is no file.
func ModTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}
