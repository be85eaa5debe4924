// The ConductorOne stand-in's own tests (standin_test.go) run the SDK's
// service-mode client in this process against internal/c1sim, with the toy
// connector below. They live here, beside the service-mode tests that stand
// on the stand-in, so the SDK is linked into one test binary instead of two.
package main

import (
	"context"
	"sync"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	"github.com/conductorone/baton-sdk/pkg/tasks/c1api"
	"github.com/conductorone/baton-sdk/pkg/types"
	"github.com/conductorone/baton-sdk/pkg/types/entitlement"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	"github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/internal/c1sim"
	"github.com/conductorone/baton-trayai/internal/harness"
)

// startStandIn starts a stand-in for one test.
func startStandIn(t *testing.T, opts c1sim.Options) *c1sim.Server {
	t.Helper()
	opts.CA = standInCA
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	s, err := c1sim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// skipServiceLoopInShortMode keeps the tests that run the SDK's service
// loop against the stand-in out of the inner loop: they check the test
// double, which a change to the connector leaves alone, and each start-up
// Hello costs a host probe of several processes. make test and CI run them.
func skipServiceLoopInShortMode(t *testing.T) {
	t.Helper()
	skipInShortMode(t, "the stand-in against the SDK's service loop")
}

// taskManager is the SDK's service-mode task manager, as the connector runner
// builds it (pkg/connectorrunner NewConnectorRunner), for one client id and
// secret.
func taskManager(ctx context.Context, t *testing.T, clientID, clientSecret, tempDir string) c1api.BootstrappingTaskManager {
	t.Helper()
	m, err := c1api.NewC1TaskManager(ctx, clientID, clientSecret, tempDir, false, "", "", nil, nil, nil, 0, "", 1, false)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// bootToy serves conn and starts the SDK's task manager against s with s's
// credentials and the start-up Hello done, as the connector runner does.
func bootToy(ctx context.Context, t *testing.T, s *c1sim.Server, conn *toyConnector, tempDir string) (types.ConnectorClient, c1api.BootstrappingTaskManager) {
	t.Helper()
	cc := serveToy(ctx, t, conn)
	m := taskManager(ctx, t, s.ClientID(), s.ClientSecret(), tempDir)
	if err := m.Bootstrap(ctx, cc); err != nil {
		t.Fatalf("startup Hello: %v", err)
	}
	return cc, m
}

// serveToy runs the toy connector behind the SDK's connector server, in
// process, and returns its client (what the runner hands the task manager).
func serveToy(ctx context.Context, t *testing.T, c *toyConnector) types.ConnectorClient {
	t.Helper()
	served, err := harness.Serve(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(served.Close)
	return served.Client
}

var (
	toyUserType = v2.ResourceType_builder{
		Id: "user", DisplayName: "User", Traits: []v2.ResourceType_Trait{v2.ResourceType_TRAIT_USER},
	}.Build()
	toyGroupType = v2.ResourceType_builder{
		Id: "group", DisplayName: "Group", Traits: []v2.ResourceType_Trait{v2.ResourceType_TRAIT_GROUP},
	}.Build()
)

// toyConnector is a tiny connector: users alice and bob, group admins whose
// member bob is. It grants and revokes admins membership (refusing mallory),
// deletes users and rotates a user's password.
type toyConnector struct {
	mu      sync.Mutex
	granted []string
	revoked []string
	deleted []string
}

func (c *toyConnector) Metadata(context.Context) (*v2.ConnectorMetadata, error) {
	return v2.ConnectorMetadata_builder{DisplayName: "c1sim test connector", Description: "users and a group"}.Build(), nil
}

func (c *toyConnector) Validate(context.Context) (annotations.Annotations, error) { return nil, nil }

func (c *toyConnector) ResourceSyncers(context.Context) []connectorbuilder.ResourceSyncerV2 {
	return []connectorbuilder.ResourceSyncerV2{&toyUsers{c}, &toyGroups{c}}
}

type toyUsers struct{ c *toyConnector }

func (u *toyUsers) ResourceType(context.Context) *v2.ResourceType { return toyUserType }

func (u *toyUsers) List(_ context.Context, _ *v2.ResourceId, _ resource.SyncOpAttrs) ([]*v2.Resource, *resource.SyncOpResults, error) {
	var out []*v2.Resource
	for _, name := range []string{"alice", "bob"} {
		r, err := resource.NewUserResource(name, toyUserType, name, []resource.UserTraitOption{resource.WithEmail(name+"@example.com", true)})
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	return out, &resource.SyncOpResults{}, nil
}

func (u *toyUsers) Entitlements(context.Context, *v2.Resource, resource.SyncOpAttrs) ([]*v2.Entitlement, *resource.SyncOpResults, error) {
	return nil, &resource.SyncOpResults{}, nil
}

func (u *toyUsers) Grants(context.Context, *v2.Resource, resource.SyncOpAttrs) ([]*v2.Grant, *resource.SyncOpResults, error) {
	return nil, &resource.SyncOpResults{}, nil
}

func (u *toyUsers) Delete(_ context.Context, id *v2.ResourceId, _ *v2.ResourceId) (annotations.Annotations, error) {
	u.c.mu.Lock()
	defer u.c.mu.Unlock()
	u.c.deleted = append(u.c.deleted, id.GetResource())
	return nil, nil
}

func (u *toyUsers) Rotate(_ context.Context, id *v2.ResourceId, _ *v2.LocalCredentialOptions) ([]*v2.PlaintextData, annotations.Annotations, error) {
	return []*v2.PlaintextData{v2.PlaintextData_builder{
		Name: "password", Bytes: []byte("rotated-password-for-" + id.GetResource()),
	}.Build()}, nil, nil
}

func (u *toyUsers) RotateCapabilityDetails(context.Context) (*v2.CredentialDetailsCredentialRotation, annotations.Annotations, error) {
	return v2.CredentialDetailsCredentialRotation_builder{
		SupportedCredentialOptions: []v2.CapabilityDetailCredentialOption{v2.CapabilityDetailCredentialOption_CAPABILITY_DETAIL_CREDENTIAL_OPTION_RANDOM_PASSWORD},
		PreferredCredentialOption:  v2.CapabilityDetailCredentialOption_CAPABILITY_DETAIL_CREDENTIAL_OPTION_RANDOM_PASSWORD,
	}.Build(), nil, nil
}

type toyGroups struct{ c *toyConnector }

func (g *toyGroups) ResourceType(context.Context) *v2.ResourceType { return toyGroupType }

func adminsGroup() (*v2.Resource, error) {
	return resource.NewGroupResource("Admins", toyGroupType, "admins", nil)
}

func (g *toyGroups) List(_ context.Context, _ *v2.ResourceId, _ resource.SyncOpAttrs) ([]*v2.Resource, *resource.SyncOpResults, error) {
	r, err := adminsGroup()
	if err != nil {
		return nil, nil, err
	}
	return []*v2.Resource{r}, &resource.SyncOpResults{}, nil
}

func (g *toyGroups) Entitlements(_ context.Context, r *v2.Resource, _ resource.SyncOpAttrs) ([]*v2.Entitlement, *resource.SyncOpResults, error) {
	return []*v2.Entitlement{entitlement.NewAssignmentEntitlement(r, "member", entitlement.WithGrantableTo(toyUserType))}, &resource.SyncOpResults{}, nil
}

func (g *toyGroups) Grants(_ context.Context, r *v2.Resource, _ resource.SyncOpAttrs) ([]*v2.Grant, *resource.SyncOpResults, error) {
	bob := v2.ResourceId_builder{ResourceType: "user", Resource: "bob"}.Build()
	return []*v2.Grant{grant.NewGrant(r, "member", bob)}, &resource.SyncOpResults{}, nil
}

func (g *toyGroups) Grant(_ context.Context, principal *v2.Resource, ent *v2.Entitlement) ([]*v2.Grant, annotations.Annotations, error) {
	if principal.GetId().GetResource() == "mallory" {
		return nil, nil, status.Error(codes.PermissionDenied, "mallory is not allowed in admins")
	}
	g.c.mu.Lock()
	g.c.granted = append(g.c.granted, principal.GetId().GetResource()+" "+ent.GetId())
	g.c.mu.Unlock()
	return []*v2.Grant{grant.NewGrant(ent.GetResource(), "member", principal.GetId())}, nil, nil
}

func (g *toyGroups) Revoke(_ context.Context, gr *v2.Grant) (annotations.Annotations, error) {
	g.c.mu.Lock()
	defer g.c.mu.Unlock()
	g.c.revoked = append(g.c.revoked, gr.GetId())
	return nil, nil
}
