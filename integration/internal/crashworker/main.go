// Command crashworker runs the roles for the chain workflow on the
// transport and storage configured by WEFT_* variables until it is killed.
// The integration tests start it, kill it with SIGKILL mid-workflow and
// start it again.
//
// CHAIN_TASK_LOG names the file each task execution is logged to;
// CHAIN_TASK_PAUSE how long each task takes.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/integration/internal/chain"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "crashworker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := config.Load(config.Source{})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	pause, err := time.ParseDuration(os.Getenv("CHAIN_TASK_PAUSE"))
	if err != nil && os.Getenv("CHAIN_TASK_PAUSE") != "" {
		return fmt.Errorf("CHAIN_TASK_PAUSE: %w", err)
	}
	logger := bootstrap.Logger(cfg)
	stores, err := bootstrap.OpenStorage(ctx, cfg)
	if err != nil {
		return err
	}
	tr, err := bootstrap.OpenTransport(ctx, cfg, logger)
	if err != nil {
		return errors.Join(err, stores.Close())
	}
	sink, err := bootstrap.EventSink(cfg)
	if err != nil {
		return errors.Join(err, tr.Close(), stores.Close())
	}
	reg := weft.NewRegistry()
	if err := chain.Register(reg, os.Getenv("CHAIN_TASK_LOG"), pause); err != nil {
		return errors.Join(err, tr.Close(), stores.Close())
	}
	rt, err := embedded.Start(ctx, reg, embedded.Options{Store: stores.KeyValue, Tags: stores.KeySet, EventSink: sink, Transport: tr, Logger: logger,
		Concurrency: cfg.Worker.Concurrency})
	if err != nil {
		return errors.Join(err, tr.Close(), stores.Close())
	}
	fmt.Println("crashworker ready")
	<-ctx.Done()
	return errors.Join(rt.Stop(), tr.Close(), stores.Close())
}
