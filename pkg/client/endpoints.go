package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// route is one Tray.ai endpoint: a method, a path template whose
// {placeholders} are filled in order with validated ids, and, for lists,
// the page-size maximum the spec allows.
type route struct {
	method   string
	template string
	pageSize int
}

// String names the route in messages, e.g. "GET /core/v1/users/{userId}";
// the simulator counts requests under the same names.
func (r route) String() string { return r.method + " " + r.template }

// Paths of the routes; a path that serves several methods is named once.
const (
	pathUsers          = "/core/v1/users"
	pathUser           = "/core/v1/users/{userId}"
	pathWorkspaceUsers = "/core/v1/workspaces/{workspaceId}/users"
	pathWorkspaceUser  = "/core/v1/workspaces/{workspaceId}/users/{userId}"
)

var (
	routeListUsers           = route{http.MethodGet, pathUsers, MaxPageSizeUsers}
	routeGetUser             = route{http.MethodGet, pathUser, 0}
	routeCreateUser          = route{http.MethodPost, pathUsers, 0}
	routeDeleteUser          = route{http.MethodDelete, pathUser, 0}
	routeSetUserOrgRole      = route{http.MethodPut, "/core/v1/users/{userId}/roles", 0}
	routeInviteUser          = route{http.MethodPost, "/core/v1/invites", 0}
	routeListOrgRoles        = route{http.MethodGet, "/core/v1/roles", MaxPageSizeOrgRoles}
	routeListWorkspaces      = route{http.MethodGet, "/core/v1/workspaces", MaxPageSizeWorkspaces}
	routeGetWorkspace        = route{http.MethodGet, "/core/v1/workspaces/{workspaceId}", 0}
	routeListWorkspaceRoles  = route{http.MethodGet, "/core/v1/workspaces/{workspaceId}/roles", MaxPageSizeWsRoles}
	routeListWorkspaceUsers  = route{http.MethodGet, pathWorkspaceUsers, MaxPageSizeWsUsers}
	routeAddWorkspaceUser    = route{http.MethodPost, pathWorkspaceUsers, 0}
	routeGetWorkspaceUser    = route{http.MethodGet, pathWorkspaceUser, 0}
	routeSetWorkspaceRole    = route{http.MethodPut, pathWorkspaceUser, 0}
	routeRemoveWorkspaceUser = route{http.MethodDelete, pathWorkspaceUser, 0}
)

// Names of the JSON fields of request bodies.
const (
	fieldEmail     = "email"
	fieldName      = "name"
	fieldRoleID    = "roleId"
	fieldOrgRoleID = "organizationRoleId"
	fieldUserID    = "userId"
	queryEmail     = "email"
)

// pathID is the spec's pattern for user and workspace ids. Checking it
// keeps a malformed id from turning into another path.
var pathID = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)

// IsID reports whether s has the form of a Tray.ai user or workspace id.
func IsID(s string) bool { return pathID.MatchString(s) }

// path fills the template's placeholders with ids, in order.
func (r route) path(ids ...string) (string, error) {
	path, rest := "", r.template
	for _, id := range ids {
		open, end := strings.IndexByte(rest, '{'), strings.IndexByte(rest, '}')
		if open < 0 || end < open {
			return "", status.Errorf(codes.Internal, "%s: more ids than placeholders", r)
		}
		if name := rest[open+1 : end]; !pathID.MatchString(id) {
			return "", status.Errorf(codes.InvalidArgument, "%s: %s %q is not a Tray.ai id", r, name, id)
		}
		path += rest[:open] + id
		rest = rest[end+1:]
	}
	if strings.IndexByte(rest, '{') >= 0 {
		return "", status.Errorf(codes.Internal, "%s: an id is missing", r)
	}
	return path + rest, nil
}

// ListUsers returns one page of organization users.
func (c *Client) ListUsers(ctx context.Context, cursor string) (Page[User], error) {
	return list[User](ctx, c, routeListUsers, nil, cursor, nil)
}

// FindUsersByEmail returns a page of users matching an email. How Tray
// matches (exact, case, partial) is undocumented, so callers compare.
func (c *Client) FindUsersByEmail(ctx context.Context, email, cursor string) (Page[User], error) {
	return list[User](ctx, c, routeListUsers, nil, cursor, url.Values{queryEmail: {email}})
}

// ProbeOrgRoles asks for a single organization role: it needs the
// org-admin rights a sync needs, so it tells a bad token from one without
// enough rights, and lists none of the organization's users or workspaces.
func (c *Client) ProbeOrgRoles(ctx context.Context) error {
	return c.do(ctx, request{route: routeListOrgRoles, query: url.Values{"first": {"1"}}, out: &Page[Role]{}})
}

// GetUser returns one organization user with email, account type and org role.
func (c *Client) GetUser(ctx context.Context, userID string) (User, error) {
	var u User
	err := c.do(ctx, request{route: routeGetUser, ids: []string{userID}, out: &u})
	return u, err
}

// CreateUser creates an organization user without an invitation (SSO orgs).
func (c *Client) CreateUser(ctx context.Context, name, email, orgRoleID string) (User, error) {
	var u User
	body := map[string]string{fieldName: name, fieldEmail: email, fieldOrgRoleID: orgRoleID}
	err := c.do(ctx, request{route: routeCreateUser, body: body, out: &u})
	return u, err
}

// InviteUser sends an invitation to join the organization. Tray's cap of
// 100 invitations a day is final for the day: it fails at once with
// ResourceExhausted, where any other 429 is paced and retried.
func (c *Client) InviteUser(ctx context.Context, email, orgRoleID string) (Invite, error) {
	var inv Invite
	body := map[string]string{fieldEmail: email, fieldOrgRoleID: orgRoleID}
	err := c.do(ctx, request{route: routeInviteUser, body: body, out: &inv, final: inviteCapReached})
	return inv, err
}

// inviteCapReached tells the daily invitation cap from ordinary rate
// limiting. Tray answers both with 429 and documents neither message, so
// the cap is recognized by a message about invitations or a day.
func inviteCapReached(statusCode int, body []byte) error {
	msg, capped := inviteCapMessage(body)
	if statusCode != http.StatusTooManyRequests || !capped {
		return nil
	}
	return status.Errorf(codes.ResourceExhausted,
		"%s: Tray.ai refused the invitation (%s): an organization may send 100 invitations a day; try again tomorrow, or create the account with --account-creation-mode create",
		routeInviteUser, bounded(msg))
}

// inviteCapMessage reads Tray's message from an error body and whether it
// is about invitations or a day.
func inviteCapMessage(body []byte) (string, bool) {
	var te trayError
	if json.Unmarshal(body, &te) != nil {
		return "", false
	}
	m := strings.ToLower(te.Message)
	return te.Message, strings.Contains(m, "invit") || strings.Contains(m, "day")
}

// DeleteUser removes a user from the organization.
func (c *Client) DeleteUser(ctx context.Context, userID string) error {
	return c.do(ctx, request{route: routeDeleteUser, ids: []string{userID}})
}

// SetUserOrgRole replaces a user's organization role.
func (c *Client) SetUserOrgRole(ctx context.Context, userID, roleID string) error {
	return c.do(ctx, request{route: routeSetUserOrgRole, ids: []string{userID}, body: map[string]string{fieldRoleID: roleID}})
}

// ListOrgRoles returns one page of organization roles.
func (c *Client) ListOrgRoles(ctx context.Context, cursor string) (Page[Role], error) {
	return list[Role](ctx, c, routeListOrgRoles, nil, cursor, nil)
}

// ListWorkspaces returns one page of the workspaces the token can see. The
// type filter is applied by the caller: how Tray serializes it is undocumented.
func (c *Client) ListWorkspaces(ctx context.Context, cursor string) (Page[Workspace], error) {
	return list[Workspace](ctx, c, routeListWorkspaces, nil, cursor, nil)
}

// GetWorkspace returns one workspace.
func (c *Client) GetWorkspace(ctx context.Context, workspaceID string) (Workspace, error) {
	var w Workspace
	err := c.do(ctx, request{route: routeGetWorkspace, ids: []string{workspaceID}, out: &w})
	return w, err
}

// ListWorkspaceRoles returns one page of a workspace's roles.
func (c *Client) ListWorkspaceRoles(ctx context.Context, workspaceID, cursor string) (Page[Role], error) {
	return list[Role](ctx, c, routeListWorkspaceRoles, []string{workspaceID}, cursor, nil)
}

// ListWorkspaceUsers returns one page of a workspace's members.
func (c *Client) ListWorkspaceUsers(ctx context.Context, workspaceID, cursor string) (Page[WorkspaceUser], error) {
	return list[WorkspaceUser](ctx, c, routeListWorkspaceUsers, []string{workspaceID}, cursor, nil)
}

// GetWorkspaceUser returns a member and their role in the workspace; a
// user who is not a member is a NotFound error.
func (c *Client) GetWorkspaceUser(ctx context.Context, workspaceID, userID string) (WorkspaceUser, error) {
	var m WorkspaceUser
	err := c.do(ctx, request{route: routeGetWorkspaceUser, ids: []string{workspaceID, userID}, out: &m})
	return m, err
}

// AddWorkspaceUser adds an organization user to a workspace with a role.
func (c *Client) AddWorkspaceUser(ctx context.Context, workspaceID, userID, roleID string) error {
	return c.do(ctx, request{route: routeAddWorkspaceUser, ids: []string{workspaceID},
		body: map[string]string{fieldUserID: userID, fieldRoleID: roleID}})
}

// SetWorkspaceUserRole changes a member's role in a workspace.
func (c *Client) SetWorkspaceUserRole(ctx context.Context, workspaceID, userID, roleID string) error {
	return c.do(ctx, request{route: routeSetWorkspaceRole, ids: []string{workspaceID, userID},
		body: map[string]string{fieldRoleID: roleID}})
}

// RemoveWorkspaceUser removes a member from a workspace.
func (c *Client) RemoveWorkspaceUser(ctx context.Context, workspaceID, userID string) error {
	return c.do(ctx, request{route: routeRemoveWorkspaceUser, ids: []string{workspaceID, userID}})
}
