package connector

import (
	"context"
	"strconv"
	"strings"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// The roster is every user of the organization with their organization
// role. Two grants come from it: each user's organization role
// (role:<role id>:assigned) and each user's membership of the Organization
// workspace (workspace:<id>:member), which Tray.ai gives every user. Who
// emits them depends on what the sync saw:
//
//   - In a sync whose user listing saw every user (syncState.listedAllUsers),
//     the user syncer emits both, a page of users at a time, from the
//     roster the listing recorded, without a request
//     (userSyncer.GrantsForResourceType).
//   - Otherwise (a targeted sync of a role or of the Organization workspace,
//     a sync resumed after a restart) the role syncer emits each role's
//     holders (roleSyncer.Grants) and the workspace syncer the Organization
//     workspace's members (workspaceSyncer.organizationMembers), from the
//     roster listed again from Tray.ai, page by page (rosterPage).
//
// Both grants are built here, and only here.

// rosterEntry is what the roster keeps of a user.
type rosterEntry struct {
	userID    string
	orgRoleID string
}

// Page tokens of the roster: "r:<offset>" pages through the roster this
// sync's user listing recorded; "t:<cursor>" lists users from Tray again.
const (
	rosterTokenPrefix = "r:"
	trayTokenPrefix   = "t:"
	rosterPageSize    = 1000
)

// rosterPage returns a page of this sync's roster and the token of the
// next page. It serves the roster this sync recorded when this process saw
// all of it. Otherwise it lists users from Tray and records them, so that
// whoever asks next finds the roster complete; entries already served are
// served again, which the SDK stores once.
func rosterPage(ctx context.Context, cl *client.Client, st *syncState, token string) ([]rosterEntry, string, error) {
	if token == "" {
		token = rosterTokenPrefix + "0"
	}
	if rest, ok := strings.CutPrefix(token, rosterTokenPrefix); ok {
		if offset, err := strconv.Atoi(rest); err == nil && offset >= 0 {
			if entries, last, ok := st.rosterPage(offset, rosterPageSize); ok {
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
	page, err := cl.ListUsers(ctx, cursor)
	if err != nil {
		return nil, "", wrapf(err, "list users for their grants")
	}
	users, err := completeUsers(ctx, cl, st.users, page.Elements)
	if err != nil {
		return nil, "", err
	}
	entries := rosterOf(users)
	next := page.NextCursor()
	st.listedRoster(cursor == "", next == "", entries)
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

// orgRoleGrant is a user's grant of their organization role.
func orgRoleGrant(roleID string, user *v2.ResourceId) *v2.Grant {
	role := v2.Resource_builder{Id: roleResourceID(roleID)}.Build()
	return grant.NewGrant(role, roleAssignedSlug, user)
}

// organizationMemberGrant is a user's membership of the Organization
// workspace.
func organizationMemberGrant(workspaceID string, user *v2.ResourceId) *v2.Grant {
	ws := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: workspaceTypeID, Resource: workspaceID}.Build()}.Build()
	return grant.NewGrant(ws, memberSlug, user)
}
