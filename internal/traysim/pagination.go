package traysim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

type cursor struct {
	List   string `json:"l"`
	Offset int    `json:"o"`
}

func encodeCursor(list string, offset int) string {
	b, _ := json.Marshal(cursor{List: list, Offset: offset})
	return base64.RawURLEncoding.EncodeToString(b)
}

type pageJSON struct {
	Elements []any       `json:"elements"`
	PageInfo pageInfoOut `json:"pageInfo"`
}

type pageInfoOut struct {
	StartCursor     string `json:"startCursor,omitempty"`
	EndCursor       string `json:"endCursor,omitempty"`
	HasNextPage     bool   `json:"hasNextPage"`
	HasPreviousPage bool   `json:"hasPreviousPage"`
}

// paginate serves the window of n items that the request's first/cursor
// select, enforcing the endpoint's maximum like a strict server would.
// Only the window's items are built, so a large organization costs no more
// per page than a small one.
func (s *Server) paginate(r *http.Request, list string, maxSize, n int, item func(i int) any) (int, any) {
	q := r.URL.Query()
	offset, size, bad := s.window(q, list, maxSize, n)
	if bad != nil {
		return http.StatusBadRequest, *bad
	}
	end := min(offset+size, n)
	out := pageJSON{Elements: make([]any, 0, end-offset)}
	for i := offset; i < end; i++ {
		out.Elements = append(out.Elements, item(i))
	}
	out.PageInfo.HasNextPage = end < n
	out.PageInfo.HasPreviousPage = offset > 0
	if end > offset {
		out.PageInfo.StartCursor = encodeCursor(list, offset)
		out.PageInfo.EndCursor = encodeCursor(list, end)
	}
	if s.faults.RepeatCursor && out.PageInfo.HasNextPage && q.Get("cursor") != "" {
		out.PageInfo.EndCursor = q.Get("cursor")
	}
	return http.StatusOK, out
}

// window reads the page's offset (from the cursor) and size (from first,
// 100 or the endpoint's maximum if lower by default), or what is wrong
// with them.
func (s *Server) window(q url.Values, list string, maxSize, n int) (int, int, *errBody) {
	size := min(100, maxSize)
	if v := q.Get("first"); v != "" {
		first, err := strconv.Atoi(v)
		if err != nil || first <= 0 || first > maxSize {
			bad := msg(fmt.Sprintf("Invalid input: first must be between 1 and %d", maxSize))
			return 0, 0, &bad
		}
		size = first
	}
	if s.opts.PageSizeCap > 0 {
		size = min(size, s.opts.PageSizeCap)
	}
	offset := 0
	if c := q.Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		var cur cursor
		if err != nil || json.Unmarshal(raw, &cur) != nil || cur.List != list || cur.Offset < 0 || cur.Offset > n {
			bad := msg("Invalid input: invalid cursor")
			return 0, 0, &bad
		}
		offset = cur.Offset
	}
	return offset, size, nil
}
