package pulsarfunctions

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport/pulsar"
)

func pname(topic string) string { return pulsar.TopicName("public", "default", topic) }

// subsOf is a function named name consuming topics; those starting with
// "keyed" are keyed.
func subsOf(name string, topics ...string) *testFn {
	f := &testFn{name: name}
	for _, t := range topics {
		f.subs = append(f.subs, functions.Subscription{Topic: t, Keyed: strings.HasPrefix(t, "keyed")})
	}
	return f
}

func TestAssign(t *testing.T) {
	t.Parallel()
	a := subsOf("a", "keyed:1", "a:2", "a:3")
	b := subsOf("b", "b:1/x")
	inputs := []Input{
		{Topic: pname("keyed:1"), ReceiverQueueSize: 5},
		{Topic: "public/default/b:1=2Fx"},                        // tenant/namespace/topic completes
		{Topic: "persistent://public/default/a:.*", Regex: true}, // a:2 and a:3
	}
	got, byTopic, err := assign([]functions.Function{a, b}, inputs, pname)
	if err != nil {
		t.Fatalf("assign: %v", err)
	}
	want := [][]functions.Subscription{
		{{Topic: "keyed:1", Keyed: true}, {Topic: "a:2"}, {Topic: "a:3"}},
		{{Topic: "b:1/x"}},
	}
	for i := range want {
		if got[i].fn != []functions.Function{a, b}[i] || !slices.Equal(got[i].subs, want[i]) {
			t.Errorf("function %d gets %v, want %v", i, got[i].subs, want[i])
		}
	}
	if keys := slices.Sorted(maps.Keys(byTopic)); !slices.Equal(keys, []string{"a:2", "a:3", "b:1/x", "keyed:1"}) {
		t.Errorf("inputs by topic %v", keys)
	}
	if in := byTopic["keyed:1"]; in.ReceiverQueueSize != 5 || in.Regex {
		t.Errorf("keyed:1 tuned by %+v, want its own input", in)
	}
	if in := byTopic["a:3"]; !in.Regex {
		t.Errorf("a:3 tuned by %+v, want the pattern", in)
	}

	// An explicit input wins over a pattern matching the same topic.
	_, byTopic, err = assign([]functions.Function{a}, []Input{
		{Topic: "persistent://public/default/.*", Regex: true},
		{Topic: pname("a:2"), ReceiverQueueSize: 9},
	}, pname)
	if err != nil || byTopic["a:2"].ReceiverQueueSize != 9 || !byTopic["a:3"].Regex {
		t.Errorf("pattern and explicit input: %v, %v", byTopic, err)
	}
}

func TestAssignErrorsNameTheTopic(t *testing.T) {
	t.Parallel()
	a := subsOf("a", "a:1")
	b := subsOf("b", "b:1")
	both := subsOf("c", "a:1")
	for _, tc := range []struct {
		name   string
		fns    []functions.Function
		inputs []Input
		want   string
	}{
		{"nobody consumes", []functions.Function{a}, []Input{{Topic: pname("a:1")}, {Topic: pname("z:9")}},
			`input topic "persistent://public/default/z:9" (weft topic "z:9"): no function consumes it; "a" consume persistent://public/default/a:1`},
		{"other namespace", []functions.Function{a}, []Input{{Topic: "persistent://acme/prod/a:1"}},
			`input topic "persistent://acme/prod/a:1" lies in acme/prod, outside the transport's namespace public/default`},
		{"no weft topic", []functions.Function{a}, []Input{{Topic: "persistent://public/default/a:1-partition-0"}},
			`input topic "persistent://public/default/a:1-partition-0" carries no weft topic`},
		{"function without input", []functions.Function{a, b}, []Input{{Topic: pname("a:1")}},
			`function "b" consumes none of the input topics; give the instance one of its topics (persistent://public/default/b:1)`},
		{"two consumers", []functions.Function{a, both}, []Input{{Topic: pname("a:1")}},
			`input topic "persistent://public/default/a:1" is consumed by both "a" and "c"`},
		{"pattern matches nothing", []functions.Function{a}, []Input{{Topic: pname("a:1")}, {Topic: "persistent://public/default/q.*", Regex: true}},
			`input topic pattern "persistent://public/default/q.*" matches no topic that "a" consume`},
		{"bad pattern", []functions.Function{a}, []Input{{Topic: "persistent://public/default/(", Regex: true}},
			`input topic pattern "persistent://public/default/("`},
	} {
		_, _, err := assign(tc.fns, tc.inputs, pname)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v\nwant one containing %s", tc.name, err, tc.want)
		}
	}
}

func TestTuning(t *testing.T) {
	t.Parallel()
	c := &InstanceConfig{Tenant: "acme", Namespace: "prod", Name: "engine", ShardID: 4, SubscriptionType: Failover, SubscriptionPosition: Earliest}
	tu := c.tuning(Input{ReceiverQueueSize: 7, ConsumerProperties: map[string]string{"team": "travel", "application": "overridden"}})
	want := map[string]string{"team": "travel", "application": "pulsar-function", "id": "acme/prod/engine", "instance_id": "4"}
	if !tu.Failover || tu.Latest || tu.ReceiverQueueSize != 7 || !maps.Equal(tu.Properties, want) {
		t.Errorf("tuning %+v, want Failover, earliest, queue 7, properties %v", tu, want)
	}
	for _, st := range []SubscriptionType{Shared, KeyShared} {
		c.SubscriptionType, c.SubscriptionPosition = st, Latest
		if tu := c.tuning(Input{}); tu.Failover || !tu.Latest {
			t.Errorf("%s: tuning %+v, want no Failover (Key_Shared for keyed topics), latest", st, tu)
		}
	}
}
