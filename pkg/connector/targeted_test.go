package connector

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/testkit"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
)

// A targeted sync of one workspace adds a sync that holds that workspace,
// its entitlements and its grants as Tray.ai has them now, making only
// that workspace's requests: never a listing of the users or workspaces.
func TestTargetedSyncOfAWorkspaceRefreshesItAlone(t *testing.T) {
	t.Parallel()
	for _, shape := range []traysim.Shape{traysim.ShapeFull, traysim.ShapeMinimal} {
		t.Run(shape.String(), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, traysim.NewDefault(shape))
			c1z := filepath.Join(t.TempDir(), "sync.c1z")
			if err := harness.Sync(context.Background(), f.srv.Client, c1z, harness.SyncOptions{TmpDir: t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			sn := f.sim.Snapshot()
			ws, newcomer := orgAdminOutside(t, sn)
			f.sim.AddMember(ws.ID, newcomer.ID, traysim.RoleContributor) // a change since the full sync
			got, counts := f.targeted(t, c1z, v2.ResourceId_builder{ResourceType: workspaceTypeID, Resource: ws.ID}.Build())

			after := f.sim.Snapshot()
			_, wantE, _ := expected(after, f.settings)
			prefix := "workspace:" + ws.ID + ":"
			// The listed grants and the Admin role's grants to the Owner and
			// Admin org roles; a partial sync holds no role holders, so the
			// expansion to each of them happens in ConductorOne.
			var wantG []string
			for uid, rid := range after.Members[ws.ID] {
				wantG = append(wantG, prefix+"member:user:"+uid, prefix+rid+":user:"+uid)
			}
			for _, name := range []string{"Owner", "Admin"} {
				wantG = append(wantG, prefix+ws.RoleByName("Admin").ID+":role:"+after.OrgRoleByName(name).ID)
			}
			slices.Sort(wantG)
			assertSameIDs(t, "resources", []string{"workspace/" + ws.ID}, got.ResourceKeys())
			assertSameIDs(t, "entitlements", withPrefix(wantE, prefix), got.EntitlementIDs())
			assertSameIDs(t, "grants", wantG, got.GrantIDs())
			if got.Grants[prefix+ws.RoleByName("Contributor").ID+":user:"+newcomer.ID] == nil {
				t.Fatal("the targeted sync does not show the membership added since the full sync")
			}

			members := len(after.Members[ws.ID])
			want := map[string]int{
				"GET /core/v1/roles":                                   2, // validation, and the org roles behind the implicit Admin grants
				"GET /core/v1/workspaces/{workspaceId}":                1,
				"GET /core/v1/workspaces/{workspaceId}/roles":          1,
				"GET /core/v1/workspaces/{workspaceId}/users":          1,
				"GET /core/v1/workspaces/{workspaceId}/users/{userId}": 0,
			}
			if shape == traysim.ShapeMinimal {
				want["GET /core/v1/workspaces/{workspaceId}/users/{userId}"] = members
			}
			for route, n := range want {
				if counts[route] != n {
					t.Errorf("%s: %d requests, want %d", route, counts[route], n)
				}
			}
			total, wantTotal := 0, 0
			for _, n := range counts {
				total += n
			}
			for _, n := range want {
				wantTotal += n
			}
			if total != wantTotal || counts["GET /core/v1/users"] != 0 || counts["GET /core/v1/workspaces"] != 0 {
				t.Fatalf("requests %v: want only the workspace's own (%d)", counts, wantTotal)
			}
		})
	}
}

// A targeted sync of a user gives it the traits and profile a full sync
// does; one of a role holds the role's holders as Tray.ai has them now.
func TestTargetedSyncOfAUserAndARole(t *testing.T) {
	t.Parallel()
	f := newFixture(t, traysim.NewDefault(traysim.ShapeMinimal))
	c1z := filepath.Join(t.TempDir(), "sync.c1z")
	if err := harness.Sync(context.Background(), f.srv.Client, c1z, harness.SyncOptions{TmpDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	full, err := harness.Read(context.Background(), c1z, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sn := f.sim.Snapshot()
	u := sn.Users[5]
	got, _ := f.targeted(t, c1z, v2.ResourceId_builder{ResourceType: userTypeID, Resource: u.ID}.Build())
	before, now := full.Resources["user/"+u.ID], got.Resources["user/"+u.ID]
	if now == nil || !proto.Equal(now, before) {
		t.Fatalf("targeted user %v\nfull sync    %v", now, before)
	}
	if trait, err := rs.GetUserTrait(now); err != nil || trait.GetEmails()[0].GetAddress() != u.Email {
		t.Fatalf("targeted user trait %v, %v", trait, err)
	}

	viewer := sn.OrgRoleByName("Viewer")
	f.sim.SetOrgRole(u.ID, "Viewer")
	got, counts := f.targeted(t, c1z, v2.ResourceId_builder{ResourceType: roleTypeID, Resource: viewer.ID}.Build())
	var wantG []string
	for _, x := range f.sim.Snapshot().Users {
		if x.OrgRoleID == viewer.ID {
			wantG = append(wantG, "role:"+viewer.ID+":assigned:user:"+x.ID)
		}
	}
	assertSameIDs(t, "resources", []string{"role/" + viewer.ID}, got.ResourceKeys())
	assertSameIDs(t, "entitlements", []string{"role:" + viewer.ID + ":assigned"}, got.EntitlementIDs())
	slices.Sort(wantG)
	assertSameIDs(t, "grants", wantG, got.GrantIDs())
	if counts["GET /core/v1/workspaces"] != 0 {
		t.Fatalf("a targeted role sync listed workspaces: %v", counts)
	}
}

// A resource that no longer exists answers NotFound, and the SDK skips it.
func TestTargetedSyncOfAGoneResourceSkipsIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, traysim.NewDefault(traysim.ShapeFull))
	for _, id := range []*v2.ResourceId{
		v2.ResourceId_builder{ResourceType: workspaceTypeID, Resource: "00000000-0000-4000-8000-000000000000"}.Build(),
		v2.ResourceId_builder{ResourceType: userTypeID, Resource: "00000000-0000-4000-8000-000000000001"}.Build(),
		v2.ResourceId_builder{ResourceType: roleTypeID, Resource: "00000000-0000-4000-8000-000000000002"}.Build(),
	} {
		resp, err := f.srv.Client.GetResource(context.Background(), v2.ResourceGetterServiceGetResourceRequest_builder{ResourceId: id}.Build())
		testkit.WantCode(t, err, codes.NotFound, "does not exist")
		_ = resp
	}
	got, _ := f.targeted(t, filepath.Join(t.TempDir(), "sync.c1z"),
		v2.ResourceId_builder{ResourceType: workspaceTypeID, Resource: "00000000-0000-4000-8000-000000000000"}.Build())
	if len(got.Resources) != 0 {
		t.Fatalf("a gone workspace left resources %v", got.ResourceKeys())
	}
}

// ConductorOne refreshes several resources in one targeted sync: each role
// keeps its own holders and the Organization workspace its members,
// although the first of them to list the users recorded the whole roster.
func TestTargetedSyncOfTwoRolesAndTheOrganizationHoldsTheGrantsOfEach(t *testing.T) {
	t.Parallel()
	f := newFixture(t, traysim.NewDefault(traysim.ShapeFull))
	sn := f.sim.Snapshot()
	viewer, admin := sn.OrgRoleByName("Viewer"), sn.OrgRoleByName("Admin")
	org := sn.WorkspacesOfType("Organization")[0]
	got, counts := f.targeted(t, filepath.Join(t.TempDir(), "sync.c1z"),
		roleResourceID(viewer.ID), roleResourceID(admin.ID),
		v2.ResourceId_builder{ResourceType: workspaceTypeID, Resource: org.ID}.Build())
	var wantG []string
	for _, u := range sn.Users {
		wantG = append(wantG, "workspace:"+org.ID+":member:user:"+u.ID)
		if u.OrgRoleID == viewer.ID || u.OrgRoleID == admin.ID {
			wantG = append(wantG, "role:"+u.OrgRoleID+":assigned:user:"+u.ID)
		}
	}
	slices.Sort(wantG)
	if len(wantG) < len(sn.Users)+2 {
		t.Fatalf("fixture: %d grants expected, want holders of Viewer and Admin besides the members", len(wantG))
	}
	assertSameIDs(t, "grants", wantG, got.GrantIDs())
	if pages := (len(sn.Users) + client.MaxPageSizeUsers - 1) / client.MaxPageSizeUsers; counts["GET /core/v1/users"] != pages {
		t.Fatalf("users listed with %d requests, want %d: the others reuse the roster the first one listed", counts["GET /core/v1/users"], pages)
	}
}
