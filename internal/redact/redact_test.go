package redact

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"memory", "memory"},
		{"pulsar://127.0.0.1:6650", "pulsar://127.0.0.1:6650"},
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"postgres://weft:s3cret@db:5432/app?sslmode=disable", "postgres://weft:xxxxx@db:5432/app?sslmode=disable"},
		{"postgres://weft@db/app", "postgres://weft@db/app"},
		{"postgres://db/app?user=weft&password=s3cret&sslmode=require", "postgres://db/app?user=weft&password=xxxxx&sslmode=require"},
		{"https://sink.example/in?token=s3cret&x=1", "https://sink.example/in?token=xxxxx&x=1"},
		{"https://u:s3cret@sink.example/in?access_token=s3cret2", "https://u:xxxxx@sink.example/in?access_token=xxxxx"},
		{"https://sink.example/in?X-Amz-Signature=s3cret&X-Amz-Credential=s3cret2", "https://sink.example/in?X-Amz-Signature=xxxxx&X-Amz-Credential=xxxxx"},
		{"https://h/p?sig=s3cret&se=2030", "https://h/p?sig=xxxxx&se=2030"},
		{"https://h/p?api%5Fkey=s3cret", "https://h/p?api%5Fkey=xxxxx"},
		// MySQL DSNs are no URLs.
		{"weft:s3cret@tcp(127.0.0.1:3306)/app?parseTime=true", "weft:xxxxx@tcp(127.0.0.1:3306)/app?parseTime=true"},
		{"weft:s3@c:ret@tcp(db)/app", "weft:xxxxx@tcp(db)/app"},
		{"weft@tcp(db)/app", "weft@tcp(db)/app"},
		// Userinfo net/url refuses: everything of it may be secret.
		{"postgres://weft:s3cret%zz@db/app", "postgres://weft:xxxxx@db/app"},
		{"redis://s3cret%zz@db/0?password=s3cret2", "redis://xxxxx@db/0?password=xxxxx"},
	} {
		if got := URL(c.in); got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSecretName(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"password", "PASSWORD", "passwd", "pwd", "pass", "token", "access_token", "client_secret", "apiKey", "api-key", "key", "sas-key", "X-Amz-Signature", "sig", "credentials", "auth"} {
		if !SecretName(n) {
			t.Errorf("SecretName(%q) = false", n)
		}
	}
	for _, n := range []string{"user", "host", "sslmode", "database", "parseTime", "timeout", "se", "sp"} {
		if SecretName(n) {
			t.Errorf("SecretName(%q) = true", n)
		}
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"dial tcp 127.0.0.1:1: connect: connection refused", "dial tcp 127.0.0.1:1: connect: connection refused"},
		{`cannot reach the broker at pulsar://u:s3cret@h:6650 within 1s`, `cannot reach the broker at pulsar://u:xxxxx@h:6650 within 1s`},
		{`Post "https://sink/in?token=s3cret": EOF`, `Post "https://sink/in?token=xxxxx": EOF`},
		{`config "weft:s3cret@tcp(db:3306)/app" refused`, `config "weft:xxxxx@tcp(db:3306)/app" refused`},
		{`host=db user=weft password=s3cret dbname=app`, `host=db user=weft password=xxxxx dbname=app`},
		{`password='s 3cret' sslmode=disable`, `password=xxxxx sslmode=disable`},
		{`Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.s3cret`, `Authorization: Bearer xxxxx`},
		{`two: redis://:s3cret@a/0 and redis://:s3cret2@b/1`, `two: redis://:xxxxx@a/0 and redis://:xxxxx@b/1`},
		{"a bearer token is required", "a bearer token is required"},
	} {
		if got := Text(c.in); got != c.want {
			t.Errorf("Text(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestError(t *testing.T) {
	t.Parallel()
	if Error(nil) != nil {
		t.Fatal("Error(nil) is not nil")
	}
	plain := errors.New("connection refused")
	if Error(plain) != plain {
		t.Error("an error with nothing to mask was wrapped")
	}
	err := Error(fmt.Errorf("open postgres://weft:s3cret@db/app: %w", fs.ErrNotExist))
	if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "postgres://weft:xxxxx@db/app") {
		t.Errorf("masked error: %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("the cause is lost")
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

func TestHandler(t *testing.T) {
	t.Parallel()
	for _, json := range []bool{false, true} {
		var buf bytes.Buffer
		var h slog.Handler = slog.NewTextHandler(&buf, nil)
		if json {
			h = slog.NewJSONHandler(&buf, nil)
		}
		log := slog.New(Handler(h)).With("url", "redis://:s3cret1@db/0", "key", "wf-1")
		log.WithGroup("g").Info("connecting to postgres://u:s3cret2@db/app",
			"err", errors.New(`Post "https://sink?token=s3cret3": EOF`),
			"cfg", stringer("mysql://u:s3cret4@db/app"),
			"password", "s3cret5",
			slog.Group("inner", "dsn", "u:s3cret6@tcp(db)/app"),
			"partitionKey", "wf-2")
		out := buf.String()
		if strings.Contains(out, "s3cret") {
			t.Errorf("json=%t: a secret was logged: %s", json, out)
		}
		for _, want := range []string{"wf-1", "wf-2", "db/app", "xxxxx"} {
			if !strings.Contains(out, want) {
				t.Errorf("json=%t: %q is missing from %s", json, want, out)
			}
		}
	}
}

func TestTextAddressWithoutScheme(t *testing.T) {
	t.Parallel()
	in := "dial tcp: address u:s3cret@127.0.0.1:6650: too many colons in address"
	if got, want := Text(in), "dial tcp: address u:xxxxx@127.0.0.1:6650: too many colons in address"; got != want {
		t.Errorf("Text(%q) = %q, want %q", in, got, want)
	}
}
