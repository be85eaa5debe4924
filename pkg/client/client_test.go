package client_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/internal/testkit"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
)

func TestReadEndpointsInBothShapes(t *testing.T) {
	ctx := context.Background()
	for _, shape := range []traysim.Shape{traysim.ShapeFull, traysim.ShapeMinimal} {
		t.Run(shape.String(), func(t *testing.T) {
			sim := traysim.NewDefault(shape)
			sn := sim.Snapshot()
			c, rec := newClient(t, sim, traysim.AdminToken)

			users, err := c.ListUsers(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(users.Elements) != len(sn.Users) || users.PageInfo.HasNextPage {
				t.Fatalf("ListUsers: %d users, next %v; want %d on one page", len(users.Elements), users.PageInfo.HasNextPage, len(sn.Users))
			}
			first := users.Elements[0]
			if first.ID != sn.Users[0].ID || first.Name != sn.Users[0].Name {
				t.Fatalf("first user %+v, want %+v", first, sn.Users[0])
			}
			if got := first.HasDetails(); got != (shape == traysim.ShapeFull) {
				t.Fatalf("HasDetails %v in shape %s", got, shape)
			}
			u, err := c.GetUser(ctx, sn.Users[0].ID)
			if err != nil || u.Email != sn.Users[0].Email || u.AccountType != client.AccountTypeRegular || u.Role.Name != "Owner" {
				t.Fatalf("GetUser: %+v, %v", u, err)
			}

			roles, err := c.ListOrgRoles(ctx, "")
			if err != nil || len(roles.Elements) != 4 || roles.Elements[0].Name != "Owner" {
				t.Fatalf("ListOrgRoles: %+v, %v", roles, err)
			}

			wss, err := c.ListWorkspaces(ctx, "")
			if err != nil || len(wss.Elements) != len(sn.Workspaces) {
				t.Fatalf("ListWorkspaces: %d, %v; want %d", len(wss.Elements), err, len(sn.Workspaces))
			}
			if wss.Elements[0].Type != client.WorkspaceTypeOrganization {
				t.Fatalf("first workspace type %q", wss.Elements[0].Type)
			}
			shared := sn.WorkspacesOfType("Shared")[0]
			w, err := c.GetWorkspace(ctx, shared.ID)
			if err != nil || w.Name != shared.Name || w.Type != client.WorkspaceTypeShared || w.Description != shared.Description {
				t.Fatalf("GetWorkspace: %+v, %v", w, err)
			}
			wroles, err := c.ListWorkspaceRoles(ctx, shared.ID, "")
			if err != nil || len(wroles.Elements) != 3 || wroles.Elements[0].ID != shared.Roles[0].ID {
				t.Fatalf("ListWorkspaceRoles: %+v, %v", wroles, err)
			}
			members, err := c.ListWorkspaceUsers(ctx, shared.ID, "")
			if err != nil || len(members.Elements) != len(sn.Members[shared.ID]) {
				t.Fatalf("ListWorkspaceUsers: %d, %v; want %d", len(members.Elements), err, len(sn.Members[shared.ID]))
			}
			m := members.Elements[0]
			if m.HasRole() != (shape == traysim.ShapeFull) {
				t.Fatalf("member HasRole %v in shape %s", m.HasRole(), shape)
			}
			full, err := c.GetWorkspaceUser(ctx, shared.ID, m.ID)
			if err != nil || full.Role.ID != sn.Members[shared.ID][m.ID] {
				t.Fatalf("GetWorkspaceUser: %+v, %v", full, err)
			}

			// Every list asks for the endpoint's maximum page size.
			wantFirst := map[string]string{
				"/core/v1/users":      "first=1000",
				"/core/v1/roles":      "first=1000",
				"/core/v1/workspaces": "first=100",
				"/core/v1/workspaces/" + shared.ID + "/roles": "first=100",
				"/core/v1/workspaces/" + shared.ID + "/users": "first=100",
			}
			for path, want := range wantFirst {
				if qs := rec.queries[path]; len(qs) == 0 || qs[0] != want {
					t.Errorf("%s sent %v, want %s", path, qs, want)
				}
			}
		})
	}
}

func TestMultiPageListingFollowsOpaqueCursors(t *testing.T) {
	sim := traysim.New(traysim.Options{Org: traysim.DefaultOrgOptions, PageSizeCap: 4})
	sn := sim.Snapshot()
	c, _ := newClient(t, sim, traysim.AdminToken)
	var ids []string
	cursor, pages := "", 0
	for {
		page, err := c.ListUsers(context.Background(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range page.Elements {
			ids = append(ids, u.ID)
		}
		if cursor = page.NextCursor(); cursor == "" {
			break
		}
	}
	if len(ids) != len(sn.Users) || pages != (len(sn.Users)+3)/4 {
		t.Fatalf("%d users in %d pages, want %d users in %d pages", len(ids), pages, len(sn.Users), (len(sn.Users)+3)/4)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("user %s listed twice", id)
		}
		seen[id] = true
	}
}

func TestRepeatedCursorIsRefused(t *testing.T) {
	sim := traysim.New(traysim.Options{Org: traysim.DefaultOrgOptions, PageSizeCap: 2})
	sim.SetFaults(traysim.Faults{RepeatCursor: true})
	c, _ := newClient(t, sim, traysim.AdminToken)
	page, err := c.ListUsers(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListUsers(context.Background(), page.NextCursor())
	testkit.WantCode(t, err, codes.Internal, "same cursor", "GET /core/v1/users")
}

func TestUnknownEnumsDecodeWithoutFailing(t *testing.T) {
	sim := traysim.NewDefault(traysim.ShapeFull)
	uid := sim.AddUser("Robo", "robo@acme.example", "Robot", "Viewer")
	sim.AddWorkspace("Odd", "Galactic")
	sim.AddWorkspace("Shouty", "PERSONAL_EXTERNAL")
	c, _ := newClient(t, sim, traysim.AdminToken)
	u, err := c.GetUser(context.Background(), uid)
	if err != nil || u.AccountType != "Robot" || u.AccountType.Known() {
		t.Fatalf("unknown account type: %+v, %v", u, err)
	}
	wss, err := c.ListWorkspaces(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	types := map[client.WorkspaceType]bool{}
	for _, w := range wss.Elements {
		types[w.Type] = true
	}
	if !types["Galactic"] || !types[client.WorkspaceTypePersonalExternal] {
		t.Fatalf("types %v: want the unknown kept and PERSONAL_EXTERNAL normalized", types)
	}
}

func TestErrorStatusesKeepCodesAndTrayMessages(t *testing.T) {
	ctx := context.Background()
	sim := traysim.NewDefault(traysim.ShapeFull)
	sn := sim.Snapshot()

	bad, _ := newClient(t, sim, "wrong-token")
	_, err := bad.ListUsers(ctx, "")
	testkit.WantCode(t, err, codes.Unauthenticated, "GET /core/v1/users: Tray.ai answered 401", "Unauthorized")

	viewer, _ := newClient(t, sim, traysim.ViewerToken)
	_, err = viewer.ListUsers(ctx, "")
	testkit.WantCode(t, err, codes.PermissionDenied, "403", "Forbidden")

	admin, _ := newClient(t, sim, traysim.AdminToken)
	_, err = admin.GetUser(ctx, "00000000-0000-4000-8000-000000000000")
	testkit.WantCode(t, err, codes.NotFound, "404", "User not found", "GET /core/v1/users/{userId}")

	_, err = admin.ListUsers(ctx, "not-a-cursor")
	testkit.WantCode(t, err, codes.InvalidArgument, "400", "invalid cursor")

	_, err = admin.GetUser(ctx, "../workspaces")
	testkit.WantCode(t, err, codes.InvalidArgument, "not a Tray.ai id")

	err = admin.AddWorkspaceUser(ctx, sn.WorkspacesOfType("Shared")[0].ID, sn.Users[1].ID, sn.Workspaces[0].Roles[0].ID)
	testkit.WantCode(t, err, codes.InvalidArgument, "role does not belong")
}

func TestServerErrorsAreRetriedThenReported(t *testing.T) {
	sim := traysim.NewDefault(traysim.ShapeFull)
	sim.SetFaults(traysim.Faults{ServerErrorRate: 1})
	c, _ := newClient(t, sim, traysim.AdminToken, func(o *client.Options) { o.MaxAttempts = 3 })
	_, err := c.ListOrgRoles(context.Background(), "")
	testkit.WantCode(t, err, codes.Unavailable, "Internal Error")
	if got := c.RequestCount(); got != 3 {
		t.Fatalf("%d requests, want 3 attempts", got)
	}
	counts, _ := sim.Counts()
	if counts["GET /core/v1/roles"] != 3 {
		t.Fatalf("simulator saw %v", counts)
	}
}

func TestWritesAreNotRetriedOnServerErrors(t *testing.T) {
	sim := traysim.NewDefault(traysim.ShapeFull)
	sn := sim.Snapshot()
	sim.SetFaults(traysim.Faults{ServerErrorRate: 1})
	c, _ := newClient(t, sim, traysim.AdminToken)
	err := c.SetUserOrgRole(context.Background(), sn.Users[2].ID, sn.OrgRoleByName("Viewer").ID)
	testkit.WantCode(t, err, codes.Unavailable)
	if got := c.RequestCount(); got != 1 {
		t.Fatalf("a failed write was sent %d times; a write that reached a failing server may have been applied", got)
	}
}

func TestRateLimitedRequestsCarryAnExplicitResetTime(t *testing.T) {
	for _, ra := range []string{"", "seconds", "http-date"} {
		t.Run("retry-after="+ra, func(t *testing.T) {
			sim := traysim.NewDefault(traysim.ShapeFull)
			sim.SetFaults(traysim.Faults{RateLimit: 0.001, Burst: 1, RetryAfter: ra})
			c, _ := newClient(t, sim, traysim.AdminToken, func(o *client.Options) { o.MaxAttempts = 1 })
			if _, err := c.ListOrgRoles(context.Background(), ""); err != nil {
				t.Fatal(err) // the bucket's one token
			}
			start := time.Now()
			_, err := c.ListOrgRoles(context.Background(), "")
			testkit.WantCode(t, err, codes.Unavailable, "429", "Too Many Requests")
			st, _ := status.FromError(err)
			var rl *v2.RateLimitDescription
			for _, d := range st.Details() {
				if x, ok := d.(*v2.RateLimitDescription); ok {
					rl = x
				}
			}
			if rl == nil || rl.GetStatus() != v2.RateLimitDescription_STATUS_OVERLIMIT || rl.GetRemaining() != 0 {
				t.Fatalf("rate-limit detail %v", rl)
			}
			reset := rl.GetResetAt().AsTime().Sub(start)
			if reset <= 0 || reset > 3*time.Second {
				t.Fatalf("reset in %v: want an explicit near-future reset, not the SDK's 60 s default", reset)
			}
			if ra != "" && reset < 500*time.Millisecond {
				t.Fatalf("Retry-After %s ignored: reset in %v", ra, reset)
			}
		})
	}
}

func TestRateLimitIsRetriedUntilItClears(t *testing.T) {
	sim := traysim.NewDefault(traysim.ShapeFull)
	sim.SetFaults(traysim.Faults{RateLimit: 200, Burst: 1})
	c, _ := newClient(t, sim, traysim.AdminToken, func(o *client.Options) { o.MaxAttempts = 20 })
	for i := 0; i < 5; i++ {
		if _, err := c.ListOrgRoles(context.Background(), ""); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	_, statuses := sim.Counts()
	if statuses[http.StatusOK] != 5 {
		t.Fatalf("statuses %v, want 5 successes", statuses)
	}
}

func TestDeleteToleratesEmptyBody(t *testing.T) {
	sim := traysim.NewDefault(traysim.ShapeFull)
	sn := sim.Snapshot()
	c, _ := newClient(t, sim, traysim.AdminToken)
	if err := c.DeleteUser(context.Background(), sn.Users[5].ID); err != nil {
		t.Fatalf("204 without body: %v", err)
	}
	if _, ok := sim.Snapshot().User(sn.Users[5].ID); ok {
		t.Fatal("user not deleted")
	}
}

func TestWriteEndpoints(t *testing.T) {
	ctx := context.Background()
	sim := traysim.NewDefault(traysim.ShapeFull)
	sn := sim.Snapshot()
	c, _ := newClient(t, sim, traysim.AdminToken)
	viewer := sn.OrgRoleByName("Viewer").ID

	u, err := c.CreateUser(ctx, "Zed", "zed@acme.example", viewer)
	if err != nil || u.ID == "" || u.Email != "zed@acme.example" {
		t.Fatalf("CreateUser: %+v, %v", u, err)
	}
	inv, err := c.InviteUser(ctx, "yan@acme.example", viewer)
	if err != nil || inv.InviteID == "" || inv.Expires.Before(time.Now()) {
		t.Fatalf("InviteUser: %+v, %v", inv, err)
	}
	if err := c.SetUserOrgRole(ctx, u.ID, sn.OrgRoleByName("Contributor").ID); err != nil {
		t.Fatal(err)
	}
	ws := sn.WorkspacesOfType("Shared")[0]
	if err := c.AddWorkspaceUser(ctx, ws.ID, u.ID, ws.RoleByName("Viewer").ID); err != nil {
		t.Fatal(err)
	}
	if err := c.SetWorkspaceUserRole(ctx, ws.ID, u.ID, ws.RoleByName("Admin").ID); err != nil {
		t.Fatal(err)
	}
	after := sim.Snapshot()
	if after.Members[ws.ID][u.ID] != ws.RoleByName("Admin").ID || after.OrgRoleName(mustUser(t, after, u.ID).OrgRoleID) != "Contributor" {
		t.Fatal("writes not applied")
	}
	if err := c.RemoveWorkspaceUser(ctx, ws.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := sim.Snapshot().Members[ws.ID][u.ID]; ok {
		t.Fatal("member not removed")
	}
	testkit.WantCode(t, c.RemoveWorkspaceUser(ctx, ws.ID, u.ID), codes.NotFound)
}

func TestServerThatStaysDownEndsTheRunInBoundedTime(t *testing.T) {
	sim := traysim.NewDefault(traysim.ShapeFull)
	sim.SetFaults(traysim.Faults{ServerErrorRate: 1})
	c, _ := newClient(t, sim, traysim.AdminToken, func(o *client.Options) {
		o.MaxAttempts = 1000
		o.MaxOutage = 50 * time.Millisecond
	})
	start := time.Now()
	_, err := c.ListOrgRoles(context.Background(), "")
	testkit.WantCode(t, err, codes.Aborted, "has been failing for", "giving up")
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("gave up after %v", elapsed)
	}
	if c.RequestCount() >= 1000 {
		t.Fatalf("%d requests: the outage budget did not stop the retries", c.RequestCount())
	}
	// A later success resets the budget.
	sim.SetFaults(traysim.Faults{})
	if _, err := c.ListOrgRoles(context.Background(), ""); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestUndocumentedListShapesDecodeAsIncompleteItems(t *testing.T) {
	for _, shape := range []traysim.Shape{traysim.ShapeSpec, traysim.ShapeThirdParty} {
		sim := traysim.NewDefault(shape)
		c, _ := newClient(t, sim, traysim.AdminToken)
		page, err := c.ListUsers(context.Background(), "")
		if err != nil {
			t.Fatalf("%s: %v", shape, err)
		}
		u := page.Elements[0]
		if u.ID == "" || u.HasDetails() {
			t.Fatalf("%s: %+v must decode with its id and be marked incomplete", shape, u)
		}
		if shape == traysim.ShapeThirdParty && (u.Role == nil || u.Role.Name != "Owner" || u.Role.ID != "") {
			t.Fatalf("role given as a bare name decoded to %+v", u.Role)
		}
	}
}
