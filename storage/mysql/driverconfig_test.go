package mysql

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func TestDriverConfig(t *testing.T) {
	c, err := Config{URL: "mysql://u:p%40ss@db.example.com:3307/app?connectTimeout=2s&readTimeout=3s&writeTimeout=4s"}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	mc, err := driverConfig(c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case mc.Net != "tcp", mc.Addr != "db.example.com:3307", mc.User != "u", mc.Passwd != "p@ss", mc.DBName != "app":
		t.Errorf("address/credentials: %s %s %s %s %s", mc.Net, mc.Addr, mc.User, mc.Passwd, mc.DBName)
	case !mc.ParseTime, mc.Loc != time.UTC:
		t.Errorf("time handling: ParseTime %v, Loc %v", mc.ParseTime, mc.Loc)
	case mc.Timeout != 2*time.Second, mc.ReadTimeout != 3*time.Second, mc.WriteTimeout != 4*time.Second:
		t.Errorf("timeouts: %v %v %v", mc.Timeout, mc.ReadTimeout, mc.WriteTimeout)
	case mc.TLSConfig != "false" || mc.TLS != nil:
		t.Errorf("tls: %q %v", mc.TLSConfig, mc.TLS)
	}
	if _, err := mysql.NewConnector(mc); err != nil {
		t.Errorf("the driver rejects the config: %v", err)
	}
	// IPv6 gets its brackets from the driver config, not from the user.
	c6, _ := Config{User: "u", Host: "::1"}.resolve()
	if mc, _ := driverConfig(c6, slog.New(slog.DiscardHandler)); mc.Addr != "[::1]:3306" {
		t.Errorf("IPv6 address = %s", mc.Addr)
	}
}

func TestDriverConfigTLS(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeCA(t, ca)
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)

	for _, mode := range []string{"false", "true", "skip-verify", "preferred"} {
		c, err := Config{User: "u", TLS: mode}.resolve()
		if err != nil {
			t.Fatal(err)
		}
		mc, err := driverConfig(c, slog.New(slog.DiscardHandler))
		if err != nil || mc.TLSConfig != mode {
			t.Errorf("tls %s: TLSConfig %q, %v", mode, mc.TLSConfig, err)
		}
		if _, err := mysql.NewConnector(mc); err != nil {
			t.Errorf("tls %s: the driver rejects the config: %v", mode, err)
		}
	}

	c, _ := Config{User: "u", Host: "db.example.com", TLS: "true", TLSCAFile: ca}.resolve()
	mc, err := driverConfig(c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if mc.TLS == nil || mc.TLS.RootCAs == nil || mc.TLS.ServerName != "db.example.com" || mc.TLS.InsecureSkipVerify {
		t.Fatalf("tls with CA file: %+v", mc.TLS)
	}

	for _, file := range []string{junk, filepath.Join(dir, "missing.pem")} {
		c, _ := Config{User: "u", TLS: "true", TLSCAFile: file}.resolve()
		_, err := driverConfig(c, slog.New(slog.DiscardHandler))
		if fe, ok := err.(*FieldError); !ok || fe.Field != "tlsCAFile" {
			t.Errorf("CA file %s: %v, want a FieldError for tlsCAFile", file, err)
		}
	}
}

// writeCA writes a self-signed CA certificate in PEM to path.
func writeCA(t *testing.T, path string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
