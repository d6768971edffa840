package config

import (
	"fmt"
	"slices"
	"strings"
)

// Role is one of weft's four roles.
type Role string

// The roles, as WEFT_ROLES names them.
const (
	RoleExecutor      Role = "executor"
	RoleStateEngine   Role = "state-engine"
	RoleTagEngine     Role = "tag-engine"
	RoleEventListener Role = "event-listener"
)

// AllRoles lists the roles in the order a process starts them.
var AllRoles = []Role{RoleStateEngine, RoleTagEngine, RoleExecutor, RoleEventListener}

// The runtimes, as WEFT_RUNTIME names them.
const (
	RuntimeWorker          = "worker"
	RuntimePulsarFunctions = "pulsar-functions"
	RuntimeKnative         = "knative"
	RuntimeLambda          = "lambda"
)

// ParseRoles reads WEFT_ROLES: "all" (or empty) for every role, else a
// comma-separated list. The result is in AllRoles order, without repeats.
func ParseRoles(s string) ([]Role, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return slices.Clone(AllRoles), nil
	}
	want := map[Role]bool{}
	for _, r := range List(s) {
		if !slices.Contains(AllRoles, Role(r)) {
			return nil, fmt.Errorf("%q is not a role (all, or a list of executor, state-engine, tag-engine, event-listener)", r)
		}
		want[Role(r)] = true
	}
	var out []Role
	for _, r := range AllRoles {
		if want[r] {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q names no role", s)
	}
	return out, nil
}

// List splits a comma-separated setting, dropping empty items.
func List(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
