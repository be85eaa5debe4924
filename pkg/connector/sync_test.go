package connector

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"

	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
)

// testSettings are production defaults with a fast limiter and short
// backoffs, so tests spend their time on behaviour, not waiting.
func testSettings(baseURL string) Settings {
	return Settings{
		BaseURL:              baseURL,
		Token:                traysim.AdminToken,
		WorkspaceTypes:       map[client.WorkspaceType]bool{"Organization": true, "Shared": true, "Embedded": true},
		RequestsPerSecond:    1000,
		AccountCreationMode:  "invite",
		DefaultWorkspaceRole: "Viewer",
		FallbackOrgRole:      "Viewer",
		tuneClient: func(o *client.Options) {
			o.BaseBackoff = time.Millisecond
			o.MaxBackoff = 5 * time.Millisecond
			o.Burst = 100
		},
	}
}

type fixture struct {
	sim  *traysim.Server
	conn *Connector
	srv  *harness.Served
	dir  string
}

func newFixture(t *testing.T, sim *traysim.Server, edit ...func(*Settings)) *fixture {
	t.Helper()
	return newFixtureBehind(t, sim, sim, edit...)
}

// newFixtureBehind serves sim through h, which may change what Tray answers.
func newFixtureBehind(t *testing.T, sim *traysim.Server, h http.Handler, edit ...func(*Settings)) *fixture {
	t.Helper()
	s := testSettings(traysim.ListenTest(t, h))
	for _, e := range edit {
		e(&s)
	}
	ctx := context.Background()
	c, err := NewWithSettings(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	served, err := harness.Serve(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(served.Close)
	return &fixture{sim: sim, conn: c, srv: served, dir: t.TempDir()}
}

// sync runs a full in-process sync and returns what the c1z holds.
func (f *fixture) sync(t *testing.T) harness.Contents {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sync.c1z")
	if err := harness.Sync(ctx, f.srv.Client, path, harness.SyncOptions{TmpDir: t.TempDir()}); err != nil {
		t.Fatalf("sync: %v", err)
	}
	got, err := harness.Read(ctx, path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return got
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
	wantR, wantE, wantG := expected(f.sim.Snapshot(), f.conn.settings)
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

func TestFullSyncMatchesSimulatorInEveryListShape(t *testing.T) {
	for _, shape := range traysim.Shapes {
		t.Run(shape.String(), func(t *testing.T) {
			f := newFixture(t, traysim.NewDefault(shape))
			got := f.sync(t)
			sn := f.sim.Snapshot()
			wantR, wantE, wantG := expected(sn, f.conn.settings)
			if len(wantG) < 50 || len(wantR) < 25 {
				t.Fatalf("the seeded organization is too small to prove anything: %d resources, %d grants", len(wantR), len(wantG))
			}
			assertSameIDs(t, "resources", wantR, got.ResourceKeys())
			assertSameIDs(t, "entitlements", wantE, got.EntitlementIDs())
			assertSameIDs(t, "grants", wantG, got.GrantIDs())
			assertUserDetails(t, sn, got)
			assertWorkspaceDetails(t, sn, got)
		})
	}
}

func assertUserDetails(t *testing.T, sn traysim.Snapshot, got harness.Contents) {
	t.Helper()
	wantType := map[string]v2.UserTrait_AccountType{
		"Regular":     v2.UserTrait_ACCOUNT_TYPE_HUMAN,
		"API":         v2.UserTrait_ACCOUNT_TYPE_SERVICE,
		"Integration": v2.UserTrait_ACCOUNT_TYPE_SERVICE,
	}
	seen := map[string]bool{}
	for _, u := range sn.Users {
		r := got.Resources["user/"+u.ID]
		if r == nil {
			continue // reported by the id comparison
		}
		if r.GetDisplayName() != u.Name {
			t.Errorf("user %s: display name %q, want %q", u.ID, r.GetDisplayName(), u.Name)
		}
		trait, err := rs.GetUserTrait(r)
		if err != nil {
			t.Fatalf("user %s has no user trait: %v", u.ID, err)
		}
		if len(trait.GetEmails()) != 1 || trait.GetEmails()[0].GetAddress() != u.Email || trait.GetLogin() != u.Email {
			t.Errorf("user %s: emails %v login %q, want %s", u.ID, trait.GetEmails(), trait.GetLogin(), u.Email)
		}
		if trait.GetAccountType() != wantType[u.AccountType] {
			t.Errorf("user %s (%s): account type %v, want %v", u.ID, u.AccountType, trait.GetAccountType(), wantType[u.AccountType])
		}
		if r.GetStatus().GetStatus() != v2.Status_RESOURCE_STATUS_ENABLED {
			t.Errorf("user %s: status %v, want enabled", u.ID, r.GetStatus())
		}
		p := rs.GetProfile(r)
		if v, _ := rs.GetProfileStringValue(p, profileOrgRoleName); v != sn.OrgRoleName(u.OrgRoleID) {
			t.Errorf("user %s: profile org role %q, want %q", u.ID, v, sn.OrgRoleName(u.OrgRoleID))
		}
		seen[u.AccountType] = true
	}
	for typ := range wantType {
		if !seen[typ] {
			t.Errorf("the seeded organization has no %s user; the account-type mapping is untested", typ)
		}
	}
}

func assertWorkspaceDetails(t *testing.T, sn traysim.Snapshot, got harness.Contents) {
	t.Helper()
	checked := 0
	for _, w := range sn.WorkspacesOfType("Shared") {
		r := got.Resources["workspace/"+w.ID]
		if r == nil {
			continue
		}
		if r.GetDisplayName() != w.Name || r.GetDescription() != w.Description {
			t.Errorf("workspace %s: %q/%q, want %q/%q", w.ID, r.GetDisplayName(), r.GetDescription(), w.Name, w.Description)
		}
		contributor := w.RoleByName("Contributor")
		e := got.Entitlements["workspace:"+w.ID+":"+contributor.ID]
		if want := "Contributor in workspace " + w.Name; e.GetDisplayName() != want {
			t.Errorf("entitlement display name %q, want %q", e.GetDisplayName(), want)
		}
		if !strings.Contains(e.GetDescription(), w.Name) {
			t.Errorf("entitlement description %q does not name the workspace", e.GetDescription())
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no shared workspace was checked")
	}
}

func TestSyncIncludesPersonalWorkspacesWhenAsked(t *testing.T) {
	types := map[client.WorkspaceType]bool{"Organization": true, "Shared": true, "Embedded": true, "Personal": true}
	f := newFixture(t, traysim.NewDefault(traysim.ShapeFull), func(s *Settings) { s.WorkspaceTypes = types })
	got := f.sync(t)
	assertExpected(t, f, got)
	if n := len(f.sim.Snapshot().WorkspacesOfType("Personal")); n == 0 {
		t.Fatal("no personal workspaces seeded")
	}
}

func TestSyncOfOnlySharedWorkspacesEmitsNoOrganizationGrants(t *testing.T) {
	types := map[client.WorkspaceType]bool{"Shared": true}
	f := newFixture(t, traysim.NewDefault(traysim.ShapeFull), func(s *Settings) { s.WorkspaceTypes = types })
	got := f.sync(t)
	assertExpected(t, f, got)
}

func TestSyncHandlesUnknownEnumsAndMultiplePages(t *testing.T) {
	org := traysim.OrgOptions{Seed: 7, Users: 1200, APIUsers: 2, SharedWorkspaces: 3, MembersPerWorkspace: 130}
	sim := traysim.New(traysim.Options{Org: org, Shape: traysim.ShapeFull, HidePersonalWorkspaces: true})
	robot := sim.AddUser("Robo", "robo@acme.example", "Robot", "Viewer")
	odd := sim.AddWorkspace("Galaxy", "Galactic")
	f := newFixture(t, sim, func(s *Settings) { s.WorkspaceTypes["Galactic"] = true })
	got := f.sync(t)
	assertExpected(t, f, got)
	trait, err := rs.GetUserTrait(got.Resources["user/"+robot])
	if err != nil || trait.GetAccountType() != v2.UserTrait_ACCOUNT_TYPE_HUMAN {
		t.Errorf("unknown account type: trait %v, err %v; want human", trait, err)
	}
	if got.Resources["workspace/"+odd] == nil {
		t.Error("workspace of an unknown type was dropped although configured")
	}
	counts, _ := sim.Counts()
	if counts["GET /core/v1/users"] != 2 { // 2 pages of 1000
		t.Errorf("users listed in %d requests; expected two pages", counts["GET /core/v1/users"])
	}
	if counts["GET /core/v1/workspaces/{workspaceId}/users"] < 6 { // 3 workspaces × 2 pages
		t.Errorf("workspace members listed in %d requests; expected two pages per workspace", counts["GET /core/v1/workspaces/{workspaceId}/users"])
	}
}
