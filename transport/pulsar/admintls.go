package pulsar

import "crypto/tls"

// AdminTLSConfig is the TLS client configuration of the admin URL that the
// transport itself uses (TLSTrustCertsFile, TLSAllowInsecure,
// TLSSkipHostnameVerification), for other clients of the admin API (the
// Pulsar Functions deploy), so they verify servers exactly as it does.
func (c Config) AdminTLSConfig() (*tls.Config, error) { return c.tlsConfig() }
