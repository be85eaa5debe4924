package connector

import (
	"slices"
	"strings"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
)

// TestSyncPinsTheIDsOfTheMigrationMap pins, in a complete sync of a
// simulated organization, every id format docs/migrating.md promises an
// organization moving from the earlier Tray.ai connector: ConductorOne
// keeps history only for objects whose ids match, so none may change
// silently. The formats are spelled out here literally, not derived from
// the code under test.
func TestSyncPinsTheIDsOfTheMigrationMap(t *testing.T) {
	t.Parallel()
	f := newFixture(t, traysim.NewDefault(traysim.ShapeFull))
	got := f.sync(t)
	sn := f.sim.Snapshot()

	pinUsers(t, sn, got)
	pinOrgRoles(t, sn, got)
	pinWorkspaces(t, sn, got, f.settings.WorkspaceTypes)
	pinGrants(t, sn, got)
}

// pinUsers: user:<Tray user id>, with our profile keys and the earlier
// connector's (username = the name, accountType, role = the org role's name).
func pinUsers(t *testing.T, sn traysim.Snapshot, got harness.Contents) {
	t.Helper()
	for _, u := range sn.Users {
		r := mustResource(t, got, "user", u.ID)
		if r.GetParentResourceId() != nil {
			t.Errorf("user:%s has a parent %v; the earlier connector's users had none", u.ID, r.GetParentResourceId())
		}
		role := sn.OrgRoleName(u.OrgRoleID)
		pinProfile(t, "user:"+u.ID, rs.GetProfile(r), map[string]any{
			"id": u.ID, "email": u.Email, "name": u.Name, "account_type": u.AccountType,
			"org_role_id": u.OrgRoleID, "org_role_name": role,
			"username": u.Name, "accountType": u.AccountType, "role": role,
		})
	}
}

// pinOrgRoles: role:<org role id>, entitlement role:<org role id>:assigned.
func pinOrgRoles(t *testing.T, sn traysim.Snapshot, got harness.Contents) {
	t.Helper()
	for _, role := range sn.OrgRoles {
		r := mustResource(t, got, "role", role.ID)
		pinProfile(t, "role:"+role.ID, rs.GetProfile(r), map[string]any{"id": role.ID, "name": role.Name})
		pinEntitlement(t, got, "role:"+role.ID+":assigned", "assigned", role.Name+" organization role")
	}
}

// pinWorkspaces: workspace:<id>; entitlements workspace:<id>:member and,
// except in the Organization workspace, workspace:<id>:<role id> with the
// role's name as slug and the earlier connector's display name.
func pinWorkspaces(t *testing.T, sn traysim.Snapshot, got harness.Contents, types map[client.WorkspaceType]bool) {
	t.Helper()
	checkedRoles := 0
	for _, w := range sn.Workspaces {
		if !types[client.WorkspaceType(w.Type)] {
			if got.Resources["workspace/"+w.ID] != nil {
				t.Errorf("%s workspace %s synced although its type is not configured", w.Type, w.ID)
			}
			continue
		}
		r := mustResource(t, got, "workspace", w.ID)
		pinProfile(t, "workspace:"+w.ID, rs.GetProfile(r), map[string]any{
			"id": w.ID, "type": w.Type, "description": w.Description, "monthly_task_limit": w.MonthlyTaskLimit,
			"workspace_id": w.ID, "workspace_name": w.Name, "workspace_type": w.Type,
			"workspace_description": w.Description, "workspace_monthlyTaskLimit": w.MonthlyTaskLimit,
		})
		pinEntitlement(t, got, "workspace:"+w.ID+":member", "member", "Member of workspace "+w.Name)
		roleEnts := 0
		for id, e := range got.Entitlements {
			if e.GetResource().GetId().GetResource() == w.ID && id != "workspace:"+w.ID+":member" {
				roleEnts++
			}
		}
		if w.Type == "Organization" {
			if roleEnts != 0 {
				t.Errorf("the Organization workspace has %d role entitlements; its roles are the organization roles", roleEnts)
			}
			continue
		}
		if roleEnts != len(w.Roles) {
			t.Errorf("workspace %s has %d role entitlements, want one per role (%d)", w.ID, roleEnts, len(w.Roles))
		}
		for _, role := range w.Roles {
			pinEntitlement(t, got, "workspace:"+w.ID+":"+role.ID, role.Name, w.Name+" workspace "+role.Name)
			checkedRoles++
		}
	}
	if checkedRoles == 0 {
		t.Fatal("no workspace role entitlement was checked")
	}
}

// pinGrants: every grant id is <entitlement id>:<principal type>:<principal
// id>, and every grant is one of the kinds the map lists.
func pinGrants(t *testing.T, sn traysim.Snapshot, got harness.Contents) {
	t.Helper()
	want := map[string]bool{}
	for _, u := range sn.Users {
		want["role:"+u.OrgRoleID+":assigned:user:"+u.ID] = true
	}
	org := sn.WorkspacesOfType("Organization")[0]
	for _, u := range sn.Users {
		want["workspace:"+org.ID+":member:user:"+u.ID] = true
	}
	for _, w := range sn.Workspaces {
		if w.Type != "Shared" && w.Type != "Embedded" {
			continue
		}
		for uid, roleID := range sn.Members[w.ID] {
			want["workspace:"+w.ID+":member:user:"+uid] = true
			want["workspace:"+w.ID+":"+roleID+":user:"+uid] = true
		}
		admin := w.RoleByName("Admin").ID
		want["workspace:"+w.ID+":"+admin+":role:"+sn.OrgRoleByName("Owner").ID] = true
		want["workspace:"+w.ID+":"+admin+":role:"+sn.OrgRoleByName("Admin").ID] = true
	}
	for id := range want {
		if got.Grants[id] == nil {
			t.Errorf("grant %s missing", id)
		}
	}
	for id, g := range got.Grants {
		p := g.GetPrincipal().GetId()
		if wantID := g.GetEntitlement().GetId() + ":" + p.GetResourceType() + ":" + p.GetResource(); id != wantID {
			t.Errorf("grant id %s, want <entitlement id>:<principal type>:<principal id> = %s", id, wantID)
		}
		// Beyond the listed kinds, the SDK expands the implicit Admin
		// grants to every holder of the Owner and Admin roles.
		if !want[id] && !expandedAdminGrant(sn, id) {
			t.Errorf("grant %s is of no kind the migration map lists", id)
		}
	}
}

// expandedAdminGrant reports workspace:<ws>:<Admin role id>:user:<uid> of
// an organization Owner or Admin.
func expandedAdminGrant(sn traysim.Snapshot, id string) bool {
	for _, w := range sn.Workspaces {
		rest, ok := strings.CutPrefix(id, "workspace:"+w.ID+":"+w.RoleByName("Admin").ID+":user:")
		if !ok {
			continue
		}
		u, found := sn.User(rest)
		n := sn.OrgRoleName(u.OrgRoleID)
		return found && (n == "Owner" || n == "Admin")
	}
	return false
}

func mustResource(t *testing.T, got harness.Contents, typ, id string) *v2.Resource {
	t.Helper()
	r := got.Resources[typ+"/"+id]
	if r == nil {
		t.Fatalf("resource %s:%s missing", typ, id)
	}
	if r.GetId().GetResourceType() != typ || r.GetId().GetResource() != id {
		t.Fatalf("resource %s:%s has id %s:%s", typ, id, r.GetId().GetResourceType(), r.GetId().GetResource())
	}
	return r
}

func pinEntitlement(t *testing.T, got harness.Contents, id, slug, displayName string) {
	t.Helper()
	e := got.Entitlements[id]
	switch {
	case e == nil:
		t.Errorf("entitlement %s missing", id)
	case e.GetSlug() != slug:
		t.Errorf("entitlement %s: slug %q, want %q", id, e.GetSlug(), slug)
	case e.GetDisplayName() != displayName:
		t.Errorf("entitlement %s: display name %q, want %q", id, e.GetDisplayName(), displayName)
	}
}

// pinProfile checks a profile holds exactly the given keys and values
// (numbers as the profile stores them).
func pinProfile(t *testing.T, what string, p *structpb.Struct, want map[string]any) {
	t.Helper()
	got := p.AsMap()
	keys := func(m map[string]any) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(keys(got), keys(want)) {
		t.Errorf("%s: profile keys %v, want %v", what, keys(got), keys(want))
		return
	}
	for k, v := range want {
		if n, ok := v.(int64); ok {
			v = float64(n)
		}
		if got[k] != v {
			t.Errorf("%s: profile %s = %v (%T), want %v", what, k, got[k], got[k], v)
		}
	}
}

// A workspace Tray.ai sends without a monthly task limit carries the
// earlier connector's key as 0, as that connector wrote it, and not this
// connector's own key (the simulator always sends a limit).
func TestAWorkspaceWithoutATaskLimitKeepsTheEarlierKeyAtZero(t *testing.T) {
	t.Parallel()
	r, err := workspaceResource(client.Workspace{ID: "w1", Name: "Finance", Type: "Shared", Description: "Money"})
	if err != nil {
		t.Fatal(err)
	}
	pinProfile(t, "workspace without a limit", rs.GetProfile(r), map[string]any{
		"id": "w1", "type": "Shared", "description": "Money",
		"workspace_id": "w1", "workspace_name": "Finance", "workspace_type": "Shared",
		"workspace_description": "Money", "workspace_monthlyTaskLimit": int64(0),
	})
}
