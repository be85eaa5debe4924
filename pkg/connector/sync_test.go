package connector

import (
	"strings"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"

	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
)

func TestFullSyncMatchesSimulatorInEveryListShape(t *testing.T) {
	t.Parallel()
	for _, shape := range traysim.Shapes {
		t.Run(shape.String(), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, traysim.NewDefault(shape))
			got := f.sync(t)
			sn := f.sim.Snapshot()
			wantR, wantE, wantG := expected(sn, f.settings)
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
		// As the earlier Tray.ai connector showed them (docs/migrating.md).
		if want := w.Name + " workspace Contributor"; e.GetDisplayName() != want {
			t.Errorf("entitlement display name %q, want %q", e.GetDisplayName(), want)
		}
		if want := "Contributor access to " + w.Name + " in tray.ai"; e.GetDescription() != want {
			t.Errorf("entitlement description %q, want %q", e.GetDescription(), want)
		}
		if e.GetSlug() != "Contributor" {
			t.Errorf("entitlement slug %q, want the role's name Contributor", e.GetSlug())
		}
		admin := got.Entitlements["workspace:"+w.ID+":"+w.RoleByName("Admin").ID]
		if !strings.HasPrefix(admin.GetDescription(), "Admin access to "+w.Name+" in tray.ai. ") ||
			!strings.Contains(admin.GetDescription(), "Organization Owners and Admins hold it in every workspace") {
			t.Errorf("Admin entitlement description %q lacks the earlier wording or the note on organization Owners and Admins", admin.GetDescription())
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no shared workspace was checked")
	}
}

func TestSyncIncludesPersonalWorkspacesWhenAsked(t *testing.T) {
	t.Parallel()
	types := map[client.WorkspaceType]bool{"Organization": true, "Shared": true, "Embedded": true, "Personal": true}
	f := newFixture(t, traysim.NewDefault(traysim.ShapeFull), func(s *Settings) { s.WorkspaceTypes = types })
	got := f.sync(t)
	assertExpected(t, f, got)
	if n := len(f.sim.Snapshot().WorkspacesOfType("Personal")); n == 0 {
		t.Fatal("no personal workspaces seeded")
	}
}

func TestSyncOfOnlySharedWorkspacesEmitsNoOrganizationGrants(t *testing.T) {
	t.Parallel()
	types := map[client.WorkspaceType]bool{"Shared": true}
	f := newFixture(t, traysim.NewDefault(traysim.ShapeFull), func(s *Settings) { s.WorkspaceTypes = types })
	got := f.sync(t)
	assertExpected(t, f, got)
}

// A full sync makes exactly the fewest requests the API allows: fewer means
// that count is wrong (and so is every benchmark ratio built on it), more
// means a page or a lookup was fetched twice. In the list shape with
// everything and in the one that needs a lookup per user and membership.
func TestAFullSyncMakesExactlyTheFewestRequests(t *testing.T) {
	t.Parallel()
	for _, shape := range []traysim.Shape{traysim.ShapeFull, traysim.ShapeMinimal} {
		t.Run(shape.String(), func(t *testing.T) {
			t.Parallel()
			org := traysim.OrgOptions{Seed: 11, Users: 100, APIUsers: 2, SharedWorkspaces: 5, MembersPerWorkspace: 20}
			sim := traysim.New(traysim.Options{Org: org, Shape: shape})
			f := newFixture(t, sim)
			f.sync(t)
			counts, _ := sim.Counts()
			requests := 0
			for _, n := range counts {
				requests += n
			}
			synced := func(typ string) bool { return f.settings.WorkspaceTypes[client.WorkspaceType(typ)] }
			fewest := sim.Snapshot().FewestSyncRequests(shape, synced)
			if requests < fewest {
				t.Fatalf("%d requests is below the computed fewest, %d: the count is wrong", requests, fewest)
			}
			if requests > fewest {
				t.Fatalf("%d requests, %d more than the fewest %d: %v", requests, requests-fewest, fewest, counts)
			}
		})
	}
}

func TestSyncHandlesUnknownEnumsAndMultiplePages(t *testing.T) {
	t.Parallel()
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
