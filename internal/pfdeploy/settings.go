package pfdeploy

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/transport/pulsar"
)

// env is the deploying process's environment: KEY=VALUE lines and a reader
// of the files *_FILE variables name.
type env struct {
	vars   map[string]string
	exists func(path string) bool
}

func newEnv(environ []string) env {
	vars := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return env{vars: vars, exists: func(p string) bool { _, err := os.Stat(p); return err == nil }}
}

// settings is the configuration a deploy works from.
type settings struct {
	cfg    *config.Config
	pulsar *pulsar.Config
	// notes are remarks for the user (files this machine lacks).
	notes []string
}

// load reads the WEFT_* configuration as the functions will run with it:
// on the Pulsar transport (the default here, since a Pulsar Function
// consumes from Pulsar), with WEFT_ROLES defaulting to a role binary's own
// roles. A *_FILE variable naming a file this machine lacks is passed on
// untouched (the file may be on the functions worker's hosts only) and
// left out of the configuration read here.
func load(e env, own []config.Role) (settings, error) {
	var s settings
	if _, ok := e.vars[config.Prefix+"_CONFIG_FILE"]; ok {
		return s, errors.New("WEFT_CONFIG_FILE is set: a function runs with the WEFT_* variables deploy passes in its userConfig, " +
			"not with a file on this machine; set the file's settings as WEFT_* variables instead")
	}
	if t, ok := e.vars[config.Prefix+"_TRANSPORT"]; ok && t != "pulsar" {
		return s, fmt.Errorf("WEFT_TRANSPORT is %q: Pulsar Functions consume from Pulsar, so they run on WEFT_TRANSPORT=pulsar (set it, or leave it unset)", t)
	}
	lookup := func(k string) (string, bool) {
		if v, ok := e.vars[k]; ok {
			if secretFile(k) && !e.exists(v) {
				s.notes = append(s.notes, fmt.Sprintf("%s names %s, which this machine lacks: passed on as it is, for the functions worker's hosts", k, v))
				return "", false
			}
			return v, true
		}
		switch k {
		case config.Prefix + "_TRANSPORT":
			return "pulsar", true
		case config.Prefix + "_ROLES":
			if len(own) > 0 {
				return joinRoles(own), true
			}
		}
		return "", false
	}
	cfg, err := config.Load(config.Source{Lookup: lookup})
	environ := make([]string, 0, len(e.vars))
	for k, v := range e.vars {
		environ = append(environ, k+"="+v)
	}
	slices.Sort(environ)
	if unknown := config.UnknownErrors(environ); len(unknown) > 0 {
		err = errors.Join(append([]error{err}, unknown...)...)
	}
	if err != nil {
		return s, fmt.Errorf("configuration:\n%w", err)
	}
	s.cfg, s.pulsar = cfg, config.SettingsOf[pulsar.Config](cfg, "pulsar")
	if s.pulsar == nil {
		return s, errors.New("the pulsar transport is not built into this binary") // it is imported here: a build problem
	}
	if s.pulsar.AdminURL == "" {
		return s, errors.New("WEFT_PULSAR_ADMIN_URL is required: deploy talks to the functions worker through the admin API " +
			"(http(s)://host:port, e.g. http://127.0.0.1:8080)")
	}
	return s, nil
}

// secretFile reports whether k is the *_FILE form of a setting (not a
// setting whose name ends in _FILE, such as a CA file's).
func secretFile(k string) bool {
	base, ok := strings.CutSuffix(k, "_FILE")
	known, _ := config.Variable(base)
	return ok && known
}

// needsStorage reports whether a role keeps state or reads it: every role
// but the event listener.
func needsStorage(r config.Role) bool { return r != config.RoleEventListener }

// checkStorage refuses in-memory storage for roles that share state: each
// function instance is a process of its own.
func checkStorage(cfg *config.Config, roles []config.Role) error {
	if cfg.Storage != "memory" || !slices.ContainsFunc(roles, needsStorage) {
		return nil
	}
	return errors.New("WEFT_STORAGE is memory: each function instance is a process of its own, and the state engine, tag engine " +
		"and executor share the workflows' states; configure a storage they all reach (redis, postgres or mysql)")
}

func joinRoles(roles []config.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}
