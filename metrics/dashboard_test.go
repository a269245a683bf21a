package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socketio-go/chatserver/realtime"
)

// The sample Grafana dashboard (deploy/grafana/chatserver.json) asks only
// for metrics this package exports, under their exported names.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana/chatserver.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}

	exported := map[string]bool{}
	m := New()
	m.Register(realtime.NewServer(realtime.Options{}))
	descs := make(chan *prometheus.Desc, 256)
	m.Registry().Describe(descs)
	close(descs)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		if sm := fqName.FindStringSubmatch(d.String()); sm != nil {
			exported[sm[1]] = true
		}
	}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		exported[f.GetName()] = true
	}
	known := func(name string) bool {
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			if exported[strings.TrimSuffix(name, suffix)] && strings.HasSuffix(name, suffix) {
				return true
			}
		}
		return false
	}

	ref := regexp.MustCompile(`([a-z_:][a-z0-9_:]*)\{|label_values\(([a-z_:][a-z0-9_:]*)`)
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		exprs = append(exprs, v.Definition)
	}
	seen := 0
	for _, e := range exprs {
		for _, sm := range ref.FindAllStringSubmatch(e, -1) {
			name := sm[1] + sm[2]
			seen++
			if !known(name) {
				t.Errorf("the dashboard asks for %s, which is not exported (in %q)", name, e)
			}
		}
	}
	if seen < 20 {
		t.Fatalf("only %d metric references found in the dashboard", seen)
	}
}
