package connector

import (
	"context"
	"fmt"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/conductorone/baton-trayai/internal/testkit"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/config"
)

// accountRequestWith builds a create-account request from a profile as
// ConductorOne sends it.
func accountRequestWith(profile map[string]any) *v2.CreateAccountRequest {
	p, _ := structpb.NewStruct(profile)
	return v2.CreateAccountRequest_builder{
		AccountInfo:       v2.AccountInfo_builder{Profile: p}.Build(),
		CredentialOptions: v2.CredentialOptions_builder{NoPassword: &v2.CredentialOptions_NoPassword{}}.Build(),
	}.Build()
}

// The earlier Tray.ai connector's account form sent name, email and
// organizationRoleId (an organization role's id). Account-provisioning
// settings written for it must keep working in both account-creation
// modes: organizationRoleId names the role, by id or by name, and a
// request that also sets role must name the same role in both.
func TestCreateAccountAcceptsTheEarlierConnectorsForm(t *testing.T) {
	t.Parallel()
	inEachAccountCreationMode(t, func(t *testing.T, p *fixture, mode string) {
		sn := p.sim.Snapshot()
		contributor, admin := sn.OrgRoleByName("Contributor"), sn.OrgRoleByName("Admin")
		cases := []struct {
			name     string
			profile  map[string]any
			wantRole string // the organization role id the account must get
		}{
			{"organizationRoleId as an id", map[string]any{"organizationRoleId": contributor.ID}, contributor.ID},
			{"organizationRoleId as a name", map[string]any{"organizationRoleId": "admin"}, admin.ID},
			{"role and organizationRoleId agreeing", map[string]any{"role": "Contributor", "organizationRoleId": contributor.ID}, contributor.ID},
		}
		for i, c := range cases {
			email := fmt.Sprintf("legacy.%d@acme.example", i)
			c.profile["email"] = email
			c.profile["name"] = "Legacy Person"
			resp, err := p.srv.Client.CreateAccount(context.Background(), accountRequestWith(c.profile))
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if resp.GetSuccess() == nil {
				t.Fatalf("%s: %v, want a success", c.name, resp)
			}
			assertAccountMade(t, p, mode, c.name, email, c.wantRole)
		}
	})
}

// inEachAccountCreationMode runs test, in parallel, against a fixture in
// invite mode and one in create mode.
func inEachAccountCreationMode(t *testing.T, test func(t *testing.T, p *fixture, mode string)) {
	t.Helper()
	for _, mode := range []string{config.AccountCreationInvite, config.AccountCreationCreate} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			test(t, newFixture(t, traysim.NewDefault(traysim.ShapeMinimal), func(s *Settings) { s.AccountCreationMode = mode }), mode)
		})
	}
}

// assertAccountMade checks the simulator holds what one create-account
// call should have made: an invitation with the role (invite mode) or a
// user with the name and role (create mode).
func assertAccountMade(t *testing.T, p *fixture, mode, what, email, roleID string) {
	t.Helper()
	sn := p.sim.Snapshot()
	if mode == config.AccountCreationInvite {
		for _, inv := range sn.Invites {
			if inv.Email == email {
				if inv.OrgRoleID != roleID {
					t.Errorf("%s: invited with role %s, want %s", what, sn.OrgRoleName(inv.OrgRoleID), sn.OrgRoleName(roleID))
				}
				return
			}
		}
		t.Errorf("%s: no invitation for %s (invites %v)", what, email, sn.Invites)
		return
	}
	u, ok := sn.UserByEmail(email)
	switch {
	case !ok:
		t.Errorf("%s: no user %s was created", what, email)
	case u.Name != "Legacy Person":
		t.Errorf("%s: user named %q, want the form's name Legacy Person", what, u.Name)
	case u.OrgRoleID != roleID:
		t.Errorf("%s: user has role %s, want %s", what, sn.OrgRoleName(u.OrgRoleID), sn.OrgRoleName(roleID))
	}
}

// A request whose role and organizationRoleId name different roles is
// refused, in both modes, before anything is written; so is an
// organizationRoleId that is no role, or the Owner.
func TestCreateAccountRefusesConflictingOrBadOrganizationRoleID(t *testing.T) {
	t.Parallel()
	inEachAccountCreationMode(t, func(t *testing.T, p *fixture, _ string) {
		sn := p.sim.Snapshot()
		contributor := sn.OrgRoleByName("Contributor")
		cases := []struct {
			profile map[string]any
			want    string
		}{
			{map[string]any{"role": "Viewer", "organizationRoleId": contributor.ID}, "set only role"},
			{map[string]any{"role": sn.OrgRoleByName("Admin").ID, "organizationRoleId": "contributor"}, "set only role"},
			{map[string]any{"organizationRoleId": "Galactic Overlord"}, "organizationRoleId \"Galactic Overlord\" is not an organization role"},
			{map[string]any{"organizationRoleId": sn.OrgRoleByName("Owner").ID}, "cannot be the Owner"},
		}
		for _, c := range cases {
			c.profile["email"] = "conflict@acme.example"
			c.profile["name"] = "Conflicted Person"
			_, err := p.srv.Client.CreateAccount(context.Background(), accountRequestWith(c.profile))
			testkit.WantCode(t, err, codes.InvalidArgument, c.want)
		}
		after := p.sim.Snapshot()
		if len(after.Invites) != len(sn.Invites) || len(after.Users) != len(sn.Users) {
			t.Fatalf("a refused request wrote to Tray.ai: invites %d -> %d, users %d -> %d",
				len(sn.Invites), len(after.Invites), len(sn.Users), len(after.Users))
		}
	})
}

// The account-creation schema offers organizationRoleId, so that values
// ConductorOne holds for the earlier connector's field are still sent.
func TestAccountCreationSchemaKeepsTheEarlierFields(t *testing.T) {
	t.Parallel()
	fields := accountCreationSchema().GetFieldMap()
	for _, name := range []string{"email", "name", "organizationRoleId", "role"} {
		f, ok := fields[name]
		if !ok {
			t.Errorf("the account-creation schema has no %s field", name)
			continue
		}
		if name != "email" && f.GetRequired() {
			t.Errorf("%s is required; only email is", name)
		}
	}
}
