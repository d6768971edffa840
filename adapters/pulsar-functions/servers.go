package pulsarfunctions

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// readHeaderTimeout bounds a client that opens a connection and says
// nothing.
const readHeaderTimeout = 10 * time.Second

// server is one of the instance's HTTP servers (InstanceControl, metrics).
type server struct {
	name string
	ln   net.Listener
	srv  *http.Server
}

// listen binds port (0: a free one) on all interfaces: the Kubernetes
// runtime dials the pod's address, not loopback. It speaks HTTP/1.1 and
// unencrypted HTTP/2 with prior knowledge, which is how the worker's gRPC
// client talks to the control port.
func listen(name string, port int, h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return nil, fmt.Errorf("pulsar functions instance: %s server: listen on port %d: %w", name, port, err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &server{name: name, ln: ln, srv: &http.Server{
		Handler:           h,
		Protocols:         &protocols,
		ReadHeaderTimeout: readHeaderTimeout,
	}}, nil
}

// serve blocks until shutdown; an error means the server failed.
func (s *server) serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("pulsar functions instance: %s server on %s: %w", s.name, s.ln.Addr(), err)
	}
	return nil
}

// shutdown lets requests under way finish until ctx ends, then closes.
func (s *server) shutdown(ctx context.Context) {
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
}
