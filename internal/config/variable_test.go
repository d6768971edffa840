package config_test

import (
	"testing"

	"github.com/weftio/weft/internal/config"
)

func TestVariable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env           string
		known, secret bool
	}{
		{"WEFT_STORAGE", true, false},
		{"WEFT_ROLES", true, false},
		{"WEFT_DEV_TOKEN", true, true},
		{"WEFT_DEV_TOKEN_FILE", true, false},
		{"WEFT_CONFIG_FILE", true, false},
		{"WEFT_STORAGE_CACHE_MAXIMUM_SIZE", true, false},
		{"WEFT_STORAGE_TYPO", false, false},
		{"WEFT_", false, false},
		{"HOME", false, false},
	} {
		known, secret := config.Variable(c.env)
		if known != c.known || secret != c.secret {
			t.Errorf("Variable(%s) = %v, %v; want %v, %v", c.env, known, secret, c.known, c.secret)
		}
	}
}
