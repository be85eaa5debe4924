package client

import (
	"testing"
	"time"
	"unicode/utf8"
)

// The decoders must turn any body into a page or an error, never a panic,
// and a page they accept must be safe to page through.

func fuzzPage[T identified](t *testing.T, body []byte, cursor string) {
	var page Page[T]
	if err := decodeAnswer(routeListUsers, "application/json", body, &page); err != nil {
		return
	}
	page, err := checkPage(routeListUsers.String(), cursor, page)
	if err != nil {
		return
	}
	for _, e := range page.Elements {
		if e.identity() == "" {
			t.Fatal("accepted an element without an id")
		}
	}
	if next := page.NextCursor(); page.PageInfo.HasNextPage && (next == "" || next == cursor) {
		t.Fatalf("accepted an unusable next cursor %q after %q", next, cursor)
	}
}

var pageSeeds = []string{
	`{"elements":[{"id":"u1","name":"A","email":"a@x.io","accountType":"Regular","role":{"id":"r","name":"Viewer"}}],"pageInfo":{"endCursor":"c2","hasNextPage":true,"hasPreviousPage":false}}`,
	`{"elements":[{"id":"w1","name":"W","type":"Shared","description":"d","monthlyTaskLimit":5}],"pageInfo":{"hasNextPage":false,"hasPreviousPage":false}}`,
	`{"elements":[{"workspaceId":"w","id":"u","accountType":{},"role":null}],"pageInfo":{"hasNextPage":false}}`,
	`{"elements":null}`, `null`, `[]`, `{"elements":[{}]}`, `{"pageInfo":{"hasNextPage":true,"endCursor":"c1"}}`,
	`{"elements":[{"id":"x","type":7,"accountType":["API"]}],"pageInfo":{}}`,
}

func FuzzDecodeUserPage(f *testing.F) {
	for _, s := range pageSeeds {
		f.Add([]byte(s), "c1")
	}
	f.Fuzz(func(t *testing.T, body []byte, cursor string) { fuzzPage[User](t, body, cursor) })
}

func FuzzDecodeWorkspacePage(f *testing.F) {
	for _, s := range pageSeeds {
		f.Add([]byte(s), "")
	}
	f.Fuzz(func(t *testing.T, body []byte, cursor string) { fuzzPage[Workspace](t, body, cursor) })
}

func FuzzDecodeWorkspaceUserPage(f *testing.F) {
	for _, s := range pageSeeds {
		f.Add([]byte(s), "c2")
	}
	f.Fuzz(func(t *testing.T, body []byte, cursor string) {
		fuzzPage[WorkspaceUser](t, body, cursor)
		fuzzPage[Role](t, body, cursor)
	})
}

func FuzzDecodeSingleObjects(f *testing.F) {
	f.Add([]byte(`{"id":"u","email":"e@x.io","name":"n","accountType":"api","role":{"id":"r","name":"Admin"}}`))
	f.Add([]byte(`{"inviteId":"i","expires":"2025-01-08T10:00:00Z"}`))
	f.Add([]byte(`{"message":"Forbidden","code":null}`))
	f.Add([]byte(`{"expires":"not a date"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var u User
		_ = decodeAnswer(routeGetUser, "application/json", body, &u)
		_ = u.HasDetails()
		_ = u.AccountType.Known()
		var inv Invite
		_ = decodeAnswer(routeInviteUser, "application/json", body, &inv)
		var m WorkspaceUser
		_ = decodeAnswer(routeGetWorkspaceUser, "application/json; charset=utf-8", body, &m)
		_ = m.HasRole()
		if s := snippet(body); len(s) > len("body: ")+maxBodyInError+len("…") || !utf8.ValidString(s) {
			t.Fatalf("snippet of %d bytes is %d bytes or not UTF-8", len(body), len(s))
		}
		_ = oneLine(string(body))
		_ = parseRetryAfter(string(body), time.Now())
	})
}
