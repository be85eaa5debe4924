package connector

import (
	"context"
	"fmt"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"go.uber.org/zap"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// Profile keys of a user resource. Grants and provisioning read them back.
const (
	profileUserID      = "id"
	profileEmail       = "email"
	profileName        = "name"
	profileAccountType = "account_type"
	profileOrgRoleID   = "org_role_id"
	profileOrgRoleName = "org_role_name"
)

// detailConcurrency bounds per-item GETs in flight for one page. The shared
// rate limiter, not this number, sets the pace; it only has to be large
// enough to hide request latency.
const detailConcurrency = 8

type userSyncer struct {
	c *Connector
}

var (
	_ connectorbuilder.ResourceSyncerV2         = (*userSyncer)(nil)
	_ connectorbuilder.AccountManagerLimited    = (*userSyncer)(nil)
	_ connectorbuilder.ResourceDeleterV2Limited = (*userSyncer)(nil)
)

func (u *userSyncer) ResourceType(context.Context) *v2.ResourceType { return userResourceType }

// List returns one page of users. Where the list item lacks email, account
// type or role, that user's details are fetched, for this page only.
func (u *userSyncer) List(ctx context.Context, parent *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	if parent != nil {
		return nil, nil, nil
	}
	u.c.observeSync(ctx, opts.SyncID)
	page, err := u.c.client.ListUsers(ctx, opts.PageToken.Token)
	if err != nil {
		return nil, nil, fmt.Errorf("baton-trayai: list users: %w", err)
	}
	users, err := u.c.completeUsers(ctx, page.Elements)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*v2.Resource, 0, len(users))
	for _, usr := range users {
		r, err := userResource(usr)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	next := page.NextCursor()
	u.c.stats.page(logger(ctx), "users", len(out), next == "")
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// completeUsers fills in users whose list item lacks details. A user that
// disappears between the list and the GET is dropped: it no longer exists.
func (c *Connector) completeUsers(ctx context.Context, items []client.User) ([]client.User, error) {
	out := make([]client.User, len(items))
	gone := make([]bool, len(items))
	err := forEachConcurrently(ctx, len(items), detailConcurrency, func(ctx context.Context, i int) error {
		if items[i].HasDetails() {
			out[i] = items[i]
			return nil
		}
		full, err := c.client.GetUser(ctx, items[i].ID)
		switch {
		case isNotFound(err):
			gone[i] = true
			return nil
		case err != nil:
			return fmt.Errorf("baton-trayai: get user %s: %w", items[i].ID, err)
		}
		if full.Name == "" {
			full.Name = items[i].Name
		}
		out[i] = full
		return nil
	})
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for i := range out {
		if !gone[i] {
			kept = append(kept, out[i])
		}
	}
	return kept, nil
}

// Entitlements: users have none.
func (u *userSyncer) Entitlements(context.Context, *v2.Resource, rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	return nil, nil, nil
}

// Grants emits, from the user's profile and without any request, the grant
// of the user's organization role and their membership of the Organization
// workspace (every org user is in it; Tray governs it with org roles).
func (u *userSyncer) Grants(ctx context.Context, r *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	profile := rs.GetProfile(r)
	var out []*v2.Grant
	if roleID, ok := rs.GetProfileStringValue(profile, profileOrgRoleID); ok && roleID != "" && u.c.willSync(roleTypeID) {
		out = append(out, orgRoleGrant(roleID, r.GetId()))
	}
	if u.c.willSync(workspaceTypeID) && u.c.settings.WorkspaceTypes[client.WorkspaceTypeOrganization] {
		org, err := u.c.organizationWorkspace(ctx, opts.SyncID)
		if err != nil {
			return nil, nil, err
		}
		if org.found {
			out = append(out, memberGrant(org.id, r.GetId()))
		}
	}
	return out, nil, nil
}

func userResource(u client.User) (*v2.Resource, error) {
	name := u.Name
	if name == "" {
		name = u.Email
	}
	if name == "" {
		name = u.ID
	}
	traits := []rs.UserTraitOption{rs.WithAccountType(accountType(u.AccountType))}
	if u.Email != "" {
		traits = append(traits, rs.WithEmail(u.Email, true), rs.WithUserLogin(u.Email))
	}
	profile := map[string]any{
		profileUserID:      u.ID,
		profileName:        u.Name,
		profileEmail:       u.Email,
		profileAccountType: string(u.AccountType),
	}
	if u.Role != nil {
		profile[profileOrgRoleID] = u.Role.ID
		profile[profileOrgRoleName] = u.Role.Name
	}
	r, err := rs.NewUserResource(name, userResourceType, u.ID, traits,
		// Tray has no disabled users: an account either exists or is deleted.
		rs.WithResourceStatus(v2.Status_RESOURCE_STATUS_ENABLED, ""),
		rs.WithResourceProfile(profile),
	)
	if err != nil {
		return nil, fmt.Errorf("baton-trayai: build user %s: %w", u.ID, err)
	}
	return r, nil
}

// accountType maps Tray's account types onto Baton's. API and Integration
// accounts are service accounts, System accounts are system accounts;
// Regular, External and Partner accounts, and any type Tray adds later,
// are treated as people.
func accountType(t client.AccountType) v2.UserTrait_AccountType {
	switch t {
	case client.AccountTypeAPI, client.AccountTypeIntegration:
		return v2.UserTrait_ACCOUNT_TYPE_SERVICE
	case client.AccountTypeSystem:
		return v2.UserTrait_ACCOUNT_TYPE_SYSTEM
	default:
		return v2.UserTrait_ACCOUNT_TYPE_HUMAN
	}
}

// organizationWorkspace returns the Organization workspace, from the sync
// cache (the workspace listing fills it) or by listing workspaces.
func (c *Connector) organizationWorkspace(ctx context.Context, syncID string) (orgWorkspace, error) {
	if o, ok := c.cache.getOrgWorkspace(syncID); ok {
		return o, nil
	}
	cursor := ""
	for {
		page, err := c.client.ListWorkspaces(ctx, cursor)
		if err != nil {
			return orgWorkspace{}, fmt.Errorf("baton-trayai: find the Organization workspace: %w", err)
		}
		for _, w := range page.Elements {
			if w.Type == client.WorkspaceTypeOrganization {
				o := orgWorkspace{id: w.ID, name: w.Name, found: true}
				c.cache.putOrgWorkspace(syncID, o)
				return o, nil
			}
		}
		cursor = page.NextCursor()
		if cursor == "" {
			logger(ctx).Debug("baton-trayai: the token sees no Organization workspace", zap.String("sync_id", syncID))
			c.cache.putOrgWorkspace(syncID, orgWorkspace{})
			return orgWorkspace{}, nil
		}
	}
}
