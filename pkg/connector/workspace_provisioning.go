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
	userID, err := userPrincipal(principal.GetId())
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
		role, err = findRole(target.roles, w.c.settings.DefaultWorkspaceRole)
		if err != nil {
			return nil, nil, status.Errorf(codes.FailedPrecondition,
				"baton-trayai: --default-workspace-role %q is not a role of workspace %s (it has %s): set it to one of them",
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
		return nil, nil, fmt.Errorf("baton-trayai: check membership of %s in workspace %s: %w", userID, wsID, err)
	}

	if target.member || (current.HasRole() && current.Role.ID == role.ID) {
		return []*v2.Grant{grant.NewGrant(wsRes, slugOf(target, role), principal.GetId())}, annotations.New(&v2.GrantAlreadyExists{}), nil
	}
	if err := w.c.client.SetWorkspaceUserRole(ctx, wsID, userID, role.ID); err != nil {
		if status.Code(err) == codes.InvalidArgument {
			return nil, nil, status.Errorf(codes.FailedPrecondition,
				"baton-trayai: Tray.ai refused to change %s's role in workspace %s (%s); organization Owners and Admins keep their role in every workspace",
				userID, target.ws.Name, status.Convert(err).Message())
		}
		return nil, nil, fmt.Errorf("baton-trayai: change role of %s in workspace %s: %w", userID, wsID, err)
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
	err := w.c.client.AddWorkspaceUser(ctx, wsID, userID, roleID)
	if err == nil {
		return nil
	}
	if status.Code(err) == codes.InvalidArgument {
		if m, gerr := w.c.client.GetWorkspaceUser(ctx, wsID, userID); gerr == nil && m.HasRole() && m.Role.ID == roleID {
			return nil
		}
	}
	if isNotFound(err) {
		return status.Errorf(codes.NotFound, "baton-trayai: add %s to workspace %s: the user or workspace no longer exists in Tray.ai; run a sync", userID, wsID)
	}
	return fmt.Errorf("baton-trayai: add %s to workspace %s: %w", userID, wsID, err)
}

// Revoke removes a user from the workspace: for `member` always, for a
// role entitlement only if that is the role they hold.
func (w *workspaceSyncer) Revoke(ctx context.Context, g *v2.Grant) (annotations.Annotations, error) {
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
	switch {
	case isNotFound(err):
		return annotations.New(&v2.GrantAlreadyRevoked{}), nil
	case err != nil:
		return nil, fmt.Errorf("baton-trayai: get workspace %s: %w", wsID, err)
	}
	if ws.Type == client.WorkspaceTypeOrganization {
		return nil, status.Errorf(codes.FailedPrecondition,
			"baton-trayai: every organization user is a member of the Organization workspace %s: delete the account to remove them", ws.Name)
	}
	current, err := w.c.client.GetWorkspaceUser(ctx, wsID, userID)
	switch {
	case isNotFound(err):
		return annotations.New(&v2.GrantAlreadyRevoked{}), nil
	case err != nil:
		return nil, fmt.Errorf("baton-trayai: check membership of %s in workspace %s: %w", userID, wsID, err)
	}
	if slug != memberSlug && (!current.HasRole() || current.Role.ID != slug) {
		// They hold another role: this grant no longer exists.
		return annotations.New(&v2.GrantAlreadyRevoked{}), nil
	}
	err = w.c.client.RemoveWorkspaceUser(ctx, wsID, userID)
	switch {
	case isNotFound(err):
		return annotations.New(&v2.GrantAlreadyRevoked{}), nil
	case err != nil:
		return nil, fmt.Errorf("baton-trayai: remove %s from workspace %s: %w", userID, wsID, err)
	}
	return nil, nil
}

type workspaceTarget struct {
	ws     client.Workspace
	roles  []client.Role
	member bool
	role   client.Role
}

// resolveWorkspaceEntitlement reads the workspace and its roles fresh from
// Tray and checks the entitlement still means something there.
func (w *workspaceSyncer) resolveWorkspaceEntitlement(ctx context.Context, e *v2.Entitlement) (workspaceTarget, error) {
	wsRes := e.GetResource()
	if wsRes.GetId().GetResourceType() != workspaceTypeID {
		return workspaceTarget{}, status.Errorf(codes.InvalidArgument, "baton-trayai: entitlement %s is not a workspace entitlement", e.GetId())
	}
	slug, err := entitlementSlug(e)
	if err != nil {
		return workspaceTarget{}, err
	}
	wsID := wsRes.GetId().GetResource()
	ws, err := w.c.client.GetWorkspace(ctx, wsID)
	if isNotFound(err) {
		return workspaceTarget{}, status.Errorf(codes.NotFound, "baton-trayai: workspace %s no longer exists in Tray.ai; run a sync", wsID)
	}
	if err != nil {
		return workspaceTarget{}, fmt.Errorf("baton-trayai: get workspace %s: %w", wsID, err)
	}
	if ws.Type == client.WorkspaceTypeOrganization {
		return workspaceTarget{}, status.Errorf(codes.FailedPrecondition,
			"baton-trayai: membership of the Organization workspace %s follows organization membership: grant an organization role or create the account instead", ws.Name)
	}
	roles, err := w.c.allWorkspaceRoles(ctx, wsID)
	if err != nil {
		return workspaceTarget{}, err
	}
	t := workspaceTarget{ws: ws, roles: roles, member: slug == memberSlug}
	if !t.member {
		found := false
		for _, r := range roles {
			if r.ID == slug {
				t.role, found = r, true
			}
		}
		if !found {
			return workspaceTarget{}, status.Errorf(codes.NotFound,
				"baton-trayai: role %s no longer exists in workspace %s; run a sync to refresh its entitlements", slug, ws.Name)
		}
	}
	return t, nil
}

// allWorkspaceRoles lists a workspace's roles without the sync cache.
func (c *Connector) allWorkspaceRoles(ctx context.Context, wsID string) ([]client.Role, error) {
	roles, err := allPages(func(cursor string) (client.Page[client.Role], error) {
		return c.client.ListWorkspaceRoles(ctx, wsID, cursor)
	})
	if err != nil {
		return nil, fmt.Errorf("baton-trayai: list workspace roles %s: %w", wsID, err)
	}
	return roles, nil
}

// allPages collects every element of a short listing (roles: a handful).
// Long listings are never collected: they page through the SDK instead.
func allPages[T any](fetch func(cursor string) (client.Page[T], error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		page, err := fetch(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Elements...)
		if cursor = page.NextCursor(); cursor == "" {
			return out, nil
		}
	}
}

// entitlementSlug is the part of the entitlement id after
// "<resource type>:<resource id>:", which is how the SDK builds it.
func entitlementSlug(e *v2.Entitlement) (string, error) {
	prefix := ent.NewEntitlementID(e.GetResource(), "")
	slug, ok := strings.CutPrefix(e.GetId(), prefix)
	if !ok || slug == "" {
		return "", status.Errorf(codes.InvalidArgument, "baton-trayai: entitlement id %q does not belong to resource %s", e.GetId(), e.GetResource().GetId().GetResource())
	}
	return slug, nil
}

func slugOf(t workspaceTarget, role client.Role) string {
	if t.member {
		return memberSlug
	}
	return role.ID
}

// userPrincipal checks a principal is a user before any API call.
func userPrincipal(id *v2.ResourceId) (string, error) {
	if id.GetResourceType() != userTypeID || id.GetResource() == "" {
		return "", status.Errorf(codes.InvalidArgument,
			"baton-trayai: only users can hold Tray.ai roles and workspace memberships, got a %q principal", id.GetResourceType())
	}
	return id.GetResource(), nil
}

// findRole finds a role by id or, case-insensitively, by name.
func findRole(roles []client.Role, nameOrID string) (client.Role, error) {
	for _, r := range roles {
		if r.ID == nameOrID {
			return r, nil
		}
	}
	for _, r := range roles {
		if strings.EqualFold(r.Name, nameOrID) {
			return r, nil
		}
	}
	return client.Role{}, status.Errorf(codes.NotFound, "role %q not found", nameOrID)
}

func roleNames(roles []client.Role) string {
	names := make([]string, 0, len(roles))
	for _, r := range roles {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}
