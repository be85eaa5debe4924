// Package connector maps a Tray.ai organization onto Baton resources:
// users, organization roles and workspaces with their roles, and
// provisions access back.
package connector

import (
	"context"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/cli"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/pkg/client"
	"github.com/conductorone/baton-trayai/pkg/config"
)

// Version is stamped by the build (see Makefile) and sent as User-Agent.
var Version = "dev"

// Connector is the Tray.ai connector.
type Connector struct {
	client   *client.Client
	settings Settings
	cache    *syncCache
	stats    *syncStats
	// willSync reports whether a resource type is part of this sync; the
	// user syncer only emits grants on types that will exist in the c1z.
	willSync func(resourceTypeID string) bool
}

var (
	_ connectorbuilder.ConnectorBuilderV2 = (*Connector)(nil)
	_ cli.NewConnector[*config.Trayai]    = New
)

// New validates the configuration and builds the connector. It makes no
// network call; Validate does.
func New(ctx context.Context, cfg *config.Trayai, opts *cli.ConnectorOpts) (connectorbuilder.ConnectorBuilderV2, []connectorbuilder.Opt, error) {
	s, err := ParseSettings(cfg)
	if err != nil {
		return nil, nil, err
	}
	c, err := NewWithSettings(ctx, s, opts)
	if err != nil {
		return nil, nil, err
	}
	return c, nil, nil
}

// NewWithSettings builds a connector from validated settings.
func NewWithSettings(ctx context.Context, s Settings, opts *cli.ConnectorOpts) (*Connector, error) {
	copts := client.Options{
		BaseURL:           s.BaseURL,
		Token:             s.Token,
		UserAgent:         "baton-trayai/" + Version,
		RequestsPerSecond: float64(s.RequestsPerSecond),
		MaxOutage:         s.OutageBudget,
	}
	if s.tuneClient != nil {
		s.tuneClient(&copts)
	}
	cl, err := client.New(ctx, copts)
	if err != nil {
		return nil, err
	}
	willSync := func(string) bool { return true }
	if opts != nil && opts.SyncFilterIsExplicit() {
		willSync = opts.WillSyncResourceType
	}
	stats := newSyncStats()
	stats.pace = cl.Pace
	return &Connector{client: cl, settings: s, cache: newSyncCache(), stats: stats, willSync: willSync}, nil
}

// ResourceSyncers returns one syncer per resource type.
func (c *Connector) ResourceSyncers(_ context.Context) []connectorbuilder.ResourceSyncerV2 {
	return []connectorbuilder.ResourceSyncerV2{
		&userSyncer{c: c},
		&roleSyncer{c: c},
		&workspaceSyncer{c: c},
	}
}

// Metadata describes the connector and its account-creation form.
func (c *Connector) Metadata(_ context.Context) (*v2.ConnectorMetadata, error) {
	return v2.ConnectorMetadata_builder{
		DisplayName:           "Tray.ai",
		Description:           "Syncs Tray.ai organization users, organization roles, workspaces and workspace roles, and provisions access to them.",
		AccountCreationSchema: accountCreationSchema(),
	}.Build(), nil
}

// Validate checks the token with one request that needs the rights a sync
// needs, and tells a bad token from a token without enough rights.
func (c *Connector) Validate(ctx context.Context) (annotations.Annotations, error) {
	if c.client == nil {
		return nil, errorf(codes.FailedPrecondition, "connector is not configured: set --auth-token")
	}
	err := c.client.ProbeOrgRoles(ctx)
	switch status.Code(err) {
	case codes.OK:
		return nil, nil
	case codes.Unauthenticated:
		return nil, errorf(codes.Unauthenticated,
			"Tray.ai rejected the API token (401): check --auth-token (BATON_AUTH_TOKEN) and that --region matches the organization's region")
	case codes.PermissionDenied:
		return nil, errorf(codes.PermissionDenied,
			"the API token is valid but may not read the organization (403): give the API user the Admin organization role in Tray.ai (Account Settings > Tokens)")
	default:
		return nil, wrapf(err, "validate the API token")
	}
}

// Close logs the last sync's summary if the workspace listing did not get
// to it (an interrupted sync); the SDK calls it on shutdown.
func (c *Connector) Close(ctx context.Context) error {
	c.stats.logSummaryOnce(ctxzap.Extract(ctx))
	return nil
}

// observeSync notices the start of a new sync: it logs the previous sync's
// summary and starts fresh counters and caches.
func (c *Connector) observeSync(ctx context.Context, syncID string) {
	if c.cache.with(syncID, nil) {
		c.stats.logSummaryOnce(logger(ctx))
		c.stats.reset()
	}
}
