package client_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
)

// canned answers every request with one fixed response.
func canned(code int, contentType, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	})
}

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
			wantCode(t, err, tc.code, tc.want...)
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

func TestRedirectsAreNotFollowed(t *testing.T) {
	var hits int
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
	})
	c, _ := newClient(t, h, "tok", func(o *client.Options) { o.MaxAttempts = 1 })
	_, err := c.ListUsers(context.Background(), "")
	if err == nil || hits != 1 {
		t.Fatalf("redirect: err %v, hits %d", err, hits)
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
		o.HTTPClient = &http.Client{Timeout: 500 * time.Millisecond}
	})
	roles, err := c.ListOrgRoles(context.Background(), "")
	if err != nil || len(roles.Elements) != 4 || calls.Load() != 2 {
		t.Fatalf("after a timeout: %v, %d roles, %d attempts", err, len(roles.Elements), calls.Load())
	}
}
