package config

import (
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Trigger maps one CloudEvent type of a user's to a command (see
// internal/triggers, which compiles and applies them).
type Trigger struct {
	// Type is the CloudEvent type matched (required); Source, when set,
	// must equal the event's source too.
	Type   string `yaml:"type" json:"type"`
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// Action is dispatch, signal, method or cancel.
	Action string `yaml:"action" json:"action"`
	// Workflow names the workflow (required); Method, the method a
	// dispatch or a method action runs (required for them).
	Workflow string `yaml:"workflow" json:"workflow"`
	Method   string `yaml:"method,omitempty" json:"method,omitempty"`
	// ID is the workflow id: of the instance a dispatch starts (default:
	// derived from the event), or of the instance a signal, method or
	// cancel is for.
	ID string `yaml:"id,omitempty" json:"id,omitempty"`
	// CustomID is a customId: a dispatch tags the instance with it (a
	// second dispatch with the same value attaches to the running
	// instance); a signal, method or cancel goes to the instance that has
	// it.
	CustomID string `yaml:"customId,omitempty" json:"customId,omitempty"`
	// Tag sends a signal, method or cancel to every instance tagged so.
	Tag string `yaml:"tag,omitempty" json:"tag,omitempty"`
	// Tags are more tags for a dispatched instance.
	Tags []string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Channel is the channel a signal goes to (required for signals);
	// SignalType, its type name for the receptions that filter on it.
	Channel    string `yaml:"channel,omitempty" json:"channel,omitempty"`
	SignalType string `yaml:"signalType,omitempty" json:"signalType,omitempty"`
	// Input is the dispatch's or the method's input, or the signal's
	// data: "$" (the event's data, the default), a JSONPath, or an object
	// of expressions.
	Input any `yaml:"input,omitempty" json:"input,omitempty"`
}

// Triggers is the list of triggers: a YAML list in the file, JSON (or
// YAML) in WEFT_TRIGGERS.
type Triggers []Trigger

// Decode reads the list from an environment variable.
func (t *Triggers) Decode(s string) error {
	var list []Trigger
	if err := yaml.Unmarshal([]byte(s), &list); err != nil {
		return fmt.Errorf("not a JSON or YAML list of triggers: %w", err)
	}
	*t = list
	return nil
}

// String renders the list as JSON, for config validate.
func (t Triggers) String() string {
	if len(t) == 0 {
		return "[]"
	}
	b, err := json.Marshal([]Trigger(t))
	if err != nil {
		return fmt.Sprintf("%d triggers", len(t))
	}
	return string(b)
}
