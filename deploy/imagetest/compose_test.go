package imagetest

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/weftio/weft/internal/config"
	_ "github.com/weftio/weft/storage/postgres" // its settings: WEFT_POSTGRES_*
	_ "github.com/weftio/weft/transport/pulsar" // WEFT_PULSAR_*
)

// compose is the part of the Compose file format docker-compose.yaml may
// use: a key outside it (a typo) fails the decoding.
type compose struct {
	Name       string             `yaml:"name"`
	Services   map[string]service `yaml:"services"`
	Volumes    map[string]any     `yaml:"volumes"`
	Extensions map[string]any     `yaml:",inline"` // x-* anchors only
}

type service struct {
	Image       string                `yaml:"image"`
	Build       *build                `yaml:"build"`
	Command     []string              `yaml:"command"`
	Environment map[string]string     `yaml:"environment"`
	Ports       []string              `yaml:"ports"`
	Volumes     []string              `yaml:"volumes"`
	Healthcheck *healthcheck          `yaml:"healthcheck"`
	DependsOn   map[string]dependency `yaml:"depends_on"`
	Restart     string                `yaml:"restart"`
	Profiles    []string              `yaml:"profiles"`
}

type build struct {
	Context string            `yaml:"context"`
	Args    map[string]string `yaml:"args"`
}

type healthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

type dependency struct {
	Condition string `yaml:"condition"`
}

func readCompose(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c compose
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	for k := range c.Extensions {
		if !strings.HasPrefix(k, "x-") {
			t.Errorf("docker-compose.yaml: unknown top-level key %q", k)
		}
	}
	return c
}

// interpolation is Compose's ${NAME}, ${NAME:-default} and ${NAME-default}.
var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}`)

// interpolate gives a value as Compose would with the variables of env set
// and no other.
func interpolate(s string, env map[string]string) string {
	s = interpolation.ReplaceAllStringFunc(s, func(m string) string {
		p := interpolation.FindStringSubmatch(m)
		v, ok := env[p[1]]
		if p[2] == ":-" && v == "" || p[2] == "-" && !ok {
			return p[3]
		}
		return v
	})
	return strings.ReplaceAll(s, "$$", "$")
}

var roleServices = []string{"executor", "state-engine", "tag-engine", "event-listener"}

// TestCompose: the stack has PostgreSQL and Pulsar with health checks, and
// each role is built from the Dockerfile for its role, starts when both are
// healthy, and is configured with real weft settings that load, with the
// variables the file reads from the environment unset and set.
func TestCompose(t *testing.T) {
	c := readCompose(t)
	for _, s := range []string{"postgres", "pulsar"} {
		if svc, ok := c.Services[s]; !ok || svc.Healthcheck == nil || len(svc.Healthcheck.Test) < 2 || svc.Healthcheck.Test[0] != "CMD" {
			t.Errorf("service %s: want one with a healthcheck test [CMD, ...]", s)
		}
	}
	if p := c.Services["pulsar"]; !slices.Contains(p.Command, "standalone") || !strings.HasPrefix(p.Image, "apachepulsar/pulsar:") {
		t.Errorf("pulsar: image %q command %q, want apachepulsar/pulsar running bin/pulsar standalone", p.Image, p.Command)
	}
	for name, svc := range c.Services {
		for _, p := range svc.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %q beyond loopback", name, p)
			}
		}
		if strings.HasSuffix(svc.Image, ":latest") && svc.Build == nil || svc.Image != "" && !strings.Contains(svc.Image, ":") {
			t.Errorf("%s: image %q: third-party images are pinned to a version", name, svc.Image)
		}
	}
	cases := []map[string]string{
		{},
		{"POSTGRES_PASSWORD": "s3cret", "WEFT_EVENTS_ENABLED": "true", "WEFT_EVENTS_SINK": "http://sink:8080/", "WEFT_LOG_LEVEL": "debug"},
	}
	for _, role := range roleServices {
		svc, ok := c.Services[role]
		if !ok {
			t.Errorf("no service %s", role)
			continue
		}
		if svc.Build == nil || svc.Build.Context != "." || svc.Build.Args["ROLE"] != role {
			t.Errorf("%s: build %+v, want the Dockerfile at the root with ROLE=%s", role, svc.Build, role)
		}
		if svc.Image != "weft/"+role+":latest" {
			t.Errorf("%s: image %q, want weft/%s:latest, the name make images gives", role, svc.Image, role)
		}
		for _, dep := range []string{"postgres", "pulsar"} {
			if svc.DependsOn[dep].Condition != "service_healthy" {
				t.Errorf("%s: depends on %s with %q, want service_healthy", role, dep, svc.DependsOn[dep].Condition)
			}
		}
		if _, ok := svc.Environment["WEFT_ROLES"]; ok {
			t.Errorf("%s sets WEFT_ROLES: a role binary runs its role", role)
		}
		var environ []string
		for k, v := range svc.Environment {
			environ = append(environ, k+"="+v)
		}
		sort.Strings(environ)
		for _, err := range config.UnknownErrors(environ) {
			t.Errorf("%s: %v", role, err)
		}
		for i, host := range cases {
			env := map[string]string{}
			for k, v := range svc.Environment {
				env[k] = interpolate(v, host)
			}
			if role == "event-listener" && env["WEFT_EVENTS_SINK"] == "" {
				continue // it refuses to start without a sink: the profile says to set one
			}
			cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
			if err != nil {
				t.Errorf("%s (environment %d): %v", role, i, err)
				continue
			}
			if cfg.Transport != "pulsar" || cfg.Storage != "postgres" {
				t.Errorf("%s: transport %q storage %q, want pulsar and postgres", role, cfg.Transport, cfg.Storage)
			}
		}
		for _, want := range []string{"WEFT_PULSAR_URL", "WEFT_PULSAR_ADMIN_URL", "WEFT_POSTGRES_URL", "WEFT_WORKFLOWS", "WEFT_SERVICES"} {
			if svc.Environment[want] == "" {
				t.Errorf("%s does not set %s", role, want)
			}
		}
	}
	if el := c.Services["event-listener"]; !slices.Contains(el.Profiles, "events") || el.Environment["WEFT_EVENTS_SINK"] == "" {
		t.Errorf("event-listener: profiles %q, sink %q: want the events profile and WEFT_EVENTS_SINK from the environment", el.Profiles, el.Environment["WEFT_EVENTS_SINK"])
	}
}

// TestComposeTypo: the check above catches a misspelt setting.
func TestComposeTypo(t *testing.T) {
	errs := config.UnknownErrors([]string{"WEFT_PULSAR_URL=pulsar://x:6650", "WEFT_PULSAR_ADMN_URL=http://x"})
	if len(errs) != 1 || !strings.Contains(fmt.Sprint(errs[0]), "WEFT_PULSAR_ADMN_URL") {
		t.Errorf("UnknownErrors = %v, want the one typo", errs)
	}
	if got := interpolate("${A:-x}/${B-y}/${C}/$$", map[string]string{"B": ""}); got != "x///$" {
		t.Errorf("interpolate = %q", got)
	}
}
