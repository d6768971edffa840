package pgqueue_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/weftio/weft/internal/redacttest"
	"github.com/weftio/weft/transport/pgqueue"
)

// FuzzParseURL reads queue URLs from outside (configuration), the queue's
// own parameters included: a URL parses or fails the same way every time
// with a FieldError, and neither an error, nor the validation, nor the
// printout shows the password.
func FuzzParseURL(f *testing.F) {
	for _, s := range [][2]string{
		{"postgres://weft:", "@db.example:5433/app?schema=q&table_prefix=weft_&mode=polling-only&poll_interval=200ms"},
		{"postgresql://u:", "@h/d?fallback_threshold=5s&visibility_timeout=30s&max_message_size=1048576"},
		{"postgres://h/d?password=", "&mode=sometimes"},
		{"postgres://u:", "@h/d?poll_interval=-1s&max_message_size=0"},
		{"postgres://u:", "@h/d?schema=a%22b&table_prefix=1x"},
		{"postgres://u:", "#x@h/d"},
		{"postgres://u:#", "@h/d"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, prefix, suffix string) {
		raw := prefix + redacttest.Secret + suffix
		secret := redacttest.IsPassword(prefix, suffix)
		leak := func(what, out string) {
			t.Helper()
			if secret {
				if p := redacttest.Shown(out, prefix, suffix); p != "" {
					t.Fatalf("%s shows %q of the password of %q: %s", what, p, raw, out)
				}
			}
		}
		_, err := pgqueue.ParseURL(raw)
		for range 2 {
			if _, again := pgqueue.ParseURL(raw); fmt.Sprint(again) != fmt.Sprint(err) {
				t.Fatalf("the same URL fails differently: %v, then %v", err, again)
			}
		}
		if err != nil {
			var fe *pgqueue.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a FieldError", err, err)
			}
			leak("the error", err.Error())
		}
		cfg := pgqueue.Config{}
		cfg.URL = raw
		if err := cfg.Validate(); err != nil {
			leak("validation", err.Error())
		}
		leak("the printout", cfg.String())
		leak("the Go printout", fmt.Sprintf("%#v %+v", cfg, cfg))
	})
}
