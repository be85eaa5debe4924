// Package client is a typed HTTP client for the Tray.ai Platform API
// (/core/v1): one page per call, Tray's own types, a shared request pace,
// and retries of what is safe to retry. It sends requests through the
// Baton SDK's uhttp transport and reports every failure as a gRPC status
// error, because that is the code the SDK acts on; it knows nothing of
// Baton's resources, entitlements or grants, and its messages name the
// request that failed, not the connector.
package client

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conductorone/baton-sdk/pkg/uhttp"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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

// DefaultRequestsPerSecond is Tray.ai's documented rate per organization:
// the ceiling of a client whose Options name none.
const DefaultRequestsPerSecond = 30

// Defaults for the other Options fields left at zero.
const (
	defaultBurst       = 5
	defaultMaxAttempts = 6
	defaultBaseBackoff = 500 * time.Millisecond
	defaultMaxBackoff  = 15 * time.Second
	defaultMaxOutage   = 5 * time.Minute
	// defaultMaxResponseBytes caps one response body. A page of 1000 users
	// is well under 1 MiB; anything near this cap is not a Tray page.
	defaultMaxResponseBytes = 32 << 20
)

// Options configures a Client. Zero values take the defaults.
type Options struct {
	// BaseURL is the API host, e.g. https://api.tray.io.
	BaseURL string
	// Token is the API-user bearer token. It is only ever sent as the
	// Authorization header and never logged.
	Token string
	// UserAgent is sent with every request.
	UserAgent string
	// RequestsPerSecond is the ceiling of the pace every client in this
	// process that talks to the same host shares; the pace runs at it while
	// Tray accepts every request and backs off when Tray answers 429.
	RequestsPerSecond float64
	// Burst is how many requests may go at once after a pause.
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
	pace     *pacer
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
		return nil, status.Errorf(codes.InvalidArgument, "base URL %q is not an http(s) URL", opts.BaseURL)
	}
	if opts.Token == "" {
		return nil, status.Error(codes.InvalidArgument, "the Tray.ai API token is empty")
	}
	httpClient := opts.HTTPClient
	if httpClient == nil {
		uopts := []uhttp.Option{uhttp.WithLogger(true, ctxzap.Extract(ctx))}
		if opts.UserAgent != "" {
			uopts = append(uopts, uhttp.WithUserAgent(opts.UserAgent))
		}
		httpClient, err = uhttp.NewClient(ctx, uopts...)
		if err != nil {
			return nil, fmt.Errorf("build HTTP client: %w", err)
		}
	}
	limited := *httpClient
	limited.Transport = &limitedBodyTransport{next: transportOf(httpClient), max: opts.MaxResponseBytes}
	// Redirects would carry the bearer token to another host; Tray does not redirect API calls.
	limited.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	bc, err := uhttp.NewBaseHttpClientWithContext(ctx, &limited)
	if err != nil {
		return nil, fmt.Errorf("build HTTP client: %w", err)
	}
	return &Client{
		base:  base,
		token: opts.Token,
		http:  bc,
		pace:  sharedPacer(base.Host, opts.RequestsPerSecond, opts.Burst),
		opts:  opts,
	}, nil
}

func withDefaults(o Options) Options {
	orDefault(&o.RequestsPerSecond, DefaultRequestsPerSecond)
	orDefault(&o.Burst, defaultBurst)
	orDefault(&o.MaxAttempts, defaultMaxAttempts)
	orDefault(&o.BaseBackoff, defaultBaseBackoff)
	orDefault(&o.MaxBackoff, defaultMaxBackoff)
	orDefault(&o.MaxOutage, defaultMaxOutage)
	orDefault(&o.MaxResponseBytes, defaultMaxResponseBytes)
	return o
}

// orDefault replaces a zero or negative option with its default.
func orDefault[T int | int64 | float64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// RequestCount is the number of HTTP requests this client has sent,
// retries included.
func (c *Client) RequestCount() int64 { return c.requests.Load() }

// Pace reports the pace this client shares with every client of its host
// in this process: the current rate, its ceiling, and the 429s so far.
func (c *Client) Pace() PaceStats { return c.pace.stats() }

// request describes one API call.
type request struct {
	route route
	ids   []string // fill the route's placeholders, in order
	query url.Values
	body  any
	out   any
}

// do sends a request, retrying what is safe to retry, and decodes the JSON
// answer into r.out. Reads are retried on 429, 5xx and network errors;
// writes only on 429, which Tray answers before doing anything, because a
// write that reached a failing server may have been applied.
func (c *Client) do(ctx context.Context, r request) error {
	path, err := r.route.path(r.ids...)
	if err != nil {
		return err
	}
	l := ctxzap.Extract(ctx)
	idempotent := r.route.method == http.MethodGet
	var lastErr error
	for attempt := 1; ; attempt++ {
		sent, err := c.pace.wait(ctx)
		if err != nil {
			return contextError(r.route, err, lastErr)
		}
		retryAfter, answered, err := c.once(ctx, r, path)
		switch {
		case retryAfter >= 0: // a 429: the budget is spent
			c.pace.outcome(sent, true)
		case answered && status.Code(err) != codes.Unavailable:
			// Any other answer but a server error accepts the pace.
			c.pace.outcome(sent, false)
		}
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
			if since, reached := c.outage.failed(time.Now(), answered); since > c.opts.MaxOutage {
				return c.outageError(r.route, since, reached, err)
			}
		}
		wait := c.backoff(attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, 60*time.Second)
		}
		if attempt >= c.opts.MaxAttempts {
			if !rateLimited {
				// An outage, not throttling: Unavailable, without a reset.
				return err
			}
			// Hand the SDK an explicit reset time so its own retry waits
			// this long instead of its fixed 60 s for a header-less 429.
			return withResetAt(err, time.Now().Add(wait))
		}
		l.Debug("baton-trayai: retrying Tray.ai request",
			zap.Stringer("endpoint", r.route), zap.Int("attempt", attempt),
			zap.Duration("wait", wait), zap.String("reason", status.Convert(err).Message()))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return contextError(r.route, ctx.Err(), lastErr)
		case <-timer.C:
		}
	}
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

// outageError ends a run that the outage budget ran out on, saying whether
// Tray answered at all: a host that never answers is a configuration or
// network problem, a host that answers with errors is Tray's.
func (c *Client) outageError(r route, since time.Duration, reached bool, last error) error {
	if !reached {
		return status.Errorf(codes.Aborted,
			"%s: could not reach Tray.ai at %s for %s (last error: %s); giving up: check --region, --base-url and the network",
			r, c.base.Host, since.Round(time.Second), status.Convert(last).Message())
	}
	return status.Errorf(codes.Aborted,
		"%s: Tray.ai has been failing for %s (last error: %s); giving up, check Tray.ai's status and run again",
		r, since.Round(time.Second), status.Convert(last).Message())
}

// once sends one HTTP request. retryAfter is -1 unless the answer was a
// 429, in which case it is the server's Retry-After (0 when absent);
// answered tells whether an HTTP answer arrived at all.
func (c *Client) once(ctx context.Context, r request, path string) (time.Duration, bool, error) {
	u := c.base.JoinPath(path)
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
	req, err := c.http.NewRequest(ctx, r.route.method, u, ropts...)
	if err != nil {
		return -1, false, status.Errorf(codes.Internal, "%s: build request: %v", r.route, err)
	}
	c.requests.Add(1)
	start := time.Now()
	resp, err := c.http.Do(req)
	l := ctxzap.Extract(ctx)
	if isBodyTooLarge(err) {
		return -1, true, c.tooLarge(r.route)
	}
	if resp == nil {
		l.Debug("baton-trayai: Tray.ai request failed", zap.Stringer("endpoint", r.route), zap.Error(err))
		if err == nil {
			err = status.Error(codes.Unavailable, "no response")
		}
		return -1, false, annotate(err, r.route, "request failed")
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(resp.Body)
	l.Debug("baton-trayai: Tray.ai request",
		zap.Stringer("endpoint", r.route), zap.Int("status", resp.StatusCode),
		zap.Duration("duration", time.Since(start)), zap.Int("bytes", len(body)))
	if isBodyTooLarge(readErr) {
		return -1, true, c.tooLarge(r.route)
	}
	if msg, capped := inviteCap(r.route, resp, body); capped {
		return -1, true, inviteCapError(r.route, bounded(msg))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		retryAfter := time.Duration(-1)
		if resp.StatusCode == http.StatusTooManyRequests {
			retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return retryAfter, true, httpError(err, r.route, resp, body)
	}
	if err != nil {
		return -1, true, annotate(err, r.route, "read response")
	}
	return -1, true, decodeAnswer(r.route, resp.Header.Get("Content-Type"), body, r.out)
}

func (c *Client) tooLarge(r route) error {
	return status.Errorf(codes.Internal, "%s: response larger than %d bytes; this is not a Tray.ai page, check --base-url", r, c.opts.MaxResponseBytes)
}

// outageTracker remembers when the current run of consecutive failures
// started, across all requests of a client, and whether Tray answered
// anything since.
type outageTracker struct {
	mu      sync.Mutex
	since   time.Time
	reached bool
}

// failed records a failure and returns how long the failures have lasted
// and whether any of them was an HTTP answer.
func (o *outageTracker) failed(now time.Time, answered bool) (time.Duration, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		o.since, o.reached = now, false
	}
	o.reached = o.reached || answered
	return now.Sub(o.since), o.reached
}

func (o *outageTracker) succeeded() {
	o.mu.Lock()
	o.since, o.reached = time.Time{}, false
	o.mu.Unlock()
}
