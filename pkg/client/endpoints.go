package client

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
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

var (
	routeListUsers           = route{http.MethodGet, "/core/v1/users", MaxPageSizeUsers}
	routeGetUser             = route{http.MethodGet, "/core/v1/users/{userId}", 0}
	routeCreateUser          = route{http.MethodPost, "/core/v1/users", 0}
	routeDeleteUser          = route{http.MethodDelete, "/core/v1/users/{userId}", 0}
	routeSetUserOrgRole      = route{http.MethodPut, "/core/v1/users/{userId}/roles", 0}
	routeInviteUser          = route{http.MethodPost, "/core/v1/invites", 0}
	routeListOrgRoles        = route{http.MethodGet, "/core/v1/roles", MaxPageSizeOrgRoles}
	routeListWorkspaces      = route{http.MethodGet, "/core/v1/workspaces", MaxPageSizeWorkspaces}
	routeGetWorkspace        = route{http.MethodGet, "/core/v1/workspaces/{workspaceId}", 0}
	routeListWorkspaceRoles  = route{http.MethodGet, "/core/v1/workspaces/{workspaceId}/roles", MaxPageSizeWsRoles}
	routeListWorkspaceUsers  = route{http.MethodGet, "/core/v1/workspaces/{workspaceId}/users", MaxPageSizeWsUsers}
	routeAddWorkspaceUser    = route{http.MethodPost, "/core/v1/workspaces/{workspaceId}/users", 0}
	routeGetWorkspaceUser    = route{http.MethodGet, "/core/v1/workspaces/{workspaceId}/users/{userId}", 0}
	routeSetWorkspaceRole    = route{http.MethodPut, "/core/v1/workspaces/{workspaceId}/users/{userId}", 0}
	routeRemoveWorkspaceUser = route{http.MethodDelete, "/core/v1/workspaces/{workspaceId}/users/{userId}", 0}
)

// pathID is the spec's pattern for user and workspace ids. Checking it
// keeps a malformed id from turning into another path.
var pathID = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)

// IsID reports whether s has the form of a Tray.ai user or workspace id.
func IsID(s string) bool { return pathID.MatchString(s) }

// path fills the template's placeholders with ids, in order.
func (r route) path(ids ...string) (string, error) {
	var b strings.Builder
	rest := r.template
	for _, id := range ids {
		open, end := strings.IndexByte(rest, '{'), strings.IndexByte(rest, '}')
		if open < 0 || end < open {
			return "", status.Errorf(codes.Internal, "%s: more ids than placeholders", r)
		}
		if name := rest[open+1 : end]; !pathID.MatchString(id) {
			return "", status.Errorf(codes.InvalidArgument, "%s: %s %q is not a Tray.ai id", r, name, id)
		}
		b.WriteString(rest[:open])
		b.WriteString(id)
		rest = rest[end+1:]
	}
	if strings.IndexByte(rest, '{') >= 0 {
		return "", status.Errorf(codes.Internal, "%s: an id is missing", r)
	}
	b.WriteString(rest)
	return b.String(), nil
}

// identified is a list element; every element must carry an id.
type identified interface{ identity() string }

func (u User) identity() string      { return u.ID }
func (r Role) identity() string      { return r.ID }
func (w Workspace) identity() string { return w.ID }

// list fetches one page at the route's maximum page size and refuses a
// page that points back at itself, which would otherwise loop a sync
// forever.
func list[T identified](ctx context.Context, c *Client, r route, ids []string, cursor string, filter url.Values) (Page[T], error) {
	q := url.Values{"first": {strconv.Itoa(r.pageSize)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	for k, vs := range filter {
		q[k] = append(q[k], vs...)
	}
	var page Page[T]
	if err := c.do(ctx, request{route: r, ids: ids, query: q, out: &page}); err != nil {
		return Page[T]{}, err
	}
	return checkPage(r.String(), cursor, page)
}

// checkPage refuses pages a sync cannot use: elements without ids, and a
// next page without a cursor or with the cursor just used.
func checkPage[T identified](endpoint, cursor string, page Page[T]) (Page[T], error) {
	for i, e := range page.Elements {
		if e.identity() == "" {
			return Page[T]{}, status.Errorf(codes.Internal, "%s: element %d of the page has no id; Tray.ai sent an unusable answer", endpoint, i)
		}
	}
	if page.PageInfo.HasNextPage {
		if page.PageInfo.EndCursor == "" {
			return Page[T]{}, status.Errorf(codes.Internal, "%s: Tray.ai said there is a next page but sent no cursor", endpoint)
		}
		if page.PageInfo.EndCursor == cursor {
			return Page[T]{}, status.Errorf(codes.Internal, "%s: Tray.ai returned the same cursor again; stopping instead of looping", endpoint)
		}
	}
	return page, nil
}

// ListUsers returns one page of organization users.
func (c *Client) ListUsers(ctx context.Context, cursor string) (Page[User], error) {
	return list[User](ctx, c, routeListUsers, nil, cursor, nil)
}

// FindUsersByEmail returns a page of users matching an email. How Tray
// matches (exact, case, partial) is undocumented, so callers compare.
func (c *Client) FindUsersByEmail(ctx context.Context, email, cursor string) (Page[User], error) {
	return list[User](ctx, c, routeListUsers, nil, cursor, url.Values{"email": {email}})
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
	body := map[string]string{"name": name, "email": email, "organizationRoleId": orgRoleID}
	err := c.do(ctx, request{route: routeCreateUser, body: body, out: &u})
	return u, err
}

// InviteUser sends an invitation to join the organization.
func (c *Client) InviteUser(ctx context.Context, email, orgRoleID string) (Invite, error) {
	var inv Invite
	body := map[string]string{"email": email, "organizationRoleId": orgRoleID}
	err := c.do(ctx, request{route: routeInviteUser, body: body, out: &inv})
	return inv, err
}

// DeleteUser removes a user from the organization.
func (c *Client) DeleteUser(ctx context.Context, userID string) error {
	return c.do(ctx, request{route: routeDeleteUser, ids: []string{userID}})
}

// SetUserOrgRole replaces a user's organization role.
func (c *Client) SetUserOrgRole(ctx context.Context, userID, roleID string) error {
	return c.do(ctx, request{route: routeSetUserOrgRole, ids: []string{userID}, body: map[string]string{"roleId": roleID}})
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
		body: map[string]string{"userId": userID, "roleId": roleID}})
}

// SetWorkspaceUserRole changes a member's role in a workspace.
func (c *Client) SetWorkspaceUserRole(ctx context.Context, workspaceID, userID, roleID string) error {
	return c.do(ctx, request{route: routeSetWorkspaceRole, ids: []string{workspaceID, userID},
		body: map[string]string{"roleId": roleID}})
}

// RemoveWorkspaceUser removes a member from a workspace.
func (c *Client) RemoveWorkspaceUser(ctx context.Context, workspaceID, userID string) error {
	return c.do(ctx, request{route: routeRemoveWorkspaceUser, ids: []string{workspaceID, userID}})
}
