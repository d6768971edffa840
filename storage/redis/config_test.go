package redis

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fields returns the Field of every *FieldError joined in err, sorted.
func fields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		var fe *FieldError
		switch {
		case e == nil:
		case errors.As(e, &fe) && e == error(fe):
			out = append(out, fe.Field)
		default:
			if j, ok := e.(interface{ Unwrap() []error }); ok {
				for _, x := range j.Unwrap() {
					walk(x)
				}
			} else {
				out = append(out, "?"+e.Error())
			}
		}
	}
	walk(err)
	slices.Sort(out)
	return out
}

func TestConfigDefaults(t *testing.T) {
	r, err := Config{}.resolve()
	if err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	want := Config{Host: "127.0.0.1", Port: 6379, KeyPrefix: "weft:", DialTimeout: 5 * time.Second,
		ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second}
	if r != want {
		t.Fatalf("defaults = %+v\nwant %+v", r, want)
	}
}

// TestConfigDefaultTags keeps the `default` tags, which config loaders
// read, in step with the defaults New applies.
func TestConfigDefaultTags(t *testing.T) {
	r, _ := Config{}.resolve()
	rv := reflect.ValueOf(r)
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		for _, tag := range []string{"yaml", "envconfig", "desc"} {
			if f.Tag.Get(tag) == "" {
				t.Errorf("%s has no %s tag", f.Name, tag)
			}
		}
		def, ok := f.Tag.Lookup("default")
		got := fmt.Sprint(rv.Field(i).Interface())
		switch {
		case ok && def != got:
			t.Errorf("%s: default tag %q, but New uses %q", f.Name, def, got)
		case !ok && !rv.Field(i).IsZero():
			t.Errorf("%s: no default tag, but New uses %q", f.Name, got)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("not checked by Validate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  Config
		want []string // fields in error, sorted; nil: valid
	}{
		{"zero", Config{}, nil},
		{"everything", Config{Host: "redis.example.com", Port: 6380, Username: "u", Password: "p", Database: 3,
			KeyPrefix: "app:", DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
			PoolSize: 20, MinIdleConns: 5, TLS: true, TLSCAFile: ca, TLSServerName: "redis"}, nil},
		{"ipv6", Config{Host: "::1"}, nil},
		{"password without user", Config{Password: "p"}, nil},
		{"skip verify", Config{TLS: true, TLSInsecureSkipVerify: true}, nil},
		{"host with port", Config{Host: "h:6379"}, []string{"host"}},
		{"bracketed ipv6", Config{Host: "[::1]"}, []string{"host"}},
		{"host with space", Config{Host: "a b"}, []string{"host"}},
		{"negative port", Config{Port: -1}, []string{"port"}},
		{"port too big", Config{Port: 65536}, []string{"port"}},
		{"user without password", Config{Username: "u"}, []string{"password"}},
		{"negative database", Config{Database: -1}, []string{"database"}},
		{"negative dial timeout", Config{DialTimeout: -1}, []string{"dialTimeout"}},
		{"negative read timeout", Config{ReadTimeout: -time.Second}, []string{"readTimeout"}},
		{"negative write timeout", Config{WriteTimeout: -time.Second}, []string{"writeTimeout"}},
		{"negative pool", Config{PoolSize: -1}, []string{"poolSize"}},
		{"negative idle", Config{MinIdleConns: -1}, []string{"minIdleConns"}},
		{"idle above pool", Config{PoolSize: 2, MinIdleConns: 3}, []string{"minIdleConns"}},
		{"ca without tls", Config{TLSCAFile: ca}, []string{"tlsCAFile"}},
		{"skip verify without tls", Config{TLSInsecureSkipVerify: true}, []string{"tlsInsecureSkipVerify"}},
		{"server name without tls", Config{TLSServerName: "x"}, []string{"tlsServerName"}},
		{"ca and skip verify", Config{TLS: true, TLSCAFile: ca, TLSInsecureSkipVerify: true}, []string{"tlsCAFile"}},
		{"bad url", Config{URL: "http://h"}, []string{"url"}},
		{"tls with redis url", Config{URL: "redis://h", TLS: true}, []string{"tls"}},
		{"url with bad database", Config{URL: "redis://h/-1"}, []string{"database"}},
		{"every error at once", Config{Port: -1, Database: -1, PoolSize: -1, Username: "u"},
			[]string{"database", "password", "poolSize", "port"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if got := fields(err); !slices.Equal(got, c.want) {
				t.Fatalf("Validate() = %v\nfields %q, want %q", err, got, c.want)
			}
			for _, f := range c.want {
				if !strings.Contains(err.Error(), "redis: "+f+": ") {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
		})
	}
}

// TestConfigURLPrecedence: the URL wins for every part it specifies, the
// fields fill in the rest.
func TestConfigURLPrecedence(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want func(*Config) // edits the defaults into the expected result
	}{
		{"url over fields", Config{URL: "redis://u:urlpw@urlhost:7000/2", Host: "fieldhost", Port: 7001,
			Username: "fu", Password: "fieldpw", Database: 5},
			func(w *Config) { w.Host, w.Port, w.Username, w.Password, w.Database = "urlhost", 7000, "u", "urlpw", 2 }},
		{"fields fill in", Config{URL: "redis://urlhost", Port: 7001, Password: "fromsecret", Database: 5},
			func(w *Config) { w.Host, w.Port, w.Password, w.Database = "urlhost", 7001, "fromsecret", 5 }},
		{"database zero is explicit", Config{URL: "redis://h/0", Database: 5},
			func(w *Config) { w.Host = "h" }},
		{"rediss turns tls on", Config{URL: "rediss://h", TLSServerName: "name"},
			func(w *Config) { w.Host, w.TLS, w.TLSServerName = "h", true, "name" }},
		{"params over fields", Config{URL: "redis://h?readTimeout=1s&keyPrefix=x:", ReadTimeout: time.Minute, KeyPrefix: "y:"},
			func(w *Config) { w.Host, w.ReadTimeout, w.KeyPrefix = "h", time.Second, "x:" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.cfg.resolve()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := Config{}.resolve()
			c.want(&want)
			if got != want {
				t.Fatalf("resolve() = %+v\nwant        %+v", got, want)
			}
		})
	}
}

func TestConfigStringMasksPassword(t *testing.T) {
	const secret = "hunter2-secret"
	for _, cfg := range []Config{
		{Password: secret},
		{URL: "redis://user:" + secret + "@h:6379/1"},
		{URL: "redis://user:" + secret + "@h:notaport"}, // invalid: not shown at all
		{URL: "redis://h?keyPrefix=" + secret + "&bogus=1", Password: secret},
	} {
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "redis", cfg)
		js, _ := json.Marshal(cfg.LogValue().Any())
		for _, out := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logged.String(), string(js)} {
			if strings.Contains(out, secret) {
				t.Errorf("password printed: %s", out)
			}
		}
	}
	if s := (Config{Password: "p"}).String(); !strings.Contains(s, `password="***"`) {
		t.Errorf("String() = %s, want the password shown as ***", s)
	}
	if s := (Config{}).String(); !strings.Contains(s, `password=""`) || !strings.Contains(s, `host="127.0.0.1" port=6379`) {
		t.Errorf("String() = %s, want defaults and an empty password", s)
	}
	if s := (Config{URL: "redis://u:pw@h:x"}).String(); !strings.Contains(s, "url=(invalid, not shown)") {
		t.Errorf("String() = %s, want the invalid URL flagged", s)
	}
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate"), 0o600)

	if tc, err := (Config{}).tlsConfig(); tc != nil || err != nil {
		t.Errorf("TLS off: %v, %v; want nil, nil", tc, err)
	}
	tc, err := (Config{Host: "h", TLS: true, TLSServerName: "name"}).tlsConfig()
	if err != nil || tc.ServerName != "name" || tc.InsecureSkipVerify || tc.RootCAs != nil {
		t.Errorf("TLS on: %+v, %v", tc, err)
	}
	good := filepath.Join(dir, "ca.pem")
	os.WriteFile(good, selfSignedPEM(t), 0o600)
	tc, err = (Config{Host: "h", TLS: true, TLSCAFile: good}).tlsConfig()
	if err != nil || tc.RootCAs == nil || tc.ServerName != "" {
		t.Errorf("TLS with CA file: %+v, %v; want RootCAs set and the name taken from the address", tc, err)
	}
	for _, file := range []string{filepath.Join(dir, "missing.pem"), garbage} {
		_, err := (Config{TLS: true, TLSCAFile: file}).tlsConfig()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "tlsCAFile" {
			t.Errorf("CA file %s: err = %v, want a FieldError on tlsCAFile", file, err)
		}
	}
}

// selfSignedPEM returns a throwaway CA certificate.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "weft test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
