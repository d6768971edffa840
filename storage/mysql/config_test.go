package mysql

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Config{User: "weft"}
	tests := []struct {
		name   string
		mutate func(*Config)
		fields []string // fields named in the errors; none: valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"everything set", func(c *Config) {
			*c = Config{Host: "db.example.com", Port: 3307, User: "u", Password: "p", Database: "Weft_2",
				KeyValueTable: "kv", KeySetTable: "ks", MaxOpenConns: 3, MaxIdleConns: 1,
				ConnMaxLifetime: time.Hour, ConnMaxIdleTime: time.Minute, ConnectTimeout: time.Second,
				ReadTimeout: time.Second, WriteTimeout: time.Second, TLS: "true", TLSCAFile: "/ca.pem"}
		}, nil},
		{"ipv6 host", func(c *Config) { c.Host = "::1" }, nil},
		{"user missing", func(c *Config) { c.User = "" }, []string{"user"}},
		{"bad host", func(c *Config) { c.Host = "a b" }, []string{"host"}},
		{"bracketed ipv6", func(c *Config) { c.Host = "[::1]" }, []string{"host"}},
		{"host with port", func(c *Config) { c.Host = "db:3306" }, []string{"host"}},
		{"port too big", func(c *Config) { c.Port = 70000 }, []string{"port"}},
		{"port negative", func(c *Config) { c.Port = -1 }, []string{"port"}},
		{"database injection", func(c *Config) { c.Database = "weft`; DROP TABLE x; --" }, []string{"database"}},
		{"database with dash", func(c *Config) { c.Database = "my-db" }, []string{"database"}},
		{"database starts with digit", func(c *Config) { c.Database = "1db" }, []string{"database"}},
		{"database too long", func(c *Config) { c.Database = strings.Repeat("d", 65) }, []string{"database"}},
		{"database 64 chars", func(c *Config) { c.Database = strings.Repeat("d", 64) }, nil},
		{"table with dot", func(c *Config) { c.KeyValueTable = "a.b" }, []string{"keyValueTable"}},
		{"table unicode", func(c *Config) { c.KeySetTable = "tablé" }, []string{"keySetTable"}},
		{"same tables", func(c *Config) { c.KeyValueTable, c.KeySetTable = "t", "T" }, []string{"keySetTable"}},
		{"reserved table", func(c *Config) { c.KeyValueTable = "weft_schema_version" }, []string{"keyValueTable"}},
		{"negative pool", func(c *Config) { c.MaxOpenConns, c.MaxIdleConns = -1, -2 }, []string{"maxOpenConns", "maxIdleConns"}},
		{"negative durations", func(c *Config) {
			c.ConnMaxLifetime, c.ConnMaxIdleTime, c.ConnectTimeout, c.ReadTimeout, c.WriteTimeout = -1, -1, -1, -1, -1
		}, []string{"connMaxLifetime", "connMaxIdleTime", "connectTimeout", "readTimeout", "writeTimeout"}},
		{"tls unknown", func(c *Config) { c.TLS = "yes" }, []string{"tls"}},
		{"tls preferred", func(c *Config) { c.TLS = "preferred" }, nil},
		{"tls skip-verify", func(c *Config) { c.TLS = "skip-verify" }, nil},
		{"ca file without tls means tls", func(c *Config) { c.TLSCAFile = "/ca.pem" }, nil},
		{"ca file with tls false", func(c *Config) { c.TLS = "false"; c.TLSCAFile = "/ca.pem" }, []string{"tlsCAFile"}},
		{"url fills user", func(c *Config) { *c = Config{URL: "mysql://u@h/db"} }, nil},
		{"url bad scheme", func(c *Config) { c.URL = "postgres://u@h/db" }, []string{"url"}},
		{"url and field errors together", func(c *Config) { c.URL = "http://x"; c.Port = 0; c.TLS = "no" }, []string{"url", "tls"}},
		{"url bad database", func(c *Config) { c.URL = "mysql://u@h/bad-name" }, []string{"database"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: no error, want errors for %v", tt.fields)
			}
			got := fieldsOf(err)
			if !reflect.DeepEqual(got, tt.fields) {
				t.Fatalf("Validate error fields = %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
}

// fieldsOf lists the Field of every *FieldError joined in err.
func fieldsOf(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe.Field)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want Config
		bad  string // substring of the error; "" = valid
	}{
		{in: "mysql://weft:weft@127.0.0.1:53306/weft_test",
			want: Config{Host: "127.0.0.1", Port: 53306, User: "weft", Password: "weft", Database: "weft_test"}},
		{in: "mariadb://u@db.example.com", want: Config{Host: "db.example.com", User: "u"}},
		{in: "mysql://u:p%40ss%3Aw%2Ford@[::1]:3307/", want: Config{Host: "::1", Port: 3307, User: "u", Password: "p@ss:w/ord"}},
		{in: "mysql://u@h/db?keyValueTable=kv&keySetTable=ks&maxOpenConns=4&connectTimeout=1500ms&tls=skip-verify&tlsCAFile=%2Fetc%2Fca.pem",
			want: Config{Host: "h", User: "u", Database: "db", KeyValueTable: "kv", KeySetTable: "ks", MaxOpenConns: 4,
				ConnectTimeout: 1500 * time.Millisecond, TLS: "skip-verify", TLSCAFile: "/etc/ca.pem"}},
		{in: "mysql://u@h/db?readTimeout=1m&writeTimeout=2s&connMaxLifetime=1h&connMaxIdleTime=5m&maxIdleConns=2",
			want: Config{Host: "h", User: "u", Database: "db", ReadTimeout: time.Minute, WriteTimeout: 2 * time.Second,
				ConnMaxLifetime: time.Hour, ConnMaxIdleTime: 5 * time.Minute, MaxIdleConns: 2}},
		{in: "postgres://u@h/db", bad: "scheme"},
		{in: "mysql:u@h", bad: "no host"},
		{in: "mysql:///db", bad: "no host"},
		{in: "mysql://u@h:0/db", bad: "port"},
		{in: "mysql://u@h:99999/db", bad: "port"},
		{in: "mysql://u@h/a/b", bad: "single database"},
		{in: "mysql://u@h/db?foo=1", bad: `unknown parameter "foo"`},
		{in: "mysql://u@h/db?host=x", bad: `unknown parameter "host"`},
		{in: "mysql://u@h/db?maxOpenConns=many", bad: "not an integer"},
		{in: "mysql://u@h/db?connectTimeout=5", bad: "not a duration"},
		{in: "mysql://u@h/db?tls=true&tls=false", bad: "given 2 times"},
		{in: "mysql://u@h/db#frag", bad: "fragment"},
		{in: "mysql://u:secret@h:port/db", bad: "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if tt.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tt.bad) {
					t.Fatalf("ParseURL error = %v, want one containing %q", err, tt.bad)
				}
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != "url" {
					t.Fatalf("ParseURL error %v is not a FieldError for url", err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("ParseURL error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseURL =\n%#v\nwant\n%#v", fields(got), fields(tt.want))
			}
		})
	}
}

// fields renders a Config field by field (GoString masks the password,
// which is what the comparison needs to show).
func fields(c Config) string {
	v := reflect.ValueOf(c)
	var b strings.Builder
	for i := range v.NumField() {
		if f := v.Field(i); !f.IsZero() {
			fmt.Fprintf(&b, "%s=%v ", v.Type().Field(i).Name, f.Interface())
		}
	}
	return b.String()
}

func TestURLOverridesFields(t *testing.T) {
	c := Config{URL: "mysql://url-user:url-pass@url-host/url_db?keySetTable=url_ks", Host: "field-host", Port: 1234,
		User: "field-user", Database: "field_db", KeyValueTable: "field_kv"}
	r, err := c.resolve()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{URL: c.URL, Host: "url-host", Port: 1234, User: "url-user", Password: "url-pass", Database: "url_db",
		KeyValueTable: "field_kv", KeySetTable: "url_ks"}.withDefaults()
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("resolve =\n%s\nwant\n%s", fields(r), fields(want))
	}
}

func TestStringMasksPassword(t *testing.T) {
	for _, c := range []Config{
		{User: "weft", Password: "s3cret!"},
		{URL: "mysql://weft:s3cret!@h:1/db?tls=true"},
		{URL: "mysql://weft:s3cret%21@h:1/db"},
		{URL: "mysql://weft:s3cret!@h:port/db"}, // unparsable
		{URL: "mysql://weft:s3cret!@h/db?nope=1"},
		{User: "weft", Password: "s3cret!", Port: -5}, // invalid, still printable
	} {
		for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(&c)} {
			if strings.Contains(s, "s3cret") {
				t.Errorf("printed config leaks the password: %s", s)
			}
		}
	}
	got := Config{User: "weft", Password: "pw", Port: 53306, KeySetTable: "ks", ConnectTimeout: 2 * time.Second}.String()
	for _, want := range []string{"mysql://weft:***@127.0.0.1:53306/weft?", "keySetTable=ks", "connectTimeout=2s", "tls=false"} {
		if !strings.Contains(got, want) {
			t.Errorf("String() = %s, want it to contain %s", got, want)
		}
	}
	if s := (Config{User: "weft"}).String(); strings.Contains(s, "***") {
		t.Errorf("String() without password = %s, shows a mask for nothing", s)
	}
}

// TestTagsOnEveryField keeps Config embeddable: the env/YAML loader reads
// these tags, so a new field without them would be silently unconfigurable.
func TestTagsOnEveryField(t *testing.T) {
	typ := reflect.TypeFor[Config]()
	defaults := Config{}.withDefaults()
	for i := range typ.NumField() {
		f := typ.Field(i)
		yaml, env := f.Tag.Get("yaml"), f.Tag.Get("envconfig")
		if yaml == "" || env == "" || f.Tag.Get("desc") == "" {
			t.Errorf("field %s lacks a yaml, envconfig or desc tag", f.Name)
		}
		if snake := strings.ToUpper(camelToSnake(yaml)); env != snake {
			t.Errorf("field %s: envconfig %q, want %q (upper snake of yaml %q)", f.Name, env, snake, yaml)
		}
		def, hasDef := f.Tag.Lookup("default")
		if f.Name == "TLS" {
			// Its default depends on tlsCAFile, which a tag cannot say.
			if hasDef || defaults.TLS != DefaultTLS {
				t.Errorf("field TLS: default tag %q, withDefaults gives %q; want no tag and %q", def, defaults.TLS, DefaultTLS)
			}
			continue
		}
		zeroDefault := reflect.ValueOf(defaults).Field(i).IsZero()
		if hasDef == zeroDefault {
			t.Errorf("field %s: default tag %q disagrees with withDefaults", f.Name, def)
		}
		if hasDef && fmt.Sprint(reflect.ValueOf(defaults).Field(i).Interface()) != normalizeDuration(def) {
			t.Errorf("field %s: default tag %q, withDefaults gives %v", f.Name, def, reflect.ValueOf(defaults).Field(i).Interface())
		}
	}
}

func camelToSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			// Runs of capitals (CA in tlsCAFile) are one word.
			prevUpper := i > 0 && s[i-1] >= 'A' && s[i-1] <= 'Z'
			nextLower := i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z'
			if i > 0 && (!prevUpper || nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func normalizeDuration(s string) string {
	if d, err := time.ParseDuration(s); err == nil {
		return d.String()
	}
	return s
}

// A CA file says the server is to be verified: without a tls setting it
// means tls: true, never a connection in clear text.
func TestCAFileMeansVerifiedTLS(t *testing.T) {
	for _, c := range []Config{
		{User: "u", TLSCAFile: "/ca.pem"},
		{URL: "mysql://u@h/db?tlsCAFile=/ca.pem"},
		{URL: "mysql://u@h/db", TLSCAFile: "/ca.pem"},
	} {
		r, err := c.resolve()
		if err != nil {
			t.Errorf("%v: %v", c, err)
			continue
		}
		if r.TLS != "true" {
			t.Errorf("%v: tls = %q, want true", c, r.TLS)
		}
	}
	if r, _ := (Config{User: "u"}).resolve(); r.TLS != "false" {
		t.Errorf("no CA file: tls = %q, want false", r.TLS)
	}
	for _, tls := range []string{"false", "skip-verify", "preferred"} {
		_, err := Config{User: "u", TLS: tls, TLSCAFile: "/ca.pem"}.resolve()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "tlsCAFile" {
			t.Errorf("explicit tls %s with a CA file: %v, want a tlsCAFile error", tls, err)
		}
	}
}
