// Package scratch gives each run of baton-trayai a directory of its own
// for temporary data, and removes what killed runs left behind.
//
// The SDK puts a sync's working database (tens to hundreds of MB) and
// staging files in the temporary directory and removes them only when the
// run ends normally. A run that is SIGKILLed (an OOM kill, a node drain)
// leaves them, and in Kubernetes the temporary directory is an emptyDir
// that survives container restarts, so a crash loop would fill it.
//
// Every run therefore works in a run directory, named with the run's pid,
// whose lock file each process of the run holds a shared lock on. A new run
// removes the run directories whose lock nobody holds: their processes are
// all gone, whatever ended them. A run directory in use is never touched,
// and nothing but this connector's own run directories is.
package scratch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvDir names the run directory for the processes a run starts, so that
// they join it rather than claim one of their own.
const EnvDir = "BATON_TRAYAI_RUN_DIR"

const (
	// prefix starts the name of every run directory.
	prefix = "baton-trayai-run-"
	// staging names a run directory before it is locked, so that no
	// sweep sees it unlocked.
	staging = ".baton-trayai-new-"
	// doomed names a run directory a sweep is removing.
	doomed   = ".baton-trayai-stale-"
	lockName = "lock"
)

// Dir is a run directory held by this process.
type Dir struct {
	path string
	lock *os.File
}

// Path is the run directory.
func (d *Dir) Path() string { return d.path }

// Claim creates a run directory under root, held by this process, after
// removing the run directories of runs that are over. It returns what it
// removed.
func Claim(root string) (*Dir, []string, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create the temporary directory %s: %w", root, err)
	}
	swept := Sweep(root)
	tmp, err := os.MkdirTemp(root, staging)
	if err != nil {
		return nil, swept, fmt.Errorf("create a run directory in %s: %w", root, err)
	}
	lock, err := os.OpenFile(filepath.Join(tmp, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = share(lock)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, swept, fmt.Errorf("lock a run directory in %s: %w", root, err)
	}
	final := filepath.Join(root, fmt.Sprintf("%s%d-%s", prefix, os.Getpid(), strings.TrimPrefix(filepath.Base(tmp), staging)))
	if err := os.Rename(tmp, final); err != nil {
		_ = lock.Close()
		_ = os.RemoveAll(tmp)
		return nil, swept, fmt.Errorf("name a run directory in %s: %w", root, err)
	}
	return &Dir{path: final, lock: lock}, swept, nil
}

// Join holds the run directory another process of the same run claimed,
// so that it stays in use while this process lives, whatever happens to
// the one that claimed it.
func Join(path string) (*Dir, error) {
	lock, err := os.OpenFile(filepath.Join(path, lockName), os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if err := share(lock); err != nil {
		_ = lock.Close()
		return nil, err
	}
	return &Dir{path: path, lock: lock}, nil
}

// Release lets go of the run directory and removes it unless another
// process of the run still holds it.
func (d *Dir) Release() error {
	if d == nil {
		return nil
	}
	defer d.lock.Close()
	if !sole(d.lock) {
		return nil // another process of the run still uses it
	}
	return os.RemoveAll(d.path)
}

// Sweep removes the run directories under root that no process holds,
// and returns them. A directory it cannot judge is left alone.
func Sweep(root string) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		path := filepath.Join(root, e.Name())
		switch {
		case !e.IsDir():
		case strings.HasPrefix(e.Name(), prefix):
			if removeUnused(path) {
				removed = append(removed, path)
			}
		case strings.HasPrefix(e.Name(), doomed):
			// A sweep that was itself interrupted.
			if os.RemoveAll(path) == nil {
				removed = append(removed, path)
			}
		}
	}
	return removed
}

// removeUnused removes a run directory whose lock nobody holds. It first
// renames the directory, with the lock held, so that no other sweep and
// no late Join can reach it while it is being removed.
func removeUnused(path string) bool {
	lock, err := os.OpenFile(filepath.Join(path, lockName), os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer lock.Close()
	if !exclusive(lock) {
		return false
	}
	tmp, err := os.MkdirTemp(filepath.Dir(path), doomed)
	if err != nil {
		return false
	}
	if err := os.Remove(tmp); err != nil {
		return false
	}
	if err := os.Rename(path, tmp); err != nil {
		return false
	}
	return os.RemoveAll(tmp) == nil
}
