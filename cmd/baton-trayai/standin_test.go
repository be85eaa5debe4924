package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"github.com/conductorone/baton-sdk/pkg/crypto"
	"github.com/conductorone/baton-sdk/pkg/tasks/c1api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-trayai/internal/c1sim"
	"github.com/conductorone/baton-trayai/internal/harness"
)

func TestStandInCredentialsAreWhatTheSDKParses(t *testing.T) {
	t.Parallel()
	s := startStandIn(t, c1sim.Options{ClientName: "happy-donkey"})
	key, err := crypto.ParseClientSecret([]byte(s.ClientSecret()), false)
	if err != nil {
		t.Fatalf("the SDK does not parse the client secret: %v", err)
	}
	priv, ok := key.Key.(ed25519.PrivateKey)
	if !ok {
		t.Fatalf("the client secret holds a %T, not an Ed25519 private key", key.Key)
	}
	if !bytes.Equal(priv.Public().(ed25519.PublicKey), s.Credentials().PublicKey) {
		t.Fatal("the client secret's key is not the key the server verifies with")
	}
	if want := "happy-donkey@" + s.Addr() + "/pcc"; s.ClientID() != want {
		t.Fatalf("client id %q, want %q", s.ClientID(), want)
	}
	env := s.Env()
	for _, want := range []string{
		"BATON_CLIENT_ID=" + s.ClientID(),
		"BATON_CLIENT_SECRET=" + s.ClientSecret(),
		"BATON_C1_API_HOST=" + s.Addr(),
		"SSL_CERT_FILE=" + s.CAFile(),
	} {
		if !slices.Contains(env, want) {
			t.Errorf("Env() lacks %s", want)
		}
	}
	pem, err := os.ReadFile(s.CAFile())
	if err != nil || !bytes.Contains(pem, standInCA.PEM()) {
		t.Fatalf("the CA bundle does not hold the CA (%v)", err)
	}
}

// The SDK's service-mode task manager says Hello, takes a task once and
// finishes it, exchanging its secret for a token once, and the secret never
// leaves it.
func TestStandInServiceModeHelloTaskAndFinish(t *testing.T) {
	skipServiceLoopInShortMode(t)
	ctx := ctxFor(t, time.Minute)
	t.Setenv("BATON_HOST_ID", "c1sim-test-host")
	s := startStandIn(t, c1sim.Options{PollInterval: 250 * time.Millisecond})
	conn := &toyConnector{}
	cc, m := bootToy(ctx, t, s, conn, t.TempDir())
	hellos := s.Hellos()
	if len(hellos) != 1 {
		t.Fatalf("%d Hellos, want 1", len(hellos))
	}
	h := hellos[0]
	if h.HostID != "c1sim-test-host" || h.TaskID != "" {
		t.Errorf("Hello host %q task %q", h.HostID, h.TaskID)
	}
	if h.ConnectorMetadata.GetDisplayName() != "c1sim test connector" {
		t.Errorf("Hello metadata %v", h.ConnectorMetadata)
	}
	var types []string
	for _, rc := range h.Capabilities.GetResourceTypeCapabilities() {
		types = append(types, rc.GetResourceType().GetId())
	}
	if !slices.Contains(types, "user") || !slices.Contains(types, "group") {
		t.Errorf("Hello capabilities name resource types %v", types)
	}
	if !strings.HasPrefix(h.UserAgent, "c1sim-connector baton-sdk/") {
		t.Errorf("user agent %q", h.UserAgent)
	}

	admins, err := adminsGroup()
	if err != nil {
		t.Fatal(err)
	}
	alice := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "user", Resource: "alice"}.Build()}.Build()
	ent := v2.Entitlement_builder{Id: "group:admins:member", Resource: admins, Slug: "member"}.Build()
	id := s.EnqueueGrant(ent, alice)

	task, next, err := m.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if task.GetId() != id || task.GetGrant() == nil {
		t.Fatalf("got task %v, want grant %s", task, id)
	}
	if next != 250*time.Millisecond {
		t.Errorf("next poll %s, want the server's 250ms", next)
	}
	again, _, err := m.Next(ctx)
	if err != nil || again != nil {
		t.Fatalf("second GetTask handed out %v (%v), want nothing", again, err)
	}
	if err := m.Process(ctx, task, cc); err != nil {
		t.Fatal(err)
	}
	f, err := s.WaitFinished(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Success || f.Err() != nil || f.HostID != "c1sim-test-host" {
		t.Fatalf("finished %+v", f)
	}
	resp := &v2.GrantManagerServiceGrantResponse{}
	if err := f.UnmarshalResponse(resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.GetGrants()) != 1 || resp.GetGrants()[0].GetPrincipal().GetId().GetResource() != "alice" {
		t.Errorf("grant response %v", resp)
	}
	if !slices.Equal(conn.granted, []string{"alice group:admins:member"}) {
		t.Errorf("connector granted %v", conn.granted)
	}
	info, _ := s.Task(id)
	if info.State != c1sim.TaskFinished || info.TakenBy != "c1sim-test-host" || info.Type != "grant" || len(info.Finishes) != 1 {
		t.Errorf("task %+v", info)
	}

	st := s.Stats()
	if st.TokenRequests != 1 || st.TokensIssued != 1 || st.Hello != 1 || st.GetTask != 2 || st.FinishTask != 1 {
		t.Errorf("stats %+v", st)
	}
	for _, secret := range s.Credentials().SecretMaterial() {
		if hits := s.Search(secret); len(hits) > 0 {
			t.Errorf("secret material reached the server: %v", hits)
		}
	}
	// The access token travels only in authorization metadata.
	recs := s.Records()
	auth := ""
	for _, r := range recs {
		if r.Kind == c1sim.KindGRPC {
			auth = r.Header.Get("Authorization")
			break
		}
	}
	token := strings.TrimPrefix(auth, "Bearer ")
	if token == auth || token == "" {
		t.Fatalf("no bearer token in the calls (%q)", auth)
	}
	tokenHits := s.Search(token)
	if len(tokenHits) != 4 { // Hello, 2 GetTask, FinishTask
		t.Errorf("access token found %d times, want once per call: %v", len(tokenHits), tokenHits)
	}
	for _, hit := range tokenHits {
		if hit.Where != "header Authorization" {
			t.Errorf("access token found at %v", hit)
		}
	}
	// What the records hold: the client id in the token request's form, the
	// task id in the FinishTask request.
	if hits := s.Search(url.QueryEscape(s.ClientID())); len(hits) != 1 || hits[0].Where != "body" || hits[0].Method != "POST /auth/v1/token" {
		t.Errorf("client id found at %v", hits)
	}
	if hits := s.Search(id); !slices.ContainsFunc(hits, func(h c1sim.Hit) bool {
		return h.Method == "/c1.connectorapi.baton.v1.BatonService/FinishTask" && h.Where == "body"
	}) {
		t.Errorf("task id found at %v", hits)
	}
}

func TestStandInWrongSecretOrClientIDIsRejected(t *testing.T) {
	skipServiceLoopInShortMode(t)
	t.Parallel()
	ctx := ctxFor(t, time.Minute)
	s := startStandIn(t, c1sim.Options{})
	cc := serveToy(ctx, t, &toyConnector{})
	other, err := c1sim.NewCredentials("c1sim-connector", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if other.ClientID != s.ClientID() {
		t.Fatalf("the forged credential should claim the server's client id")
	}

	err = taskManager(ctx, t, s.ClientID(), other.ClientSecret, t.TempDir()).Bootstrap(ctx, cc)
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Hello with another key: %v, want Unauthenticated after a 401", err)
	}
	recs := s.Records()
	if len(recs) != 1 || recs[0].Status != http.StatusUnauthorized || !strings.Contains(recs[0].Note, "signature") {
		t.Fatalf("records %+v", recs)
	}

	err = taskManager(ctx, t, "someone-else@"+s.Addr()+"/pcc", s.ClientSecret(), t.TempDir()).Bootstrap(ctx, cc)
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("Hello as another client: %v", err)
	}
	st := s.Stats()
	if st.TokenRejected != 2 || st.TokensIssued != 0 || st.Hello != 0 || len(s.Hellos()) != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A full sync: heartbeat, the c1z upload, the debug log upload byte for
// byte, FinishTask; then a grant of an entitlement as it was synced.
func TestStandInFullSyncUploadsAndGrantOfSyncedEntitlement(t *testing.T) {
	skipServiceLoopInShortMode(t)
	t.Parallel()
	ctx := ctxFor(t, time.Minute)
	s := startStandIn(t, c1sim.Options{})
	conn := &toyConnector{}
	tmp := t.TempDir()
	cc, m := bootToy(ctx, t, s, conn, tmp)
	// Three chunks: the SDK sends 512 KiB at a time.
	debugLog := make([]byte, 1<<20+12345)
	if _, err := rand.Read(debugLog); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "debug.log"), debugLog, 0o600); err != nil {
		t.Fatal(err)
	}

	id := s.EnqueueFullSync(c1sim.FullSync{SkipExpandGrants: true})
	task, _, err := m.Next(ctx)
	if err != nil || task.GetId() != id {
		t.Fatalf("Next: %v %v", task, err)
	}
	if !task.GetSyncFull().GetSkipExpandGrants() {
		t.Fatal("skip_expand_grants lost on the way")
	}
	if err := m.Process(ctx, task, cc); err != nil {
		t.Fatal(err)
	}
	f, err := s.WaitFinished(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Success {
		t.Fatalf("sync failed: %v", f.Err())
	}
	info, _ := s.Task(id)
	if info.Heartbeats < 1 || info.Type != "sync_full" {
		t.Errorf("task %+v", info)
	}
	ups := s.Uploads(id)
	if len(ups) != 2 {
		t.Fatalf("%d uploads, want the c1z and the debug log", len(ups))
	}
	got, err := os.ReadFile(ups[1].Path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(debugLog)
	if !bytes.Equal(got, debugLog) || !bytes.Equal(ups[1].SHA256, sum[:]) || ups[1].Chunks != 3 || ups[1].Size != int64(len(debugLog)) {
		t.Fatalf("debug log upload: %d bytes in %d chunks, identical %v", len(got), ups[1].Chunks, bytes.Equal(got, debugLog))
	}

	contents, err := harness.Read(ctx, ups[0].Path, t.TempDir())
	if err != nil {
		t.Fatalf("the first upload is not a c1z: %v", err)
	}
	if keys := contents.ResourceKeys(); !slices.Equal(keys, []string{"group/admins", "user/alice", "user/bob"}) {
		t.Fatalf("synced resources %v", keys)
	}
	ent := contents.Entitlements["group:admins:member"]
	alice := contents.Resources["user/alice"]
	if ent == nil || alice == nil {
		t.Fatalf("synced entitlements %v", contents.EntitlementIDs())
	}
	gid := s.EnqueueGrant(ent, alice)
	task, _, err = m.Next(ctx)
	if err != nil || task.GetId() != gid {
		t.Fatalf("Next: %v %v", task, err)
	}
	if err := m.Process(ctx, task, cc); err != nil {
		t.Fatal(err)
	}
	if f, err := s.WaitFinished(ctx, gid); err != nil || !f.Success {
		t.Fatalf("grant: %v %v", f, err)
	}
	if !slices.Equal(conn.granted, []string{"alice group:admins:member"}) {
		t.Errorf("connector granted %v", conn.granted)
	}
}

// A 503 from the token endpoint at start-up: the SDK maps every non-200
// answer to Unauthenticated, which its startup Hello does not retry.
func TestStandInTokenOutageAtStartup(t *testing.T) {
	skipServiceLoopInShortMode(t)
	t.Parallel()
	ctx := ctxFor(t, time.Minute)
	s := startStandIn(t, c1sim.Options{})
	cc := serveToy(ctx, t, &toyConnector{})
	m := taskManager(ctx, t, s.ClientID(), s.ClientSecret(), t.TempDir())

	s.FailToken(http.StatusServiceUnavailable, c1sim.Forever)
	err := m.Bootstrap(ctx, cc)
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "failed to get token: 503 Service Unavailable") {
		t.Fatalf("Bootstrap: %v, want Unauthenticated failed to get token: 503", err)
	}
	if st := s.Stats(); st.TokenRequests != 1 || st.TokenFailuresInjected != 1 || st.Hello != 0 {
		t.Fatalf("the SDK retried or said Hello: %+v", st)
	}

	s.ClearTokenFailures()
	if err := m.Bootstrap(ctx, cc); err != nil {
		t.Fatalf("Bootstrap after the outage: %v", err)
	}
	if st := s.Stats(); st.TokensIssued != 1 || st.Hello != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// While running, a cached token rides out a token outage; a token that
// needs refreshing (TTL within the SDK's 10s refresh margin) does not.
func TestStandInTokenOutageWhileRunning(t *testing.T) {
	skipServiceLoopInShortMode(t)
	t.Parallel()
	ctx := ctxFor(t, time.Minute)
	for _, tc := range []struct {
		ttl      time.Duration
		wantCode codes.Code
	}{{time.Hour, codes.OK}, {5 * time.Second, codes.Unauthenticated}} {
		s := startStandIn(t, c1sim.Options{TokenTTL: tc.ttl})
		_, m := bootToy(ctx, t, s, &toyConnector{}, t.TempDir())
		s.FailToken(http.StatusServiceUnavailable, 1)
		_, _, err := m.Next(ctx)
		if status.Code(err) != tc.wantCode {
			t.Fatalf("TTL %s: GetTask during the outage: %v, want %s", tc.ttl, err, tc.wantCode)
		}
		if _, _, err := m.Next(ctx); err != nil {
			t.Fatalf("TTL %s: GetTask after the outage: %v", tc.ttl, err)
		}
	}
}

func TestStandInInjectedRPCFailure(t *testing.T) {
	skipServiceLoopInShortMode(t)
	t.Parallel()
	ctx := ctxFor(t, time.Minute)
	s := startStandIn(t, c1sim.Options{})
	cc, m := bootToy(ctx, t, s, &toyConnector{}, t.TempDir())
	s.FailRPC(codes.Internal, 1, "FinishTask")
	s.FailRPC(codes.Unavailable, 1, "GetTask")
	if _, _, err := m.Next(ctx); status.Code(err) != codes.Unavailable {
		t.Fatalf("GetTask: %v, want Unavailable", err)
	}
	if _, _, err := m.Next(ctx); err != nil {
		t.Fatalf("GetTask after the failure: %v", err)
	}
	if st := s.Stats(); st.GetTask != 2 || st.RPCFailuresInjected != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The FinishTask rule is still waiting.
	id := s.EnqueueDeleteResource(v2.ResourceId_builder{ResourceType: "user", Resource: "bob"}.Build(), nil)
	task, _, err := m.Next(ctx)
	if err != nil || task.GetId() != id {
		t.Fatalf("Next: %v %v", task, err)
	}
	if err := m.Process(ctx, task, cc); status.Code(err) != codes.Internal {
		t.Fatalf("Process: %v, want the FinishTask failure", err)
	}
	s.FailRPC(codes.Unavailable, c1sim.Forever)
	for range 3 {
		if _, _, err := m.Next(ctx); status.Code(err) != codes.Unavailable {
			t.Fatalf("GetTask: %v, want Unavailable", err)
		}
	}
	s.ClearRPCFailures()
	if _, _, err := m.Next(ctx); err != nil {
		t.Fatalf("GetTask after clearing: %v", err)
	}
}

// A task the server cancels: the first heartbeat says so and the SDK drops
// the sync without finishing the task.
func TestStandInHeartbeatCancelsTask(t *testing.T) {
	skipServiceLoopInShortMode(t)
	t.Parallel()
	ctx := ctxFor(t, time.Minute)
	s := startStandIn(t, c1sim.Options{})
	cc, m := bootToy(ctx, t, s, &toyConnector{}, t.TempDir())
	id := s.EnqueueFullSync(c1sim.FullSync{})
	s.CancelTask(id)
	task, _, err := m.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Process(ctx, task, cc); !errors.Is(err, c1api.ErrTaskCancelled) {
		t.Fatalf("Process: %v, want ErrTaskCancelled", err)
	}
	info, _ := s.Task(id)
	if info.Heartbeats != 1 || len(info.Finishes) != 0 || len(info.Uploads) != 0 || info.State != c1sim.TaskTaken {
		t.Fatalf("task %+v", info)
	}
	// The batch form of the heartbeat lists the cancelled tasks (the
	// proto's rules still require task_id).
	other := s.EnqueueFullSync(c1sim.FullSync{})
	resp, err := rawClient(t, s, "Bearer "+accessToken(t, s)).Heartbeat(ctx, v1.BatonServiceHeartbeatRequest_builder{
		HostId: "h", TaskId: other, TaskIds: []string{id},
	}.Build())
	if err != nil || resp.GetCancelled() || !slices.Equal(resp.GetCancelledTaskIds(), []string{id}) {
		t.Fatalf("batch heartbeat: %v %v", resp, err)
	}
}

// The batch path (BATON_GET_TASKS=true): GetTasks hands out each task once.
func TestStandInGetTasksBatch(t *testing.T) {
	skipServiceLoopInShortMode(t)
	ctx := ctxFor(t, time.Minute)
	t.Setenv("BATON_GET_TASKS", "true")
	s := startStandIn(t, c1sim.Options{PollInterval: -1})
	conn := &toyConnector{}
	cc, m := bootToy(ctx, t, s, conn, t.TempDir())
	admins, err := adminsGroup()
	if err != nil {
		t.Fatal(err)
	}
	ent := v2.Entitlement_builder{Id: "group:admins:member", Resource: admins, Slug: "member"}.Build()
	var ids []string
	for _, who := range []string{"alice", "bob", "carol"} {
		ids = append(ids, s.EnqueueGrant(ent, v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "user", Resource: who}.Build()}.Build()))
	}
	var seen []string
	for range 20 {
		task, _, err := m.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if task == nil {
			if len(seen) == len(ids) {
				break
			}
			continue
		}
		seen = append(seen, task.GetId())
		if err := m.Process(ctx, task, cc); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(seen, ids) {
		t.Fatalf("handed out %v, want %v once each", seen, ids)
	}
	// With one task slot the SDK asks for 2 - known tasks: the first call
	// gets two, the second the third, the last none.
	if st := s.Stats(); st.GetTasks != 3 || st.GetTask != 0 || st.FinishTask != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// Provisioning failures and the other task types reach the connector and
// come back as the SDK reports them.
func TestStandInProvisioningTasks(t *testing.T) {
	skipServiceLoopInShortMode(t)
	t.Parallel()
	ctx := ctxFor(t, time.Minute)
	s := startStandIn(t, c1sim.Options{})
	conn := &toyConnector{}
	cc, m := bootToy(ctx, t, s, conn, t.TempDir())
	admins, err := adminsGroup()
	if err != nil {
		t.Fatal(err)
	}
	ent := v2.Entitlement_builder{Id: "group:admins:member", Resource: admins, Slug: "member"}.Build()
	userID := func(id string) *v2.ResourceId {
		return v2.ResourceId_builder{ResourceType: "user", Resource: id}.Build()
	}

	grantID := s.EnqueueGrant(ent, v2.Resource_builder{Id: userID("mallory")}.Build())
	revokeID := s.EnqueueRevoke(v2.Grant_builder{
		Id: "group:admins:member:user:bob", Entitlement: ent, Principal: v2.Resource_builder{Id: userID("bob")}.Build(),
	}.Build())
	deleteID := s.EnqueueDeleteResource(userID("bob"), nil)
	rotateID := s.EnqueueRotateCredentials(userID("alice"),
		v2.CredentialOptions_builder{RandomPassword: v2.CredentialOptions_RandomPassword_builder{Length: 20}.Build()}.Build(),
		[]*v2.EncryptionConfig{s.EncryptionConfig()})
	for range 4 {
		task, _, err := m.Next(ctx)
		if err != nil || task == nil {
			t.Fatalf("Next: %v %v", task, err)
		}
		if err := m.Process(ctx, task, cc); err != nil {
			t.Fatal(err)
		}
	}

	f, err := s.WaitFinished(ctx, grantID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Success || f.Code != codes.PermissionDenied || !f.NonRetryable || !strings.Contains(f.Message, "mallory is not allowed") {
		t.Errorf("refused grant finished %+v", f)
	}
	if status.Code(f.Err()) != codes.PermissionDenied {
		t.Errorf("Err() %v", f.Err())
	}
	for _, id := range []string{revokeID, deleteID, rotateID} {
		if f, err := s.WaitFinished(ctx, id); err != nil || !f.Success {
			t.Errorf("task %s: %v %v", id, f.Err(), err)
		}
	}
	if !slices.Equal(conn.revoked, []string{"group:admins:member:user:bob"}) || !slices.Equal(conn.deleted, []string{"bob"}) {
		t.Errorf("connector revoked %v deleted %v", conn.revoked, conn.deleted)
	}

	f, _ = s.WaitFinished(ctx, rotateID)
	rot := &v2.RotateCredentialResponse{}
	if err := f.UnmarshalResponse(rot); err != nil {
		t.Fatal(err)
	}
	if len(rot.GetEncryptedData()) != 1 {
		t.Fatalf("rotate response %v", rot)
	}
	plain, err := s.Decrypt(rot.GetEncryptedData()[0])
	if err != nil || string(plain) != "rotated-password-for-alice" {
		t.Fatalf("decrypted %q (%v)", plain, err)
	}
	if hits := s.Search("rotated-password-for-alice"); len(hits) > 0 {
		t.Fatalf("the new password travelled in clear: %v", hits)
	}
}

// The token endpoint checks every part of the client assertion.
func TestStandInClientAssertionChecks(t *testing.T) {
	t.Parallel()
	s := startStandIn(t, c1sim.Options{})
	creds := s.Credentials()
	other, err := c1sim.NewCredentials("c1sim-connector", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: standInCA.CertPool(), MinVersion: tls.VersionTLS12}}}
	post := func(form url.Values) (int, string) {
		t.Helper()
		resp, err := client.PostForm(s.URL()+c1sim.TokenPath, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": creds.ClientID, "sub": creds.ClientID, "aud": creds.Audience(),
			"exp": now.Add(2 * time.Minute).Unix(), "nbf": now.Add(-2 * time.Minute).Unix(), "iat": now.Unix(),
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	nonce := 0
	sign := func(by *c1sim.Credentials, header map[string]any, c map[string]any) string {
		t.Helper()
		if header == nil {
			nonce++
			header = map[string]any{"nonce": "n" + string(rune('a'+nonce))}
		}
		jws, err := by.Sign(header, c)
		if err != nil {
			t.Fatal(err)
		}
		return jws
	}
	form := func(assertion string) url.Values {
		return url.Values{
			"client_id": {creds.ClientID}, "grant_type": {"client_credentials"},
			"client_assertion_type": {c1sim.AssertionType}, "client_assertion": {assertion},
		}
	}

	good := sign(creds, nil, claims(nil))
	code, body := post(form(good))
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 {
		t.Fatalf("good assertion: %d %s", code, body)
	}
	if code, body := post(form(good)); code != http.StatusUnauthorized || !strings.Contains(body, "nonce replayed") {
		t.Errorf("replayed assertion: %d %s", code, body)
	}

	for _, tc := range []struct {
		name      string
		assertion string
		want      string
	}{
		{"other key", sign(other, nil, claims(nil)), "signature"},
		{"wrong aud", sign(creds, nil, claims(func(c map[string]any) { c["aud"] = s.Addr() })), "aud"},
		{"aud array", sign(creds, nil, claims(func(c map[string]any) { c["aud"] = []string{"x", "y"} })), "aud"},
		{"wrong iss", sign(creds, nil, claims(func(c map[string]any) { c["iss"] = "x@y/pcc" })), "iss"},
		{"wrong sub", sign(creds, nil, claims(func(c map[string]any) { c["sub"] = "x@y/pcc" })), "sub"},
		{"expired", sign(creds, nil, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), "expired"},
		{"not yet valid", sign(creds, nil, claims(func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() })), "not valid before"},
		{"too long", sign(creds, nil, claims(func(c map[string]any) { c["exp"] = now.Add(time.Hour).Unix() })), "more than"},
		{"no exp", sign(creds, nil, claims(func(c map[string]any) { delete(c, "exp") })), "no exp"},
		{"no nonce", sign(creds, map[string]any{}, claims(nil)), "nonce"},
		{"not a JWS", "abc.def", "compact JWS"},
		{"alg none", "eyJhbGciOiJub25lIn0." + strings.Split(good, ".")[1] + ".", "alg"},
	} {
		if code, body := post(form(tc.assertion)); code != http.StatusUnauthorized || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want 401 mentioning %q", tc.name, code, body, tc.want)
		}
	}
	f := form(sign(creds, nil, claims(nil)))
	f.Set("grant_type", "password")
	if code, _ := post(f); code != http.StatusBadRequest {
		t.Errorf("grant_type password: %d", code)
	}
	f = form(sign(creds, nil, claims(nil)))
	f.Set("client_id", "x@y/pcc")
	if code, _ := post(f); code != http.StatusUnauthorized {
		t.Errorf("unknown client id: %d", code)
	}
	if st := s.Stats(); st.TokensIssued != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// accessToken gets a token from the token endpoint with a hand-made
// assertion.
func accessToken(t *testing.T, s *c1sim.Server) string {
	t.Helper()
	creds := s.Credentials()
	now := time.Now()
	jws, err := creds.Sign(map[string]any{"nonce": c1sim.NewTaskID()}, map[string]any{
		"iss": creds.ClientID, "sub": creds.ClientID, "aud": creds.Audience(),
		"exp": now.Add(time.Minute).Unix(), "nbf": now.Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: standInCA.CertPool(), MinVersion: tls.VersionTLS12}}}
	resp, err := client.PostForm(s.URL()+c1sim.TokenPath, url.Values{
		"client_id": {creds.ClientID}, "grant_type": {"client_credentials"},
		"client_assertion_type": {c1sim.AssertionType}, "client_assertion": {jws},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// rawClient is a BatonService client of the stand-in with the given
// authorization metadata ("" for none).
func rawClient(t *testing.T, s *c1sim.Server, auth string) v1.BatonServiceClient {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: standInCA.CertPool(), MinVersion: tls.VersionTLS12}))}
	if auth != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(auth)))
	}
	conn, err := grpc.NewClient(s.Addr(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return v1.NewBatonServiceClient(conn)
}

// An upload is kept only when its bytes match the sha256 trailer.
func TestStandInUploadChecksum(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t, time.Minute)
	s := startStandIn(t, c1sim.Options{})
	c := rawClient(t, s, "Bearer "+accessToken(t, s))
	id := s.EnqueueFullSync(c1sim.FullSync{})
	upload := func(data []byte, sum []byte) error {
		t.Helper()
		stream, err := c.UploadAsset(ctx)
		if err != nil {
			t.Fatal(err)
		}
		msgs := []*v1.BatonServiceUploadAssetRequest{
			v1.BatonServiceUploadAssetRequest_builder{Metadata: v1.BatonServiceUploadAssetRequest_UploadMetadata_builder{HostId: "h", TaskId: id}.Build()}.Build(),
			v1.BatonServiceUploadAssetRequest_builder{Data: v1.BatonServiceUploadAssetRequest_UploadData_builder{Data: data}.Build()}.Build(),
			v1.BatonServiceUploadAssetRequest_builder{Eof: v1.BatonServiceUploadAssetRequest_UploadEOF_builder{Sha256Checksum: sum}.Build()}.Build(),
		}
		for _, m := range msgs {
			if err := stream.Send(m); err != nil {
				break // the server answered early; CloseAndRecv has its status
			}
		}
		_, err = stream.CloseAndRecv()
		return err
	}
	data := []byte("some asset bytes")
	sum := sha256.Sum256(data)
	bad := sha256.Sum256([]byte("other bytes"))
	if err := upload(data, bad[:]); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("upload with a wrong checksum: %v", err)
	}
	if err := upload(data, sum[:]); err != nil {
		t.Fatalf("upload: %v", err)
	}
	ups := s.Uploads(id)
	if len(ups) != 1 || ups[0].Seq != 2 {
		t.Fatalf("uploads %+v", ups)
	}
	if got, err := os.ReadFile(ups[0].Path); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("kept %q (%v)", got, err)
	}
	if entries, _ := os.ReadDir(s.UploadDir()); len(entries) != 1 {
		t.Fatalf("upload dir holds %d files, want only the good upload", len(entries))
	}
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return true }

// Every call needs a live access token from the token endpoint, and requests
// must pass the proto's validation rules.
func TestStandInGRPCRequiresAccessToken(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t, time.Minute)
	s := startStandIn(t, c1sim.Options{})
	call := func(auth string, host string) error {
		t.Helper()
		_, err := rawClient(t, s, auth).GetTask(ctx, v1.BatonServiceGetTaskRequest_builder{HostId: host}.Build())
		return err
	}
	if err := call("", "h"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no token: %v", err)
	}
	if err := call("Bearer bogus", "h"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("bogus token: %v", err)
	}
	token := accessToken(t, s)
	if err := call("Bearer "+token, "h"); err != nil {
		t.Fatalf("real token: %v", err)
	}
	if err := call("Bearer "+token, ""); status.Code(err) != codes.InvalidArgument {
		t.Errorf("empty host id: %v, want InvalidArgument", err)
	}
	s.RevokeAccessTokens()
	if err := call("Bearer "+token, "h"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("revoked token: %v", err)
	}
	if st := s.Stats(); st.Unauthenticated != 3 || st.InvalidArgument != 1 || st.GetTask != 5 {
		t.Fatalf("stats %+v", st)
	}
	var authHeaders []string
	for _, r := range s.Records() {
		if r.Kind == c1sim.KindGRPC {
			authHeaders = append(authHeaders, r.Header.Get("Authorization"))
		}
	}
	if !slices.Contains(authHeaders, "Bearer bogus") {
		t.Errorf("recorded authorization %q", authHeaders)
	}
}

// A client id naming another host reaches the stand-in through
// BATON_C1_API_HOST, for the token and the calls; the assertion's audience
// stays the client id's host.
func TestStandInAPIHostOverride(t *testing.T) {
	skipServiceLoopInShortMode(t)
	ctx := ctxFor(t, time.Minute)
	s := startStandIn(t, c1sim.Options{TenantHost: "acme.c1sim.invalid"})
	if !strings.HasSuffix(s.ClientID(), "@acme.c1sim.invalid/pcc") || s.Credentials().Audience() != "acme.c1sim.invalid" {
		t.Fatalf("client id %q", s.ClientID())
	}
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if k == "BATON_C1_API_HOST" {
			t.Setenv(k, v)
		}
	}
	bootToy(ctx, t, s, &toyConnector{}, t.TempDir())
	for _, r := range s.Records() {
		if r.Host != s.Addr() {
			t.Errorf("%s went to host %q", r.Method, r.Host)
		}
	}
	if st := s.Stats(); st.TokensIssued != 1 || st.Hello != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStandInUnreachable(t *testing.T) {
	t.Parallel()
	s := startStandIn(t, c1sim.Options{})
	dial := func() error {
		c, err := tls.Dial("tcp", s.Addr(), &tls.Config{RootCAs: standInCA.CertPool(), MinVersion: tls.VersionTLS12})
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatal(err)
	}
	s.SetUnreachable(true)
	if err := dial(); err == nil {
		t.Fatal("TLS handshake succeeded while unreachable")
	}
	s.SetUnreachable(false)
	if err := dial(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.ConnectionsDropped != 1 {
		t.Fatalf("stats %+v", st)
	}
}
