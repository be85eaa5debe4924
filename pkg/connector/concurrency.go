package connector

import (
	"context"
	"sync"
)

// forEachConcurrently runs fn for 0..n-1 with at most limit calls in flight
// and returns the first error; the others are cancelled through ctx.
func forEachConcurrently(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	next := make(chan int)
	for w := 0; w < min(limit, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		// The parent context ended before every item ran.
		return context.Cause(ctx)
	}
	return firstErr
}

// fillIn replaces the items that are not complete with what fetch returns,
// detailConcurrency at a time, keeping their order. An item whose fetch
// answers NotFound disappeared between the listing and the lookup and is
// dropped; any other error fails the whole page.
//
// Within a sync (syncID set), every lookup is remembered in memo until the
// page completes: when one lookup fails and the SDK retries the page, the
// retry fetches only what the failed attempt did not get. key names an item.
func fillIn[T any](ctx context.Context, memo *syncCache, syncID string, items []T,
	key func(T) string, complete func(T) bool, fetch func(context.Context, T) (T, error),
) ([]T, error) {
	out := make([]T, len(items))
	copy(out, items)
	gone := make([]bool, len(items))
	memoize := syncID != "" // outside a sync (provisioning) nothing is kept
	err := forEachConcurrently(ctx, len(items), detailConcurrency, func(ctx context.Context, i int) error {
		if complete(items[i]) {
			return nil
		}
		k := key(items[i])
		if memoize {
			var l lookup
			var ok bool
			memo.with(syncID, func(s *syncState) { l, ok = s.lookups[k] })
			if ok {
				out[i], gone[i] = l.value.(T), l.gone
				return nil
			}
		}
		full, err := fetch(ctx, items[i])
		switch {
		case isNotFound(err):
			gone[i] = true
		case err != nil:
			return err
		default:
			out[i] = full
		}
		if memoize {
			memo.with(syncID, func(s *syncState) { s.lookups[k] = lookup{value: out[i], gone: gone[i]} })
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if memoize {
		// A completed page keeps nothing: only a failed one keeps its
		// lookups, for the SDK's retry of it.
		memo.with(syncID, func(s *syncState) {
			for _, item := range items {
				delete(s.lookups, key(item))
			}
		})
	}
	kept := out[:0]
	for i := range out {
		if !gone[i] {
			kept = append(kept, out[i])
		}
	}
	return kept, nil
}
