package pgqueue_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/internal/pgsetup"
	"github.com/weftio/weft/transport/pgqueue"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	c, err := pgqueue.ParseURL("postgresql://alice:s%40cret@DB.Example.com:6543/queues?sslmode=require&schema=jobs&table_prefix=q_&mode=EventDrivenOnly&poll_interval=250ms&fallback_threshold=3s&visibility_timeout=2m&max_message_size=1000&application_name=worker&pool_max_conns=7")
	if err != nil {
		t.Fatal(err)
	}
	want := pgqueue.Config{
		Server:  pgqueue.Server{Host: "DB.Example.com", Port: 6543, User: "alice", Password: "s@cret", Database: "queues"},
		Session: pgqueue.Session{SSLMode: "require"}, Schema: "jobs", TablePrefix: "q_", Mode: pgqueue.EventDrivenOnly,
		PollInterval: 250 * time.Millisecond, FallbackThreshold: 3 * time.Second, VisibilityTimeout: 2 * time.Minute,
		MaxMessageSize: 1000, Pool: pgqueue.Pool{MaxConns: 7},
	}
	got := c
	got.URL = ""
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"host", got.Host, want.Host}, {"port", got.Port, want.Port}, {"user", got.User, want.User},
		{"password", got.Password, want.Password}, {"database", got.Database, want.Database},
		{"sslMode", got.SSLMode, want.SSLMode}, {"schema", got.Schema, want.Schema},
		{"tablePrefix", got.TablePrefix, want.TablePrefix}, {"mode", got.Mode, want.Mode},
		{"pollInterval", got.PollInterval, want.PollInterval}, {"fallbackThreshold", got.FallbackThreshold, want.FallbackThreshold},
		{"visibilityTimeout", got.VisibilityTimeout, want.VisibilityTimeout}, {"maxMessageSize", got.MaxMessageSize, want.MaxMessageSize},
		{"maxConns", got.MaxConns, want.MaxConns},
	} {
		if f.got != f.want {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate of a parsed URL: %v", err)
	}

	d, err := pgqueue.ParseURL("postgres://")
	if err != nil {
		t.Fatal(err)
	}
	if d.Host != pgqueue.DefaultHost || d.Port != pgqueue.DefaultPort || d.Mode != pgqueue.Hybrid ||
		d.MaxMessageSize != pgqueue.DefaultMaxMessageSize || d.VisibilityTimeout != pgqueue.DefaultVisibilityTimeout ||
		d.Schema != "weft" || d.TablePrefix != "queue_" {
		t.Errorf("defaults not applied: %v", d)
	}
}

func TestParseURLErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, want string }{
		{"mysql://u:pw@h/db", "scheme"},
		{"postgres://u:topsecret@h:99999/db", "port"},
		{"postgres://u:topsecret@h/db?mode=sometimes", "mode"},
		{"postgres://u:topsecret@h/db?poll_interval=often", "poll_interval"},
		{"postgres://u:topsecret@h/db?max_message_size=0", "max_message_size"},
		{"postgres://u:topsecret@h1,h2/db", "several hosts"},
		{"postgres://u:top%zzsecret@h/db", "escape"},
		{"postgres://u:topsecret@h/db?bad-name=1", "plain word"},
	} {
		_, err := pgqueue.ParseURL(tc.url)
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q) = %v, want it to mention %q", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "zzsecret") {
			t.Errorf("ParseURL(%q) error shows the password: %v", tc.url, err)
		}
		var fe *pgqueue.FieldError
		if !errors.As(err, &fe) || fe.FieldName() != "url" {
			t.Errorf("ParseURL(%q) error %v is not a FieldError for url", tc.url, err)
		}
	}
}

func TestValidateNamesFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		field string
		cfg   pgqueue.Config
	}{
		{"port", pgqueue.Config{Server: pgqueue.Server{Port: 70000}}},
		{"schema", pgqueue.Config{Schema: "bad-name"}},
		{"schema", pgqueue.Config{Schema: "pg_mine"}},
		{"tablePrefix", pgqueue.Config{TablePrefix: "x; DROP TABLE y"}},
		{"tablePrefix", pgqueue.Config{TablePrefix: strings.Repeat("p", 50)}},
		{"maxConns", pgqueue.Config{Pool: pgqueue.Pool{MaxConns: -1}}},
		{"minConns", pgqueue.Config{Pool: pgqueue.Pool{MaxConns: 2, MinConns: 3}}},
		{"mode", pgqueue.Config{Mode: "sometimes"}},
		{"pollInterval", pgqueue.Config{PollInterval: -time.Second}},
		{"fallbackThreshold", pgqueue.Config{FallbackThreshold: -time.Second}},
		{"visibilityTimeout", pgqueue.Config{VisibilityTimeout: time.Millisecond}},
		{"maxMessageSize", pgqueue.Config{MaxMessageSize: pgqueue.MaxMessageSizeLimit + 1}},
		{"maxMessageSize", pgqueue.Config{MaxMessageSize: -5}},
		{"retention", pgqueue.Config{Retention: -time.Second}},
		{"deadLetterRetention", pgqueue.Config{DeadLetterRetention: -time.Second}},
		{"sslMode", pgqueue.Config{Session: pgqueue.Session{SSLMode: "sometimes"}}},
		{"connectTimeout", pgqueue.Config{Session: pgqueue.Session{ConnectTimeout: -time.Second}}},
		{"url", pgqueue.Config{Server: pgqueue.Server{URL: "http://x"}}},
	} {
		err := tc.cfg.Validate()
		var fe *pgqueue.FieldError
		if !errors.As(err, &fe) {
			t.Errorf("Validate(%v) = %v, want a FieldError for %s", tc.cfg, err, tc.field)
			continue
		}
		if !strings.Contains(err.Error(), "pgqueue: "+tc.field+": ") {
			t.Errorf("Validate(%v) = %v, want it to name %s", tc.cfg, err, tc.field)
		}
	}
	// Several problems are reported at once.
	err := pgqueue.Config{Server: pgqueue.Server{Port: -1}, Mode: "x", MaxMessageSize: -1}.Validate()
	for _, f := range []string{"port", "mode", "maxMessageSize"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("joined error %v does not name %s", err, f)
		}
	}
	if err := (pgqueue.Config{}).Validate(); err != nil {
		t.Errorf("the zero Config is invalid: %v", err)
	}
	for _, m := range []string{"hybrid", "EventDrivenOnly", "event_driven_only", "PollingOnly", "polling-only"} {
		if err := (pgqueue.Config{Mode: pgqueue.Mode(m)}).Validate(); err != nil {
			t.Errorf("mode %q refused: %v", m, err)
		}
	}
}

func TestSecretsNotPrinted(t *testing.T) {
	t.Parallel()
	cfgs := []pgqueue.Config{
		{Server: pgqueue.Server{Password: "hunter2-field"}},
		{Server: pgqueue.Server{URL: "postgres://u:hunter2-url@h/db"}},
		{Server: pgqueue.Server{URL: "postgres://u@h/db?password=hunter2-param"}},
		{Server: pgqueue.Server{URL: "postgres://u:hunter2-bad@h:99999/db"}},
	}
	for _, c := range cfgs {
		for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(c.Validate())} {
			if strings.Contains(s, "hunter2") {
				t.Errorf("secret printed: %s", s)
			}
		}
	}
	if s := cfgs[0].String(); !strings.Contains(s, "password=****") {
		t.Errorf("String does not show that a password is set: %s", s)
	}
}

// TestDefaultTags: the struct tags, which env/YAML front ends apply, say
// what the constants (and so the zero value) mean.
func TestDefaultTags(t *testing.T) {
	t.Parallel()
	if pgqueue.DefaultVisibilityTimeout != 10*time.Second {
		t.Errorf("DefaultVisibilityTimeout = %v, want 10s", pgqueue.DefaultVisibilityTimeout)
	}
	typ := reflect.TypeFor[pgqueue.Config]()
	for _, f := range []struct {
		field string
		want  time.Duration
	}{
		{"VisibilityTimeout", pgqueue.DefaultVisibilityTimeout},
		{"PollInterval", pgqueue.DefaultPollInterval},
		{"FallbackThreshold", pgqueue.DefaultFallbackThreshold},
		{"CleanupInterval", pgqueue.DefaultCleanupInterval},
		{"ConnectTimeout", pgqueue.DefaultConnectTimeout},
		{"MaxConnLifetime", pgqueue.DefaultMaxConnLifetime},
		{"MaxConnIdleTime", pgqueue.DefaultMaxConnIdleTime},
	} {
		sf, ok := typ.FieldByName(f.field)
		if !ok {
			t.Errorf("Config has no field %s", f.field)
			continue
		}
		got, err := time.ParseDuration(sf.Tag.Get("default"))
		if err != nil || got != f.want {
			t.Errorf("%s: default tag %q, want %v", f.field, sf.Tag.Get("default"), f.want)
		}
	}
	desc, _ := typ.FieldByName("VisibilityTimeout")
	for _, part := range []string{"stops renewing", "every third"} {
		if !strings.Contains(desc.Tag.Get("desc"), part) {
			t.Errorf("visibilityTimeout desc %q does not say %q", desc.Tag.Get("desc"), part)
		}
	}
	var zero pgqueue.Config
	if s := zero.String(); !strings.Contains(s, "visibilityTimeout=10s") {
		t.Errorf("the zero Config's effective settings %s do not show visibilityTimeout=10s", s)
	}
}

// TestPoolMatchesShared: the queue's Pool differs from the shared one in its
// descriptions only (the conversion between them keeps names and types in
// step; this keeps the loader's tags and defaults in step too).
func TestPoolMatchesShared(t *testing.T) {
	t.Parallel()
	mine, shared := reflect.TypeFor[pgqueue.Pool](), reflect.TypeFor[pgsetup.Pool]()
	if mine.NumField() != shared.NumField() {
		t.Fatalf("Pool has %d fields, pgsetup.Pool %d", mine.NumField(), shared.NumField())
	}
	for i := range mine.NumField() {
		m, s := mine.Field(i), shared.Field(i)
		for _, tag := range []string{"yaml", "envconfig", "default"} {
			if m.Tag.Get(tag) != s.Tag.Get(tag) {
				t.Errorf("%s: %s tag %q, the shared one says %q", m.Name, tag, m.Tag.Get(tag), s.Tag.Get(tag))
			}
		}
		if m.Tag.Get("desc") == "" {
			t.Errorf("%s has no description", m.Name)
		}
	}
}
