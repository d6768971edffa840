package redis

import (
	"errors"
	"fmt"
	"testing"

	"github.com/weftio/weft/internal/redacttest"
)

// FuzzParseURL reads redis URLs from outside (configuration): a URL
// parses or fails the same way every time with a FieldError for "url",
// and neither an error, nor the validation, nor the printout shows the
// password.
func FuzzParseURL(f *testing.F) {
	for _, s := range [][2]string{
		{"redis://weft:", "@cache.example:6380/2?keyPrefix=app:&poolSize=4&dialTimeout=2s"},
		{"rediss://:", "@h/0?tlsInsecureSkipVerify=true&tlsServerName=x"},
		{"redis://u:", "#x@h/1"},
		{"redis://u:", "/x@h/1"},
		{"redis://u:", "@h:99999"},
		{"redis://u:", "@h/x?poolSize=many&bogus=1"},
		{"redis://u:", "@h/0?keyPrefix=a&keyPrefix=b"},
		{"redis://u:pa%zz", "@h"},
		{"unix://u:", "@/tmp/s"},
		{"redis:u:", "@h"},
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
		c, err := ParseURL(raw)
		for range 2 {
			if _, again := ParseURL(raw); fmt.Sprint(again) != fmt.Sprint(err) {
				t.Fatalf("the same URL fails differently: %v, then %v", err, again)
			}
		}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "url" {
				t.Fatalf("error %T %v is not a FieldError for url", err, err)
			}
			leak("the error", err.Error())
		}
		cfg := Config{URL: raw}
		if err := cfg.Validate(); err != nil {
			leak("validation", err.Error())
		}
		leak("the printout", cfg.String())
		leak("the Go printout", fmt.Sprintf("%#v %+v", cfg, cfg))
		if err == nil {
			leak("the parsed config's printout", c.String())
		}
	})
}
