package pfdeploy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/redact"
)

// userConfig is what an instance of role's function runs with: every weft
// setting of the deploying environment (not those of weft dev and the
// tests, which concern this machine), and what makes it the role's
// function: WEFT_ROLES, WEFT_RUNTIME, WEFT_TRANSPORT, the workflows and
// services it serves, and the broker's URLs.
func userConfig(e env, s settings, role config.Role, workflows, services []string) map[string]string {
	uc := map[string]string{}
	for k, v := range e.vars {
		if !strings.HasPrefix(k, config.Prefix+"_") || strings.HasPrefix(k, config.Prefix+"_DEV_") ||
			strings.HasPrefix(k, config.Prefix+"_TEST_") || k == config.Prefix+"_CONFIG_FILE" {
			continue
		}
		if known, _ := config.Variable(k); known {
			uc[k] = v
		}
	}
	// set replaces a setting, dropping its *_FILE form, which would
	// otherwise be read when the value is empty.
	set := func(k, v string) {
		uc[k] = v
		delete(uc, k+"_FILE")
	}
	unset := func(k string) {
		delete(uc, k)
		delete(uc, k+"_FILE")
	}
	set("WEFT_ROLES", string(role))
	set("WEFT_RUNTIME", config.RuntimePulsarFunctions)
	set("WEFT_TRANSPORT", "pulsar")
	// An empty list would mean "what the binary registers", which is what
	// the names came from here when none was given.
	for _, l := range []struct {
		key   string
		names []string
	}{{"WEFT_WORKFLOWS", workflows}, {"WEFT_SERVICES", services}} {
		if len(l.names) > 0 {
			set(l.key, strings.Join(l.names, ","))
		} else {
			unset(l.key)
		}
	}
	if s.cfg.Events.Sink != "" && role != config.RoleEventListener {
		// Only the event listener hands events to the sink (and only its
		// binary links the HTTP sink); the other roles put them on the
		// event topics it reads.
		unset("WEFT_EVENTS_SINK")
		set("WEFT_EVENTS_ENABLED", "true")
	}
	// The broker's URLs come from the environment (a configuration file is
	// refused), as a value or as a *_FILE path kept as it was given.
	for k, v := range map[string]string{"WEFT_PULSAR_URL": s.pulsar.URL, "WEFT_PULSAR_ADMIN_URL": s.pulsar.AdminURL} {
		_, plain := uc[k]
		_, file := uc[k+"_FILE"]
		if !plain && !file && v != "" {
			uc[k] = v
		}
	}
	return uc
}

// shown renders a userConfig for the terminal: one KEY=VALUE per item,
// sorted, secrets masked (the settings config calls secret, and the
// passwords and tokens inside URLs and DSNs).
func shown(uc map[string]any) []string {
	out := make([]string, 0, len(uc))
	for k, v := range uc {
		s := fmt.Sprint(v)
		if _, secret := config.Variable(k); secret && s != "" {
			s = redact.Mask
		} else {
			s = redact.Text(redact.URL(s))
		}
		out = append(out, k+"="+s)
	}
	slices.Sort(out)
	return out
}
