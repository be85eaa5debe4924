package connector

import (
	"context"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorbuilder"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// userSyncer syncs the organization's users and the grants every user
// holds (roster.go), and creates and deletes accounts
// (user_provisioning.go).
type userSyncer struct {
	client *client.Client
	syncs  *syncs
	guard  *guard
	// grantsOrgRoles is true when the sync includes organization roles,
	// and grantsOrgMembership when it includes the Organization
	// workspace: users' grants are emitted only on resources that exist.
	grantsOrgRoles, grantsOrgMembership bool
	accountCreationMode                 string
}

var (
	_ connectorbuilder.ResourceSyncerV2              = (*userSyncer)(nil)
	_ connectorbuilder.TypeScopedGrantsSyncer        = (*userSyncer)(nil)
	_ connectorbuilder.AccountManagerLimited         = (*userSyncer)(nil)
	_ connectorbuilder.ResourceDeleterV2Limited      = (*userSyncer)(nil)
	_ connectorbuilder.ResourceTargetedSyncerLimited = (*userSyncer)(nil)
)

func (u *userSyncer) ResourceType(context.Context) *v2.ResourceType { return userResourceType }

// List returns one page of users and records it in the sync's roster.
// Where the list item lacks email, account type or role, that user's
// details are fetched, for this page only. Tray's users have no parent.
func (u *userSyncer) List(ctx context.Context, parent *v2.ResourceId, opts rs.SyncOpAttrs) ([]*v2.Resource, *rs.SyncOpResults, error) {
	if parent != nil {
		return nil, nil, nil
	}
	st := u.syncs.state(ctx, opts.SyncID)
	page, err := u.client.ListUsers(ctx, opts.PageToken.Token)
	if err != nil {
		return nil, nil, wrapf(err, "list users")
	}
	users, err := completeUsers(ctx, u.client, st.users, page.Elements)
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
	st.listedUsers(opts.PageToken.Token == "", next == "", rosterOf(users))
	st.stats.page(logger(ctx), listingUsers, len(out), next == "")
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// Get returns one user as Tray.ai has it now, for a targeted sync, with
// the same traits and profile a full sync gives it; a user who no longer
// exists is NotFound, which the SDK skips.
func (u *userSyncer) Get(ctx context.Context, id *v2.ResourceId, _ *v2.ResourceId) (*v2.Resource, annotations.Annotations, error) {
	usr, err := u.client.GetUser(ctx, id.GetResource())
	if status.Code(err) == codes.NotFound {
		return nil, nil, errorf(codes.NotFound, "user %s does not exist in Tray.ai", id.GetResource())
	}
	if err != nil {
		return nil, nil, wrapf(err, "get user %s", id.GetResource())
	}
	res, err := userResource(usr)
	return res, nil, err
}

// Entitlements: users have none.
func (u *userSyncer) Entitlements(context.Context, *v2.Resource, rs.SyncOpAttrs) ([]*v2.Entitlement, *rs.SyncOpResults, error) {
	return nil, nil, nil
}

// Grants serves one user from its profile. The SDK calls it only where
// type-scoped grants are not used (GrantsForResourceType covers a sync).
func (u *userSyncer) Grants(ctx context.Context, r *v2.Resource, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	roleID, _ := rs.GetProfileStringValue(rs.GetProfile(r), profileOrgRoleID)
	st := u.syncs.state(ctx, opts.SyncID)
	out, err := u.rosterGrants(ctx, st, []rosterEntry{{userID: r.GetId().GetResource(), orgRoleID: roleID}})
	return out, nil, err
}

// GrantsForResourceType emits, for a page of users at a time, the grant of
// each user's organization role and their membership of the Organization
// workspace (every org user is in it; Tray governs it with org roles). In a
// normal sync it makes no request: the user listing already saw every role.
func (u *userSyncer) GrantsForResourceType(ctx context.Context, _ string, opts rs.SyncOpAttrs) ([]*v2.Grant, *rs.SyncOpResults, error) {
	st := u.syncs.state(ctx, opts.SyncID)
	entries, next, err := rosterPage(ctx, u.client, st, opts.PageToken.Token)
	if err != nil {
		return nil, nil, err
	}
	out, err := u.rosterGrants(ctx, st, entries)
	if err != nil || next == "" {
		return out, nil, err
	}
	return out, &rs.SyncOpResults{NextPageToken: next}, nil
}

// rosterGrants builds the org-role and Organization-workspace grants of
// users, only for resource types this sync includes.
func (u *userSyncer) rosterGrants(ctx context.Context, st *syncState, entries []rosterEntry) ([]*v2.Grant, error) {
	var org orgWorkspace
	if u.grantsOrgMembership {
		var err error
		if org, err = findOrganizationWorkspace(ctx, u.client, st); err != nil {
			return nil, err
		}
	}
	out := make([]*v2.Grant, 0, 2*len(entries))
	for _, e := range entries {
		principal := userResourceID(e.userID)
		if u.grantsOrgRoles && e.orgRoleID != "" {
			out = append(out, orgRoleGrant(e.orgRoleID, principal))
		}
		if org.found {
			out = append(out, organizationMemberGrant(org.id, principal))
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

		legacyProfileUsername:    u.Name,
		legacyProfileAccountType: string(u.AccountType),
	}
	if u.Role != nil {
		profile[profileOrgRoleID] = u.Role.ID
		profile[profileOrgRoleName] = u.Role.Name
		profile[legacyProfileOrgRoleName] = u.Role.Name
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
