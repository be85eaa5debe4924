package connector

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestForEachConcurrentlyBoundsAndStopsOnError(t *testing.T) {
	var inFlight, peak, ran atomic.Int32
	gate := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- forEachConcurrently(context.Background(), 20, 3, func(_ context.Context, i int) error {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			ran.Add(1)
			if i == 0 {
				<-gate // hold one worker until the others have piled up
			}
			return nil
		})
	}()
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 20 || peak.Load() > 3 {
		t.Fatalf("ran %d, peak concurrency %d: want 20 and at most 3", ran.Load(), peak.Load())
	}

	boom := errors.New("boom")
	ran.Store(0)
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
