package connector

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/pkg/client"
)

// Per-item lookups: where a list item lacks what a sync needs (a user's
// email, account type or role; a member's workspace role), the item is
// looked up on its own, a few at a time, and what a failed page already
// looked up is remembered until the SDK's retry of that page completes.

// detailConcurrency bounds per-item GETs in flight for one page. The
// client's pace, not this number, sets the rate; it only has to be large
// enough to hide request latency.
const detailConcurrency = 8

// completeUsers fills in users whose list item lacks details. A user that
// disappears between the list and the GET is dropped: it no longer exists.
// memo is the sync's, or nil outside a sync.
func completeUsers(ctx context.Context, cl *client.Client, memo *memo[string, client.User], items []client.User) ([]client.User, error) {
	key := func(u client.User) string { return u.ID }
	return fillIn(ctx, memo, items, key, client.User.HasDetails, func(ctx context.Context, item client.User) (client.User, error) {
		full, err := cl.GetUser(ctx, item.ID)
		if err != nil && status.Code(err) != codes.NotFound {
			err = wrapf(err, "get user %s", item.ID)
		}
		if full.Name == "" {
			full.Name = item.Name
		}
		return full, err
	})
}

// memberKey names a member of a workspace.
type memberKey struct{ workspaceID, userID string }

// completeMembers fills in the role of members whose list item lacks it.
// A member who left between the listing and the lookup is dropped.
func completeMembers(ctx context.Context, cl *client.Client, memo *memo[memberKey, client.WorkspaceUser], workspaceID string,
	items []client.WorkspaceUser,
) ([]client.WorkspaceUser, error) {
	key := func(m client.WorkspaceUser) memberKey { return memberKey{workspaceID, m.ID} }
	return fillIn(ctx, memo, items, key, client.WorkspaceUser.HasRole, func(ctx context.Context, item client.WorkspaceUser) (client.WorkspaceUser, error) {
		full, err := cl.GetWorkspaceUser(ctx, workspaceID, item.ID)
		if err != nil && status.Code(err) != codes.NotFound {
			err = wrapf(err, "get workspace user %s in %s", item.ID, workspaceID)
		}
		item.Role = full.Role
		return item, err
	})
}

// fillIn replaces the items that are not complete with what fetch returns,
// detailConcurrency at a time, keeping their order. An item whose fetch
// answers NotFound disappeared between the listing and the lookup and is
// dropped; any other error fails the whole page.
//
// Within a sync, every lookup is kept in memo until the page completes:
// when one lookup fails and the SDK retries the page, the retry fetches
// only what the failed attempt did not get. key names an item in memo.
func fillIn[K comparable, T any](ctx context.Context, memo *memo[K, T], items []T,
	key func(T) K, complete func(T) bool, fetch func(context.Context, T) (T, error),
) ([]T, error) {
	found := make([]lookup[T], len(items))
	err := forEachConcurrently(ctx, len(items), detailConcurrency, func(ctx context.Context, i int) error {
		if complete(items[i]) {
			found[i] = lookup[T]{value: items[i]}
			return nil
		}
		l, err := memo.lookUp(ctx, key(items[i]), func(ctx context.Context) (T, error) { return fetch(ctx, items[i]) })
		found[i] = l
		return err
	})
	if err != nil {
		return nil, err
	}
	// A completed page keeps nothing: only a failed one keeps its
	// lookups, for the SDK's retry of it.
	for _, item := range items {
		memo.forget(key(item))
	}
	kept := make([]T, 0, len(items))
	for _, l := range found {
		if !l.gone {
			kept = append(kept, l.value)
		}
	}
	return kept, nil
}

// memo keeps the per-item lookups of a sync's pages, by key. A nil memo
// keeps nothing: outside a sync (provisioning) every lookup is fresh.
type memo[K comparable, T any] struct {
	mu      sync.Mutex
	lookups map[K]lookup[T]
}

// lookup is what a per-item GET found.
type lookup[T any] struct {
	value T
	gone  bool // Tray answered 404: the item went away since the listing
}

func newMemo[K comparable, T any]() *memo[K, T] { return &memo[K, T]{lookups: map[K]lookup[T]{}} }

// lookUp returns what the memo holds for k or, if nothing, what fetch
// finds, and keeps it. A NotFound from fetch is a lookup of an item gone;
// any other error is returned and nothing is kept.
func (m *memo[K, T]) lookUp(ctx context.Context, k K, fetch func(context.Context) (T, error)) (lookup[T], error) {
	if m != nil {
		m.mu.Lock()
		l, ok := m.lookups[k]
		m.mu.Unlock()
		if ok {
			return l, nil
		}
	}
	v, err := fetch(ctx)
	l := lookup[T]{value: v}
	switch {
	case status.Code(err) == codes.NotFound:
		l = lookup[T]{gone: true}
	case err != nil:
		return lookup[T]{}, err
	}
	if m != nil {
		m.mu.Lock()
		m.lookups[k] = l
		m.mu.Unlock()
	}
	return l, nil
}

// forget drops what the memo holds for k.
func (m *memo[K, T]) forget(k K) {
	if m == nil {
		return
	}
	m.mu.Lock()
	delete(m.lookups, k)
	m.mu.Unlock()
}

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
