package config_test

import (
	"errors"
	. "github.com/weftio/weft/internal/config"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzLoad reads a configuration file and one environment variable from
// outside: loading never panics, an error is the file's (naming it) or
// FieldErrors naming each setting, and a configuration that loads writes
// out as YAML that loads back to the same configuration.
func FuzzLoad(f *testing.F) {
	for _, y := range []string{
		"", "storage: redis\nworker:\n  concurrency: 3\n  shutdownGrace: 5s\nlog:\n  level: debug\n",
		"transport: pgqueue\nstorage: postgres\npostgres:\n  host: db.example\n  maxConns: 7\n  sslMode: require\npgqueue:\n  user: queue\n",
		"storage: mysql\nmysql:\n  url: mysql://u:p@h/d?keyValueTable=kv\ncompression: gzip\ncache:\n  maximumSize: 10\n",
		"transport: pulsar\npulsar:\n  url: pulsar://h:6650\n  token: t\nevents:\n  sink: http://sink\n  timeout: 1s\n",
		"storge: redis\n", "worker: [1, 2]\n", "engine:\n  retention: forever\n", "---\nstorage: redis\n---\nstorage: mysql\n",
		"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
		"redis: &r {host: h}\nmysql: *r\n", "log: {level: !!binary aW5mbw==}\n", "\xff\xfe", "{", ": :",
	} {
		f.Add([]byte(y), uint16(0), "")
	}
	f.Add([]byte(""), uint16(3), "5s")
	f.Add([]byte(""), uint16(7), "-1")
	f.Add([]byte(""), uint16(11), "0x10")
	base, _ := Load(Source{Lookup: func(string) (string, bool) { return "", false }})
	fs, _ := base.Fields()
	f.Fuzz(func(t *testing.T, file []byte, which uint16, value string) {
		lookup := func(name string) (string, bool) {
			if value != "" && name == fs[int(which)%len(fs)] {
				return value, true
			}
			return "", false
		}
		read := func(string) ([]byte, error) { return file, nil }
		c, err := Load(Source{File: "weft.yaml", Lookup: lookup, ReadFile: read})
		if err != nil {
			if strings.HasPrefix(err.Error(), "configuration file weft.yaml: ") {
				return
			}
			for _, e := range Unjoin(err) {
				var fe *FieldError
				if !errors.As(e, &fe) || fe.Env == "" || fe.Path == "" {
					t.Fatalf("error %q names no setting", e)
				}
			}
			if c == nil {
				t.Fatal("invalid settings but no configuration")
			}
			c.Print()
			return
		}
		c.Print()
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("the configuration does not write out: %v", err)
		}
		again, err := Load(Source{File: "again.yaml", Lookup: lookup, ReadFile: func(string) ([]byte, error) { return out, nil }})
		if err != nil {
			t.Fatalf("the configuration written out does not load: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("the configuration changed through YAML:\n%+v\n%+v\n%s", c, again, out)
		}
	})
}
