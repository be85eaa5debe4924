package connector

import (
	"errors"
	"strings"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestWrapfPrefixesOnceAndKeepsCodeAndDetails(t *testing.T) {
	t.Parallel()
	st, err := status.New(codes.Unavailable, "GET /core/v1/users: Tray.ai answered 429 Too Many Requests").
		WithDetails(v2.RateLimitDescription_builder{Remaining: 0}.Build())
	if err != nil {
		t.Fatal(err)
	}
	wrapped := wrapf(wrapf(st.Err(), "list users"), "sync")
	got := status.Convert(wrapped)
	if got.Code() != codes.Unavailable || len(got.Details()) != 1 {
		t.Fatalf("code %v, %d details: the code and the rate-limit detail must survive", got.Code(), len(got.Details()))
	}
	if n := strings.Count(got.Message(), "baton-trayai:"); n != 1 || !strings.HasPrefix(got.Message(), "baton-trayai: sync: list users: GET /core/v1/users") {
		t.Fatalf("message %q: want the prefix once, then what failed", got.Message())
	}

	denied := wrapf(wrapf(status.Error(codes.Unauthenticated, "GET /core/v1/users: Tray.ai answered 401"), "list users"), "again")
	if msg := status.Convert(denied).Message(); strings.Count(msg, "--auth-token") != 1 || status.Code(denied) != codes.Unauthenticated {
		t.Fatalf("%q: a rejected token must say once what to check", msg)
	}

	plain := wrapf(errors.New("disk full"), "write c1z")
	if plain.Error() != "baton-trayai: write c1z: disk full" {
		t.Fatalf("plain error wrapped as %q", plain)
	}
}
