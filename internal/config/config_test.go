package config_test

import (
	"errors"
	. "github.com/weftio/weft/internal/config"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.yaml.in/yaml/v3"

	"github.com/weftio/weft/storage/mysql"
	"github.com/weftio/weft/storage/postgres"
	"github.com/weftio/weft/transport/pgqueue"
	"github.com/weftio/weft/transport/pulsar"
)

func pgq(c *Config) *pgqueue.Config  { return SettingsOf[pgqueue.Config](c, "pgqueue") }
func pgs(c *Config) *postgres.Config { return SettingsOf[postgres.Config](c, "postgres") }

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func files(m map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if v, ok := m[p]; ok {
			return []byte(v), nil
		}
		return nil, os.ErrNotExist
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load(Source{Lookup: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage != "memory" || c.Engine.Retention != 168*time.Hour || c.Worker.Concurrency != 8 || c.Log.Level != "info" {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestPrecedenceEnvOverFileOverDefaults(t *testing.T) {
	yaml := "storage: redis\nworker:\n  concurrency: 3\n  shutdownGrace: 5s\nlog:\n  level: debug\n"
	c, err := Load(Source{File: "/etc/weft.yaml", ReadFile: files(map[string]string{"/etc/weft.yaml": yaml}),
		Lookup: env(map[string]string{"WEFT_WORKER_CONCURRENCY": "12"})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage != "redis" || c.Worker.Concurrency != 12 || c.Worker.ShutdownGrace != 5*time.Second || c.Log.Level != "debug" || c.Log.Format != "text" {
		t.Fatalf("config = %+v", c)
	}
}

func TestEveryErrorNamesItsSetting(t *testing.T) {
	_, err := Load(Source{Lookup: env(map[string]string{
		"WEFT_STORAGE":             "cassandra",
		"WEFT_WORKER_CONCURRENCY":  "many",
		"WEFT_ENGINE_RETENTION":    "-1h",
		"WEFT_LOG_FORMAT":          "xml",
		"WEFT_STORAGE_COMPRESSION": "zstd",
	})})
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	msg := err.Error()
	for _, want := range []string{"WEFT_STORAGE (storage)", "WEFT_WORKER_CONCURRENCY (worker.concurrency)", "WEFT_ENGINE_RETENTION",
		"WEFT_LOG_FORMAT", "WEFT_STORAGE_COMPRESSION", `"many"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("errors are not FieldErrors: %v", err)
	}
}

func TestSecretsFromFilesAndMasked(t *testing.T) {
	c, err := Load(Source{Lookup: env(map[string]string{"WEFT_LOG_LEVEL_FILE": "/run/secrets/level"}),
		ReadFile: files(map[string]string{"/run/secrets/level": "warn\n"})})
	if err != nil || c.Log.Level != "warn" {
		t.Fatalf("_FILE variable: %v, level %q", err, c.Log.Level)
	}
	if _, err := Load(Source{Lookup: env(map[string]string{"WEFT_LOG_LEVEL_FILE": "/missing"}), ReadFile: files(nil)}); err == nil ||
		!strings.Contains(err.Error(), "WEFT_LOG_LEVEL_FILE") {
		t.Fatalf("missing secret file: %v", err)
	}
}

func TestFileErrors(t *testing.T) {
	if _, err := Load(Source{File: "/nope.yaml", ReadFile: files(nil), Lookup: env(nil)}); err == nil {
		t.Fatal("missing file accepted")
	}
	_, err := Load(Source{File: "/c.yaml", ReadFile: files(map[string]string{"/c.yaml": "storge: redis\n"}), Lookup: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "storge") {
		t.Fatalf("unknown YAML key: %v", err)
	}
}

func TestUnknownVariablesAndUsage(t *testing.T) {
	got := Unknown([]string{"WEFT_STORAGE=redis", "WEFT_STROAGE=redis", "WEFT_TEST_REDIS_URL=x", "HOME=/root", "WEFT_LOG_LEVEL_FILE=/x"})
	if len(got) != 1 || got[0] != "WEFT_STROAGE" {
		t.Fatalf("Unknown = %v", got)
	}
	u := Usage()
	for _, want := range []string{"WEFT_STORAGE", "WEFT_WORKER_CONCURRENCY", "WEFT_STORAGE_CACHE_MAXIMUM_SIZE"} {
		if !strings.Contains(u, want) {
			t.Errorf("usage lacks %s:\n%s", want, u)
		}
	}
	c, _ := Load(Source{Lookup: env(nil)})
	if p := c.Print(); !strings.Contains(p, "worker.concurrency") || !strings.Contains(p, "WEFT_WORKER_CONCURRENCY") {
		t.Errorf("Print:\n%s", p)
	}
}

func TestDriverSettingsValidatedOnlyWhenUsed(t *testing.T) {
	bad := map[string]string{"WEFT_REDIS_PORT": "70000", "WEFT_REDIS_PASSWORD": "hunter2"}
	if _, err := Load(Source{Lookup: env(bad)}); err != nil {
		t.Fatalf("redis settings are checked although storage is memory: %v", err)
	}
	bad["WEFT_STORAGE"] = "redis"
	c, err := Load(Source{Lookup: env(bad)})
	if err == nil || !strings.Contains(err.Error(), "WEFT_REDIS_PORT (redis.port)") {
		t.Fatalf("err = %v, want the redis port named", err)
	}
	if p := c.Print(); strings.Contains(p, "hunter2") || !strings.Contains(p, "redis.password") {
		t.Fatalf("Print leaks or omits the password:\n%s", p)
	}
}

func TestQueueInheritsThePostgresStorageConnection(t *testing.T) {
	base := map[string]string{
		"WEFT_TRANSPORT":         "pgqueue",
		"WEFT_STORAGE":           "postgres",
		"WEFT_POSTGRES_URL":      "postgres://weft:secret@db.example:6543/app?sslmode=disable",
		"WEFT_POSTGRES_PASSWORD": "secret",
	}
	c, err := Load(Source{Lookup: env(base)})
	if err != nil {
		t.Fatal(err)
	}
	if pgq(c).URL != base["WEFT_POSTGRES_URL"] || pgq(c).Password != "secret" {
		t.Errorf("queue connection %v does not follow the storage's", pgq(c))
	}
	if pgq(c).Schema != "weft" || pgq(c).TablePrefix != "queue_" {
		t.Errorf("queue tables %s.%s*, want the queue's own defaults", pgq(c).Schema, pgq(c).TablePrefix)
	}

	own := map[string]string{"WEFT_PGQUEUE_HOST": "queue.example"}
	for k, v := range base {
		own[k] = v
	}
	if c, err = Load(Source{Lookup: env(own)}); err != nil {
		t.Fatal(err)
	}
	if pgq(c).URL != "" || pgq(c).Host != "queue.example" {
		t.Errorf("a queue with its own host took the storage's connection: %v", pgq(c))
	}

	other := map[string]string{"WEFT_TRANSPORT": "pgqueue", "WEFT_STORAGE": "redis"}
	if c, err = Load(Source{Lookup: env(other)}); err != nil {
		t.Fatal(err)
	}
	if pgq(c).Host != "127.0.0.1" || pgq(c).URL != "" {
		t.Errorf("with Redis storage the queue keeps its defaults, got %v", pgq(c))
	}
}

// TestWalkerAgreesWithEnvconfigAndYAML: the walker that loads, prints and
// names the settings gives every one the environment variable envconfig
// documents in Usage, in the same order, and the path the YAML decoder
// reads, embedded structs (the PostgreSQL drivers' shared connection
// settings) included.
func TestWalkerAgreesWithEnvconfigAndYAML(t *testing.T) {
	c, err := Load(Source{Lookup: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	// envconfig's own account of the variables: the core settings, then
	// each driver's section under its prefix.
	var usage strings.Builder
	const format = "{{range .}}{{usage_key .}}\t{{usage_default .}}\t{{usage_description .}}\n{{end}}"
	if err := envconfig.Usagef(Prefix, &Config{}, &usage, format); err != nil {
		t.Fatal(err)
	}
	for _, d := range Drivers() {
		if err := envconfig.Usagef(Prefix+"_"+strings.ToUpper(d.Name), c.Settings(d.Name), &usage, format); err != nil {
			t.Fatal(err)
		}
	}
	if usage.String() != Usage() {
		t.Errorf("Usage differs from envconfig's:\n%s\nenvconfig:\n%s", Usage(), usage.String())
	}
	var documented []string
	for _, line := range strings.Split(strings.TrimSpace(usage.String()), "\n") {
		documented = append(documented, strings.SplitN(line, "\t", 2)[0])
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(out, &tree); err != nil {
		t.Fatal(err)
	}
	walked, paths := c.Fields()
	for i, path := range paths {
		node := any(tree)
		for _, key := range strings.Split(path, ".") {
			m, _ := node.(map[string]any)
			node = m[key]
			if m == nil || node == nil {
				t.Errorf("%s: YAML has no %s", walked[i], path)
				break
			}
		}
	}
	if !slices.Equal(walked, documented) {
		t.Errorf("walker's variables\n%q\ndiffer from envconfig's\n%q", walked, documented)
	}
}

func TestEmbeddedConnectionSettings(t *testing.T) {
	yml := "postgres:\n  host: db.example\n  maxConns: 7\n  sslMode: require\npgqueue:\n  user: queue\n  maxConnIdleTime: 3m\n"
	c, err := Load(Source{File: "/c.yaml", ReadFile: files(map[string]string{"/c.yaml": yml}),
		Lookup: env(map[string]string{"WEFT_POSTGRES_PORT": "6000", "WEFT_PGQUEUE_CONNECT_TIMEOUT": "9s", "WEFT_PGQUEUE_MIN_CONNS": "2"})})
	if err != nil {
		t.Fatal(err)
	}
	p, q := pgs(c), pgq(c)
	if p.Host != "db.example" || p.MaxConns != 7 || p.SSLMode != "require" || p.Port != 6000 || p.Database != "postgres" {
		t.Errorf("postgres = %v", p)
	}
	if q.User != "queue" || q.MaxConnIdleTime != 3*time.Minute || q.ConnectTimeout != 9*time.Second || q.MinConns != 2 || q.MaxConns != 10 {
		t.Errorf("pgqueue = %v", q)
	}
	printed := c.Print()
	for _, want := range []string{"postgres.host", "WEFT_POSTGRES_HOST", "pgqueue.sslRootCert", "WEFT_PGQUEUE_SSL_ROOT_CERT"} {
		if !strings.Contains(printed, want) {
			t.Errorf("Print lacks %s:\n%s", want, printed)
		}
	}
	if u := Unknown([]string{"WEFT_POSTGRES_MAX_CONNS=1", "WEFT_PGQUEUE_PASSWORD_FILE=/x", "WEFT_POSTGRES_SERVER_HOST=h"}); !slices.Equal(u, []string{"WEFT_POSTGRES_SERVER_HOST"}) {
		t.Errorf("Unknown = %v", u)
	}
	_, err = Load(Source{Lookup: env(map[string]string{"WEFT_STORAGE": "postgres", "WEFT_POSTGRES_MAX_CONNS": "-1"})})
	if err == nil || !strings.Contains(err.Error(), "WEFT_POSTGRES_MAX_CONNS (postgres.maxConns)") {
		t.Errorf("err = %v, want the pool size named by its variable and path", err)
	}
}

// A certificate given in the environment, with no mode chosen, means a
// verified connection through the loader too (whose defaults come from the
// struct tags, so a tag default would win over what the URL implies).
func TestCertificatesMeanVerifiedConnections(t *testing.T) {
	c, err := Load(Source{Lookup: env(map[string]string{
		"WEFT_STORAGE": "postgres", "WEFT_TRANSPORT": "pgqueue",
		"WEFT_POSTGRES_URL":      "postgres://weft@db.example/weft?sslrootcert=/ca.pem",
		"WEFT_MYSQL_URL":         "mysql://weft@db.example/weft",
		"WEFT_MYSQL_TLS_CA_FILE": "/ca.pem",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if s := pgs(c).String(); !strings.Contains(s, "sslMode=verify-full") {
		t.Errorf("postgres with a root certificate: %s, want sslMode=verify-full", s)
	}
	if s := pgq(c).String(); !strings.Contains(s, "sslMode=verify-full") {
		t.Errorf("pgqueue inheriting it: %s, want sslMode=verify-full", s)
	}
	if s := SettingsOf[mysql.Config](c, "mysql").String(); !strings.Contains(s, "tls=true") {
		t.Errorf("mysql with a CA file: %s, want tls=true", s)
	}
	if SettingsOf[pulsar.Config](c, "pulsar").TLSSkipHostnameVerification {
		t.Error("pulsar: host names not verified by default")
	}
	c, err = Load(Source{Lookup: env(map[string]string{"WEFT_STORAGE": "postgres"})})
	if err != nil {
		t.Fatal(err)
	}
	if s := pgs(c).String(); !strings.Contains(s, "sslMode=prefer") {
		t.Errorf("postgres without certificates: %s, want libpq's sslMode=prefer", s)
	}
}

// TestPrintMasksURLs: the passwords and tokens inside URLs are masked in
// Print, and what says which server is meant is kept.
func TestPrintMasksURLs(t *testing.T) {
	c, err := Load(Source{Lookup: env(map[string]string{
		"WEFT_STORAGE":      "postgres",
		"WEFT_POSTGRES_URL": "postgres://weft:hunter2@db.example/app?password=hunter3",
		"WEFT_MYSQL_URL":    "weft:hunter4@tcp(mysql.example)/app",
		"WEFT_EVENTS_SINK":  "https://sink.example/in?access_token=hunter5",
	})})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Print()
	if strings.Contains(p, "hunter") {
		t.Errorf("Print shows a secret:\n%s", p)
	}
	for _, want := range []string{"postgres://weft:xxxxx@db.example/app?password=xxxxx", "weft:xxxxx@tcp(mysql.example)/app", "https://sink.example/in?access_token=xxxxx"} {
		if !strings.Contains(p, want) {
			t.Errorf("Print lacks %s:\n%s", want, p)
		}
	}
	_, err = Load(Source{Lookup: env(map[string]string{"WEFT_EVENTS_SINK": "ftp://u:hunter6@sink.example", "WEFT_ENGINE_RETENTION": "redis://:hunter7@r/0"})})
	if err == nil || strings.Contains(err.Error(), "hunter") || !strings.Contains(err.Error(), "sink.example") {
		t.Errorf("errors: %v", err)
	}
}
