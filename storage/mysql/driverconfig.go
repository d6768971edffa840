package mysql

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
)

// driverConfig turns an effective Config into the driver's, field by field:
// a DSN string built by hand would need escaping for every odd password.
func driverConfig(c Config, log *slog.Logger) (*mysql.Config, error) {
	mc := mysql.NewConfig()
	mc.Net = "tcp"
	mc.Addr = hostPort(c.Host, c.Port)
	mc.User = c.User
	mc.Passwd = c.Password
	mc.DBName = c.Database
	mc.ParseTime = true
	mc.Loc = time.UTC
	mc.Timeout = c.ConnectTimeout
	mc.ReadTimeout = c.ReadTimeout
	mc.WriteTimeout = c.WriteTimeout
	mc.Logger = driverLogger{log}
	switch c.TLS {
	case "true":
		if c.TLSCAFile == "" {
			mc.TLSConfig = "true"
			break
		}
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, &FieldError{Field: "tlsCAFile", Problem: err.Error()}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &FieldError{Field: "tlsCAFile", Problem: fmt.Sprintf("%s holds no PEM certificate", c.TLSCAFile)}
		}
		mc.TLS = &tls.Config{RootCAs: pool, ServerName: c.Host, MinVersion: tls.VersionTLS12}
	default: // false, skip-verify, preferred: the driver's own names
		mc.TLSConfig = c.TLS
	}
	return mc, nil
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// driverLogger routes the driver's rare messages (a connection dropped
// under a query, a bad idle connection closed) to the store's logger
// instead of the driver's global stderr logger. The same failures reach the
// caller as errors, so they are warnings here.
type driverLogger struct{ log *slog.Logger }

func (l driverLogger) Print(v ...any) {
	l.log.Warn("mysql driver", "msg", fmt.Sprint(v...))
}
