//go:build windows

package scratch

import "os"

// share does nothing on Windows, where the SDK runs in one process and a
// file that is open cannot be removed.
func share(*os.File) error { return nil }

// exclusive is false on Windows: without a lock to tell, a sweep cannot
// know that a run directory is unused, so it leaves every one alone.
func exclusive(*os.File) bool { return false }

// sole is true on Windows: a run there is one process.
func sole(*os.File) bool { return true }
