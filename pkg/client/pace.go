package client

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Pacing: Tray.ai allows 30 requests a second per organization, shared by
// every API client of that organization, with bursts to 50 while the
// windowed average holds. A fixed pace either leaves budget unused when
// nothing else calls the API or collides with another integration that
// does. The pacer therefore runs at its ceiling (Tray's rate, or a lower
// --rate-limit) while every request is accepted, backs off at once when a
// 429 says the budget is spent, and climbs back carefully: additive
// increase, multiplicative decrease, for every request of the process.
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

// setCeiling lowers or raises the ceiling; the pace never exceeds it.
func (p *aimd) setCeiling(c float64) {
	p.ceiling = c
	p.rate = min(p.rate, c)
}

// pacer spaces the requests of every client of one host in this process.
type pacer struct {
	limiter *rate.Limiter
	now     func() time.Time

	mu     sync.Mutex
	policy aimd

	requests, throttledN atomic.Int64
}

// PaceStats is what the pacer has done so far in this process.
type PaceStats struct {
	// RequestsPerSecond is the current pace and Ceiling the most it runs.
	RequestsPerSecond, Ceiling float64
	// Requests were sent; TooMany of them were answered 429.
	Requests, TooMany int64
}

func newPacer(ceiling float64, burst int) *pacer {
	now := time.Now
	return &pacer{
		limiter: rate.NewLimiter(rate.Limit(ceiling), burst),
		now:     now,
		policy:  newAIMD(ceiling, now()),
	}
}

// wait blocks until the pace lets a request go, and returns when it went.
func (p *pacer) wait(ctx context.Context) (time.Time, error) {
	if err := p.limiter.Wait(ctx); err != nil {
		return time.Time{}, err
	}
	p.requests.Add(1)
	return p.now(), nil
}

// outcome feeds an answer back into the pace.
func (p *pacer) outcome(sent time.Time, throttled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var changed bool
	if throttled {
		p.throttledN.Add(1)
		changed = p.policy.throttled(sent, p.now())
	} else {
		changed = p.policy.accepted(p.now())
	}
	if changed {
		p.limiter.SetLimit(rate.Limit(p.policy.rate))
	}
}

func (p *pacer) setCeiling(ceiling float64, burst int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.policy.setCeiling(ceiling)
	p.limiter.SetLimit(rate.Limit(p.policy.rate))
	p.limiter.SetBurst(burst)
}

func (p *pacer) stats() PaceStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PaceStats{RequestsPerSecond: p.policy.rate, Ceiling: p.policy.ceiling,
		Requests: p.requests.Load(), TooMany: p.throttledN.Load()}
}

var (
	pacersMu sync.Mutex
	pacers   = map[string]*pacer{}
)

// sharedPacer returns the process-wide pacer for a host, so that every
// client of one organization shares one budget. A later call with another
// ceiling or burst retunes it.
func sharedPacer(host string, ceiling float64, burst int) *pacer {
	pacersMu.Lock()
	defer pacersMu.Unlock()
	p, ok := pacers[host]
	if !ok {
		p = newPacer(ceiling, burst)
		pacers[host] = p
		return p
	}
	p.setCeiling(ceiling, burst)
	return p
}
