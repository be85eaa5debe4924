// Command baton-trayai syncs a Tray.ai organization into a Baton c1z file
// and provisions access in it, one-shot or in service mode.
package main

import (
	"context"

	sdkconfig "github.com/conductorone/baton-sdk/pkg/config"
	"github.com/conductorone/baton-sdk/pkg/connectorrunner"

	"github.com/conductorone/baton-trayai/pkg/config"
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
	sdkconfig.RunConnector(context.Background(), "baton-trayai", versionString(), config.Config, connector.New,
		// `capabilities` and `config` work without a token or network.
		connectorrunner.WithDefaultCapabilitiesConnectorBuilderV2(&connector.Connector{}))
}

func versionString() string {
	return version + " (commit " + commit + ", built " + date + ")"
}
