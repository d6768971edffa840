package samtest

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// A template is read into plain values: map[string]any, []any, string
// (every scalar, numbers and booleans included, as CloudFormation compares
// them as text) and nil. The short forms of the intrinsic functions become
// their long forms: !Ref x is {Ref: x}, !GetAtt a.b is {Fn::GetAtt: [a, b]},
// !Condition c is {Condition: c}, any other !X is {Fn::X: ...}.

func readTemplate(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	v, err := plain(&doc)
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("template.yaml is not a mapping")
	}
	return m
}

func plain(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		return plain(n.Content[0])
	case yaml.AliasNode:
		return plain(n.Alias)
	}
	var v any
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			v = nil
		} else {
			v = n.Value
		}
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			e, err := plain(c)
			if err != nil {
				return nil, err
			}
			l = append(l, e)
		}
		v = l
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("line %d: key %s twice", n.Content[i].Line, k)
			}
			e, err := plain(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = e
		}
		v = m
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	switch fn := n.Tag[1:]; fn {
	case "Ref", "Condition":
		return map[string]any{fn: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + fn: v}, nil
	}
}

var forEachKey = regexp.MustCompile(`^Fn::ForEach::[A-Za-z0-9]+$`)

// expand replaces every Fn::ForEach loop in v (a template, or a part of
// one) by its copies, as the AWS::LanguageExtensions transform does: the
// identifier is replaced in keys (${id}, and &{id} with the value's
// non-alphanumerics dropped), in Fn::Sub strings, and in {Ref: id}, but
// in no other string, so a loop that names a resource without Fn::Sub
// refers to one that does not exist. lists gives the values of the
// CommaDelimitedList parameters a collection may name.
func expand(t *testing.T, v any, lists map[string][]string) any {
	t.Helper()
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = expand(t, e, lists)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			if !forEachKey.MatchString(k) {
				put(t, out, k, expand(t, e, lists))
				continue
			}
			loop, ok := e.([]any)
			if !ok || len(loop) != 3 {
				t.Fatalf("%s: want [identifier, collection, fragment]", k)
			}
			id, _ := loop[0].(string)
			for _, value := range collection(t, k, loop[1], lists) {
				copies, ok := expand(t, substitute(loop[2], id, value), lists).(map[string]any)
				if !ok {
					t.Fatalf("%s: its fragment is not a mapping", k)
				}
				for ck, ce := range copies {
					put(t, out, ck, ce)
				}
			}
		}
		return out
	}
	return v
}

func put(t *testing.T, m map[string]any, k string, v any) {
	t.Helper()
	if _, dup := m[k]; dup {
		t.Fatalf("%s is made twice", k)
	}
	m[k] = v
}

func collection(t *testing.T, loop string, c any, lists map[string][]string) []string {
	t.Helper()
	switch c := c.(type) {
	case []any:
		out := make([]string, len(c))
		for i, e := range c {
			out[i] = fmt.Sprint(e)
		}
		return out
	case map[string]any:
		if name, ok := c["Ref"].(string); ok && len(c) == 1 {
			if l, ok := lists[name]; ok {
				return l
			}
		}
	}
	t.Fatalf("%s: its collection %v is neither a list nor a CommaDelimitedList parameter", loop, c)
	return nil
}

func substitute(v any, id, value string) any {
	replace := func(s string) string {
		s = strings.ReplaceAll(s, "${"+id+"}", value)
		return strings.ReplaceAll(s, "&{"+id+"}", alnum.ReplaceAllString(value, ""))
	}
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = substitute(e, id, value)
		}
		return out
	case map[string]any:
		if ref, ok := v["Ref"].(string); ok && len(v) == 1 && ref == id {
			return value
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			switch s := e.(type) {
			case string:
				if k == "Fn::Sub" {
					e = replace(s)
				}
			case []any:
				if k == "Fn::Sub" && len(s) > 0 {
					if str, ok := s[0].(string); ok {
						e = append([]any{replace(str)}, substitute(s[1:], id, value).([]any)...)
						break
					}
				}
				e = substitute(e, id, value)
			default:
				e = substitute(e, id, value)
			}
			out[replace(k)] = e
		}
		return out
	}
	return v
}

var alnum = regexp.MustCompile(`[^A-Za-z0-9]+`)

// TestExpand: the loops expand as the transform does, names outside
// Fn::Sub stay as they are.
func TestExpand(t *testing.T) {
	tmpl := map[string]any{"Fn::ForEach::Q": []any{"W", map[string]any{"Ref": "Names"}, map[string]any{
		"Queue&{W}": map[string]any{"Name": map[string]any{"Fn::Sub": "p-${W}"}, "Plain": "x${W}", "Ref": map[string]any{"Ref": "W"}},
	}}}
	got := expand(t, tmpl, map[string][]string{"Names": {"a-1", "B"}}).(map[string]any)
	want := map[string]any{
		"Queuea1": map[string]any{"Name": map[string]any{"Fn::Sub": "p-a-1"}, "Plain": "x${W}", "Ref": "a-1"},
		"QueueB":  map[string]any{"Name": map[string]any{"Fn::Sub": "p-B"}, "Plain": "x${W}", "Ref": "B"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("expand = %v, want %v", got, want)
	}
}
