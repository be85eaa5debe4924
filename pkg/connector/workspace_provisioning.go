package connector

import (
	"context"
	"fmt"
	"strings"

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
	current, err := w.client.GetWorkspaceUser(ctx, wsID, userID)
	if status.Code(err) == codes.NotFound {
		if err := w.addMember(ctx, wsID, userID, target.role.ID); err != nil {
			return nil, nil, err
		}
		return []*v2.Grant{grant.NewGrant(wsRes, memberSlug, principal.GetId()), grant.NewGrant(wsRes, target.role.ID, principal.GetId())}, nil, nil
	}
	if err != nil {
		return nil, nil, wrapf(err, "check membership of %s in workspace %s", userID, wsID)
	}
	if target.member || (current.HasRole() && current.Role.ID == target.role.ID) {
		return []*v2.Grant{grant.NewGrant(wsRes, target.slug(), principal.GetId())}, alreadyGranted(), nil
	}
	if err := w.changeRole(ctx, target, current); err != nil {
		return nil, nil, err
	}
	var annos annotations.Annotations
	if current.HasRole() {
		old := ent.NewAssignmentEntitlement(wsRes, current.Role.ID)
		annos = grant.AppendGrantReplaced(annos, grant.NewGrantID(principal.GetId(), old))
	}
	return []*v2.Grant{grant.NewGrant(wsRes, target.role.ID, principal.GetId())}, annos, nil
}

// addMember adds a user; if Tray says they already are a member (a
// concurrent or retried grant got there first), that is success only when
// they now hold the intended role.
func (w *workspaceSyncer) addMember(ctx context.Context, wsID, userID, roleID string) error {
	err := w.client.AddWorkspaceUser(ctx, wsID, userID, roleID)
	if client.IsUnconfirmed(err) {
		err = rereadUnconfirmed(err, func() (bool, error) { return w.memberHasRole(ctx, wsID, userID, roleID) })
	}
	if err == nil {
		return nil
	}
	if status.Code(err) == codes.InvalidArgument {
		if held, herr := w.memberHasRole(ctx, wsID, userID, roleID); herr == nil && held {
			return nil
		}
	}
	if status.Code(err) == codes.NotFound {
		return errorf(codes.NotFound, "add %s to workspace %s: the user or workspace no longer exists in Tray.ai; run a sync", userID, wsID)
	}
	return wrapf(err, "add %s to workspace %s", userID, wsID)
}

// changeRole changes a member's role to the target's, unless that would
// reduce the access of a protected account.
func (w *workspaceSyncer) changeRole(ctx context.Context, t workspaceTarget, current client.WorkspaceUser) error {
	userID, wsID := current.ID, t.ws.ID
	if from := t.roleName(current); from == "" || reduces(from, t.role.Name) {
		change := fmt.Sprintf("change the role of %s in workspace %s to %s", userID, t.ws.Name, t.role.Name)
		if err := w.guard.check(ctx, client.User{ID: userID, Email: current.Email}, change); err != nil {
			return err
		}
	}
	err := w.client.SetWorkspaceUserRole(ctx, wsID, userID, t.role.ID)
	if client.IsUnconfirmed(err) {
		err = rereadUnconfirmed(err, func() (bool, error) { return w.memberHasRole(ctx, wsID, userID, t.role.ID) })
	}
	if status.Code(err) == codes.InvalidArgument {
		return errorf(codes.FailedPrecondition,
			"Tray.ai refused to change %s's role in workspace %s (%s); organization Owners and Admins keep their role in every workspace",
			userID, t.ws.Name, status.Convert(err).Message())
	}
	if err != nil {
		return wrapf(err, "change role of %s in workspace %s", userID, wsID)
	}
	return nil
}

// memberHasRole reads whether a user is now a member of a workspace with a role.
func (w *workspaceSyncer) memberHasRole(ctx context.Context, wsID, userID, roleID string) (bool, error) {
	m, err := w.client.GetWorkspaceUser(ctx, wsID, userID)
	if status.Code(err) == codes.NotFound {
		return false, nil
	}
	return m.HasRole() && m.Role.ID == roleID, err
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
	slug, err := entitlementKey(e)
	if err != nil {
		return nil, err
	}
	ws, err := w.client.GetWorkspace(ctx, wsID)
	if status.Code(err) == codes.NotFound {
		return alreadyRevoked(), nil
	}
	if err != nil {
		return nil, wrapf(err, "get workspace %s", wsID)
	}
	if ws.Type == client.WorkspaceTypeOrganization {
		return nil, errorf(codes.FailedPrecondition,
			"every organization user is a member of the Organization workspace %s: delete the account to remove them", ws.Name)
	}
	current, err := w.client.GetWorkspaceUser(ctx, wsID, userID)
	if status.Code(err) == codes.NotFound {
		return w.revokeFromNonMember(ctx, ws, userID, slug)
	}
	if err != nil {
		return nil, wrapf(err, "check membership of %s in workspace %s", userID, wsID)
	}
	if slug != memberSlug && (!current.HasRole() || current.Role.ID != slug) {
		// They hold another role: this grant no longer exists.
		return alreadyRevoked(), nil
	}
	if err := w.guard.check(ctx, client.User{ID: userID, Email: current.Email}, "remove "+userID+" from workspace "+ws.Name); err != nil {
		return nil, err
	}
	return w.removeMember(ctx, wsID, userID)
}

// revokeFromNonMember answers a revoke for a user who is not a member: it
// is already revoked, unless the user holds the workspace's Admin role
// through their organization role, which no revoke on the workspace can
// take away.
func (w *workspaceSyncer) revokeFromNonMember(ctx context.Context, ws client.Workspace, userID, slug string) (annotations.Annotations, error) {
	if slug != memberSlug {
		if err := w.refuseImplicit(ctx, ws, userID, slug); err != nil {
			return nil, err
		}
	}
	return alreadyRevoked(), nil
}

// removeMember removes a user from a workspace; one already gone is
// already revoked.
func (w *workspaceSyncer) removeMember(ctx context.Context, wsID, userID string) (annotations.Annotations, error) {
	err := w.client.RemoveWorkspaceUser(ctx, wsID, userID)
	if client.IsUnconfirmed(err) {
		err = rereadUnconfirmed(err, func() (bool, error) {
			_, err := w.client.GetWorkspaceUser(ctx, wsID, userID)
			if status.Code(err) == codes.NotFound {
				return true, nil
			}
			return false, err
		})
	}
	if status.Code(err) == codes.NotFound {
		return alreadyRevoked(), nil
	}
	if err != nil {
		return nil, wrapf(err, "remove %s from workspace %s", userID, wsID)
	}
	return nil, nil
}

// workspaceTarget is what a workspace entitlement means in Tray now.
type workspaceTarget struct {
	ws    client.Workspace
	roles []client.Role
	// member is true for the `member` entitlement, whose grant gives role,
	// the default workspace role.
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
	r, _ := roleByID(t.roles, m.Role.ID)
	return r.Name
}

// slug is the entitlement slug a grant of the target is reported under.
func (t workspaceTarget) slug() string {
	if t.member {
		return memberSlug
	}
	return t.role.ID
}

// resolveWorkspaceEntitlement reads the workspace and its roles fresh from
// Tray and checks the entitlement still means something there: its role
// exists, or, for `member`, the default workspace role does.
func (w *workspaceSyncer) resolveWorkspaceEntitlement(ctx context.Context, e *v2.Entitlement) (workspaceTarget, error) {
	slug, err := entitlementKey(e)
	if err != nil {
		return workspaceTarget{}, err
	}
	wsID := e.GetResource().GetId().GetResource()
	ws, err := w.client.GetWorkspace(ctx, wsID)
	if status.Code(err) == codes.NotFound {
		return workspaceTarget{}, errorf(codes.NotFound, "workspace %s no longer exists in Tray.ai; run a sync", wsID)
	}
	if err != nil {
		return workspaceTarget{}, wrapf(err, "get workspace %s", wsID)
	}
	if ws.Type == client.WorkspaceTypeOrganization {
		return workspaceTarget{}, errorf(codes.FailedPrecondition,
			"membership of the Organization workspace %s follows organization membership: grant an organization role or create the account instead", ws.Name)
	}
	roles, err := allWorkspaceRoles(ctx, w.client, wsID)
	if err != nil {
		return workspaceTarget{}, err
	}
	t := workspaceTarget{ws: ws, roles: roles, member: slug == memberSlug}
	var ok bool
	if !t.member {
		if t.role, ok = roleByID(roles, slug); !ok {
			return workspaceTarget{}, errorf(codes.NotFound,
				"role %s no longer exists in workspace %s; run a sync to refresh its entitlements", slug, ws.Name)
		}
		return t, nil
	}
	if t.role, ok = roleByIDOrName(roles, w.defaultRole); !ok {
		return workspaceTarget{}, errorf(codes.FailedPrecondition,
			"--default-workspace-role %q is not a role of workspace %s (it has %s): set it to one of them",
			w.defaultRole, ws.Name, roleNames(roles))
	}
	return t, nil
}

// entitlementKey is the part of the entitlement id after
// "<resource type>:<resource id>:", which is how the SDK builds it: `member`
// or a role's id. It is read from the id, not from the entitlement's Slug
// field, which for a role is the role's name (shown, not trusted).
func entitlementKey(e *v2.Entitlement) (string, error) {
	slug, ok := strings.CutPrefix(e.GetId(), ent.NewEntitlementID(e.GetResource(), ""))
	if !ok || slug == "" {
		return "", errorf(codes.InvalidArgument, "entitlement id %q does not belong to resource %s", e.GetId(), e.GetResource().GetId().GetResource())
	}
	return slug, nil
}
