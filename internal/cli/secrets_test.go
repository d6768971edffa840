package cli

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// secretEnv sets every URL-shaped setting to one holding a password or a
// token (each its own, so a leak names its setting), and returns the
// secrets. Not parallel: it sets the process environment.
func secretEnv(t *testing.T, env map[string]string) []string {
	t.Helper()
	var secrets []string
	for k, v := range env {
		t.Setenv(k, v)
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(":@/?&=().", r) }) {
			if strings.HasPrefix(f, "PW") {
				secrets = append(secrets, f)
			}
		}
	}
	if len(secrets) == 0 {
		t.Fatal("no secrets in the environment")
	}
	return secrets
}

func assertNoSecret(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s shows the secret %s:\n%s", what, s, text)
		}
	}
}

func TestConfigValidateMasksURLs(t *testing.T) {
	secrets := secretEnv(t, map[string]string{
		"WEFT_STORAGE":          "postgres",
		"WEFT_POSTGRES_URL":     "postgres://weft:PWpostgres@db.example:5432/app?sslmode=disable&password=PWpgquery",
		"WEFT_MYSQL_URL":        "weft:PWmysqldsn@tcp(mysql.example:3306)/app",
		"WEFT_REDIS_URL":        "redis://weft:PWredis@redis.example:6379/0",
		"WEFT_TRANSPORT":        "pulsar",
		"WEFT_PULSAR_URL":       "pulsar://pulsar.example:6650",
		"WEFT_PULSAR_ADMIN_URL": "http://admin:PWpulsaradmin@pulsar.example:8080",
		"WEFT_PULSAR_TOKEN":     "PWpulsartoken",
		"WEFT_PGQUEUE_URL":      "postgres://queue:PWpgqueue@queue.example/app",
		"WEFT_EVENTS_SINK":      "https://hook:PWsinkuser@sink.example/in?token=PWsinktoken&source=weft",
		"WEFT_DEV_TOKEN":        "PWdevtoken0123456789",
	})
	code, out, errOut := cli(context.Background(), "config", "validate")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	assertNoSecret(t, "config validate", out+errOut, secrets)
	for _, want := range []string{"db.example:5432/app", "mysql.example:3306", "redis.example:6379", "pulsar.example:8080",
		"queue.example/app", "sink.example/in", "source=weft", "xxxxx"} {
		if !strings.Contains(out, want) {
			t.Errorf("config validate does not show %q:\n%s", want, out)
		}
	}
}

func TestConfigValidateErrorsMaskURLs(t *testing.T) {
	secrets := secretEnv(t, map[string]string{
		"WEFT_TRANSPORT":          "pulsar",
		"WEFT_PULSAR_URL":         "pulsr://u:PWpulsarurl@pulsar.example:6650",
		"WEFT_PULSAR_ADMIN_URL":   "ftp://admin:PWpulsaradmin@pulsar.example:8080/?token=PWadmintoken",
		"WEFT_EVENTS_SINK":        "ftp://hook:PWsinkuser@sink.example/in?token=PWsinktoken",
		"WEFT_WORKER_CONCURRENCY": "postgres://u:PWnotanumber@db/app",
	})
	code, out, errOut := cli(context.Background(), "config", "validate")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, out)
	}
	assertNoSecret(t, "config validate's errors", out+errOut, secrets)
	for _, want := range []string{"WEFT_PULSAR_URL", "WEFT_PULSAR_ADMIN_URL", "WEFT_EVENTS_SINK", "WEFT_WORKER_CONCURRENCY", "sink.example"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the errors do not name %s:\n%s", want, errOut)
		}
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestConnectionErrorsMaskURLs(t *testing.T) {
	addr := closedPort(t)
	for name, env := range map[string]map[string]string{
		// A service URL cannot hold a password (it is refused); the token
		// and the admin URL's password are what may leak.
		"pulsar": {"WEFT_TRANSPORT": "pulsar", "WEFT_PULSAR_URL": "pulsar://" + addr, "WEFT_PULSAR_TOKEN": "PWpulsartoken",
			"WEFT_PULSAR_ADMIN_URL": "http://admin:PWpulsaradmin@" + addr, "WEFT_PULSAR_CONNECTION_TIMEOUT": "2s"},
		"postgres": {"WEFT_STORAGE": "postgres",
			"WEFT_POSTGRES_URL": "postgres://weft:PWpostgres@" + addr + "/app?sslmode=disable&connect_timeout=2"},
		"pgqueue": {"WEFT_TRANSPORT": "pgqueue",
			"WEFT_PGQUEUE_URL": "postgres://weft:PWpgqueue@" + addr + "/app?sslmode=disable&connect_timeout=2&password=PWpgqueuequery"},
		"mysql": {"WEFT_STORAGE": "mysql", "WEFT_MYSQL_URL": "mysql://weft:PWmysql@" + addr + "/app", "WEFT_MYSQL_CONNECT_TIMEOUT": "2s"},
		"redis": {"WEFT_STORAGE": "redis", "WEFT_REDIS_URL": "redis://weft:PWredis@" + addr + "/0", "WEFT_REDIS_DIAL_TIMEOUT": "2s"},
	} {
		t.Run(name, func(t *testing.T) {
			secrets := secretEnv(t, env)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			code, out, errOut := cli(ctx, "demo")
			if code != 1 || !strings.Contains(errOut, addr) {
				t.Fatalf("exit %d, stderr %q; want 1 and an error naming %s", code, errOut, addr)
			}
			assertNoSecret(t, "the connection error", out+errOut, secrets)
		})
	}
}
