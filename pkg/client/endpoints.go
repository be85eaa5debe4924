package client

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Route templates, used in error messages and request accounting.
const (
	EndpointListUsers           = "GET /core/v1/users"
	EndpointGetUser             = "GET /core/v1/users/{userId}"
	EndpointCreateUser          = "POST /core/v1/users"
	EndpointDeleteUser          = "DELETE /core/v1/users/{userId}"
	EndpointSetUserOrgRole      = "PUT /core/v1/users/{userId}/roles"
	EndpointInviteUser          = "POST /core/v1/invites"
	EndpointListOrgRoles        = "GET /core/v1/roles"
	EndpointListWorkspaces      = "GET /core/v1/workspaces"
	EndpointGetWorkspace        = "GET /core/v1/workspaces/{workspaceId}"
	EndpointListWorkspaceRoles  = "GET /core/v1/workspaces/{workspaceId}/roles"
	EndpointListWorkspaceUsers  = "GET /core/v1/workspaces/{workspaceId}/users"
	EndpointAddWorkspaceUser    = "POST /core/v1/workspaces/{workspaceId}/users"
	EndpointGetWorkspaceUser    = "GET /core/v1/workspaces/{workspaceId}/users/{userId}"
	EndpointSetWorkspaceUserRol = "PUT /core/v1/workspaces/{workspaceId}/users/{userId}"
	EndpointRemoveWorkspaceUser = "DELETE /core/v1/workspaces/{workspaceId}/users/{userId}"
)

// pathID is the spec's pattern for user and workspace ids. Checking it
// before a request keeps a malformed id from turning into another path.
var pathID = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)

func checkID(endpoint, what, id string) error {
	if !pathID.MatchString(id) {
		return status.Errorf(codes.InvalidArgument, "baton-trayai: %s: %s %q is not a Tray.ai id", endpoint, what, id)
	}
	return nil
}

func pageQuery(cursor string, size int) url.Values {
	q := url.Values{}
	q.Set("first", strconv.Itoa(size))
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return q
}

// identified is a list element; every element must carry an id.
type identified interface{ identity() string }

func (u User) identity() string          { return u.ID }
func (r Role) identity() string          { return r.ID }
func (w Workspace) identity() string     { return w.ID }
func (m WorkspaceUser) identity() string { return m.ID }

// list fetches one page and refuses a page that points back at itself,
// which would otherwise loop a sync forever.
func list[T identified](ctx context.Context, c *Client, endpoint, path, cursor string, size int, extra url.Values) (Page[T], error) {
	q := pageQuery(cursor, size)
	for k, vs := range extra {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	var page Page[T]
	if err := c.do(ctx, request{method: http.MethodGet, endpoint: endpoint, path: path, query: q, out: &page}); err != nil {
		return Page[T]{}, err
	}
	return checkPage(endpoint, cursor, page)
}

// checkPage refuses pages a sync cannot use: elements without ids, and a
// next page without a cursor or with the cursor just used.
func checkPage[T identified](endpoint, cursor string, page Page[T]) (Page[T], error) {
	for i, e := range page.Elements {
		if e.identity() == "" {
			return Page[T]{}, status.Errorf(codes.Internal, "baton-trayai: %s: element %d of the page has no id; Tray.ai sent an unusable answer", endpoint, i)
		}
	}
	if page.PageInfo.HasNextPage {
		if page.PageInfo.EndCursor == "" {
			return Page[T]{}, status.Errorf(codes.Internal, "baton-trayai: %s: Tray.ai said there is a next page but sent no cursor", endpoint)
		}
		if page.PageInfo.EndCursor == cursor {
			return Page[T]{}, status.Errorf(codes.Internal, "baton-trayai: %s: Tray.ai returned the same cursor again; stopping instead of looping", endpoint)
		}
	}
	return page, nil
}

// ListUsers returns one page of organization users.
func (c *Client) ListUsers(ctx context.Context, cursor string) (Page[User], error) {
	return list[User](ctx, c, EndpointListUsers, "/core/v1/users", cursor, MaxPageSizeUsers, nil)
}

// FindUsersByEmail returns the first page of users matching an email. How
// Tray matches (exact, case, partial) is undocumented, so callers compare.
func (c *Client) FindUsersByEmail(ctx context.Context, email, cursor string) (Page[User], error) {
	return list[User](ctx, c, EndpointListUsers, "/core/v1/users", cursor, MaxPageSizeUsers, url.Values{"email": {email}})
}

// GetUser returns one organization user with email, account type and org role.
func (c *Client) GetUser(ctx context.Context, userID string) (User, error) {
	if err := checkID(EndpointGetUser, "user id", userID); err != nil {
		return User{}, err
	}
	var u User
	err := c.do(ctx, request{method: http.MethodGet, endpoint: EndpointGetUser, path: "/core/v1/users/" + userID, out: &u})
	return u, err
}

// CreateUser creates an organization user without an invitation (SSO orgs).
func (c *Client) CreateUser(ctx context.Context, name, email, orgRoleID string) (User, error) {
	var u User
	body := map[string]string{"name": name, "email": email, "organizationRoleId": orgRoleID}
	err := c.do(ctx, request{method: http.MethodPost, endpoint: EndpointCreateUser, path: "/core/v1/users", body: body, out: &u})
	return u, err
}

// InviteUser sends an invitation to join the organization.
func (c *Client) InviteUser(ctx context.Context, email, orgRoleID string) (Invite, error) {
	var inv Invite
	body := map[string]string{"email": email, "organizationRoleId": orgRoleID}
	err := c.do(ctx, request{method: http.MethodPost, endpoint: EndpointInviteUser, path: "/core/v1/invites", body: body, out: &inv})
	return inv, err
}

// DeleteUser removes a user from the organization.
func (c *Client) DeleteUser(ctx context.Context, userID string) error {
	if err := checkID(EndpointDeleteUser, "user id", userID); err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, endpoint: EndpointDeleteUser, path: "/core/v1/users/" + userID})
}

// SetUserOrgRole replaces a user's organization role.
func (c *Client) SetUserOrgRole(ctx context.Context, userID, roleID string) error {
	if err := checkID(EndpointSetUserOrgRole, "user id", userID); err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodPut, endpoint: EndpointSetUserOrgRole,
		path: "/core/v1/users/" + userID + "/roles", body: map[string]string{"roleId": roleID}})
}

// ListOrgRoles returns one page of organization roles.
func (c *Client) ListOrgRoles(ctx context.Context, cursor string) (Page[Role], error) {
	return list[Role](ctx, c, EndpointListOrgRoles, "/core/v1/roles", cursor, MaxPageSizeOrgRoles, nil)
}

// ListWorkspaces returns one page of the workspaces the token can see. The
// type filter is applied by the caller: how Tray serializes it is undocumented.
func (c *Client) ListWorkspaces(ctx context.Context, cursor string) (Page[Workspace], error) {
	return list[Workspace](ctx, c, EndpointListWorkspaces, "/core/v1/workspaces", cursor, MaxPageSizeWorkspaces, nil)
}

// ProbeWorkspaces asks for a single workspace: the cheapest call any valid
// token may make.
func (c *Client) ProbeWorkspaces(ctx context.Context) error {
	return c.do(ctx, request{method: http.MethodGet, endpoint: EndpointListWorkspaces, path: "/core/v1/workspaces",
		query: pageQuery("", 1), out: &Page[Workspace]{}})
}

// ProbeUsers asks for a single user: it needs the org-admin rights a sync needs.
func (c *Client) ProbeUsers(ctx context.Context) error {
	return c.do(ctx, request{method: http.MethodGet, endpoint: EndpointListUsers, path: "/core/v1/users",
		query: pageQuery("", 1), out: &Page[User]{}})
}

// GetWorkspace returns one workspace.
func (c *Client) GetWorkspace(ctx context.Context, workspaceID string) (Workspace, error) {
	if err := checkID(EndpointGetWorkspace, "workspace id", workspaceID); err != nil {
		return Workspace{}, err
	}
	var w Workspace
	err := c.do(ctx, request{method: http.MethodGet, endpoint: EndpointGetWorkspace, path: "/core/v1/workspaces/" + workspaceID, out: &w})
	return w, err
}

// ListWorkspaceRoles returns one page of a workspace's roles.
func (c *Client) ListWorkspaceRoles(ctx context.Context, workspaceID, cursor string) (Page[Role], error) {
	if err := checkID(EndpointListWorkspaceRoles, "workspace id", workspaceID); err != nil {
		return Page[Role]{}, err
	}
	return list[Role](ctx, c, EndpointListWorkspaceRoles, "/core/v1/workspaces/"+workspaceID+"/roles", cursor, MaxPageSizeWsRoles, nil)
}

// ListWorkspaceUsers returns one page of a workspace's members.
func (c *Client) ListWorkspaceUsers(ctx context.Context, workspaceID, cursor string) (Page[WorkspaceUser], error) {
	if err := checkID(EndpointListWorkspaceUsers, "workspace id", workspaceID); err != nil {
		return Page[WorkspaceUser]{}, err
	}
	return list[WorkspaceUser](ctx, c, EndpointListWorkspaceUsers, "/core/v1/workspaces/"+workspaceID+"/users", cursor, MaxPageSizeWsUsers, nil)
}

// GetWorkspaceUser returns a member and their role in the workspace; a
// user who is not a member is a NotFound error.
func (c *Client) GetWorkspaceUser(ctx context.Context, workspaceID, userID string) (WorkspaceUser, error) {
	if err := checkID(EndpointGetWorkspaceUser, "workspace id", workspaceID); err != nil {
		return WorkspaceUser{}, err
	}
	if err := checkID(EndpointGetWorkspaceUser, "user id", userID); err != nil {
		return WorkspaceUser{}, err
	}
	var m WorkspaceUser
	err := c.do(ctx, request{method: http.MethodGet, endpoint: EndpointGetWorkspaceUser,
		path: "/core/v1/workspaces/" + workspaceID + "/users/" + userID, out: &m})
	return m, err
}

// AddWorkspaceUser adds an organization user to a workspace with a role.
func (c *Client) AddWorkspaceUser(ctx context.Context, workspaceID, userID, roleID string) error {
	if err := checkID(EndpointAddWorkspaceUser, "workspace id", workspaceID); err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodPost, endpoint: EndpointAddWorkspaceUser,
		path: "/core/v1/workspaces/" + workspaceID + "/users", body: map[string]string{"userId": userID, "roleId": roleID}})
}

// SetWorkspaceUserRole changes a member's role in a workspace.
func (c *Client) SetWorkspaceUserRole(ctx context.Context, workspaceID, userID, roleID string) error {
	if err := checkID(EndpointSetWorkspaceUserRol, "workspace id", workspaceID); err != nil {
		return err
	}
	if err := checkID(EndpointSetWorkspaceUserRol, "user id", userID); err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodPut, endpoint: EndpointSetWorkspaceUserRol,
		path: "/core/v1/workspaces/" + workspaceID + "/users/" + userID, body: map[string]string{"roleId": roleID}})
}

// RemoveWorkspaceUser removes a member from a workspace.
func (c *Client) RemoveWorkspaceUser(ctx context.Context, workspaceID, userID string) error {
	if err := checkID(EndpointRemoveWorkspaceUser, "workspace id", workspaceID); err != nil {
		return err
	}
	if err := checkID(EndpointRemoveWorkspaceUser, "user id", userID); err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, endpoint: EndpointRemoveWorkspaceUser,
		path: "/core/v1/workspaces/" + workspaceID + "/users/" + userID})
}
