package client

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func TestPaceCutsOnceAtATimeAndClimbsCarefully(t *testing.T) {
	p := newAIMD(30, t0)
	if p.rate != 30 {
		t.Fatalf("starts at %.2f, want the ceiling 30", p.rate)
	}
	// A burst of 429s for requests sent at the old pace cuts once.
	if !p.throttled(at(0), at(100*time.Millisecond)) || p.rate != 22.5 {
		t.Fatalf("first 429: pace %.2f, want 22.5", p.rate)
	}
	for _, sent := range []time.Duration{50 * time.Millisecond, 300 * time.Millisecond, 1090 * time.Millisecond} {
		if p.throttled(at(sent), at(sent+20*time.Millisecond)) {
			t.Fatalf("a 429 for a request sent %v after the cut cut again: pace %.2f", sent-100*time.Millisecond, p.rate)
		}
	}
	// One sent after the settle period means the new pace is still too fast.
	if !p.throttled(at(1200*time.Millisecond), at(1220*time.Millisecond)) || math.Abs(p.rate-16.875) > 1e-9 {
		t.Fatalf("second cut: pace %.3f, want 16.875", p.rate)
	}
	// No climb while the cut settles, then 0.25 requests a second per second.
	p.accepted(at(2 * time.Second))
	if p.rate != 16.875 {
		t.Fatalf("climbed during the settle period: %.3f", p.rate)
	}
	for s := 3; s <= 7; s++ {
		p.accepted(at(time.Duration(s) * time.Second))
	}
	if want := 16.875 + 5*0.25; math.Abs(p.rate-want) > 1e-9 {
		t.Fatalf("after 5 s of successes: pace %.3f, want %.3f", p.rate, want)
	}
	// An idle minute is not evidence: one success climbs one second's worth.
	p.accepted(at(67 * time.Second))
	if want := 16.875 + 6*0.25; math.Abs(p.rate-want) > 1e-9 {
		t.Fatalf("after an idle minute: pace %.3f, want %.3f", p.rate, want)
	}
	// The climb stops at the ceiling.
	for s := 68; s < 200; s++ {
		p.accepted(at(time.Duration(s) * time.Second))
	}
	if p.rate != 30 {
		t.Fatalf("pace %.3f after a long climb, want the ceiling 30", p.rate)
	}
}

func TestPaceNeverFallsBelowTheFloor(t *testing.T) {
	p := newAIMD(30, t0)
	for i := range 100 {
		p.throttled(at(time.Duration(i)*2*time.Second), at(time.Duration(i)*2*time.Second+time.Millisecond))
	}
	if p.rate != paceFloor {
		t.Fatalf("pace %.3f after 100 cuts, want the floor %.1f", p.rate, paceFloor)
	}
}

// budget simulates Tray's bucket (30 rps, bursts of 50) shared with a
// competing client, and the connector sending at the policy's pace, in
// 1 ms steps of a fake clock; answers arrive after the latency.
func budget(t *testing.T, competitorRPS float64, seconds int) (int, int) {
	t.Helper()
	const step, latency = time.Millisecond, 20 * time.Millisecond
	type answer struct {
		sent, due time.Time
		ok        bool
	}
	p := newAIMD(30, t0)
	served, throttled := 0, 0
	tokens, mine, theirs := 50.0, 5.0, 0.0
	var inflight []answer
	for now := t0; now.Before(t0.Add(time.Duration(seconds) * time.Second)); now = now.Add(step) {
		dt := step.Seconds()
		tokens = min(50, tokens+30*dt)
		// The competitor spends its rate whatever the bucket holds, as
		// the simulator's does: it borrows tokens from the future.
		for theirs += competitorRPS * dt; theirs >= 1; theirs-- {
			tokens--
		}
		for mine = min(5, mine+p.rate*dt); mine >= 1; mine-- {
			ok := tokens >= 1
			if ok {
				tokens--
				served++
			} else {
				throttled++
			}
			inflight = append(inflight, answer{sent: now, due: now.Add(latency), ok: ok})
		}
		for len(inflight) > 0 && !inflight[0].due.After(now) {
			a := inflight[0]
			inflight = inflight[1:]
			if a.ok {
				p.accepted(now)
			} else {
				p.throttled(a.sent, now)
			}
		}
	}
	return served, throttled
}

// The policy against the budget it shares: alone it uses Tray's whole rate
// without a 429; beside a client spending 15 rps it gets close to the 15
// left, with few 429s. These are the benchmark's targets, in a model.
func TestPaceUsesTheFreeBudgetAndYieldsTheRest(t *testing.T) {
	const seconds = 600
	served, throttled := budget(t, 0, seconds)
	if rate := float64(served) / seconds; rate < 29.5 || throttled != 0 {
		t.Errorf("alone: %.2f rps, %d 429s; want about 30 and none", rate, throttled)
	}
	served, throttled = budget(t, 15, seconds)
	rate, share := float64(served)/seconds, float64(throttled)/float64(served+throttled)
	if rate < 15/1.25 || share > 0.03 {
		t.Errorf("beside 15 rps: %.2f rps (want at least %.1f), %.2f%% answered 429 (want at most 3%%)", rate, 15/1.25, 100*share)
	}
	t.Logf("beside 15 rps: %.2f rps, %.2f%% answered 429", rate, 100*share)
}
