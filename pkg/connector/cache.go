package connector

import (
	"sync"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// syncCache holds what one sync may reuse: the SDK asks for a workspace's
// roles once for entitlements and again for grants, the user syncer needs
// the Organization workspace's id, the role and workspace syncers the
// roster the user listing saw, and a page the SDK retries need not look up
// again what its first attempt already found. It is keyed by sync id and
// replaced when another sync starts, so nothing survives from one sync to
// the next.
type syncCache struct {
	mu     sync.Mutex
	syncID string
	state  *syncState
}

// syncState is what one sync may reuse.
type syncState struct {
	roles map[string]workspaceRoles // workspace id → its roles
	orgWS *orgWorkspace
	// roster is every user's org role, in listing order, as the user
	// listing of this sync saw it: users' grants are served from it in
	// pages, without a request.
	roster listing[rosterEntry]
	// usersListedAll is true once the user listing itself completed the
	// roster, so that the user syncer serves every user's grants.
	usersListedAll bool
	orgRoles       listing[client.Role]
	lookups        map[string]lookup // per-item GETs of a page that may be retried
}

// with runs f, if any, on the state of syncID under the cache's lock, and
// reports whether syncID was new: then the previous sync's state is gone.
func (c *syncCache) with(syncID string, f func(*syncState)) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	fresh := c.state == nil || c.syncID != syncID
	if fresh {
		c.syncID = syncID
		c.state = &syncState{roles: map[string]workspaceRoles{}, lookups: map[string]lookup{}}
	}
	if f != nil {
		f(c.state)
	}
	return fresh
}

// listing is a sync-wide listing recorded page by page. It is complete,
// and so usable, only when this process saw it from its first page to its
// last: a listing resumed after a restart has lost its earlier pages.
type listing[T any] struct {
	items                     []T
	started, broken, complete bool
}

// add records one page of the listing.
func (l *listing[T]) add(first, last bool, items []T) {
	switch {
	case first:
		*l = listing[T]{started: true}
	case !l.started:
		l.broken = true
	}
	l.items = append(l.items, items...)
	l.complete = l.complete || (last && l.started && !l.broken)
}

// page returns items [offset, offset+n) of a complete listing, and
// whether they are the last.
func (l *listing[T]) page(offset, n int) ([]T, bool, bool) {
	if !l.complete || offset > len(l.items) {
		return nil, false, false
	}
	end := min(offset+n, len(l.items))
	return l.items[offset:end], end >= len(l.items), true
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

// lookup is a per-item GET of a page whose attempt may fail as a whole.
type lookup struct {
	value any
	gone  bool // Tray answered 404: the item went away since the listing
}

func newSyncCache() *syncCache { return &syncCache{} }
