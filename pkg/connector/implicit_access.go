package connector

import (
	"context"
	"strings"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	ent "github.com/conductorone/baton-sdk/pkg/types/entitlement"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// Tray.ai gives organization Owners and Admins access to every workspace,
// member or not, and their workspace role cannot be edited (tray-api.md
// U14). Tray lists memberships only, so a review of a workspace would not
// see them. The connector records that access the Baton way: each synced
// workspace's Admin role is granted to the Owner and Admin organization
// roles, with the SDK's grant-expansion annotation on their `assigned`
// entitlements, so ConductorOne expands it to every holder and keeps it
// current without a grant per person per workspace. The grants are
// immutable: access that comes from an organization role is changed there.

// adminRoleName names the workspace role with full control of a workspace,
// and the organization role that reaches every workspace.
const adminRoleName = "Admin"

func isAdminRole(r client.Role) bool { return strings.EqualFold(r.Name, adminRoleName) }

// reachesEveryWorkspace reports the organization roles whose holders
// Tray.ai lets into every workspace.
func reachesEveryWorkspace(r *client.Role) bool {
	return r != nil && (isOwner(r) || strings.EqualFold(r.Name, adminRoleName))
}

// implicitAccess reports whether this sync records the implicit access.
func (c *Connector) implicitAccess() bool {
	return !c.settings.ListedMembershipsOnly && c.willSync(roleTypeID)
}

// implicitAdminGrants grants a workspace's Admin role to the Owner and
// Admin organization roles, for the SDK to expand to their holders.
func (c *Connector) implicitAdminGrants(ctx context.Context, syncID string, ws *v2.Resource, roles workspaceRoles) ([]*v2.Grant, error) {
	if !c.implicitAccess() || roles.forbidden {
		return nil, nil
	}
	var admin client.Role
	for _, r := range roles.roles {
		if isAdminRole(r) {
			admin = r
		}
	}
	if admin.ID == "" {
		logger(ctx).Debug("baton-trayai: workspace has no Admin role, so the access of organization Owners and Admins to it is not recorded",
			zap.String("workspace_id", ws.GetId().GetResource()), zap.String("roles", roleNames(roles.roles)))
		return nil, nil
	}
	orgRoles, err := c.orgRolesOf(ctx, syncID)
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

// orgRolesOf returns the organization roles: those this sync listed, or,
// in a sync that did not list them (a targeted one), fresh from Tray.
func (c *Connector) orgRolesOf(ctx context.Context, syncID string) ([]client.Role, error) {
	var roles []client.Role
	c.cache.with(syncID, func(s *syncState) {
		if s.orgRoles.complete {
			roles = s.orgRoles.items
		}
	})
	if roles != nil {
		return roles, nil
	}
	roles, err := c.allOrgRoles(ctx)
	if err != nil {
		return nil, err
	}
	c.cache.with(syncID, func(s *syncState) { s.orgRoles.add(true, true, roles) })
	return roles, nil
}

// refuseImplicit explains a revoke of a workspace role that a user who is
// not a member holds through their organization role: nothing on the
// workspace can take it away.
func (c *Connector) refuseImplicit(ctx context.Context, ws client.Workspace, userID, roleID string) error {
	if !c.implicitAccess() {
		return nil
	}
	roles, err := c.allWorkspaceRoles(ctx, ws.ID)
	if err != nil {
		return err
	}
	if r, ok := findRole(roles, roleID); !ok || r.ID != roleID || !isAdminRole(r) {
		return nil
	}
	u, err := c.client.GetUser(ctx, userID)
	if isNotFound(err) {
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
