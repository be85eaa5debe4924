package c1sim

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"google.golang.org/grpc"
)

// TokenPath is where the SDK exchanges its client assertion for an access
// token (pkg/ugrpc c1TokenSource.Token: https://HOST/auth/v1/token).
const TokenPath = "/auth/v1/token" //nolint:gosec // A URL path, not a credential.

// AssertionType is the client_assertion_type the SDK sends.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Options configures a Server. The zero value is usable.
type Options struct {
	// CA signs the server certificate. Nil: a CA of the server's own, in
	// its temporary directory. Tests that run the SDK in process share one
	// CA between servers, since Go reads SSL_CERT_FILE once per process.
	CA *CA
	// ClientName is the NAME in the client id. Default "c1sim-connector".
	ClientName string
	// TenantHost is the HOST in the client id. Default: the listener's
	// 127.0.0.1:port, so that the client id alone reaches the stand-in. With
	// another host (e.g. "acme.conductor.one") the connector needs
	// BATON_C1_API_HOST=Addr() (Env sets it) and the assertion audience is
	// that host without a port.
	TenantHost string
	// PollInterval is the next_poll of GetTask/GetTasks answers, how long
	// the SDK waits before it asks again. Zero: 100ms. Negative: 0 (the SDK
	// asks again at once). The SDK clamps it to at most 5 minutes.
	PollInterval time.Duration
	// HeartbeatInterval is the next_heartbeat of Heartbeat answers. Zero: 1s.
	// The SDK clamps it to [1s, 5m] and uses 30s for 0.
	HeartbeatInterval time.Duration
	// ReclaimAfter hands a taken task out again, as ConductorOne does, once
	// the connector that took it has sent no heartbeat for this long (a
	// stopped or killed connector). Zero: never; the real service's timeout
	// is not documented.
	ReclaimAfter time.Duration
	// TokenTTL is the expires_in of issued access tokens (whole seconds).
	// Zero: one hour. The SDK's oauth2 token source refreshes a token 10s
	// before it expires, so a TTL of 10s or less makes it fetch a token
	// before every RPC.
	TokenTTL time.Duration
	// Logf, if set, gets a line for every request the stand-in answers.
	Logf func(format string, args ...any)
}

// Server is the stand-in. Its methods are safe for concurrent use.
type Server struct {
	opts      Options
	creds     *Credentials
	ca        *CA
	dir       string
	uploadDir string
	addr      string
	encKey    ed25519.PrivateKey

	httpSrv  *http.Server
	grpcSrv  *grpc.Server
	inflight sync.WaitGroup

	unreachable atomic.Bool

	mu                sync.Mutex
	changed           chan struct{}
	closed            bool
	pollInterval      time.Duration
	heartbeatInterval time.Duration
	tokens            map[string]time.Time
	nonces            map[string]time.Time
	tokenFailures     []*tokenFailure
	rpcFailures       []*rpcFailure
	stats             Stats
	records           []*Record
	hellos            []*Hello
	tasks             map[string]*taskState
	order             []string
	queue             []string
}

// The client assertion's rules: the clock skew allowed on exp and nbf, and
// how far ahead exp may be (the SDK signs assertions valid for 2 minutes).
const (
	assertionLeeway      = 30 * time.Second
	assertionMaxLifetime = 5 * time.Minute
)

// Start starts a stand-in on 127.0.0.1 with a random port.
func Start(opts Options) (*Server, error) {
	s := newServer(opts)
	ok := false
	defer func() {
		// A failed start must not leave its temporary directory behind.
		if !ok && s.dir != "" {
			_ = os.RemoveAll(s.dir)
		}
	}()
	if err := s.makeDirs(); err != nil {
		return nil, err
	}
	if s.ca = s.opts.CA; s.ca == nil {
		ca, err := NewCA(s.dir)
		if err != nil {
			return nil, err
		}
		s.ca = ca
	}
	_, encKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	s.encKey = encKey
	ln, cert, err := s.listen()
	if err != nil {
		return nil, err
	}
	s.serve(ln, cert)
	ok = true
	return s, nil
}

// newServer is a Server with the defaults the Options document filled in.
func newServer(opts Options) *Server {
	s := &Server{
		opts:    opts,
		changed: make(chan struct{}),
		tokens:  map[string]time.Time{},
		nonces:  map[string]time.Time{},
		tasks:   map[string]*taskState{},
	}
	if s.opts.ClientName == "" {
		s.opts.ClientName = "c1sim-connector"
	}
	switch {
	case s.opts.PollInterval == 0:
		s.pollInterval = 100 * time.Millisecond
	case s.opts.PollInterval > 0:
		s.pollInterval = s.opts.PollInterval
	}
	s.heartbeatInterval = s.opts.HeartbeatInterval
	if s.heartbeatInterval == 0 {
		s.heartbeatInterval = time.Second
	}
	if s.opts.TokenTTL == 0 {
		s.opts.TokenTTL = time.Hour
	}
	return s
}

// makeDirs makes the server's temporary directory and the upload directory
// inside it.
func (s *Server) makeDirs() error {
	d, err := os.MkdirTemp("", "c1sim-")
	if err != nil {
		return fmt.Errorf("c1sim: temp dir: %w", err)
	}
	s.dir = d
	s.uploadDir = filepath.Join(s.dir, "uploads")
	if err := os.MkdirAll(s.uploadDir, 0o700); err != nil {
		return fmt.Errorf("c1sim: upload dir: %w", err)
	}
	return nil
}

// listen opens the listener first because the default tenant host is its
// address: the credentials and the server certificate both name the tenant.
func (s *Server) listen() (net.Listener, tls.Certificate, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("c1sim: listen: %w", err)
	}
	s.addr = ln.Addr().String()
	tenant := s.opts.TenantHost
	if tenant == "" {
		tenant = s.addr
	}
	s.creds, err = NewCredentials(s.opts.ClientName, tenant)
	if err != nil {
		_ = ln.Close()
		return nil, tls.Certificate{}, err
	}
	tenantName := tenant
	if h, _, err := net.SplitHostPort(tenant); err == nil {
		tenantName = h
	}
	cert, err := s.ca.issue(tenantName)
	if err != nil {
		_ = ln.Close()
		return nil, tls.Certificate{}, err
	}
	return ln, cert, nil
}

// serve answers the BatonService and the token endpoint on ln in the
// background.
func (s *Server) serve(ln net.Listener, cert tls.Certificate) {
	s.grpcSrv = grpc.NewServer(
		grpc.UnaryInterceptor(s.unaryInterceptor),
		grpc.StreamInterceptor(s.streamInterceptor),
	)
	v1.RegisterBatonServiceServer(s.grpcSrv, &batonService{s: s})

	s.httpSrv = &http.Server{
		Handler: s,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(logWriter{s}, "c1sim: http: ", 0),
	}
	go func() {
		// ServeTLS enables HTTP/2 (ALPN h2) on the TLS listener, which the
		// gRPC client requires; HTTP/1.1 stays available for the token
		// exchange.
		_ = s.httpSrv.ServeTLS(gateListener{Listener: ln, s: s}, "", "")
	}()
}

// Close stops the stand-in, waits for the requests in flight and removes its
// temporary directory.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.notifyLocked()
	s.mu.Unlock()
	err := s.httpSrv.Close()
	s.grpcSrv.Stop()
	s.inflight.Wait()
	if rmErr := os.RemoveAll(s.dir); rmErr != nil {
		err = errors.Join(err, rmErr)
	}
	return err
}

// Addr is the listener's address, 127.0.0.1:port (BATON_C1_API_HOST).
func (s *Server) Addr() string { return s.addr }

// URL is https://Addr().
func (s *Server) URL() string { return "https://" + s.addr }

// UploadDir is where uploaded assets are kept, one file per upload.
func (s *Server) UploadDir() string { return s.uploadDir }

// CAFile is the PEM file of the authority a client must trust
// (SSL_CERT_FILE).
func (s *Server) CAFile() string { return s.ca.File() }

// Credentials are the client credentials the stand-in accepts.
func (s *Server) Credentials() *Credentials { return s.creds }

// ClientID is the client id the stand-in accepts.
func (s *Server) ClientID() string { return s.creds.ClientID }

// ClientSecret is the client secret whose key signs accepted assertions.
func (s *Server) ClientSecret() string { return s.creds.ClientSecret }

// Env is the environment a connector process needs to run in service mode
// against the stand-in, as KEY=VALUE: BATON_CLIENT_ID, BATON_CLIENT_SECRET,
// BATON_C1_API_HOST and SSL_CERT_FILE.
func (s *Server) Env() []string {
	return []string{
		"BATON_CLIENT_ID=" + s.creds.ClientID,
		"BATON_CLIENT_SECRET=" + s.creds.ClientSecret,
		"BATON_C1_API_HOST=" + s.addr,
		"SSL_CERT_FILE=" + s.ca.File(),
	}
}

// ServeHTTP routes a request: gRPC (HTTP/2 with an application/grpc content
// type) to the BatonService, everything else to the token endpoint. Every
// request is recorded first, its body as it is read.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Counted only while the server is open: Close waits for what it
	// counted, then removes the directory uploads are written to.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "c1sim: closed", http.StatusServiceUnavailable)
		return
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()
	rec := s.newRecord(r)
	r.Body = &teeBody{ReadCloser: r.Body, s: s, rec: rec}
	if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		s.grpcSrv.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), recordKey{}, rec)))
		s.mu.Lock()
		if !rec.handled {
			rec.Note = "not handled by the BatonService (unknown method or malformed call)"
		}
		rec.done = true
		s.notifyLocked()
		s.mu.Unlock()
		s.logf("%s %s -> %s %s", rec.Kind, rec.Method, rec.statusText(), rec.Note)
		return
	}
	status, note := s.serveToken(w, r)
	s.mu.Lock()
	rec.Status, rec.Note, rec.handled, rec.done = status, note, true, true
	s.notifyLocked()
	s.mu.Unlock()
	s.logf("%s %s -> %d %s", rec.Kind, rec.Method, status, note)
}

// serveToken answers the client-credentials token exchange.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) (int, string) {
	if r.URL.Path != TokenPath {
		http.NotFound(w, r)
		return http.StatusNotFound, "no such endpoint"
	}
	if injected := s.countTokenRequest(); injected != 0 {
		writeOAuthError(w, injected, oauthTemporarilyUnavailable, "c1sim: injected failure")
		return injected, "injected failure"
	}
	form, rej := s.readTokenForm(w, r)
	if rej != nil {
		return s.rejectToken(w, *rej)
	}
	now := time.Now()
	a, err := verifyAssertion(form.Get("client_assertion"), s.assertionRules(), now)
	if err != nil {
		return s.rejectToken(w, tokenRejection{http.StatusUnauthorized, oauthInvalidClient, "client assertion rejected: " + err.Error()})
	}
	token := "c1sim_at_" + randomString(32)
	if !s.issueToken(token, a, now) {
		return s.rejectToken(w, tokenRejection{http.StatusUnauthorized, oauthInvalidClient, "client assertion rejected: nonce replayed"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int(s.opts.TokenTTL / time.Second),
	})
	return http.StatusOK, "issued an access token"
}

// OAuth error codes of token answers (RFC 6749).
const (
	oauthInvalidRequest         = "invalid_request"
	oauthInvalidClient          = "invalid_client"
	oauthUnsupportedGrantType   = "unsupported_grant_type"
	oauthTemporarilyUnavailable = "temporarily_unavailable"
)

// tokenRejection is an OAuth error answer to a token request: the HTTP
// status, the OAuth error code and the description (also the record's note).
type tokenRejection struct {
	code    int
	errCode string
	why     string
}

// countTokenRequest counts a token request and returns the status of an
// injected failure to answer it with, or 0.
func (s *Server) countTokenRequest() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.TokenRequests++
	injected := takeTokenFailure(&s.tokenFailures)
	if injected != 0 {
		s.stats.TokenFailuresInjected++
	}
	return injected
}

// rejectToken counts and writes a rejection.
func (s *Server) rejectToken(w http.ResponseWriter, rej tokenRejection) (int, string) {
	s.mu.Lock()
	s.stats.TokenRejected++
	s.mu.Unlock()
	writeOAuthError(w, rej.code, rej.errCode, rej.why)
	return rej.code, rej.why
}

// readTokenForm reads the form of a token request and checks everything
// in it but the assertion: the shape of a client-credentials request with a
// JWT bearer assertion from the known client.
func (s *Server) readTokenForm(w http.ResponseWriter, r *http.Request) (url.Values, *tokenRejection) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &tokenRejection{http.StatusMethodNotAllowed, oauthInvalidRequest, "method " + r.Method + " is not POST"}
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return nil, &tokenRejection{http.StatusBadRequest, oauthInvalidRequest, "content type " + ct + " is not application/x-www-form-urlencoded"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return nil, &tokenRejection{http.StatusBadRequest, oauthInvalidRequest, "unreadable form: " + err.Error()}
	}
	form := r.PostForm
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		return nil, &tokenRejection{http.StatusBadRequest, oauthUnsupportedGrantType, "grant_type " + gt + " is not client_credentials"}
	}
	if at := form.Get("client_assertion_type"); at != AssertionType {
		return nil, &tokenRejection{http.StatusBadRequest, oauthInvalidRequest, "client_assertion_type " + at + " is not " + AssertionType}
	}
	if id := form.Get("client_id"); id != s.creds.ClientID {
		return nil, &tokenRejection{http.StatusUnauthorized, oauthInvalidClient, "unknown client_id " + id}
	}
	return form, nil
}

// assertionRules are the server's rules for the client assertion.
func (s *Server) assertionRules() assertionRules {
	return assertionRules{
		clientID:    s.creds.ClientID,
		audience:    s.creds.Audience(),
		key:         s.creds.PublicKey,
		leeway:      assertionLeeway,
		maxLifetime: assertionMaxLifetime,
	}
}

// issueToken records token as live for Options.TokenTTL, unless the
// assertion's nonce was seen before (a replayed assertion). Nonces are kept
// only until their assertion has expired: a replay after that fails the exp
// check anyway.
func (s *Server) issueToken(token string, a *assertion, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, exp := range s.nonces {
		if now.After(exp.Add(assertionLeeway)) {
			delete(s.nonces, n)
		}
	}
	if _, seen := s.nonces[a.nonce]; seen {
		return false
	}
	s.nonces[a.nonce] = a.exp
	s.tokens[token] = now.Add(s.opts.TokenTTL)
	s.stats.TokensIssued++
	return true
}

func writeOAuthError(w http.ResponseWriter, code int, errCode, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": errCode, "error_description": desc})
}

// RevokeAccessTokens forgets every access token issued so far: later RPCs
// carrying one are answered Unauthenticated. (The SDK keeps using a cached
// token until it expires; it does not fetch a new one on Unauthenticated.)
func (s *Server) RevokeAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// SetUnreachable makes the listener drop every new connection (accepted
// and closed at once), as if ConductorOne were unreachable, until it is
// called with false.
func (s *Server) SetUnreachable(on bool) { s.unreachable.Store(on) }

// gateListener drops connections while the server is unreachable.
type gateListener struct {
	net.Listener
	s *Server
}

func (l gateListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.s.unreachable.Load() {
			return c, nil
		}
		_ = c.Close()
		l.s.mu.Lock()
		l.s.stats.ConnectionsDropped++
		l.s.notifyLocked()
		l.s.mu.Unlock()
	}
}

// notifyLocked wakes everyone waiting for a change. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitUntil returns once cond returns true, re-evaluating it after every
// change the stand-in sees (a request, a task taken or finished, ...), or
// the context's error. cond runs without the server's lock and may call any
// method of the server; it must not block.
func (s *Server) WaitUntil(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch, closed := s.changed, s.closed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		if closed {
			return errors.New("c1sim: server closed")
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf("c1sim: "+format, args...)
	}
}

type logWriter struct{ s *Server }

func (l logWriter) Write(p []byte) (int, error) {
	l.s.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

const alphanumerics = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomString is n random letters and digits.
func randomString(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := io.ReadFull(rand.Reader, buf); err != nil {
			panic(fmt.Sprintf("c1sim: crypto/rand: %v", err))
		}
		for _, b := range buf {
			// 248 = 4*62: reject the top bytes to stay unbiased.
			if b < 248 && len(out) < n {
				out = append(out, alphanumerics[int(b)%len(alphanumerics)])
			}
		}
	}
	return string(out)
}

// NewTaskID makes a task id in the shape the BatonService requires
// (27 letters and digits, like a KSUID).
func NewTaskID() string { return randomString(27) }
