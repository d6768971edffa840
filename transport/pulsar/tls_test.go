package pulsar

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Host names are verified unless the configuration says otherwise, on the
// broker's connections as on the admin client's.
func TestTLSVerifiesHostNamesByDefault(t *testing.T) {
	opts, err := clientOptions(Config{URL: "pulsar+ssl://broker.example:6651"}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if !opts.TLSValidateHostname || opts.TLSAllowInsecureConnection || opts.TLSConfig != nil {
		t.Errorf("default TLS options: validate hostname %t, insecure %t, own config %v; want the name verified",
			opts.TLSValidateHostname, opts.TLSAllowInsecureConnection, opts.TLSConfig != nil)
	}
	opts, err = clientOptions(Config{URL: "pulsar+ssl://broker.example:6651", TLSSkipHostnameVerification: true}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if opts.TLSValidateHostname || opts.TLSConfig == nil || opts.TLSConfig.VerifyPeerCertificate == nil {
		t.Errorf("skipping host names must still verify the chain: %+v", opts)
	}
}

func TestTLSConfigHandshakes(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	trusted := filepath.Join(dir, "ca.pem")
	writePEM(t, trusted, srv.Certificate().Raw)
	untrusted := filepath.Join(dir, "other.pem")
	writePEM(t, untrusted, selfSigned(t))
	addr := strings.TrimPrefix(srv.URL, "https://")

	handshake := func(c Config, name string) error {
		tc, err := c.tlsConfig()
		if err != nil {
			t.Fatal(err)
		}
		tc.ServerName = name
		conn, err := tls.Dial("tcp", addr, tc)
		if err == nil {
			conn.Close()
		}
		return err
	}
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	if err := handshake(Config{TLSTrustCertsFile: trusted}, "127.0.0.1"); err != nil {
		t.Errorf("trusted CA, right name: %v", err)
	}
	if err := handshake(Config{TLSTrustCertsFile: trusted}, "wrong.example"); !errors.As(err, &hostErr) {
		t.Errorf("trusted CA, wrong name: %v, want a host name error", err)
	}
	if err := handshake(Config{TLSTrustCertsFile: trusted, TLSSkipHostnameVerification: true}, "wrong.example"); err != nil {
		t.Errorf("trusted CA, wrong name, names not verified: %v", err)
	}
	if err := handshake(Config{TLSTrustCertsFile: untrusted, TLSSkipHostnameVerification: true}, "127.0.0.1"); !errors.As(err, &authErr) {
		t.Errorf("untrusted CA, names not verified: %v, want an unknown authority error", err)
	}
	if err := handshake(Config{TLSTrustCertsFile: untrusted}, "127.0.0.1"); !errors.As(err, &authErr) {
		t.Errorf("untrusted CA: %v, want an unknown authority error", err)
	}
	if err := (Config{URL: "pulsar://h", TLSAllowInsecure: true, TLSSkipHostnameVerification: true}).Validate(); err == nil {
		t.Error("TLSAllowInsecure with TLSSkipHostnameVerification: no error")
	}
}

// selfSigned is a CA certificate nothing else knows.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "another CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writePEM(t *testing.T, path string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
