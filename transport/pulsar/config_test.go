package pulsar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	okURL := "pulsar://127.0.0.1:6650"
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no URL", Config{}, "Config.URL"},
		{"bad scheme", Config{URL: "tcp://h:1"}, "Config.URL"},
		{"not a URL", Config{URL: "localhost:6650"}, "Config.URL"},
		{"empty host", Config{URL: "pulsar://a:1,,b:2"}, "Config.URL"},
		{"admin scheme", Config{URL: okURL, AdminURL: "pulsar://h:8080"}, "Config.AdminURL"},
		{"admin host", Config{URL: okURL, AdminURL: "http://"}, "Config.AdminURL"},
		{"tenant", Config{URL: okURL, Tenant: "a/b"}, "Config.Tenant"},
		{"namespace", Config{URL: okURL, Namespace: "has space"}, "Config.Namespace"},
		{"two tokens", Config{URL: okURL, Token: "x", TokenFile: "/etc/hostname"}, "Config.Token"},
		{"token file", Config{URL: okURL, TokenFile: missing}, "Config.TokenFile"},
		{"trust file", Config{URL: okURL, TLSTrustCertsFile: missing}, "Config.TLSTrustCertsFile"},
		{"timeout", Config{URL: okURL, ConnectionTimeout: -time.Second}, "Config.ConnectionTimeout"},
		{"op timeout", Config{URL: okURL, OperationTimeout: -1}, "Config.OperationTimeout"},
		{"queue", Config{URL: okURL, ReceiverQueueSize: -1}, "Config.ReceiverQueueSize"},
		{"batch", Config{URL: okURL, BatchingMaxMessages: -1}, "Config.BatchingMaxMessages"},
		{"delay", Config{URL: okURL, BatchingMaxPublishDelay: -1}, "Config.BatchingMaxPublishDelay"},
		{"size", Config{URL: okURL, MaxMessageSize: -1}, "Config.MaxMessageSize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), tc.cfg)
			if err == nil {
				t.Fatalf("New(%v) succeeded", tc.cfg)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
	good := Config{URL: "pulsar+ssl://a:6651,b", AdminURL: "https://a:8443"}.withDefaults()
	if err := good.validate(); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
	if got, want := good.Tenant+"/"+good.Namespace, "public/default"; got != want {
		t.Errorf("default namespace %s, want %s", got, want)
	}
	hosts, _ := serviceHosts(good.URL)
	if fmt.Sprint(hosts) != "[a:6651 b:6651]" {
		t.Errorf("serviceHosts(%q) = %v", good.URL, hosts)
	}
}

func TestTokenNotPrinted(t *testing.T) {
	t.Parallel()
	const secret = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXN1YmplY3Q.s3cr3t-signature"
	cfg := Config{URL: "pulsar://127.0.0.1:1", Token: secret, Tenant: "bad/tenant", ConnectionTimeout: 100 * time.Millisecond}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", cfg)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg)
	outputs := []string{
		fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v %+v", &cfg, struct{ C Config }{cfg}), logged.String(),
	}
	_, err := New(context.Background(), cfg) // invalid tenant
	outputs = append(outputs, err.Error())
	cfg.Tenant = ""
	_, err = New(context.Background(), cfg) // nothing listens on port 1
	if err == nil {
		t.Fatal("New succeeded against port 1")
	}
	outputs = append(outputs, err.Error())
	for _, out := range outputs {
		if strings.Contains(out, secret) || strings.Contains(out, "s3cr3t") {
			t.Errorf("the token is printed in %q", out)
		}
	}
	if !strings.Contains(outputs[0], "[redacted]") {
		t.Errorf("String() = %q does not say a token is set", outputs[0])
	}
}

func TestUnreachableBroker(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: refused at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "pulsar://" + ln.Addr().String()
	_ = ln.Close()
	// An address that does not answer (TEST-NET-1): the dial times out, or
	// fails at once where there is no route.
	silent := "pulsar://192.0.2.1:6650"
	for _, url := range []string{refused, silent} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := New(ctx, Config{URL: url, ConnectionTimeout: 300 * time.Millisecond})
		cancel()
		if err == nil {
			t.Fatalf("New(%s) succeeded", url)
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			t.Fatalf("New(%s) waited for the caller's deadline instead of ConnectionTimeout: %v", url, err)
		}
		if !strings.Contains(err.Error(), url) {
			t.Errorf("error %q does not name %s", err, url)
		}
		t.Logf("%s: %v", url, err)
	}
}

func TestTokenFileMustExist(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := (Config{URL: "pulsar://h", TokenFile: f}).withDefaults().validate(); err != nil {
		t.Errorf("existing token file rejected: %v", err)
	}
}

func TestClientLoggerKeepsWarnings(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := clientLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Info("connected")
	l.WithField("topic", "x").Debug("flow")
	l.WithError(errors.New("boom")).Warn("reconnecting")
	out := buf.String()
	if strings.Contains(out, "connected") || strings.Contains(out, "flow") {
		t.Errorf("info and debug records got through: %s", out)
	}
	if !strings.Contains(out, "reconnecting") || !strings.Contains(out, "component=pulsar-client") {
		t.Errorf("the warning is missing or untagged: %q", out)
	}
}

func TestFieldErrorsNameTheYAMLField(t *testing.T) {
	err := Config{URL: "tcp://x", AdminURL: "ftp://y"}.Validate()
	var names []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a *FieldError", e)
		}
		names = append(names, fe.FieldName())
	}
	if got := strings.Join(names, ","); got != "url,adminUrl" {
		t.Errorf("field names %q, want url,adminUrl", got)
	}
}

// TestURLPasswordsNotPrinted: a password in the admin URL (basic
// authentication) or in the service URL (where it has no place) is never
// printed, by String or by an error.
func TestURLPasswordsNotPrinted(t *testing.T) {
	t.Parallel()
	cfg := Config{URL: "pulsar://127.0.0.1:1", AdminURL: "http://admin:s3cr3t-admin@127.0.0.1:2/?token=s3cr3t-query"}
	outputs := []string{fmt.Sprint(cfg), fmt.Sprintf("%#v", cfg)}
	for _, bad := range []Config{
		{URL: "pulsar://u:s3cr3t-service@127.0.0.1:1"},
		{URL: "pulsr://u:s3cr3t-scheme@127.0.0.1:1"},
		{URL: "pulsar://127.0.0.1:1", AdminURL: "ftp://admin:s3cr3t-ftp@127.0.0.1:2"},
		{URL: "pulsar://127.0.0.1:1", AdminURL: "http://admin:s3cr3t-%zz@127.0.0.1:2"},
	} {
		err := bad.Validate()
		if err == nil {
			t.Fatalf("%v: accepted", bad)
		}
		outputs = append(outputs, err.Error())
	}
	for _, out := range outputs {
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("a password is printed in %q", out)
		}
	}
	if !strings.Contains(outputs[0], "127.0.0.1:2") {
		t.Errorf("String() = %q does not show the admin host", outputs[0])
	}
}
