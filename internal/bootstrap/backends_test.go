package bootstrap_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/examples"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/testenv"
)

// TestExamplesOnEveryBackend is `WEFT_STORAGE=<backend> make demo` as a
// test: configuration from WEFT_* variables, the driver opened by
// bootstrap, the three examples run to completion on it.
func TestExamplesOnEveryBackend(t *testing.T) {
	cases := []struct{ storage, urlVar, env string }{
		{"memory", "", ""},
		{"redis", testenv.RedisURL, "WEFT_REDIS_URL"},
		{"postgres", testenv.PostgresURL, "WEFT_POSTGRES_URL"},
		{"mysql", testenv.MySQLURL, "WEFT_MYSQL_URL"},
	}
	for _, c := range cases {
		t.Run(c.storage, func(t *testing.T) {
			vars := map[string]string{"WEFT_STORAGE": c.storage, "WEFT_STORAGE_COMPRESSION": "gzip"}
			if c.urlVar != "" {
				vars[c.env] = testenv.URL(t, c.urlVar)
			}
			switch c.storage {
			case "redis":
				vars["WEFT_REDIS_KEY_PREFIX"] = fmt.Sprintf("demo%d:", time.Now().UnixNano())
			case "postgres":
				vars["WEFT_POSTGRES_SCHEMA"] = "weft_demo_test"
			case "mysql":
				vars["WEFT_MYSQL_DATABASE"] = "weft_demo_test"
			}
			cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			stores, err := bootstrap.OpenStorage(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer stores.Close()
			reg := weft.NewRegistry()
			if err := examples.Register(reg, io.Discard); err != nil {
				t.Fatal(err)
			}
			rt, err := embedded.Start(ctx, reg, embedded.Options{Store: stores.KeyValue})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err = examples.RunAll(ctx, rt.Client(), &out)
			if serr := rt.Stop(); err == nil {
				err = serr
			}
			if err != nil {
				t.Fatalf("examples on %s: %v\n%s", c.storage, err, out.String())
			}
			if !strings.Contains(out.String(), "sum of squares 1..100 = 338350") {
				t.Fatalf("output:\n%s", out.String())
			}
		})
	}
}

func TestUnreachableBackendNamesHostAndPort(t *testing.T) {
	for _, storage := range []string{"redis", "postgres", "mysql"} {
		vars := map[string]string{"WEFT_STORAGE": storage}
		up := strings.ToUpper(storage)
		vars["WEFT_"+up+"_HOST"], vars["WEFT_"+up+"_PORT"] = "127.0.0.1", "1"
		vars["WEFT_MYSQL_USER"], vars["WEFT_POSTGRES_USER"] = "weft", "weft"
		for _, k := range []string{"WEFT_REDIS_DIAL_TIMEOUT", "WEFT_POSTGRES_CONNECT_TIMEOUT", "WEFT_MYSQL_CONNECT_TIMEOUT"} {
			vars[k] = "2s"
		}
		cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }})
		if err != nil {
			t.Fatalf("%s: %v", storage, err)
		}
		start := time.Now()
		_, err = bootstrap.OpenStorage(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Fatalf("%s: err = %v, want one naming 127.0.0.1:1", storage, err)
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("%s: took %v", storage, time.Since(start))
		}
	}
}
