//go:build !windows

package scratch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// kill stands for a run whose processes all died: the kernel dropped
// their locks, and nothing removed the directory.
func kill(t *testing.T, d *Dir) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d.Path(), "c1z-pebble123"), make([]byte, 1024), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = d.lock.Close()
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestANewRunRemovesWhatAKilledRunLeftAndNothingInUse(t *testing.T) {
	root := t.TempDir()
	killed, _, err := Claim(root)
	if err != nil {
		t.Fatal(err)
	}
	live, _, err := Claim(root)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = live.Release() }()
	kill(t, killed)
	// Not this connector's: another program's temporary data.
	foreign := filepath.Join(root, "c1z-pebble42")
	if err := os.Mkdir(foreign, 0o700); err != nil {
		t.Fatal(err)
	}
	// The live run's worker joined its directory and the claimer is gone:
	// still in use.
	worker, err := Join(live.Path())
	if err != nil {
		t.Fatal(err)
	}
	_ = live.lock.Close()

	next, swept, err := Claim(root)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = next.Release() }()
	if !slices.Equal(swept, []string{killed.Path()}) || exists(killed.Path()) {
		t.Fatalf("swept %v, want only the killed run's %s", swept, killed.Path())
	}
	if !exists(live.Path()) || !exists(foreign) || !exists(next.Path()) {
		t.Fatalf("a directory in use or not this connector's was removed: live %v, foreign %v, new %v",
			exists(live.Path()), exists(foreign), exists(next.Path()))
	}
	if err := worker.Release(); err != nil || exists(live.Path()) {
		t.Fatalf("the last process of a run left its directory behind (%v)", err)
	}
}

func TestReleaseKeepsADirectoryAnotherProcessOfTheRunHolds(t *testing.T) {
	d, _, err := Claim(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	worker, err := Join(d.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Release(); err != nil || !exists(d.Path()) {
		t.Fatalf("released while the worker holds it: err %v, exists %v", err, exists(d.Path()))
	}
	if err := worker.Release(); err != nil || exists(d.Path()) {
		t.Fatalf("the last holder's release left it: err %v", err)
	}
}

func TestAnInterruptedSweepIsFinishedByTheNext(t *testing.T) {
	root := t.TempDir()
	half := filepath.Join(root, doomed+"123")
	if err := os.MkdirAll(filepath.Join(half, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	if swept := Sweep(root); !slices.Equal(swept, []string{half}) || exists(half) {
		t.Fatalf("swept %v, want %s", swept, half)
	}
}
