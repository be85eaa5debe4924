// Package manifest reads the Kubernetes manifests in deploy/kubernetes the
// way the cluster would use them, so that tests and the benchmark run the
// connector with exactly the environment, limits and ports the shipped
// Deployment gives it.
package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	// yaml.v2 is already in the connector's dependency graph (the SDK's
	// CLI uses it).
	"gopkg.in/yaml.v2"
)

// Deployment is what the connector's container gets.
type Deployment struct {
	Image string
	// Env are the container's env entries with a value, in order.
	Env []EnvVar
	// SecretRefs name the Secrets whose keys envFrom adds.
	SecretRefs []string
	// MemoryRequest and MemoryLimit are in bytes.
	MemoryRequest, MemoryLimit int64
	// HealthPort is the container port the probes name; LivePath and
	// ReadyPath are their paths.
	HealthPort          int
	LivePath, ReadyPath string
	// TmpPath is where the emptyDir for temporary data is mounted, and
	// TmpSizeLimit its size limit in bytes.
	TmpPath      string
	TmpSizeLimit int64
}

// EnvVar is one env entry with a literal value.
type EnvVar struct{ Name, Value string }

// Load reads the kustomization in dir and the Deployment and Secrets it
// lists.
func Load(dir string) (Deployment, map[string]map[string]string, error) {
	var k struct {
		Resources []string `yaml:"resources"`
	}
	if err := readYAML(filepath.Join(dir, "kustomization.yaml"), &k); err != nil {
		return Deployment{}, nil, err
	}
	secrets := map[string]map[string]string{}
	var dep *Deployment
	for _, res := range k.Resources {
		var head struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
			StringData map[string]string `yaml:"stringData"`
		}
		path := filepath.Join(dir, res)
		if err := readYAML(path, &head); err != nil {
			return Deployment{}, nil, err
		}
		switch head.Kind {
		case "Secret":
			secrets[head.Metadata.Name] = head.StringData
		case "Deployment":
			d, err := readDeployment(path)
			if err != nil {
				return Deployment{}, nil, err
			}
			dep = &d
		}
	}
	if dep == nil {
		return Deployment{}, nil, fmt.Errorf("%s lists no Deployment", dir)
	}
	return *dep, secrets, nil
}

// Environ is the container's environment as the kubelet builds it: the
// keys of the envFrom Secrets first, then env, which wins.
func (d Deployment) Environ(secrets map[string]map[string]string) ([]string, error) {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, name := range d.SecretRefs {
		s, ok := secrets[name]
		if !ok {
			return nil, fmt.Errorf("envFrom names the Secret %s, which the kustomization does not list", name)
		}
		for k, v := range s {
			set(k, v)
		}
	}
	for _, e := range d.Env {
		set(e.Name, e.Value)
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vars[k])
	}
	return out, nil
}

// Lookup is the value of an env entry of the container.
func (d Deployment) Lookup(name string) (string, bool) {
	for _, e := range d.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

// rawDeployment is the part of a Deployment manifest the connector's
// container is read from.
type rawDeployment struct {
	Spec struct {
		Template struct {
			Spec struct {
				Containers []rawContainer `yaml:"containers"`
				Volumes    []rawVolume    `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// rawContainer is a container of the pod template, as the manifest spells it.
type rawContainer struct {
	Image string `yaml:"image"`
	Env   []struct {
		Name  string  `yaml:"name"`
		Value *string `yaml:"value"`
	} `yaml:"env"`
	EnvFrom []struct {
		SecretRef struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe  probe `yaml:"livenessProbe"`
	ReadinessProbe probe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

// rawVolume is a volume of the pod template.
type rawVolume struct {
	Name     string `yaml:"name"`
	EmptyDir *struct {
		SizeLimit string `yaml:"sizeLimit"`
	} `yaml:"emptyDir"`
}

func readDeployment(path string) (Deployment, error) {
	var raw rawDeployment
	if err := readYAML(path, &raw); err != nil {
		return Deployment{}, err
	}
	pod := raw.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		return Deployment{}, fmt.Errorf("%s: want one container, found %d", path, len(pod.Containers))
	}
	d, err := pod.Containers[0].deployment(pod.Volumes)
	if err != nil {
		return Deployment{}, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// deployment is what the container gets, given the pod's volumes.
func (c *rawContainer) deployment(volumes []rawVolume) (Deployment, error) {
	d := Deployment{
		Image:      c.Image,
		LivePath:   c.LivenessProbe.HTTPGet.Path,
		ReadyPath:  c.ReadinessProbe.HTTPGet.Path,
		SecretRefs: c.secretRefs(),
		HealthPort: c.healthPort(),
	}
	var err error
	if d.Env, err = c.literalEnv(); err != nil {
		return Deployment{}, err
	}
	if d.MemoryRequest, err = Quantity(c.Resources.Requests["memory"]); err != nil {
		return Deployment{}, fmt.Errorf("memory request: %w", err)
	}
	if d.MemoryLimit, err = Quantity(c.Resources.Limits["memory"]); err != nil {
		return Deployment{}, fmt.Errorf("memory limit: %w", err)
	}
	if d.TmpPath, d.TmpSizeLimit, err = c.emptyDirMount(volumes); err != nil {
		return Deployment{}, err
	}
	return d, nil
}

// literalEnv is the container's env. Every entry must carry a literal value:
// the tests and the benchmark cannot resolve a valueFrom.
func (c *rawContainer) literalEnv() ([]EnvVar, error) {
	var env []EnvVar
	for _, e := range c.Env {
		if e.Value == nil {
			return nil, fmt.Errorf("env %s has no literal value", e.Name)
		}
		env = append(env, EnvVar{Name: e.Name, Value: *e.Value})
	}
	return env, nil
}

func (c *rawContainer) secretRefs() []string {
	var refs []string
	for _, f := range c.EnvFrom {
		refs = append(refs, f.SecretRef.Name)
	}
	return refs
}

// healthPort is the container port the liveness probe names, by name or
// by number; 0 if none.
func (c *rawContainer) healthPort() int {
	port := fmt.Sprint(c.LivenessProbe.HTTPGet.Port)
	found := 0
	for _, p := range c.Ports {
		if p.Name == port || strconv.Itoa(p.ContainerPort) == port {
			found = p.ContainerPort
		}
	}
	return found
}

// emptyDirMount is where the container mounts an emptyDir volume, and the
// volume's size limit in bytes.
func (c *rawContainer) emptyDirMount(volumes []rawVolume) (string, int64, error) {
	var path string
	var limit int64
	for _, m := range c.VolumeMounts {
		for _, v := range volumes {
			if v.Name != m.Name || v.EmptyDir == nil {
				continue
			}
			path = m.MountPath
			var err error
			if limit, err = Quantity(v.EmptyDir.SizeLimit); err != nil {
				return "", 0, fmt.Errorf("emptyDir size limit: %w", err)
			}
		}
	}
	return path, limit, nil
}

// Quantity reads a Kubernetes memory quantity ("512Mi", "1Gi", "128M")
// in bytes.
func Quantity(q string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(q, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * u.mult, err
		}
	}
	return strconv.ParseInt(q, 10, 64)
}

func readYAML(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
