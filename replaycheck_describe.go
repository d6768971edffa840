package weft

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/weftio/weft/core"
)

// commandLabel names a command the way a reader of the workflow code
// would: its kind and target, without arguments.
func commandLabel(c *core.Command) string {
	switch c.Kind {
	case core.KindTask:
		return "task " + c.Name
	case core.KindChild:
		return "child workflow " + c.Name
	case core.KindMethod:
		return fmt.Sprintf("method %s on instance %s", c.Name, c.TargetID)
	case core.KindTimer:
		if !c.Until.IsZero() {
			return "timer until " + c.Until.UTC().Format(time.RFC3339Nano)
		}
		return "timer " + c.Duration.String()
	case core.KindReceive:
		return "receive on channel " + c.Channel
	case core.KindSend:
		return fmt.Sprintf("send on channel %s to %s instance %s", c.Channel, c.Workflow, c.TargetID)
	case core.KindInline:
		return "inline side effect"
	case core.KindByTag:
		return fmt.Sprintf("%s to %s instances tagged %s", c.Method, c.Workflow, c.Tag)
	}
	return fmt.Sprintf("%s %s", c.Kind, c.Name)
}

// describeCommand is commandLabel with the arguments a strict check
// compares: the input (and its hash) and the options.
func describeCommand(c *core.Command) string {
	s := commandLabel(c)
	if c.Kind == core.KindReceive {
		if c.SignalType != "" {
			s += " of type " + c.SignalType
		}
		if c.Limit != 0 {
			s += fmt.Sprintf(" limit %d", c.Limit)
		}
		if f := c.Filter; f != nil {
			if len(f.Value) > 0 {
				s += fmt.Sprintf(" where %s = %s", f.Path, clip(string(f.Value)))
			}
			if f.Expr != "" {
				s += " where " + f.Expr
			}
		}
	}
	if c.Kind == core.KindSend && c.SignalType != "" {
		s += " of type " + c.SignalType
	}
	if c.Kind != core.KindInline && c.Kind != core.KindTimer && c.Kind != core.KindReceive {
		s += " input " + describeInput(c.Input)
	}
	return s
}

// describeInput shows a JSON value (clipped) and the hash of its canonical
// form, which tells two long inputs apart.
func describeInput(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "(none)"
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		b.Reset()
		b.Write(raw)
	}
	return fmt.Sprintf("%s (sha256 %s)", clip(b.String()), inputHash(raw))
}

// inputHash hashes the canonical JSON (object keys sorted), so that inputs
// a strict check finds equal hash the same.
func inputHash(raw json.RawMessage) string {
	b := []byte(raw)
	var v any
	if json.Unmarshal(raw, &v) == nil {
		if c, err := json.Marshal(v); err == nil {
			b = c
		}
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:4])
}

func clip(s string) string {
	const most = 80
	if len(s) <= most {
		return s
	}
	return s[:most] + "…"
}

// diffCommands lists the arguments a strict check compares that differ
// between the recorded command and the new one.
func diffCommands(rec, now *core.Command) string {
	var d []string
	field := func(name, a, b string) {
		if a != b {
			d = append(d, fmt.Sprintf("%s %s → %s", name, orDash(a), orDash(b)))
		}
	}
	field("service", rec.Service, now.Service)
	field("workflow", rec.Workflow, now.Workflow)
	field("method", rec.Method, now.Method)
	field("target instance", rec.TargetID, now.TargetID)
	if inputHash(rec.Input) != inputHash(now.Input) {
		d = append(d, fmt.Sprintf("input %s → %s", describeInput(rec.Input), describeInput(now.Input)))
	}
	if rec.Duration != now.Duration {
		d = append(d, fmt.Sprintf("duration %s → %s", rec.Duration, now.Duration))
	}
	if !rec.Until.Equal(now.Until) {
		d = append(d, fmt.Sprintf("until %s → %s", rec.Until.UTC().Format(time.RFC3339Nano), now.Until.UTC().Format(time.RFC3339Nano)))
	}
	field("channel", rec.Channel, now.Channel)
	field("signal type", rec.SignalType, now.SignalType)
	if rec.Limit != now.Limit {
		d = append(d, fmt.Sprintf("limit %d → %d", rec.Limit, now.Limit))
	}
	field("tag", rec.Tag, now.Tag)
	if len(d) == 0 {
		return "arguments differ"
	}
	return strings.Join(d, ", ")
}
