package config_test

import (
	"slices"
	"strings"
	"testing"

	. "github.com/weftio/weft/internal/config"
)

func TestRolesAndRuntime(t *testing.T) {
	for in, want := range map[string][]Role{
		"":                             AllRoles,
		"all":                          AllRoles,
		"executor":                     {RoleExecutor},
		" tag-engine, state-engine ,,": {RoleStateEngine, RoleTagEngine},
		"executor,executor":            {RoleExecutor},
		"event-listener,state-engine":  {RoleStateEngine, RoleEventListener},
	} {
		got, err := ParseRoles(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseRoles(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	_, err := Load(Source{Lookup: env(map[string]string{"WEFT_ROLES": "executor,scheduler", "WEFT_RUNTIME": "lambada",
		"WEFT_WORKFLOWS": "Trip, Fan Out"})})
	for _, want := range []string{`WEFT_ROLES (roles): "scheduler" is not a role`, `WEFT_RUNTIME (runtime): "lambada" is not one of worker, pulsar-functions`,
		`WEFT_WORKFLOWS (workflows): name "Fan Out" holds white space`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to say %s", err, want)
		}
	}
	if _, err := ParseRoles(","); err == nil {
		t.Error("a list naming no role accepted")
	}
}

// A driver not linked into the binary: naming it, its settings in the
// environment or its YAML section, each says which package to import.
func TestDriverNotBuiltIn(t *testing.T) {
	defer WithoutDriver("redis")()
	_, err := Load(Source{Lookup: env(map[string]string{"WEFT_STORAGE": "redis"})})
	if err == nil || !strings.Contains(err.Error(), `WEFT_STORAGE (storage): the redis storage driver is not built into this binary: import _ "github.com/weftio/weft/storage/redis"`) {
		t.Errorf("err = %v", err)
	}
	_, err = Load(Source{Lookup: env(map[string]string{"WEFT_STORAGE": "cassandra"})})
	if err == nil || !strings.Contains(err.Error(), `"cassandra" is not one of memory, mysql, postgres (not built into this binary: redis)`) {
		t.Errorf("err = %v", err)
	}
	errs := UnknownErrors([]string{"WEFT_REDIS_HOST=h", "WEFT_POSTGRES_HOST=h", "WEFT_STROAGE=x", "WEFT_TEST_X=1", "PATH=/bin"})
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "WEFT_REDIS_HOST") || !strings.Contains(errs[0].Error(), "storage/redis") ||
		!strings.Contains(errs[1].Error(), "WEFT_STROAGE") || !strings.Contains(errs[1].Error(), "not a weft setting") {
		t.Errorf("UnknownErrors = %v", errs)
	}
	_, err = Load(Source{File: "/c.yaml", ReadFile: files(map[string]string{"/c.yaml": "storage: memory\nredis:\n  host: h\n"}), Lookup: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "section redis: the redis storage driver is not built into this binary") {
		t.Errorf("YAML section of a driver not built in: %v", err)
	}
	if u := Usage(); strings.Contains(u, "WEFT_REDIS_") || !strings.Contains(u, "WEFT_POSTGRES_HOST") {
		t.Errorf("Usage lists the settings of a driver not built in, or not those of one that is")
	}
}
