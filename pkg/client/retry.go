package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// What is retried, and for how long: reads are retried on 429, 5xx and
// network errors; writes only on 429, which Tray answers before doing
// anything, because a write that reached a failing server may have been
// applied. A 429 waits for Retry-After when Tray sends it (it documents
// none) and otherwise backs off exponentially, as every other retry does.
// Retries of failures other than 429 stop when the outage budget
// (Options.MaxOutage) runs out without a single success.

// maxRetryAfter bounds how long one Retry-After makes the client wait.
const maxRetryAfter = 60 * time.Second

// do sends a request, paced and retried, and decodes the JSON answer into
// r.out.
func (c *Client) do(ctx context.Context, r request) error {
	path, err := r.route.path(r.ids...)
	if err != nil {
		return err
	}
	var lastErr error
	for try := 1; ; try++ {
		sent, err := c.pace.wait(ctx)
		if err != nil {
			return contextError(r.route, err, lastErr)
		}
		a := c.once(ctx, r, path)
		c.pace.answered(sent, a)
		if a.err == nil {
			c.outage.succeeded()
			return nil
		}
		lastErr = a.err
		if ctx.Err() != nil {
			return a.err
		}
		wait, err := c.retryAfter(r.route, try, a)
		if err != nil {
			return err
		}
		debug(ctx, "retrying Tray.ai request",
			zap.Stringer("endpoint", r.route), zap.Int("attempt", try),
			zap.Duration("wait", wait), zap.String("reason", status.Convert(a.err).Message()))
		if err := sleep(ctx, wait); err != nil {
			return contextError(r.route, err, lastErr)
		}
	}
}

// retryAfter decides what follows a failed try: how long to wait before
// the next one, or the error that ends the request.
func (c *Client) retryAfter(r route, try int, a attempt) (time.Duration, error) {
	code := status.Code(a.err)
	idempotent := r.method == http.MethodGet
	if !a.throttled && (!idempotent || (code != codes.Unavailable && code != codes.DeadlineExceeded)) {
		return 0, a.err
	}
	if !a.throttled {
		if since, reached := c.outage.failed(time.Now(), a.answered); since > c.opts.MaxOutage {
			return 0, c.outageError(r, since, reached, a.err)
		}
	}
	wait := c.backoff(try)
	if a.retryAfter > 0 {
		wait = min(a.retryAfter, maxRetryAfter)
	}
	switch {
	case try < c.opts.MaxAttempts:
		return wait, nil
	case a.throttled:
		// Hand the SDK an explicit reset time so its own retry waits
		// this long instead of its fixed 60 s for a header-less 429.
		return 0, withResetAt(a.err, time.Now().Add(wait))
	default:
		// An outage, not throttling: Unavailable, without a reset.
		return 0, a.err
	}
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// backoff is exponential with "equal jitter": half the step is fixed so
// retries never bunch at zero, half is random so clients do not synchronize.
func (c *Client) backoff(try int) time.Duration {
	d := c.opts.BaseBackoff << min(try-1, 20)
	if d <= 0 || d > c.opts.MaxBackoff {
		d = c.opts.MaxBackoff
	}
	half := d / 2
	return half + rand.N(half+1) //nolint:gosec // jitter, not security
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

// contextError reports a request the caller's context ended, as a status
// with the context's code, and the last failure if there was one.
func contextError(r route, ctxErr, lastErr error) error {
	code := codes.Canceled
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		code = codes.DeadlineExceeded
	}
	if lastErr != nil {
		return status.Errorf(code, "%s: %v (last error: %s)", r, ctxErr, status.Convert(lastErr).Message())
	}
	return status.Errorf(code, "%s: %v", r, ctxErr)
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
