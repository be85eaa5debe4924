package connector

import (
	"context"
	"strings"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/conductorone/baton-trayai/internal/testkit"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/config"
)

func TestGrantWorkspaceRoleAddsChangesAndIsIdempotent(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t)
	ws, u := p.sharedWorkspaceAndOutsider(t)
	contributor, admin := ws.RoleByName("Contributor"), ws.RoleByName("Admin")

	resp, err := p.grant(t, "workspace:"+ws.ID+":"+contributor.ID, u.ID)
	mustOK(t, err)
	if r, ok := memberRole(p, ws.ID, u.ID); !ok || r != contributor.ID {
		t.Fatalf("after grant: member=%v role=%s, want Contributor", ok, r)
	}
	if len(resp.GetGrants()) != 2 {
		t.Errorf("grant returned %d grants, want the role and the membership", len(resp.GetGrants()))
	}

	resp, err = p.grant(t, "workspace:"+ws.ID+":"+contributor.ID, u.ID)
	mustOK(t, err)
	if !annos(resp.GetAnnotations()).Contains(&v2.GrantAlreadyExists{}) {
		t.Error("repeated grant did not report GrantAlreadyExists")
	}

	// Granting another role changes it in place and reports the replaced grant.
	resp, err = p.grant(t, "workspace:"+ws.ID+":"+admin.ID, u.ID)
	mustOK(t, err)
	if r, _ := memberRole(p, ws.ID, u.ID); r != admin.ID {
		t.Fatalf("after role change: role %s, want Admin %s", r, admin.ID)
	}
	replaced := &v2.GrantReplaced{}
	if ok, _ := annos(resp.GetAnnotations()).Pick(replaced); !ok ||
		replaced.GetReplacedGrantId() != "workspace:"+ws.ID+":"+contributor.ID+":user:"+u.ID {
		t.Errorf("role change did not report the replaced grant: %v", replaced)
	}
}

func TestGrantMemberUsesDefaultRole(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t, func(s *Settings) { s.DefaultWorkspaceRole = "contributor" })
	ws, u := p.sharedWorkspaceAndOutsider(t)
	_, err := p.grant(t, "workspace:"+ws.ID+":member", u.ID)
	mustOK(t, err)
	if r, ok := memberRole(p, ws.ID, u.ID); !ok || r != ws.RoleByName("Contributor").ID {
		t.Fatalf("member grant: member=%v role=%s, want the default role Contributor", ok, r)
	}
	resp, err := p.grant(t, "workspace:"+ws.ID+":member", u.ID)
	mustOK(t, err)
	if !annos(resp.GetAnnotations()).Contains(&v2.GrantAlreadyExists{}) {
		t.Error("repeated member grant did not report GrantAlreadyExists")
	}
	if r, _ := memberRole(p, ws.ID, u.ID); r != ws.RoleByName("Contributor").ID {
		t.Error("repeated member grant changed the role")
	}
}

func TestGrantMemberWithUnknownDefaultRoleFailsBeforeWriting(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t, func(s *Settings) { s.DefaultWorkspaceRole = "Superuser" })
	ws, u := p.sharedWorkspaceAndOutsider(t)
	_, err := p.grant(t, "workspace:"+ws.ID+":member", u.ID)
	testkit.WantCode(t, err, codes.FailedPrecondition, "--default-workspace-role")
	if _, ok := memberRole(p, ws.ID, u.ID); ok {
		t.Fatal("user was added although the default role is unknown")
	}
}

func TestRevokeWorkspaceRole(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t)
	ws, u := p.sharedWorkspaceAndOutsider(t)
	viewer, admin := ws.RoleByName("Viewer"), ws.RoleByName("Admin")
	_, err := p.grant(t, "workspace:"+ws.ID+":"+viewer.ID, u.ID)
	mustOK(t, err)

	// Revoking a role they do not hold leaves them alone.
	resp, err := p.revoke(t, "workspace:"+ws.ID+":"+admin.ID, u.ID)
	mustOK(t, err)
	if !annos(resp.GetAnnotations()).Contains(&v2.GrantAlreadyRevoked{}) {
		t.Error("revoking a role not held did not report GrantAlreadyRevoked")
	}
	if _, ok := memberRole(p, ws.ID, u.ID); !ok {
		t.Fatal("revoking a role not held removed the member")
	}

	_, err = p.revoke(t, "workspace:"+ws.ID+":"+viewer.ID, u.ID)
	mustOK(t, err)
	if _, ok := memberRole(p, ws.ID, u.ID); ok {
		t.Fatal("revoking the held role did not remove the member")
	}
	resp, err = p.revoke(t, "workspace:"+ws.ID+":"+viewer.ID, u.ID)
	mustOK(t, err)
	if !annos(resp.GetAnnotations()).Contains(&v2.GrantAlreadyRevoked{}) {
		t.Error("repeated revoke did not report GrantAlreadyRevoked")
	}
}

func TestRevokeMemberRemovesWhateverTheRole(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t)
	ws, u := p.sharedWorkspaceAndOutsider(t)
	_, err := p.grant(t, "workspace:"+ws.ID+":"+ws.RoleByName("Admin").ID, u.ID)
	mustOK(t, err)
	_, err = p.revoke(t, "workspace:"+ws.ID+":member", u.ID)
	mustOK(t, err)
	if _, ok := memberRole(p, ws.ID, u.ID); ok {
		t.Fatal("member revoke left the user in the workspace")
	}
	resp, err := p.revoke(t, "workspace:"+ws.ID+":member", u.ID)
	mustOK(t, err)
	if !annos(resp.GetAnnotations()).Contains(&v2.GrantAlreadyRevoked{}) {
		t.Error("repeated member revoke did not report GrantAlreadyRevoked")
	}
}

func TestWorkspaceProvisioningRefusals(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t)
	sn := p.sim.Snapshot()
	ws, u := p.sharedWorkspaceAndOutsider(t)
	org := sn.WorkspacesOfType("Organization")[0]

	p.sim.ResetCounts()
	role := p.got.Resources["role/"+sn.OrgRoleByName("Viewer").ID]
	_, err := p.srv.Client.Grant(context.Background(), v2.GrantManagerServiceGrantRequest_builder{
		Entitlement: p.got.Entitlements["workspace:"+ws.ID+":member"], Principal: role}.Build())
	testkit.WantCode(t, err, codes.InvalidArgument, "only users")
	if counts, _ := p.sim.Counts(); len(counts) != 0 {
		t.Errorf("a non-user principal caused API calls: %v", counts)
	}

	_, err = p.grant(t, "workspace:"+org.ID+":member", u.ID)
	testkit.WantCode(t, err, codes.FailedPrecondition, "Organization workspace")
	_, err = p.revoke(t, "workspace:"+org.ID+":member", u.ID)
	testkit.WantCode(t, err, codes.FailedPrecondition, "Organization workspace")

	// An org Admin keeps their role in every workspace: Tray refuses, and
	// the connector says why.
	for uid, rid := range sn.Members[ws.ID] {
		if usr, _ := sn.User(uid); sn.OrgRoleName(usr.OrgRoleID) == "Admin" {
			other := ws.RoleByName("Viewer").ID
			if rid == other {
				other = ws.RoleByName("Contributor").ID
			}
			_, err = p.grant(t, "workspace:"+ws.ID+":"+other, uid)
			testkit.WantCode(t, err, codes.FailedPrecondition, "Owners and Admins")
			return
		}
	}
	t.Log("no org Admin in this workspace; the Admin refusal is covered by the simulator test")
}

func TestOrgRoleGrantAndRevoke(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t)
	sn := p.sim.Snapshot()
	viewer, contributor := sn.OrgRoleByName("Viewer"), sn.OrgRoleByName("Contributor")
	var u traysim.User
	for _, x := range sn.Users {
		if x.OrgRoleID == viewer.ID && x.AccountType == "Regular" {
			u = x
			break
		}
	}
	orgRole := func() string { x, _ := p.sim.Snapshot().User(u.ID); return x.OrgRoleID }

	resp, err := p.grant(t, "role:"+contributor.ID+":assigned", u.ID)
	mustOK(t, err)
	if orgRole() != contributor.ID {
		t.Fatal("grant did not set the org role")
	}
	replaced := &v2.GrantReplaced{}
	if ok, _ := annos(resp.GetAnnotations()).Pick(replaced); !ok || replaced.GetReplacedGrantId() != "role:"+viewer.ID+":assigned:user:"+u.ID {
		t.Errorf("org role grant did not report the replaced grant: %v", replaced)
	}
	resp, err = p.grant(t, "role:"+contributor.ID+":assigned", u.ID)
	mustOK(t, err)
	if !annos(resp.GetAnnotations()).Contains(&v2.GrantAlreadyExists{}) {
		t.Error("repeated org role grant did not report GrantAlreadyExists")
	}

	// Revoke moves the user to the fallback role; repeating it is a no-op.
	_, err = p.revoke(t, "role:"+contributor.ID+":assigned", u.ID)
	mustOK(t, err)
	if orgRole() != viewer.ID {
		t.Fatal("revoke did not move the user to the fallback role")
	}
	resp2, err := p.revoke(t, "role:"+contributor.ID+":assigned", u.ID)
	mustOK(t, err)
	if !annos(resp2.GetAnnotations()).Contains(&v2.GrantAlreadyRevoked{}) {
		t.Error("repeated org role revoke did not report GrantAlreadyRevoked")
	}
	_, err = p.revoke(t, "role:"+viewer.ID+":assigned", u.ID)
	testkit.WantCode(t, err, codes.FailedPrecondition, "fallback organization role")
	if orgRole() != viewer.ID {
		t.Fatal("refused revoke changed the role")
	}

	owner := sn.Users[0]
	_, err = p.grant(t, "role:"+viewer.ID+":assigned", owner.ID)
	testkit.WantCode(t, err, codes.FailedPrecondition, "Owner")
	_, err = p.revoke(t, "role:"+sn.OrgRoleByName("Owner").ID+":assigned", owner.ID)
	testkit.WantCode(t, err, codes.FailedPrecondition, "Owner")
	_, err = p.grant(t, "role:"+sn.OrgRoleByName("Owner").ID+":assigned", u.ID)
	testkit.WantCode(t, err, codes.FailedPrecondition, "Owner role cannot be granted")
	if x, _ := p.sim.Snapshot().User(owner.ID); x.OrgRoleID != sn.OrgRoleByName("Owner").ID {
		t.Fatal("the Owner's role changed")
	}
}

func TestCreateAccountCreateMode(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t, func(s *Settings) { s.AccountCreationMode = config.AccountCreationCreate })
	ctx := context.Background()
	resp, err := p.srv.Client.CreateAccount(ctx, createRequest("new.person@acme.example", "New Person", "contributor"))
	mustOK(t, err)
	res := resp.GetSuccess().GetResource()
	if res == nil || res.GetDisplayName() != "New Person" {
		t.Fatalf("create returned %v, want a success with the new user", resp)
	}
	u, ok := p.sim.Snapshot().UserByEmail("new.person@acme.example")
	if !ok || res.GetId().GetResource() != u.ID || p.sim.Snapshot().OrgRoleName(u.OrgRoleID) != "Contributor" {
		t.Fatalf("simulator user %v (found %v), resource %v", u, ok, res.GetId())
	}

	resp, err = p.srv.Client.CreateAccount(ctx, createRequest("NEW.person@acme.example", "Again", "Viewer"))
	mustOK(t, err)
	if resp.GetAlreadyExists().GetResource().GetId().GetResource() != u.ID {
		t.Fatalf("second create returned %v, want AlreadyExists with %s", resp, u.ID)
	}
	n := 0
	for _, x := range p.sim.Snapshot().Users {
		if strings.EqualFold(x.Email, "new.person@acme.example") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d users with the email, want 1", n)
	}
}

func TestCreateAccountInviteMode(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t)
	before := len(p.sim.Snapshot().Users)
	resp, err := p.srv.Client.CreateAccount(context.Background(), createRequest("invitee@acme.example", "", ""))
	mustOK(t, err)
	sn := p.sim.Snapshot()
	// The expiry is machine-readable: ConductorOne shows it and fails the
	// task if it passes before the invitee accepts.
	if ok := resp.GetSuccess(); ok == nil || len(sn.Invites) != 1 || !ok.GetInvitationExpiresAt().AsTime().Equal(sn.Invites[0].Expires) {
		t.Fatalf("invite returned %v, want a success carrying the invitation's expiry %v", resp, sn.Invites)
	}
	if res := resp.GetSuccess().GetResource(); res != nil {
		t.Fatalf("invite returned the account %v, which Tray.ai makes only on acceptance", res)
	}
	if len(sn.Invites) != 1 || sn.Invites[0].Email != "invitee@acme.example" || sn.OrgRoleName(sn.Invites[0].OrgRoleID) != "Viewer" {
		t.Fatalf("invites %v, want one Viewer invite", sn.Invites)
	}
	if len(sn.Users) != before {
		t.Fatal("an invite created a user before acceptance")
	}
	// An existing account is not invited again.
	resp, err = p.srv.Client.CreateAccount(context.Background(), createRequest(sn.Users[1].Email, "", ""))
	mustOK(t, err)
	if resp.GetAlreadyExists() == nil || len(p.sim.Snapshot().Invites) != 1 {
		t.Fatalf("inviting an existing user: %v, invites %d", resp, len(p.sim.Snapshot().Invites))
	}
}

func TestCreateAccountRejectsBadProfilesBeforeWriting(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t, func(s *Settings) { s.AccountCreationMode = config.AccountCreationCreate })
	ctx := context.Background()
	before := len(p.sim.Snapshot().Users)
	cases := []struct {
		req  *v2.CreateAccountRequest
		want string
	}{
		{v2.CreateAccountRequest_builder{AccountInfo: v2.AccountInfo_builder{}.Build()}.Build(), "needs an email"},
		{createRequest("not an email", "x", ""), "not a plain email"},
		{createRequest("ok@acme.example", "x", "Galactic Overlord"), "not an organization role"},
		{createRequest("ok@acme.example", "x", "Owner"), "cannot be the Owner"},
	}
	for _, c := range cases {
		_, err := p.srv.Client.CreateAccount(ctx, c.req)
		testkit.WantCode(t, err, codes.InvalidArgument, c.want)
	}
	if len(p.sim.Snapshot().Users) != before {
		t.Fatal("a rejected request created a user")
	}
	// The CLI always asks for a random password; that must not break creation.
	syncer := &p.conn.users
	profile, _ := structpb.NewStruct(map[string]any{"email": "pw@acme.example"})
	res, _, _, err := syncer.CreateAccount(ctx, v2.AccountInfo_builder{Profile: profile}.Build(),
		v2.LocalCredentialOptions_builder{RandomPassword: v2.LocalCredentialOptions_RandomPassword_builder{Length: 20}.Build()}.Build())
	mustOK(t, err)
	if res.(*v2.CreateAccountResponse_SuccessResult).GetResource() == nil {
		t.Fatal("random-password request did not create the account")
	}
}

func TestDeleteAccount(t *testing.T) {
	t.Parallel()
	p := newProvisioning(t)
	ctx := context.Background()
	sn := p.sim.Snapshot()
	victim := sn.Users[3]
	del := func(id string) (*v2.DeleteResourceV2Response, error) {
		return p.srv.Client.DeleteResourceV2(ctx, v2.DeleteResourceV2Request_builder{
			ResourceId: v2.ResourceId_builder{ResourceType: "user", Resource: id}.Build()}.Build())
	}
	_, err := del(victim.ID)
	mustOK(t, err)
	if _, ok := p.sim.Snapshot().User(victim.ID); ok {
		t.Fatal("user still exists after delete")
	}
	resp, err := del(victim.ID)
	mustOK(t, err)
	if !annos(resp.GetAnnotations()).Contains(&v2.ResourceDoesNotExist{}) {
		t.Error("second delete did not report ResourceDoesNotExist")
	}
	_, err = del(sn.Users[0].ID)
	testkit.WantCode(t, err, codes.FailedPrecondition, "Owner")
	if _, ok := p.sim.Snapshot().User(sn.Users[0].ID); !ok {
		t.Fatal("the Owner was deleted")
	}
}

// A proxy that answers a write with its own page leaves the write
// unconfirmed: the connector reads Tray's state to decide, as a repeated
// grant would, and reports success only when the change is there. The
// syncers are called directly: through the SDK a retryable failure is
// retried for a minute and a half.
func TestWritesAnsweredWithAProxyPageAreSettledByRereading(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"applied", "dropped"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			p := newProvisioning(t, func(s *Settings) { s.AccountCreationMode = config.AccountCreationCreate })
			ctx := context.Background()
			ws, u := p.sharedWorkspaceAndOutsider(t)
			sn := p.sim.Snapshot()
			contributor := sn.OrgRoleByName("Contributor")
			victim, promoted := sn.Users[4], sn.Users[len(sn.Users)-1]
			p.sim.AddMember(ws.ID, victim.ID, traysim.RoleViewer)
			p.sim.SetFaults(traysim.Faults{HTMLWrites: mode})
			workspaces, roles, users := &p.conn.workspaces, &p.conn.roles, &p.conn.users
			principal := func(id string) *v2.Resource { return p.got.Resources["user/"+id] }

			check := func(what string, err error, changed bool) {
				t.Helper()
				switch {
				case mode == "applied" && err != nil:
					t.Errorf("%s: the change is in Tray.ai, yet: %v", what, err)
				case mode == "dropped" && status.Code(err) != codes.Unavailable:
					t.Errorf("%s: the change never reached Tray.ai, yet: %v (want Unavailable, safe to retry)", what, err)
				case changed != (mode == "applied"):
					t.Errorf("%s: simulator changed=%v in mode %s", what, changed, mode)
				}
			}
			_, _, err := workspaces.Grant(ctx, principal(u.ID), p.got.Entitlements["workspace:"+ws.ID+":"+ws.RoleByName("Viewer").ID])
			_, member := memberRole(p, ws.ID, u.ID)
			check("add to workspace", err, member)

			memberEnt := p.got.Entitlements["workspace:"+ws.ID+":member"]
			_, err = workspaces.Revoke(ctx, v2.Grant_builder{Entitlement: memberEnt, Principal: v2.Resource_builder{
				Id: v2.ResourceId_builder{ResourceType: userTypeID, Resource: victim.ID}.Build()}.Build()}.Build())
			_, still := memberRole(p, ws.ID, victim.ID)
			check("remove from workspace", err, !still)

			_, _, err = roles.Grant(ctx, principal(promoted.ID), p.got.Entitlements["role:"+contributor.ID+":assigned"])
			x, _ := p.sim.Snapshot().User(promoted.ID)
			check("set org role", err, x.OrgRoleID == contributor.ID)

			_, err = users.Delete(ctx, v2.ResourceId_builder{ResourceType: userTypeID, Resource: victim.ID}.Build(), nil)
			_, exists := p.sim.Snapshot().User(victim.ID)
			check("delete user", err, !exists)

			profile, _ := structpb.NewStruct(map[string]any{"email": "proxied@acme.example", "name": "Proxied Person"})
			res, _, _, err := users.CreateAccount(ctx, v2.AccountInfo_builder{Profile: profile}.Build(), nil)
			_, created := p.sim.Snapshot().UserByEmail("proxied@acme.example")
			check("create user", err, created)
			if mode == "applied" && res.(*v2.CreateAccountResponse_SuccessResult).GetResource().GetDisplayName() != "Proxied Person" {
				t.Errorf("create user: result %v, want the created user", res)
			}
		})
	}
}
