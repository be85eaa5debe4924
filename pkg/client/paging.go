package client

import (
	"context"
	"net/url"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Page-size maxima of Tray.ai's list endpoints (docs/tray-api-notes.md,
// "Paging"). The client always asks for the maximum: fewer pages is fewer
// requests against a 30 rps organization budget.
const (
	MaxPageSizeUsers      = 1000
	MaxPageSizeOrgRoles   = 1000
	MaxPageSizeWorkspaces = 100
	MaxPageSizeWsRoles    = 100
	MaxPageSizeWsUsers    = 100
)

// PageInfo is Tray's Relay-style cursor block. Only HasNextPage decides
// whether another page exists; EndCursor may be absent on an empty page.
type PageInfo struct {
	StartCursor     string `json:"startCursor,omitempty"`
	EndCursor       string `json:"endCursor,omitempty"`
	HasNextPage     bool   `json:"hasNextPage"`
	HasPreviousPage bool   `json:"hasPreviousPage"`
}

// Page is one page of a list endpoint.
type Page[T any] struct {
	Elements []T      `json:"elements"`
	PageInfo PageInfo `json:"pageInfo"`
}

// NextCursor returns the cursor of the following page, or "" when this page
// is the last one.
func (p Page[T]) NextCursor() string {
	if !p.PageInfo.HasNextPage {
		return ""
	}
	return p.PageInfo.EndCursor
}

// identified is a list element; every element must carry an id.
type identified interface{ identity() string }

func (u User) identity() string      { return u.ID }
func (r Role) identity() string      { return r.ID }
func (w Workspace) identity() string { return w.ID }

// list fetches one page at the route's maximum page size and refuses a
// page that points back at itself, which would otherwise loop a sync
// forever.
func list[T identified](ctx context.Context, c *Client, r route, ids []string, cursor string, filter url.Values) (Page[T], error) {
	q := url.Values{"first": {strconv.Itoa(r.pageSize)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	for k, vs := range filter {
		q[k] = append(q[k], vs...)
	}
	var page Page[T]
	if err := c.do(ctx, request{route: r, ids: ids, query: q, out: &page}); err != nil {
		return Page[T]{}, err
	}
	return checkPage(r.String(), cursor, page)
}

// checkPage refuses pages a sync cannot use: elements without ids, and a
// next page without a cursor or with the cursor just used.
func checkPage[T identified](endpoint, cursor string, page Page[T]) (Page[T], error) {
	for i, e := range page.Elements {
		if e.identity() == "" {
			return Page[T]{}, status.Errorf(codes.Internal, "%s: element %d of the page has no id; Tray.ai sent an unusable answer", endpoint, i)
		}
	}
	if page.PageInfo.HasNextPage {
		if page.PageInfo.EndCursor == "" {
			return Page[T]{}, status.Errorf(codes.Internal, "%s: Tray.ai said there is a next page but sent no cursor", endpoint)
		}
		if page.PageInfo.EndCursor == cursor {
			return Page[T]{}, status.Errorf(codes.Internal, "%s: Tray.ai returned the same cursor again; stopping instead of looping", endpoint)
		}
	}
	return page, nil
}
