// Command baton-trayai syncs a Tray.ai organization into a Baton c1z file
// and provisions access in it, one-shot or in service mode.
package main

import (
	"context"
	"os"

	"github.com/conductorone/baton-trayai/pkg/connector"
)

// Set by the build: -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	connector.Version = version
	os.Exit(launch(context.Background()))
}

func versionString() string {
	return version + " (commit " + commit + ", built " + date + ")"
}
