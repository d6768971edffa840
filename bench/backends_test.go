package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/testenv"
)

// openBackends opens storage st and transport tr on the test services, in
// namespace ns of their own (testenv.Settings, which skips t or fails it
// when a service's URL is missing), for an embedded runtime; override
// replaces some of the WEFT_* settings (another server's URL). For
// memory+memory it opens nothing: the runtime's own in-memory drivers are
// used. The caller closes what it opened with the returned function, after
// stopping the runtime.
func openBackends(ctx context.Context, t testing.TB, st, tr, ns string, override map[string]string) (embedded.Options, func() error, error) {
	if st == "memory" && tr == "memory" {
		return embedded.Options{}, func() error { return nil }, nil
	}
	env := testenv.Settings(t, st, tr, ns)
	for k, v := range override {
		if _, ok := env[k]; ok {
			env[k] = v
		}
	}
	cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		return embedded.Options{}, nil, err
	}
	stores, err := bootstrap.OpenStorage(ctx, cfg)
	if err != nil {
		return embedded.Options{}, nil, err
	}
	trans, err := bootstrap.OpenTransport(ctx, cfg, nil)
	if err != nil {
		return embedded.Options{}, nil, errors.Join(err, stores.Close())
	}
	closeAll := func() error { return errors.Join(trans.Close(), stores.Close()) }
	return embedded.Options{Store: stores.KeyValue, Tags: stores.KeySet, Transport: trans}, closeAll, nil
}
