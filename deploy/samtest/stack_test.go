package samtest

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The account and region a stack is evaluated in.
const (
	account = "123456789012"
	region  = "eu-west-1"
)

// stack is the template as CloudFormation would make it with some
// parameter values: its loops expanded, SAM's Globals merged into the
// functions, the resources and outputs whose condition is false left out.
// Its eval resolves the intrinsic functions.
type stack struct {
	t          *testing.T
	params     map[string]any // string, or []string for a CommaDelimitedList
	parameters map[string]map[string]any
	mappings   map[string]any
	conditions map[string]any
	resources  map[string]map[string]any // Type, Properties, Metadata, ...
	outputs    map[string]map[string]any
	rules      map[string]any
}

// noValue is what AWS::NoValue evaluates to: it takes its key or list
// element away.
type noValue struct{}

// newStack makes the stack for the parameters' defaults, with the values of
// override in their place; a value must pass the parameter's AllowedValues
// and AllowedPattern (each element of a list).
func newStack(t *testing.T, override map[string]string) *stack {
	t.Helper()
	tmpl := readTemplate(t)
	s := &stack{t: t, params: map[string]any{}, parameters: map[string]map[string]any{}}
	for name, p := range asMap(tmpl["Parameters"]) {
		p := asMap(p)
		s.parameters[name] = p
		v, ok := override[name]
		if !ok {
			d, has := p["Default"]
			if !has {
				t.Fatalf("parameter %s has no default", name)
			}
			v = fmt.Sprint(d)
		}
		s.params[name] = v
		if p["Type"] == "CommaDelimitedList" {
			s.params[name] = strings.Split(v, ",")
		}
		s.checkAllowed(name, p)
	}
	for name := range override {
		if _, ok := s.parameters[name]; !ok {
			t.Fatalf("no parameter %s", name)
		}
	}
	lists := map[string][]string{}
	for name, v := range s.params {
		if l, ok := v.([]string); ok {
			lists[name] = l
		}
	}
	x := expand(t, tmpl, lists).(map[string]any)
	s.mappings = asMap(x["Mappings"])
	s.conditions = asMap(x["Conditions"])
	s.rules = asMap(x["Rules"])
	globals := asMap(asMap(x["Globals"])["Function"])
	s.resources = map[string]map[string]any{}
	for id, r := range asMap(x["Resources"]) {
		r := asMap(r)
		if c, ok := r["Condition"].(string); ok && !s.condition(c) {
			continue
		}
		if r["Type"] == "AWS::Serverless::Function" {
			r = maps.Clone(r)
			r["Properties"] = withGlobals(globals, asMap(r["Properties"]))
		}
		s.resources[id] = r
	}
	s.outputs = map[string]map[string]any{}
	for id, o := range asMap(x["Outputs"]) {
		o := asMap(o)
		if c, ok := o["Condition"].(string); ok && !s.condition(c) {
			continue
		}
		s.outputs[id] = o
	}
	return s
}

func (s *stack) checkAllowed(name string, p map[string]any) {
	var values []string
	switch v := s.params[name].(type) {
	case string:
		values = []string{v}
	case []string:
		values = v
	}
	for _, v := range values {
		if allowed, ok := p["AllowedValues"].([]any); ok && !slices.Contains(strs(allowed), v) {
			s.t.Fatalf("parameter %s: %q is not one of %v", name, v, allowed)
		}
		if pat, ok := p["AllowedPattern"].(string); ok && !regexp.MustCompile("^(?:"+pat+")$").MatchString(v) {
			s.t.Fatalf("parameter %s: %q does not match %s", name, v, pat)
		}
	}
}

// withGlobals is SAM's merge of Globals.Function into a function: what the
// function does not set comes from the Globals, and the environment
// variables of both are merged, the function's winning.
func withGlobals(globals, props map[string]any) map[string]any {
	out := maps.Clone(globals)
	maps.Copy(out, props)
	gv := asMap(asMap(globals["Environment"])["Variables"])
	fv := asMap(asMap(props["Environment"])["Variables"])
	vars := maps.Clone(gv)
	maps.Copy(vars, fv)
	out["Environment"] = map[string]any{"Variables": vars}
	return out
}

// eval resolves the intrinsic functions in v.
func (s *stack) eval(v any) any {
	switch v := v.(type) {
	case []any:
		var out []any
		for _, e := range v {
			switch r := s.eval(e).(type) {
			case noValue:
			default:
				out = append(out, r)
			}
		}
		return out
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					return s.fn(k, arg)
				}
			}
		}
		out := map[string]any{}
		for k, e := range v {
			if r := s.eval(e); r != (noValue{}) {
				out[k] = r
			}
		}
		return out
	}
	return v
}

func (s *stack) fn(name string, arg any) any {
	t := s.t
	t.Helper()
	switch name {
	case "Ref":
		return s.ref(s.str(arg))
	case "Fn::GetAtt":
		l := asList(s.eval(arg))
		if len(l) != 2 {
			t.Fatalf("Fn::GetAtt %v: want [resource, attribute]", arg)
		}
		return s.getAtt(fmt.Sprint(l[0]), fmt.Sprint(l[1]))
	case "Fn::Sub":
		return s.sub(arg)
	case "Fn::Join":
		l := asList(arg)
		if len(l) != 2 {
			t.Fatalf("Fn::Join %v: want [delimiter, list]", arg)
		}
		var parts []string
		switch e := s.eval(l[1]).(type) {
		case []string:
			parts = e
		case []any:
			parts = strs(e)
		default:
			t.Fatalf("Fn::Join of %v", e)
		}
		return strings.Join(parts, s.str(l[0]))
	case "Fn::If":
		l := asList(arg)
		if len(l) != 3 {
			t.Fatalf("Fn::If %v: want [condition, then, else]", arg)
		}
		if s.condition(s.str(l[0])) {
			return s.eval(l[1])
		}
		return s.eval(l[2])
	case "Fn::FindInMap":
		l := asList(s.eval(arg))
		if len(l) != 3 {
			t.Fatalf("Fn::FindInMap %v: want [map, key, key]", arg)
		}
		top, ok := asMap(s.mappings[fmt.Sprint(l[0])])[fmt.Sprint(l[1])]
		if !ok {
			t.Fatalf("Fn::FindInMap %v: no such key", l)
		}
		v, ok := asMap(top)[fmt.Sprint(l[2])]
		if !ok {
			t.Fatalf("Fn::FindInMap %v: no such key", l)
		}
		return v
	case "Condition", "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return fmt.Sprint(s.truth(map[string]any{name: arg}))
	}
	t.Fatalf("%s is not known to this test", name)
	return nil
}

func (s *stack) ref(name string) any {
	switch name {
	case "AWS::NoValue":
		return noValue{}
	case "AWS::Partition":
		return "aws"
	case "AWS::Region":
		return region
	case "AWS::AccountId":
		return account
	case "AWS::StackName":
		return "weft"
	}
	if v, ok := s.params[name]; ok {
		return v
	}
	r, ok := s.resources[name]
	if !ok {
		s.t.Errorf("Ref %s: no such parameter or resource", name)
		return "ref:" + name
	}
	if r["Type"] == "AWS::SQS::Queue" {
		return "url:" + s.queueName(name)
	}
	return "ref:" + name
}

func (s *stack) getAtt(id, attr string) string {
	r, ok := s.resources[id]
	if !ok {
		s.t.Errorf("Fn::GetAtt %s.%s: no such resource", id, attr)
		return "getatt:" + id + "." + attr
	}
	if r["Type"] == "AWS::SQS::Queue" && attr == "Arn" {
		return queueArn(s.queueName(id))
	}
	return "getatt:" + id + "." + attr
}

func queueArn(name string) string { return "arn:aws:sqs:" + region + ":" + account + ":" + name }

func (s *stack) queueName(id string) string {
	return s.str(asMap(s.resources[id]["Properties"])["QueueName"])
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (s *stack) sub(arg any) string {
	str, vars := "", map[string]any{}
	switch a := arg.(type) {
	case string:
		str = a
	case []any:
		if len(a) != 2 {
			s.t.Fatalf("Fn::Sub %v: want [string, variables]", a)
		}
		str, vars = s.str(a[0]), asMap(s.eval(a[1]))
	}
	return subVar.ReplaceAllStringFunc(str, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		if v, ok := vars[name]; ok {
			return fmt.Sprint(v)
		}
		if res, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			return s.getAtt(res, attr)
		}
		v := s.ref(name)
		if _, ok := v.(string); !ok {
			s.t.Errorf("Fn::Sub %q: ${%s} is not a string", str, name)
		}
		return fmt.Sprint(v)
	})
}

// str evaluates v and wants a string.
func (s *stack) str(v any) string {
	r, ok := s.eval(v).(string)
	if !ok {
		s.t.Fatalf("%v is not a string", v)
	}
	return r
}

func (s *stack) condition(name string) bool {
	c, ok := s.conditions[name]
	if !ok {
		s.t.Fatalf("no condition %s", name)
	}
	return s.truth(c)
}

// truth evaluates a condition function.
func (s *stack) truth(v any) bool {
	m := asMap(v)
	for k, arg := range m {
		l := asList(arg)
		switch k {
		case "Condition":
			return s.condition(s.str(arg))
		case "Fn::Equals":
			return fmt.Sprint(s.eval(l[0])) == fmt.Sprint(s.eval(l[1]))
		case "Fn::Not":
			return !s.truth(l[0])
		case "Fn::EachMemberEquals": // Rules only
			members, ok := s.eval(l[0]).([]string)
			if !ok {
				s.t.Fatalf("Fn::EachMemberEquals of %v: want a list parameter", l[0])
			}
			for _, m := range members {
				if m != fmt.Sprint(s.eval(l[1])) {
					return false
				}
			}
			return true
		case "Fn::And", "Fn::Or":
			and := k == "Fn::And"
			for _, e := range l {
				if s.truth(e) != and {
					return !and
				}
			}
			return and
		}
	}
	s.t.Fatalf("%v is not a condition", v)
	return false
}

// rulesHold reports whether every assertion of the template's Rules holds.
func (s *stack) rulesHold() bool {
	for _, r := range s.rules {
		for _, a := range asList(asMap(r)["Assertions"]) {
			if !s.truth(asMap(a)["Assert"]) {
				return false
			}
		}
	}
	return true
}

// props returns a resource's evaluated properties.
func (s *stack) props(id string) map[string]any {
	return asMap(s.eval(s.resources[id]["Properties"]))
}

// ofType lists the resources of a type, sorted.
func (s *stack) ofType(typ string) []string {
	var ids []string
	for id, r := range s.resources {
		if r["Type"] == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func strs(l []any) []string {
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = fmt.Sprint(e)
	}
	return out
}

// strList is a list's elements as text, whether it came from the template
// or from a list parameter.
func strList(v any) []string {
	if l, ok := v.([]string); ok {
		return l
	}
	return strs(asList(v))
}
