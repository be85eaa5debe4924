package connector

import (
	"context"
	"strings"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// Tray.ai's role names (docs/tray-api-notes.md, "Roles"). Organization and
// workspace roles share the names Admin, Contributor and Viewer; only the
// organization has an Owner.
const (
	// ownerRoleName is the organization role of the one user who owns the
	// organization (and its billing); Tray lets nobody grant, change or
	// delete it.
	ownerRoleName = "Owner"
	// adminRoleName names the workspace role with full control of a
	// workspace, and the organization role that reaches every workspace.
	adminRoleName = "Admin"
)

func isOwnerName(name string) bool { return strings.EqualFold(name, ownerRoleName) }

func isOwner(r *client.Role) bool { return r != nil && isOwnerName(r.Name) }

func isAdminRole(r client.Role) bool { return strings.EqualFold(r.Name, adminRoleName) }

// reachesEveryWorkspace reports the organization roles whose holders
// Tray.ai lets into every workspace: Owner and Admin.
func reachesEveryWorkspace(r *client.Role) bool {
	return r != nil && (isOwner(r) || strings.EqualFold(r.Name, adminRoleName))
}

// roleRank orders Tray's role names by privilege, for organization and
// workspace roles alike; a name Tray adds later ranks 0 (unknown).
var roleRank = map[string]uint32{"viewer": 1, "contributor": 2, "admin": 3, "owner": 4}

func rankOf(name string) uint32 { return roleRank[strings.ToLower(name)] }

// reduces reports whether moving from one role to another could take
// access away; a role of unknown rank could be anything, so it counts.
func reduces(from, to string) bool {
	f, t := rankOf(from), rankOf(to)
	return f == 0 || t == 0 || t < f
}

// roleByID finds a role by its id.
func roleByID(roles []client.Role, id string) (client.Role, bool) {
	for _, r := range roles {
		if r.ID == id {
			return r, true
		}
	}
	return client.Role{}, false
}

// roleByName finds a role by its name, case-insensitively.
func roleByName(roles []client.Role, name string) (client.Role, bool) {
	for _, r := range roles {
		if strings.EqualFold(r.Name, name) {
			return r, true
		}
	}
	return client.Role{}, false
}

// roleByIDOrName finds the role a setting or a form names: by id or,
// failing that, by name.
func roleByIDOrName(roles []client.Role, idOrName string) (client.Role, bool) {
	if r, ok := roleByID(roles, idOrName); ok {
		return r, true
	}
	return roleByName(roles, idOrName)
}

// roleNames lists roles' names, for messages.
func roleNames(roles []client.Role) string {
	names := make([]string, 0, len(roles))
	for _, r := range roles {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}

// roleDisplayName is a role's name, or its id when Tray sent no name.
func roleDisplayName(name, id string) string {
	if name == "" {
		return id
	}
	return name
}

// allPages collects every element of a short listing (roles: a handful).
// Long listings are never collected: they page through the SDK instead.
func allPages[T any](fetch func(cursor string) (client.Page[T], error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		page, err := fetch(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Elements...)
		if cursor = page.NextCursor(); cursor == "" {
			return out, nil
		}
	}
}

// allOrgRoles lists the organization roles, fresh from Tray.
func allOrgRoles(ctx context.Context, cl *client.Client) ([]client.Role, error) {
	roles, err := allPages(func(cursor string) (client.Page[client.Role], error) {
		return cl.ListOrgRoles(ctx, cursor)
	})
	if err != nil {
		return nil, wrapf(err, "list organization roles")
	}
	return roles, nil
}

// allWorkspaceRoles lists a workspace's roles, fresh from Tray.
func allWorkspaceRoles(ctx context.Context, cl *client.Client, wsID string) ([]client.Role, error) {
	roles, err := allPages(func(cursor string) (client.Page[client.Role], error) {
		return cl.ListWorkspaceRoles(ctx, wsID, cursor)
	})
	if err != nil {
		return nil, wrapf(err, "list workspace roles %s", wsID)
	}
	return roles, nil
}
