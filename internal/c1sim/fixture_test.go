package c1sim_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

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

// sharedCA signs every test server: the SDK runs in this process, and Go
// reads SSL_CERT_FILE once per process.
var sharedCA *c1sim.CA

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "c1sim-test-ca-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedCA, err = c1sim.NewCA(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Before the first TLS handshake of the process.
	_ = os.Setenv("SSL_CERT_FILE", sharedCA.File())
	// Tests that want these set them with t.Setenv.
	for _, k := range []string{"BATON_C1_API_HOST", "BATON_GET_TASKS", "BATON_HOST_ID"} {
		_ = os.Unsetenv(k)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// start starts a stand-in for one test.
func start(t *testing.T, opts c1sim.Options) *c1sim.Server {
	t.Helper()
	opts.CA = sharedCA
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

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// manager is the SDK's service-mode task manager, as the connector runner
// builds it (pkg/connectorrunner NewConnectorRunner), for one client id and
// secret.
func manager(ctx context.Context, t *testing.T, clientID, clientSecret, tempDir string) c1api.BootstrappingTaskManager {
	t.Helper()
	m, err := c1api.NewC1TaskManager(ctx, clientID, clientSecret, tempDir, false, "", "", nil, nil, nil, 0, "", 1, false)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// serve runs the test connector behind the SDK's connector server, in
// process, and returns its client (what the runner hands the task manager).
func serve(ctx context.Context, t *testing.T, c *testConnector) types.ConnectorClient {
	t.Helper()
	served, err := harness.Serve(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(served.Close)
	return served.Client
}

var (
	userType = v2.ResourceType_builder{
		Id: "user", DisplayName: "User", Traits: []v2.ResourceType_Trait{v2.ResourceType_TRAIT_USER},
	}.Build()
	groupType = v2.ResourceType_builder{
		Id: "group", DisplayName: "Group", Traits: []v2.ResourceType_Trait{v2.ResourceType_TRAIT_GROUP},
	}.Build()
)

// testConnector is a tiny connector: users alice and bob, group admins whose
// member bob is. It grants and revokes admins membership (refusing mallory),
// deletes users and rotates a user's password.
type testConnector struct {
	mu      sync.Mutex
	granted []string
	revoked []string
	deleted []string
}

func (c *testConnector) Metadata(context.Context) (*v2.ConnectorMetadata, error) {
	return v2.ConnectorMetadata_builder{DisplayName: "c1sim test connector", Description: "users and a group"}.Build(), nil
}

func (c *testConnector) Validate(context.Context) (annotations.Annotations, error) { return nil, nil }

func (c *testConnector) ResourceSyncers(context.Context) []connectorbuilder.ResourceSyncerV2 {
	return []connectorbuilder.ResourceSyncerV2{&users{c}, &groups{c}}
}

type users struct{ c *testConnector }

func (u *users) ResourceType(context.Context) *v2.ResourceType { return userType }

func (u *users) List(_ context.Context, _ *v2.ResourceId, _ resource.SyncOpAttrs) ([]*v2.Resource, *resource.SyncOpResults, error) {
	var out []*v2.Resource
	for _, name := range []string{"alice", "bob"} {
		r, err := resource.NewUserResource(name, userType, name, []resource.UserTraitOption{resource.WithEmail(name+"@example.com", true)})
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	return out, &resource.SyncOpResults{}, nil
}

func (u *users) Entitlements(context.Context, *v2.Resource, resource.SyncOpAttrs) ([]*v2.Entitlement, *resource.SyncOpResults, error) {
	return nil, &resource.SyncOpResults{}, nil
}

func (u *users) Grants(context.Context, *v2.Resource, resource.SyncOpAttrs) ([]*v2.Grant, *resource.SyncOpResults, error) {
	return nil, &resource.SyncOpResults{}, nil
}

func (u *users) Delete(_ context.Context, id *v2.ResourceId, _ *v2.ResourceId) (annotations.Annotations, error) {
	u.c.mu.Lock()
	defer u.c.mu.Unlock()
	u.c.deleted = append(u.c.deleted, id.GetResource())
	return nil, nil
}

func (u *users) Rotate(_ context.Context, id *v2.ResourceId, _ *v2.LocalCredentialOptions) ([]*v2.PlaintextData, annotations.Annotations, error) {
	return []*v2.PlaintextData{v2.PlaintextData_builder{
		Name: "password", Bytes: []byte("rotated-password-for-" + id.GetResource()),
	}.Build()}, nil, nil
}

func (u *users) RotateCapabilityDetails(context.Context) (*v2.CredentialDetailsCredentialRotation, annotations.Annotations, error) {
	return v2.CredentialDetailsCredentialRotation_builder{
		SupportedCredentialOptions: []v2.CapabilityDetailCredentialOption{v2.CapabilityDetailCredentialOption_CAPABILITY_DETAIL_CREDENTIAL_OPTION_RANDOM_PASSWORD},
		PreferredCredentialOption:  v2.CapabilityDetailCredentialOption_CAPABILITY_DETAIL_CREDENTIAL_OPTION_RANDOM_PASSWORD,
	}.Build(), nil, nil
}

type groups struct{ c *testConnector }

func (g *groups) ResourceType(context.Context) *v2.ResourceType { return groupType }

func adminsGroup() (*v2.Resource, error) {
	return resource.NewGroupResource("Admins", groupType, "admins", nil)
}

func (g *groups) List(_ context.Context, _ *v2.ResourceId, _ resource.SyncOpAttrs) ([]*v2.Resource, *resource.SyncOpResults, error) {
	r, err := adminsGroup()
	if err != nil {
		return nil, nil, err
	}
	return []*v2.Resource{r}, &resource.SyncOpResults{}, nil
}

func (g *groups) Entitlements(_ context.Context, r *v2.Resource, _ resource.SyncOpAttrs) ([]*v2.Entitlement, *resource.SyncOpResults, error) {
	return []*v2.Entitlement{entitlement.NewAssignmentEntitlement(r, "member", entitlement.WithGrantableTo(userType))}, &resource.SyncOpResults{}, nil
}

func (g *groups) Grants(_ context.Context, r *v2.Resource, _ resource.SyncOpAttrs) ([]*v2.Grant, *resource.SyncOpResults, error) {
	bob := v2.ResourceId_builder{ResourceType: "user", Resource: "bob"}.Build()
	return []*v2.Grant{grant.NewGrant(r, "member", bob)}, &resource.SyncOpResults{}, nil
}

func (g *groups) Grant(_ context.Context, principal *v2.Resource, ent *v2.Entitlement) ([]*v2.Grant, annotations.Annotations, error) {
	if principal.GetId().GetResource() == "mallory" {
		return nil, nil, status.Error(codes.PermissionDenied, "mallory is not allowed in admins")
	}
	g.c.mu.Lock()
	g.c.granted = append(g.c.granted, principal.GetId().GetResource()+" "+ent.GetId())
	g.c.mu.Unlock()
	return []*v2.Grant{grant.NewGrant(ent.GetResource(), "member", principal.GetId())}, nil, nil
}

func (g *groups) Revoke(_ context.Context, gr *v2.Grant) (annotations.Annotations, error) {
	g.c.mu.Lock()
	defer g.c.mu.Unlock()
	g.c.revoked = append(g.c.revoked, gr.GetId())
	return nil, nil
}
