// Package connector maps a Tray.ai organization onto Baton resources:
// users, organization roles and workspaces with their roles, and
// provisions access back.
//
// Where things are: one file per resource type for what a sync emits
// (user.go, role.go, workspace.go) and one for what provisioning does
// (user_provisioning.go, role_provisioning.go, workspace_provisioning.go);
// the grants every user holds, of their organization role and of the
// Organization workspace, in roster.go and organization_workspace.go; the
// Admin role organization Owners and Admins hold in every workspace in
// implicit_access.go; what one sync keeps and counts in sync_state.go and
// summary.go; the per-item lookups of a page in lookups.go.
package connector

import (
	"context"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/cli"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/pkg/client"
	"github.com/conductorone/baton-trayai/pkg/config"
)

// Connector is the Tray.ai connector.
type Connector struct {
	client     *client.Client
	syncs      *syncs
	guard      *guard
	users      userSyncer
	roles      roleSyncer
	workspaces workspaceSyncer
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
	return newConnector(ctx, s, opts, clientOptions(s))
}

// clientOptions are the client's options in production: its defaults,
// but for what the settings say.
func clientOptions(s Settings) client.Options {
	version := s.Version
	if version == "" {
		version = "dev"
	}
	return client.Options{
		BaseURL:           s.BaseURL,
		Token:             s.Token,
		UserAgent:         "baton-trayai/" + version,
		RequestsPerSecond: float64(s.RequestsPerSecond),
		MaxOutage:         s.OutageBudget,
	}
}

// newConnector builds a connector whose client has the options copts, and
// hands each syncer what it uses.
func newConnector(ctx context.Context, s Settings, opts *cli.ConnectorOpts, copts client.Options) (*Connector, error) {
	cl, err := client.New(ctx, copts)
	if err != nil {
		return nil, err
	}
	willSync := func(string) bool { return true }
	if opts != nil && opts.SyncFilterIsExplicit() {
		willSync = opts.WillSyncResourceType
	}
	syncs := newSyncs(cl.Pace)
	g := &guard{client: cl, accounts: s.Protected}
	return &Connector{
		client: cl,
		syncs:  syncs,
		guard:  g,
		users: userSyncer{client: cl, syncs: syncs, guard: g,
			grantsOrgRoles:      willSync(roleTypeID),
			grantsOrgMembership: willSync(workspaceTypeID) && s.WorkspaceTypes[client.WorkspaceTypeOrganization],
			accountCreationMode: s.AccountCreationMode,
		},
		roles: roleSyncer{client: cl, syncs: syncs, guard: g, fallbackOrgRole: s.FallbackOrgRole},
		workspaces: workspaceSyncer{client: cl, syncs: syncs, guard: g,
			workspaceTypes: s.WorkspaceTypes, defaultRole: s.DefaultWorkspaceRole,
			implicitAccess: !s.ListedMembershipsOnly && willSync(roleTypeID),
			usersSynced:    willSync(userTypeID),
		},
	}, nil
}

// ResourceSyncers returns one syncer per resource type.
func (c *Connector) ResourceSyncers(_ context.Context) []connectorbuilder.ResourceSyncerV2 {
	return []connectorbuilder.ResourceSyncerV2{&c.users, &c.roles, &c.workspaces}
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

// Close ends the sync in progress, if the end of its last workspace did
// not (an interrupted sync): its summary is logged.
func (c *Connector) Close(ctx context.Context) error {
	if c.syncs != nil {
		c.syncs.end(ctx)
	}
	return nil
}
