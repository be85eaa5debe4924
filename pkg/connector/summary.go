package connector

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// progressInterval spaces progress lines so a long sync shows movement
// without flooding the log.
const progressInterval = 10 * time.Second

// Names of the listings a sync counts, as progress lines and the summary
// show them.
const (
	listingUsers                 = "users"
	listingOrgRoles              = "organization roles"
	listingWorkspaces            = "workspaces"
	listingWorkspaceEntitlements = "workspace entitlements"
	listingWorkspaceGrants       = "workspace grants"
)

// statsSnapshot is what a sync skipped and how far it got.
type statsSnapshot struct {
	// SkippedWorkspaces maps workspace id → reason, for workspaces whose
	// members or roles the token may not read.
	SkippedWorkspaces map[string]string
	// Pages and Items count list pages and items per listing.
	Pages map[string]int
	Items map[string]int
}

// syncStats counts one sync's pages, items and skipped workspaces, and
// logs its progress and its summary.
type syncStats struct {
	mu       sync.Mutex
	skipped  map[string]string
	pages    map[string]int
	items    map[string]int
	lastLog  map[string]time.Time
	now      func() time.Time
	interval time.Duration
	// pace reports the client's pace for the progress lines; nil logs none.
	pace func() client.PaceStats
}

func newSyncStats(pace func() client.PaceStats) *syncStats {
	return &syncStats{
		skipped: map[string]string{}, pages: map[string]int{}, items: map[string]int{},
		lastLog: map[string]time.Time{}, now: time.Now, interval: progressInterval, pace: pace,
	}
}

// page records one page of a listing and logs progress at info level, at
// most once per interval per listing (and always for the first page).
// done marks the end of a sync-wide listing, whose final count is logged;
// per-workspace listings pass false, or they would log once per workspace.
func (s *syncStats) page(l log, what string, items int, done bool) {
	s.mu.Lock()
	s.pages[what]++
	s.items[what] += items
	pages, total := s.pages[what], s.items[what]
	now := s.now()
	last, seen := s.lastLog[what]
	shouldLog := !seen || now.Sub(last) >= s.interval
	if shouldLog {
		s.lastLog[what] = now
	}
	s.mu.Unlock()
	if shouldLog || (done && pages > 1) {
		fields := []zap.Field{zap.String("listing", what), zap.Int("pages", pages), zap.Int("items", total)}
		if s.pace != nil {
			// Why a sync slowed down: Tray.ai answered 429 and the pace fell.
			p := s.pace()
			fields = append(fields, zap.Float64("pace_rps", math.Round(p.RequestsPerSecond*10)/10),
				zap.Float64("pace_ceiling_rps", p.Ceiling), zap.Int64("requests", p.Requests), zap.Int64("too_many_requests", p.TooMany))
		}
		l.Info("sync progress", fields...)
	}
}

// skip records a workspace the token may not read.
func (s *syncStats) skip(workspaceID, reason string) {
	s.mu.Lock()
	s.skipped[workspaceID] = reason
	s.mu.Unlock()
}

func (s *syncStats) snapshot() statsSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := statsSnapshot{SkippedWorkspaces: map[string]string{}, Pages: map[string]int{}, Items: map[string]int{}}
	for k, v := range s.skipped {
		out.SkippedWorkspaces[k] = v
	}
	for k, v := range s.pages {
		out.Pages[k] = v
	}
	for k, v := range s.items {
		out.Items[k] = v
	}
	return out
}

// logSummary logs what a sync that listed users, roles or workspaces
// found, and which workspaces it skipped.
func (s *syncStats) logSummary(l log) {
	snap := s.snapshot()
	if snap.Pages[listingUsers]+snap.Pages[listingOrgRoles]+snap.Pages[listingWorkspaces] == 0 {
		return
	}
	ids := make([]string, 0, len(snap.SkippedWorkspaces))
	for id := range snap.SkippedWorkspaces {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fields := []zap.Field{zap.Int("skipped_workspaces", len(ids)), zap.Any("items", snap.Items), zap.Any("pages", snap.Pages)}
	sentence := fmt.Sprintf("sync summary: %d users, %d organization roles and %d workspaces, with %d workspace grants",
		snap.Items[listingUsers], snap.Items[listingOrgRoles], snap.Items[listingWorkspaces], snap.Items[listingWorkspaceGrants])
	if len(ids) > 0 {
		fields = append(fields, zap.Strings("skipped_workspace_ids", ids))
		l.Warn(fmt.Sprintf("%s; %d workspaces were skipped because the API user may not read them: give it the Admin organization role to include them",
			sentence, len(ids)), fields...)
		return
	}
	l.Info(sentence+"; no workspace was skipped", fields...)
}
