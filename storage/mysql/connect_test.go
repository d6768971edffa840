package mysql

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestNewUnreachable(t *testing.T) {
	t.Parallel()
	port := closedPort(t)
	start := time.Now()
	_, err := New(t.Context(), Config{User: "weft", Port: port, ConnectTimeout: 2 * time.Second})
	if err == nil {
		t.Fatal("New on a closed port succeeded")
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if !strings.Contains(err.Error(), addr) {
		t.Fatalf("error %q does not name %s", err, addr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("New took %v to fail with connectTimeout 2s", d)
	}
}

// TestNewSilentServer covers a server that accepts connections but never
// speaks (hung, or a firewall that black-holes after the handshake): New
// must give up after connectTimeout, not hang.
func TestNewSilentServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	start := time.Now()
	_, err = New(t.Context(), Config{User: "weft", Port: port, ConnectTimeout: 500 * time.Millisecond})
	if err == nil {
		t.Fatal("New against a silent server succeeded")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(port)) {
		t.Fatalf("error %q does not name the address", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("New took %v to fail with connectTimeout 500ms", d)
	}
}

func TestNewWrongPassword(t *testing.T) {
	t.Parallel()
	c := serverConfig(t)
	c.Password = "definitely-not-" + c.Password
	_, err := New(t.Context(), c)
	if err == nil {
		t.Fatal("New with a wrong password succeeded")
	}
	want := "access denied for user \"" + c.User + "\""
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	if strings.Contains(err.Error(), c.Password) {
		t.Fatalf("error %q shows the password", err)
	}
	if !isServerError(err, erAccessDenied) {
		t.Fatalf("error %q does not wrap the server's 1045", err)
	}
}

func TestNewInvalidConfig(t *testing.T) {
	t.Parallel()
	// Refused before any network activity: no server needed.
	_, err := New(t.Context(), Config{User: "weft", Database: "bad`name"})
	if err == nil || !strings.Contains(err.Error(), "database") {
		t.Fatalf("New with a bad database name: %v", err)
	}
	_, err = New(t.Context(), Config{User: "weft", TLS: "true", TLSCAFile: "/nonexistent/ca.pem"})
	if err == nil || !strings.Contains(err.Error(), "tlsCAFile") {
		t.Fatalf("New with a missing CA file: %v", err)
	}
}
