package connector

import (
	"context"
	"strconv"
	"strings"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

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
	_ connectorbuilder.ResourceSyncerV2              = (*userSyncer)(nil)
	_ connectorbuilder.TypeScopedGrantsSyncer        = (*userSyncer)(nil)
	_ connectorbuilder.AccountManagerLimited         = (*userSyncer)(nil)
	_ connectorbuilder.ResourceDeleterV2Limited      = (*userSyncer)(nil)
	_ connectorbuilder.ResourceTargetedSyncerLimited = (*userSyncer)(nil)
)

func (u *userSyncer) ResourceType(context.Context) *v2.ResourceType { return userResourceType }

// List returns one page of users. Where the list item lacks email, account
// type or role, that user's details are fetched, for this page only.
func (u *userSyncer) List(ctx context.Context, parent *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	page, ok, err := syncPage(ctx, u.c, parent, opts, "users", u.c.client.ListUsers)
	if !ok {
		return nil, nil, err
	}
	users, err := u.c.completeUsers(ctx, opts.SyncID, page.Elements)
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
	u.c.cache.with(opts.SyncID, func(s *syncState) {
		s.roster.add(opts.PageToken.Token == "", next == "", rosterOf(users))
		s.usersListedAll = s.roster.complete
	})
	u.c.stats.page(logger(ctx), "users", len(out), next == "")
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// Get returns one user as Tray.ai has it now, for a targeted sync, with
// the same traits and profile a full sync gives it; a user who no longer
// exists is NotFound, which the SDK skips.
func (u *userSyncer) Get(ctx context.Context, id *v2.ResourceId, _ *v2.ResourceId) (*v2.Resource, annotations.Annotations, error) {
	usr, err := u.c.client.GetUser(ctx, id.GetResource())
	if err != nil {
		return nil, nil, fetched(err, "user", id.GetResource())
	}
	res, err := userResource(usr)
	return res, nil, err
}

// completeUsers fills in users whose list item lacks details. A user that
// disappears between the list and the GET is dropped: it no longer exists.
// syncID is the sync the page belongs to, or "" outside a sync.
func (c *Connector) completeUsers(ctx context.Context, syncID string, items []client.User) ([]client.User, error) {
	key := func(u client.User) string { return "user:" + u.ID }
	return fillIn(ctx, c.cache, syncID, items, key, client.User.HasDetails, func(ctx context.Context, item client.User) (client.User, error) {
		full, err := c.client.GetUser(ctx, item.ID)
		if err != nil && !isNotFound(err) {
			err = wrapf(err, "get user %s", item.ID)
		}
		if full.Name == "" {
			full.Name = item.Name
		}
		return full, err
	})
}

// Entitlements: users have none.
func (u *userSyncer) Entitlements(context.Context, *v2.Resource, rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	return nil, nil, nil
}

// Grants serves one user from its profile. The SDK calls it only where
// type-scoped grants are not used (GrantsForResourceType covers a sync).
func (u *userSyncer) Grants(ctx context.Context, r *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	roleID, _ := rs.GetProfileStringValue(rs.GetProfile(r), profileOrgRoleID)
	out, err := u.userGrants(ctx, opts.SyncID, []rosterEntry{{userID: r.GetId().GetResource(), orgRoleID: roleID}})
	return out, nil, err
}

// Page tokens of the roster: "r:<offset>" pages through the roster this
// sync's user listing recorded; "t:<cursor>" lists users from Tray again.
const (
	rosterTokenPrefix = "r:"
	trayTokenPrefix   = "t:"
	rosterPageSize    = 1000
)

// GrantsForResourceType emits, for a page of users at a time, the grant of
// each user's organization role and their membership of the Organization
// workspace (every org user is in it; Tray governs it with org roles). In a
// normal sync it makes no request: the user listing already saw every role.
func (u *userSyncer) GrantsForResourceType(ctx context.Context, _ string, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	entries, next, err := u.c.rosterPage(ctx, opts.SyncID, opts.PageToken.Token)
	if err != nil {
		return nil, nil, err
	}
	out, err := u.userGrants(ctx, opts.SyncID, entries)
	if err != nil || next == "" {
		return out, nil, err
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// rosterPage returns a page of this sync's roster (every user and their
// org role) and the token of the next page. It serves the roster the user
// listing recorded when this process saw all of it. Otherwise (a sync
// resumed after a restart, or a targeted sync that listed no users) it
// lists users from Tray and records them, so that whoever asks next finds
// the roster complete; entries already served are served again, which the
// SDK stores once.
func (c *Connector) rosterPage(ctx context.Context, syncID, token string) ([]rosterEntry, string, error) {
	if token == "" {
		token = rosterTokenPrefix + "0"
	}
	if rest, ok := strings.CutPrefix(token, rosterTokenPrefix); ok {
		if offset, err := strconv.Atoi(rest); err == nil && offset >= 0 {
			var entries []rosterEntry
			var last, ok bool
			c.cache.with(syncID, func(s *syncState) { entries, last, ok = s.roster.page(offset, rosterPageSize) })
			if ok {
				if last {
					return entries, "", nil
				}
				return entries, rosterTokenPrefix + strconv.Itoa(offset+len(entries)), nil
			}
		}
		token = trayTokenPrefix
	}
	cursor, ok := strings.CutPrefix(token, trayTokenPrefix)
	if !ok {
		return nil, "", errorf(codes.InvalidArgument, "unknown page token %q of the user roster", token)
	}
	page, err := c.client.ListUsers(ctx, cursor)
	if err != nil {
		return nil, "", wrapf(err, "list users for their grants")
	}
	users, err := c.completeUsers(ctx, syncID, page.Elements)
	if err != nil {
		return nil, "", err
	}
	entries := rosterOf(users)
	next := page.NextCursor()
	c.cache.with(syncID, func(s *syncState) { s.roster.add(cursor == "", next == "", entries) })
	if next == "" {
		return entries, "", nil
	}
	return entries, trayTokenPrefix + next, nil
}

// rosterOf keeps what the roster needs of users: id and org role.
func rosterOf(users []client.User) []rosterEntry {
	entries := make([]rosterEntry, 0, len(users))
	for _, usr := range users {
		if usr.Role != nil {
			entries = append(entries, rosterEntry{userID: usr.ID, orgRoleID: usr.Role.ID})
		}
	}
	return entries
}

// userGrants builds the org-role and Organization-workspace grants of users,
// only for resource types this sync includes.
func (u *userSyncer) userGrants(ctx context.Context, syncID string, entries []rosterEntry) ([]*v2.Grant, error) {
	withRoles := u.c.willSync(roleTypeID)
	var org orgWorkspace
	if u.c.willSync(workspaceTypeID) && u.c.settings.WorkspaceTypes[client.WorkspaceTypeOrganization] {
		var err error
		if org, err = u.c.organizationWorkspace(ctx, syncID); err != nil {
			return nil, err
		}
	}
	out := make([]*v2.Grant, 0, 2*len(entries))
	for _, e := range entries {
		principal := v2.ResourceId_builder{ResourceType: userTypeID, Resource: e.userID}.Build()
		if withRoles && e.orgRoleID != "" {
			out = append(out, orgRoleGrant(e.orgRoleID, principal))
		}
		if org.found {
			out = append(out, memberGrant(org.id, principal))
		}
	}
	return out, nil
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
		return nil, wrapf(err, "build user %s", u.ID)
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
	var cached *orgWorkspace
	c.cache.with(syncID, func(s *syncState) { cached = s.orgWS })
	if cached != nil {
		return *cached, nil
	}
	cursor := ""
	for {
		page, err := c.client.ListWorkspaces(ctx, cursor)
		if err != nil {
			return orgWorkspace{}, wrapf(err, "find the Organization workspace")
		}
		for _, w := range page.Elements {
			if w.Type == client.WorkspaceTypeOrganization {
				o := orgWorkspace{id: w.ID, name: w.Name, found: true}
				c.cache.with(syncID, func(s *syncState) { s.orgWS = &o })
				return o, nil
			}
		}
		cursor = page.NextCursor()
		if cursor == "" {
			logger(ctx).Debug("baton-trayai: the token sees no Organization workspace", zap.String("sync_id", syncID))
			c.cache.with(syncID, func(s *syncState) { s.orgWS = &orgWorkspace{} })
			return orgWorkspace{}, nil
		}
	}
}
