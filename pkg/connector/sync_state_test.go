package connector

import (
	"context"
	"testing"

	"github.com/conductorone/baton-sdk/pkg/pagination"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"

	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
)

func TestSyncStateNeverOutlivesItsSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSyncs(nil)
	a := s.state(ctx, "sync-a")
	a.keepWorkspaceRoles("ws", workspaceRoles{roles: []client.Role{{ID: "r"}}})
	a.keepOrganizationWorkspace(orgWorkspace{id: "org", found: true})
	a.listedUsers(true, true, []rosterEntry{{userID: "u"}})
	if r, ok := s.state(ctx, "sync-a").workspaceRoles("ws"); !ok || len(r.roles) != 1 {
		t.Fatal("roles not kept within the sync")
	}
	if s.state(ctx, "sync-a") != a {
		t.Fatal("the same sync was given a new state")
	}
	b := s.state(ctx, "sync-b")
	_, roles := b.workspaceRoles("ws")
	_, org := b.organizationWorkspace()
	if roles || org || b.listedAllUsers() {
		t.Fatal("sync-a's state served to sync-b")
	}
	if again := s.state(ctx, "sync-a"); again == a {
		t.Fatal("switching back to sync-a resurrected its state")
	} else if _, ok := again.workspaceRoles("ws"); ok {
		t.Fatal("switching back to sync-a resurrected dropped entries")
	}
}

func TestListingIsUsableOnlyWhenSeenWhole(t *testing.T) {
	t.Parallel()
	var whole, resumed listing[int]
	whole.add(true, false, []int{1, 2})
	whole.add(false, true, []int{3})
	if items, last, ok := whole.page(1, 5); !ok || !last || len(items) != 2 {
		t.Fatalf("a listing seen whole: %v %v %v", items, last, ok)
	}
	resumed.add(false, true, []int{3}) // its first pages were seen by another process
	if _, _, ok := resumed.page(0, 5); ok {
		t.Fatal("a listing missing its first pages was served")
	}
}

func TestSecondSyncSeesChangesAndRefetches(t *testing.T) {
	t.Parallel()
	sim := traysim.NewDefault(traysim.ShapeFull)
	f := newFixture(t, sim)
	f.sync(t)
	first, _ := sim.Counts()

	sn := sim.Snapshot()
	ws := sn.WorkspacesOfType("Shared")[0]
	var outsider string
	for _, u := range sn.Users {
		if _, in := sn.Members[ws.ID][u.ID]; !in {
			outsider = u.ID
			break
		}
	}
	sim.AddMember(ws.ID, outsider, traysim.RoleContributor)
	got := f.sync(t)
	if got.Grants["workspace:"+ws.ID+":"+ws.RoleByName(traysim.RoleContributor).ID+":user:"+outsider] == nil {
		t.Fatal("the second sync did not see the new membership")
	}
	both, _ := sim.Counts()
	const roles = "GET /core/v1/workspaces/{workspaceId}/roles"
	if both[roles] != 2*first[roles] {
		t.Fatalf("workspace roles fetched %d times over two syncs, want %d: the cache must not span syncs", both[roles], 2*first[roles])
	}
}

// A process that did not see this sync's user listing (a resumed sync)
// lists users from Tray again for their grants, page by page.
func TestUserGrantsWithoutARosterComeFromTray(t *testing.T) {
	t.Parallel()
	for _, shape := range []traysim.Shape{traysim.ShapeFull, traysim.ShapeMinimal} {
		sim := traysim.New(traysim.Options{Org: traysim.DefaultOrgOptions, Shape: shape, PageSizeCap: 4})
		f := newFixture(t, sim)
		syncer := &f.conn.users
		// A page of the listing seen mid-way: the roster is not usable.
		f.conn.syncs.state(context.Background(), "resumed").listedRoster(false, true, []rosterEntry{{userID: "u", orgRoleID: "r"}})

		got := map[string]bool{}
		token, calls := "", 0
		for {
			grants, res, err := syncer.GrantsForResourceType(context.Background(), userTypeID,
				rs.SyncOpAttrs{SyncID: "resumed", PageToken: pagination.Token{Token: token}})
			if err != nil {
				t.Fatal(err)
			}
			calls++
			for _, g := range grants {
				got[g.GetId()] = true
			}
			if res == nil || res.NextPageToken == "" {
				break
			}
			if res.NextPageToken == token {
				t.Fatal("page token did not advance")
			}
			token = res.NextPageToken
		}
		sn := sim.Snapshot()
		org := sn.WorkspacesOfType("Organization")[0]
		for _, u := range sn.Users {
			for _, id := range []string{"role:" + u.OrgRoleID + ":assigned:user:" + u.ID, "workspace:" + org.ID + ":member:user:" + u.ID} {
				if !got[id] {
					t.Fatalf("%s: grant %s missing", shape, id)
				}
			}
		}
		if len(got) != 2*len(sn.Users) || calls < len(sn.Users)/4 {
			t.Fatalf("%s: %d grants in %d calls, want %d over several pages", shape, len(got), calls, 2*len(sn.Users))
		}
	}
}
