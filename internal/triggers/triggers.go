// Package triggers turns CloudEvents of a user's own types into weft
// commands: dispatch a workflow, send a signal, dispatch a method, cancel,
// as a configured mapping says. Every ingress uses it: the Knative runtime
// (an event without weft's wefttopic), the dev server (POST /v1/events).
//
// A Trigger matches an event by type (and source, when given) and names
// its action. Values are expressions over the event: "$.order.id" is a
// JSONPath into the event's data (its first match), "@subject" an
// attribute or extension of the event, anything else a literal; a string
// may embed expressions in braces ("order-{$.id}"). The input of a
// dispatch or a method is the data (the default, "$"), a JSONPath into
// it, or an object whose values are expressions, each key a field of the
// method's input.
//
// Handling an event twice (a Broker delivers at least once) does nothing
// twice: the ids of what an event starts or sends (the workflow id when
// the mapping gives none, the signal id, the method run id) and of the
// commands' envelopes derive from the event's source and id.
package triggers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/theory/jsonpath"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/config"
)

// Actions.
const (
	Dispatch = "dispatch"
	Signal   = "signal"
	Method   = "method"
	Cancel   = "cancel"
)

// Event is what a mapping reads of a CloudEvent; the CloudEvents SDK's
// event.Event is one (the package does not need the SDK itself).
type Event interface {
	ID() string
	Source() string
	Type() string
	Subject() string
	Time() time.Time
	Extensions() map[string]any
	Data() []byte
	DataMediaType() string
}

// Trigger maps one CloudEvent type to a command (see config.Trigger).
type Trigger = config.Trigger

// InputChecker tells whether an input fits a workflow method's input type
// (a *weft.Registry's CheckWorkflowInput); it says whether it knows the
// workflow at all, so a mapping for a workflow whose code is elsewhere is
// not refused.
type InputChecker interface {
	HasWorkflow(workflow string) bool
	CheckWorkflowInput(workflow, method string, input json.RawMessage) error
}

// Mapper applies a set of triggers. It is safe for concurrent use.
type Mapper struct {
	triggers []compiled
	check    InputChecker
	source   string
}

type compiled struct {
	Trigger
	index                 int
	id, customID, tag     *expr
	tags                  []*expr
	input                 *expr            // whole input: "$" or a JSONPath
	fields                map[string]*expr // or an object of expressions
	channel, signalType   string
	workflow, method, typ string
}

// Compile checks the triggers and returns their mapper; every error names
// the trigger (by index and type) and what is wrong. With check, the
// workflows it knows must have the method, and an input object may name
// only fields of the method's input type. source is the CloudEvents source
// of the commands sent (default "weft/triggers").
func Compile(triggers []Trigger, check InputChecker, source string) (*Mapper, error) {
	if source == "" {
		source = "weft/triggers"
	}
	m := &Mapper{check: check, source: source}
	var errs []error
	seen := map[[2]string]int{}
	for i, t := range triggers {
		c, err := compile(i, t, check)
		if err != nil {
			errs = append(errs, fmt.Errorf("triggers[%d] (type %q): %w", i, t.Type, err))
			continue
		}
		k := [2]string{t.Type, t.Source}
		if j, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("triggers[%d] (type %q): maps the same type and source as triggers[%d]", i, t.Type, j))
			continue
		}
		seen[k] = i
		m.triggers = append(m.triggers, c)
	}
	return m, errors.Join(errs...)
}

func compile(i int, t Trigger, check InputChecker) (compiled, error) {
	c := compiled{Trigger: t, index: i, workflow: t.Workflow, method: t.Method, typ: t.Type, channel: t.Channel, signalType: t.SignalType}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(t.Type) == "" {
		bad("type is required")
	}
	if t.Workflow == "" {
		bad("workflow is required")
	}
	switch t.Action {
	case Dispatch:
		if t.Method == "" {
			bad("a dispatch needs the method to run")
		}
		if t.Tag != "" {
			bad("tag is for a signal, a method or a cancel; a dispatch takes tags")
		}
	case Signal, Method, Cancel:
		targets := 0
		for _, v := range []string{t.ID, t.CustomID, t.Tag} {
			if v != "" {
				targets++
			}
		}
		if targets != 1 {
			bad("a %s needs exactly one of id, customId and tag to say which instance(s), got %d", t.Action, targets)
		}
		if len(t.Tags) > 0 {
			bad("tags are for a dispatch")
		}
		if t.Action == Signal && t.Channel == "" {
			bad("a signal needs its channel")
		}
		if t.Action == Method && t.Method == "" {
			bad("a method action needs the method to run")
		}
		if t.Action == Cancel && t.Input != nil {
			bad("a cancel takes no input")
		}
	default:
		bad("action %q is not dispatch, signal, method or cancel", t.Action)
	}
	if t.Action != Signal && (t.Channel != "" || t.SignalType != "") {
		bad("channel and signalType are for a signal")
	}
	parse := func(name, s string) *expr {
		if s == "" {
			return nil
		}
		e, err := parseExpr(s)
		if err != nil {
			bad("%s %q: %v", name, s, err)
		}
		return e
	}
	c.id, c.customID, c.tag = parse("id", t.ID), parse("customId", t.CustomID), parse("tag", t.Tag)
	for _, tag := range t.Tags {
		c.tags = append(c.tags, parse("tags", tag))
	}
	switch in := t.Input.(type) {
	case nil:
		c.input = &expr{parts: []part{{path: whole}}}
	case string:
		if !strings.HasPrefix(in, "$") {
			bad("input %q: a JSONPath into the data (\"$\" for all of it) or an object of expressions", in)
		} else {
			c.input = parse("input", in)
		}
	case map[string]any:
		c.fields = map[string]*expr{}
		for k, v := range in {
			s, ok := v.(string)
			if !ok {
				bad("input.%s is %T, want an expression (a string)", k, v)
				continue
			}
			c.fields[k] = parse("input."+k, s)
		}
	default:
		bad("input is %T, want a JSONPath or an object of expressions", t.Input)
	}
	if len(errs) == 0 && check != nil && t.Workflow != "" && check.HasWorkflow(t.Workflow) {
		switch t.Action {
		case Dispatch, Method:
			// An object of nulls has the input's fields and no others:
			// a key that is no field of the input type is refused here.
			probe := json.RawMessage("null")
			if c.fields != nil {
				keys := map[string]any{}
				for k := range c.fields {
					keys[k] = nil
				}
				probe, _ = json.Marshal(keys)
			}
			if err := check.CheckWorkflowInput(t.Workflow, t.Method, probe); err != nil {
				var ce *core.Error
				if !errors.As(err, &ce) || ce.Code != core.CodeBadInput || c.fields != nil {
					bad("does not fit %s.%s: %v", t.Workflow, t.Method, err)
				}
			}
		}
	}
	return c, errors.Join(errs...)
}

// Matches reports whether a trigger maps events of that type and source.
func (m *Mapper) Matches(typ, source string) bool { return m.find(typ, source) != nil }

// Len is the number of triggers.
func (m *Mapper) Len() int { return len(m.triggers) }

func (m *Mapper) find(typ, source string) *compiled {
	var any *compiled
	for i := range m.triggers {
		c := &m.triggers[i]
		if c.typ != typ {
			continue
		}
		if c.Source == source {
			return c
		}
		if c.Source == "" {
			any = c
		}
	}
	return any
}

// ErrNoTrigger is wrapped by Map's error for an event no trigger maps.
var ErrNoTrigger = errors.New("no trigger maps this CloudEvent type")

// Topic names the events of a type an ingress received, for their
// dead-letter entries: triggers:<type>.
func Topic(eventType string) string { return core.Topic("triggers", eventType) }

// DeadLetterTopic is where an ingress writes the events of a type it
// cannot map, or whose command cannot be built, with the reason.
func DeadLetterTopic(eventType string) string { return core.DeadLetterTopic(Topic(eventType)) }

// Map returns the envelopes of the command the event's trigger says, ready
// to publish. The error, when the event cannot be mapped (no trigger, a
// value missing from its data, an input that does not fit), is a
// *MapError: permanent, naming what is wrong.
func (m *Mapper) Map(e Event, now time.Time) ([]core.Envelope, error) {
	c := m.find(e.Type(), e.Source())
	if c == nil {
		return nil, &MapError{Reason: fmt.Sprintf("CloudEvent %s of type %q from %q: %v", e.ID(), e.Type(), e.Source(), ErrNoTrigger), Err: ErrNoTrigger}
	}
	fail := func(format string, args ...any) ([]core.Envelope, error) {
		return nil, &MapError{Reason: fmt.Sprintf("CloudEvent %s of type %q (triggers[%d], %s %s): ", e.ID(), e.Type(), c.index, c.Action, c.workflow) + fmt.Sprintf(format, args...)}
	}
	var data any
	if raw := e.Data(); len(raw) > 0 {
		if ct := e.DataMediaType(); ct != "" && ct != "application/json" && !strings.HasSuffix(ct, "+json") {
			if c.needsData() {
				return fail("data of type %q is not JSON", ct)
			}
		} else {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber() // ids of 20 digits stay as they are
			if err := dec.Decode(&data); err != nil {
				return fail("data is not JSON: %v", err)
			}
		}
	}
	ev := &evalCtx{e: e, data: data}
	str := func(name string, x *expr) (string, error) {
		if x == nil {
			return "", nil
		}
		s, err := x.text(ev)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		if s == "" {
			return "", fmt.Errorf("%s is empty", name)
		}
		return s, nil
	}
	id, err := str("id", c.id)
	if err != nil {
		return fail("%v", err)
	}
	custom, err := str("customId", c.customID)
	if err != nil {
		return fail("%v", err)
	}
	tag, err := str("tag", c.tag)
	if err != nil {
		return fail("%v", err)
	}
	var input json.RawMessage
	if c.Action != Cancel {
		if input, err = c.buildInput(ev); err != nil {
			return fail("input: %v", err)
		}
	}
	derived := func(label string) string { return derive(e, c.index, label) }
	var outs []core.Out
	switch c.Action {
	case Dispatch:
		if m.check != nil && m.check.HasWorkflow(c.workflow) {
			if err := m.check.CheckWorkflowInput(c.workflow, c.method, input); err != nil {
				return fail("%v", err)
			}
		}
		if id == "" {
			id = derived("workflow")
		}
		var tags []string
		if custom != "" {
			tags = append(tags, core.CustomIDPrefix+custom)
		}
		for i, x := range c.tags {
			t, err := str(fmt.Sprintf("tags[%d]", i), x)
			if err != nil {
				return fail("%v", err)
			}
			if strings.HasPrefix(t, core.CustomIDPrefix) {
				return fail("tags[%d] %q: give a customId with customId", i, t)
			}
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		d := &core.DispatchWorkflow{WorkflowID: id, Workflow: c.workflow, Method: c.method, Input: input, Tags: tags,
			Meta: map[string]string{"cloudevent.source": e.Source(), "cloudevent.id": e.ID(), "cloudevent.type": e.Type()}}
		if outs, err = core.DispatchOuts(d); err != nil {
			return fail("%v", err)
		}
	case Signal, Method, Cancel:
		var cmd core.Message
		switch c.Action {
		case Signal:
			cmd = &core.SendSignal{WorkflowID: id, Workflow: c.workflow, Channel: c.channel, SignalID: derived("signal"), SignalType: c.signalType, Data: input}
		case Method:
			if m.check != nil && m.check.HasWorkflow(c.workflow) {
				if err := m.check.CheckWorkflowInput(c.workflow, c.method, input); err != nil {
					return fail("%v", err)
				}
			}
			cmd = &core.DispatchMethod{WorkflowID: id, Workflow: c.workflow, MethodRunID: derived("method"), Method: c.method, Input: input}
		case Cancel:
			cmd = &core.CancelWorkflow{WorkflowID: id, Workflow: c.workflow, Reason: core.ReasonCanceledByClient}
		}
		if id != "" {
			outs = []core.Out{{Topic: core.Topic(core.PrefixWorkflowCmd, c.workflow), Key: id, Subject: id, Msg: cmd}}
			break
		}
		if custom != "" {
			tag = core.CustomIDPrefix + custom
		}
		bt, err := core.NewWorkflowByTag(c.workflow, tag, cmd, "")
		if err != nil {
			return fail("%v", err)
		}
		outs = []core.Out{core.TagOut(bt)}
	}
	envs := make([]core.Envelope, 0, len(outs))
	at := e.Time()
	if at.IsZero() {
		at = now
	}
	for _, o := range outs {
		env, err := core.BuildEnvelope(o, derived("envelope"), at, m.source, now)
		if err != nil {
			return fail("%v", err)
		}
		envs = append(envs, env)
	}
	return envs, nil
}

// needsData reports whether the trigger reads the event's data.
func (c *compiled) needsData() bool {
	return c.Action != Cancel || c.id.readsData() || c.customID.readsData() || c.tag.readsData()
}

// buildInput evaluates the input.
func (c *compiled) buildInput(ev *evalCtx) (json.RawMessage, error) {
	if c.fields != nil {
		obj := make(map[string]any, len(c.fields))
		for k, x := range c.fields {
			v, err := x.value(ev)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			obj[k] = v
		}
		return json.Marshal(obj)
	}
	v, err := c.input.value(ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// derive is an id that depends on the event (source and id) and the
// trigger only, so a duplicate of the event yields the same.
func derive(e Event, trigger int, label string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s", e.Source(), e.ID(), trigger, label)
	return "ce-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// MapError is an event that cannot be mapped: permanent.
type MapError struct {
	Reason string
	Err    error
}

func (e *MapError) Error() string { return e.Reason }
func (e *MapError) Unwrap() error { return e.Err }

// whole is the JSONPath of all of the data.
var whole = jsonpath.MustParse("$")
