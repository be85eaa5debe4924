//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/types/grant"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/conductorone/baton-trayai/internal/c1sim"
	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/manifest"
	"github.com/conductorone/baton-trayai/internal/memcg"
	"github.com/conductorone/baton-trayai/internal/traysim"
	"github.com/conductorone/baton-trayai/pkg/config"
	"github.com/conductorone/baton-trayai/pkg/connector"
)

// serviceToken is the Tray.ai token of the service-mode tests: unique, so
// that finding it anywhere means it leaked.
const serviceToken = "tok-svc-7c1e9a2b4d6f8a0c2e4b6d8f0a1c3e5b"

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// service is the binary running in service mode against the ConductorOne
// stand-in and the simulated Tray.ai organization.
type service struct {
	c1   *c1sim.Server
	tray *traysim.Server
	cmd  *exec.Cmd
	out  *lockedBuffer
	tmp  string
	done chan struct{}
}

// startC1 is a stand-in for the binary's service: it polls often, and its
// requests are not logged (the service's own log is the test's evidence).
func startC1(t *testing.T, edit ...func(*c1sim.Options)) *c1sim.Server {
	t.Helper()
	opts := c1sim.Options{PollInterval: 50 * time.Millisecond, HeartbeatInterval: time.Second, Logf: func(string, ...any) {}}
	for _, e := range edit {
		e(&opts)
	}
	return startStandIn(t, opts)
}

func newTray(shape traysim.Shape) *traysim.Server {
	tray := traysim.NewDefault(shape)
	tray.AddToken(serviceToken, traysim.Token{Kind: traysim.TokenOrgAdmin, UserID: tray.APIUserID(traysim.AdminToken)})
	return tray
}

// startService runs the binary with the environment a Kubernetes pod gives
// it (the stand-in's credentials, host and CA), at debug level.
func startService(t *testing.T, c1 *c1sim.Server, tray *traysim.Server, extra ...string) *service {
	t.Helper()
	s := &service{c1: c1, tray: tray, out: &lockedBuffer{}, tmp: t.TempDir(), done: make(chan struct{})}
	env := append(c1.Env(), "HOME="+t.TempDir(), "PATH="+os.Getenv("PATH"), "TMPDIR="+s.tmp, "BATON_HOST_ID=test-host",
		"BATON_AUTH_TOKEN="+serviceToken, "BATON_PROVISIONING=true", "BATON_LOG_LEVEL=debug", "BATON_LOG_FORMAT=json")
	args := append([]string{"--base-url", traysim.ListenTest(t, tray)}, extra...)
	s.start(t, env, args)
	return s
}

func (s *service) start(t *testing.T, env, args []string) {
	t.Helper()
	s.cmd = cliCommand(context.Background(), env, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		if t.Failed() {
			t.Logf("service output:\n%s", tail(s.out.String()))
		}
	})
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// finish waits for a task and fails the test when the service exited.
func (s *service) finish(t *testing.T, id string) *c1sim.Finished {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	f, err := s.c1.WaitFinished(ctx, id)
	if err != nil {
		t.Fatalf("task %s not finished (%v); the service exited: %v", id, err, s.exited())
	}
	return f
}

func (s *service) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// sync runs a sync task and returns what its c1z holds.
func (s *service) sync(t *testing.T, fs c1sim.FullSync) harness.Contents {
	t.Helper()
	id := s.c1.EnqueueFullSync(fs)
	if f := s.finish(t, id); !f.Success {
		t.Fatalf("sync task failed: %v", f.Err())
	}
	ups := s.c1.Uploads(id)
	if len(ups) == 0 {
		t.Fatal("the sync task uploaded nothing")
	}
	got, err := harness.Read(context.Background(), ups[0].Path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// oracle is what the in-process SDK harness syncs from the same
// organization: the full sync tests check it against the simulator's state.
func oracle(t *testing.T, tray *traysim.Server, o harness.SyncOptions) harness.Contents {
	t.Helper()
	ctx := context.Background()
	cb, _, err := connector.New(ctx, &config.Trayai{AuthToken: serviceToken, BaseUrl: traysim.ListenTest(t, tray)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	served, err := harness.Serve(ctx, cb)
	if err != nil {
		t.Fatal(err)
	}
	defer served.Close()
	path := filepath.Join(t.TempDir(), "oracle.c1z")
	o.TmpDir = t.TempDir()
	if err := harness.Sync(ctx, served.Client, path, o); err != nil {
		t.Fatal(err)
	}
	got, err := harness.Read(ctx, path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func requireSame(t *testing.T, what string, got, want harness.Contents) {
	t.Helper()
	for _, c := range []struct {
		kind      string
		got, want []string
	}{
		{"resources", got.ResourceKeys(), want.ResourceKeys()},
		{"entitlements", got.EntitlementIDs(), want.EntitlementIDs()},
		{"grants", got.GrantIDs(), want.GrantIDs()},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Fatalf("%s: %d %s uploaded, want %d; first differences: %v", what, len(c.got), c.kind, len(c.want), diff(c.got, c.want))
		}
	}
}

func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, "+"+x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, "-"+x)
		}
	}
	return out[:min(len(out), 6)]
}

// Every task the connector advertises, as ConductorOne sends it, against
// the built binary: what the stand-in receives is exactly what a sync
// holds, and every provisioning task leaves Tray.ai as it should.
func TestServiceModeRunsEveryTask(t *testing.T) {
	skipInShortMode(t, "every task in service mode")
	c1 := startC1(t)
	tray := newTray(traysim.ShapeMinimal)
	s := startService(t, c1, tray)
	hello, err := c1.WaitHello(ctxFor(t, time.Minute), 1)
	if err != nil {
		t.Fatalf("no Hello: %v", err)
	}
	if caps := hello.Capabilities.GetConnectorCapabilities(); !slices.Contains(caps, v2.Capability_CAPABILITY_PROVISION) ||
		!slices.Contains(caps, v2.Capability_CAPABILITY_ACCOUNT_PROVISIONING) {
		t.Fatalf("Hello advertises %v, want provisioning and account provisioning", caps)
	}

	// Full syncs: ConductorOne expands the implicit grants itself, or asks
	// the connector to.
	unexpanded := s.sync(t, c1sim.FullSync{SkipExpandGrants: true})
	requireSame(t, "sync with skip_expand_grants", unexpanded, oracle(t, tray, harness.SyncOptions{SkipExpandGrants: true}))
	expanded := s.sync(t, c1sim.FullSync{})
	requireSame(t, "sync", expanded, oracle(t, tray, harness.SyncOptions{}))
	if len(expanded.Grants) <= len(unexpanded.Grants) {
		t.Fatalf("%d grants expanded, %d not: skip_expand_grants changed nothing", len(expanded.Grants), len(unexpanded.Grants))
	}

	sn := tray.Snapshot()
	ws := sn.WorkspacesOfType("Shared")[0]
	wsRes := unexpanded.Resources["workspace/"+ws.ID]

	// What ConductorOne expands from: the implicit Admin grant to the Owner
	// role arrives with its GrantExpandable annotation.
	owner := sn.OrgRoleByName("Owner")
	implicit := unexpanded.Grants["workspace:"+ws.ID+":"+ws.RoleByName("Admin").ID+":role:"+owner.ID]
	expandable := &v2.GrantExpandable{}
	implicitAnnos := annotations.Annotations(implicit.GetAnnotations())
	if ok, _ := implicitAnnos.Pick(expandable); !ok ||
		!slices.Equal(expandable.GetEntitlementIds(), []string{"role:" + owner.ID + ":assigned"}) {
		t.Fatalf("the uploaded implicit Admin grant %v carries no expansion to the Owner role's holders", implicit)
	}

	// A targeted sync of one workspace holds that workspace alone.
	partial := s.sync(t, c1sim.FullSync{SkipExpandGrants: true, TargetedResources: []*v2.Resource{wsRes}})
	if keys := partial.ResourceKeys(); !slices.Equal(keys, []string{"workspace/" + ws.ID}) {
		t.Fatalf("targeted sync uploaded %v, want only workspace/%s", keys, ws.ID)
	}
	for id := range partial.Grants {
		if !strings.HasPrefix(id, "workspace:"+ws.ID+":") {
			t.Fatalf("targeted sync uploaded the grant %s of another resource", id)
		}
	}

	// Grant a workspace role to a user who is not a member, twice.
	var user traysim.User
	for _, u := range sn.Users {
		if _, member := sn.Members[ws.ID][u.ID]; !member && u.AccountType == "Regular" && sn.OrgRoleName(u.OrgRoleID) == "Viewer" {
			user = u
			break
		}
	}
	role := ws.RoleByName("Contributor")
	ent := unexpanded.Entitlements["workspace:"+ws.ID+":"+role.ID]
	principal := unexpanded.Resources["user/"+user.ID]
	if ent == nil || principal == nil {
		t.Fatalf("the synced c1z lacks the entitlement or the user (%v, %v)", ent, principal)
	}
	for attempt := range 2 {
		if f := s.finish(t, c1.EnqueueGrant(ent, principal)); !f.Success {
			t.Fatalf("grant %d failed: %v", attempt+1, f.Err())
		}
		if got := tray.Snapshot().Members[ws.ID][user.ID]; got != role.ID {
			t.Fatalf("after grant %d the user holds %q in the workspace, want %s", attempt+1, got, role.ID)
		}
	}

	// Revoke it, twice.
	g := grant.NewGrant(wsRes, role.ID, principal)
	g.SetEntitlement(ent)
	g.SetPrincipal(principal)
	for attempt := range 2 {
		if f := s.finish(t, c1.EnqueueRevoke(g)); !f.Success {
			t.Fatalf("revoke %d failed: %v", attempt+1, f.Err())
		}
		if _, member := tray.Snapshot().Members[ws.ID][user.ID]; member {
			t.Fatalf("after revoke %d the user is still a member", attempt+1)
		}
	}

	// Create an account: Tray.ai emails an invitation.
	profile, _ := structpb.NewStruct(map[string]any{"email": "new.hire@example.com", "name": "New Hire"})
	info := v2.AccountInfo_builder{Profile: profile}.Build()
	if f := s.finish(t, c1.EnqueueCreateAccount(info, nil, nil, "user")); !f.Success {
		t.Fatalf("create account failed: %v", f.Err())
	}
	if !slices.ContainsFunc(tray.Snapshot().Invites, func(i traysim.Invite) bool { return i.Email == "new.hire@example.com" }) {
		t.Fatal("no invitation was sent")
	}

	// Delete an account, twice.
	userID := v2.ResourceId_builder{ResourceType: "user", Resource: user.ID}.Build()
	for attempt := range 2 {
		if f := s.finish(t, c1.EnqueueDeleteResource(userID, nil)); !f.Success {
			t.Fatalf("delete %d failed: %v", attempt+1, f.Err())
		}
		if _, exists := tray.Snapshot().User(user.ID); exists {
			t.Fatalf("after delete %d the user still exists", attempt+1)
		}
	}

	// A task that fails is finished with its error, and the service goes on.
	tray.RevokeToken(serviceToken)
	f := s.finish(t, c1.EnqueueFullSync(c1sim.FullSync{}))
	if f.Success || f.Code != codes.Unauthenticated || !strings.Contains(f.Message, "--auth-token") {
		t.Fatalf("a sync with a revoked Tray.ai token finished with %v (%s), want Unauthenticated naming --auth-token", f.Code, f.Message)
	}
	tray.AddToken(serviceToken, traysim.Token{Kind: traysim.TokenOrgAdmin, UserID: tray.APIUserID(traysim.AdminToken)})
	if after := s.sync(t, c1sim.FullSync{SkipExpandGrants: true}); len(after.Resources) == 0 {
		t.Fatal("the sync after the failed one is empty")
	}

	// Neither the Tray.ai token nor the client secret reached ConductorOne
	// or a log line, at debug level.
	if !strings.Contains(s.out.String(), `"level":"debug"`) {
		t.Fatal("debug logging was not on: the search below proves nothing")
	}
	for _, secret := range append(c1.Credentials().SecretMaterial(), serviceToken) {
		if hits := c1.Search(secret); len(hits) != 0 {
			t.Fatalf("a secret reached ConductorOne: %v", hits)
		}
		if strings.Contains(s.out.String(), secret) {
			t.Fatal("a secret is in the service's log")
		}
	}
	for _, up := range c1.AllUploads() {
		got, err := harness.Read(context.Background(), up.Path, t.TempDir())
		if err != nil {
			t.Fatalf("upload %s unreadable, so not checked for the token: %v", up.Path, err)
		}
		if leaks := mentions(got, serviceToken); len(leaks) != 0 {
			t.Fatalf("the Tray.ai token is in an uploaded c1z: %v", leaks)
		}
	}
}

// ConductorOne failing at start-up is retried with a back-off and one log
// line per attempt, not the end of the service; an outage while running is
// ridden out.
func TestServiceModeRidesOutConductorOneOutages(t *testing.T) {
	skipInShortMode(t, "start-up back-off in service mode")
	c1 := startC1(t)
	c1.FailToken(503, 2)
	s := startService(t, c1, newTray(traysim.ShapeFull))
	if _, err := c1.WaitHello(ctxFor(t, time.Minute), 1); err != nil {
		t.Fatalf("no Hello after a token outage at start-up (exited: %v): %v", s.exited(), err)
	}
	if n := strings.Count(s.out.String(), "ConductorOne did not answer the connector's start-up; retrying"); n != 2 {
		t.Fatalf("%d retry lines for 2 failed start-ups, want one each", n)
	}
	var waits []string
	for _, m := range regexp.MustCompile(`"retry_in":([0-9.]+)`).FindAllStringSubmatch(s.out.String(), -1) {
		waits = append(waits, m[1])
	}
	if !slices.Equal(waits, []string{"1", "2"}) {
		t.Fatalf("start-up retried after %v s, want 1 then 2 (a second, doubling)", waits)
	}

	c1.FailRPC(codes.Unavailable, c1sim.Forever, "GetTask")
	if err := c1.WaitUntil(ctxFor(t, time.Minute), func() bool { return c1.Stats().RPCFailuresInjected >= 2 }); err != nil {
		t.Fatal(err)
	}
	c1.ClearRPCFailures()
	if got := s.sync(t, c1sim.FullSync{SkipExpandGrants: true}); len(got.Resources) == 0 {
		t.Fatal("the sync after the outage is empty")
	}
	if s.exited() {
		t.Fatal("the service exited during the outage")
	}
}

// Until ConductorOne answers the start-up Hello, however long the SDK
// retries it, the liveness probe is answered and readiness is not; once it
// answers, both are, on the port the operator chose.
func TestServiceModeIsAliveWhileWaitingForConductorOne(t *testing.T) {
	skipInShortMode(t, "service mode's start-up")
	t.Parallel()
	c1 := startC1(t)
	c1.FailRPC(codes.Unavailable, c1sim.Forever, "Hello")
	port := freePort(t)
	s := startService(t, c1, newTray(traysim.ShapeFull), "--health-check", "--health-check-port", port)
	if err := c1.WaitUntil(ctxFor(t, time.Minute), func() bool { return c1.Stats().RPCFailuresInjected >= 1 }); err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + port
	waitProbe(t, s, base+"/live", http.StatusOK)
	if code := probe(base + "/ready"); code != http.StatusServiceUnavailable {
		t.Fatalf("/ready answered %d before ConductorOne answered the start-up, want 503", code)
	}
	c1.ClearRPCFailures()
	if _, err := c1.WaitHello(ctxFor(t, time.Minute), 1); err != nil {
		t.Fatalf("no Hello once ConductorOne answered (exited: %v): %v", s.exited(), err)
	}
	waitProbe(t, s, base+"/ready", http.StatusOK)
	waitProbe(t, s, base+"/live", http.StatusOK)
}

// freePort is a loopback port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// probe is the status a GET of url answers, 0 when nothing answers.
func probe(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// waitProbe polls url, as the kubelet does, until it answers want; it fails
// the test after 30 s or when the service exits.
func waitProbe(t *testing.T, s *service, url string, want int) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for got := probe(url); got != want; got = probe(url) {
		select {
		case <-s.done:
			t.Fatalf("the service exited while %s answered %d, want %d:\n%s", url, got, want, tail(s.out.String()))
		case <-deadline:
			t.Fatalf("%s answered %d for 30 s, want %d", url, got, want)
		case <-tick.C:
		}
	}
}

// Credentials ConductorOne rejects are final: the service exits with the
// reason and what to do.
func TestServiceModeStopsOnRejectedCredentials(t *testing.T) {
	t.Parallel()
	c1 := startC1(t)
	c1.FailToken(401, c1sim.Forever)
	s := startService(t, c1, newTray(traysim.ShapeFull))
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatal("the service kept running with rejected credentials")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 16 || !strings.Contains(s.out.String(), "check --client-id and --client-secret") {
		t.Fatalf("exit %d, want 16 and the credentials hint:\n%s", code, tail(s.out.String()))
	}
}

// pidsBelow lists the processes below pid.
func pidsBelow(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, task := range tasks {
		raw, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(raw)) {
			var c int
			if _, err := fmt.Sscan(f, &c); err == nil {
				out = append(append(out, c), pidsBelow(c)...)
			}
		}
	}
	return out
}

// gone waits for a process to disappear, for at most d.
func gone(pid int, d time.Duration) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for {
		if err := syscall.Kill(pid, 0); err != nil {
			return true
		}
		select {
		case <-deadline:
			return false
		case <-tick.C:
		}
	}
}

// SIGTERM, as Kubernetes sends it, stops the service within seconds, idle
// or in the middle of a sync, and leaves nothing in TMPDIR. A task in
// flight is left to ConductorOne, which hands it out again once its
// heartbeats stop: the next start of the service finishes it.
func TestServiceModeStopsOnSIGTERMAndLeavesNothing(t *testing.T) {
	skipInShortMode(t, "a stopped service, idle and mid-task")
	for _, midTask := range []bool{false, true} {
		t.Run(fmt.Sprintf("mid-task=%v", midTask), func(t *testing.T) {
			c1 := startC1(t, func(o *c1sim.Options) { o.ReclaimAfter = 3 * time.Second })
			tray := newTray(traysim.ShapeMinimal)
			s := startService(t, c1, tray)
			if _, err := c1.WaitHello(ctxFor(t, time.Minute), 1); err != nil {
				t.Fatal(err)
			}
			var task string
			if midTask {
				tray.SetFaults(traysim.Faults{Latency: 200 * time.Millisecond})
				task = c1.EnqueueFullSync(c1sim.FullSync{})
				if err := c1.WaitHeartbeats(ctxFor(t, time.Minute), task, 1); err != nil {
					t.Fatal(err)
				}
				if entries, _ := filepath.Glob(filepath.Join(s.tmp, "baton-trayai-run-*", "*")); len(entries) <= 1 {
					t.Fatalf("the sync keeps nothing in TMPDIR yet (%v): the check below would prove nothing", entries)
				}
			}
			children := pidsBelow(s.cmd.Process.Pid)
			sent := time.Now()
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				t.Fatal("the service did not exit within 10 s of SIGTERM")
			}
			t.Logf("exited %s after SIGTERM with %v", time.Since(sent).Round(time.Millisecond), s.cmd.ProcessState)
			if code := s.cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) {
				t.Fatalf("exit %d, want %d", code, 128+int(syscall.SIGTERM))
			}
			for _, pid := range children {
				if !gone(pid, 10*time.Second) {
					t.Fatalf("process %d outlived the service", pid)
				}
			}
			if left := runDirs(t, s.tmp); len(left) != 0 {
				t.Fatalf("TMPDIR holds %v after SIGTERM", left)
			}
			if midTask {
				if info, _ := c1.Task(task); info.State != c1sim.TaskTaken {
					t.Fatalf("the interrupted task is %s, want it left taken for ConductorOne to hand out again", info.State)
				}
				tray.SetFaults(traysim.Faults{})
				startService(t, c1, tray)
				f, err := c1.WaitFinished(ctxFor(t, time.Minute), task)
				if err != nil || !f.Success {
					t.Fatalf("the next start did not finish the interrupted task: %+v, %v", f, err)
				}
				if info, _ := c1.Task(task); info.Handouts != 2 {
					t.Fatalf("the task was handed out %d times, want 2", info.Handouts)
				}
			}
		})
	}
}

// deployment reads the shipped Kubernetes manifests and returns the
// environment the pod would give the container, with the Secret's
// placeholders filled for the stand-in and the simulated organization,
// the simulator's URL, the stand-in's host and CA, and the emptyDir the
// manifest mounts for temporary data at a directory of the test's.
func deployment(t *testing.T, c1 *c1sim.Server, tray *traysim.Server, tmp string) (manifest.Deployment, []string) {
	t.Helper()
	dep, secrets, err := manifest.Load("../../deploy/kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	env, err := dep.Environ(secrets)
	if err != nil {
		t.Fatal(err)
	}
	api := tray.Snapshot()
	apiUser, _ := api.User(tray.APIUserID(traysim.AdminToken))
	fill := map[string]string{
		"BATON_CLIENT_ID":         c1.ClientID(),
		"BATON_CLIENT_SECRET":     c1.ClientSecret(),
		"BATON_AUTH_TOKEN":        serviceToken,
		"BATON_CONNECTOR_ACCOUNT": apiUser.Email,
	}
	for i, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case fill[k] != "":
			env[i] = k + "=" + fill[k]
		case strings.HasPrefix(v, "<"):
			t.Fatalf("the Secret has a placeholder %s this test does not fill: add it here", k)
		case k == "TMPDIR" && v == dep.TmpPath:
			env[i] = k + "=" + tmp
		}
	}
	env = append(env, "HOME="+t.TempDir(), "PATH="+os.Getenv("PATH"), "BATON_BASE_URL="+traysim.ListenTest(t, tray))
	for _, kv := range c1.Env() {
		if strings.HasPrefix(kv, "BATON_C1_API_HOST=") || strings.HasPrefix(kv, "SSL_CERT_FILE=") {
			env = append(env, kv)
		}
	}
	return dep, env
}

// The shipped manifests drive a run: exactly the Deployment's environment
// and its Secret's keys start the service, which says Hello, syncs, and
// answers the probes on the port they name.
func TestTheKubernetesManifestsRunTheService(t *testing.T) {
	t.Parallel()
	c1 := startC1(t)
	tray := newTray(traysim.ShapeFull)
	s := &service{c1: c1, tray: tray, out: &lockedBuffer{}, tmp: t.TempDir(), done: make(chan struct{})}
	dep, env := deployment(t, c1, tray, s.tmp)
	if dep.HealthPort == 0 || dep.LivePath == "" || dep.ReadyPath == "" {
		t.Fatalf("the Deployment names no probe port or paths: %+v", dep)
	}
	if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", dep.HealthPort)); err != nil {
		t.Skipf("the probes' port %d is taken on this machine (%v)", dep.HealthPort, err)
	} else {
		_ = ln.Close()
	}
	s.start(t, env, nil)
	if _, err := c1.WaitHello(ctxFor(t, time.Minute), 1); err != nil {
		t.Fatalf("no Hello: %v", err)
	}
	if got := s.sync(t, c1sim.FullSync{SkipExpandGrants: true}); len(got.Resources) == 0 {
		t.Fatal("the sync uploaded nothing")
	}
	for _, path := range []string{dep.LivePath, dep.ReadyPath} {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", dep.HealthPort, path))
		if err != nil {
			t.Fatalf("probe %s: %v", path, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("probe %s answered %s", path, resp.Status)
		}
	}
	if strings.Contains(s.out.String(), "--connector-account (BATON_CONNECTOR_ACCOUNT) is not set") {
		t.Fatal("the Secret's connector account did not reach the connector")
	}
}

// A soak of sync tasks, both list shapes in turn, inside a memory cgroup
// at the manifest's limit and with its Go settings: no process is killed,
// every task succeeds, and nothing piles up in TMPDIR.
func TestServiceSoakStaysWithinTheManifestLimits(t *testing.T) {
	skipInShortMode(t, "a soak")
	const tasks = 20
	c1 := startC1(t)
	tray := traysim.New(traysim.Options{
		Org:   traysim.OrgOptions{Seed: 7, Users: 150, APIUsers: 2, SharedWorkspaces: 10, MembersPerWorkspace: 15},
		Shape: traysim.ShapeFull,
	})
	tray.AddToken(serviceToken, traysim.Token{Kind: traysim.TokenOrgAdmin, UserID: tray.APIUserID(traysim.AdminToken)})
	s := &service{c1: c1, tray: tray, out: &lockedBuffer{}, tmp: t.TempDir(), done: make(chan struct{})}
	dep, env := deployment(t, c1, tray, s.tmp)
	group, err := memcg.New(fmt.Sprintf("baton-trayai-soak-%d", os.Getpid()), dep.MemoryLimit)
	if err != nil {
		t.Skipf("the machine gives no memory cgroup to hold the soak to the manifest's %d MiB: %v", dep.MemoryLimit>>20, err)
	}
	t.Cleanup(func() {
		if err := group.Close(); err != nil {
			t.Error(err)
		}
	})
	// The probes' port is not needed here, and another test may hold it.
	env = append(env, "BATON_HEALTH_CHECK=false", "BATON_LOG_LEVEL=warn", "BATON_RATE_LIMIT=50")
	s.cmd = cliCommand(context.Background(), env)
	group.Enter(s.cmd)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { _ = s.cmd.Process.Kill(); <-s.done })
	if _, err := c1.WaitHello(ctxFor(t, time.Minute), 1); err != nil {
		t.Fatalf("no Hello: %v", err)
	}
	shapes := []traysim.Shape{traysim.ShapeFull, traysim.ShapeMinimal}
	var peak int64
	for n := range tasks {
		tray.SetShape(shapes[n%2])
		group.ResetMaxUsage()
		got := s.sync(t, c1sim.FullSync{SkipExpandGrants: true})
		use := group.MaxUsage()
		peak = max(peak, use)
		t.Logf("task %2d (%s): %d resources, %d grants, cgroup peak %d MiB", n+1, shapes[n%2], len(got.Resources), len(got.Grants), use>>20)
	}
	if kills := group.OOMKills(); kills != 0 || s.exited() {
		t.Fatalf("%d processes OOM-killed at the manifest's %d MiB (service exited: %v)", kills, dep.MemoryLimit>>20, s.exited())
	}
	// The SDK removes a task's c1z just after it reports the task finished.
	settled := func() bool {
		files, _ := filepath.Glob(filepath.Join(s.tmp, "baton-trayai-run-*", "*"))
		return len(files) <= 1
	}
	for deadline := time.Now().Add(5 * time.Second); !settled() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if files, _ := filepath.Glob(filepath.Join(s.tmp, "baton-trayai-run-*", "*")); len(files) > 1 {
		t.Fatalf("after %d tasks TMPDIR holds %v", tasks, files)
	}
	t.Logf("%d sync tasks, peak %d MiB of the manifest's %d MiB", tasks, peak>>20, dep.MemoryLimit>>20)
}
