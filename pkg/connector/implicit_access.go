package connector

import (
	"context"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	ent "github.com/conductorone/baton-sdk/pkg/types/entitlement"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// Tray.ai gives organization Owners and Admins access to every workspace,
// member or not, and their workspace role cannot be edited
// (docs/tray-api-notes.md, "Roles"). Tray lists memberships only, so a
// review of a workspace would not see them. The connector records that
// access the Baton way: each synced workspace's Admin role is granted to
// the Owner and Admin organization roles, with the SDK's grant-expansion
// annotation on their `assigned` entitlements, so ConductorOne expands it
// to every holder and keeps it current without a grant per person per
// workspace. The grants are immutable: access that comes from an
// organization role is changed there. --listed-memberships-only leaves
// them out, and so does a sync without organization roles.

// implicitAdminGrants grants a workspace's Admin role to the Owner and
// Admin organization roles, for the SDK to expand to their holders.
func implicitAdminGrants(ctx context.Context, cl *client.Client, st *syncState, ws *v2.Resource, roles workspaceRoles) ([]*v2.Grant, error) {
	if roles.forbidden {
		return nil, nil
	}
	var admin client.Role
	for _, r := range roles.roles {
		if isAdminRole(r) {
			admin = r
		}
	}
	if admin.ID == "" {
		logger(ctx).Debug("workspace has no Admin role, so the access of organization Owners and Admins to it is not recorded",
			zap.String("workspace_id", ws.GetId().GetResource()), zap.String("roles", roleNames(roles.roles)))
		return nil, nil
	}
	orgRoles, err := organizationRoles(ctx, cl, st)
	if err != nil {
		return nil, err
	}
	var out []*v2.Grant
	for _, r := range orgRoles {
		if !reachesEveryWorkspace(&r) {
			continue
		}
		role := v2.Resource_builder{Id: roleResourceID(r.ID)}.Build()
		out = append(out, grant.NewGrant(ws, admin.ID, role.GetId(), grant.WithAnnotation(
			v2.GrantExpandable_builder{EntitlementIds: []string{ent.NewEntitlementID(role, roleAssignedSlug)}}.Build(),
			&v2.GrantImmutable{},
		)))
	}
	return out, nil
}

// organizationRoles returns the organization roles: those this sync
// listed, or, in a sync that did not list them (a targeted one), fresh
// from Tray, then kept for the rest of the sync.
func organizationRoles(ctx context.Context, cl *client.Client, st *syncState) ([]client.Role, error) {
	if roles, ok := st.organizationRoles(); ok {
		return roles, nil
	}
	roles, err := allOrgRoles(ctx, cl)
	if err != nil {
		return nil, err
	}
	st.listedOrgRoles(true, true, roles)
	return roles, nil
}

// refuseImplicit explains a revoke of a workspace role that a user who is
// not a member holds through their organization role: nothing on the
// workspace can take it away.
func (w *workspaceSyncer) refuseImplicit(ctx context.Context, ws client.Workspace, userID, roleID string) error {
	if !w.implicitAccess {
		return nil
	}
	roles, err := allWorkspaceRoles(ctx, w.client, ws.ID)
	if err != nil {
		return err
	}
	if r, ok := roleByID(roles, roleID); !ok || !isAdminRole(r) {
		return nil
	}
	u, err := w.client.GetUser(ctx, userID)
	if status.Code(err) == codes.NotFound {
		return nil
	}
	if err != nil {
		return wrapf(err, "get user %s", userID)
	}
	if !reachesEveryWorkspace(u.Role) {
		return nil
	}
	return errorf(codes.FailedPrecondition,
		"%s is not a member of workspace %s but holds its Admin role through the %s organization role, which Tray.ai grants in every workspace: revoke the organization role instead",
		displayUser(u), ws.Name, u.Role.Name)
}
