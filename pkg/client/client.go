// Package client is a typed HTTP client for the Tray.ai Platform API
// (/core/v1): one page per call, Tray's own types, a request pace of its
// own, and retries of what is safe to retry. It sends requests through the
// Baton SDK's uhttp transport and reports every failure as a gRPC status
// error, because that is the code the SDK acts on; it knows nothing of
// Baton's resources, entitlements or grants, and its messages name the
// request that failed, not the connector. What it relies on about Tray.ai
// ("the spec" in comments is Tray's published OpenAPI document) is in
// docs/tray-api-notes.md.
//
// Where things are: the route table and one typed method per endpoint in
// endpoints.go, paging in paging.go, Tray's JSON in models.go, reading an
// answer (success or error) in answers.go, retries, backoff, the outage
// budget and Retry-After in retry.go, the adaptive pace in pace.go.
package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/conductorone/baton-sdk/pkg/uhttp"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
	// RequestsPerSecond is the ceiling of the client's pace: it runs at it
	// while Tray accepts every request and backs off when Tray answers 429.
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
	bc, err := newHTTPClient(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Client{
		base:  base,
		token: opts.Token,
		http:  bc,
		pace:  newPacer(opts.RequestsPerSecond, opts.Burst),
		opts:  opts,
	}, nil
}

// newHTTPClient builds the uhttp client every request goes through, with
// the response-size cap and without redirects.
func newHTTPClient(ctx context.Context, opts Options) (*uhttp.BaseHttpClient, error) {
	httpClient := opts.HTTPClient
	if httpClient == nil {
		uopts := []uhttp.Option{uhttp.WithLogger(true, ctxzap.Extract(ctx))}
		if opts.UserAgent != "" {
			uopts = append(uopts, uhttp.WithUserAgent(opts.UserAgent))
		}
		var err error
		if httpClient, err = uhttp.NewClient(ctx, uopts...); err != nil {
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
	return bc, nil
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

// Pace reports this client's pace: the current rate, its ceiling, the
// requests sent and the 429s among their answers.
func (c *Client) Pace() PaceStats {
	p := c.pace.stats()
	p.Requests = c.requests.Load()
	return p
}

// request describes one API call.
type request struct {
	route route
	ids   []string // fill the route's placeholders, in order
	query url.Values
	body  any
	out   any
	// final, if set, reads an error answer before the retry policy does:
	// an error it returns is the answer, and the request is not retried.
	final func(statusCode int, body []byte) error
}

// attempt is what one HTTP exchange came to.
type attempt struct {
	err error
	// answered is true when an HTTP answer arrived at all.
	answered bool
	// throttled is true for a 429, whose Retry-After (0 when absent) is
	// retryAfter.
	throttled  bool
	retryAfter time.Duration
}

// once sends one HTTP request and reads its answer.
func (c *Client) once(ctx context.Context, r request, path string) attempt {
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
		return attempt{err: status.Errorf(codes.Internal, "%s: build request: %v", r.route, err)}
	}
	c.requests.Add(1)
	start := time.Now()
	resp, err := c.http.Do(req)
	if isBodyTooLarge(err) {
		return attempt{answered: true, err: c.tooLarge(r.route)}
	}
	if resp == nil {
		debug(ctx, "Tray.ai request failed", zap.Stringer("endpoint", r.route), zap.Error(err))
		if err == nil {
			err = status.Error(codes.Unavailable, "no response")
		}
		return attempt{err: annotate(err, r.route, "request failed")}
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(resp.Body)
	debug(ctx, "Tray.ai request",
		zap.Stringer("endpoint", r.route), zap.Int("status", resp.StatusCode),
		zap.Duration("duration", time.Since(start)), zap.Int("bytes", len(body)))
	if isBodyTooLarge(readErr) {
		return attempt{answered: true, err: c.tooLarge(r.route)}
	}
	return r.read(resp, body, err)
}

func (c *Client) tooLarge(r route) error {
	return status.Errorf(codes.Internal, "%s: response larger than %d bytes; this is not a Tray.ai page, check --base-url", r, c.opts.MaxResponseBytes)
}

// logPrefix starts the client's log lines, as it starts the connector's,
// to tell them from the SDK's in one log.
const logPrefix = "baton-trayai: "

// debug logs a line at debug level.
func debug(ctx context.Context, msg string, fields ...zap.Field) {
	ctxzap.Extract(ctx).Debug(logPrefix+msg, fields...)
}
