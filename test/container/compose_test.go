package container

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       string            `yaml:"build"`
	Hostname    string            `yaml:"hostname"`
	Environment map[string]string `yaml:"environment"`
	Command     []string          `yaml:"command"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]any    `yaml:"depends_on"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// promConfig is the part of a Prometheus configuration that
// deploy/prometheus.yml uses, read strictly so that a misspelt key (which
// Prometheus would refuse) fails here too.
type promConfig struct {
	Global        map[string]string `yaml:"global"`
	ScrapeConfigs []struct {
		JobName        string `yaml:"job_name"`
		MetricsPath    string `yaml:"metrics_path"`
		Scheme         string `yaml:"scheme"`
		ScrapeInterval string `yaml:"scrape_interval"`
		ScrapeTimeout  string `yaml:"scrape_timeout"`
		StaticConfigs  []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalWithOptions(b, v, yaml.Strict()); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestCompose: docker-compose.yml parses, its app nodes run the image the
// way the Dockerfile describes (port, healthcheck), the files it mounts
// exist, and Prometheus scrapes exactly those nodes at /metrics.
func TestCompose(t *testing.T) {
	root := repoRoot(t)
	fx := loadFacts(t, root)
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	// Not strict: the x-app extension field and the services' keys this
	// test does not look at are fine.
	if err := yaml.Unmarshal(b, &cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	var apps []string // the chatserver nodes: the services built from the Dockerfile
	for name, s := range cf.Services {
		for dep := range s.DependsOn {
			if _, ok := cf.Services[dep]; !ok {
				t.Errorf("service %s depends on %s, which is not a service", name, dep)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			} else if _, ok := cf.Volumes[src]; !ok {
				t.Errorf("service %s uses volume %s, which is not declared", name, src)
			}
		}
		if s.Build != "." {
			continue
		}
		apps = append(apps, name)
		if s.Hostname == "" {
			t.Errorf("service %s has no hostname", name)
		}
		port := fx.port
		if addr, ok := s.Environment["ADDR"]; ok {
			port = addr[strings.LastIndexByte(addr, ':')+1:]
		}
		if port != fx.port {
			t.Errorf("service %s listens on %s, the image exposes %s", name, port, fx.port)
		}
		if want := append([]string{"CMD"}, fx.health.Cmd...); !slices.Equal(s.Healthcheck.Test, want) {
			t.Errorf("service %s healthcheck %q, want %q (the Dockerfile's)", name, s.Healthcheck.Test, want)
		}
	}
	slices.Sort(apps)
	if !slices.Equal(apps, []string{"app1", "app2", "app3"}) {
		t.Fatalf("services built from the Dockerfile: %q, want app1, app2, app3", apps)
	}

	prom, ok := cf.Services["prometheus"]
	if !ok {
		t.Fatal("no prometheus service")
	}
	if !strings.HasPrefix(prom.Image, "prom/prometheus:v") {
		t.Errorf("prometheus image %q: want a pinned prom/prometheus:vX.Y.Z", prom.Image)
	}
	const inContainer = "/etc/prometheus/prometheus.yml"
	var cfgFile string
	for _, v := range prom.Volumes {
		if parts := strings.Split(v, ":"); len(parts) >= 2 && parts[1] == inContainer {
			cfgFile = parts[0]
		}
	}
	if cfgFile == "" {
		t.Fatalf("prometheus does not mount its configuration at %s (volumes %q)", inContainer, prom.Volumes)
	}
	if !slices.Contains(prom.Command, "--config.file="+inContainer) {
		t.Errorf("prometheus command %q does not read %s", prom.Command, inContainer)
	}
	for _, p := range prom.Ports {
		if !strings.HasPrefix(p, "127.0.0.1:") {
			t.Errorf("prometheus port %q is published on every interface of the host", p)
		}
	}

	var pc promConfig
	readYAML(t, filepath.Join(root, cfgFile), &pc)
	var want, got []string
	for _, a := range apps {
		want = append(want, cf.Services[a].Hostname+":"+fx.port)
	}
	for _, sc := range pc.ScrapeConfigs {
		path := sc.MetricsPath
		if path == "" {
			path = "/metrics" // Prometheus's default
		}
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				if path != "/metrics" {
					t.Errorf("job %s scrapes %s at %s, want /metrics", sc.JobName, tg, path)
				}
				got = append(got, tg)
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s scrapes %q, want the app nodes %q", cfgFile, got, want)
	}
}
