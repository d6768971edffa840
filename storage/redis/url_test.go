package redis

import (
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		url  string
		want Config
	}{
		{"redis://localhost", Config{Host: "localhost"}},
		{"redis://127.0.0.1:6380/2", Config{Host: "127.0.0.1", Port: 6380, Database: 2}},
		{"redis://h/", Config{Host: "h"}},
		{"REDIS://h", Config{Host: "h"}},
		{"rediss://h", Config{Host: "h", TLS: true}},
		{"redis://[::1]:7000", Config{Host: "::1", Port: 7000}},
		{"redis://:secret@h", Config{Host: "h", Password: "secret"}},
		{"redis://user@h", Config{Host: "h", Username: "user"}},
		{"redis://user:p%40ss%3Aw0rd@h", Config{Host: "h", Username: "user", Password: "p@ss:w0rd"}},
		{"redis://h?keyPrefix=app%3A&dialTimeout=2s&readTimeout=500ms&writeTimeout=1s&poolSize=20&minIdleConns=2",
			Config{Host: "h", KeyPrefix: "app:", DialTimeout: 2 * time.Second, ReadTimeout: 500 * time.Millisecond,
				WriteTimeout: time.Second, PoolSize: 20, MinIdleConns: 2}},
		{"rediss://h?tlsCAFile=/etc/ca.pem&tlsServerName=redis&tlsInsecureSkipVerify=false",
			Config{Host: "h", TLS: true, TLSCAFile: "/etc/ca.pem", TLSServerName: "redis"}},
		{"redis://", Config{}},
	} {
		t.Run(c.url, func(t *testing.T) {
			got, err := ParseURL(c.url)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("ParseURL = %+v\nwant       %+v", got, c.want)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	const secret = "hunter2"
	for _, c := range []struct{ url, want string }{
		{"http://h", `scheme "http" is not redis or rediss`},
		{"unix:///tmp/redis.sock", "unix sockets are not supported"},
		{"h:6379", `scheme "h"`},
		{"localhost", `scheme ""`},
		{"redis:h", "expected redis://host"},
		{"redis://h#frag", "fragment"},
		{"redis://u:" + secret + "@h:abc", "invalid port"},
		{"redis://h:0", `port "0" is not a number in 1..65535`},
		{"redis://h:70000", `port "70000"`},
		{"redis://h/db", `database "db" in the path is not a number`},
		{"redis://h/1/2", `path "/1/2"`},
		{"redis://u:" + secret + "@h?foo=1", "parameter foo: unknown; known parameters are keyPrefix"},
		{"redis://h?host=x", "parameter host: unknown"},
		{"redis://h?poolSize=many", `parameter poolSize: "many" is not a whole number`},
		{"redis://h?dialTimeout=5", `parameter dialTimeout: "5" is not a duration`},
		{"redis://h?tlsInsecureSkipVerify=yes!", `parameter tlsInsecureSkipVerify: "yes!" is not true or false`},
		{"redis://h?keyPrefix=a&keyPrefix=b", "parameter keyPrefix is given 2 times"},
		{"redis://h?a=%zz", "query"},
		{"redis://u:" + secret + "@h/%zz", "not a URL"},
	} {
		t.Run(c.url, func(t *testing.T) {
			_, err := ParseURL(c.url)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "redis: url: ") {
				t.Errorf("error %q, want it to start with \"redis: url: \" and contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
