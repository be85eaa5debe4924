package traysim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
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
	// A server error is decided first, so a seeded fault sequence is not
	// swallowed by whichever requests the rate limit happens to reject.
	if fail {
		code := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[len(r.URL.Path)%3]
		writeJSON(w, code, msg("Internal Error"))
		return code
	}
	if limited {
		switch s.faultsSnapshot().RetryAfter {
		case "seconds":
			w.Header().Set("Retry-After", "1")
		case "http-date":
			w.Header().Set("Retry-After", s.opts.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
		}
		writeJSON(w, http.StatusTooManyRequests, struct {
			Message string `json:"message"`
		}{"Too Many Requests"})
		return http.StatusTooManyRequests
	}
	tok, ok := s.authenticate(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, msg("Unauthorized"))
		return http.StatusUnauthorized
	}
	for _, name := range []string{"userId", "workspaceId"} {
		if v := r.PathValue(name); strings.Contains(pattern, "{"+name+"}") && !pathIDPattern.MatchString(v) {
			writeJSON(w, http.StatusBadRequest, msg(fmt.Sprintf("Invalid input: %s does not match ^[a-zA-Z0-9-]+$", name)))
			return http.StatusBadRequest
		}
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

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// authenticate finds the request's token and what it may do now. An API
// user's token acts with that user's current organization role, as Tray's
// RBAC tokens do: it stops working when the user is deleted, and loses the
// organization-wide rights (listing users, roles…) with the Admin role.
func (s *Server) authenticate(r *http.Request) (Token, bool) {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return Token{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.st.tokens[raw]
	if !ok || tok.UserID == "" || tok.Kind == TokenWorkspace {
		return tok, ok
	}
	u := s.st.user(tok.UserID)
	if u == nil {
		return Token{}, false
	}
	switch s.st.orgRole(u.OrgRoleID).Name {
	case RoleOwner, RoleAdmin:
		tok.Kind = TokenOrgAdmin
	default:
		tok.Kind = TokenOrgViewer
	}
	return tok, true
}

// Authorization levels from §2 of the reference.
func orgAdmin(t Token) bool  { return t.Kind == TokenOrgAdmin || t.Kind == TokenMaster }
func orgScoped(t Token) bool { return t.Kind != TokenWorkspace }

func wsViewer(t Token, wsID string) bool {
	return orgScoped(t) || t.WorkspaceID == wsID
}

func wsAdmin(t Token, wsID string) bool {
	return orgAdmin(t) || (t.Kind == TokenWorkspace && t.WorkspaceID == wsID && t.RoleName == RoleAdmin)
}

var forbidden = msg("Forbidden")

// ---- pagination

type cursor struct {
	List   string `json:"l"`
	Offset int    `json:"o"`
}

func encodeCursor(list string, offset int) string {
	b, _ := json.Marshal(cursor{List: list, Offset: offset})
	return base64.RawURLEncoding.EncodeToString(b)
}

type pageJSON struct {
	Elements []any       `json:"elements"`
	PageInfo pageInfoOut `json:"pageInfo"`
}

type pageInfoOut struct {
	StartCursor     string `json:"startCursor,omitempty"`
	EndCursor       string `json:"endCursor,omitempty"`
	HasNextPage     bool   `json:"hasNextPage"`
	HasPreviousPage bool   `json:"hasPreviousPage"`
}

// paginate serves the window of n items that the request's first/cursor
// select, enforcing the endpoint's maximum like a strict server would.
// Only the window's items are built, so a large organization costs no more
// per page than a small one.
func (s *Server) paginate(r *http.Request, list string, maxSize, n int, item func(i int) any) (int, any) {
	q := r.URL.Query()
	size := min(100, maxSize)
	if v := q.Get("first"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > maxSize {
			return http.StatusBadRequest, msg(fmt.Sprintf("Invalid input: first must be between 1 and %d", maxSize))
		}
		size = n
	}
	if s.opts.PageSizeCap > 0 {
		size = min(size, s.opts.PageSizeCap)
	}
	offset := 0
	if c := q.Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		var cur cursor
		if err != nil || json.Unmarshal(raw, &cur) != nil || cur.List != list || cur.Offset < 0 || cur.Offset > n {
			return http.StatusBadRequest, msg("Invalid input: invalid cursor")
		}
		offset = cur.Offset
	}
	end := min(offset+size, n)
	out := pageJSON{Elements: make([]any, 0, end-offset)}
	for i := offset; i < end; i++ {
		out.Elements = append(out.Elements, item(i))
	}
	out.PageInfo.HasNextPage = end < n
	out.PageInfo.HasPreviousPage = offset > 0
	if end > offset {
		out.PageInfo.StartCursor = encodeCursor(list, offset)
		out.PageInfo.EndCursor = encodeCursor(list, end)
	}
	if s.faults.RepeatCursor && out.PageInfo.HasNextPage && q.Get("cursor") != "" {
		out.PageInfo.EndCursor = q.Get("cursor")
	}
	return http.StatusOK, out
}

// ---- JSON shapes

type roleJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type userJSON struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	AccountType string    `json:"accountType"`
	Role        *roleJSON `json:"role"`
}

type minimalUserJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type workspaceJSON struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Type             string `json:"type"`
	Description      string `json:"description"`
	MonthlyTaskLimit int64  `json:"monthlyTaskLimit"`
}

type workspaceUserJSON struct {
	WorkspaceID string    `json:"workspaceId"`
	ID          string    `json:"id"`
	Email       string    `json:"email,omitempty"`
	AccountType string    `json:"accountType"`
	Role        *roleJSON `json:"role"`
}

type minimalWorkspaceUserJSON struct {
	ID string `json:"id"`
}

// specItemJSON is the workspace model Tray's spec declares for every list.
type specItemJSON struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Type             any    `json:"type"`
	Description      string `json:"description"`
	MonthlyTaskLimit int64  `json:"monthlyTaskLimit"`
}

type thirdPartyUserJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	Status string `json:"status"`
}

func (s *Server) userOut(u *User) userJSON {
	out := userJSON{ID: u.ID, Email: u.Email, Name: u.Name, AccountType: u.AccountType}
	if r := s.st.orgRole(u.OrgRoleID); r != nil {
		out.Role = &roleJSON{ID: r.ID, Name: r.Name}
	}
	return out
}

func wsOut(w *Workspace) workspaceJSON {
	return workspaceJSON{ID: w.ID, Name: w.Name, Type: w.Type, Description: w.Description, MonthlyTaskLimit: w.MonthlyTaskLimit}
}

// effectiveMembers is the member list of a workspace. The Organization
// workspace holds every org user, with the workspace role named like their
// org role (Owner maps to Admin).
func (s *Server) effectiveMembers(w *Workspace) ([]string, map[string]string) {
	if w.Type != "Organization" {
		return s.st.memberOrder[w.ID], s.st.members[w.ID]
	}
	ids := make([]string, 0, len(s.st.users))
	roles := make(map[string]string, len(s.st.users))
	for _, u := range s.st.users {
		name := s.st.orgRole(u.OrgRoleID).Name
		if name == RoleOwner {
			name = RoleAdmin
		}
		ids = append(ids, u.ID)
		roles[u.ID] = w.roleByName(name).ID
	}
	return ids, roles
}

func (s *Server) memberOut(w *Workspace, u *User, roleID string) workspaceUserJSON {
	out := workspaceUserJSON{WorkspaceID: w.ID, ID: u.ID, Email: u.Email, AccountType: u.AccountType}
	if r := w.role(roleID); r != nil {
		out.Role = &roleJSON{ID: r.ID, Name: r.Name}
	}
	return out
}

// ---- read handlers

func (s *Server) listOrgRoles(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgAdmin(tok) {
		return http.StatusForbidden, forbidden
	}
	return s.paginate(r, "roles", 1000, len(s.st.orgRoles), func(i int) any { return roleJSON(s.st.orgRoles[i]) })
}

func (s *Server) listUsers(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgAdmin(tok) {
		return http.StatusForbidden, forbidden
	}
	email := r.URL.Query().Get("email")
	if email != "" && !emailPattern.MatchString(email) {
		return http.StatusBadRequest, msg("Invalid input: email")
	}
	users := s.st.users
	if email != "" {
		users = nil
		for _, u := range s.st.users {
			if strings.EqualFold(u.Email, email) {
				users = append(users, u)
			}
		}
	}
	return s.paginate(r, "users:"+strings.ToLower(email), 1000, len(users), func(i int) any {
		u := users[i]
		switch s.opts.Shape {
		case ShapeMinimal:
			return minimalUserJSON{ID: u.ID, Name: u.Name}
		case ShapeSpec:
			return specItemJSON{ID: u.ID, Name: u.Name}
		case ShapeThirdParty:
			return thirdPartyUserJSON{ID: u.ID, Name: u.Name, Email: u.Email, Role: s.st.orgRole(u.OrgRoleID).Name, Status: "active"}
		default:
			return s.userOut(u)
		}
	})
}

func (s *Server) getUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgScoped(tok) {
		return http.StatusForbidden, forbidden
	}
	u := s.st.user(r.PathValue("userId"))
	if u == nil {
		return http.StatusNotFound, msg("User not found")
	}
	return http.StatusOK, s.userOut(u)
}

func (s *Server) listWorkspaces(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	visible := make([]*Workspace, 0, len(s.st.workspaces))
	for _, w := range s.st.workspaces {
		if tok.Kind == TokenWorkspace && w.ID != tok.WorkspaceID {
			continue
		}
		if s.opts.HidePersonalWorkspaces && w.Type == "Personal" {
			continue
		}
		visible = append(visible, w)
	}
	return s.paginate(r, "workspaces", 100, len(visible), func(i int) any { return wsOut(visible[i]) })
}

func (s *Server) getWorkspace(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w := s.st.workspace(r.PathValue("workspaceId"))
	if w == nil {
		return http.StatusNotFound, msg("Workspace not found")
	}
	if !wsViewer(tok, w.ID) {
		return http.StatusForbidden, forbidden
	}
	return http.StatusOK, wsOut(w)
}

func (s *Server) listWorkspaceRoles(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w := s.st.workspace(r.PathValue("workspaceId"))
	if w == nil {
		return http.StatusNotFound, msg("Workspace not found")
	}
	if !wsAdmin(tok, w.ID) || s.faults.ForbiddenWorkspaces[w.ID] {
		return http.StatusForbidden, forbidden
	}
	return s.paginate(r, "roles:"+w.ID, 100, len(w.Roles), func(i int) any { return roleJSON(w.Roles[i]) })
}

func (s *Server) listWorkspaceUsers(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w := s.st.workspace(r.PathValue("workspaceId"))
	if w == nil {
		return http.StatusNotFound, msg("Workspace not found")
	}
	if !wsViewer(tok, w.ID) || s.faults.ForbiddenWorkspaces[w.ID] {
		return http.StatusForbidden, forbidden
	}
	ids, roles := s.effectiveMembers(w)
	return s.paginate(r, "members:"+w.ID, 100, len(ids), func(i int) any {
		u := s.st.user(ids[i])
		switch s.opts.Shape {
		case ShapeMinimal:
			return minimalWorkspaceUserJSON{ID: ids[i]}
		case ShapeSpec:
			return specItemJSON{ID: u.ID, Name: u.Name}
		case ShapeThirdParty:
			return thirdPartyUserJSON{ID: u.ID, Name: u.Name, Email: u.Email, Role: w.role(roles[ids[i]]).Name, Status: "active"}
		default:
			return s.memberOut(w, u, roles[ids[i]])
		}
	})
}

func (s *Server) getWorkspaceUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w := s.st.workspace(r.PathValue("workspaceId"))
	if w == nil {
		return http.StatusNotFound, msg("Workspace not found")
	}
	if !wsViewer(tok, w.ID) {
		return http.StatusForbidden, forbidden
	}
	_, roles := s.effectiveMembers(w)
	roleID, ok := roles[r.PathValue("userId")]
	if !ok {
		return http.StatusNotFound, msg("User not found in workspace")
	}
	return http.StatusOK, s.memberOut(w, s.st.user(r.PathValue("userId")), roleID)
}

// ---- write handlers

func decodeBody(r *http.Request, into any) bool {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	return dec.Decode(into) == nil
}

func (s *Server) inviteUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgAdmin(tok) {
		return http.StatusForbidden, forbidden
	}
	var body struct {
		Email              string `json:"email"`
		OrganizationRoleID string `json:"organizationRoleId"`
	}
	if !decodeBody(r, &body) || !emailPattern.MatchString(body.Email) || !uuidPattern.MatchString(body.OrganizationRoleID) {
		return http.StatusBadRequest, msg("Invalid input: email and organizationRoleId are required")
	}
	if s.st.orgRole(body.OrganizationRoleID) == nil {
		return http.StatusNotFound, msg("Role not found")
	}
	if s.st.userByEmail(body.Email) != nil {
		return http.StatusBadRequest, msg("A user with this email already exists in the organization")
	}
	now := s.opts.Now()
	today := 0
	for _, inv := range s.st.invites {
		if now.Sub(inv.Expires.Add(-7*24*time.Hour)) < 24*time.Hour {
			today++
		}
	}
	if today >= s.opts.InviteDailyLimit {
		return http.StatusTooManyRequests, struct {
			Message string `json:"message"`
		}{"Invitation limit of 100 per day reached"}
	}
	inv := Invite{ID: s.st.newID(), Email: body.Email, OrgRoleID: body.OrganizationRoleID, Expires: now.Add(7 * 24 * time.Hour).UTC().Truncate(time.Second)}
	s.st.invites = append(s.st.invites, inv)
	return http.StatusOK, map[string]string{"inviteId": inv.ID, "expires": inv.Expires.Format(time.RFC3339)}
}

func (s *Server) createUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgAdmin(tok) {
		return http.StatusForbidden, forbidden
	}
	var body struct {
		Name               string `json:"name"`
		Email              string `json:"email"`
		OrganizationRoleID string `json:"organizationRoleId"`
	}
	if !decodeBody(r, &body) || body.Name == "" || !emailPattern.MatchString(body.Email) || !uuidPattern.MatchString(body.OrganizationRoleID) {
		return http.StatusBadRequest, msg("Invalid input: name, email and organizationRoleId are required")
	}
	role := s.st.orgRole(body.OrganizationRoleID)
	if role == nil {
		return http.StatusNotFound, msg("Role not found")
	}
	if role.Name == RoleOwner {
		return http.StatusBadRequest, msg("Invalid input: a new user cannot be the Owner")
	}
	if s.st.userByEmail(body.Email) != nil {
		return http.StatusBadRequest, msg("A user with this email already exists in the organization")
	}
	u := s.st.addUser(body.Name, body.Email, "Regular", role.ID)
	return http.StatusOK, s.userOut(u)
}

func (s *Server) deleteUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgAdmin(tok) {
		return http.StatusForbidden, forbidden
	}
	u := s.st.user(r.PathValue("userId"))
	if u == nil {
		return http.StatusNotFound, msg("User not found")
	}
	if s.st.orgRole(u.OrgRoleID).Name == RoleOwner {
		return http.StatusBadRequest, msg("The organization owner cannot be deleted")
	}
	for _, w := range s.st.workspaces {
		s.st.removeMember(w.ID, u.ID)
	}
	kept := s.st.workspaces[:0]
	for _, w := range s.st.workspaces {
		if w.Type == "Personal" && len(s.st.members[w.ID]) == 0 {
			delete(s.st.wsIndex, w.ID)
			continue
		}
		kept = append(kept, w)
	}
	s.st.workspaces = kept
	delete(s.st.userIndex, u.ID)
	for i, x := range s.st.users {
		if x.ID == u.ID {
			s.st.users = append(s.st.users[:i:i], s.st.users[i+1:]...)
			break
		}
	}
	if s.opts.DeleteCreatesWorkspace && u.AccountType == "Regular" && tok.UserID != "" {
		w := s.st.addWorkspace(u.Name, "Shared", "Assets of deleted user "+u.Name, 0)
		s.st.addMember(w.ID, tok.UserID, w.roleByName(RoleAdmin).ID)
	}
	return http.StatusNoContent, nil
}

func (s *Server) setOrgRole(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	if !orgAdmin(tok) {
		return http.StatusForbidden, forbidden
	}
	var body struct {
		RoleID string `json:"roleId"`
	}
	if !decodeBody(r, &body) || !uuidPattern.MatchString(body.RoleID) {
		return http.StatusBadRequest, msg("Invalid input: roleId is required")
	}
	u := s.st.user(r.PathValue("userId"))
	if u == nil {
		return http.StatusNotFound, msg("User not found")
	}
	role := s.st.orgRole(body.RoleID)
	if role == nil {
		return http.StatusNotFound, msg("Role not found")
	}
	if s.st.orgRole(u.OrgRoleID).Name == RoleOwner || role.Name == RoleOwner {
		return http.StatusBadRequest, msg("The Owner role cannot be assigned or changed")
	}
	u.OrgRoleID = role.ID
	return http.StatusOK, struct{}{}
}

// adminWorkspace is the workspace of a request that changes its members:
// 404 when it does not exist, 403 when the token may not administer it.
func (s *Server) adminWorkspace(r *http.Request, tok Token) (*Workspace, int, any) {
	w := s.st.workspace(r.PathValue("workspaceId"))
	if w == nil {
		return nil, http.StatusNotFound, msg("Workspace not found")
	}
	if !wsAdmin(tok, w.ID) {
		return nil, http.StatusForbidden, forbidden
	}
	return w, 0, nil
}

func (s *Server) addWorkspaceUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w, code, refusal := s.adminWorkspace(r, tok)
	if w == nil {
		return code, refusal
	}
	var body struct {
		UserID string `json:"userId"`
		RoleID string `json:"roleId"`
	}
	if !decodeBody(r, &body) || !pathIDPattern.MatchString(body.UserID) || !uuidPattern.MatchString(body.RoleID) {
		return http.StatusBadRequest, msg("Invalid input: userId and roleId are required")
	}
	if w.Type != "Shared" && w.Type != "Embedded" {
		return http.StatusBadRequest, msg("Members can only be added to shared workspaces")
	}
	if s.st.user(body.UserID) == nil {
		return http.StatusNotFound, msg("User not found")
	}
	if w.role(body.RoleID) == nil {
		return http.StatusBadRequest, msg("Invalid input: role does not belong to this workspace")
	}
	if _, ok := s.st.members[w.ID][body.UserID]; ok {
		return http.StatusBadRequest, msg("User is already a member of this workspace")
	}
	s.st.addMember(w.ID, body.UserID, body.RoleID)
	return http.StatusOK, struct{}{}
}

func (s *Server) setWorkspaceRole(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w, code, refusal := s.adminWorkspace(r, tok)
	if w == nil {
		return code, refusal
	}
	var body struct {
		RoleID string `json:"roleId"`
	}
	if !decodeBody(r, &body) || !uuidPattern.MatchString(body.RoleID) {
		return http.StatusBadRequest, msg("Invalid input: roleId is required")
	}
	userID := r.PathValue("userId")
	if _, ok := s.st.members[w.ID][userID]; !ok || w.Type == "Organization" {
		return http.StatusNotFound, msg("User not found in workspace")
	}
	if w.role(body.RoleID) == nil {
		return http.StatusBadRequest, msg("Invalid input: role does not belong to this workspace")
	}
	if n := s.st.orgRole(s.st.user(userID).OrgRoleID).Name; n == RoleOwner || n == RoleAdmin {
		return http.StatusBadRequest, msg("Workspace roles of organization owners and admins cannot be changed")
	}
	s.st.members[w.ID][userID] = body.RoleID
	return http.StatusOK, struct{}{}
}

func (s *Server) removeWorkspaceUser(_ http.ResponseWriter, r *http.Request, tok Token) (int, any) {
	w, code, refusal := s.adminWorkspace(r, tok)
	if w == nil {
		return code, refusal
	}
	userID := r.PathValue("userId")
	if _, ok := s.st.members[w.ID][userID]; !ok || w.Type == "Organization" {
		return http.StatusNotFound, msg("User not found in workspace")
	}
	s.st.removeMember(w.ID, userID)
	return http.StatusOK, struct{}{}
}
