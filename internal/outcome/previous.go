package outcome

import (
	"fmt"
	"os"
)

// A pebble c1z holds one sync, and the SDK replaces it as soon as a new
// sync starts: a sync that then fails leaves the file with the unfinished
// sync instead of the last good one. The worker therefore links such a
// file aside before its sync starts, and the supervisor puts it back when
// the run fails. (SQLite keeps earlier syncs beside a failed one.)

// previousOf names the link that keeps the c1z as it was before the run.
func previousOf(c1z string) string { return c1z + ".baton-trayai-previous" }

// KeepPrevious links the c1z aside, before a sync that would replace its
// only sync starts. It is a link, not a copy: the SDK writes the new file
// beside the old one and renames it over it, so the old one is untouched.
func KeepPrevious(c1z string) error {
	prev := previousOf(c1z)
	_ = os.Remove(prev)
	return os.Link(c1z, prev)
}

// settlePrevious puts the c1z back as it was when the run failed, and
// otherwise lets go of the link. It returns a sentence when it restored.
func settlePrevious(c1z string, failed bool) string {
	if c1z == "" {
		return ""
	}
	prev := previousOf(c1z)
	old, err := os.Stat(prev)
	if err != nil {
		return ""
	}
	if now, err := os.Stat(c1z); !failed || (err == nil && os.SameFile(old, now)) {
		_ = os.Remove(prev)
		return ""
	}
	if err := os.Rename(prev, c1z); err != nil {
		return fmt.Sprintf("baton-trayai: the sync failed and %s could not be put back as it was (%v); the previous file is %s", c1z, err, prev)
	}
	return fmt.Sprintf("baton-trayai: the sync failed, so %s is as it was before the run", c1z)
}
