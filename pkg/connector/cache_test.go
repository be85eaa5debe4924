package connector

import (
	"testing"

	"github.com/conductorone/baton-trayai/pkg/client"
	"github.com/conductorone/baton-trayai/pkg/traysim"
)

func TestSyncCacheNeverOutlivesItsSync(t *testing.T) {
	c := newSyncCache()
	c.putRoles("sync-a", "ws", workspaceRoles{roles: []client.Role{{ID: "r"}}})
	c.putOrgWorkspace("sync-a", orgWorkspace{id: "org", found: true})
	if r, ok := c.getRoles("sync-a", "ws"); !ok || len(r.roles) != 1 {
		t.Fatal("roles not cached within the sync")
	}
	if _, ok := c.getRoles("sync-b", "ws"); ok {
		t.Fatal("roles of sync-a served to sync-b")
	}
	if _, ok := c.getOrgWorkspace("sync-b"); ok {
		t.Fatal("Organization workspace of sync-a served to sync-b")
	}
	if _, ok := c.getRoles("sync-a", "ws"); ok {
		t.Fatal("switching back to sync-a resurrected dropped entries")
	}
}

func TestSecondSyncSeesChangesAndRefetches(t *testing.T) {
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
