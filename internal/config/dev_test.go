package config_test

import (
	. "github.com/weftio/weft/internal/config"
	"slices"
	"strings"
	"testing"
)

// TestDevSettings: the dev server's address and token come from the
// environment, the token from a file too; the token is a secret Print
// masks, a short one or one that cannot go in a header is refused without
// being quoted, and LoadDev reports no error of another setting.
func TestDevSettings(t *testing.T) {
	const token = "PWdevtoken-0123456789abcdef"
	d, err := LoadDev(Source{Lookup: env(nil)})
	if err != nil || d.Addr != "127.0.0.1:8233" || d.Token != "" {
		t.Fatalf("defaults = %+v, %v", d, err)
	}
	c, err := Load(Source{Lookup: env(map[string]string{"WEFT_DEV_ADDR": "0.0.0.0:9000", "WEFT_DEV_TOKEN_FILE": "/run/token"}),
		ReadFile: files(map[string]string{"/run/token": token + "\n"})})
	if err != nil || c.Dev.Addr != "0.0.0.0:9000" || c.Dev.Token != token {
		t.Fatalf("dev = %+v, %v", c.Dev, err)
	}
	if p := c.Print(); strings.Contains(p, token) || !strings.Contains(p, "WEFT_DEV_TOKEN") {
		t.Errorf("Print shows the token or does not list it:\n%s", p)
	}
	for _, bad := range []string{"PWshort", "PWdevtoken 0123456789abcdef", "PWdevtoken\u00e9-0123456789abcdef"} {
		_, err := LoadDev(Source{Lookup: env(map[string]string{"WEFT_DEV_TOKEN": bad, "WEFT_STORAGE": "cassandra"})})
		if err == nil || !strings.Contains(err.Error(), "WEFT_DEV_TOKEN") || strings.Contains(err.Error(), "PW") {
			t.Errorf("token %q: %v, want an error naming WEFT_DEV_TOKEN and not quoting it", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "WEFT_STORAGE") {
			t.Errorf("LoadDev reports another setting: %v", err)
		}
	}
	if u := Unknown([]string{"WEFT_DEV_ADDR=x", "WEFT_DEV_TOKEN=x", "WEFT_DEV_TOKEN_FILE=/x", "WEFT_DEV_TOKN=x"}); !slices.Equal(u, []string{"WEFT_DEV_TOKN"}) {
		t.Errorf("Unknown = %v", u)
	}
}
