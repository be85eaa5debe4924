package client

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Pacing: Tray.ai allows 30 requests a second per organization, shared by
// every API client of that organization, with bursts to 50 while the
// windowed average holds. A fixed pace either leaves budget unused when
// nothing else calls the API or collides with another integration that
// does. The pacer therefore runs at its ceiling (Tray's rate, or a lower
// --rate-limit) while every request is accepted, backs off at once when a
// 429 says the budget is spent, and climbs back carefully: additive
// increase, multiplicative decrease. Each client has a pacer of its own:
// the connector makes one client, for one organization.
const (
	// paceDecrease is the factor a 429 cuts the pace by. Between a cut and
	// the climb back the pace averages (1+0.75)/2 ≈ 88% of what is free.
	paceDecrease = 0.75
	// paceIncrease is how many requests a second the pace climbs per
	// second without a 429.
	paceIncrease = 0.25
	// paceSettle is how long after a cut 429s are taken as echoes of the
	// old pace, and the climb waits: the answers to requests sent at the
	// old pace are still arriving, and the budget needs a moment to refill.
	paceSettle = time.Second
	// paceFloor is the slowest pace.
	paceFloor = 1.0
	// paceMaxStep bounds the climb after an idle stretch: a pace that was
	// not tried is not known to be accepted.
	paceMaxStep = time.Second
)

// aimd is the pacing policy, apart from any waiting, so that it can be
// driven with a fake clock.
type aimd struct {
	ceiling float64
	rate    float64
	// cut is when the pace was last cut; updated when it last changed.
	cut, updated time.Time
}

func newAIMD(ceiling float64, now time.Time) aimd {
	return aimd{ceiling: ceiling, rate: ceiling, updated: now}
}

// throttled applies a 429 to a request sent at sent; it reports whether
// the pace changed. Only one cut per settle period: the 429s that follow a
// cut answer requests sent at the pace already cut.
func (p *aimd) throttled(sent, now time.Time) bool {
	if !p.cut.IsZero() && sent.Before(p.cut.Add(paceSettle)) {
		return false
	}
	p.rate = max(paceFloor, p.rate*paceDecrease)
	p.cut, p.updated = now, now
	return true
}

// accepted applies a successful request; it reports whether the pace
// changed.
func (p *aimd) accepted(now time.Time) bool {
	step := min(now.Sub(p.updated), paceMaxStep)
	p.updated = now
	if p.rate >= p.ceiling || now.Sub(p.cut) < paceSettle || step <= 0 {
		return false
	}
	p.rate = min(p.ceiling, p.rate+paceIncrease*step.Seconds())
	return true
}

// pacer spaces the requests of one client.
type pacer struct {
	limiter *rate.Limiter

	mu        sync.Mutex
	policy    aimd
	throttled int64
}

// PaceStats is what a client's pace has done so far.
type PaceStats struct {
	// RequestsPerSecond is the current pace and Ceiling the most it runs.
	RequestsPerSecond, Ceiling float64
	// Requests were sent; TooMany of them were answered 429.
	Requests, TooMany int64
}

func newPacer(ceiling float64, burst int) *pacer {
	return &pacer{
		limiter: rate.NewLimiter(rate.Limit(ceiling), burst),
		policy:  newAIMD(ceiling, time.Now()),
	}
}

// wait blocks until the pace lets a request go, and returns when it went.
func (p *pacer) wait(ctx context.Context) (time.Time, error) {
	if err := p.limiter.Wait(ctx); err != nil {
		return time.Time{}, err
	}
	return time.Now(), nil
}

// answered feeds the answer to a request sent at sent back into the pace:
// a 429 says the budget is spent; any other answer but a server error
// accepts the pace; no answer says nothing about it.
func (p *pacer) answered(sent time.Time, a attempt) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var changed bool
	switch {
	case a.throttled:
		p.throttled++
		changed = p.policy.throttled(sent, time.Now())
	case a.answered && status.Code(a.err) != codes.Unavailable:
		changed = p.policy.accepted(time.Now())
	}
	if changed {
		p.limiter.SetLimit(rate.Limit(p.policy.rate))
	}
}

// stats reports the pace; the client adds the requests it sent.
func (p *pacer) stats() PaceStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PaceStats{RequestsPerSecond: p.policy.rate, Ceiling: p.policy.ceiling, TooMany: p.throttled}
}
