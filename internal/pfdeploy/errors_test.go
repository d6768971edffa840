package pfdeploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftio/weft/internal/config"
)

func TestParseParallelism(t *testing.T) {
	t.Parallel()
	three := []config.Role{config.RoleStateEngine, config.RoleTagEngine, config.RoleExecutor}
	for _, c := range []struct {
		in   string
		want map[config.Role]int // nil: an error containing err
		err  string
	}{
		{"", map[config.Role]int{config.RoleStateEngine: 1, config.RoleTagEngine: 1, config.RoleExecutor: 1}, ""},
		{"2", map[config.Role]int{config.RoleStateEngine: 2, config.RoleTagEngine: 2, config.RoleExecutor: 2}, ""},
		{"state-engine=2,executor=3", map[config.Role]int{config.RoleStateEngine: 2, config.RoleTagEngine: 1, config.RoleExecutor: 3}, ""},
		{"4, executor = 3", map[config.Role]int{config.RoleStateEngine: 4, config.RoleTagEngine: 4, config.RoleExecutor: 3}, ""},
		{"0", nil, `"0" is not a count`},
		{"executor=-1", nil, `"-1" is not a count`},
		{"executor=two", nil, `"two" is not a count`},
		{"2,3", nil, "two counts for every role"},
		{"janitor=2", nil, `"janitor" is not a role`},
		{"event-listener=2", nil, "names event-listener, which this deploy leaves out"},
		{"executor=2,executor=3", nil, "executor is given twice"},
		{"executor=2,", nil, "empty item"},
	} {
		got, err := parseParallelism(c.in, three)
		if c.want == nil {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "-parallelism") {
				t.Errorf("parseParallelism(%q) = %v, %v; want an error naming -parallelism with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Errorf("parseParallelism(%q) = %v, %v; want %v", c.in, got, err, c.want)
			continue
		}
		for r, n := range c.want {
			if got[r] != n {
				t.Errorf("parseParallelism(%q)[%s] = %d, want %d", c.in, r, got[r], n)
			}
		}
	}
}

// TestDeployErrors: every refusal comes before the broker is asked
// anything, and names what was wrong.
func TestDeployErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	without := func(key string) []string {
		var out []string
		for _, kv := range baseEnv() {
			if !strings.HasPrefix(kv, key+"=") {
				out = append(out, kv)
			}
		}
		return out
	}
	for _, c := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"no admin URL", nil, without("WEFT_PULSAR_ADMIN_URL"), "WEFT_PULSAR_ADMIN_URL is required"},
		{"no broker URL", nil, without("WEFT_PULSAR_URL"), "WEFT_PULSAR_URL"},
		{"another transport", nil, baseEnv("WEFT_TRANSPORT=pgqueue"), `WEFT_TRANSPORT is "pgqueue"`},
		{"configuration file", nil, baseEnv("WEFT_CONFIG_FILE=weft.yaml"), "WEFT_CONFIG_FILE is set"},
		{"memory storage", nil, without("WEFT_STORAGE"), "WEFT_STORAGE is memory"},
		{"typo", nil, baseEnv("WEFT_STORAGE_TYPO=1"), "WEFT_STORAGE_TYPO"},
		{"bad setting", nil, baseEnv("WEFT_LOG_LEVEL=loud"), "WEFT_LOG_LEVEL"},
		{"listener without sink", nil, baseEnv("WEFT_ROLES=event-listener"), "event-listener: no sink"},
		{"dir and binary", []string{"-dir", dir, "-binary", script}, baseEnv(), "-dir and -binary both given"},
		{"argument", []string{"now"}, baseEnv(), `unexpected argument "now"`},
		{"negative wait", []string{"-wait", "-1s"}, baseEnv(), "-wait -1s"},
		{"missing role binary", []string{"-dir", dir}, baseEnv(), "binary of the state-engine role: " + filepath.Join(dir, "state-engine") + " does not exist (make functions"},
		{"folder", []string{"-binary", dir}, baseEnv(), "is a folder"},
		{"not executable", []string{"-binary", plain}, baseEnv(), plain + " is not executable"},
		{"not a program", []string{"-binary", script}, baseEnv(), script + " is not a Linux program (ELF)"},
		{"bad tenant", []string{"-tenant", "a/b"}, baseEnv(), `-tenant "a/b"`},
		{"bad prefix", []string{"-prefix", "x y"}, baseEnv(), `-prefix "x y"`},
		{"bad parallelism", []string{"-parallelism", "many"}, baseEnv(), `-parallelism "many"`},
	} {
		_, _, err := planOf(t, greeterReq(c.args...), c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestMissingSecretFileIsPassedOn(t *testing.T) {
	t.Parallel()
	// A CA file is a setting of its own whose name ends in _FILE: it must
	// exist where deploy runs, since deploy uses it.
	_, _, err := planOf(t, greeterReq(), baseEnv("WEFT_PULSAR_TLS_TRUST_CERTS_FILE=/nowhere/ca.pem"))
	if err == nil || !strings.Contains(err.Error(), "WEFT_PULSAR_TLS_TRUST_CERTS_FILE") {
		t.Errorf("missing CA file: %v, want an error naming WEFT_PULSAR_TLS_TRUST_CERTS_FILE", err)
	}
	if !secretFile("WEFT_PULSAR_TOKEN_FILE") || secretFile("WEFT_PULSAR_TLS_TRUST_CERTS_FILE") || secretFile("WEFT_NOTHING_FILE") {
		t.Error("secretFile tells the *_FILE form of a setting from a setting ending in _FILE wrongly")
	}
}
