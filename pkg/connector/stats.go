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

// statsSnapshot is what a sync skipped and how far it got.
type statsSnapshot struct {
	// SkippedWorkspaces maps workspace id → reason, for workspaces whose
	// members or roles the token may not read.
	SkippedWorkspaces map[string]string
	// Pages and Items count list pages and items per resource type and phase.
	Pages map[string]int
	Items map[string]int
}

type syncStats struct {
	mu sync.Mutex
	// workspacesListed and workspacesDone tell when the last workspace's
	// grants are in, which is when the summary is logged: the SDK has no
	// end-of-sync hook for connectors.
	workspacesListed int
	listingDone      bool
	workspacesDone   int
	summarized       bool
	skipped          map[string]string
	pages            map[string]int
	items            map[string]int
	lastLog          map[string]time.Time
	now              func() time.Time
	interval         time.Duration
	// pace reports the client's pace for the progress lines; nil logs none.
	pace func() client.PaceStats
}

func newSyncStats() *syncStats {
	return &syncStats{
		skipped: map[string]string{}, pages: map[string]int{}, items: map[string]int{},
		lastLog: map[string]time.Time{}, now: time.Now, interval: progressInterval,
	}
}

// page records one page of a listing and logs progress at info level, at
// most once per interval per listing (and always for the first page).
// done marks the end of a sync-wide listing, whose final count is logged;
// per-workspace listings pass false, or they would log once per workspace.
func (s *syncStats) page(l *zap.Logger, what string, items int, done bool) {
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
		l.Info("baton-trayai: sync progress", fields...)
	}
}

// workspacesFound counts workspaces from the listing; last marks its end.
func (s *syncStats) workspacesFound(n int, last bool) {
	s.mu.Lock()
	s.workspacesListed += n
	s.listingDone = s.listingDone || last
	s.mu.Unlock()
}

// workspaceDone counts a workspace whose grants are complete and logs the
// summary after the last one.
func (s *syncStats) workspaceDone(l *zap.Logger) {
	s.mu.Lock()
	s.workspacesDone++
	last := s.listingDone && !s.summarized && s.workspacesDone >= s.workspacesListed
	if last {
		s.summarized = true
	}
	s.mu.Unlock()
	if last {
		s.logSummary(l)
	}
}

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

// reset starts the counters of a new sync.
func (s *syncStats) reset() {
	s.mu.Lock()
	s.skipped = map[string]string{}
	s.pages = map[string]int{}
	s.items = map[string]int{}
	s.lastLog = map[string]time.Time{}
	s.workspacesListed, s.workspacesDone = 0, 0
	s.listingDone, s.summarized = false, false
	s.mu.Unlock()
}

func (s *syncStats) logSummaryOnce(l *zap.Logger) {
	s.mu.Lock()
	done := s.summarized
	s.summarized = true
	s.mu.Unlock()
	if !done {
		s.logSummary(l)
	}
}

func (s *syncStats) logSummary(l *zap.Logger) {
	snap := s.snapshot()
	if len(snap.Pages) == 0 {
		return
	}
	ids := make([]string, 0, len(snap.SkippedWorkspaces))
	for id := range snap.SkippedWorkspaces {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fields := []zap.Field{zap.Int("skipped_workspaces", len(ids)), zap.Any("items", snap.Items), zap.Any("pages", snap.Pages)}
	sentence := fmt.Sprintf("baton-trayai: sync summary: %d users, %d organization roles and %d workspaces, with %d workspace grants",
		snap.Items["users"], snap.Items["organization roles"], snap.Items["workspaces"], snap.Items["workspace grants"])
	if len(ids) > 0 {
		fields = append(fields, zap.Strings("skipped_workspace_ids", ids))
		l.Warn(fmt.Sprintf("%s; %d workspaces were skipped because the API user may not read them: give it the Admin organization role to include them",
			sentence, len(ids)), fields...)
		return
	}
	l.Info(sentence+"; no workspace was skipped", fields...)
}
