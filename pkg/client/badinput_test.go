package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/internal/testkit"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
)

func TestBadAnswersGiveClearErrorsNeverPanics(t *testing.T) {
	huge := `{"elements":[` + strings.Repeat(`{"id":"a","name":"b"},`, 60000) + `{"id":"z"}],"pageInfo":{"hasNextPage":false,"hasPreviousPage":false}}`
	cases := []struct {
		name    string
		handler http.Handler
		code    codes.Code
		want    []string
	}{
		{"malformed JSON", canned(200, "application/json", `{"elements":[{"id":`), codes.Unavailable, []string{"malformed JSON", "GET /core/v1/users"}},
		{"truncated body", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "500")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"elements":[`)
		}), codes.Unavailable, []string{"GET /core/v1/users"}},
		{"wrong content type", canned(200, "text/plain", `{"elements":[]}`), codes.Unavailable, []string{"expected a JSON answer", "text/plain"}},
		{"HTML error page from a proxy", canned(502, "text/html", "<html><body>Bad Gateway</body></html>"), codes.Unavailable, []string{"502", "Bad Gateway", "GET /core/v1/users"}},
		{"HTML 200 page", canned(200, "text/html", "<html>login</html>"), codes.Unavailable, []string{"expected a JSON answer", "--base-url"}},
		{"element without id", canned(200, "application/json", `{"elements":[{"name":"nobody"}],"pageInfo":{"hasNextPage":false,"hasPreviousPage":false}}`), codes.Internal, []string{"no id"}},
		{"next page without cursor", canned(200, "application/json", `{"elements":[{"id":"a"}],"pageInfo":{"hasNextPage":true,"hasPreviousPage":false}}`), codes.Internal, []string{"no cursor"}},
		{"elements not a list", canned(200, "application/json", `{"elements":{"id":"a"},"pageInfo":{"hasNextPage":false}}`), codes.Unavailable, []string{"malformed JSON"}},
		{"huge page", canned(200, "application/json", huge), codes.Internal, []string{"larger than"}},
		{"error body without JSON", canned(500, "", ""), codes.Unavailable, []string{"500"}},
		{"error body with code", canned(400, "application/json", `{"message":"Invalid input","code":"E42"}`), codes.InvalidArgument, []string{"Invalid input", "E42"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newClient(t, tc.handler, "tok", func(o *client.Options) {
				o.MaxAttempts = 2
				o.MaxResponseBytes = 1 << 20
			})
			_, err := c.ListUsers(context.Background(), "")
			testkit.WantCode(t, err, tc.code, tc.want...)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

func TestEmptyBodyOnReadIsAnEmptyPage(t *testing.T) {
	c, _ := newClient(t, canned(200, "application/json", ""), "tok")
	page, err := c.ListUsers(context.Background(), "")
	if err != nil || len(page.Elements) != 0 || page.NextCursor() != "" {
		t.Fatalf("empty body: %+v, %v", page, err)
	}
}

func TestTokenIsNeverInErrors(t *testing.T) {
	const token = "super-secret-token-value"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			t.Errorf("Authorization header %q", r.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"message":"Unauthorized"}`)
	})
	c, _ := newClient(t, h, token)
	_, err := c.ListUsers(context.Background(), "")
	if err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("error %v", err)
	}
}

// A redirect would carry the bearer token to wherever it points, so the
// client must not follow it. The target is a live server that records what
// arrives: following the redirect would show there.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var (
		mu       sync.Mutex
		arrived  int
		withAuth int
	)
	elsewhere := traysim.ListenTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		if r.Header.Get("Authorization") != "" {
			withAuth++
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"elements":[],"pageInfo":{"hasNextPage":false,"hasPreviousPage":false}}`)
	}))
	var hits atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, elsewhere+"/core/v1/users", http.StatusFound)
	})
	c, _ := newClient(t, h, "redirect-secret-token", func(o *client.Options) { o.MaxAttempts = 1 })
	_, err := c.ListUsers(context.Background(), "")
	mu.Lock()
	defer mu.Unlock()
	if arrived != 0 || withAuth != 0 {
		t.Fatalf("the redirect was followed: %d requests reached its target, %d with the Authorization header", arrived, withAuth)
	}
	if err == nil || hits.Load() != 1 {
		t.Fatalf("redirect answer: err %v after %d requests; want a clear error and no retry", err, hits.Load())
	}
}

func TestConnectionResetsAreRetried(t *testing.T) {
	var calls atomic.Int32
	sim := traysim.NewDefault(traysim.ShapeFull)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close() // the peer drops the connection mid-request
			}
			return
		}
		sim.ServeHTTP(w, r)
	})
	c, _ := newClient(t, h, traysim.AdminToken)
	roles, err := c.ListOrgRoles(context.Background(), "")
	if err != nil || len(roles.Elements) != 4 {
		t.Fatalf("after two dropped connections: %v, %d roles", err, len(roles.Elements))
	}
	if calls.Load() != 3 {
		t.Fatalf("%d attempts, want 3", calls.Load())
	}
}

func TestTimeoutsAreRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	sim := traysim.NewDefault(traysim.ShapeFull)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select { // a server that never answers the first request
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		sim.ServeHTTP(w, r)
	})
	c, _ := newClient(t, h, traysim.AdminToken, func(o *client.Options) {
		o.HTTPClient = &http.Client{Timeout: 250 * time.Millisecond}
	})
	roles, err := c.ListOrgRoles(context.Background(), "")
	if err != nil || len(roles.Elements) != 4 || calls.Load() != 2 {
		t.Fatalf("after a timeout: %v, %d roles, %d attempts", err, len(roles.Elements), calls.Load())
	}
}

// An error carries at most 200 bytes of a body, cut at a UTF-8 boundary,
// and never a page of records; Tray's own message is bounded the same way.
func TestErrorsCarryABoundedExcerptOfTheBody(t *testing.T) {
	records := strings.Repeat(`{"id":"u","email":"person@acme.example","name":"Zoë Ærøskøbing"},`, 500)
	// An odd number of ASCII bytes first puts byte 200 inside a two-byte rune.
	longMessage, _ := json.Marshal(map[string]string{"message": "x" + strings.Repeat("é", 400)})
	for name, h := range map[string]http.Handler{
		"a proxy page full of records": canned(502, "text/html", "<html>"+records+"</html>"),
		"Tray's message":               canned(400, "application/json", string(longMessage)),
		"a write answered with a page": canned(200, "text/html", records),
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := newClient(t, h, "tok", func(o *client.Options) { o.MaxAttempts = 1 })
			err := c.DeleteUser(context.Background(), "u1")
			if err == nil {
				t.Fatal("no error")
			}
			msg := status.Convert(err).Message()
			// The excerpt runs from after "body: " (or Tray's status line)
			// to the ellipsis that marks the cut.
			start := strings.Index(msg, "body: ") + len("body: ")
			if start < len("body: ") {
				start = strings.Index(msg, "Bad Request: ") + len("Bad Request: ")
			}
			end := strings.Index(msg, "…")
			if !utf8.ValidString(msg) || end < start || end-start > 200 || end-start < 190 {
				t.Fatalf("excerpt of %d bytes (want 190-200, cut at a rune), message %q", end-start, msg)
			}
		})
	}
}

// A write answered 2xx with something that is not JSON may or may not have
// happened; the client says so instead of reporting success.
func TestWriteAnsweredWithAPageIsUnconfirmed(t *testing.T) {
	c, _ := newClient(t, canned(200, "text/html", "<html>Your request is being processed</html>"), "tok")
	err := c.SetUserOrgRole(context.Background(), "u1", "r1")
	if !client.IsUnconfirmed(err) || status.Code(err) != codes.Unavailable {
		t.Fatalf("got %v (%v), want an unconfirmed write", err, status.Code(err))
	}
	if c.RequestCount() != 1 {
		t.Fatalf("%d requests: an unconfirmed write must not be sent again blindly", c.RequestCount())
	}
	for _, empty := range []http.Handler{canned(200, "text/html", ""), canned(204, "", ""), canned(200, "application/json", "{}")} {
		c, _ := newClient(t, empty, "tok")
		if err := c.SetUserOrgRole(context.Background(), "u1", "r1"); err != nil {
			t.Fatalf("an empty or JSON answer to a write: %v", err)
		}
	}
}

// Only a 429 is throttling; server errors that outlast the retries are an
// outage, without the rate-limit detail that would make the SDK wait for a
// reset that never comes.
func TestOnlyTooManyRequestsIsReportedAsRateLimiting(t *testing.T) {
	for _, tc := range []struct {
		code        int
		rateLimited bool
	}{{http.StatusTooManyRequests, true}, {http.StatusServiceUnavailable, false}, {http.StatusInternalServerError, false}} {
		c, _ := newClient(t, canned(tc.code, "application/json", `{"message":"nope"}`), "tok", func(o *client.Options) { o.MaxAttempts = 2 })
		_, err := c.ListOrgRoles(context.Background(), "")
		st := status.Convert(err)
		limited := false
		for _, d := range st.Details() {
			if _, ok := d.(*v2.RateLimitDescription); ok {
				limited = true
			}
		}
		if st.Code() != codes.Unavailable || limited != tc.rateLimited {
			t.Errorf("%d: code %v, rate-limit detail %v; want Unavailable and detail %v", tc.code, st.Code(), limited, tc.rateLimited)
		}
	}
}

// Tray allows 100 invitations a day: the refusal is final for the day, so
// it fails at once with ResourceExhausted instead of six paced retries.
func TestInvitationCapFailsAtOnce(t *testing.T) {
	sim := traysim.New(traysim.Options{Org: traysim.DefaultOrgOptions, InviteDailyLimit: 2})
	c, _ := newClient(t, sim, traysim.AdminToken)
	viewer := sim.Snapshot().OrgRoleByName("Viewer").ID
	for i := range 2 {
		if _, err := c.InviteUser(context.Background(), fmt.Sprintf("new%d@acme.example", i), viewer); err != nil {
			t.Fatal(err)
		}
	}
	before := c.RequestCount()
	_, err := c.InviteUser(context.Background(), "third@acme.example", viewer)
	testkit.WantCode(t, err, codes.ResourceExhausted, "100 invitations a day", "--account-creation-mode create")
	if sent := c.RequestCount() - before; sent != 1 {
		t.Fatalf("%d requests for a capped invitation, want 1", sent)
	}
	// An ordinary 429 on the same endpoint is throttling, and is retried.
	sim.SetFaults(traysim.Faults{TooManyEvery: 1})
	_, err = c.InviteUser(context.Background(), "fourth@acme.example", viewer)
	testkit.WantCode(t, err, codes.Unavailable, "429")
}
