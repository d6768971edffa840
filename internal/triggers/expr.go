package triggers

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/theory/jsonpath"
)

// expr is a value over an event: literal text and references to the
// data (JSONPath) or to attributes, concatenated.
type expr struct {
	parts []part
}

// part is one piece: a literal (path and attr empty), a JSONPath or an
// attribute name.
type part struct {
	lit  string
	path *jsonpath.Path
	src  string // the JSONPath as written
	attr string
}

// evalCtx is the event an expression reads.
type evalCtx struct {
	e    Event
	data any
}

// parseExpr reads "$..." (a JSONPath, whole), "@name" (an attribute), or
// text with {…} references.
func parseExpr(s string) (*expr, error) {
	if strings.HasPrefix(s, "$") || strings.HasPrefix(s, "@") {
		p, err := parseRef(s)
		if err != nil {
			return nil, err
		}
		return &expr{parts: []part{p}}, nil
	}
	var x expr
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			x.parts = append(x.parts, part{lit: rest})
			break
		}
		if i > 0 {
			x.parts = append(x.parts, part{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, errors.New("a { without its }")
		}
		p, err := parseRef(rest[i+1 : i+j])
		if err != nil {
			return nil, err
		}
		x.parts = append(x.parts, p)
		rest = rest[i+j+1:]
	}
	return &x, nil
}

func parseRef(s string) (part, error) {
	switch {
	case strings.HasPrefix(s, "$"):
		p, err := jsonpath.Parse(s)
		if err != nil {
			return part{}, fmt.Errorf("JSONPath: %v", err)
		}
		return part{path: p, src: s}, nil
	case strings.HasPrefix(s, "@") && len(s) > 1:
		return part{attr: s[1:]}, nil
	}
	return part{}, fmt.Errorf("{%s}: a reference is a JSONPath ($...) or an attribute (@name)", s)
}

// readsData reports whether the expression reads the event's data.
func (x *expr) readsData() bool {
	if x == nil {
		return false
	}
	for _, p := range x.parts {
		if p.path != nil {
			return true
		}
	}
	return false
}

// value is the expression's JSON value: a single reference keeps its
// type (a number, an object); anything else is text.
func (x *expr) value(ev *evalCtx) (any, error) {
	if len(x.parts) == 1 && x.parts[0].path != nil {
		return x.parts[0].selectOne(ev)
	}
	return x.text(ev)
}

// text is the expression as a string; numbers and booleans are written as
// JSON writes them.
func (x *expr) text(ev *evalCtx) (string, error) {
	var b strings.Builder
	for _, p := range x.parts {
		switch {
		case p.path != nil:
			v, err := p.selectOne(ev)
			if err != nil {
				return "", err
			}
			switch v := v.(type) {
			case string:
				b.WriteString(v)
			case json.Number:
				b.WriteString(v.String())
			case float64:
				b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
			case bool:
				b.WriteString(strconv.FormatBool(v))
			default:
				return "", fmt.Errorf("%s is %T in the data, want a string or a number", p.src, v)
			}
		case p.attr != "":
			v, err := attribute(ev.e, p.attr)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		default:
			b.WriteString(p.lit)
		}
	}
	return b.String(), nil
}

// selectOne returns the first node the path selects in the data.
func (p part) selectOne(ev *evalCtx) (any, error) {
	if p.path == whole {
		return ev.data, nil
	}
	nodes := p.path.Select(ev.data)
	if len(nodes) == 0 {
		return nil, fmt.Errorf("%s selects nothing in the data", p.src)
	}
	return nodes[0], nil
}

// attribute reads a context attribute or an extension.
func attribute(e Event, name string) (string, error) {
	switch name {
	case "id":
		return e.ID(), nil
	case "source":
		return e.Source(), nil
	case "type":
		return e.Type(), nil
	case "subject":
		if e.Subject() == "" {
			return "", errors.New("the event has no subject")
		}
		return e.Subject(), nil
	case "time":
		if e.Time().IsZero() {
			return "", errors.New("the event has no time")
		}
		return e.Time().UTC().Format("2006-01-02T15:04:05.999999999Z07:00"), nil
	}
	v, ok := e.Extensions()[name]
	if !ok {
		return "", fmt.Errorf("the event has no attribute %s", name)
	}
	return fmt.Sprint(v), nil
}
