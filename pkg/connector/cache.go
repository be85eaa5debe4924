package connector

import (
	"sync"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// syncCache holds what one sync may reuse: the SDK asks for a workspace's
// roles once for entitlements and again for grants, and the user syncer
// needs the Organization workspace's id. It is keyed by sync id and dropped
// when a new sync starts, so nothing survives from one sync to the next.
type syncCache struct {
	mu     sync.Mutex
	syncID string
	roles  map[string]workspaceRoles
	orgWS  *orgWorkspace
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

func newSyncCache() *syncCache { return &syncCache{roles: map[string]workspaceRoles{}} }

// switchTo starts using syncID and reports whether that is a change.
func (c *syncCache) switchTo(syncID string) bool {
	c.mu.Lock()
	changed := c.syncID != syncID
	c.mu.Unlock()
	c.use(syncID)
	return changed
}

// use switches the cache to syncID, dropping entries of another sync. The
// SDK always sends a sync id; an empty one is treated as one more id, so a
// caller without ids still gets one lookup per workspace, not one per user.
func (c *syncCache) use(syncID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.syncID != syncID {
		c.syncID = syncID
		c.roles = map[string]workspaceRoles{}
		c.orgWS = nil
	}
	return true
}

func (c *syncCache) getRoles(syncID, workspaceID string) (workspaceRoles, bool) {
	if !c.use(syncID) {
		return workspaceRoles{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.roles[workspaceID]
	return r, ok
}

func (c *syncCache) putRoles(syncID, workspaceID string, r workspaceRoles) {
	if !c.use(syncID) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.roles[workspaceID] = r
}

func (c *syncCache) getOrgWorkspace(syncID string) (orgWorkspace, bool) {
	if !c.use(syncID) {
		return orgWorkspace{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.orgWS == nil {
		return orgWorkspace{}, false
	}
	return *c.orgWS, true
}

func (c *syncCache) putOrgWorkspace(syncID string, o orgWorkspace) {
	if !c.use(syncID) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.orgWS = &o
}
