package connector

import (
	"context"
	"fmt"
	"strings"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	ent "github.com/conductorone/baton-sdk/pkg/types/entitlement"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
)

// orgRoleExclusionGroup makes the org-role entitlements mutually exclusive
// across role resources: a Tray user holds exactly one organization role.
const orgRoleExclusionGroup = "trayai-org-role"

type roleSyncer struct {
	c *Connector
}

var (
	_ connectorbuilder.ResourceSyncerV2             = (*roleSyncer)(nil)
	_ connectorbuilder.ResourceProvisionerV2Limited = (*roleSyncer)(nil)
)

func (r *roleSyncer) ResourceType(context.Context) *v2.ResourceType { return roleResourceType }

// List returns one page of organization roles.
func (r *roleSyncer) List(ctx context.Context, parent *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	page, ok, err := syncPage(ctx, r.c, parent, opts, "organization roles", r.c.client.ListOrgRoles)
	if !ok {
		return nil, nil, err
	}
	out := make([]*v2.Resource, 0, len(page.Elements))
	for _, role := range page.Elements {
		res, err := rs.NewRoleResource(roleDisplayName(role.Name, role.ID), roleResourceType, role.ID, nil,
			rs.WithDescription(fmt.Sprintf("Tray.ai organization role %s", roleDisplayName(role.Name, role.ID))),
			rs.WithResourceProfile(map[string]any{"id": role.ID, "name": role.Name}))
		if err != nil {
			return nil, nil, wrapf(err, "build role %s", role.ID)
		}
		out = append(out, res)
	}
	next := page.NextCursor()
	r.c.stats.page(logger(ctx), "organization roles", len(out), next == "")
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// Entitlements: each role has one assignment entitlement. The fallback role
// is the group's default: revoking any other role moves the user to it.
func (r *roleSyncer) Entitlements(_ context.Context, res *v2.Resource, _ rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	name := res.GetDisplayName()
	group := ent.WithExclusionGroupOrder(orgRoleExclusionGroup, rankOf(name))
	if strings.EqualFold(name, r.c.settings.FallbackOrgRole) {
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

// Grants: role grants come from the user syncer, which already has every
// user's role; listing users again per role would cost a request per page.
func (r *roleSyncer) Grants(context.Context, *v2.Resource, rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	return nil, nil, nil
}

func roleResourceID(roleID string) *v2.ResourceId {
	return v2.ResourceId_builder{ResourceType: roleTypeID, Resource: roleID}.Build()
}

func orgRoleGrant(roleID string, principal *v2.ResourceId) *v2.Grant {
	role := v2.Resource_builder{Id: roleResourceID(roleID)}.Build()
	return grant.NewGrant(role, roleAssignedSlug, principal)
}
