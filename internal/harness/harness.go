// Package harness runs a complete Baton sync of a connector in process and
// reads the resulting c1z back. Tests, the benchmark and the demo report
// share it, so they all exercise the same path the SDK takes.
package harness

import (
	"context"
	"fmt"
	"net"
	"sort"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/connectorclient"
	"github.com/conductorone/baton-sdk/pkg/connectorstore"
	"github.com/conductorone/baton-sdk/pkg/dotc1z"
	"github.com/conductorone/baton-sdk/pkg/dotc1z/c1zstore"
	sdksync "github.com/conductorone/baton-sdk/pkg/sync"
	"github.com/conductorone/baton-sdk/pkg/types"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// Served is a connector behind an in-process gRPC server.
type Served struct {
	Client types.ConnectorClient
	stop   func()
}

// Close stops the server.
func (s *Served) Close() { s.stop() }

// Serve wraps a connector builder (a ConnectorBuilderV2) in the SDK's
// server and connects a client to it over an in-memory pipe.
func Serve(ctx context.Context, cb connectorbuilder.ConnectorBuilderV2) (*Served, error) {
	srv, err := connectorbuilder.NewConnector(ctx, cb)
	if err != nil {
		return nil, fmt.Errorf("harness: build connector server: %w", err)
	}
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	v2.RegisterConnectorServiceServer(gs, srv)
	v2.RegisterResourceTypesServiceServer(gs, srv)
	v2.RegisterResourcesServiceServer(gs, srv)
	v2.RegisterResourceGetterServiceServer(gs, srv)
	v2.RegisterEntitlementsServiceServer(gs, srv)
	v2.RegisterGrantsServiceServer(gs, srv)
	v2.RegisterAssetServiceServer(gs, srv)
	v2.RegisterEventServiceServer(gs, srv)
	v2.RegisterActionServiceServer(gs, srv)
	v2.RegisterTicketsServiceServer(gs, srv)
	v2.RegisterGrantManagerServiceServer(gs, srv)
	v2.RegisterResourceManagerServiceServer(gs, srv)
	v2.RegisterResourceDeleterServiceServer(gs, srv)
	v2.RegisterAccountManagerServiceServer(gs, srv)
	v2.RegisterCredentialManagerServiceServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///inprocess",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }))
	if err != nil {
		gs.Stop()
		return nil, fmt.Errorf("harness: dial in-process server: %w", err)
	}
	return &Served{
		Client: connectorclient.NewConnectorClient(ctx, conn),
		stop:   func() { _ = conn.Close(); gs.Stop() },
	}, nil
}

// SyncOptions tunes a sync.
type SyncOptions struct {
	TmpDir  string
	Workers int
	// Production leaves the SDK's invariant checks at their production
	// setting (warnings) instead of failing fast; the benchmark uses it to
	// measure what an operator's sync costs.
	Production bool
	// Targets makes the sync a targeted one of these resources, added to
	// the c1z as a partial sync (the CLI's --sync-resources).
	Targets []*v2.Resource
	// SkipExpandGrants leaves expandable grants unexpanded, as a service-mode
	// sync task with skip_expand_grants does: ConductorOne expands them.
	SkipExpandGrants bool
}

// Sync runs a full sync into c1zPath. Unless o.Production is set, ingestion
// invariants fail fast, so a grant to a principal or entitlement that was
// never synced fails the sync.
func Sync(ctx context.Context, client types.ConnectorClient, c1zPath string, o SyncOptions) error {
	// SQLite, the engine the command writes by default. (Pebble also zeroes
	// a large sort arena for every index it builds, most of a small sync's
	// CPU.)
	opts := []sdksync.SyncOpt{sdksync.WithC1ZPath(c1zPath), sdksync.WithStorageEngine(c1zstore.EngineSQLite)}
	if !o.Production {
		opts = append(opts, sdksync.WithFailFastInvariants())
	}
	if o.TmpDir != "" {
		opts = append(opts, sdksync.WithTmpDir(o.TmpDir))
	}
	if o.Workers != 0 {
		opts = append(opts, sdksync.WithWorkerCount(o.Workers))
	}
	if len(o.Targets) > 0 {
		opts = append(opts, sdksync.WithTargetedSyncResources(o.Targets))
	}
	if o.SkipExpandGrants {
		opts = append(opts, sdksync.WithDontExpandGrants())
	}
	s, err := sdksync.NewSyncer(ctx, client, opts...)
	if err != nil {
		return fmt.Errorf("harness: new syncer: %w", err)
	}
	if err := s.Sync(ctx); err != nil {
		_ = s.Close(ctx)
		return fmt.Errorf("harness: sync: %w", err)
	}
	if err := s.Close(ctx); err != nil {
		return fmt.Errorf("harness: write c1z: %w", err)
	}
	return nil
}

// Contents is what a c1z holds, as sorted ids and the full objects.
type Contents struct {
	Resources    map[string]*v2.Resource    // "type/id" → resource
	Entitlements map[string]*v2.Entitlement // entitlement id → entitlement
	Grants       map[string]*v2.Grant       // grant id → grant
}

// ResourceKeys returns the sorted "type/id" keys.
func (c Contents) ResourceKeys() []string { return sortedKeys(c.Resources) }

// EntitlementIDs returns the sorted entitlement ids.
func (c Contents) EntitlementIDs() []string { return sortedKeys(c.Entitlements) }

// GrantIDs returns the sorted grant ids.
func (c Contents) GrantIDs() []string { return sortedKeys(c.Grants) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Read loads the latest finished sync of a c1z file, full or partial.
func Read(ctx context.Context, c1zPath, tmpDir string) (Contents, error) {
	return read(ctx, c1zPath, tmpDir, c1zstore.SyncMeta.LatestFinishedSyncOfAnyType)
}

// ReadFull loads the latest full sync of a c1z file, whatever partial
// syncs were added after it. A file without one is an error.
func ReadFull(ctx context.Context, c1zPath, tmpDir string) (Contents, error) {
	return read(ctx, c1zPath, tmpDir, func(m c1zstore.SyncMeta, ctx context.Context) (*c1zstore.SyncRun, error) {
		run, err := m.LatestFullSync(ctx)
		if err == nil && run == nil {
			err = fmt.Errorf("no full sync in %s", c1zPath)
		}
		return run, err
	})
}

func read(ctx context.Context, c1zPath, tmpDir string, which func(c1zstore.SyncMeta, context.Context) (*c1zstore.SyncRun, error)) (Contents, error) {
	opts := []dotc1z.C1ZOption{dotc1z.WithReadOnly(true)}
	if tmpDir != "" {
		opts = append(opts, dotc1z.WithTmpDir(tmpDir))
	}
	store, err := dotc1z.NewStore(ctx, c1zPath, opts...)
	if err != nil {
		return Contents{}, fmt.Errorf("harness: open %s: %w", c1zPath, err)
	}
	defer func() { _ = store.Close(ctx) }()
	latest, err := which(store.SyncMeta(), ctx)
	if err != nil {
		return Contents{}, fmt.Errorf("harness: find the sync to read in %s: %w", c1zPath, err)
	}
	if latest != nil {
		if err := store.SetCurrentSync(ctx, latest.ID); err != nil {
			return Contents{}, fmt.Errorf("harness: read sync %s: %w", latest.ID, err)
		}
	}

	out := Contents{Resources: map[string]*v2.Resource{}, Entitlements: map[string]*v2.Entitlement{}, Grants: map[string]*v2.Grant{}}
	err = collect(func(token string) (*v2.ResourcesServiceListResourcesResponse, error) {
		return store.ListResources(ctx, v2.ResourcesServiceListResourcesRequest_builder{PageToken: token}.Build())
	}, func(r *v2.Resource) { out.Resources[r.GetId().GetResourceType()+"/"+r.GetId().GetResource()] = r })
	if err != nil {
		return Contents{}, fmt.Errorf("harness: list resources: %w", err)
	}
	err = collect(func(token string) (*v2.EntitlementsServiceListEntitlementsResponse, error) {
		return store.ListEntitlements(ctx, v2.EntitlementsServiceListEntitlementsRequest_builder{PageToken: token}.Build())
	}, func(e *v2.Entitlement) { out.Entitlements[e.GetId()] = e })
	if err != nil {
		return Contents{}, fmt.Errorf("harness: list entitlements: %w", err)
	}
	// A c1z keeps a grant's GrantExpandable annotation in a column of its
	// own, which ConductorOne expands from; the plain listing leaves it out
	// of SQLite files, so read grants the way that puts it back.
	listGrants := store.ListGrants
	if withExpansion, ok := any(store).(connectorstore.ExpansionGrantLister); ok {
		listGrants = withExpansion.ListGrantsWithExpansion
	}
	err = collect(func(token string) (*v2.GrantsServiceListGrantsResponse, error) {
		return listGrants(ctx, v2.GrantsServiceListGrantsRequest_builder{PageToken: token}.Build())
	}, func(g *v2.Grant) { out.Grants[g.GetId()] = g })
	if err != nil {
		return Contents{}, fmt.Errorf("harness: list grants: %w", err)
	}
	return out, nil
}

// page is one page of a c1z listing.
type page[T any] interface {
	GetList() []T
	GetNextPageToken() string
}

// collect pages through a listing, handing every item to keep.
func collect[T any, P page[T]](fetch func(token string) (P, error), keep func(T)) error {
	token := ""
	for {
		resp, err := fetch(token)
		if err != nil {
			return err
		}
		for _, item := range resp.GetList() {
			keep(item)
		}
		if token = resp.GetNextPageToken(); token == "" {
			return nil
		}
	}
}
