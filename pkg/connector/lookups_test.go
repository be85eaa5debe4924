package connector

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// forEachConcurrently must run exactly limit calls at once: no more (the
// rate budget), and no fewer (latency would then leave the budget idle).
func TestForEachConcurrentlyRunsExactlyLimitAtOnce(t *testing.T) {
	t.Parallel()
	const n, limit = 20, 3
	var (
		inFlight, peak, ran atomic.Int32
		mu                  sync.Mutex
		arrived             int
		allIn               = make(chan struct{})
	)
	err := forEachConcurrently(context.Background(), n, limit, func(_ context.Context, i int) error {
		now := inFlight.Add(1)
		defer inFlight.Add(-1)
		raise(&peak, now)
		ran.Add(1)
		if i < limit {
			// The first calls wait for each other: they all run at once
			// only if the calls really are concurrent.
			mu.Lock()
			arrived++
			if arrived == limit {
				close(allIn)
			}
			mu.Unlock()
			select {
			case <-allIn:
			case <-time.After(10 * time.Second):
				return errors.New("the first calls never ran at the same time")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ran.Load() != n || peak.Load() != limit {
		t.Fatalf("ran %d, peak concurrency %d: want %d calls, %d at once", ran.Load(), peak.Load(), n, limit)
	}
}

func TestForEachConcurrentlyStopsOnTheFirstError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	var ran atomic.Int32
	err := forEachConcurrently(context.Background(), 1000, 2, func(ctx context.Context, i int) error {
		ran.Add(1)
		if i == 5 {
			return boom
		}
		return ctx.Err()
	})
	if !errors.Is(err, boom) || ran.Load() >= 1000 {
		t.Fatalf("err %v after %d items: want the first error and the rest cancelled", err, ran.Load())
	}
}

// raise lifts highest to v if v is larger.
func raise(highest *atomic.Int32, v int32) {
	for {
		cur := highest.Load()
		if v <= cur || highest.CompareAndSwap(cur, v) {
			return
		}
	}
}
