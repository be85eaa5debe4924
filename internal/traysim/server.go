package traysim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

var (
	pathIDPattern = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)
	uuidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	emailPattern  = regexp.MustCompile("^[a-zA-Z0-9\\.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")
)

// Options configures a Server.
type Options struct {
	Org   OrgOptions
	Shape Shape
	// HidePersonalWorkspaces leaves Personal workspaces out of
	// GET /core/v1/workspaces (whether Tray lists them is undocumented).
	HidePersonalWorkspaces bool
	// DeleteCreatesWorkspace reproduces Tray's documented side effect of a
	// user deletion: a Shared workspace named after the user, holding the
	// deleting API user.
	DeleteCreatesWorkspace bool
	// InviteDailyLimit is the per-organization invitation cap (Tray: 100).
	InviteDailyLimit int
	// PageSizeCap, when set, makes every page at most this long whatever
	// `first` asks for, to exercise multi-page listings with small data.
	PageSizeCap int
	Now         func() time.Time
}

// Server is an in-memory Tray.ai API. It is safe for concurrent use.
type Server struct {
	mu      sync.Mutex
	st      *state
	opts    Options
	faults  Faults
	limiter *rate.Limiter
	rng     *rand.Rand
	// stopCompetitor ends the competing client of the current faults.
	stopCompetitor func()
	competitor     CompetitorStats
	counts         map[string]int
	status         map[int]int
	served         int
	// received counts every request, also those no route matches.
	received int
	mux      *http.ServeMux
}

// New returns a server seeded with a generated organization.
func New(opts Options) *Server {
	if opts.InviteDailyLimit == 0 {
		opts.InviteDailyLimit = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{st: newState(opts.Org.Seed), opts: opts, counts: map[string]int{}, status: map[int]int{}}
	s.st.seedOrg(opts.Org)
	s.SetFaults(Faults{})
	s.routes()
	return s
}

// NewDefault returns the demo organization in the given shape.
func NewDefault(shape Shape) *Server {
	return New(Options{Org: DefaultOrgOptions, Shape: shape, DeleteCreatesWorkspace: true})
}

// SetShape switches the list shape.
func (s *Server) SetShape(shape Shape) {
	s.mu.Lock()
	s.opts.Shape = shape
	s.mu.Unlock()
}

// Counts returns the number of requests per route template, and the number
// of answers per HTTP status.
func (s *Server) Counts() (map[string]int, map[int]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		c[k] = v
	}
	st := make(map[int]int, len(s.status))
	for k, v := range s.status {
		st[k] = v
	}
	return c, st
}

// ResetCounts zeroes the request counters.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	s.counts = map[string]int{}
	s.status = map[int]int{}
	s.mu.Unlock()
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.received++
	s.mu.Unlock()
	s.mux.ServeHTTP(w, r)
}

// Requests is the number of requests received, whatever their path.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

type handler func(w http.ResponseWriter, r *http.Request, tok Token) (int, any)

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	add := func(pattern string, h handler) {
		s.mux.HandleFunc(pattern, s.wrap(pattern, h))
	}
	add("POST /core/v1/invites", s.inviteUser)
	add("GET /core/v1/roles", s.listOrgRoles)
	add("GET /core/v1/users", s.listUsers)
	add("POST /core/v1/users", s.createUser)
	add("GET /core/v1/users/{userId}", s.getUser)
	add("DELETE /core/v1/users/{userId}", s.deleteUser)
	add("PUT /core/v1/users/{userId}/roles", s.setOrgRole)
	add("GET /core/v1/workspaces", s.listWorkspaces)
	add("GET /core/v1/workspaces/{workspaceId}", s.getWorkspace)
	add("GET /core/v1/workspaces/{workspaceId}/roles", s.listWorkspaceRoles)
	add("GET /core/v1/workspaces/{workspaceId}/users", s.listWorkspaceUsers)
	add("POST /core/v1/workspaces/{workspaceId}/users", s.addWorkspaceUser)
	add("GET /core/v1/workspaces/{workspaceId}/users/{userId}", s.getWorkspaceUser)
	add("PUT /core/v1/workspaces/{workspaceId}/users/{userId}", s.setWorkspaceRole)
	add("DELETE /core/v1/workspaces/{workspaceId}/users/{userId}", s.removeWorkspaceUser)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, msg("Not Found"))
	})
}

type errBody struct {
	Message string  `json:"message"`
	Code    *string `json:"code"`
}

func msg(m string) errBody { return errBody{Message: m} }

// wrap applies latency, faults, rate limiting, authentication and path-id
// validation, then runs the handler under the state lock.
func (s *Server) wrap(pattern string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f := s.faults
		s.counts[pattern]++
		s.served++
		if f.RevokeAfter > 0 && s.served == f.RevokeAfter+1 {
			delete(s.st.tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}
		limited := (s.limiter != nil && !s.limiter.Allow()) || (f.TooManyEvery > 0 && s.served%f.TooManyEvery == 0)
		fail := f.ServerErrorRate > 0 && s.rng.Float64() < f.ServerErrorRate
		malformed := r.Method == http.MethodGet && f.MalformedRate > 0 && s.rng.Float64() < f.MalformedRate
		malformedKind := s.rng.IntN(3)
		s.mu.Unlock()

		if f.Latency > 0 {
			time.Sleep(f.Latency)
		}
		code := s.serve(w, r, pattern, h, limited, fail, malformed, malformedKind)
		s.mu.Lock()
		s.status[code]++
		s.mu.Unlock()
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, pattern string, h handler, limited, fail, malformed bool, malformedKind int) int {
	tok, code := s.admit(w, r, pattern, limited, fail)
	if code != 0 {
		return code
	}
	s.mu.Lock()
	htmlWrites := r.Method != http.MethodGet && s.faults.HTMLWrites != ""
	if htmlWrites && s.faults.HTMLWrites == "dropped" {
		s.mu.Unlock()
		return writeProxyPage(w)
	}
	code, body := h(w, r, tok)
	s.mu.Unlock()
	if malformed && code == http.StatusOK {
		writeMalformed(w, malformedKind)
		return code
	}
	if htmlWrites && code >= 200 && code < 300 {
		return writeProxyPage(w)
	}
	if body == nil {
		w.WriteHeader(code)
		return code
	}
	writeJSON(w, code, body)
	return code
}

// admit answers a request its handler never sees: a server error, a 429,
// a token Tray does not accept, or a path id that does not match Tray's
// pattern. It returns the request's token, or the status it answered.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, pattern string, limited, fail bool) (Token, int) {
	// A server error is decided first, so a seeded fault sequence is not
	// swallowed by whichever requests the rate limit happens to reject.
	if fail {
		code := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[len(r.URL.Path)%3]
		writeJSON(w, code, msg("Internal Error"))
		return Token{}, code
	}
	if limited {
		s.writeTooManyRequests(w)
		return Token{}, http.StatusTooManyRequests
	}
	tok, ok := s.authenticate(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, msg("Unauthorized"))
		return Token{}, http.StatusUnauthorized
	}
	for _, name := range []string{"userId", "workspaceId"} {
		if v := r.PathValue(name); strings.Contains(pattern, "{"+name+"}") && !pathIDPattern.MatchString(v) {
			writeJSON(w, http.StatusBadRequest, msg(fmt.Sprintf("Invalid input: %s does not match ^[a-zA-Z0-9-]+$", name)))
			return Token{}, http.StatusBadRequest
		}
	}
	return tok, 0
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

var forbidden = msg("Forbidden")
