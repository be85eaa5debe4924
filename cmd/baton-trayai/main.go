// Command baton-trayai syncs a Tray.ai organization into a Baton c1z file
// and provisions access in it, one-shot or in service mode.
package main

import (
	"context"
	"os"

	"github.com/conductorone/baton-trayai/internal/outcome"
)

// Set by the build: -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	// A small parent owns the exit status of every run (see internal/outcome);
	// the command itself runs in the worker it starts.
	ctx := context.Background()
	if code, supervised := outcome.Supervise(ctx); supervised {
		os.Exit(code)
	}
	os.Exit(run(ctx))
}

func versionString() string {
	return version + " (commit " + commit + ", built " + date + ")"
}
