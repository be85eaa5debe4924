package traysim

// The largest page each list serves; a larger `first` is answered 400
// (docs/tray-api-notes.md, "Paging"). They are Tray.ai's, written here and
// not taken from pkg/client: the client's page sizes are what the
// simulator checks, so they must not be where it gets its limits.
const (
	MaxPageUsers          = 1000
	MaxPageOrgRoles       = 1000
	MaxPageWorkspaces     = 100
	MaxPageWorkspaceRoles = 100
	MaxPageWorkspaceUsers = 100
)

// pages is how many requests list n items at most size a page; an empty
// list still costs one.
func pages(n, size int) int { return max(1, (n+size-1)/size) }

// FewestSyncRequests is the fewest requests this API lets a full sync of
// the organization make: one to check the token, every list at its
// largest page, and, in every shape but the full one, a GET per user and
// per membership, whose list items lack the email or the role. synced says
// which workspace types the sync covers; the Organization workspace's
// members are every user, known from the user list.
func (sn Snapshot) FewestSyncRequests(shape Shape, synced func(workspaceType string) bool) int {
	n := 1
	n += pages(len(sn.Users), MaxPageUsers)
	n += pages(len(sn.OrgRoles), MaxPageOrgRoles)
	n += pages(len(sn.Workspaces), MaxPageWorkspaces)
	for _, w := range sn.Workspaces {
		if !synced(w.Type) || w.Type == "Organization" {
			continue
		}
		n += pages(len(w.Roles), MaxPageWorkspaceRoles)
		n += pages(len(sn.Members[w.ID]), MaxPageWorkspaceUsers)
		if shape != ShapeFull {
			n += len(sn.Members[w.ID])
		}
	}
	if shape != ShapeFull {
		n += len(sn.Users)
	}
	return n
}

// FewestRefreshRequests is the fewest requests a targeted sync of one
// workspace needs: the token check, the workspace, its roles, the
// organization roles behind the implicit Admin grants, its member pages
// and, in every shape but the full one, a GET per member.
func (sn Snapshot) FewestRefreshRequests(shape Shape, w Workspace) int {
	n := 2 + pages(len(w.Roles), MaxPageWorkspaceRoles) + pages(len(sn.OrgRoles), MaxPageOrgRoles) +
		pages(len(sn.Members[w.ID]), MaxPageWorkspaceUsers)
	if shape != ShapeFull {
		n += len(sn.Members[w.ID])
	}
	return n
}
