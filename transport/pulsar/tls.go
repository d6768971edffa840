package pulsar

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// tlsConfig is the TLS client configuration for the admin URL (and for the
// broker when host names are not verified): the trusted CAs of
// TLSTrustCertsFile or the system's, host names verified unless
// TLSSkipHostnameVerification, nothing verified only with TLSAllowInsecure.
func (c Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSAllowInsecure}
	if c.TLSTrustCertsFile != "" {
		pem, err := os.ReadFile(c.TLSTrustCertsFile)
		if err != nil {
			return nil, fmt.Errorf("pulsar: read Config.TLSTrustCertsFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("pulsar: Config.TLSTrustCertsFile %s holds no PEM certificate", c.TLSTrustCertsFile)
		}
		tc.RootCAs = pool
	}
	if c.TLSSkipHostnameVerification && !c.TLSAllowInsecure {
		// crypto/tls verifies the chain and the name together or not at
		// all: turn both off and verify the chain here.
		roots := tc.RootCAs
		tc.InsecureSkipVerify = true
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, roots)
		}
	}
	return tc, nil
}

// verifyChain checks that the certificates a server presented chain to
// roots (nil: the system roots), whatever name they carry.
func verifyChain(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("pulsar: the server presented no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("pulsar: the server's certificate does not parse: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}
