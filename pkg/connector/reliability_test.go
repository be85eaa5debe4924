package connector

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	rs "github.com/conductorone/baton-sdk/pkg/types/resource"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/testkit"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/client"
	"github.com/conductorone/baton-trayai/pkg/config"
)

// The acceptance run: the simulator allows 15 rps and fails 5% of
// requests with a 5xx; the connector runs with its production limiter and
// backoff, and the c1z must equal a clean run's.
func TestSyncAt15RPSWith5PercentServerErrorsEqualsCleanSync(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("soak test: two syncs at 15 rps with production backoff")
	}
	for _, shape := range []traysim.Shape{traysim.ShapeFull, traysim.ShapeMinimal} {
		t.Run(shape.String(), func(t *testing.T) {
			t.Parallel()
			org := traysim.OrgOptions{Seed: 3, Users: 60, APIUsers: 2, SharedWorkspaces: 12, MembersPerWorkspace: 6}
			clean := newFixture(t, traysim.New(traysim.Options{Org: org, Shape: shape}))
			cleanGot := clean.sync(t)

			sim := traysim.New(traysim.Options{Org: org, Shape: shape})
			// TooManyEvery guarantees some 429s even if a loaded machine
			// slows the sync below the simulator's 15 rps.
			sim.SetFaults(traysim.Faults{RateLimit: 15, Burst: 5, TooManyEvery: 25, ServerErrorRate: 0.05, Seed: 42})
			faulty := newFixtureWith(t, sim, sim, productionClient, func(s *Settings) {
				s.RequestsPerSecond = client.DefaultRequestsPerSecond
			})
			faultyGot := faulty.sync(t)
			assertSameContents(t, cleanGot, faultyGot)

			_, statuses := sim.Counts()
			if statuses[429] == 0 || statuses[500]+statuses[502]+statuses[503] == 0 {
				t.Fatalf("no faults were injected (%v): the test proves nothing", statuses)
			}
			t.Logf("answers by status: %v", statuses)
		})
	}
}

func TestSyncUnderEveryFaultEqualsCleanSync(t *testing.T) {
	t.Parallel()
	clean := newFixture(t, traysim.NewDefault(traysim.ShapeMinimal))
	cleanGot := clean.sync(t)
	for _, tc := range []struct {
		retryAfter string
		faults     traysim.Faults
	}{
		{"", traysim.Faults{RateLimit: 400, Burst: 5, TooManyEvery: 30, ServerErrorRate: 0.05, MalformedRate: 0.05, Latency: time.Millisecond, Seed: 7}},
		// Retry-After is whole seconds, so these provoke only a few 429s.
		{"seconds", traysim.Faults{TooManyEvery: 40, RetryAfter: "seconds", ServerErrorRate: 0.05, Seed: 8}},
		{"http-date", traysim.Faults{TooManyEvery: 60, RetryAfter: "http-date", MalformedRate: 0.05, Seed: 9}},
	} {
		t.Run("retry-after="+tc.retryAfter, func(t *testing.T) {
			t.Parallel()
			if tc.retryAfter != "" && testing.Short() {
				// The client's own tests parse both forms; here each costs
				// a wall-clock wait of one to two seconds.
				t.Skip("waits out a whole-second Retry-After: run without -short (make test)")
			}
			sim := traysim.NewDefault(traysim.ShapeMinimal)
			sim.SetFaults(tc.faults)
			faulty := newFixtureWith(t, sim, sim, func(o *client.Options) {
				o.Burst = 20
				o.BaseBackoff, o.MaxBackoff, o.MaxAttempts = 2e6, 2e7, 10 // 2 ms .. 20 ms
			})
			faultyGot := faulty.sync(t)
			assertSameContents(t, cleanGot, faultyGot)
			_, statuses := sim.Counts()
			if statuses[429] == 0 {
				t.Fatalf("no 429 was provoked (%v)", statuses)
			}
		})
	}
}

func TestForbiddenWorkspaceIsSkippedNotEmptied(t *testing.T) {
	t.Parallel()
	sim := traysim.NewDefault(traysim.ShapeFull)
	sn := sim.Snapshot()
	locked := sn.WorkspacesOfType("Shared")[1]
	sim.SetFaults(traysim.Faults{ForbiddenWorkspaces: map[string]bool{locked.ID: true}})
	f := newFixture(t, sim)
	got := f.sync(t)

	wantR, wantE, wantG := expected(sn, f.settings)
	// The locked workspace is still a resource with its member entitlement,
	// but its roles and members could not be read.
	var wantE2, wantG2 []string
	for _, e := range wantE {
		if !strings.HasPrefix(e, "workspace:"+locked.ID+":") || e == "workspace:"+locked.ID+":member" {
			wantE2 = append(wantE2, e)
		}
	}
	for _, g := range wantG {
		if !strings.HasPrefix(g, "workspace:"+locked.ID+":") {
			wantG2 = append(wantG2, g)
		}
	}
	assertSameIDs(t, "resources", wantR, got.ResourceKeys())
	assertSameIDs(t, "entitlements", wantE2, got.EntitlementIDs())
	assertSameIDs(t, "grants", wantG2, got.GrantIDs())
	if reason, ok := f.conn.syncs.last().stats.snapshot().SkippedWorkspaces[locked.ID]; !ok {
		t.Fatalf("the forbidden workspace is not counted as skipped: %v", f.conn.syncs.last().stats.snapshot())
	} else if reason == "" {
		t.Fatal("no reason recorded")
	}
	if len(f.conn.syncs.last().stats.snapshot().SkippedWorkspaces) != 1 {
		t.Fatalf("skipped %v, want only %s", f.conn.syncs.last().stats.snapshot().SkippedWorkspaces, locked.ID)
	}
}

func TestValidateTellsBadTokenFromMissingRights(t *testing.T) {
	t.Parallel()
	sim := traysim.NewDefault(traysim.ShapeFull)
	url := traysim.ListenTest(t, sim)
	ctx := context.Background()
	for _, tc := range []struct {
		token string
		code  codes.Code
		want  string
	}{
		{traysim.AdminToken, codes.OK, ""},
		{"expired-token", codes.Unauthenticated, "check --auth-token"},
		{traysim.ViewerToken, codes.PermissionDenied, "Admin organization role"},
	} {
		s := testSettings(url)
		s.Token = tc.token
		c, err := NewWithSettings(ctx, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Validate(ctx)
		if tc.code == codes.OK {
			if err != nil {
				t.Fatalf("admin token: %v", err)
			}
			continue
		}
		testkit.WantCode(t, err, tc.code, tc.want)
	}
}

// A token revoked while a sync runs stops it at the next request, with the
// token message, instead of retrying or emptying the c1z.
func TestUnauthorizedMidSyncStopsTheSync(t *testing.T) {
	t.Parallel()
	sim := traysim.NewDefault(traysim.ShapeFull)
	const before = 5 // validation, users, roles, workspaces, a workspace's roles
	sim.SetFaults(traysim.Faults{RevokeAfter: before})
	f := newFixture(t, sim)
	err := harness.Sync(context.Background(), f.srv.Client, t.TempDir()+"/sync.c1z", harness.SyncOptions{TmpDir: t.TempDir()})
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "check --auth-token") {
		t.Fatalf("sync error %v (%v): want Unauthenticated with what to check", err, status.Code(err))
	}
	if n := strings.Count(err.Error(), "baton-trayai:"); n != 1 {
		t.Errorf("the error names the connector %d times: %q", n, err)
	}
	_, statuses := sim.Counts()
	if statuses[200] != before || statuses[401] != 1 {
		t.Fatalf("answers %v: want %d successes, then one 401 and nothing more", statuses, before)
	}
	_, verr := f.srv.Client.Validate(context.Background(), &v2.ConnectorServiceValidateRequest{})
	testkit.WantCode(t, verr, codes.Unauthenticated, "rejected the API token")
}

// Beside another integration spending half of Tray's budget, the pace
// falls to what is left and the sync still writes exactly what a clean
// run writes, with no page fetched twice.
func TestSyncBesideACompetingClientEqualsCleanSync(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits on a shared pace for seconds: run without -short (make test)")
	}
	org := traysim.OrgOptions{Seed: 5, Users: 30, APIUsers: 2, SharedWorkspaces: 6, MembersPerWorkspace: 5}
	clean := newFixture(t, traysim.New(traysim.Options{Org: org, Shape: traysim.ShapeMinimal}))
	cleanGot := clean.sync(t)
	_, cleanStatuses := clean.sim.Counts()

	sim := traysim.New(traysim.Options{Org: org, Shape: traysim.ShapeMinimal})
	// A small burst, so that the budget runs out within the first second.
	sim.SetFaults(traysim.Faults{RateLimit: 30, Burst: 10, CompetitorRPS: 15})
	t.Cleanup(sim.Close)
	busy := newFixtureWith(t, sim, sim, productionClient, func(s *Settings) {
		s.RequestsPerSecond = config.DefaultRequestsPerSecond
	})
	assertSameContents(t, cleanGot, busy.sync(t))
	_, statuses := sim.Counts()
	pace := busy.conn.client.Pace()
	if statuses[429] == 0 || pace.TooMany != int64(statuses[429]) || pace.RequestsPerSecond >= pace.Ceiling {
		t.Fatalf("answers %v, pace %+v: the competitor never pushed the pace down, so this proves nothing", statuses, pace)
	}
	if statuses[200] != cleanStatuses[200] {
		t.Fatalf("%d successful requests, a clean run needs %d: work was redone after an exhausted retry", statuses[200], cleanStatuses[200])
	}
	t.Logf("answers %v; pace %+v", statuses, pace)
}

// When one lookup of a page fails for good, the SDK retries the page; the
// retry fetches only the lookup that failed, not the whole page again.
// Refetching every page under throttling was what tripled the requests of
// a sync beside a busy integration, and grew the syncer's store with them.
func TestARetriedPageFetchesOnlyWhatFailed(t *testing.T) {
	t.Parallel()
	sim := traysim.NewDefault(traysim.ShapeMinimal)
	victim := sim.Snapshot().Users[7].ID
	// The victim fails every attempt of the first try, however many the
	// client makes in its retry budget, and none after it.
	var firstTryOver atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/core/v1/users/"+victim && !firstTryOver.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(`{"message":"Bad Gateway"}`))
			return
		}
		sim.ServeHTTP(w, r)
	})
	f := newFixtureWith(t, sim, h, fastClient)
	users := &f.conn.users
	opts := rs.SyncOpAttrs{SyncID: "sync-1"}
	if _, _, err := users.List(context.Background(), nil, opts); status.Code(err) != codes.Unavailable {
		t.Fatalf("first attempt: %v, want the lookup's failure", err)
	}
	firstTryOver.Store(true)
	first, _ := sim.Counts()
	got, _, err := users.List(context.Background(), nil, opts) // the SDK's retry of the same page
	if err != nil {
		t.Fatal(err)
	}
	both, _ := sim.Counts()
	const lookups = "GET /core/v1/users/{userId}"
	// The victim's failed attempts never reach the simulator, which counts the rest.
	if n := len(sim.Snapshot().Users); len(got) != n || first[lookups] != n-1 || both[lookups]-first[lookups] != 1 {
		t.Fatalf("%d users; lookups %d then %d more: want %d users, %d lookups, then only the one that failed",
			len(got), first[lookups], both[lookups]-first[lookups], n, n-1)
	}
	// A completed page keeps nothing: the next sync looks everything up.
	if _, _, err := users.List(context.Background(), nil, rs.SyncOpAttrs{SyncID: "sync-2"}); err != nil {
		t.Fatal(err)
	}
	if again, _ := sim.Counts(); again[lookups]-both[lookups] != len(sim.Snapshot().Users) {
		t.Fatalf("the next sync made %d lookups, want all %d", again[lookups]-both[lookups], len(sim.Snapshot().Users))
	}
}
