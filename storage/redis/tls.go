package redis

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// tlsConfig builds the client TLS settings of a resolved configuration, or
// nil when TLS is off. Reading the CA file is the one check Validate leaves
// to New, because it is I/O.
func (c Config) tlsConfig() (*tls.Config, error) {
	if !c.TLS {
		return nil, nil
	}
	tc := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Empty means the host: crypto/tls takes it from the address.
		ServerName:         c.TLSServerName,
		InsecureSkipVerify: c.TLSInsecureSkipVerify,
	}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, &FieldError{Field: "tlsCAFile", Problem: fmt.Sprintf("cannot read: %v", err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &FieldError{Field: "tlsCAFile", Problem: fmt.Sprintf("%s holds no PEM certificate", c.TLSCAFile)}
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
