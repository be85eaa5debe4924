package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/conductorone/baton-trayai/internal/c1sim"
	"github.com/conductorone/baton-trayai/internal/harness"
	"github.com/conductorone/baton-trayai/internal/testkit"
	"github.com/conductorone/baton-trayai/internal/traysim"
)

// binary is the command every test here runs, stamped with testVersion.
// Under -short it is this test binary itself, which runs main when
// actAsCLI is set (a link of the SDK saved from the inner loop); otherwise
// it is built with the release's flags, so make test and CI drive the
// binary that ships.
var binary string

// actAsCLI makes this test binary run main instead of the tests. The
// processes the command starts (the supervised worker, the SDK's connector
// process) inherit it with the rest of the environment.
const actAsCLI = "BATON_TRAYAI_TEST_ACT_AS_CLI"

// The stamp -ldflags -X puts on the built binary; the self-hosted one sets it.
const (
	testVersion = "v9.9.9-test"
	testCommit  = "abc1234"
	testDate    = "2026-12-01T00:00:00Z"
)

func TestMain(m *testing.M) {
	// Before flag.Parse: the arguments belong to the command.
	if os.Getenv(actAsCLI) != "" {
		version, commit, date = testVersion, testCommit, testDate
		main()
		return
	}
	flag.Parse()
	testkit.ParallelUnlessSet(6)
	dir, err := os.MkdirTemp("", "baton-trayai-cli")
	if err != nil {
		panic(err)
	}
	if err := trustStandInCA(dir); err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "baton-trayai")
	if testing.Short() {
		err = linkSelf(binary)
	} else {
		err = build(binary)
	}
	if err != nil {
		panic(err)
	}
	cleanup := testkit.ShortRunsInMemory()
	code := m.Run()
	cleanup()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// standInCA signs every ConductorOne stand-in the stand-in's tests start:
// the SDK's client runs in this process, and Go reads SSL_CERT_FILE once
// per process.
var standInCA *c1sim.CA

// trustStandInCA creates standInCA in dir and makes this process trust it,
// before its first TLS handshake.
func trustStandInCA(dir string) error {
	ca, err := c1sim.NewCA(dir)
	if err != nil {
		return err
	}
	standInCA = ca
	_ = os.Setenv("SSL_CERT_FILE", ca.File())
	// The stand-in's tests that want these set them with t.Setenv.
	for _, k := range []string{"BATON_C1_API_HOST", "BATON_GET_TASKS", "BATON_HOST_ID"} {
		_ = os.Unsetenv(k)
	}
	return nil
}

// build builds the command the way make build does, stamped for the tests.
func build(path string) error {
	stamp := "-X main.version=" + testVersion + " -X main.commit=" + testCommit + " -X main.date=" + testDate
	cmd := exec.Command("go", "build", "-trimpath", "-o", path, "-ldflags", "-s -w "+stamp, ".")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build baton-trayai: %w", err)
	}
	return nil
}

// linkSelf puts this test binary at path, so the processes it starts are
// named baton-trayai like the real command's.
func linkSelf(path string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if os.Link(self, path) == nil {
		return nil
	}
	data, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o755)
}

// cliCommand is the command started with exactly env (a test's clean
// environment) and args.
func cliCommand(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	if testing.Short() {
		cmd.Env = slices.Concat(env, []string{actAsCLI + "=1"})
	}
	return cmd
}

// skipInShortMode keeps the slow end-to-end tests out of the inner loop
// (go test -short); make test and CI run them.
func skipInShortMode(t *testing.T, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s: run without -short (make test)", what)
	}
}

// notADirectory is a path no temporary directory can be made under, even
// by root: a regular file.
func notADirectory(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type result struct {
	out  string
	code int
}

// run executes the binary like a user would, with a clean environment and
// a time limit.
func runCLI(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	// A TMPDIR of the test's own, so that nothing a run leaves escapes the
	// test's clean-up; env may set another.
	base := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "TMPDIR=" + t.TempDir()}
	cmd := cliCommand(ctx, append(base, env...), args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{out: out.String(), code: code}
}

func TestOneShotSyncWritesTheOrganizationAndNeverLogsTheToken(t *testing.T) {
	t.Parallel()
	const token = "tok-3f9a1c77e2b54d0a9e6b8c1d2f3a4b5c"
	sim := traysim.NewDefault(traysim.ShapeMinimal)
	sim.AddToken(token, traysim.Token{Kind: traysim.TokenOrgAdmin, UserID: sim.APIUserID(traysim.AdminToken)})
	url := traysim.ListenTest(t, sim)
	sync := func(c1z string) harness.Contents {
		t.Helper()
		// The token comes from the environment, as in the Kubernetes Secret.
		r := runCLI(t, []string{"BATON_AUTH_TOKEN=" + token}, "--base-url", url, "-f", c1z, "--log-level", "debug", "--log-format", "json",
			"--rate-limit", "50")
		if r.code != 0 {
			t.Fatalf("sync exited %d:\n%s", r.code, tail(r.out))
		}
		if strings.Contains(r.out, token) || strings.Contains(r.out, token[4:20]) {
			t.Fatal("the API token appears in the debug output")
		}
		if !strings.Contains(r.out, `"level":"debug"`) || !strings.Contains(r.out, "baton-trayai: Tray.ai request") {
			t.Fatal("debug logging was not on; the token check proves nothing")
		}
		got, err := harness.Read(context.Background(), c1z, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	got := sync(filepath.Join(t.TempDir(), "sync.c1z"))
	if leaks := mentions(got, token); len(leaks) != 0 {
		t.Fatalf("the API token is in the c1z: %v", leaks)
	}
	sn := sim.Snapshot()
	users := 0
	for _, key := range got.ResourceKeys() {
		if strings.HasPrefix(key, "user/") {
			users++
		}
	}
	if users != len(sn.Users) {
		t.Fatalf("c1z has %d users, the organization %d", users, len(sn.Users))
	}
	shared := sn.WorkspacesOfType("Shared")[0]
	for uid, rid := range sn.Members[shared.ID] {
		if got.Grants["workspace:"+shared.ID+":"+rid+":user:"+uid] == nil {
			t.Fatalf("grant of %s's role in %s missing from the c1z", uid, shared.Name)
		}
	}

	// The check must be able to fail: a user named after the token puts it
	// in the c1z, and the check finds exactly that user.
	planted := sim.AddUser("Leaky "+token, "leaky@acme.example", "Regular", "Viewer")
	// Every kind of request was logged above; this sync is about the c1z.
	sim.SetShape(traysim.ShapeFull)
	leaks := mentions(sync(filepath.Join(t.TempDir(), "planted.c1z")), token)
	if len(leaks) != 1 || leaks[0] != "resource user/"+planted {
		t.Fatalf("the planted token was found in %v, want only user/%s", leaks, planted)
	}
}

// mentions lists the objects of a c1z whose content contains s, read back
// through the SDK: the file itself is compressed, so its bytes prove nothing.
func mentions(got harness.Contents, s string) []string {
	var hits []string
	has := func(m proto.Message) bool {
		b, err := protojson.Marshal(m)
		return err != nil || bytes.Contains(b, []byte(s))
	}
	for k, r := range got.Resources {
		if has(r) {
			hits = append(hits, "resource "+k)
		}
	}
	for k, e := range got.Entitlements {
		if has(e) {
			hits = append(hits, "entitlement "+k)
		}
	}
	for k, g := range got.Grants {
		if has(g) {
			hits = append(hits, "grant "+k)
		}
	}
	sort.Strings(hits)
	return hits
}

func TestRejectedTokenExitsNonZeroWithTheTokenMessage(t *testing.T) {
	t.Parallel()
	const token = "tok-wrong-5d1e2f3a4b5c6d7e8f9a0b1c"
	url := traysim.ListenTest(t, traysim.NewDefault(traysim.ShapeFull))
	c1z := filepath.Join(t.TempDir(), "s.c1z")
	r := runCLI(t, nil, "--base-url", url, "--auth-token", token, "-f", c1z, "--log-level", "debug")
	if r.code != 16 {
		t.Errorf("exit code %d, want 16 (Unauthenticated)", r.code)
	}
	if _, err := os.Stat(c1z); err == nil {
		t.Error("a failed sync left a c1z behind")
	}
	if !strings.Contains(r.out, "rejected the API token") || !strings.Contains(r.out, "--auth-token") {
		t.Fatalf("output does not explain the token problem:\n%s", tail(r.out))
	}
	if strings.Contains(r.out, token) {
		t.Fatal("the rejected token appears in the output")
	}
}

func TestInvalidConfigurationFailsBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	sim := traysim.NewDefault(traysim.ShapeFull)
	url := traysim.ListenTest(t, sim)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--auth-token", "x", "--region", "mars"}, "region"},
		{[]string{"--auth-token", "x", "--base-url", "ftp://example.com"}, "--base-url"},
		{[]string{"--auth-token", "x", "--base-url", "http://tray.example.com"}, "only sent over https"},
		{[]string{"--auth-token", "x", "--workspace-types", "Nope", "--base-url", url}, "--workspace-types"},
		{[]string{"--auth-token", "x y", "--base-url", url}, "--auth-token"},
		{[]string{"--base-url", url}, "auth-token"},
	}
	for _, c := range cases {
		r := runCLI(t, nil, append(c.args, "-f", filepath.Join(t.TempDir(), "s.c1z"))...)
		if r.code == 0 || !strings.Contains(r.out, c.want) {
			t.Errorf("%v: exit %d, output does not name %s:\n%s", c.args, r.code, c.want, tail(r.out))
		}
	}
	if n := sim.Requests(); n != 0 {
		t.Fatalf("invalid configurations made %d API requests", n)
	}
}

// Commands that only print need no token and write nothing: they work with
// a temporary directory that cannot be written, and leave other runs'
// temporary data alone.
func TestCapabilitiesConfigAndVersionNeedNoToken(t *testing.T) {
	t.Parallel()
	unwritable := []string{"TMPDIR=" + notADirectory(t)}
	r := runCLI(t, unwritable, "capabilities")
	var caps struct {
		ResourceTypeCapabilities []struct {
			ResourceType struct{ ID string } `json:"resourceType"`
			Capabilities []string            `json:"capabilities"`
		} `json:"resourceTypeCapabilities"`
	}
	// Whether baton_capabilities.json is current is make check-metadata's job.
	if r.code != 0 || json.Unmarshal([]byte(r.out), &caps) != nil || len(caps.ResourceTypeCapabilities) != 3 {
		t.Fatalf("capabilities: exit %d\n%s", r.code, tail(r.out))
	}

	r = runCLI(t, unwritable, "config")
	if r.code != 0 || !strings.Contains(r.out, `"auth-token"`) || !strings.Contains(r.out, `"isSecret": true`) {
		t.Fatalf("config: exit %d\n%s", r.code, tail(r.out))
	}

	r = runCLI(t, unwritable, "--version")
	if r.code != 0 || !strings.Contains(r.out, testVersion) || !strings.Contains(r.out, testCommit) || !strings.Contains(r.out, testDate) {
		t.Fatalf("--version: exit %d: %q", r.code, r.out)
	}
}

// health-check runs beside the service, in the pod's environment: it asks
// the service's port and neither takes that port nor sweeps the run
// directories of the temporary directory, here a killed run's.
func TestHealthCheckRunsBesideTheService(t *testing.T) {
	t.Parallel()
	service, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/live" {
			http.NotFound(w, r)
		}
	})}
	go func() { _ = srv.Serve(service) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := strconv.Itoa(service.Addr().(*net.TCPAddr).Port)

	tmp := t.TempDir()
	killed := filepath.Join(tmp, "baton-trayai-run-1-killed")
	if err := os.Mkdir(killed, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(killed, "lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	pod := []string{"TMPDIR=" + tmp, "BATON_CLIENT_ID=happy-donkey@acme.conductor.one/pcc", "BATON_CLIENT_SECRET=secret-token:conductorone.com:v1:e30",
		"BATON_HEALTH_CHECK=true", "BATON_HEALTH_CHECK_PORT=" + port}
	if r := runCLI(t, pod, "health-check", "--endpoint=live"); r.code != 0 {
		t.Fatalf("health-check beside the service: exit %d\n%s", r.code, tail(r.out))
	}
	if _, err := os.Stat(killed); err != nil {
		t.Fatalf("health-check swept a run directory: %v", err)
	}
}

func TestConfigFileIsRead(t *testing.T) {
	t.Parallel()
	sim := traysim.NewDefault(traysim.ShapeFull)
	url := traysim.ListenTest(t, sim)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "baton.yaml")
	if err := os.WriteFile(cfg, []byte("auth-token: "+traysim.AdminToken+"\nbase-url: "+url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, []string{"BATON_CONFIG_PATH=" + cfg}, "-f", filepath.Join(dir, "s.c1z"))
	if r.code != 0 || sim.Requests() == 0 {
		t.Fatalf("sync from a config file: exit %d, %d requests\n%s", r.code, sim.Requests(), tail(r.out))
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

func TestReadmeShowsTheCurrentHelp(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "--help")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, usage, ok := strings.Cut(string(readme), "## Command line usage\n\n```\n")
	if !ok {
		t.Fatal("README has no Command line usage block")
	}
	usage, _, _ = strings.Cut(usage, "```")
	if strings.TrimSpace(usage) != strings.TrimSpace(r.out) {
		t.Fatal("README's Command line usage is not the current --help output: paste `baton-trayai --help` into it")
	}
}

// Provisioning without --connector-account can lock the connector out:
// the operator is told once, at start-up, naming the setting.
func TestProvisioningWithoutTheConnectorAccountWarnsOnce(t *testing.T) {
	t.Parallel()
	url := traysim.ListenTest(t, traysim.NewDefault(traysim.ShapeFull))
	args := []string{"--base-url", url, "--auth-token", traysim.AdminToken, "--provisioning", "--log-format", "json"}
	r := runCLI(t, nil, append(args, "-f", filepath.Join(t.TempDir(), "s.c1z"))...)
	if n := strings.Count(r.out, "--connector-account (BATON_CONNECTOR_ACCOUNT) is not set"); r.code != 0 || n != 1 {
		t.Fatalf("exit %d, warned %d times; want one warning:\n%s", r.code, n, tail(r.out))
	}
	r = runCLI(t, []string{"BATON_CONNECTOR_ACCOUNT=api-user-1@tray.acme.example"}, append(args, "-f", filepath.Join(t.TempDir(), "s.c1z"))...)
	if r.code != 0 || strings.Contains(r.out, "is not set") {
		t.Fatalf("warned although the connector account is set (exit %d):\n%s", r.code, tail(r.out))
	}
}
