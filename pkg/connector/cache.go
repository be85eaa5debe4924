package connector

import (
	"sync"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// syncCache holds what one sync may reuse: the SDK asks for a workspace's
// roles once for entitlements and again for grants, the user syncer needs
// the Organization workspace's id, and a page the SDK retries need not
// look up again what its first attempt already found. It is keyed by sync
// id and dropped when a new sync starts, so nothing survives from one sync
// to the next.
type syncCache struct {
	mu      sync.Mutex
	syncID  string
	roles   map[string]workspaceRoles
	orgWS   *orgWorkspace
	roster  roster
	lookups map[string]lookup
	// orgRoles are the organization roles this sync listed; complete once
	// the listing's last page was seen.
	orgRoles                          []client.Role
	orgRolesStarted, orgRolesComplete bool
}

// lookup is a per-item GET of a page whose attempt may fail as a whole.
type lookup struct {
	value any
	gone  bool // Tray answered 404: the item went away since the listing
}

// roster is every user's org role, in listing order, as the user listing
// of this sync saw it. Users' grants are served from it in pages, so the
// SDK makes one call per page instead of one per user. It is usable only
// when this process saw the whole listing, from its first page to its last.
type roster struct {
	entries  []rosterEntry
	started  bool
	broken   bool
	complete bool
}

type rosterEntry struct {
	userID    string
	orgRoleID string
}

type workspaceRoles struct {
	roles     []client.Role
	forbidden bool
}

type orgWorkspace struct {
	id   string
	name string
	// found is false when the token sees no Organization workspace.
	found bool
}

func newSyncCache() *syncCache {
	return &syncCache{roles: map[string]workspaceRoles{}, lookups: map[string]lookup{}}
}

// lock locks the cache for syncID, first dropping another sync's entries,
// and reports whether it did. The caller unlocks c.mu. The SDK always sends
// a sync id; an empty one is treated as one more id.
func (c *syncCache) lock(syncID string) bool {
	c.mu.Lock()
	if c.syncID == syncID {
		return false
	}
	c.syncID = syncID
	c.roles = map[string]workspaceRoles{}
	c.orgWS = nil
	c.roster = roster{}
	c.lookups = map[string]lookup{}
	c.orgRoles, c.orgRolesStarted, c.orgRolesComplete = nil, false, false
	return true
}

// addOrgRoles records one page of the organization role listing.
func (c *syncCache) addOrgRoles(syncID string, first, last bool, roles []client.Role) {
	c.lock(syncID)
	defer c.mu.Unlock()
	if first {
		c.orgRoles, c.orgRolesStarted, c.orgRolesComplete = nil, true, false
	}
	c.orgRoles = append(c.orgRoles, roles...)
	c.orgRolesComplete = c.orgRolesComplete || (last && c.orgRolesStarted)
}

func (c *syncCache) getOrgRoles(syncID string) ([]client.Role, bool) {
	c.lock(syncID)
	defer c.mu.Unlock()
	return c.orgRoles, c.orgRolesComplete
}

// rosterComplete reports whether this sync's user listing recorded every user.
func (c *syncCache) rosterComplete(syncID string) bool {
	c.lock(syncID)
	defer c.mu.Unlock()
	return c.roster.complete
}

func (c *syncCache) recall(syncID, key string) (lookup, bool) {
	c.lock(syncID)
	defer c.mu.Unlock()
	l, ok := c.lookups[key]
	return l, ok
}

func (c *syncCache) remember(syncID, key string, l lookup) {
	c.lock(syncID)
	defer c.mu.Unlock()
	c.lookups[key] = l
}

// forget drops the lookups of a page that completed: only a failed page
// keeps its lookups, for the SDK's retry of it.
func (c *syncCache) forget(syncID string, keys []string) {
	c.lock(syncID)
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.lookups, k)
	}
}

// switchTo starts using syncID and reports whether that is a change.
func (c *syncCache) switchTo(syncID string) bool {
	changed := c.lock(syncID)
	c.mu.Unlock()
	return changed
}

// addToRoster records one page of the user listing.
func (c *syncCache) addToRoster(syncID string, first, last bool, entries []rosterEntry) {
	c.lock(syncID)
	defer c.mu.Unlock()
	r := &c.roster
	switch {
	case first:
		*r = roster{started: true}
	case !r.started:
		// A listing resumed in this process: earlier pages are unknown.
		r.broken = true
	}
	r.entries = append(r.entries, entries...)
	if last && r.started && !r.broken {
		r.complete = true
	}
}

// rosterPage returns entries [offset, offset+n) of a complete roster.
func (c *syncCache) rosterPage(syncID string, offset, n int) ([]rosterEntry, bool, bool) {
	c.lock(syncID)
	defer c.mu.Unlock()
	if !c.roster.complete || offset > len(c.roster.entries) {
		return nil, false, false
	}
	end := min(offset+n, len(c.roster.entries))
	return c.roster.entries[offset:end], end >= len(c.roster.entries), true
}

func (c *syncCache) getRoles(syncID, workspaceID string) (workspaceRoles, bool) {
	c.lock(syncID)
	defer c.mu.Unlock()
	r, ok := c.roles[workspaceID]
	return r, ok
}

func (c *syncCache) putRoles(syncID, workspaceID string, r workspaceRoles) {
	c.lock(syncID)
	defer c.mu.Unlock()
	c.roles[workspaceID] = r
}

func (c *syncCache) getOrgWorkspace(syncID string) (orgWorkspace, bool) {
	c.lock(syncID)
	defer c.mu.Unlock()
	if c.orgWS == nil {
		return orgWorkspace{}, false
	}
	return *c.orgWS, true
}

func (c *syncCache) putOrgWorkspace(syncID string, o orgWorkspace) {
	c.lock(syncID)
	defer c.mu.Unlock()
	c.orgWS = &o
}
