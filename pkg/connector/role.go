package connector

import (
	"context"
	"fmt"
	"strings"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	ent "github.com/conductorone/baton-sdk/pkg/types/entitlement"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// orgRoleExclusionGroup makes the org-role entitlements mutually exclusive
// across role resources: a Tray user holds exactly one organization role.
const orgRoleExclusionGroup = "trayai-org-role"

// roleSyncer syncs the organization roles and sets users' organization
// role (role_provisioning.go).
type roleSyncer struct {
	client *client.Client
	syncs  *syncs
	guard  *guard
	// fallbackOrgRole is the role, by name or id, a revoke moves a user to.
	fallbackOrgRole string
}

var (
	_ connectorbuilder.ResourceSyncerV2              = (*roleSyncer)(nil)
	_ connectorbuilder.ResourceProvisionerV2Limited  = (*roleSyncer)(nil)
	_ connectorbuilder.ResourceTargetedSyncerLimited = (*roleSyncer)(nil)
)

func (r *roleSyncer) ResourceType(context.Context) *v2.ResourceType { return roleResourceType }

// List returns one page of organization roles. Tray's roles have no parent.
func (r *roleSyncer) List(ctx context.Context, parent *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	if parent != nil {
		return nil, nil, nil
	}
	st := r.syncs.state(ctx, opts.SyncID)
	page, err := r.client.ListOrgRoles(ctx, opts.PageToken.Token)
	if err != nil {
		return nil, nil, wrapf(err, "list organization roles")
	}
	out := make([]*v2.Resource, 0, len(page.Elements))
	for _, role := range page.Elements {
		res, err := roleResource(role)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, res)
	}
	next := page.NextCursor()
	st.listedOrgRoles(opts.PageToken.Token == "", next == "", page.Elements)
	st.stats.page(logger(ctx), listingOrgRoles, len(out), next == "")
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// Get returns one organization role as Tray.ai has it now, for a targeted
// sync; a role that no longer exists is NotFound, which the SDK skips.
func (r *roleSyncer) Get(ctx context.Context, id *v2.ResourceId, _ *v2.ResourceId) (*v2.Resource, annotations.Annotations, error) {
	roles, err := allOrgRoles(ctx, r.client)
	if err != nil {
		return nil, nil, err
	}
	role, ok := roleByID(roles, id.GetResource())
	if !ok {
		return nil, nil, errorf(codes.NotFound, "organization role %s does not exist in Tray.ai", id.GetResource())
	}
	res, err := roleResource(role)
	return res, nil, err
}

func roleResource(role client.Role) (*v2.Resource, error) {
	name := roleDisplayName(role.Name, role.ID)
	res, err := rs.NewRoleResource(name, roleResourceType, role.ID, nil,
		rs.WithDescription("Tray.ai organization role "+name),
		rs.WithResourceProfile(map[string]any{profileRoleID: role.ID, profileRoleName: role.Name}))
	if err != nil {
		return nil, wrapf(err, "build role %s", role.ID)
	}
	return res, nil
}

func roleResourceID(roleID string) *v2.ResourceId {
	return v2.ResourceId_builder{ResourceType: roleTypeID, Resource: roleID}.Build()
}

// Entitlements: each role has one assignment entitlement. The fallback role
// is the group's default: revoking any other role moves the user to it.
func (r *roleSyncer) Entitlements(_ context.Context, res *v2.Resource, _ rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	name := res.GetDisplayName()
	group := ent.WithExclusionGroupOrder(orgRoleExclusionGroup, rankOf(name))
	if strings.EqualFold(name, r.fallbackOrgRole) {
		group = ent.WithExclusionGroupDefault(orgRoleExclusionGroup, rankOf(name))
	}
	e := ent.NewAssignmentEntitlement(res, roleAssignedSlug,
		ent.WithGrantableTo(userResourceType),
		ent.WithDisplayName(fmt.Sprintf("%s organization role", name)),
		ent.WithDescription(fmt.Sprintf("Holds the %s organization role in Tray.ai", name)),
		group,
	)
	return []*v2.Entitlement{e}, nil, nil
}

// Grants: a role's holders, when the user syncer does not emit them (see
// roster.go): in a targeted sync of this role, or a sync resumed after a
// restart, the role lists its holders from Tray itself, page by page.
func (r *roleSyncer) Grants(ctx context.Context, res *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	st := r.syncs.state(ctx, opts.SyncID)
	if opts.PageToken.Token == "" && st.listedAllUsers() {
		return nil, nil, nil
	}
	entries, next, err := rosterPage(ctx, r.client, st, opts.PageToken.Token)
	if err != nil {
		return nil, nil, err
	}
	roleID := res.GetId().GetResource()
	var out []*v2.Grant
	for _, e := range entries {
		if e.orgRoleID == roleID {
			out = append(out, orgRoleGrant(roleID, userResourceID(e.userID)))
		}
	}
	if next == "" {
		return out, nil, nil
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}
