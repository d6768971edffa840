package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/testenv"
	"github.com/weftio/weft/transport"
)

// The secured services (scripts/secured.sh) accept only what a production
// deployment should: TLS verified against their CA, and the right
// credentials. These tests run the examples on them end to end and check
// that each wrong setting fails with an error that names the problem and
// holds no secret.

// securedSettings returns the WEFT_* variables that select storage st and
// transport tr on the secured services, each in a namespace of its own.
// Secrets come through the *_FILE variables, as a deployment would give
// them.
func securedSettings(t *testing.T, st, tr string) map[string]string {
	t.Helper()
	ns := "sec_" + testenv.Suffix()
	env := map[string]string{"WEFT_STORAGE": st, "WEFT_TRANSPORT": tr, "WEFT_LOG_LEVEL": "warn"}
	switch st {
	case "postgres":
		env["WEFT_POSTGRES_URL"] = testenv.URL(t, testenv.SecurePostgresURL)
		env["WEFT_POSTGRES_PASSWORD_FILE"] = testenv.URL(t, testenv.SecurePostgresPassword)
		env["WEFT_POSTGRES_SCHEMA"] = ns
	case "mysql":
		env["WEFT_MYSQL_URL"] = testenv.URL(t, testenv.SecureMySQLURL)
		env["WEFT_MYSQL_PASSWORD_FILE"] = testenv.URL(t, testenv.SecureMySQLPassword)
		env["WEFT_MYSQL_KEY_VALUE_TABLE"] = ns + "_kv"
		env["WEFT_MYSQL_KEY_SET_TABLE"] = ns + "_ks"
	case "redis":
		env["WEFT_REDIS_URL"] = testenv.URL(t, testenv.SecureRedisURL)
		env["WEFT_REDIS_PASSWORD_FILE"] = testenv.URL(t, testenv.SecureRedisPassword)
		env["WEFT_REDIS_KEY_PREFIX"] = ns + ":"
	case "memory":
	default:
		t.Fatalf("unknown storage %q", st)
	}
	switch tr {
	case "pulsar":
		env["WEFT_PULSAR_URL"] = testenv.URL(t, testenv.SecurePulsarTLSURL)
		env["WEFT_PULSAR_TLS_TRUST_CERTS_FILE"] = testenv.URL(t, testenv.SecureCAFile)
		env["WEFT_PULSAR_ADMIN_URL"] = testenv.URL(t, testenv.SecurePulsarAdminURL)
		env["WEFT_PULSAR_TOKEN_FILE_PATH"] = testenv.URL(t, testenv.SecurePulsarTokenFile)
		env["WEFT_PULSAR_NAMESPACE"] = ns
	case "pgqueue":
		env["WEFT_PGQUEUE_URL"] = testenv.URL(t, testenv.SecurePostgresURL)
		env["WEFT_PGQUEUE_PASSWORD_FILE"] = testenv.URL(t, testenv.SecurePostgresPassword)
		env["WEFT_PGQUEUE_SCHEMA"] = ns + "_q"
	case "memory":
	default:
		t.Fatalf("unknown transport %q", tr)
	}
	return env
}

// TestSecuredExamples runs the example workflows on the secured services:
// every storage and both brokers (Pulsar over TLS with a token) once.
func TestSecuredExamples(t *testing.T) {
	for _, c := range []struct{ st, tr string }{{"postgres", "pgqueue"}, {"redis", "pulsar"}, {"mysql", "pulsar"}} {
		t.Run(c.tr+"+"+c.st, func(t *testing.T) { runExamples(t, securedSettings(t, c.st, c.tr), true) })
	}
}

// TestSecuredPostgres: TLS verified by name against the CA, scram, and
// nothing else.
func TestSecuredPostgres(t *testing.T) {
	env := securedSettings(t, "postgres", "memory")
	u := parseURL(t, env["WEFT_POSTGRES_URL"])
	pw := readSecret(t, env["WEFT_POSTGRES_PASSWORD_FILE"])
	other := otherCA(t)
	for _, c := range []struct {
		name   string
		change func(q url.Values, u *url.URL, env map[string]string)
		want   []string
	}{
		{"wrong password", func(_ url.Values, _ *url.URL, env map[string]string) {
			env["WEFT_POSTGRES_PASSWORD_FILE"] = secretFile(t, "wrong-"+pw)
		}, []string{`password authentication failed for user "weft"`}},
		{"untrusted CA", func(q url.Values, _ *url.URL, _ map[string]string) {
			q.Set("sslrootcert", other)
		}, []string{"certificate signed by unknown authority"}},
		// No sslmode: a root certificate alone must mean verify-full.
		{"wrong host name, default sslmode", func(q url.Values, u *url.URL, _ map[string]string) {
			q.Del("sslmode")
			u.Host = proxy(t, u.Host)
		}, []string{"x509: certificate is valid for", "not 127.0.0.2"}},
		{"plain text", func(q url.Values, _ *url.URL, _ map[string]string) {
			q.Del("sslrootcert")
			q.Set("sslmode", "disable")
		}, []string{"no pg_hba.conf entry", "no encryption"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, v := clone(env), clone(u.Query())
			uu := *u
			c.change(v, &uu, e)
			uu.RawQuery = v.Encode()
			e["WEFT_POSTGRES_URL"] = uu.String()
			refused(t, openStorage(t, e), []string{pw}, c.want...)
		})
	}
}

// TestSecuredPGQueue: the queue connects through the same code, so one
// refusal and one success are enough.
func TestSecuredPGQueue(t *testing.T) {
	env := securedSettings(t, "memory", "pgqueue")
	pw := readSecret(t, env["WEFT_PGQUEUE_PASSWORD_FILE"])
	tr := openTransport(t, env)
	if tr == nil {
		t.Fatal("the queue refused the right settings")
	}
	env["WEFT_PGQUEUE_PASSWORD_FILE"] = secretFile(t, "wrong-"+pw)
	refused(t, openTransportErr(t, env), []string{pw}, `password authentication failed for user "weft"`)
}

// TestSecuredMySQL: TLS required by the server (for user weft too),
// verified by name against the CA.
func TestSecuredMySQL(t *testing.T) {
	env := securedSettings(t, "mysql", "memory")
	u := parseURL(t, env["WEFT_MYSQL_URL"])
	pw := readSecret(t, env["WEFT_MYSQL_PASSWORD_FILE"])
	other := otherCA(t)
	for _, c := range []struct {
		name   string
		change func(q url.Values, u *url.URL, env map[string]string)
		want   []string
	}{
		{"wrong password", func(_ url.Values, _ *url.URL, env map[string]string) {
			env["WEFT_MYSQL_PASSWORD_FILE"] = secretFile(t, "wrong-"+pw)
		}, []string{`access denied for user "weft"`, "check user and password"}},
		{"untrusted CA", func(q url.Values, _ *url.URL, _ map[string]string) {
			q.Set("tlsCAFile", other)
		}, []string{"certificate signed by unknown authority"}},
		// No tls setting: a CA file alone must mean a verified connection.
		{"wrong host name, default tls", func(q url.Values, u *url.URL, _ map[string]string) {
			q.Del("tls")
			u.Host = proxy(t, u.Host)
		}, []string{"x509: certificate is valid for", "not 127.0.0.2"}},
		{"plain text", func(q url.Values, _ *url.URL, _ map[string]string) {
			q.Del("tlsCAFile")
			q.Set("tls", "false")
		}, []string{"not encrypted", "may require TLS"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, v := clone(env), clone(u.Query())
			uu := *u
			c.change(v, &uu, e)
			uu.RawQuery = v.Encode()
			e["WEFT_MYSQL_URL"] = uu.String()
			refused(t, openStorage(t, e), []string{pw}, c.want...)
		})
	}
}

// TestSecuredRedis: TLS only, an ACL user, the default user disabled.
func TestSecuredRedis(t *testing.T) {
	env := securedSettings(t, "redis", "memory")
	u := parseURL(t, env["WEFT_REDIS_URL"])
	pw := readSecret(t, env["WEFT_REDIS_PASSWORD_FILE"])
	other := otherCA(t)
	for _, c := range []struct {
		name   string
		change func(q url.Values, u *url.URL, env map[string]string)
		want   []string
	}{
		{"wrong password", func(_ url.Values, _ *url.URL, env map[string]string) {
			env["WEFT_REDIS_PASSWORD_FILE"] = secretFile(t, "wrong-"+pw)
		}, []string{`authentication failed for user "weft"`}},
		{"default user", func(_ url.Values, u *url.URL, env map[string]string) {
			u.User = nil
		}, []string{`authentication failed for user "default"`}},
		{"untrusted CA", func(q url.Values, _ *url.URL, _ map[string]string) {
			q.Set("tlsCAFile", other)
		}, []string{"certificate signed by unknown authority"}},
		{"wrong host name", func(_ url.Values, u *url.URL, _ map[string]string) {
			u.Host = proxy(t, u.Host)
		}, []string{"x509: certificate is valid for", "not 127.0.0.2"}},
		{"plain text", func(q url.Values, u *url.URL, _ map[string]string) {
			q.Del("tlsCAFile")
			u.Scheme = "redis"
		}, []string{"closed the connection", "only TLS", "rediss://"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, v := clone(env), clone(u.Query())
			uu := *u
			c.change(v, &uu, e)
			uu.RawQuery = v.Encode()
			e["WEFT_REDIS_URL"] = uu.String()
			refused(t, openStorage(t, e), []string{pw}, c.want...)
		})
	}
}

// TestSecuredPulsar: token authentication on both ports, TLS verified by
// name (the default) on the TLS one.
func TestSecuredPulsar(t *testing.T) {
	env := securedSettings(t, "memory", "pulsar")
	tok := readSecret(t, env["WEFT_PULSAR_TOKEN_FILE_PATH"])
	plain := testenv.URL(t, testenv.SecurePulsarURL)
	other := otherCA(t)
	tlsHost := parseURL(t, env["WEFT_PULSAR_URL"]).Host
	for _, c := range []struct {
		name   string
		change func(env map[string]string)
		want   []string
	}{
		{"token signed by another key", func(env map[string]string) {
			env["WEFT_PULSAR_TOKEN_FILE_PATH"] = secretFile(t, foreignToken(t, "weft"))
		}, []string{"HTTP 401", "token"}},
		{"no token", func(env map[string]string) {
			delete(env, "WEFT_PULSAR_TOKEN_FILE_PATH")
		}, []string{"HTTP 401", "token"}},
		{"no token on the plain port", func(env map[string]string) {
			delete(env, "WEFT_PULSAR_TOKEN_FILE_PATH")
			env["WEFT_PULSAR_URL"] = plain
		}, []string{"HTTP 401", "token"}},
		{"untrusted CA", func(env map[string]string) {
			env["WEFT_PULSAR_TLS_TRUST_CERTS_FILE"] = other
		}, []string{"TLS handshake", "certificate signed by unknown authority"}},
		{"wrong host name", func(env map[string]string) {
			env["WEFT_PULSAR_URL"] = "pulsar+ssl://" + proxy(t, tlsHost)
		}, []string{"TLS handshake", "x509: certificate is valid for", "not 127.0.0.2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := clone(env)
			c.change(e)
			refused(t, openTransportErr(t, e), []string{tok}, c.want...)
		})
	}
	// The token alone is enough on the plain port, and the TLS port works
	// with it and the CA: a message goes through each.
	for _, u := range []string{plain, env["WEFT_PULSAR_URL"]} {
		e := clone(env)
		e["WEFT_PULSAR_URL"] = u
		if tr := openTransport(t, e); tr != nil {
			roundTrip(t, tr)
		}
	}
}

// roundTrip publishes one message and receives it.
func roundTrip(t *testing.T, tr transport.Transport) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := "secured-" + testenv.Suffix()
	sub, err := tr.Subscribe(ctx, topic, transport.SubscribeOptions{Group: "g"})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	if err := tr.PublishRaw(ctx, topic, "k", []byte("hello")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	d, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if string(d.Body()) != "hello" {
		t.Errorf("received %q", d.Body())
	}
	if err := d.Ack(ctx); err != nil {
		t.Errorf("ack: %v", err)
	}
}

// foreignToken is a well-formed token for subject, signed with a key the
// broker does not know.
func foreignToken(t *testing.T, subject string) string {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	body := enc([]byte(`{"alg":"HS256"}`)) + "." + enc([]byte(`{"sub":"`+subject+`"}`))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(body))
	return body + "." + enc(mac.Sum(nil))
}

// loadSecured builds the configuration; unlike load, an error never
// prints the variables (a test may have put a secret in one).
func loadSecured(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}
	return cfg
}

// openStorage opens the configured storage and returns its error; a
// storage that opens is closed and fails the test.
func openStorage(t *testing.T, env map[string]string) error {
	t.Helper()
	cfg := loadSecured(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stores, err := bootstrap.OpenStorage(ctx, cfg)
	if err == nil {
		_ = stores.Close()
	}
	return err
}

func openTransportErr(t *testing.T, env map[string]string) error {
	t.Helper()
	cfg := loadSecured(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr, err := bootstrap.OpenTransport(ctx, cfg, nil)
	if err == nil {
		_ = tr.Close()
	}
	return err
}

// openTransport opens the configured transport, closed when the test
// ends, or fails the test.
func openTransport(t *testing.T, env map[string]string) transport.Transport {
	t.Helper()
	cfg := loadSecured(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr, err := bootstrap.OpenTransport(ctx, cfg, nil)
	if err != nil {
		t.Errorf("open %s transport: %v", cfg.Transport, err)
		return nil
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// refused checks that err is a refusal naming every part of want, and that
// it holds none of the secrets.
func refused(t *testing.T, err error, secrets []string, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("connected; want a refusal")
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("the error holds a secret: %v", errors.New(strings.ReplaceAll(msg, s, "<secret>")))
		}
	}
	for _, w := range want {
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
}

// proxy forwards TCP connections from a port on 127.0.0.2 (a loopback
// address outside the servers' certificates) to target, so a client that
// dials it must find the certificate's names do not match.
func proxy(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2 (a loopback address on Linux): %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			track(in)
			track(out)
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(out, in); out.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// otherCA writes a CA certificate that signed none of the servers'.
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the weft test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readSecret(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read a secret: %v", err)
	}
	return strings.TrimSpace(string(b))
}

func secretFile(t *testing.T, secret string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func parseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("a secured service URL does not parse: %v", err)
	}
	return u
}

func clone[M ~map[K]V, K comparable, V any](m M) M {
	c := make(M, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
