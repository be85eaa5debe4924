package traysim

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Listen serves h on a loopback port and returns the base URL a connector
// takes as --base-url, and a function that stops the server. h is the
// simulator itself, or a handler in front of it that changes or counts
// what Tray.ai answers.
func Listen(h http.Handler) (string, func()) {
	ts := httptest.NewServer(h)
	return ts.URL, ts.Close
}

// ListenTest is Listen for a test or benchmark: the server stops when it
// ends.
func ListenTest(tb testing.TB, h http.Handler) string {
	tb.Helper()
	url, stop := Listen(h)
	tb.Cleanup(stop)
	return url
}
