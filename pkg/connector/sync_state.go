package connector

import (
	"context"
	"sync"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// syncs knows the sync in progress and holds its state. Every syncer call
// of a sync asks it for the state of that sync by id (state); nothing
// survives from one sync to the next. Provisioning runs outside any sync
// and never asks.
type syncs struct {
	// pace reports the client's pace, for progress lines.
	pace func() client.PaceStats

	mu      sync.Mutex
	id      string
	current *syncState
}

func newSyncs(pace func() client.PaceStats) *syncs { return &syncs{pace: pace} }

// state returns the state of the sync syncID. This is where a new sync is
// noticed: a sync id other than the one in progress means that sync is
// over, so it ends (its summary is logged, if it has not been) and the new
// sync starts with nothing cached and nothing counted.
func (s *syncs) state(ctx context.Context, syncID string) *syncState {
	s.mu.Lock()
	previous := s.current
	started := previous == nil || s.id != syncID
	if started {
		s.id, s.current = syncID, newSyncState(syncID, s.pace)
	}
	st := s.current
	s.mu.Unlock()
	if started && previous != nil {
		previous.end(ctx)
	}
	return st
}

// end ends the sync in progress, if any.
func (s *syncs) end(ctx context.Context) {
	s.mu.Lock()
	st := s.current
	s.mu.Unlock()
	if st != nil {
		st.end(ctx)
	}
}

// last is the state of the latest sync, or nil before any.
func (s *syncs) last() *syncState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// syncState is what one sync may reuse, and what it counts: the SDK asks
// for a workspace's roles once for entitlements and again for grants, the
// user syncer needs the Organization workspace's id, the role and
// workspace syncers the roster the user listing saw, and a page the SDK
// retries need not look up again what its first attempt already found.
type syncState struct {
	id string
	// stats counts pages and items for the progress lines and the summary.
	stats *syncStats
	// users and members memoise the per-item lookups of pages.
	users   *memo[string, client.User]
	members *memo[memberKey, client.WorkspaceUser]

	mu    sync.Mutex
	roles map[string]workspaceRoles // workspace id → its roles
	orgWS *orgWorkspace             // nil until known
	// roster is every user's org role, in listing order, as this sync's
	// listings of users saw it: users' grants are served from it in pages.
	roster listing[rosterEntry]
	// usersListedAll is true once the user listing itself completed the
	// roster, so that the user syncer serves every user's grants.
	usersListedAll bool
	orgRoles       listing[client.Role]
	workspaces     workspaceProgress
	ended          bool
}

func newSyncState(syncID string, pace func() client.PaceStats) *syncState {
	return &syncState{
		id:      syncID,
		stats:   newSyncStats(pace),
		users:   newMemo[string, client.User](),
		members: newMemo[memberKey, client.WorkspaceUser](),
		roles:   map[string]workspaceRoles{},
	}
}

// workspaceRoles returns a workspace's roles, if this sync read them.
func (s *syncState) workspaceRoles(workspaceID string) (workspaceRoles, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.roles[workspaceID]
	return r, ok
}

// keepWorkspaceRoles remembers a workspace's roles for the rest of the sync.
func (s *syncState) keepWorkspaceRoles(workspaceID string, r workspaceRoles) {
	s.mu.Lock()
	s.roles[workspaceID] = r
	s.mu.Unlock()
}

// organizationWorkspace returns the Organization workspace, if this sync
// has found it or knows there is none.
func (s *syncState) organizationWorkspace() (orgWorkspace, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.orgWS == nil {
		return orgWorkspace{}, false
	}
	return *s.orgWS, true
}

// keepOrganizationWorkspace remembers the Organization workspace, or that
// the token sees none (found false).
func (s *syncState) keepOrganizationWorkspace(o orgWorkspace) {
	s.mu.Lock()
	s.orgWS = &o
	s.mu.Unlock()
}

// listedUsers records a page of the user listing in the roster; the user
// listing that completes the roster makes the user syncer the one that
// emits every user's org-role and Organization-workspace grants.
func (s *syncState) listedUsers(first, last bool, entries []rosterEntry) {
	s.mu.Lock()
	s.roster.add(first, last, entries)
	s.usersListedAll = s.roster.complete
	s.mu.Unlock()
}

// listedRoster records a page of users listed for their grants by anyone
// but the user listing (see roster.go).
func (s *syncState) listedRoster(first, last bool, entries []rosterEntry) {
	s.mu.Lock()
	s.roster.add(first, last, entries)
	s.mu.Unlock()
}

// rosterPage returns entries [offset, offset+n) of the roster, whether
// they are the last, and whether the roster is complete enough to serve.
func (s *syncState) rosterPage(offset, n int) ([]rosterEntry, bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roster.page(offset, n)
}

// listedAllUsers reports whether this sync's user listing saw every user.
func (s *syncState) listedAllUsers() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usersListedAll
}

// listedOrgRoles records a page of the organization roles.
func (s *syncState) listedOrgRoles(first, last bool, roles []client.Role) {
	s.mu.Lock()
	s.orgRoles.add(first, last, roles)
	s.mu.Unlock()
}

// organizationRoles returns the organization roles, if this sync listed
// all of them.
func (s *syncState) organizationRoles() ([]client.Role, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.orgRoles.complete {
		return nil, false
	}
	return s.orgRoles.items, true
}

// listedWorkspaces counts n synced workspaces of a page of the workspace
// listing; last marks its end, after which a token that saw no
// Organization workspace sees none.
func (s *syncState) listedWorkspaces(n int, last bool) {
	s.mu.Lock()
	s.workspaces.listed += n
	if last {
		s.workspaces.listingDone = true
		if s.orgWS == nil {
			s.orgWS = &orgWorkspace{}
		}
	}
	s.mu.Unlock()
}

// workspaceGrantsDone counts a workspace whose grants are complete. After
// the last workspace of a full sync, the sync has nothing left to ask of
// Tray.ai, and it ends.
func (s *syncState) workspaceGrantsDone(ctx context.Context) {
	s.mu.Lock()
	s.workspaces.done++
	last := s.workspaces.listingDone && s.workspaces.done >= s.workspaces.listed
	s.mu.Unlock()
	if last {
		s.end(ctx)
	}
}

// end is the end of the sync: the one place its summary is logged, once.
// The SDK tells a connector of no end of sync, so a sync ends when the
// grants of its last workspace are in, when the next sync starts, or when
// the connector closes, whichever comes first. A sync that listed no
// users, roles or workspaces (a targeted one) has no summary.
func (s *syncState) end(ctx context.Context) {
	s.mu.Lock()
	ended := s.ended
	s.ended = true
	s.mu.Unlock()
	if !ended {
		s.stats.logSummary(logger(ctx))
	}
}

// workspaceProgress tells when the last workspace's grants are in.
type workspaceProgress struct {
	listed, done int
	listingDone  bool
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

// workspaceRoles are a workspace's roles, or that the token may not read
// them.
type workspaceRoles struct {
	roles     []client.Role
	forbidden bool
}
