package connector

import (
	"context"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/testkit"
	"github.com/conductorone/baton-trayai/pkg/config"
)

// Without the guard, one revoke locks the connector out: its token loses
// the rights a sync needs. The simulator models that, so the guarded tests
// below fail if the guard goes.
func TestRevokingTheConnectorsAdminRoleLocksItOut(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t)
	u, _ := apiUser(t, p)
	admin := p.sim.Snapshot().OrgRoleByName("Admin")
	_, err := p.revoke(t, "role:"+admin.ID+":assigned", u.ID)
	mustOK(t, err)
	err = harness.Sync(context.Background(), p.srv.Client, t.TempDir()+"/after.c1z", harness.SyncOptions{TmpDir: t.TempDir()})
	if err == nil {
		t.Fatal("a sync with a token whose API user lost the Admin role succeeded: the simulator does not model the lock-out")
	}
}

func TestProvisioningNeverWeakensTheConnectorsOwnAccount(t *testing.T) {
	t.Parallel()
	for _, by := range []string{"email", "id"} {
		t.Run("named by "+by, func(t *testing.T) {
			t.Parallel()
			p := newProvisioning(t)
			u, ws := apiUser(t, p)
			name := u.Email
			if by == "id" {
				name = u.ID
			}
			p.conn.guard.accounts, _ = parseProtection(name, nil)
			sn := p.sim.Snapshot()
			admin, viewer := sn.OrgRoleByName("Admin"), sn.OrgRoleByName("Viewer")

			attempts := map[string]func() error{
				"revoke the Admin org role": func() error {
					_, err := p.revoke(t, "role:"+admin.ID+":assigned", u.ID)
					return err
				},
				"grant the lower Viewer org role": func() error {
					_, err := p.grant(t, "role:"+viewer.ID+":assigned", u.ID)
					return err
				},
				"remove it from its shared workspace": func() error {
					_, err := p.revoke(t, "workspace:"+ws.ID+":member", u.ID)
					return err
				},
				"revoke its workspace role": func() error {
					_, err := p.revoke(t, "workspace:"+ws.ID+":"+sn.Members[ws.ID][u.ID], u.ID)
					return err
				},
				"delete it": func() error {
					_, err := p.srv.Client.DeleteResourceV2(context.Background(), v2.DeleteResourceV2Request_builder{
						ResourceId: v2.ResourceId_builder{ResourceType: userTypeID, Resource: u.ID}.Build()}.Build())
					return err
				},
			}
			for what, attempt := range attempts {
				p.sim.ResetCounts()
				testkit.WantCode(t, attempt(), codes.FailedPrecondition, "--connector-account")
				if counts, _ := p.sim.Counts(); counts["DELETE /core/v1/users/{userId}"]+counts["PUT /core/v1/users/{userId}/roles"]+
					counts["DELETE /core/v1/workspaces/{workspaceId}/users/{userId}"] != 0 {
					t.Fatalf("%s: a write reached Tray.ai: %v", what, counts)
				}
			}
			after := p.sim.Snapshot()
			if x, ok := after.User(u.ID); !ok || x.OrgRoleID != admin.ID || after.Members[ws.ID][u.ID] != sn.Members[ws.ID][u.ID] {
				t.Fatalf("the connector's account changed: %+v (exists %v), workspace role %s", x, ok, after.Members[ws.ID][u.ID])
			}
			// The protected account still syncs, and the token still works.
			got := p.sync(t)
			if got.Grants["role:"+admin.ID+":assigned:user:"+u.ID] == nil {
				t.Fatal("the protected account's Admin role is missing from the next sync")
			}
		})
	}
}

// Further protected accounts may gain access but not lose it.
func TestProtectedAccountsMayGainButNotLoseAccess(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t)
	ws, u := p.sharedWorkspaceAndOutsider(t) // a Contributor, outside ws
	p.conn.guard.accounts, _ = parseProtection("", []string{"someone@else.example," + u.Email})
	sn := p.sim.Snapshot()

	_, err := p.grant(t, "role:"+sn.OrgRoleByName("Admin").ID+":assigned", u.ID)
	mustOK(t, err) // Contributor → Admin raises access
	_, err = p.grant(t, "role:"+sn.OrgRoleByName("Viewer").ID+":assigned", u.ID)
	testkit.WantCode(t, err, codes.FailedPrecondition, "--protected-accounts")
	if x, _ := p.sim.Snapshot().User(u.ID); x.OrgRoleID != sn.OrgRoleByName("Admin").ID {
		t.Fatal("the refused grant changed the org role")
	}

	// Back to Contributor by hand, so that workspace roles stay editable.
	p.sim.SetOrgRole(u.ID, "Contributor")
	_, err = p.grant(t, "workspace:"+ws.ID+":"+ws.RoleByName("Admin").ID, u.ID)
	mustOK(t, err) // joining a workspace raises access
	_, err = p.grant(t, "workspace:"+ws.ID+":"+ws.RoleByName("Viewer").ID, u.ID)
	testkit.WantCode(t, err, codes.FailedPrecondition, "--protected-accounts")
	_, err = p.revoke(t, "workspace:"+ws.ID+":member", u.ID)
	testkit.WantCode(t, err, codes.FailedPrecondition, u.Email)
	if r, ok := memberRole(p, ws.ID, u.ID); !ok || r != ws.RoleByName("Admin").ID {
		t.Fatalf("the refused changes altered the membership: member %v, role %s", ok, r)
	}
}

func TestProtectionSettingsAreValidated(t *testing.T) {
	t.Parallel()
	for _, bad := range []config.Trayai{
		{AuthToken: "t", ConnectorAccount: "not an email@"},
		{AuthToken: "t", ConnectorAccount: "../etc"},
		{AuthToken: "t", ProtectedAccounts: []string{"ok@acme.example,<script>"}},
	} {
		_, err := ParseSettings(&bad)
		want := "--connector-account"
		if bad.ConnectorAccount == "" {
			want = "--protected-accounts"
		}
		testkit.WantCode(t, err, codes.InvalidArgument, want)
	}
	s, err := ParseSettings(&config.Trayai{AuthToken: "t", ConnectorAccount: " API-User@Acme.example ",
		ProtectedAccounts: []string{"0f1e2d3c-aaaa-4bbb-8ccc-111122223333, break.glass@acme.example"}})
	mustOK(t, err)
	if len(s.Protected.accounts) != 3 || s.Protected.accounts[0].setting != "--connector-account" {
		t.Fatalf("protection %+v", s.Protected)
	}
}
