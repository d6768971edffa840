package postgres

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func TestValidateDefaultsAreValid(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero Config (all defaults) invalid: %v", err)
	}
	d := Config{}.withDefaults()
	want := Config{
		Server: Server{Host: "127.0.0.1", Port: 5432, Database: "postgres"}, Schema: "weft",
		KeyValueTable: "key_value_storage", KeySetTable: "key_set_storage",
		Pool:    Pool{MaxConns: 10, MaxConnLifetime: time.Hour, MaxConnIdleTime: 30 * time.Minute},
		Session: Session{ConnectTimeout: 5 * time.Second, SSLMode: "prefer"},
	}
	if d != want {
		t.Fatalf("defaults = %#v\nwant       %#v", d, want)
	}
}

// TestTagsMatchDefaults keeps the struct tags (read by the env/YAML loader)
// and withDefaults (used by New) from drifting apart, and checks every
// field is tagged for the loader, the embedded connection settings' fields
// included (the structs embedding them are inlined).
func TestTagsMatchDefaults(t *testing.T) {
	d := reflect.ValueOf(Config{}.withDefaults())
	for _, f := range reflect.VisibleFields(d.Type()) {
		if f.Anonymous {
			if f.Tag.Get("yaml") != ",inline" || f.Tag.Get("envconfig") != "" {
				t.Errorf("embedded %s: tags %q, want yaml inline and no envconfig prefix", f.Name, f.Tag)
			}
			continue
		}
		v := d.FieldByIndex(f.Index)
		for _, tag := range []string{"yaml", "envconfig", "desc"} {
			if f.Tag.Get(tag) == "" {
				t.Errorf("field %s has no %s tag", f.Name, tag)
			}
		}
		if y := f.Tag.Get("yaml"); y != "" && strings.ToLower(y[:1]) != y[:1] {
			t.Errorf("field %s: yaml tag %q is not camelCase", f.Name, y)
		}
		if e := f.Tag.Get("envconfig"); e != strings.ToUpper(e) {
			t.Errorf("field %s: envconfig tag %q is not upper snake case", f.Name, e)
		}
		def, has := f.Tag.Lookup("default")
		got := fmt.Sprint(v.Interface())
		if f.Name == "SSLMode" {
			// Its default depends on the certificates configured
			// (pgsetup.DefaultSSLModeFor), so no tag can hold it: a tag
			// would be filled in before the URL's sslrootcert is seen.
			if has || got != DefaultSSLMode {
				t.Errorf("field SSLMode: default tag %q, withDefaults gives %q; want no tag and %q", def, got, DefaultSSLMode)
			}
			continue
		}
		if v.Kind() == reflect.Int64 { // time.Duration
			if has {
				pd, err := time.ParseDuration(def)
				if err != nil {
					t.Errorf("field %s: default %q: %v", f.Name, def, err)
				}
				def = fmt.Sprint(pd)
			}
		}
		switch {
		case has && def != got:
			t.Errorf("field %s: default tag %q, withDefaults gives %q", f.Name, def, got)
		case !has && !v.IsZero():
			t.Errorf("field %s: no default tag, withDefaults gives %q", f.Name, got)
		}
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		name  string
		cfg   Config
		field string // "" = valid
	}{
		{"defaults", Config{}, ""},
		{"custom names", Config{Schema: "My_Schema1", KeyValueTable: "_kv", KeySetTable: "KS"}, ""},
		{"63-char table", Config{KeyValueTable: long[:63]}, ""},
		{"64-char table", Config{KeyValueTable: long}, "keyValueTable"},
		{"table with dash", Config{KeyValueTable: "key-value"}, "keyValueTable"},
		{"table with quote", Config{KeySetTable: `a"; DROP TABLE x; --`}, "keySetTable"},
		{"table with dot", Config{KeySetTable: "other.table"}, "keySetTable"},
		{"table starting with digit", Config{KeySetTable: "1set"}, "keySetTable"},
		{"table non-ASCII", Config{KeySetTable: "tablé"}, "keySetTable"},
		{"same tables", Config{KeyValueTable: "t", KeySetTable: "t"}, "keySetTable"},
		{"version table name", Config{KeyValueTable: "weft_schema_version"}, "keyValueTable"},
		{"schema with space", Config{Schema: "my schema"}, "schema"},
		{"schema pg_", Config{Schema: "pg_weft"}, "schema"},
		{"port 0 is default", Config{Server: Server{Port: 0}}, ""},
		{"port negative", Config{Server: Server{Port: -1}}, "port"},
		{"port too big", Config{Server: Server{Port: 65536}}, "port"},
		{"two hosts", Config{Server: Server{Host: "a,b"}}, "host"},
		{"socket dir host", Config{Server: Server{Host: "/var/run/postgresql"}}, ""},
		{"sslmode bogus", Config{Session: Session{SSLMode: "on"}}, "sslMode"},
		{"sslmode verify-full", Config{Session: Session{SSLMode: "verify-full", SSLRootCert: "/etc/ca.pem"}}, ""},
		{"minConns > maxConns", Config{Pool: Pool{MaxConns: 2, MinConns: 3}}, "minConns"},
		{"maxConns negative", Config{Pool: Pool{MaxConns: -1}}, "maxConns"},
		{"minConns negative", Config{Pool: Pool{MinConns: -1}}, "minConns"},
		{"negative timeout", Config{Session: Session{ConnectTimeout: -time.Second}}, "connectTimeout"},
		{"negative statement timeout", Config{Session: Session{StatementTimeout: -time.Second}}, "statementTimeout"},
		{"negative lifetime", Config{Pool: Pool{MaxConnLifetime: -time.Second}}, "maxConnLifetime"},
		{"negative idle", Config{Pool: Pool{MaxConnIdleTime: -time.Second}}, "maxConnIdleTime"},
		{"url ok", Config{Server: Server{URL: "postgres://u:p@h:1/db?sslmode=disable"}}, ""},
		{"url bad scheme", Config{Server: Server{URL: "mysql://u:p@h/db"}}, "url"},
		{"url bad port", Config{Server: Server{URL: "postgres://h:99999/db"}}, "url"},
		{"url two hosts", Config{Server: Server{URL: "postgres://a:1,b:2/db"}}, "url"},
		// The URL's parts win over the fields; the fields fill in the rest.
		{"url port wins over a bad field", Config{Server: Server{URL: "postgres://h:5/db", Port: -1}}, ""},
		{"field port fills in", Config{Server: Server{URL: "postgres://h/db", Port: -1}}, "port"},
		{"url sslmode wins", Config{Server: Server{URL: "postgres://h/db?sslmode=disable"}, Session: Session{SSLMode: "bogus"}}, ""},
		{"url still checks schema", Config{Server: Server{URL: "postgres://h/db"}, Schema: "x y"}, "schema"},
		{"url parameter name", Config{Server: Server{URL: "postgres://h/db?a%20b=1"}}, "url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want a *FieldError for %s", err, tc.field)
			}
			if fe.Field != tc.field {
				t.Fatalf("Validate error field = %q (%v), want %q", fe.Field, err, tc.field)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not name the field %q", err, tc.field)
			}
		})
	}
}

func TestValidateReportsEveryError(t *testing.T) {
	err := Config{Server: Server{Port: -1}, Schema: "a b", KeySetTable: "c-d", Session: Session{SSLMode: "x"}}.Validate()
	for _, f := range []string{"port", "schema", "keySetTable", "sslMode"} {
		if !strings.Contains(fmt.Sprint(err), "postgres: "+f+":") {
			t.Errorf("error does not report %s: %v", f, err)
		}
	}
}

func TestValidateNeverPrintsPassword(t *testing.T) {
	for _, c := range []Config{
		{Server: Server{Password: "s3cret\x00", Port: -1}},
		{Server: Server{URL: "postgres://u:s3cret@h:99999/db"}},
		{Server: Server{URL: "postgres://u:s3cret@h/db?sslmode=bogus&password=s3cret"}},
		{Server: Server{URL: "postgres://u:s3cret@h/db%zz"}},
		{Server: Server{URL: "postgres://u:s3%zzcret@h/db"}},
	} {
		err := c.Validate()
		if err == nil {
			t.Fatalf("Validate(%v) = nil, want an error", c)
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "zz") {
			t.Errorf("Validate error shows the password: %v", err)
		}
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		want    Config // compared after withDefaults, URL filled in by the test
		wantErr string
	}{
		{url: "postgres://weft:pw@db.example:6543/weft_test?sslmode=require",
			want: Config{Server: Server{Host: "db.example", Port: 6543, User: "weft", Password: "pw", Database: "weft_test"}, Session: Session{SSLMode: "require"}}},
		{url: "postgresql://127.0.0.1/",
			want: Config{Server: Server{Host: "127.0.0.1"}}},
		{url: "postgres://u@h/d?connect_timeout=2&statement_timeout=1500&pool_max_conns=7&pool_min_conns=2&pool_max_conn_lifetime=10m&pool_max_conn_idle_time=1m",
			want: Config{Server: Server{Host: "h", User: "u", Database: "d"},
				Session: Session{ConnectTimeout: 2 * time.Second, StatementTimeout: 1500 * time.Millisecond},
				Pool:    Pool{MaxConns: 7, MinConns: 2, MaxConnLifetime: 10 * time.Minute, MaxConnIdleTime: time.Minute}}},
		{url: "postgres://h/d?statement_timeout=3s",
			want: Config{Server: Server{Host: "h", Database: "d"}, Session: Session{StatementTimeout: 3 * time.Second}}},
		{url: "postgres://[::1]:5433/d",
			want: Config{Server: Server{Host: "::1", Port: 5433, Database: "d"}}},
		{url: "postgres:///d?host=/var/run/postgresql&user=u&password=p%20q&dbname=other",
			want: Config{Server: Server{Host: "/var/run/postgresql", User: "u", Password: "p q", Database: "other"}}},
		{url: "postgres://us%40er:p%3Aw%2Fd@h/d%20b",
			want: Config{Server: Server{Host: "h", User: "us@er", Password: "p:w/d", Database: "d b"}}},
		{url: "postgres://h/d?application_name=x&sslrootcert=/ca.pem",
			want: Config{Server: Server{Host: "h", Database: "d"}, Session: Session{SSLRootCert: "/ca.pem"}}},
		{url: "http://h/d", wantErr: "scheme"},
		{url: "host=h user=u", wantErr: "scheme"},
		{url: "postgres://h:0/d", wantErr: "port"},
		{url: "postgres://h:x/d", wantErr: "invalid port"},
		{url: "postgres://a,b/d", wantErr: "several hosts"},
		{url: "postgres://h/d?sslmode=sometimes", wantErr: "sslmode"},
		{url: "postgres://h/d?connect_timeout=0", wantErr: "connect_timeout"},
		{url: "postgres://h/d?connect_timeout=1.5", wantErr: "connect_timeout"},
		{url: "postgres://h/d?statement_timeout=soon", wantErr: "statement_timeout"},
		{url: "postgres://h/d?pool_max_conns=0", wantErr: "pool_max_conns"},
		{url: "postgres://h/d?pool_max_conn_lifetime=forever", wantErr: "pool_max_conn_lifetime"},
		{url: "postgres://h/d?a=%zz", wantErr: "query"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got, err := ParseURL(tc.url)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseURL error = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			want := tc.want
			want.URL = tc.url
			if want = want.withDefaults(); got != want {
				t.Fatalf("ParseURL =\n  %#v\nwant\n  %#v", got, want)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("Validate(ParseURL(...)): %v", err)
			}
		})
	}
}

func TestStringMasksPassword(t *testing.T) {
	for _, c := range []Config{
		{Server: Server{User: "weft", Password: "hunter2"}},
		{Server: Server{URL: "postgres://weft:hunter2@h:5432/d"}},
		{Server: Server{URL: "postgres://weft@h/d?password=hunter2"}},
		{Server: Server{URL: "postgres://weft:hunter2@h/%zz"}}, // unparseable: not printed at all
	} {
		for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, &c)} {
			if strings.Contains(s, "hunter2") {
				t.Errorf("password printed: %s", s)
			}
		}
	}
	s := Config{Server: Server{User: "weft", Password: "hunter2"}}.String()
	for _, want := range []string{"host=127.0.0.1", "port=5432", "user=weft", "password=****", "schema=weft", "keyValueTable=key_value_storage"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %s, missing %q", s, want)
		}
	}
	if s := (Config{Server: Server{URL: "postgres://weft:hunter2@h:5432/d"}}).String(); !strings.Contains(s, "url=postgres://weft:xxxxx@h:5432/d") {
		t.Errorf("String() = %s, want the URL with a masked password", s)
	}
	if s := (Config{}).String(); !strings.Contains(s, `password=""`) {
		t.Errorf("String() of an unset password = %s, want password=\"\"", s)
	}
}

func TestKeywordDSNQuoting(t *testing.T) {
	c := Config{Server: Server{Host: "h", Port: 1, User: `o'brien`, Password: `a b\c'd`, Database: "db x"},
		Session: Session{SSLMode: "disable"}}.withDefaults()
	pc, err := driver.PoolConfig(c.settings(), map[string]string{"application_name": `it's \ mine`})
	if err != nil {
		t.Fatalf("PoolConfig: %v", err)
	}
	cc := pc.ConnConfig
	if cc.Host != "h" || cc.Port != 1 || cc.User != `o'brien` || cc.Password != `a b\c'd` || cc.Database != "db x" {
		t.Fatalf("round trip through the DSN: host %q port %d user %q password %q database %q",
			cc.Host, cc.Port, cc.User, cc.Password, cc.Database)
	}
	if cc.TLSConfig != nil {
		t.Errorf("sslmode=disable produced a TLS config")
	}
	if got := cc.RuntimeParams["application_name"]; got != `it's \ mine` {
		t.Errorf("extra parameter application_name = %q", got)
	}
}

// poolFor resolves c as New does and builds the pool configuration.
func poolFor(t *testing.T, c Config) *pgxpool.Config {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	eff, extra, _ := c.resolve()
	pc, err := driver.PoolConfig(eff.settings(), extra)
	if err != nil {
		t.Fatalf("PoolConfig: %v", err)
	}
	return pc
}

func TestPoolConfigPrecedence(t *testing.T) {
	base := Config{Pool: Pool{MaxConns: 3, MinConns: 1, MaxConnLifetime: time.Minute, MaxConnIdleTime: time.Second},
		Session: Session{ConnectTimeout: 7 * time.Second, StatementTimeout: 250 * time.Millisecond},
		Server:  Server{Host: "field-host", Port: 9, User: "field-user", Password: "field-pw", Database: "field-db"}}

	// Without the parameters in the URL, the fields apply.
	c := base
	c.URL = "postgres://u@h:1/d?sslmode=disable&application_name=app"
	pc := poolFor(t, c)
	if pc.MaxConns != 3 || pc.MinConns != 1 || pc.ConnConfig.ConnectTimeout != 7*time.Second ||
		pc.MaxConnLifetime != time.Minute || pc.MaxConnIdleTime != time.Second ||
		pc.ConnConfig.RuntimeParams["statement_timeout"] != "250" {
		t.Fatalf("fields not applied: max %d min %d connect %v lifetime %v idle %v statement %q",
			pc.MaxConns, pc.MinConns, pc.ConnConfig.ConnectTimeout, pc.MaxConnLifetime, pc.MaxConnIdleTime,
			pc.ConnConfig.RuntimeParams["statement_timeout"])
	}
	cc := pc.ConnConfig
	// The URL's parts win; the password it lacks comes from the field.
	if cc.Host != "h" || cc.Port != 1 || cc.User != "u" || cc.Database != "d" || cc.Password != "field-pw" {
		t.Fatalf("connection = %s:%d user %s database %s password set %v; want the URL's parts and the field's password",
			cc.Host, cc.Port, cc.User, cc.Database, cc.Password == "field-pw")
	}
	if cc.TLSConfig != nil || cc.RuntimeParams["application_name"] != "app" {
		t.Fatalf("URL parameters not passed on: TLS %v, application_name %q", cc.TLSConfig != nil, cc.RuntimeParams["application_name"])
	}

	// The URL's parameters win over the fields.
	c.URL += "&pool_max_conns=9&pool_min_conns=0&connect_timeout=2&statement_timeout=2s&pool_max_conn_lifetime=2h&pool_max_conn_idle_time=5m"
	pc = poolFor(t, c)
	if pc.MaxConns != 9 || pc.MinConns != 0 || pc.ConnConfig.ConnectTimeout != 2*time.Second ||
		pc.MaxConnLifetime != 2*time.Hour || pc.MaxConnIdleTime != 5*time.Minute ||
		pc.ConnConfig.RuntimeParams["statement_timeout"] != "2000" {
		t.Fatalf("URL parameters lost: max %d min %d connect %v lifetime %v idle %v statement %q",
			pc.MaxConns, pc.MinConns, pc.ConnConfig.ConnectTimeout, pc.MaxConnLifetime, pc.MaxConnIdleTime,
			pc.ConnConfig.RuntimeParams["statement_timeout"])
	}

	// A URL without host, port or database: the fields fill in.
	c = base
	c.URL = "postgres:///?sslmode=disable"
	cc = poolFor(t, c).ConnConfig
	if cc.Host != "field-host" || cc.Port != 9 || cc.User != "field-user" || cc.Database != "field-db" {
		t.Fatalf("fields did not fill in: %s:%d user %s database %s", cc.Host, cc.Port, cc.User, cc.Database)
	}

	// A sub-millisecond statement timeout must not turn into "no limit".
	pc = poolFor(t, Config{Session: Session{StatementTimeout: time.Microsecond, SSLMode: "disable"}})
	if got := pc.ConnConfig.RuntimeParams["statement_timeout"]; got != "1" {
		t.Fatalf("statement_timeout for 1µs = %q, want 1", got)
	}
}

func TestCursor(t *testing.T) {
	for _, id := range []int64{1, 35, 36, 1 << 40, 1<<63 - 1} {
		got, err := decodeCursor(encodeCursor(id))
		if err != nil || got != id {
			t.Errorf("cursor round trip of %d = %d, %v", id, got, err)
		}
	}
	if id, err := decodeCursor(""); id != 0 || err != nil {
		t.Errorf(`decodeCursor("") = %d, %v`, id, err)
	}
	for _, bad := range []string{"x", "pg1.", "pg1.-1", "pg1.0", "m1.5", "pg1.zzzzzzzzzzzzzzzz"} {
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("decodeCursor(%q) accepted", bad)
		}
	}
}

func TestTTLMicros(t *testing.T) {
	for _, tc := range []struct {
		ttl  time.Duration
		want int64
	}{{0, 0}, {-time.Second, 0}, {time.Nanosecond, 1}, {time.Microsecond, 1}, {1001 * time.Nanosecond, 2}, {time.Second, 1e6}} {
		if got := ttlMicros(tc.ttl); got != tc.want {
			t.Errorf("ttlMicros(%v) = %d, want %d", tc.ttl, got, tc.want)
		}
	}
}

func TestCheckKey(t *testing.T) {
	for _, ok := range []string{"", "a", "ключ-🙂", strings.Repeat("L", 1000)} {
		if err := checkKey(ok); err != nil {
			t.Errorf("checkKey(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"a\x00b", "\xff\xfe"} {
		if checkKey(bad) == nil {
			t.Errorf("checkKey(%q) accepted", bad)
		}
	}
}
