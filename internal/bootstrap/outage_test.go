package bootstrap_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/tcpproxy"
	"github.com/weftio/weft/internal/testenv"
)

var (
	outageStep = weft.NewTask[int, int]("Outage", "step")
	outageFlow = weft.NewWorkflow[int, int]("OutageFlow", "run")
)

// TestServerRestartMidRun runs workflows on a real backend reached through
// a proxy, cuts every connection for a while in the middle (what a server
// restart looks like to weft), and checks that every workflow still ends
// with the right result and nothing was dead-lettered: the engine retries
// in place until the database is back.
func TestServerRestartMidRun(t *testing.T) {
	cases := []struct{ storage, urlVar, prefix string }{
		{"redis", testenv.RedisURL, "WEFT_REDIS"},
		{"postgres", testenv.PostgresURL, "WEFT_POSTGRES"},
		{"mysql", testenv.MySQLURL, "WEFT_MYSQL"},
	}
	for _, c := range cases {
		t.Run(c.storage, func(t *testing.T) {
			u, err := url.Parse(testenv.URL(t, c.urlVar))
			if err != nil {
				t.Fatal(err)
			}
			proxy, err := tcpproxy.Start(u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			u.Host = proxy.Addr()
			vars := map[string]string{"WEFT_STORAGE": c.storage, c.prefix + "_URL": u.String()}
			switch c.storage {
			case "redis":
				vars["WEFT_REDIS_KEY_PREFIX"] = fmt.Sprintf("outage%d:", time.Now().UnixNano())
				vars["WEFT_REDIS_DIAL_TIMEOUT"], vars["WEFT_REDIS_READ_TIMEOUT"] = "1s", "1s"
			case "postgres":
				vars["WEFT_POSTGRES_SCHEMA"], vars["WEFT_POSTGRES_CONNECT_TIMEOUT"] = "weft_outage_test", "1s"
			case "mysql":
				vars["WEFT_MYSQL_DATABASE"], vars["WEFT_MYSQL_CONNECT_TIMEOUT"] = "weft_outage_test", "1s"
				vars["WEFT_MYSQL_READ_TIMEOUT"], vars["WEFT_MYSQL_WRITE_TIMEOUT"] = "2s", "2s"
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
			var warns warnings
			reg := weft.NewRegistry()
			weft.MustRegister(weft.RegisterTask(reg, outageStep, func(_ weft.TaskContext, n int) (int, error) {
				time.Sleep(5 * time.Millisecond)
				return n + 1, nil
			}))
			weft.MustRegister(weft.RegisterWorkflow(reg, outageFlow, func(ctx weft.Context, n int) (int, error) {
				for range 20 {
					var err error
					if n, err = weft.Call(ctx, outageStep, n); err != nil {
						return 0, err
					}
				}
				return n, nil
			}))
			rt, err := embedded.Start(ctx, reg, embedded.Options{Store: stores.KeyValue, Logger: warns.logger()})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Stop()
			const n = 20
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					got, err := client.Run(ctx, rt.Client(), outageFlow, i*100)
					if err == nil && got != i*100+20 {
						err = fmt.Errorf("workflow %d returned %d", i, got)
					}
					errs <- err
				})
			}
			time.Sleep(150 * time.Millisecond)
			proxy.Down()
			time.Sleep(1500 * time.Millisecond)
			proxy.Up()
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := warns.count("dead-lettering"); got != 0 {
				t.Fatalf("%d messages dead-lettered during the outage", got)
			}
			if warns.count("unavailable") == 0 {
				t.Fatalf("the outage was not noticed: is the proxy in the path? (%s)", proxy.Addr())
			}
		})
	}
}

// warnings counts log messages by substring.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) count(sub string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, m := range w.msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}
