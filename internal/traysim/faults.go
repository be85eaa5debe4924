package traysim

import (
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// Faults are deliberate misbehaviours, for reliability tests.
type Faults struct {
	// RateLimit enables a token bucket of this many requests per second
	// (Tray's documented limit is 30, bursting to 50); 0 disables it.
	RateLimit float64
	// Burst is the bucket size; 0 means 50.
	Burst int
	// CompetitorRPS spends this many requests a second from the same
	// bucket, as another integration of the organization would; with no
	// RateLimit it spends nothing.
	CompetitorRPS float64
	// TooManyEvery answers every n-th request with a 429, deterministically.
	TooManyEvery int
	// RetryAfter adds a Retry-After header to 429s: "" (none, as Tray
	// documents), "seconds" or "http-date".
	RetryAfter string
	// ServerErrorRate is the probability that a request fails with a 5xx
	// before it is processed.
	ServerErrorRate float64
	// MalformedRate is the probability that a GET gets a 200 whose body is
	// unusable: truncated JSON, an HTML page or the wrong content type.
	MalformedRate float64
	// Latency is added to every request.
	Latency time.Duration
	// ForbiddenWorkspaces answer 403 on their member and role listings.
	ForbiddenWorkspaces map[string]bool
	// RepeatCursor makes list endpoints hand back the cursor they were given.
	RepeatCursor bool
	// RevokeAfter revokes the token of the request that follows the first
	// RevokeAfter requests, as an admin revoking it mid-sync would.
	RevokeAfter int
	// HTMLWrites answers every write that succeeds with 200 and an HTML
	// page, as a proxy in front of Tray might: "applied" after Tray made
	// the change, "dropped" without passing the write on at all.
	HTMLWrites string
	// Seed makes the random faults reproducible.
	Seed uint64
}

// SetFaults replaces the active faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopCompetitor != nil {
		s.stopCompetitor()
		s.stopCompetitor = nil
	}
	s.faults = f
	s.rng = rand.New(rand.NewPCG(f.Seed, f.Seed+1)) //nolint:gosec // reproducible faults
	s.limiter = nil
	if f.RateLimit > 0 {
		burst := f.Burst
		if burst == 0 {
			burst = 50
		}
		s.limiter = rate.NewLimiter(rate.Limit(f.RateLimit), burst)
		if f.CompetitorRPS > 0 {
			s.stopCompetitor = s.compete(s.limiter, f.CompetitorRPS)
		}
	}
}

// CompetitorStats counts the competing client's requests.
type CompetitorStats struct {
	Served int
}

// Competitor returns what the competing client has spent so far.
func (s *Server) Competitor() CompetitorStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.competitor
}

// compete spends rps requests a second from the bucket until stopped. Its
// requests are served whatever the bucket holds (a reservation borrows
// from the tokens to come), so it really spends rps of the budget, and the
// connector shares what is left.
func (s *Server) compete(bucket *rate.Limiter, rps float64) func() {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Duration(float64(time.Second) / rps))
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				s.mu.Lock()
				bucket.Reserve()
				s.competitor.Served++
				s.mu.Unlock()
			}
		}
	}()
	return func() { close(done) }
}

// Close stops the competing client, if any.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopCompetitor != nil {
		s.stopCompetitor()
		s.stopCompetitor = nil
	}
}

// writeTooManyRequests answers 429, with the Retry-After the faults ask for.
func (s *Server) writeTooManyRequests(w http.ResponseWriter) {
	switch s.faultsSnapshot().RetryAfter {
	case "seconds":
		w.Header().Set("Retry-After", "1")
	case "http-date":
		w.Header().Set("Retry-After", s.opts.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
	}
	writeJSON(w, http.StatusTooManyRequests, struct {
		Message string `json:"message"`
	}{"Too Many Requests"})
}

func (s *Server) faultsSnapshot() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

func writeMalformed(w http.ResponseWriter, kind int) {
	switch kind {
	case 0:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"elements":[{"id":"trunc`)
	case 1:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	default:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"elements":[],"pageInfo":{"hasNextPage":false,"hasPreviousPage":false}}`)
	}
}

// writeProxyPage answers 200 with the page a captive or misconfigured
// proxy sends instead of Tray's JSON.
func writeProxyPage(w http.ResponseWriter) int {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "<html><head><title>Access gateway</title></head><body>Your request is being processed.</body></html>")
	return http.StatusOK
}
