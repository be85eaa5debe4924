// Package deploy holds the release, container and Kubernetes files' checks.
// Docker is not available where the tests run, so the files are verified
// by parsing them.
package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	// yaml.v2 is already in the connector's dependency graph (the SDK's
	// CLI uses it), so these checks add nothing to it.
	"gopkg.in/yaml.v2"

	"github.com/conductorone/baton-trayai/internal/manifest"
)

const root = ".."

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parseYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	var raw any
	if err := yaml.Unmarshal([]byte(read(t, path)), &raw); err != nil {
		t.Fatalf("%s is not valid YAML: %v", path, err)
	}
	out, ok := stringKeys(raw).(map[string]any)
	if !ok {
		t.Fatalf("%s is not a YAML mapping", path)
	}
	return out
}

// stringKeys turns yaml.v2's map[any]any into map[string]any. YAML 1.1
// reads a bare `on` key as the boolean true, so a workflow's `on:` becomes
// "true".
func stringKeys(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[fmt.Sprint(k)] = stringKeys(val)
		}
		return m
	case []any:
		for i := range x {
			x[i] = stringKeys(x[i])
		}
		return x
	default:
		return v
	}
}

// dig walks maps and lists: dig(x, "spec", "template", "spec", "containers", 0).
func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: not a map", p)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || len(l) <= k {
				t.Fatalf("at %v: not a list with index %d", p, k)
			}
			v = l[k]
		}
	}
	return v
}

type dockerStage struct {
	from, name string
	lines      []string
}

func dockerStages(src string) []dockerStage {
	var stages []dockerStage
	joined := strings.ReplaceAll(src, "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if strings.EqualFold(fields[0], "FROM") {
			st := dockerStage{from: fields[1]}
			if len(fields) == 4 && strings.EqualFold(fields[2], "AS") {
				st.name = fields[3]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
		}
	}
	return stages
}

func hasLine(st dockerStage, re string) bool {
	r := regexp.MustCompile(re)
	return slices.ContainsFunc(st.lines, r.MatchString)
}

func TestDockerfileIsMultiStageDistrolessNonRoot(t *testing.T) {
	stages := dockerStages(read(t, "Dockerfile"))
	if len(stages) != 2 {
		t.Fatalf("%d stages, want a builder and a runtime stage", len(stages))
	}
	build, final := stages[0], stages[1]
	if !strings.HasPrefix(build.from, "golang:1.26") || build.name == "" {
		t.Errorf("builder stage FROM %s AS %q: want golang:1.26 with a name", build.from, build.name)
	}
	for _, re := range []string{`CGO_ENABLED=0`, `go build .*-X main\.version=\$\{VERSION\}`, `-X main\.commit=`, `-X main\.date=`, `\./cmd/baton-trayai`, `^COPY go\.mod go\.sum`} {
		if !hasLine(build, re) {
			t.Errorf("builder stage lacks %s", re)
		}
	}
	checkRuntimeStage(t, "Dockerfile", final)
	if !hasLine(final, `^COPY --from=`+build.name+` /out/baton-trayai /baton-trayai$`) {
		t.Error("runtime stage does not copy the binary from the builder")
	}
	gr := dockerStages(read(t, "Dockerfile.goreleaser"))
	if len(gr) != 1 {
		t.Fatalf("Dockerfile.goreleaser: %d stages", len(gr))
	}
	checkRuntimeStage(t, "Dockerfile.goreleaser", gr[0])
}

func checkRuntimeStage(t *testing.T, file string, st dockerStage) {
	t.Helper()
	if st.from != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("%s: runtime FROM %s", file, st.from)
	}
	if !hasLine(st, `^USER nonroot(:nonroot)?$`) {
		t.Errorf("%s: runtime stage does not run as nonroot", file)
	}
	if !hasLine(st, `^ENTRYPOINT \["/baton-trayai"\]$`) {
		t.Errorf("%s: entrypoint is not [\"/baton-trayai\"]", file)
	}
}

func TestGoreleaserBuildsEveryPlatformAndTheImage(t *testing.T) {
	g := parseYAML(t, ".goreleaser.yaml")
	build := dig(t, g, "builds", 0)
	want := map[string][]string{"goos": {"linux", "darwin", "windows"}, "goarch": {"amd64", "arm64"}}
	for key, values := range want {
		got := dig(t, build, key).([]any)
		for _, v := range values {
			if !slices.Contains(got, any(v)) {
				t.Errorf("builds[0].%s lacks %s", key, v)
			}
		}
	}
	if ld := dig(t, build, "ldflags", 0).(string); !strings.Contains(ld, "main.version={{ .Version }}") {
		t.Errorf("ldflags %q do not stamp the version", ld)
	}
	var manifests []string
	for _, m := range dig(t, g, "docker_manifests").([]any) {
		manifests = append(manifests, dig(t, m, "name_template").(string))
	}
	for _, tag := range []string{"ghcr.io/conductorone/baton-trayai:{{ .Version }}", "ghcr.io/conductorone/baton-trayai:latest"} {
		if !slices.Contains(manifests, tag) {
			t.Errorf("no image manifest %s (have %v)", tag, manifests)
		}
	}
	if dig(t, g, "dockers", 0, "dockerfile") != "Dockerfile.goreleaser" {
		t.Error("goreleaser images are not built from Dockerfile.goreleaser")
	}
}

func TestWorkflowsAreValidAndRunTheProjectTargets(t *testing.T) {
	ci := parseYAML(t, ".github/workflows/ci.yaml")
	jobs := dig(t, ci, "jobs").(map[string]any)
	for job, target := range map[string]string{"lint": "make lint", "test": "make unit", "conformance": "make conformance"} {
		if !strings.Contains(stepsText(t, jobs[job]), target) {
			t.Errorf("ci.yaml job %s does not run %s", job, target)
		}
	}
	rel := parseYAML(t, ".github/workflows/release.yaml")
	steps := stepsText(t, dig(t, rel, "jobs", "release"))
	if test, publish := strings.Index(steps, "make test"), strings.Index(steps, "goreleaser"); test < 0 || publish < test {
		t.Error("release.yaml does not run the README's test command (make test) before goreleaser publishes")
	}
	if tags := dig(t, rel, "true", "push", "tags").([]any); len(tags) == 0 || tags[0] != "v*" {
		t.Errorf("release.yaml does not run on v* tags: %v", tags)
	}
	if !strings.Contains(stepsText(t, dig(t, rel, "jobs", "release")), "goreleaser") {
		t.Error("release.yaml does not run goreleaser")
	}
	md := parseYAML(t, ".github/workflows/metadata.yaml")
	if !strings.Contains(stepsText(t, dig(t, md, "jobs", "check")), "make check-metadata") {
		t.Error("metadata.yaml does not check the metadata files")
	}
}

func stepsText(t *testing.T, job any) string {
	t.Helper()
	b, err := json.Marshal(dig(t, job, "steps"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestKubernetesManifestsFollowTheSetupGuide(t *testing.T) {
	sec := parseYAML(t, "deploy/kubernetes/baton-trayai-secrets.yaml")
	if sec["kind"] != "Secret" || dig(t, sec, "metadata", "name") != "baton-trayai-secrets" {
		t.Fatalf("secret: %v", sec["metadata"])
	}
	data := dig(t, sec, "stringData").(map[string]any)
	for _, key := range []string{"BATON_CLIENT_ID", "BATON_CLIENT_SECRET", "BATON_AUTH_TOKEN", "BATON_PROVISIONING", "BATON_CONNECTOR_ACCOUNT"} {
		v, ok := data[key]
		if !ok {
			t.Errorf("secret lacks %s", key)
		}
		if _, isString := v.(string); !isString {
			t.Errorf("secret %s is %T: stringData values must be strings (quote them)", key, v)
		}
	}

	dep := parseYAML(t, "deploy/kubernetes/baton-trayai.yaml")
	if dep["kind"] != "Deployment" || dig(t, dep, "metadata", "name") != "baton-trayai" {
		t.Fatal("not the baton-trayai Deployment")
	}
	if dig(t, dep, "spec", "template", "spec", "automountServiceAccountToken") != false {
		t.Error("the pod mounts a Kubernetes API token it has no use for")
	}
	c := dig(t, dep, "spec", "template", "spec", "containers", 0)
	if image, _ := dig(t, c, "image").(string); !regexp.MustCompile(`^ghcr\.io/conductorone/baton-trayai:v\d+\.\d+\.\d+$`).MatchString(image) {
		t.Errorf("image %q: name a released version, not latest", image)
	}
	env := map[string]string{}
	for _, e := range dig(t, c, "env").([]any) {
		env[dig(t, e, "name").(string)], _ = dig(t, e, "value").(string)
	}
	if env["BATON_HOST_ID"] != "baton-trayai" || env["BATON_HEALTH_CHECK"] != "true" || env["BATON_HEALTH_CHECK_BIND_ADDRESS"] != "0.0.0.0" {
		t.Errorf("env %v: want BATON_HOST_ID and a health check reachable by the kubelet", env)
	}
	if dig(t, c, "envFrom", 0, "secretRef", "name") != "baton-trayai-secrets" {
		t.Error("container does not read the secret")
	}
	if dig(t, dep, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Error("pod does not require a non-root user")
	}
	sc := dig(t, c, "securityContext")
	if dig(t, sc, "readOnlyRootFilesystem") != true || dig(t, sc, "allowPrivilegeEscalation") != false {
		t.Errorf("container security context %v", sc)
	}
	for _, kind := range []string{"requests", "limits"} {
		r := dig(t, c, "resources", kind).(map[string]any)
		if r["cpu"] == nil || r["memory"] == nil {
			t.Errorf("resources.%s lacks cpu or memory: %v", kind, r)
		}
	}
	if dig(t, c, "ports", 0, "containerPort") != 8081 || env["BATON_HEALTH_CHECK_PORT"] != "8081" {
		t.Error("health-check port 8081 is not exposed")
	}
	if dig(t, c, "livenessProbe", "httpGet", "path") != "/live" || dig(t, c, "readinessProbe", "httpGet", "path") != "/ready" {
		t.Error("probes do not use the SDK's /live and /ready endpoints")
	}
	if dig(t, c, "volumeMounts", 0, "mountPath") != "/tmp" {
		t.Error("no writable /tmp for the c1z on a read-only root filesystem")
	}

	k := parseYAML(t, "deploy/kubernetes/kustomization.yaml")
	res := dig(t, k, "resources").([]any)
	if !slices.Contains(res, any("baton-trayai-secrets.yaml")) || !slices.Contains(res, any("baton-trayai.yaml")) {
		t.Errorf("kustomization resources %v", res)
	}
}

// The capabilities table in docs/connector.mdx is generated from
// baton_capabilities.json; this keeps them in step.
func TestConnectorDocCapabilitiesMatchTheBinary(t *testing.T) {
	var caps struct {
		ResourceTypeCapabilities []struct {
			ResourceType struct {
				ID          string `json:"id"`
				DisplayName string `json:"displayName"`
			} `json:"resourceType"`
			Capabilities []string `json:"capabilities"`
		} `json:"resourceTypeCapabilities"`
	}
	if err := json.Unmarshal([]byte(read(t, "baton_capabilities.json")), &caps); err != nil {
		t.Fatal(err)
	}
	doc := read(t, "docs/connector.mdx")
	start := strings.Index(doc, "{/* AUTO-GENERATED:START - capabilities */}")
	end := strings.Index(doc, "{/* AUTO-GENERATED:END - capabilities */}")
	if start < 0 || end < start {
		t.Fatal("docs/connector.mdx has no capabilities markers")
	}
	table := doc[start:end]
	rows := 0
	for _, rc := range caps.ResourceTypeCapabilities {
		provision := slices.Contains(rc.Capabilities, "CAPABILITY_PROVISION") || slices.Contains(rc.Capabilities, "CAPABILITY_ACCOUNT_PROVISIONING")
		want := "| " + rc.ResourceType.DisplayName + " | " + mark(slices.Contains(rc.Capabilities, "CAPABILITY_SYNC")) + " | " + mark(provision) + " |"
		if !strings.Contains(table, want) {
			t.Errorf("docs/connector.mdx lacks the row %q", want)
		}
		rows++
	}
	if got := strings.Count(table, "\n| ") - 2; got != rows { // minus the header and separator
		t.Errorf("docs table has %d rows, capabilities %d", got, rows)
	}
}

func mark(ok bool) string {
	if ok {
		return "✅"
	}
	return "—"
}

func TestDockerBuildContextLeavesOutSecretsAndBuildOutput(t *testing.T) {
	ignored := map[string]bool{}
	for _, line := range strings.Split(read(t, ".dockerignore"), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored[strings.TrimSuffix(line, "/")] = true
		}
	}
	for _, p := range []string{".baton.yaml", ".env", "dist", "bin", "*.c1z"} {
		if !ignored[p] {
			t.Errorf(".dockerignore does not leave out %s", p)
		}
	}
}

// The Deployment's limits come from measurements and fit together: Go's
// soft limit leaves both Go processes room under the container's limit,
// temporary data goes to the sized emptyDir, and the request is below the
// limit.
func TestKubernetesLimitsFitTogether(t *testing.T) {
	// Measured in service mode at 20,000 users, the size the manifest says
	// it holds (docs/service-mode.md, `go run ./tools/bench -service …
	// -manifest deploy/kubernetes -users 20000 [-expand]`): the whole
	// process tree's peak and TMPDIR's peak, both with a task that asks the
	// connector to expand grants.
	const (
		measuredTreePeak = 194 << 20
		measuredTmpPeak  = 1136 << 20
	)
	dep, _, err := manifest.Load(filepath.Join(root, "deploy/kubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	soft, ok := dep.Lookup("GOMEMLIMIT")
	if !ok {
		t.Fatal("no GOMEMLIMIT: Go does not know the container's memory limit")
	}
	perProcess, err := manifest.Quantity(strings.TrimSuffix(soft, "B"))
	if err != nil {
		t.Fatalf("GOMEMLIMIT %q: %v", soft, err)
	}
	// The service and the SDK's connector process each get the soft limit.
	if 2*perProcess > dep.MemoryLimit*8/10 {
		t.Errorf("2 x GOMEMLIMIT %s is over 80%% of the memory limit %d MiB: the kernel would kill before Go collects", soft, dep.MemoryLimit>>20)
	}
	if dep.MemoryRequest < measuredTreePeak || dep.MemoryRequest > dep.MemoryLimit {
		t.Errorf("memory request %d MiB, limit %d MiB: the request must cover the measured peak of %d MiB and stay under the limit",
			dep.MemoryRequest>>20, dep.MemoryLimit>>20, measuredTreePeak>>20)
	}
	if dep.TmpSizeLimit < measuredTmpPeak {
		t.Errorf("the emptyDir's size limit %d MiB is under the measured TMPDIR peak of %d MiB", dep.TmpSizeLimit>>20, measuredTmpPeak>>20)
	}
	if tmp, _ := dep.Lookup("TMPDIR"); tmp == "" || tmp != dep.TmpPath || dep.TmpSizeLimit == 0 {
		t.Errorf("TMPDIR %q is not the size-limited emptyDir mounted at %q (limit %d)", tmp, dep.TmpPath, dep.TmpSizeLimit)
	}
}
