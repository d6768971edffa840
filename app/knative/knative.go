// Package knative builds the Knative runtime and transport into a binary.
// A program's main imports it for its side effects, as database/sql
// drivers are imported:
//
//	import _ "github.com/weftio/weft/app/knative"
//
// Then the binary runs its roles as a Knative Service when Knative starts
// it (K_SERVICE is set; or WEFT_RUNTIME=knative): an HTTP server on $PORT
// taking the CloudEvents a Broker posts (see adapters/knative), and
// WEFT_TRANSPORT=knative posts the outputs to the Broker at $K_SINK (see
// transport/knative).
package knative

import (
	"context"
	"fmt"
	"net/http"
	"os"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weftio/weft/adapters/knative"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/devserver"
	"github.com/weftio/weft/internal/triggers"
	_ "github.com/weftio/weft/transport/knative" // WEFT_TRANSPORT=knative
)

func init() {
	// weft dev's POST /v1/events reads CloudEvents with the SDK.
	devserver.RegisterEventDecoder(func(r *http.Request) (triggers.Event, error) {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			return nil, err
		}
		return *e, e.Validate()
	})
	bootstrap.RegisterLauncher(bootstrap.Launcher{
		Name:   config.RuntimeKnative,
		Detect: func(_ []string, getenv func(string) string) bool { return getenv("K_SERVICE") != "" },
		Setup: func(args []string) (bootstrap.Platform, error) {
			if len(args) > 0 {
				return nil, fmt.Errorf("the knative runtime takes no arguments, got %q", args)
			}
			return platform{port: os.Getenv("PORT")}, nil
		},
	})
}

// platform is a Knative Service's container.
type platform struct{ port string }

func (platform) Lookup(string) (string, bool) { return "", false }
func (platform) Keys() []string               { return nil }

// Run serves the functions on $PORT (8080 without it) until ctx ends.
func (p platform) Run(ctx context.Context, r *bootstrap.Running) error {
	addr := knative.DefaultAddr
	if p.port != "" {
		addr = ":" + p.port
	}
	srv, err := knative.New(knative.Config{Functions: r.Functions, Transport: r.Transport, Addr: addr,
		MaxInFlight: r.Config.Worker.Concurrency * len(r.Functions), ShutdownGrace: r.Config.Worker.ShutdownGrace,
		Check: r.Check, Triggers: r.Triggers, Logger: r.Logger})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if r.Ready != nil {
		go func() {
			select {
			case <-srv.Ready():
				r.Ready()
			case <-runCtx.Done():
			}
		}()
	}
	return srv.Run(runCtx)
}
