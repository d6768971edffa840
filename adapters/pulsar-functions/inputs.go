package pulsarfunctions

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/transport/pulsar"
)

// assignment is what one function consumes in this instance: the
// subscriptions of its own that the config's inputs name.
type assignment struct {
	fn   functions.Function
	subs []functions.Subscription
}

// narrowed is a function restricted to the subscriptions it was assigned,
// so its worker consumes those topics only.
type narrowed struct {
	functions.Function
	subs []functions.Subscription
}

func (n narrowed) Subscriptions() []functions.Subscription { return n.subs }

// owner is a subscription of a function, by the Pulsar topic carrying it.
type owner struct {
	fn  int
	sub functions.Subscription
}

// assign gives every input topic to the function that subscribes to the
// weft topic it carries; pulsarName maps a weft topic to the transport's
// Pulsar topic. It returns, per weft topic, the input that names it.
// Every input must be consumed, and every function must get an input.
func assign(fns []functions.Function, inputs []Input, pulsarName func(string) string) ([]assignment, map[string]Input, error) {
	owners := map[string][]owner{}
	for i, fn := range fns {
		for _, s := range fn.Subscriptions() {
			full := pulsarName(s.Topic)
			owners[full] = append(owners[full], owner{i, s})
		}
	}
	picked := make([]map[string]bool, len(fns))
	for i := range picked {
		picked[i] = map[string]bool{}
	}
	byTopic := map[string]Input{}
	take := func(in Input, full string) error {
		own := owners[full]
		if len(own) > 1 {
			return fmt.Errorf("input topic %q is consumed by both %q and %q; one instance can give it to one function only", full, fns[own[0].fn].Name(), fns[own[1].fn].Name())
		}
		o := own[0]
		// An explicit input tunes its topic rather than a regex that
		// matches it too.
		if prev, dup := byTopic[o.sub.Topic]; !dup || prev.Regex {
			byTopic[o.sub.Topic] = in
		}
		picked[o.fn][o.sub.Topic] = true
		return nil
	}
	for _, in := range inputs {
		if in.Regex {
			re, err := regexp.Compile("^(?:" + in.Topic + ")$")
			if err != nil {
				return nil, nil, fmt.Errorf("input topic pattern %q: %w", in.Topic, err)
			}
			matched := 0
			for _, full := range slices.Sorted(maps.Keys(owners)) {
				if re.MatchString(full) {
					matched++
					if err := take(in, full); err != nil {
						return nil, nil, err
					}
				}
			}
			if matched == 0 {
				return nil, nil, fmt.Errorf("input topic pattern %q matches no topic that %s consume", in.Topic, names(fns))
			}
			continue
		}
		full := fullTopicName(in.Topic)
		if _, ok := owners[full]; !ok {
			return nil, nil, unconsumed(in.Topic, full, fns, pulsarName)
		}
		if err := take(in, full); err != nil {
			return nil, nil, err
		}
	}
	out := make([]assignment, len(fns))
	for i, fn := range fns {
		out[i].fn = fn
		for _, s := range fn.Subscriptions() {
			if picked[i][s.Topic] {
				out[i].subs = append(out[i].subs, s)
			}
		}
		if len(out[i].subs) == 0 {
			return nil, nil, fmt.Errorf("function %q consumes none of the input topics; give the instance one of its topics (%s)", fn.Name(), topicList(fn, pulsarName))
		}
	}
	return out, byTopic, nil
}

// unconsumed explains why no function takes an input.
func unconsumed(given, full string, fns []functions.Function, pulsarName func(string) string) error {
	tenant, ns, topic, ok := pulsar.ParseTopicName(full)
	if !ok {
		return fmt.Errorf("input topic %q carries no weft topic (not a name the Pulsar transport writes); %s consume %s", given, names(fns), allTopics(fns, pulsarName))
	}
	if ht, hns, _, _ := pulsar.ParseTopicName(pulsarName(topic)); ht != tenant || hns != ns {
		return fmt.Errorf("input topic %q lies in %s/%s, outside the transport's namespace %s/%s", given, tenant, ns, ht, hns)
	}
	return fmt.Errorf("input topic %q (weft topic %q): no function consumes it; %s consume %s", given, topic, names(fns), allTopics(fns, pulsarName))
}

func names(fns []functions.Function) string {
	ns := make([]string, len(fns))
	for i, fn := range fns {
		ns[i] = strconv.Quote(fn.Name())
	}
	return strings.Join(ns, ", ")
}

func topicList(fn functions.Function, pulsarName func(string) string) string {
	var ts []string
	for _, s := range fn.Subscriptions() {
		ts = append(ts, pulsarName(s.Topic))
	}
	return strings.Join(ts, ", ")
}

func allTopics(fns []functions.Function, pulsarName func(string) string) string {
	var ts []string
	for _, fn := range fns {
		if l := topicList(fn, pulsarName); l != "" {
			ts = append(ts, l)
		}
	}
	if len(ts) == 0 {
		return "no topic"
	}
	return strings.Join(ts, ", ")
}

// tuning is the consumer setup the config asks for on one input.
func (c *InstanceConfig) tuning(in Input) pulsar.Tuning {
	props := maps.Clone(in.ConsumerProperties)
	if props == nil {
		props = map[string]string{}
	}
	// The three properties every Pulsar Functions consumer carries, so the
	// broker's topic stats show which instance holds which consumer.
	props["application"] = "pulsar-function"
	props["id"] = c.FQFN()
	props["instance_id"] = strconv.Itoa(c.ShardID)
	return pulsar.Tuning{
		Failover:          c.SubscriptionType == Failover,
		Latest:            c.SubscriptionPosition == Latest,
		ReceiverQueueSize: in.ReceiverQueueSize,
		Properties:        props,
	}
}
