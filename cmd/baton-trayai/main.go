// Command baton-trayai syncs a Tray.ai organization into a Baton c1z file
// and provisions access in it, one-shot or in service mode.
package main

import (
	"context"
	"os"
)

// Set by the build: -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	// launch decides whether a supervising parent owns the exit status
	// (one-shot runs) or the command runs directly (service mode).
	os.Exit(launch(context.Background()))
}

func versionString() string {
	return version + " (commit " + commit + ", built " + date + ")"
}
