// Package client is a typed HTTP client for the Tray.ai Platform API
// (/core/v1). It knows nothing about Baton: it returns Tray's own types, one
// page per call, and errors that carry a gRPC status code.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/uhttp"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Page-size maxima from the Tray.ai spec. The client always asks for the
// maximum: fewer pages is fewer requests against a 30 rps organization budget.
const (
	MaxPageSizeUsers      = 1000
	MaxPageSizeOrgRoles   = 1000
	MaxPageSizeWorkspaces = 100
	MaxPageSizeWsRoles    = 100
	MaxPageSizeWsUsers    = 100
)

// Defaults for Options fields left at zero.
const (
	DefaultRequestsPerSecond = 25
	DefaultBurst             = 5
	DefaultMaxAttempts       = 6
	DefaultBaseBackoff       = 500 * time.Millisecond
	DefaultMaxBackoff        = 15 * time.Second
	DefaultMaxOutage         = 5 * time.Minute
	// DefaultMaxResponseBytes caps one response body. A page of 1000 users
	// is well under 1 MiB; anything near this cap is not a Tray page.
	DefaultMaxResponseBytes = 32 << 20
)

// Options configures a Client. Zero values take the defaults above.
type Options struct {
	// BaseURL is the API host, e.g. https://api.tray.io.
	BaseURL string
	// Token is the API-user bearer token. It is only ever sent as the
	// Authorization header and never logged.
	Token string
	// UserAgent is sent with every request.
	UserAgent string
	// RequestsPerSecond bounds the request rate of every client in this
	// process that talks to the same host.
	RequestsPerSecond float64
	// Burst is the limiter's bucket size.
	Burst int
	// MaxAttempts bounds the tries of one request (1 = no retry).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the exponential backoff.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// MaxOutage is how long the API may fail without a single success
	// before the client stops retrying and fails the run.
	MaxOutage time.Duration
	// MaxResponseBytes caps the size of one response body.
	MaxResponseBytes int64
	// HTTPClient overrides the transport (tests); nil builds a uhttp client.
	HTTPClient *http.Client
}

// Client talks to one Tray.ai organization.
type Client struct {
	base     *url.URL
	token    string
	http     *uhttp.BaseHttpClient
	limiter  *rate.Limiter
	opts     Options
	outage   outageTracker
	requests atomic.Int64
}

// New builds a client. It validates nothing about the token beyond it being
// non-empty; the connector validates configuration before calling New.
func New(ctx context.Context, opts Options) (*Client, error) {
	opts = withDefaults(opts)
	base, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, status.Errorf(codes.InvalidArgument, "baton-trayai: base URL %q is not an http(s) URL", opts.BaseURL)
	}
	if opts.Token == "" {
		return nil, status.Error(codes.InvalidArgument, "baton-trayai: the Tray.ai API token is empty")
	}
	httpClient := opts.HTTPClient
	if httpClient == nil {
		uopts := []uhttp.Option{uhttp.WithLogger(true, ctxzap.Extract(ctx))}
		if opts.UserAgent != "" {
			uopts = append(uopts, uhttp.WithUserAgent(opts.UserAgent))
		}
		httpClient, err = uhttp.NewClient(ctx, uopts...)
		if err != nil {
			return nil, fmt.Errorf("baton-trayai: build HTTP client: %w", err)
		}
	}
	limited := *httpClient
	limited.Transport = &limitedBodyTransport{next: transportOf(httpClient), max: opts.MaxResponseBytes}
	// Redirects would carry the bearer token to another host; Tray does not redirect API calls.
	limited.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	bc, err := uhttp.NewBaseHttpClientWithContext(ctx, &limited)
	if err != nil {
		return nil, fmt.Errorf("baton-trayai: build HTTP client: %w", err)
	}
	return &Client{
		base:    base,
		token:   opts.Token,
		http:    bc,
		limiter: SharedLimiter(base.Host, opts.RequestsPerSecond, opts.Burst),
		opts:    opts,
	}, nil
}

func withDefaults(o Options) Options {
	if o.RequestsPerSecond <= 0 {
		o.RequestsPerSecond = DefaultRequestsPerSecond
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = DefaultBaseBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxOutage <= 0 {
		o.MaxOutage = DefaultMaxOutage
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return o
}

// RequestCount is the number of HTTP requests this client has sent,
// retries included.
func (c *Client) RequestCount() int64 { return c.requests.Load() }

var (
	limitersMu sync.Mutex
	limiters   = map[string]*rate.Limiter{}
)

// SharedLimiter returns the process-wide limiter for a host, so that every
// client of one organization shares one request budget. A later call with a
// different rate retunes the shared limiter.
func SharedLimiter(host string, rps float64, burst int) *rate.Limiter {
	limitersMu.Lock()
	defer limitersMu.Unlock()
	l, ok := limiters[host]
	if !ok {
		l = rate.NewLimiter(rate.Limit(rps), burst)
		limiters[host] = l
		return l
	}
	if l.Limit() != rate.Limit(rps) {
		l.SetLimit(rate.Limit(rps))
	}
	if l.Burst() != burst {
		l.SetBurst(burst)
	}
	return l
}

// trayError is Tray's documented error body.
type trayError struct {
	Message string  `json:"message"`
	Code    *string `json:"code,omitempty"`
}

// request describes one API call.
type request struct {
	method   string
	endpoint string // route template, for messages: GET /core/v1/workspaces/{id}/users
	path     string
	query    url.Values
	body     any
	out      any
}

// do sends a request, retrying what is safe to retry, and decodes the JSON
// answer into r.out. Reads are retried on 429, 5xx and network errors;
// writes only on 429, which Tray answers before doing anything, because a
// write that reached a failing server may have been applied.
func (c *Client) do(ctx context.Context, r request) error {
	l := ctxzap.Extract(ctx)
	idempotent := r.method == http.MethodGet
	var lastErr error
	for attempt := 1; ; attempt++ {
		if err := c.limiter.Wait(ctx); err != nil {
			return c.contextError(r, err, lastErr)
		}
		retryAfter, err := c.once(ctx, r)
		if err == nil {
			c.outage.succeeded()
			return nil
		}
		lastErr = err
		code := status.Code(err)
		rateLimited := retryAfter >= 0
		retryable := rateLimited || (idempotent && (code == codes.Unavailable || code == codes.DeadlineExceeded))
		if !retryable || ctx.Err() != nil {
			return err
		}
		if !rateLimited {
			if since := c.outage.failed(time.Now()); since > c.opts.MaxOutage {
				return status.Errorf(codes.Aborted,
					"baton-trayai: %s: Tray.ai has been failing for %s (last error: %s); giving up, check Tray.ai's status and run again",
					r.endpoint, since.Round(time.Second), strings.TrimPrefix(oneLine(status.Convert(err).Message()), "baton-trayai: "))
			}
		}
		wait := c.backoff(attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, 60*time.Second)
		}
		if attempt >= c.opts.MaxAttempts {
			// Hand the SDK an explicit reset time so its own retry waits
			// this long instead of its fixed 60 s for a header-less 429.
			return withResetAt(err, time.Now().Add(wait))
		}
		l.Debug("baton-trayai: retrying Tray.ai request",
			zap.String("endpoint", r.endpoint), zap.Int("attempt", attempt),
			zap.Duration("wait", wait), zap.String("reason", status.Convert(err).Message()))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return c.contextError(r, ctx.Err(), lastErr)
		case <-timer.C:
		}
	}
}

func (c *Client) contextError(r request, ctxErr, lastErr error) error {
	if lastErr != nil {
		return fmt.Errorf("baton-trayai: %s: %w (last error: %w)", r.endpoint, ctxErr, lastErr)
	}
	return fmt.Errorf("baton-trayai: %s: %w", r.endpoint, ctxErr)
}

// backoff is exponential with "equal jitter": half the step is fixed so
// retries never bunch at zero, half is random so clients do not synchronize.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.BaseBackoff << min(attempt-1, 20)
	if d <= 0 || d > c.opts.MaxBackoff {
		d = c.opts.MaxBackoff
	}
	half := d / 2
	return half + rand.N(half+1) //nolint:gosec // jitter, not security
}

// once sends one HTTP request. retryAfter is -1 unless the answer was a
// 429, in which case it is the server's Retry-After (0 when absent).
func (c *Client) once(ctx context.Context, r request) (time.Duration, error) {
	u := c.base.JoinPath(r.path)
	u.RawQuery = r.query.Encode()
	ropts := []uhttp.RequestOption{
		uhttp.WithAcceptJSONHeader(),
		uhttp.WithBearerToken(c.token),
		// Caching is explicit and per sync in the connector; uhttp's
		// shared GET cache would serve stale reads to Grant/Revoke checks.
		uhttp.WithNoCache(),
	}
	if r.body != nil {
		ropts = append(ropts, uhttp.WithJSONBody(r.body))
	}
	req, err := c.http.NewRequest(ctx, r.method, u, ropts...)
	if err != nil {
		return -1, status.Errorf(codes.Internal, "baton-trayai: %s: build request: %v", r.endpoint, err)
	}
	c.requests.Add(1)
	start := time.Now()
	resp, err := c.http.Do(req)
	l := ctxzap.Extract(ctx)
	if errors.Is(err, errBodyTooLarge) {
		return -1, status.Errorf(codes.Internal, "baton-trayai: %s: response larger than %d bytes; this is not a Tray.ai page, check --base-url", r.endpoint, c.opts.MaxResponseBytes)
	}
	if resp == nil {
		l.Debug("baton-trayai: Tray.ai request failed", zap.String("endpoint", r.endpoint), zap.Error(err))
		if err == nil {
			err = status.Error(codes.Unavailable, "no response")
		}
		return -1, annotate(err, r.endpoint, "request failed")
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(resp.Body)
	l.Debug("baton-trayai: Tray.ai request",
		zap.String("endpoint", r.endpoint), zap.Int("status", resp.StatusCode),
		zap.Duration("duration", time.Since(start)), zap.Int("bytes", len(body)))
	if errors.Is(readErr, errBodyTooLarge) || errors.Is(err, errBodyTooLarge) {
		return -1, status.Errorf(codes.Internal, "baton-trayai: %s: response larger than %d bytes; this is not a Tray.ai page, check --base-url", r.endpoint, c.opts.MaxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		retryAfter := time.Duration(-1)
		if resp.StatusCode == http.StatusTooManyRequests {
			retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return retryAfter, httpError(err, r.endpoint, resp, body)
	}
	if err != nil {
		return -1, annotate(err, r.endpoint, "read response")
	}
	return -1, decodeAnswer(r.endpoint, resp.Header.Get("Content-Type"), body, r.out)
}

// decodeAnswer decodes a 2xx body into out. Writes answer {} or nothing
// (the spec is not consistent) and a read with an empty body is an empty
// page. Anything that is not JSON is an error naming the endpoint; these
// are Unavailable because a proxy hiccup is the usual cause.
func decodeAnswer(endpoint, contentType string, body []byte, out any) error {
	if out == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if !isJSON(contentType) {
		return status.Errorf(codes.Unavailable,
			"baton-trayai: %s: expected a JSON answer, got %q (%s); a proxy or the wrong --base-url may be in the way",
			endpoint, contentType, snippet(body))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return status.Errorf(codes.Unavailable, "baton-trayai: %s: malformed JSON from Tray.ai: %v (%s)", endpoint, oneLine(err.Error()), snippet(body))
	}
	return nil
}

// httpError turns a non-2xx answer into an error that keeps uhttp's gRPC
// code and rate-limit detail and shows Tray's own message.
func httpError(uerr error, endpoint string, resp *http.Response, body []byte) error {
	code := uhttp.GrpcCodeFromHTTPStatus(resp.StatusCode)
	if uerr != nil {
		if c := status.Code(uerr); c != codes.Unknown && c != codes.OK {
			code = c
		}
	}
	msg := ""
	var te trayError
	if isJSON(resp.Header.Get("Content-Type")) && json.Unmarshal(body, &te) == nil && te.Message != "" {
		msg = te.Message
		if te.Code != nil && *te.Code != "" {
			msg += " (code " + *te.Code + ")"
		}
	} else if len(bytes.TrimSpace(body)) > 0 {
		msg = snippet(body)
	}
	text := fmt.Sprintf("baton-trayai: %s: Tray.ai answered %s", endpoint, resp.Status)
	if msg != "" {
		text += ": " + msg
	}
	if hint := hintFor(resp.StatusCode); hint != "" {
		text += "; " + hint
	}
	st := status.New(code, text)
	if d := rateLimitDetail(uerr); d != nil {
		if withD, err := st.WithDetails(d); err == nil {
			st = withD
		}
	}
	return st.Err()
}

func hintFor(code int) string {
	switch code {
	case http.StatusUnauthorized:
		return "the API token is invalid, expired or for another region: check --auth-token and --region"
	case http.StatusForbidden:
		return "the API user's role does not allow this: give it the Admin organization role"
	default:
		return ""
	}
}

func rateLimitDetail(err error) *v2.RateLimitDescription {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	for _, d := range st.Details() {
		if rl, ok := d.(*v2.RateLimitDescription); ok {
			return rl
		}
	}
	return nil
}

// withResetAt replaces the rate-limit detail of err with an explicit reset
// time, keeping its code and message.
func withResetAt(err error, resetAt time.Time) error {
	st := status.Convert(err)
	plain := status.New(st.Code(), st.Message())
	withD, derr := plain.WithDetails(v2.RateLimitDescription_builder{
		Status:    v2.RateLimitDescription_STATUS_OVERLIMIT,
		Remaining: 0,
		ResetAt:   timestamppb.New(resetAt),
	}.Build())
	if derr != nil {
		return err
	}
	return withD.Err()
}

// annotate prefixes a transport error with the endpoint while keeping its code.
func annotate(err error, endpoint, what string) error {
	st := status.Convert(err)
	code := st.Code()
	if code == codes.Unknown {
		code = codes.Unavailable
	}
	return status.Errorf(code, "baton-trayai: %s: %s: %s", endpoint, what, oneLine(st.Message()))
}

// oneLine flattens joined errors and drops nested "rpc error" prefixes, so
// every error a user sees is one readable line.
func oneLine(s string) string {
	parts := strings.Split(s, "\n")
	seen := map[string]bool{}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		for {
			i := strings.Index(p, "rpc error: code = ")
			if i < 0 {
				break
			}
			j := strings.Index(p[i:], " desc = ")
			if j < 0 {
				break
			}
			p = p[:i] + p[i+j+len(" desc = "):]
		}
		p = strings.TrimSpace(p)
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return strings.Join(out, ": ")
}

func isJSON(contentType string) bool {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	return ct == "application/json" || (strings.HasPrefix(ct, "application/") && strings.HasSuffix(ct, "+json"))
}

// snippet is a short, single-line excerpt of a body for error messages.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	const limit = 120
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	if s == "" {
		return "empty body"
	}
	return "body: " + s
}

// parseRetryAfter reads Retry-After in seconds or HTTP-date form; 0 when
// absent or unusable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var secs int64
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && fmt.Sprint(secs) == v {
		if secs < 0 {
			return 0
		}
		return time.Duration(min(secs, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, time.Hour)
		}
	}
	return 0
}

// outageTracker remembers when the current run of consecutive failures
// started, across all requests of a client.
type outageTracker struct {
	mu    sync.Mutex
	since time.Time
}

func (o *outageTracker) failed(now time.Time) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		o.since = now
	}
	return now.Sub(o.since)
}

func (o *outageTracker) succeeded() {
	o.mu.Lock()
	o.since = time.Time{}
	o.mu.Unlock()
}

var errBodyTooLarge = errors.New("response body too large")

// limitedBodyTransport fails a response whose body exceeds max bytes,
// before uhttp buffers all of it.
type limitedBodyTransport struct {
	next http.RoundTripper
	max  int64
}

func (t *limitedBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp == nil {
		return resp, err
	}
	if resp.ContentLength > t.max {
		_ = resp.Body.Close()
		return nil, errBodyTooLarge
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left <= 0 && err == nil {
		// One more byte would exceed the cap; peek to tell "exactly max" from "more".
		var one [1]byte
		if m, _ := b.rc.Read(one[:]); m > 0 {
			return n, errBodyTooLarge
		}
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}
