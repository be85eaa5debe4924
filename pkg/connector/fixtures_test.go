// Fixtures of the connector's tests: a connector against the simulator,
// synced or ready to provision, and what a sync of it must hold.
package connector

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"

	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/testkit"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
)

func TestMain(m *testing.M) {
	flag.Parse()
	testkit.ParallelUnlessSet(4)
	cleanup := testkit.ShortRunsInMemory()
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// testSettings are production defaults against a simulator at baseURL.
func testSettings(baseURL string) Settings {
	return Settings{
		BaseURL:              baseURL,
		Token:                traysim.AdminToken,
		WorkspaceTypes:       map[client.WorkspaceType]bool{"Organization": true, "Shared": true, "Embedded": true},
		RequestsPerSecond:    1000,
		AccountCreationMode:  "invite",
		DefaultWorkspaceRole: "Viewer",
		FallbackOrgRole:      "Viewer",
	}
}

// fastClient shortens the client's backoffs and widens its burst, so that
// tests spend their time on behaviour, not waiting.
func fastClient(o *client.Options) {
	o.BaseBackoff = time.Millisecond
	o.MaxBackoff = 5 * time.Millisecond
	o.Burst = 100
}

// productionClient leaves the client's pace, retries and backoff as they
// are in production.
func productionClient(*client.Options) {}

// fixture is a connector against a simulator, behind the SDK's in-process
// server.
type fixture struct {
	sim      *traysim.Server
	conn     *Connector
	settings Settings
	srv      *harness.Served
	dir      string
}

// newFixture serves sim to a connector with testSettings, edited, and a
// fast client.
func newFixture(t *testing.T, sim *traysim.Server, edit ...func(*Settings)) *fixture {
	t.Helper()
	return newFixtureWith(t, sim, sim, fastClient, edit...)
}

// newFixtureWith serves sim through h, which may change what Tray answers,
// to a connector whose client options tune changes.
func newFixtureWith(t *testing.T, sim *traysim.Server, h http.Handler, tune func(*client.Options), edit ...func(*Settings)) *fixture {
	t.Helper()
	s := testSettings(traysim.ListenTest(t, h))
	for _, e := range edit {
		e(&s)
	}
	c, served, err := serve(context.Background(), s, tune)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(served.Close)
	return &fixture{sim: sim, conn: c, settings: s, srv: served, dir: t.TempDir()}
}

// serve builds a connector with settings s and client options tuned by
// tune, behind the SDK's in-process server.
func serve(ctx context.Context, s Settings, tune func(*client.Options)) (*Connector, *harness.Served, error) {
	copts := clientOptions(s)
	tune(&copts)
	c, err := newConnector(ctx, s, nil, copts)
	if err != nil {
		return nil, nil, err
	}
	served, err := harness.Serve(ctx, c)
	return c, served, err
}

// sync runs a full in-process sync and returns what the c1z holds.
func (f *fixture) sync(t *testing.T) harness.Contents {
	t.Helper()
	got, err := syncIn(context.Background(), f.srv, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// syncIn runs a full sync, with its c1z and temporary files in dir, and
// reads the c1z back.
func syncIn(ctx context.Context, served *harness.Served, dir string) (harness.Contents, error) {
	path, syncTmp, readTmp := filepath.Join(dir, "sync.c1z"), filepath.Join(dir, "sync"), filepath.Join(dir, "read")
	for _, d := range []string{syncTmp, readTmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return harness.Contents{}, err
		}
	}
	if err := harness.Sync(ctx, served.Client, path, harness.SyncOptions{TmpDir: syncTmp}); err != nil {
		return harness.Contents{}, fmt.Errorf("sync: %w", err)
	}
	return harness.Read(ctx, path, readTmp)
}

// expected derives, from the simulator's own state, the exact ids a sync
// with these settings must produce: listed memberships and, unless the
// settings leave it out, the Admin role that organization Owners and
// Admins hold in every workspace (granted to their roles and expanded by
// the SDK to every holder).
func expected(sn traysim.Snapshot, s Settings) ([]string, []string, []string) {
	var (
		orgWS                           string
		resources, entitlements, grants []string
		orgAdmins, reachEverything      []string
	)
	for _, u := range sn.Users {
		resources = append(resources, "user/"+u.ID)
		grants = append(grants, "role:"+u.OrgRoleID+":assigned:user:"+u.ID)
		if n := sn.OrgRoleName(u.OrgRoleID); n == "Owner" || n == "Admin" {
			orgAdmins = append(orgAdmins, u.ID)
		}
	}
	for _, r := range sn.OrgRoles {
		resources = append(resources, "role/"+r.ID)
		entitlements = append(entitlements, "role:"+r.ID+":assigned")
		if r.Name == "Owner" || r.Name == "Admin" {
			reachEverything = append(reachEverything, r.ID)
		}
	}
	for _, w := range sn.Workspaces {
		if !s.WorkspaceTypes[client.WorkspaceType(w.Type)] {
			continue
		}
		resources = append(resources, "workspace/"+w.ID)
		entitlements = append(entitlements, "workspace:"+w.ID+":member")
		if w.Type == "Organization" {
			orgWS = w.ID
			continue
		}
		for _, r := range w.Roles {
			entitlements = append(entitlements, "workspace:"+w.ID+":"+r.ID)
		}
		implicit := map[string]bool{}
		if admin := w.RoleByName("Admin"); admin.ID != "" && !s.ListedMembershipsOnly {
			for _, role := range reachEverything {
				grants = append(grants, "workspace:"+w.ID+":"+admin.ID+":role:"+role)
			}
			for _, uid := range orgAdmins {
				implicit["workspace:"+w.ID+":"+admin.ID+":user:"+uid] = true
			}
		}
		for uid, rid := range sn.Members[w.ID] {
			grants = append(grants, "workspace:"+w.ID+":member:user:"+uid)
			implicit["workspace:"+w.ID+":"+rid+":user:"+uid] = true // a listed grant the expansion may also reach
		}
		for g := range implicit {
			grants = append(grants, g)
		}
	}
	if orgWS != "" {
		for _, u := range sn.Users {
			grants = append(grants, "workspace:"+orgWS+":member:user:"+u.ID)
		}
	}
	slices.Sort(resources)
	slices.Sort(entitlements)
	slices.Sort(grants)
	return resources, entitlements, grants
}

// assertExpected checks that a sync holds exactly what the fixture's
// simulator and settings say it must.
func assertExpected(t *testing.T, f *fixture, got harness.Contents) {
	t.Helper()
	wantR, wantE, wantG := expected(f.sim.Snapshot(), f.settings)
	assertSameIDs(t, "resources", wantR, got.ResourceKeys())
	assertSameIDs(t, "entitlements", wantE, got.EntitlementIDs())
	assertSameIDs(t, "grants", wantG, got.GrantIDs())
}

func assertSameIDs(t *testing.T, what string, want, got []string) {
	t.Helper()
	if slices.Equal(want, got) {
		return
	}
	missing, extra := diff(want, got), diff(got, want)
	t.Errorf("%s differ: %d expected, %d synced; missing %v; unexpected %v", what, len(want), len(got), head(missing), head(extra))
}

func diff(a, b []string) []string {
	set := map[string]bool{}
	for _, x := range b {
		set[x] = true
	}
	var out []string
	for _, x := range a {
		if !set[x] {
			out = append(out, x)
		}
	}
	return out
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// provisioning is a synced fixture: entitlements and principals come from
// the c1z, exactly as the CLI and ConductorOne pass them.
type provisioning struct {
	*fixture
	got harness.Contents
}

func newProvisioning(t *testing.T, edit ...func(*Settings)) *provisioning {
	t.Helper()
	f := newFixture(t, traysim.NewDefault(traysim.ShapeMinimal), edit...)
	if len(edit) > 0 {
		return &provisioning{fixture: f, got: f.sync(t)}
	}
	got, err := defaultOrgSync()
	if err != nil {
		t.Fatal(err)
	}
	return &provisioning{fixture: f, got: got}
}

// defaultOrgSync is one sync of the default organization with the default
// settings, shared read-only by the provisioning fixtures that edit no
// setting. It stands for each fixture's own sync: the simulator seeds the
// same organization, with the same ids, every time, and the connector
// provisions from what it is handed, not from an earlier sync.
var defaultOrgSync = sync.OnceValues(func() (harness.Contents, error) {
	ctx := context.Background()
	url, stop := traysim.Listen(traysim.NewDefault(traysim.ShapeMinimal))
	defer stop()
	_, served, err := serve(ctx, testSettings(url), fastClient)
	if err != nil {
		return harness.Contents{}, err
	}
	defer served.Close()
	dir, err := os.MkdirTemp("", "baton-trayai-default-org-")
	if err != nil {
		return harness.Contents{}, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	return syncIn(ctx, served, dir)
})

func (p *provisioning) grant(t *testing.T, entID, userID string) (*v2.GrantManagerServiceGrantResponse, error) {
	t.Helper()
	e := p.got.Entitlements[entID]
	u := p.got.Resources["user/"+userID]
	if e == nil || u == nil {
		t.Fatalf("entitlement %s or user %s not in the c1z", entID, userID)
	}
	return p.srv.Client.Grant(context.Background(), v2.GrantManagerServiceGrantRequest_builder{Entitlement: e, Principal: u}.Build())
}

func (p *provisioning) revoke(t *testing.T, entID, userID string) (*v2.GrantManagerServiceRevokeResponse, error) {
	t.Helper()
	e := p.got.Entitlements[entID]
	u := p.got.Resources["user/"+userID]
	if e == nil || u == nil {
		t.Fatalf("entitlement %s or user %s not in the c1z", entID, userID)
	}
	g := v2.Grant_builder{Id: entID + ":user:" + userID, Entitlement: e, Principal: u}.Build()
	return p.srv.Client.Revoke(context.Background(), v2.GrantManagerServiceRevokeRequest_builder{Grant: g}.Build())
}

// annos makes an addressable Annotations for its pointer methods.
func annos(a annotations.Annotations) *annotations.Annotations { return &a }

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sharedWorkspaceAndOutsider picks a shared workspace and a Contributor
// (per-workspace roles of Contributors and Viewers are editable) who is
// not a member of it.
func (p *provisioning) sharedWorkspaceAndOutsider(t *testing.T) (traysim.Workspace, traysim.User) {
	t.Helper()
	return outsider(t, p.sim.Snapshot(), "Contributor")
}

// outsider picks a shared workspace and a person with the named org role
// who is not a member of it.
func outsider(t *testing.T, sn traysim.Snapshot, orgRole string) (traysim.Workspace, traysim.User) {
	t.Helper()
	for _, w := range sn.WorkspacesOfType("Shared") {
		for _, u := range sn.Users {
			if _, member := sn.Members[w.ID][u.ID]; !member && u.AccountType == "Regular" && sn.OrgRoleName(u.OrgRoleID) == orgRole {
				return w, u
			}
		}
	}
	t.Fatalf("no %s outside a shared workspace", orgRole)
	return traysim.Workspace{}, traysim.User{}
}

func memberRole(p *provisioning, wsID, userID string) (string, bool) {
	r, ok := p.sim.Snapshot().Members[wsID][userID]
	return r, ok
}

func createRequest(email, name, role string) *v2.CreateAccountRequest {
	r := accountRequestWith(map[string]any{"email": email, "name": name, "role": role})
	r.GetAccountInfo().SetLogin(email)
	return r
}

// orgAdminOutside finds a shared workspace and a human org Admin who is not
// a member of it.
func orgAdminOutside(t *testing.T, sn traysim.Snapshot) (traysim.Workspace, traysim.User) {
	t.Helper()
	return outsider(t, sn, "Admin")
}

func immutable(g *v2.Grant) bool {
	return annos(g.GetAnnotations()).Contains(&v2.GrantImmutable{})
}

func (p *provisioning) contributorOutside(t *testing.T, ws traysim.Workspace) traysim.User {
	t.Helper()
	sn := p.sim.Snapshot()
	for _, u := range sn.Users {
		if _, member := sn.Members[ws.ID][u.ID]; !member && sn.OrgRoleName(u.OrgRoleID) == "Contributor" {
			return u
		}
	}
	t.Fatal("no Contributor outside the workspace")
	return traysim.User{}
}

// apiUser is the simulator's API user behind the admin token: the account
// the connector runs as, an org Admin and Admin of the first shared workspace.
func apiUser(t *testing.T, p *provisioning) (traysim.User, traysim.Workspace) {
	t.Helper()
	sn := p.sim.Snapshot()
	u, ok := sn.User(p.sim.APIUserID(traysim.AdminToken))
	if !ok {
		t.Fatal("the admin token has no API user")
	}
	for _, w := range sn.WorkspacesOfType("Shared") {
		if _, in := sn.Members[w.ID][u.ID]; in {
			return u, w
		}
	}
	t.Fatal("the API user is in no shared workspace")
	return u, traysim.Workspace{}
}

func assertSameContents(t *testing.T, cleanGot, faultyGot harness.Contents) {
	t.Helper()
	assertSameIDs(t, "resources", cleanGot.ResourceKeys(), faultyGot.ResourceKeys())
	assertSameIDs(t, "entitlements", cleanGot.EntitlementIDs(), faultyGot.EntitlementIDs())
	assertSameIDs(t, "grants", cleanGot.GrantIDs(), faultyGot.GrantIDs())
}

// targeted runs a targeted sync of the given resources into the fixture's
// c1z, after a full sync, and returns what the new partial sync holds and
// the requests it made.
func (f *fixture) targeted(t *testing.T, c1z string, targets ...*v2.ResourceId) (harness.Contents, map[string]int) {
	t.Helper()
	f.sim.ResetCounts()
	resources := make([]*v2.Resource, 0, len(targets))
	for _, id := range targets {
		resources = append(resources, v2.Resource_builder{Id: id}.Build())
	}
	ctx := context.Background()
	err := harness.Sync(ctx, f.srv.Client, c1z, harness.SyncOptions{TmpDir: t.TempDir(), Targets: resources, Production: true})
	if err != nil {
		t.Fatalf("targeted sync: %v", err)
	}
	got, err := harness.Read(ctx, c1z, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	counts, _ := f.sim.Counts()
	return got, counts
}

func withPrefix(ids []string, prefix string) []string {
	var out []string
	for _, id := range ids {
		if strings.HasPrefix(id, prefix) {
			out = append(out, id)
		}
	}
	return out
}
