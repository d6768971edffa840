package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/testenv"
	"github.com/weftio/weft/transport"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	storages   = []string{"redis", "postgres", "mysql"}
	transports = []string{"pulsar", "pgqueue"}
)

// settings returns the WEFT_* variables that select storage st and
// transport tr on the test services, each in a namespace of its own.
func settings(t *testing.T, st, tr string) map[string]string {
	t.Helper()
	return testenv.Settings(t, st, tr, "it_"+testenv.Suffix())
}

// load builds the configuration a process given env would read.
func load(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	if err != nil {
		t.Fatalf("configuration %v: %v", env, err)
	}
	return cfg
}

// open opens the storage and transport of cfg, closed when the test ends.
func open(t *testing.T, cfg *config.Config) (*bootstrap.Stores, transport.Transport) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stores, err := bootstrap.OpenStorage(ctx, cfg)
	if err != nil {
		t.Fatalf("open %s storage: %v", cfg.Storage, err)
	}
	t.Cleanup(func() { _ = stores.Close() })
	tr, err := bootstrap.OpenTransport(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("open %s transport: %v", cfg.Transport, err)
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil && !errors.Is(err, transport.ErrClosed) {
			t.Errorf("close transport: %v", err)
		}
	})
	return stores, tr
}

// combinations runs fn as a subtest for every transport × storage pair.
func combinations(t *testing.T, fn func(t *testing.T, st, tr string)) {
	for _, tr := range transports {
		for _, st := range storages {
			t.Run(tr+"+"+st, func(t *testing.T) { fn(t, st, tr) })
		}
	}
}
