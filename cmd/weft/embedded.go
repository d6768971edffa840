package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/devserver"
)

// app is the embedded runtime with the examples on the configured storage.
type app struct {
	rt     *embedded.Runtime
	stores *bootstrap.Stores
}

func (a *app) stop() error { return errors.Join(a.rt.Stop(), a.stores.Close()) }

func startExamples(ctx context.Context, out io.Writer, quiet bool) (*app, error) {
	cfg, err := config.Load(config.Source{})
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	logger := bootstrap.Logger(cfg)
	if quiet {
		logger = nil
	}
	stores, err := bootstrap.OpenStorage(ctx, cfg)
	if err != nil {
		return nil, err
	}
	reg := weft.NewRegistry()
	if err := examples.Register(reg, out); err != nil {
		return nil, errors.Join(err, stores.Close())
	}
	rt, err := embedded.Start(ctx, reg, embedded.Options{Store: stores.KeyValue, Logger: logger, Concurrency: cfg.Worker.Concurrency})
	if err != nil {
		return nil, errors.Join(err, stores.Close())
	}
	fmt.Fprintf(out, "(embedded runtime, %s storage)\n", cfg.Storage)
	return &app{rt: rt, stores: stores}, nil
}

func runDemo(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	a, err := startExamples(ctx, out, true)
	if err != nil {
		return err
	}
	err = examples.RunAll(ctx, a.rt.Client(), out)
	return errors.Join(err, a.stop())
}

func runDev(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(errOut)
	addr := fs.String("addr", envOr("WEFT_DEV_ADDR", "127.0.0.1:8233"), "listen address of the HTTP API")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := startExamples(ctx, out, false)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen on %s: %w", *addr, err), a.stop())
	}
	srv := &http.Server{Handler: devserver.Handler(a.rt.Client()), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "weft dev server on http://%s (examples registered: TripBooking, FanOut, ExpenseApproval); Ctrl-C stops it\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(err, srv.Shutdown(sctx), a.stop())
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
