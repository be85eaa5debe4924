package connector

import (
	"context"
	"fmt"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	ent "github.com/conductorone/baton-sdk/pkg/types/entitlement"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// Grant gives a user a workspace role (adding them to the workspace, or
// changing their role there) or, for `member`, adds them with the default
// role. Every step reads Tray's current state first, so a retried or
// repeated grant is a no-op.
func (w *workspaceSyncer) Grant(ctx context.Context, principal *v2.Resource, e *v2.Entitlement) ([]*v2.Grant, annotations.Annotations, error) {
	userID, err := grantedUser(principal, e, workspaceTypeID)
	if err != nil {
		return nil, nil, err
	}
	target, err := w.resolveWorkspaceEntitlement(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	wsRes, wsID := e.GetResource(), e.GetResource().GetId().GetResource()
	role := target.role
	if target.member {
		var ok bool
		if role, ok = findRole(target.roles, w.c.settings.DefaultWorkspaceRole); !ok {
			return nil, nil, errorf(codes.FailedPrecondition,
				"--default-workspace-role %q is not a role of workspace %s (it has %s): set it to one of them",
				w.c.settings.DefaultWorkspaceRole, target.ws.Name, roleNames(target.roles))
		}
	}
	memberG := grant.NewGrant(wsRes, memberSlug, principal.GetId())
	roleG := grant.NewGrant(wsRes, role.ID, principal.GetId())

	current, err := w.c.client.GetWorkspaceUser(ctx, wsID, userID)
	switch {
	case isNotFound(err):
		if err := w.addMember(ctx, wsID, userID, role.ID); err != nil {
			return nil, nil, err
		}
		return []*v2.Grant{memberG, roleG}, nil, nil
	case err != nil:
		return nil, nil, wrapf(err, "check membership of %s in workspace %s", userID, wsID)
	}

	if target.member || (current.HasRole() && current.Role.ID == role.ID) {
		return []*v2.Grant{grant.NewGrant(wsRes, target.slug(role), principal.GetId())}, annotations.New(&v2.GrantAlreadyExists{}), nil
	}
	if from := target.roleName(current); from == "" || reduces(from, role.Name) {
		change := fmt.Sprintf("change the role of %s in workspace %s to %s", userID, target.ws.Name, role.Name)
		if err := w.c.guard(ctx, client.User{ID: userID, Email: current.Email}, change); err != nil {
			return nil, nil, err
		}
	}
	err = settle(w.c.client.SetWorkspaceUserRole(ctx, wsID, userID, role.ID), w.holds(ctx, wsID, userID, role.ID))
	if err != nil {
		if status.Code(err) == codes.InvalidArgument {
			return nil, nil, errorf(codes.FailedPrecondition,
				"Tray.ai refused to change %s's role in workspace %s (%s); organization Owners and Admins keep their role in every workspace",
				userID, target.ws.Name, status.Convert(err).Message())
		}
		return nil, nil, wrapf(err, "change role of %s in workspace %s", userID, wsID)
	}
	var annos annotations.Annotations
	if current.HasRole() {
		old := ent.NewAssignmentEntitlement(wsRes, current.Role.ID)
		annos = grant.AppendGrantReplaced(annos, grant.NewGrantID(principal.GetId(), old))
	}
	return []*v2.Grant{roleG}, annos, nil
}

// addMember adds a user; if Tray says they already are a member (a
// concurrent or retried grant got there first), that is success only when
// they now hold the intended role.
func (w *workspaceSyncer) addMember(ctx context.Context, wsID, userID, roleID string) error {
	err := settle(w.c.client.AddWorkspaceUser(ctx, wsID, userID, roleID), w.holds(ctx, wsID, userID, roleID))
	if err == nil {
		return nil
	}
	if status.Code(err) == codes.InvalidArgument {
		if m, gerr := w.c.client.GetWorkspaceUser(ctx, wsID, userID); gerr == nil && m.HasRole() && m.Role.ID == roleID {
			return nil
		}
	}
	if isNotFound(err) {
		return errorf(codes.NotFound, "add %s to workspace %s: the user or workspace no longer exists in Tray.ai; run a sync", userID, wsID)
	}
	return wrapf(err, "add %s to workspace %s", userID, wsID)
}

// Revoke removes a user from the workspace: for `member` always, for a
// role entitlement only if that is the role they hold.
func (w *workspaceSyncer) Revoke(ctx context.Context, g *v2.Grant) (annotations.Annotations, error) {
	if g.GetPrincipal().GetId().GetResourceType() == roleTypeID {
		return nil, errorf(codes.FailedPrecondition,
			"the %s organization role reaches every Tray.ai workspace, so its holders keep the Admin role of workspace %s: revoke their organization role instead",
			roleDisplayName(g.GetPrincipal().GetDisplayName(), g.GetPrincipal().GetId().GetResource()), g.GetEntitlement().GetResource().GetDisplayName())
	}
	userID, err := userPrincipal(g.GetPrincipal().GetId())
	if err != nil {
		return nil, err
	}
	e := g.GetEntitlement()
	wsID := e.GetResource().GetId().GetResource()
	slug, err := entitlementSlug(e)
	if err != nil {
		return nil, err
	}
	ws, err := w.c.client.GetWorkspace(ctx, wsID)
	if gone, err := absent(err, "get workspace %s", wsID); gone || err != nil {
		return revokedIf(gone), err
	}
	if ws.Type == client.WorkspaceTypeOrganization {
		return nil, errorf(codes.FailedPrecondition,
			"every organization user is a member of the Organization workspace %s: delete the account to remove them", ws.Name)
	}
	current, err := w.c.client.GetWorkspaceUser(ctx, wsID, userID)
	if gone, err := absent(err, "check membership of %s in workspace %s", userID, wsID); gone || err != nil {
		if err == nil && slug != memberSlug {
			err = w.c.refuseImplicit(ctx, ws, userID, slug)
		}
		return revokedIf(gone && err == nil), err
	}
	if slug != memberSlug && (!current.HasRole() || current.Role.ID != slug) {
		// They hold another role: this grant no longer exists.
		return alreadyRevoked(), nil
	}
	if err := w.c.guard(ctx, client.User{ID: userID, Email: current.Email}, "remove "+userID+" from workspace "+ws.Name); err != nil {
		return nil, err
	}
	err = settle(w.c.client.RemoveWorkspaceUser(ctx, wsID, userID), removed(func() error {
		_, err := w.c.client.GetWorkspaceUser(ctx, wsID, userID)
		return err
	}))
	gone, err := absent(err, "remove %s from workspace %s", userID, wsID)
	return revokedIf(gone), err
}

// holds is the check that settles an unconfirmed add or role change: the
// user is now a member with the role.
func (w *workspaceSyncer) holds(ctx context.Context, wsID, userID, roleID string) func() (bool, error) {
	return func() (bool, error) {
		m, err := w.c.client.GetWorkspaceUser(ctx, wsID, userID)
		if isNotFound(err) {
			return false, nil
		}
		return m.HasRole() && m.Role.ID == roleID, err
	}
}

// workspaceTarget is what a workspace entitlement means in Tray now.
type workspaceTarget struct {
	ws     client.Workspace
	roles  []client.Role
	member bool
	role   client.Role
}

// roleName is the name of the role a member holds, from the workspace's
// role listing when the member's record carries only its id.
func (t workspaceTarget) roleName(m client.WorkspaceUser) string {
	if !m.HasRole() {
		return ""
	}
	if m.Role.Name != "" {
		return m.Role.Name
	}
	r, _ := findRole(t.roles, m.Role.ID)
	return r.Name
}

// slug is the entitlement slug a grant of the target is reported under.
func (t workspaceTarget) slug(role client.Role) string {
	if t.member {
		return memberSlug
	}
	return role.ID
}

// resolveWorkspaceEntitlement reads the workspace and its roles fresh from
// Tray and checks the entitlement still means something there.
func (w *workspaceSyncer) resolveWorkspaceEntitlement(ctx context.Context, e *v2.Entitlement) (workspaceTarget, error) {
	slug, err := entitlementSlug(e)
	if err != nil {
		return workspaceTarget{}, err
	}
	wsID := e.GetResource().GetId().GetResource()
	ws, err := w.c.client.GetWorkspace(ctx, wsID)
	if isNotFound(err) {
		return workspaceTarget{}, errorf(codes.NotFound, "workspace %s no longer exists in Tray.ai; run a sync", wsID)
	}
	if err != nil {
		return workspaceTarget{}, wrapf(err, "get workspace %s", wsID)
	}
	if ws.Type == client.WorkspaceTypeOrganization {
		return workspaceTarget{}, errorf(codes.FailedPrecondition,
			"membership of the Organization workspace %s follows organization membership: grant an organization role or create the account instead", ws.Name)
	}
	roles, err := w.c.allWorkspaceRoles(ctx, wsID)
	if err != nil {
		return workspaceTarget{}, err
	}
	t := workspaceTarget{ws: ws, roles: roles, member: slug == memberSlug}
	if !t.member {
		var ok bool
		if t.role, ok = findRole(roles, slug); !ok || t.role.ID != slug {
			return workspaceTarget{}, errorf(codes.NotFound,
				"role %s no longer exists in workspace %s; run a sync to refresh its entitlements", slug, ws.Name)
		}
	}
	return t, nil
}
