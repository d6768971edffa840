// Package validate checks the Knative and Kubernetes manifests with the
// platforms' own Go types, so a broken manifest fails the tests: each
// document decodes strictly into its type, Knative's get their defaults
// and their Validate, and the wiring is checked against weft itself (every
// topic a role consumes has a Trigger to its Service, every setting is a
// weft setting). It is a module of its own so that weft's module does not
// carry Knative's and Kubernetes' dependencies.
package validate

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"sigs.k8s.io/yaml"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	storagememory "github.com/weftio/weft/storage/memory"
	ktransport "github.com/weftio/weft/transport/knative"

	"github.com/weftio/weft"

	_ "github.com/weftio/weft/storage/postgres"
	_ "github.com/weftio/weft/transport/pulsar"
)

// doc is one YAML document of a manifest file.
type doc struct {
	file string
	n    int
	raw  []byte
	kind string
	api  string
	name string
}

func (d doc) String() string { return fmt.Sprintf("%s#%d (%s %s)", d.file, d.n, d.kind, d.name) }

// docs splits every YAML file of dir into its documents.
func docs(t *testing.T, dir string) []doc {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	var out []doc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, part := range bytes.Split(b, []byte("\n---\n")) {
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal(part, &head); err != nil {
				t.Fatalf("%s#%d: %v", f, i, err)
			}
			if head.Kind == "" {
				continue // comments only
			}
			out = append(out, doc{file: filepath.Base(f), n: i, raw: part, kind: head.Kind, api: head.APIVersion, name: head.Metadata.Name})
		}
	}
	return out
}

// namespace is where the test applies the manifests, as kubectl apply -n
// would: they name none, so they go in any.
const namespace = "weft"

// strict decodes a document into v, refusing unknown fields, in namespace.
func strict(t *testing.T, d doc, v any) bool {
	t.Helper()
	if err := yaml.UnmarshalStrict(d.raw, v); err != nil {
		t.Errorf("%s: %v", d, err)
		return false
	}
	if o, ok := v.(interface {
		GetNamespace() string
		SetNamespace(string)
	}); ok && o.GetNamespace() == "" {
		o.SetNamespace(namespace)
	}
	return true
}

// deployment is what the Knative manifests define, for the wiring checks.
type deployment struct {
	services  map[string]*servingv1.Service
	triggers  []*eventingv1.Trigger
	brokers   map[string]bool
	configMap *corev1.ConfigMap
	secret    *corev1.Secret
}

// TestKnativeManifests decodes and validates every document under
// knative/ with Knative's types and checks the wiring against weft.
func TestKnativeManifests(t *testing.T) {
	ctx := context.Background()
	dep := deployment{services: map[string]*servingv1.Service{}, brokers: map[string]bool{}}
	for _, d := range docs(t, "..") {
		switch d.api + "/" + d.kind {
		case "serving.knative.dev/v1/Service":
			var s servingv1.Service
			if !strict(t, d, &s) {
				continue
			}
			s.SetDefaults(ctx)
			if err := s.Validate(ctx); err != nil {
				t.Errorf("%s: %v", d, err)
			}
			dep.services[s.Name] = &s
		case "eventing.knative.dev/v1/Broker":
			var b eventingv1.Broker
			if !strict(t, d, &b) {
				continue
			}
			b.SetDefaults(ctx)
			if err := b.Validate(ctx); err != nil {
				t.Errorf("%s: %v", d, err)
			}
			dep.brokers[b.Name] = true
		case "eventing.knative.dev/v1/Trigger":
			var tr eventingv1.Trigger
			if !strict(t, d, &tr) {
				continue
			}
			tr.SetDefaults(ctx)
			if err := tr.Validate(ctx); err != nil {
				t.Errorf("%s: %v", d, err)
			}
			dep.triggers = append(dep.triggers, &tr)
		case "sources.knative.dev/v1/SinkBinding":
			var sb sourcesv1.SinkBinding
			if !strict(t, d, &sb) {
				continue
			}
			sb.SetDefaults(ctx)
			if err := sb.Validate(ctx); err != nil {
				t.Errorf("%s: %v", d, err)
			}
		case "v1/ConfigMap":
			var cm corev1.ConfigMap
			if strict(t, d, &cm) {
				dep.configMap = &cm
			}
		case "v1/Secret":
			var s corev1.Secret
			if strict(t, d, &s) {
				dep.secret = &s
			}
		default:
			t.Errorf("%s: no check for %s %s", d, d.api, d.kind)
		}
	}
	checkWiring(t, dep)
}

// checkWiring: every Trigger subscribes a Service of the manifests on a
// Broker of theirs; every topic prefix a role consumes is routed to the
// role's Service by a Trigger on weftprefix; the images are the role
// binaries; every key of the ConfigMap and the Secret is a weft setting.
func checkWiring(t *testing.T, dep deployment) {
	t.Helper()
	routes := map[string][]string{} // service -> weftprefix values routed to it
	for _, tr := range dep.triggers {
		if !dep.brokers[tr.Spec.Broker] {
			t.Errorf("trigger %s: broker %q is not in the manifests", tr.Name, tr.Spec.Broker)
		}
		ref := tr.Spec.Subscriber.Ref
		if ref == nil || ref.Kind != "Service" || dep.services[ref.Name] == nil {
			t.Errorf("trigger %s: subscriber %+v is not a Service of the manifests", tr.Name, ref)
			continue
		}
		if tr.Spec.Filter != nil {
			if p, ok := tr.Spec.Filter.Attributes[ktransport.ExtPrefix]; ok {
				routes[ref.Name] = append(routes[ref.Name], p)
			}
		}
	}
	reg := weft.NewRegistry()
	if err := examples.Register(reg, io.Discard); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) {
		v, ok := map[string]string{"WEFT_TRANSPORT": "knative", "WEFT_KNATIVE_SINK": "http://broker", "WEFT_EVENTS_ENABLED": "true"}[k]
		return v, ok
	}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ktransport.New(context.Background(), ktransport.Config{Sink: "http://broker"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	mem := storagememory.New()
	for _, role := range config.AllRoles {
		fns, err := bootstrap.Roles{Config: cfg, Registry: reg, Transport: tr, Store: mem, Tags: mem,
			Sink: func(context.Context, core.Envelope, *core.Event) error { return nil }}.Functions([]config.Role{role})
		if err != nil {
			t.Fatal(err)
		}
		name := "weft-" + string(role)
		svc := dep.services[name]
		if svc == nil {
			t.Errorf("no Service %s for the %s role", name, role)
			continue
		}
		if img := svc.Spec.Template.Spec.Containers[0].Image; img != "ko://github.com/weftio/weft/functions/"+string(role) {
			t.Errorf("service %s runs image %q, want the role binary's ko:// import path", name, img)
		}
		for _, fn := range fns {
			for _, sub := range fn.Subscriptions() {
				prefix, _, _ := core.SplitTopic(sub.Topic)
				if !slices.Contains(routes[name], prefix) {
					t.Errorf("the %s role consumes %s, but no Trigger routes weftprefix %s to %s (it routes %v)", role, sub.Topic, prefix, name, routes[name])
				}
			}
		}
	}
	var env []string
	if dep.configMap == nil || dep.secret == nil {
		t.Fatal("the manifests define no ConfigMap or no Secret for the settings")
	}
	for k, v := range dep.configMap.Data {
		env = append(env, k+"="+v)
	}
	for k, v := range dep.secret.StringData {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	for _, err := range config.UnknownErrors(env) {
		t.Errorf("weft-config/weft-secrets: %v", err)
	}
	for _, svc := range dep.services {
		for _, c := range svc.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if strings.HasPrefix(e.Name, "WEFT_") {
					for _, err := range config.UnknownErrors([]string{e.Name + "=" + e.Value}) {
						t.Errorf("service %s: %v", svc.Name, err)
					}
				}
			}
		}
	}
}

// TestKubernetesManifests decodes every document under kubernetes/
// strictly into the k8s.io/api types.
func TestKubernetesManifests(t *testing.T) {
	var env []string
	for _, d := range docs(t, filepath.Join("..", "..", "kubernetes")) {
		switch d.api + "/" + d.kind {
		case "apps/v1/Deployment":
			var dp appsv1.Deployment
			if !strict(t, d, &dp) {
				continue
			}
			for _, c := range dp.Spec.Template.Spec.Containers {
				if c.ReadinessProbe == nil || c.LivenessProbe == nil {
					t.Errorf("%s: container %s lacks a readiness or a liveness probe", d, c.Name)
				}
				if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
					t.Errorf("%s: container %s lacks a CPU request or a memory limit", d, c.Name)
				}
			}
			if sel := dp.Spec.Selector; sel == nil || len(sel.MatchLabels) == 0 {
				t.Errorf("%s: no selector", d)
			}
		case "autoscaling/v2/HorizontalPodAutoscaler":
			var h autoscalingv2.HorizontalPodAutoscaler
			if strict(t, d, &h) && (h.Spec.MaxReplicas < 1 || h.Spec.ScaleTargetRef.Name == "") {
				t.Errorf("%s: no target or no max replicas", d)
			}
		case "v1/ConfigMap":
			var cm corev1.ConfigMap
			if strict(t, d, &cm) {
				for k, v := range cm.Data {
					env = append(env, k+"="+v)
				}
			}
		case "v1/Secret":
			var s corev1.Secret
			if strict(t, d, &s) {
				for k, v := range s.StringData {
					env = append(env, k+"="+v)
				}
			}
		case "policy/v1/PodDisruptionBudget":
			var pdb policyv1.PodDisruptionBudget
			strict(t, d, &pdb)
		default:
			t.Errorf("%s: no check for %s %s", d, d.api, d.kind)
		}
	}
	for _, err := range config.UnknownErrors(env) {
		t.Errorf("kubernetes settings: %v", err)
	}
}
