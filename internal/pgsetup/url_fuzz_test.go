package pgsetup

import (
	"fmt"
	"strings"
	"testing"

	"github.com/weftio/weft/internal/redacttest"
)

// FuzzResolveURL reads connection URLs from outside (configuration): the
// URL resolves or fails the same way every time, no error or validation
// report shows the password, and settings that validate reach pgx as they
// are, nothing smuggled in or lost by the keyword string.
func FuzzResolveURL(f *testing.F) {
	for _, s := range [][2]string{
		{"postgres://weft:", "@db.example:5433/app?sslmode=require&connect_timeout=3&application_name=x"},
		{"postgresql://u:", "@h/d?statement_timeout=250&pool_max_conns=4&pool_min_conns=1&pool_max_conn_lifetime=1h"},
		{"postgres://h/d?password=", "&user=o%27brien&dbname=a%20b"},
		{"postgres://u:", "@h/d?port=x&sslmode=bogus"},
		{"postgres://u:pa#", "@h/d"},
		{"postgres://u:", "#x@h/d"},
		{"postgres://u:", "/x@h/d"},
		{"postgres://u:pa%zz", "@h/d"},
		{"postgres://u:", "@h:99999/d"},
		{"postgres://u:", "@h1,h2/d"},
		{"postgres:", "@/d"},
		{"postgres://u:", "@h/d?host=/tmp&search_path=a'b\\c"},
		{"mysql://u:", "@h/d"},
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
		s, extra, err := Settings{Server: Server{URL: raw}}.Resolve(nil)
		for range 3 {
			_, _, again := Settings{Server: Server{URL: raw}}.Resolve(nil)
			if fmt.Sprint(again) != fmt.Sprint(err) {
				t.Fatalf("the same URL fails differently: %v, then %v", err, again)
			}
		}
		if err != nil {
			leak("the error", err.Error())
			return
		}
		var reports []string
		bad := func(field, format string, args ...any) {
			reports = append(reports, field+": "+fmt.Sprintf(format, args...))
		}
		s.ValidateConnection(bad)
		s.ValidatePool(bad)
		leak("validation", strings.Join(reports, "\n"))
		var b strings.Builder
		WriteConnection(&b, raw, s)
		leak("the printout", b.String())
		if len(reports) > 0 {
			return
		}
		for name := range extra {
			if CheckIdent(name) != nil {
				t.Fatalf("parameter %q passed on", name)
			}
		}
		pc, err := Driver{Name: "fuzz", AppName: "fuzz"}.PoolConfig(s, extra)
		if err != nil {
			leak("pgx's error", err.Error())
			return
		}
		cc := pc.ConnConfig
		if _, ok := extra["hostaddr"]; !ok && !strings.HasPrefix(s.Host, "/") && cc.Host != s.Host {
			t.Fatalf("host %q reached pgx as %q", s.Host, cc.Host)
		}
		if int(cc.Port) != s.Port || cc.Database != s.Database {
			t.Fatalf("port %d, database %q reached pgx as %d, %q", s.Port, s.Database, cc.Port, cc.Database)
		}
		if (s.User != "" && cc.User != s.User) || (s.Password != "" && cc.Password != s.Password) {
			t.Fatalf("user %q or the password changed on the way to pgx (user %q)", s.User, cc.User)
		}
	})
}
