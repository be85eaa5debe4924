package connector

import (
	"context"
	"fmt"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	ent "github.com/conductorone/baton-sdk/pkg/types/entitlement"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// Profile keys of a workspace resource.
const (
	profileWorkspaceID   = "id"
	profileWorkspaceType = "type"
	profileDescription   = "description"
	profileTaskLimit     = "monthly_task_limit"
)

type workspaceSyncer struct {
	c *Connector
}

var (
	_ connectorbuilder.ResourceSyncerV2              = (*workspaceSyncer)(nil)
	_ connectorbuilder.ResourceProvisionerV2Limited  = (*workspaceSyncer)(nil)
	_ connectorbuilder.ResourceTargetedSyncerLimited = (*workspaceSyncer)(nil)
)

func (w *workspaceSyncer) ResourceType(context.Context) *v2.ResourceType {
	return workspaceResourceType
}

// List returns one page of workspaces of the configured types. The type
// filter is applied here rather than sent to Tray: how Tray serializes the
// type parameter is undocumented, and a misread filter would silently drop
// workspaces.
func (w *workspaceSyncer) List(ctx context.Context, parent *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	page, ok, err := syncPage(ctx, w.c, parent, opts, "workspaces", w.c.client.ListWorkspaces)
	if !ok {
		return nil, nil, err
	}
	out := make([]*v2.Resource, 0, len(page.Elements))
	for _, ws := range page.Elements {
		if ws.Type == client.WorkspaceTypeOrganization {
			w.c.cache.with(opts.SyncID, func(s *syncState) { s.orgWS = &orgWorkspace{id: ws.ID, name: ws.Name, found: true} })
		}
		if !w.c.settings.WorkspaceTypes[ws.Type] {
			continue
		}
		res, err := workspaceResource(ws)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, res)
	}
	next := page.NextCursor()
	if next == "" {
		// The listing is over: a token that saw no Organization workspace sees none.
		w.c.cache.with(opts.SyncID, func(s *syncState) {
			if s.orgWS == nil {
				s.orgWS = &orgWorkspace{}
			}
		})
	}
	w.c.stats.page(logger(ctx), "workspaces", len(out), next == "")
	w.c.stats.workspacesFound(len(out), next == "")
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// Get returns one workspace as Tray.ai has it now, for a targeted sync. A
// workspace that no longer exists, or of a type --workspace-types leaves
// out, is NotFound, which the SDK skips.
func (w *workspaceSyncer) Get(ctx context.Context, id *v2.ResourceId, _ *v2.ResourceId) (*v2.Resource, annotations.Annotations, error) {
	ws, err := w.c.client.GetWorkspace(ctx, id.GetResource())
	if err != nil {
		return nil, nil, fetched(err, "workspace", id.GetResource())
	}
	if !w.c.settings.WorkspaceTypes[ws.Type] {
		return nil, nil, errorf(codes.NotFound, "workspace %s is a %s workspace, which --workspace-types leaves out of syncs", ws.Name, ws.Type)
	}
	res, err := workspaceResource(ws)
	return res, nil, err
}

func workspaceResource(ws client.Workspace) (*v2.Resource, error) {
	profile := map[string]any{
		profileWorkspaceID:   ws.ID,
		profileWorkspaceType: string(ws.Type),
		profileDescription:   ws.Description,
	}
	if ws.MonthlyTaskLimit != nil {
		profile[profileTaskLimit] = *ws.MonthlyTaskLimit
	}
	opts := []rs.ResourceOption{rs.WithResourceProfile(profile)}
	desc := ws.Description
	if desc == "" {
		desc = fmt.Sprintf("Tray.ai %s workspace", ws.Type)
	}
	opts = append(opts, rs.WithDescription(desc))
	name := ws.Name
	if name == "" {
		name = ws.ID
	}
	res, err := rs.NewGroupResource(name, workspaceResourceType, ws.ID,
		[]rs.GroupTraitOption{rs.WithGroupSourceType(rs.GroupSourceTypeNative)}, opts...)
	if err != nil {
		return nil, wrapf(err, "build workspace %s", ws.ID)
	}
	return res, nil
}

func workspaceTypeOf(r *v2.Resource) client.WorkspaceType {
	t, _ := rs.GetProfileStringValue(rs.GetProfile(r), profileWorkspaceType)
	return client.WorkspaceType(t)
}

// Entitlements: `member`, plus one entitlement per workspace role, whose
// slug is the role's id (stable; names can change). The Organization
// workspace has only `member`: roles there are the organization roles.
func (w *workspaceSyncer) Entitlements(ctx context.Context, res *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	wsName := res.GetDisplayName()
	out := []*v2.Entitlement{ent.NewAssignmentEntitlement(res, memberSlug,
		ent.WithGrantableTo(userResourceType),
		ent.WithDisplayName(fmt.Sprintf("Member of workspace %s", wsName)),
		ent.WithDescription(fmt.Sprintf("Is a member of the Tray.ai workspace %s, with any workspace role", wsName)),
	)}
	if workspaceTypeOf(res) == client.WorkspaceTypeOrganization {
		return out, nil, nil
	}
	roles, err := w.c.workspaceRoles(ctx, opts.SyncID, res.GetId().GetResource(), wsName)
	if err != nil {
		return nil, nil, err
	}
	for _, role := range roles.roles {
		out = append(out, w.c.workspaceRoleEntitlement(res, role))
	}
	w.c.stats.page(logger(ctx), "workspace entitlements", len(out), false)
	return out, nil, nil
}

func (c *Connector) workspaceRoleEntitlement(res *v2.Resource, role client.Role) *v2.Entitlement {
	wsName := res.GetDisplayName()
	roleName := roleDisplayName(role.Name, role.ID)
	desc := fmt.Sprintf("Holds the %s role in the Tray.ai workspace %s", roleName, wsName)
	if isAdminRole(role) && c.implicitAccess() {
		desc += ". Organization Owners and Admins hold it in every workspace through their organization role, which is where their access is revoked"
	}
	return ent.NewAssignmentEntitlement(res, role.ID,
		ent.WithGrantableTo(userResourceType),
		ent.WithDisplayName(fmt.Sprintf("%s in workspace %s", roleName, wsName)),
		ent.WithDescription(desc),
		// One role per member per workspace.
		ent.WithExclusionGroupOrder("trayai-workspace-role:"+res.GetId().GetResource(), rankOf(role.Name)),
	)
}

// workspaceRoles returns a workspace's roles, once per sync. A 403 is
// remembered as "forbidden" so the sync goes on without this workspace's
// role entitlements.
func (c *Connector) workspaceRoles(ctx context.Context, syncID, workspaceID, workspaceName string) (workspaceRoles, error) {
	var r workspaceRoles
	var cached bool
	c.cache.with(syncID, func(s *syncState) { r, cached = s.roles[workspaceID] })
	if cached {
		return r, nil
	}
	all, err := c.allWorkspaceRoles(ctx, workspaceID)
	switch {
	case isForbidden(err):
		c.skipWorkspace(ctx, workspaceID, workspaceName, "roles", err)
		r = workspaceRoles{forbidden: true}
	case err != nil:
		return workspaceRoles{}, err
	default:
		r = workspaceRoles{roles: all}
	}
	c.cache.with(syncID, func(s *syncState) { s.roles[workspaceID] = r })
	return r, nil
}

func (c *Connector) skipWorkspace(ctx context.Context, workspaceID, workspaceName, what string, err error) {
	c.stats.skip(workspaceID, what)
	logger(ctx).Warn("baton-trayai: skipping workspace the API user may not read; give the API user the Admin organization role (or Admin in this workspace) to include it",
		zap.String("workspace_id", workspaceID), zap.String("workspace", workspaceName), zap.String("listing", what), zap.Error(err))
}

// Grants returns one page of a workspace's members: `member` for each, and
// the entitlement of their role. Members whose list item lacks the role are
// looked up, for this page only.
func (w *workspaceSyncer) Grants(ctx context.Context, res *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	if workspaceTypeOf(res) == client.WorkspaceTypeOrganization {
		return w.organizationMembers(ctx, res, opts)
	}
	wsID := res.GetId().GetResource()
	roles, err := w.c.workspaceRoles(ctx, opts.SyncID, wsID, res.GetDisplayName())
	if err != nil {
		return nil, nil, err
	}
	page, err := w.c.client.ListWorkspaceUsers(ctx, wsID, opts.PageToken.Token)
	if isForbidden(err) {
		// Not "no members": the workspace is reported as skipped.
		w.c.skipWorkspace(ctx, wsID, res.GetDisplayName(), "members", err)
		w.c.stats.workspaceDone(logger(ctx))
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, wrapf(err, "list workspace users %s", wsID)
	}
	members, err := w.c.completeMembers(ctx, opts.SyncID, wsID, page.Elements)
	if err != nil {
		return nil, nil, err
	}
	known := map[string]bool{}
	for _, r := range roles.roles {
		known[r.ID] = true
	}
	out := make([]*v2.Grant, 0, 2*len(members)+2)
	if opts.PageToken.Token == "" {
		implicit, err := w.c.implicitAdminGrants(ctx, opts.SyncID, res, roles)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, implicit...)
	}
	for _, m := range members {
		principal := v2.ResourceId_builder{ResourceType: userTypeID, Resource: m.ID}.Build()
		out = append(out, grant.NewGrant(res, memberSlug, principal))
		switch {
		case !m.HasRole():
			logger(ctx).Warn("baton-trayai: Tray.ai returned a member without a workspace role; only the membership is recorded",
				zap.String("workspace_id", wsID), zap.String("user_id", m.ID))
		case known[m.Role.ID]:
			out = append(out, grant.NewGrant(res, m.Role.ID, principal))
		case !roles.forbidden:
			logger(ctx).Warn("baton-trayai: member holds a workspace role the role listing did not return; the role grant is left out",
				zap.String("workspace_id", wsID), zap.String("user_id", m.ID), zap.String("role_id", m.Role.ID))
		}
	}
	next := page.NextCursor()
	w.c.stats.page(logger(ctx), "workspace grants", len(out), false)
	if next == "" {
		w.c.stats.workspaceDone(logger(ctx))
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// organizationMembers: every organization user is a member of the
// Organization workspace. In a sync that listed the users, the user syncer
// emits those grants from its roster; in a targeted sync of this workspace
// they come from the users listed here.
func (w *workspaceSyncer) organizationMembers(ctx context.Context, res *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	if opts.PageToken.Token == "" && (w.c.usersListedAll(opts.SyncID) || !w.c.willSync(userTypeID)) {
		w.c.stats.workspaceDone(logger(ctx))
		return nil, nil, nil
	}
	entries, next, err := w.c.rosterPage(ctx, opts.SyncID, opts.PageToken.Token)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*v2.Grant, 0, len(entries))
	for _, e := range entries {
		out = append(out, memberGrant(res.GetId().GetResource(), v2.ResourceId_builder{ResourceType: userTypeID, Resource: e.userID}.Build()))
	}
	if next == "" {
		w.c.stats.workspaceDone(logger(ctx))
		return out, nil, nil
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// completeMembers fills in the role of members whose list item lacks it.
// A member who left between the listing and the lookup is dropped.
func (c *Connector) completeMembers(ctx context.Context, syncID, workspaceID string, items []client.WorkspaceUser) ([]client.WorkspaceUser, error) {
	key := func(m client.WorkspaceUser) string { return "member:" + workspaceID + ":" + m.ID }
	return fillIn(ctx, c.cache, syncID, items, key, client.WorkspaceUser.HasRole, func(ctx context.Context, item client.WorkspaceUser) (client.WorkspaceUser, error) {
		full, err := c.client.GetWorkspaceUser(ctx, workspaceID, item.ID)
		if err != nil && !isNotFound(err) {
			err = wrapf(err, "get workspace user %s in %s", item.ID, workspaceID)
		}
		item.Role = full.Role
		return item, err
	})
}

func memberGrant(workspaceID string, principal *v2.ResourceId) *v2.Grant {
	ws := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: workspaceTypeID, Resource: workspaceID}.Build()}.Build()
	return grant.NewGrant(ws, memberSlug, principal)
}
