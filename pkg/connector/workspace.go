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
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// workspaceSyncer syncs workspaces, their roles and their members, and
// adds, changes and removes members (workspace_provisioning.go).
type workspaceSyncer struct {
	client *client.Client
	syncs  *syncs
	guard  *guard
	// workspaceTypes are the types --workspace-types syncs.
	workspaceTypes map[client.WorkspaceType]bool
	// defaultRole is the role, by name or id, a `member` grant gives.
	defaultRole string
	// implicitAccess is true when the sync records the Admin role
	// organization Owners and Admins hold in every workspace
	// (implicit_access.go).
	implicitAccess bool
	// usersSynced is true when the sync includes users, the principals of
	// every workspace grant.
	usersSynced bool
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
// workspaces. Tray's workspaces have no parent.
func (w *workspaceSyncer) List(ctx context.Context, parent *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	if parent != nil {
		return nil, nil, nil
	}
	st := w.syncs.state(ctx, opts.SyncID)
	page, err := w.client.ListWorkspaces(ctx, opts.PageToken.Token)
	if err != nil {
		return nil, nil, wrapf(err, "list workspaces")
	}
	out := make([]*v2.Resource, 0, len(page.Elements))
	for _, ws := range page.Elements {
		if ws.Type == client.WorkspaceTypeOrganization {
			st.keepOrganizationWorkspace(orgWorkspace{id: ws.ID, name: ws.Name, found: true})
		}
		if !w.workspaceTypes[ws.Type] {
			continue
		}
		res, err := workspaceResource(ws)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, res)
	}
	next := page.NextCursor()
	st.listedWorkspaces(len(out), next == "")
	st.stats.page(logger(ctx), listingWorkspaces, len(out), next == "")
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// Get returns one workspace as Tray.ai has it now, for a targeted sync. A
// workspace that no longer exists, or of a type --workspace-types leaves
// out, is NotFound, which the SDK skips.
func (w *workspaceSyncer) Get(ctx context.Context, id *v2.ResourceId, _ *v2.ResourceId) (*v2.Resource, annotations.Annotations, error) {
	ws, err := w.client.GetWorkspace(ctx, id.GetResource())
	if status.Code(err) == codes.NotFound {
		return nil, nil, errorf(codes.NotFound, "workspace %s does not exist in Tray.ai", id.GetResource())
	}
	if err != nil {
		return nil, nil, wrapf(err, "get workspace %s", id.GetResource())
	}
	if !w.workspaceTypes[ws.Type] {
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

		legacyProfileWorkspaceID:          ws.ID,
		legacyProfileWorkspaceName:        ws.Name,
		legacyProfileWorkspaceType:        string(ws.Type),
		legacyProfileWorkspaceDescription: ws.Description,
		legacyProfileWorkspaceTaskLimit:   int64(0),
	}
	if ws.MonthlyTaskLimit != nil {
		profile[profileTaskLimit] = *ws.MonthlyTaskLimit
		profile[legacyProfileWorkspaceTaskLimit] = *ws.MonthlyTaskLimit
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
// id ends in the role's id (stable; names can change) and whose slug is
// the role's name, as the earlier connector showed it. The Organization
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
	st := w.syncs.state(ctx, opts.SyncID)
	roles, err := w.workspaceRoles(ctx, st, res.GetId().GetResource(), wsName)
	if err != nil {
		return nil, nil, err
	}
	for _, role := range roles.roles {
		out = append(out, w.workspaceRoleEntitlement(res, role))
	}
	st.stats.page(logger(ctx), listingWorkspaceEntitlements, len(out), false)
	return out, nil, nil
}

// workspaceRoleEntitlement is a workspace role's entitlement. Its id is
// keyed by the role's id; its slug, display name and description read as
// the earlier Tray.ai connector's did (docs/migrating.md), so that an
// organization moving to this connector sees the same entitlements.
func (w *workspaceSyncer) workspaceRoleEntitlement(res *v2.Resource, role client.Role) *v2.Entitlement {
	wsName := res.GetDisplayName()
	roleName := roleDisplayName(role.Name, role.ID)
	desc := fmt.Sprintf("%s access to %s in tray.ai", roleName, wsName)
	if isAdminRole(role) && w.implicitAccess {
		desc += ". Organization Owners and Admins hold it in every workspace through their organization role, which is where their access is revoked"
	}
	e := ent.NewAssignmentEntitlement(res, role.ID,
		ent.WithGrantableTo(userResourceType),
		ent.WithDisplayName(fmt.Sprintf("%s workspace %s", wsName, roleName)),
		ent.WithDescription(desc),
		// One role per member per workspace.
		ent.WithExclusionGroupOrder("trayai-workspace-role:"+res.GetId().GetResource(), rankOf(role.Name)),
	)
	// The slug is only shown: provisioning reads the role id from the
	// entitlement's id (entitlementKey), never from the slug.
	e.SetSlug(roleName)
	return e
}

// workspaceRoles returns a workspace's roles, once per sync. A 403 is
// remembered as "forbidden" so the sync goes on without this workspace's
// role entitlements.
func (w *workspaceSyncer) workspaceRoles(ctx context.Context, st *syncState, workspaceID, workspaceName string) (workspaceRoles, error) {
	if r, ok := st.workspaceRoles(workspaceID); ok {
		return r, nil
	}
	all, err := allWorkspaceRoles(ctx, w.client, workspaceID)
	var r workspaceRoles
	switch {
	case status.Code(err) == codes.PermissionDenied:
		skipWorkspace(ctx, st, workspaceID, workspaceName, "roles", err)
		r = workspaceRoles{forbidden: true}
	case err != nil:
		return workspaceRoles{}, err
	default:
		r = workspaceRoles{roles: all}
	}
	st.keepWorkspaceRoles(workspaceID, r)
	return r, nil
}

// skipWorkspace records and logs a workspace the token may not read.
func skipWorkspace(ctx context.Context, st *syncState, workspaceID, workspaceName, what string, err error) {
	st.stats.skip(workspaceID, what)
	logger(ctx).Warn("skipping workspace the API user may not read; give the API user the Admin organization role (or Admin in this workspace) to include it",
		zap.String("workspace_id", workspaceID), zap.String("workspace", workspaceName), zap.String("listing", what), zap.Error(err))
}

// Grants returns one page of a workspace's grants: its members' (or, for
// the Organization workspace, organization_workspace.go's) and, on the
// first page, the Admin role organization Owners and Admins hold. After
// the workspace's last page the sync counts it done.
func (w *workspaceSyncer) Grants(ctx context.Context, res *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	st := w.syncs.state(ctx, opts.SyncID)
	grants := w.memberGrants
	if workspaceTypeOf(res) == client.WorkspaceTypeOrganization {
		grants = w.organizationMembers
	}
	out, next, err := grants(ctx, st, res, opts)
	if err != nil {
		return nil, nil, err
	}
	if next == "" {
		st.workspaceGrantsDone(ctx)
		return out, nil, nil
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// memberGrants returns one page of a shared (or embedded, or personal)
// workspace's members: `member` for each, and the entitlement of their
// role. Members whose list item lacks the role are looked up, for this
// page only. A workspace whose members the token may not read is skipped,
// not emptied.
func (w *workspaceSyncer) memberGrants(ctx context.Context, st *syncState, res *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, string, error) {
	wsID := res.GetId().GetResource()
	roles, err := w.workspaceRoles(ctx, st, wsID, res.GetDisplayName())
	if err != nil {
		return nil, "", err
	}
	page, err := w.client.ListWorkspaceUsers(ctx, wsID, opts.PageToken.Token)
	if status.Code(err) == codes.PermissionDenied {
		// Not "no members": the workspace is reported as skipped.
		skipWorkspace(ctx, st, wsID, res.GetDisplayName(), "members", err)
		return nil, "", nil
	}
	if err != nil {
		return nil, "", wrapf(err, "list workspace users %s", wsID)
	}
	members, err := completeMembers(ctx, w.client, st.members, wsID, page.Elements)
	if err != nil {
		return nil, "", err
	}
	out := make([]*v2.Grant, 0, 2*len(members)+2)
	if opts.PageToken.Token == "" && w.implicitAccess {
		implicit, err := implicitAdminGrants(ctx, w.client, st, res, roles)
		if err != nil {
			return nil, "", err
		}
		out = append(out, implicit...)
	}
	out = append(out, membersGrants(ctx, res, roles, members)...)
	st.stats.page(logger(ctx), listingWorkspaceGrants, len(out), false)
	return out, page.NextCursor(), nil
}

// membersGrants are the grants of a page of members: `member`, and the
// role each holds if the workspace's role listing knows it.
func membersGrants(ctx context.Context, res *v2.Resource, roles workspaceRoles, members []client.WorkspaceUser) []*v2.Grant {
	wsID := res.GetId().GetResource()
	known := map[string]bool{}
	for _, r := range roles.roles {
		known[r.ID] = true
	}
	out := make([]*v2.Grant, 0, 2*len(members))
	for _, m := range members {
		principal := userResourceID(m.ID)
		out = append(out, grant.NewGrant(res, memberSlug, principal))
		switch {
		case !m.HasRole():
			logger(ctx).Warn("Tray.ai returned a member without a workspace role; only the membership is recorded",
				zap.String("workspace_id", wsID), zap.String("user_id", m.ID))
		case known[m.Role.ID]:
			out = append(out, grant.NewGrant(res, m.Role.ID, principal))
		case !roles.forbidden:
			logger(ctx).Warn("member holds a workspace role the role listing did not return; the role grant is left out",
				zap.String("workspace_id", wsID), zap.String("user_id", m.ID), zap.String("role_id", m.Role.ID))
		}
	}
	return out
}
