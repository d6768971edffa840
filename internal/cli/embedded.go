package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/devserver"
	"github.com/weftio/weft/internal/triggers"
	"github.com/weftio/weft/transport"
)

// app is the embedded runtime with the program's code on the configured
// transport and storage.
type app struct {
	rt       *embedded.Runtime
	tr       transport.Transport
	stores   *bootstrap.Stores
	desc     string
	triggers *triggers.Mapper
}

func (a *app) stop() error { return errors.Join(a.rt.Stop(), a.tr.Close(), a.stores.Close()) }

func startEmbedded(ctx context.Context, p Program, out io.Writer, quiet bool) (*app, error) {
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
	tr, err := bootstrap.OpenTransportWith(ctx, cfg, logger, stores)
	if err != nil {
		return nil, errors.Join(err, stores.Close())
	}
	sink, err := bootstrap.EventSink(cfg)
	if err != nil {
		return nil, errors.Join(err, tr.Close(), stores.Close())
	}
	reg, err := p.registry(out)
	if err != nil {
		return nil, errors.Join(err, tr.Close(), stores.Close())
	}
	mapper, err := bootstrap.Triggers(cfg, reg, "weft/"+p.Name)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("configuration:\n%w", err), tr.Close(), stores.Close())
	}
	rt, err := embedded.Start(ctx, reg, embedded.Options{Store: stores.KeyValue, Tags: stores.KeySet, EventSink: sink, Transport: tr, Logger: logger,
		Concurrency: cfg.Worker.Concurrency})
	if err != nil {
		return nil, errors.Join(err, tr.Close(), stores.Close())
	}
	fmt.Fprintf(out, "(%s transport, %s storage)\n", cfg.Transport, cfg.Storage)
	return &app{rt: rt, tr: tr, stores: stores, desc: registered(reg), triggers: mapper}, nil
}

func runDemo(ctx context.Context, p Program, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	a, err := startEmbedded(ctx, p, out, true)
	if err != nil {
		return err
	}
	err = p.Demo(ctx, a.rt.Client(), out)
	return errors.Join(err, a.stop())
}

func runDev(ctx context.Context, p Program, args []string, out, errOut io.Writer) error {
	dev, err := config.LoadDev(config.Source{})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(errOut)
	addr := fs.String("addr", dev.Addr, "listen address of the HTTP API (not loopback: needs WEFT_DEV_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Before anything starts: an open API on the network is refused.
	if err := devserver.CheckListen(*addr, dev.Token); err != nil {
		return err
	}
	a, err := startEmbedded(ctx, p, out, false)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen on %s: %w", *addr, err), a.stop())
	}
	srv := &http.Server{Handler: devserver.Handler(a.rt.Client(), devserver.Options{Token: dev.Token,
		Events: devserver.Events{Triggers: a.triggers, Publish: a.tr.Publish}}), ReadHeaderTimeout: 10 * time.Second}
	access := "loopback only, no token"
	if dev.Token != "" {
		access = "requests must carry WEFT_DEV_TOKEN as a bearer token"
	}
	fmt.Fprintf(out, "%s dev server on http://%s (%s; %s); Ctrl-C stops it\n", p.Name, ln.Addr(), access, a.desc)
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
