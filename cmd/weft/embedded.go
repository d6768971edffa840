package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/internal/devserver"
)

func startExamples(ctx context.Context, out io.Writer, logger *slog.Logger) (*embedded.Runtime, error) {
	reg := weft.NewRegistry()
	if err := examples.Register(reg, out); err != nil {
		return nil, err
	}
	return embedded.Start(ctx, reg, embedded.Options{Logger: logger})
}

func runDemo(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	rt, err := startExamples(ctx, out, nil)
	if err != nil {
		return err
	}
	err = examples.RunAll(ctx, rt.Client(), out)
	return errors.Join(err, rt.Stop())
}

func runDev(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(errOut)
	addr := fs.String("addr", envOr("WEFT_DEV_ADDR", "127.0.0.1:8233"), "listen address of the HTTP API")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rt, err := startExamples(ctx, out, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen on %s: %w", *addr, err), rt.Stop())
	}
	srv := &http.Server{Handler: devserver.Handler(rt.Client()), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "weft dev server on http://%s (examples registered: TripBooking, FanOut, ExpenseApproval); Ctrl-C stops it\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(err, srv.Shutdown(sctx), rt.Stop())
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
