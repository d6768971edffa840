package pgsetup

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestResolveOffersOtherParametersToTheDriver(t *testing.T) {
	var offered []string
	own := func(name, v string) (bool, error) {
		offered = append(offered, name)
		switch name {
		case "mine":
			return true, nil
		case "broken":
			return false, errors.New("broken: bad value")
		}
		return false, nil
	}
	s := Settings{Server: Server{URL: "postgres://u:pw@h:6/d?mine=1&application_name=app&pool_max_conns=3", Port: 9, Password: "field"}}
	eff, extra, err := s.Resolve(own)
	if err != nil {
		t.Fatal(err)
	}
	if eff.Host != "h" || eff.Port != 6 || eff.User != "u" || eff.Password != "pw" || eff.Database != "d" || eff.MaxConns != 3 {
		t.Errorf("URL parts not applied: %+v", eff)
	}
	if eff.SSLMode != DefaultSSLMode || eff.ConnectTimeout != DefaultConnectTimeout || eff.MaxConnIdleTime != DefaultMaxConnIdleTime {
		t.Errorf("defaults not filled in: %+v", eff)
	}
	if len(extra) != 1 || extra["application_name"] != "app" {
		t.Errorf("extra = %v, want application_name only", extra)
	}
	if strings.Join(offered, ",") != "mine,application_name" && strings.Join(offered, ",") != "application_name,mine" {
		t.Errorf("offered %v, want the two parameters that are no connection setting", offered)
	}

	s.URL = "postgres://u:pw@h:6/d?broken=1"
	eff, _, err = s.Resolve(own)
	if err == nil || !strings.Contains(err.Error(), "broken: bad value") {
		t.Fatalf("err = %v, want the driver's", err)
	}
	if eff.Host != DefaultHost || eff.Port != 9 || eff.Password != "field" {
		t.Errorf("a bad URL must leave the fields (with defaults): %+v", eff)
	}

	s.URL = "postgres://h/d?mine=1&bad-name=x"
	if _, _, err := s.Resolve(nil); err == nil || !strings.Contains(err.Error(), "plain word") {
		t.Errorf("err = %v, want the parameter name refused", err)
	}
}

func TestValidateReportsFieldNames(t *testing.T) {
	var got []string
	bad := func(field, format string, args ...any) { got = append(got, field) }
	s := Settings{
		Server:  Server{Host: "a b", Port: 70000, User: "\x00", Password: "\x00", Database: "\x00"},
		Pool:    Pool{MaxConns: 2, MinConns: 3, MaxConnLifetime: -1, MaxConnIdleTime: -1},
		Session: Session{ConnectTimeout: -1, StatementTimeout: -time.Second, SSLMode: "sometimes"},
	}
	s.ValidateConnection(bad)
	s.ValidatePool(bad)
	want := "host port user password database sslMode minConns maxConnLifetime maxConnIdleTime connectTimeout statementTimeout"
	if strings.Join(got, " ") != want {
		t.Errorf("reported %v\nwant        %s", got, want)
	}
	got = nil
	Settings{}.WithDefaults().ValidateConnection(bad)
	Settings{}.WithDefaults().ValidatePool(bad)
	if len(got) != 0 {
		t.Errorf("the defaults are invalid: %v", got)
	}
}

func TestWriteConnectionMasksThePassword(t *testing.T) {
	for _, url := range []string{"postgres://u:hunter2@h/d", "postgres://u@h/d?password=hunter2", "postgres://u:hunter2@h/%zz"} {
		s := Settings{Server: Server{URL: url, Password: "hunter2"}}
		var b strings.Builder
		WriteConnection(&b, url, s.WithDefaults())
		if strings.Contains(b.String(), "hunter2") || !strings.Contains(b.String(), "password=****") {
			t.Errorf("WriteConnection = %s", b.String())
		}
	}
}

func TestTxDomain(t *testing.T) {
	if got := TxDomain("DB.Example", 0, "app"); got != "postgres://db.example:5432/app" {
		t.Errorf("TxDomain = %s", got)
	}
}

func TestCollectJoinsInOrder(t *testing.T) {
	mk := func(field, msg string) error { return fmt.Errorf("drv: %s: %s", field, msg) }
	err := Collect(errors.New("drv: url: bad"), mk,
		func(bad Reporter) { bad("a", "%d", 1) },
		func(Reporter) {},
		func(bad Reporter) { bad("b", "two"); bad("c", "%q", "3") })
	want := "drv: url: bad\ndrv: a: 1\ndrv: b: two\ndrv: c: \"3\""
	if err == nil || err.Error() != want {
		t.Errorf("Collect = %v\nwant %s", err, want)
	}
	if err := Collect(nil, mk, func(Reporter) {}); err != nil {
		t.Errorf("nothing reported, yet Collect = %v", err)
	}
}

// A configured certificate must never leave the connection able to fall
// back to plain text, nor verify less than it could: without an sslMode, a
// root certificate means verify-full and a client certificate require.
func TestSSLModeDefaultsToVerifyingWithACertificate(t *testing.T) {
	for _, c := range []struct {
		name string
		s    Settings
		want string
	}{
		{"nothing configured", Settings{}, "prefer"},
		{"root certificate field", Settings{Session: Session{SSLRootCert: "/ca.pem"}}, "verify-full"},
		{"root certificate in the URL", Settings{Server: Server{URL: "postgres://h/d?sslrootcert=/ca.pem"}}, "verify-full"},
		{"client certificate only", Settings{Session: Session{SSLCert: "/c.pem", SSLKey: "/c.key"}}, "require"},
		{"client certificate in the URL", Settings{Server: Server{URL: "postgres://h/d?sslcert=/c.pem&sslkey=/c.key"}}, "require"},
		{"both", Settings{Session: Session{SSLRootCert: "/ca.pem", SSLCert: "/c.pem", SSLKey: "/c.key"}}, "verify-full"},
		{"an explicit mode wins", Settings{Server: Server{URL: "postgres://h/d?sslrootcert=/ca.pem&sslmode=verify-ca"}}, "verify-ca"},
		{"an explicit field mode wins", Settings{Session: Session{SSLRootCert: "/ca.pem", SSLMode: "require"}}, "require"},
	} {
		t.Run(c.name, func(t *testing.T) {
			eff, _, err := c.s.Resolve(nil)
			if err != nil {
				t.Fatal(err)
			}
			if eff.SSLMode != c.want {
				t.Errorf("sslMode = %q, want %q", eff.SSLMode, c.want)
			}
			dsn := keywordDSN(eff, nil)
			if !strings.Contains(dsn, "sslmode='"+c.want+"'") {
				t.Errorf("pgx gets %s, want sslmode %s", dsn, c.want)
			}
		})
	}
}

func TestValidateRefusesCertificatesTheModeIgnores(t *testing.T) {
	for _, c := range []struct {
		name  string
		s     Session
		field string
	}{
		{"root certificate with prefer", Session{SSLMode: "prefer", SSLRootCert: "/ca.pem"}, "sslRootCert"},
		{"root certificate with disable", Session{SSLMode: "disable", SSLRootCert: "/ca.pem"}, "sslRootCert"},
		{"client certificate with allow", Session{SSLMode: "allow", SSLCert: "/c.pem", SSLKey: "/c.key"}, "sslCert"},
		{"certificate without key", Session{SSLMode: "require", SSLCert: "/c.pem"}, "sslKey"},
		{"key without certificate", Session{SSLMode: "require", SSLKey: "/c.key"}, "sslCert"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			Settings{Session: c.s}.WithDefaults().ValidateConnection(func(field, format string, args ...any) {
				got = append(got, field+": "+fmt.Sprintf(format, args...))
			})
			if len(got) != 1 || !strings.HasPrefix(got[0], c.field+":") {
				t.Errorf("reported %q, want one error for %s", got, c.field)
			}
		})
	}
	var got []string
	Settings{Session: Session{SSLRootCert: "/ca.pem", SSLCert: "/c.pem", SSLKey: "/c.key"}}.WithDefaults().ValidateConnection(func(field, format string, args ...any) {
		got = append(got, field)
	})
	if len(got) != 0 {
		t.Errorf("certificates with the default mode: reported %v", got)
	}
}

func TestClientCertificateReachesPgx(t *testing.T) {
	eff, _, err := Settings{Server: Server{URL: "postgres://h/d?sslcert=/c.pem&sslkey=/c.key&sslrootcert=/ca.pem"}}.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	dsn := keywordDSN(eff, nil)
	for _, want := range []string{"sslcert='/c.pem'", "sslkey='/c.key'", "sslrootcert='/ca.pem'", "sslmode='verify-full'"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("pgx gets %s, want %s in it", dsn, want)
		}
	}
}
