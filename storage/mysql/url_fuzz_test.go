package mysql

import (
	"errors"
	"fmt"
	"testing"

	"github.com/weftio/weft/internal/redacttest"
)

// FuzzParseURL reads mysql URLs from outside (configuration): a URL parses
// or fails the same way every time with a FieldError for "url"; neither an
// error, nor the validation, nor the printout shows the password; what
// validates reaches the driver as it was given.
func FuzzParseURL(f *testing.F) {
	for _, s := range [][2]string{
		{"mysql://weft:", "@db.example:3307/app?keyValueTable=kv&connectTimeout=2s&maxOpenConns=4"},
		{"mariadb://u:", "@h/d?tls=true"},
		{"mysql://u:", "#x@h/d"},
		{"mysql://u:", "/x@h/d"},
		{"mysql://u:", "@h:99999/d"},
		{"mysql://u:", "@h/d/e"},
		{"mysql://u:", "@h/d?maxOpenConns=many&bogus=1"},
		{"mysql://u:", "@h/d?keyValueTable=a&keyValueTable=b"},
		{"mysql://u:pa%zz", "@h/d"},
		{"mysql://u:", "@/d"},
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
		_, err := ParseURL(raw)
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
		leak("the printout", cfg.String())
		leak("the Go printout", fmt.Sprintf("%#v %+v", cfg, cfg))
		if err := cfg.Validate(); err != nil {
			leak("validation", err.Error())
			return
		}
		r, err := cfg.resolve()
		if err != nil {
			t.Fatalf("validates but does not resolve: %v", err)
		}
		mc, err := driverConfig(r, nil)
		if err != nil {
			leak("the driver's configuration", err.Error())
			return
		}
		if mc.Passwd != r.Password || mc.User != r.User || mc.DBName != r.Database || mc.Addr != hostPort(r.Host, r.Port) {
			t.Fatalf("user %q, database %q, address %s:%d or the password changed on the way to the driver", r.User, r.Database, r.Host, r.Port)
		}
	})
}
