package connector

import (
	"context"
	"slices"
	"strings"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-trayai/internal/testkit"
	"github.com/conductorone/baton-trayai/internal/traysim"
)

// Org Owners and Admins reach every workspace in Tray.ai: the sync grants
// each workspace's Admin role to those org roles, expandable to their
// holders, and the SDK expands it to each of them; listed grants stay.
func TestOrgOwnersAndAdminsHoldEveryWorkspacesAdminRole(t *testing.T) {
	t.Parallel()
	f := newFixture(t, traysim.NewDefault(traysim.ShapeFull))
	sn := f.sim.Snapshot()
	ws, outsider := orgAdminOutside(t, sn)
	admin := ws.RoleByName("Admin")
	got := f.sync(t)

	for _, name := range []string{"Owner", "Admin"} {
		role := sn.OrgRoleByName(name)
		g := got.Grants["workspace:"+ws.ID+":"+admin.ID+":role:"+role.ID]
		expand := &v2.GrantExpandable{}
		if ok, _ := annos(g.GetAnnotations()).Pick(expand); g == nil || !ok ||
			!slices.Equal(expand.GetEntitlementIds(), []string{"role:" + role.ID + ":assigned"}) || !immutable(g) {
			t.Fatalf("%s role's grant of %s's Admin role: %v; want it expandable from role:%s:assigned and immutable", name, ws.Name, g, role.ID)
		}
	}
	for _, name := range []string{"Contributor", "Viewer"} {
		if g := got.Grants["workspace:"+ws.ID+":"+admin.ID+":role:"+sn.OrgRoleByName(name).ID]; g != nil {
			t.Fatalf("the %s org role reaches workspaces it is not a member of: %v", name, g)
		}
	}
	expanded := got.Grants["workspace:"+ws.ID+":"+admin.ID+":user:"+outsider.ID]
	if expanded == nil || !immutable(expanded) {
		t.Fatalf("org Admin %s, not a member of %s: expanded grant %v, want an immutable Admin grant", outsider.Name, ws.Name, expanded)
	}
	if got.Grants["workspace:"+ws.ID+":member:user:"+outsider.ID] != nil {
		t.Fatal("the implicit access made the org Admin a listed member")
	}
	// The connector's API user is an org Admin and a listed Admin of its
	// workspace: its listed grant stays a listed, revocable grant.
	api := f.sim.APIUserID(traysim.AdminToken)
	for wsID, members := range sn.Members {
		if rid, ok := members[api]; ok {
			if g := got.Grants["workspace:"+wsID+":"+rid+":user:"+api]; g == nil || immutable(g) {
				t.Fatalf("the listed grant of an org Admin member: %v, want it kept and not immutable", g)
			}
		}
	}
	e := got.Entitlements["workspace:"+ws.ID+":"+admin.ID]
	if !strings.Contains(e.GetDescription(), "organization role") {
		t.Fatalf("the Admin entitlement does not say where the implicit access is revoked: %q", e.GetDescription())
	}
}

func TestListedMembershipsOnlyLeavesImplicitAccessOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, traysim.NewDefault(traysim.ShapeFull), func(s *Settings) { s.ListedMembershipsOnly = true })
	got := f.sync(t)
	assertExpected(t, f, got)
	for id := range got.Grants {
		if strings.Contains(id, ":role:") && strings.HasPrefix(id, "workspace:") {
			t.Fatalf("listed-only sync has the implicit grant %s", id)
		}
	}
}

// Access that comes from an organization role cannot be revoked on the
// workspace: the refusal says to change the organization role.
func TestImplicitAccessIsRevokedThroughTheOrganizationRole(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t)
	sn := p.sim.Snapshot()
	ws, outsider := orgAdminOutside(t, sn)
	admin := ws.RoleByName("Admin")
	orgAdmin := sn.OrgRoleByName("Admin")

	g := p.got.Grants["workspace:"+ws.ID+":"+admin.ID+":role:"+orgAdmin.ID]
	if g == nil {
		t.Fatal("no implicit grant in the c1z")
	}
	_, err := p.srv.Client.Revoke(context.Background(), v2.GrantManagerServiceRevokeRequest_builder{Grant: g}.Build())
	testkit.WantCode(t, err, codes.FailedPrecondition, "revoke their organization role instead")

	_, err = p.revoke(t, "workspace:"+ws.ID+":"+admin.ID, outsider.ID)
	testkit.WantCode(t, err, codes.FailedPrecondition, "through the Admin organization role")
	// A Contributor who is not a member holds nothing there: already revoked.
	resp, err := p.revoke(t, "workspace:"+ws.ID+":"+admin.ID, p.contributorOutside(t, ws).ID)
	mustOK(t, err)
	if !annos(resp.GetAnnotations()).Contains(&v2.GrantAlreadyRevoked{}) {
		t.Fatal("revoking what a non-member Contributor does not hold is not GrantAlreadyRevoked")
	}
}
