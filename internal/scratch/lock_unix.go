//go:build !windows

package scratch

import (
	"os"
	"syscall"
)

// share takes a shared lock: the run directory is in use.
func share(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH)
		if err != syscall.EINTR {
			return err
		}
	}
}

// exclusive reports whether this process is the only one holding the
// lock, taking it exclusively if so; it never waits.
func exclusive(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

// sole reports whether this process is the last of its run to hold the
// lock.
func sole(f *os.File) bool { return exclusive(f) }
