package client_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
)

// recorder wraps a handler and keeps the query of every request.
type recorder struct {
	next    http.Handler
	mu      sync.Mutex
	queries map[string][]string // path → raw queries
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.queries[req.URL.Path] = append(r.queries[req.URL.Path], req.URL.RawQuery)
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

func newClient(t *testing.T, h http.Handler, token string, tune ...func(*client.Options)) (*client.Client, *recorder) {
	t.Helper()
	rec := &recorder{next: h, queries: map[string][]string{}}
	o := client.Options{BaseURL: traysim.ListenTest(t, rec), Token: token, RequestsPerSecond: 1000, Burst: 100,
		BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
	for _, f := range tune {
		f(&o)
	}
	c, err := client.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

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

func mustUser(t *testing.T, sn traysim.Snapshot, id string) traysim.User {
	t.Helper()
	u, ok := sn.User(id)
	if !ok {
		t.Fatalf("user %s missing", id)
	}
	return u
}
