// Package eventsink delivers weft's lifecycle events to an HTTP CloudEvents
// sink (a Knative Broker at $K_SINK, or any CloudEvents receiver), in
// binary mode: the attributes in ce-* headers, the event's JSON as body.
package eventsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/functions"
	"github.com/weftio/weft/internal/redact"
)

// HTTP returns a sink posting each event to target. A 2xx answer delivers
// it; 400–499 (but 408 and 429) is a permanent refusal (the event goes to
// the dead-letter topic with the answer); anything else, or no answer
// within timeout, is retried.
func HTTP(target string, timeout time.Duration) (functions.EventSink, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("event sink %q is not an http(s) URL", redact.URL(target))
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	shown := redact.URL(target) // for messages: the URL may hold a password or a token
	p, err := cehttp.New(cehttp.WithTarget(target), cehttp.WithClient(http.Client{Timeout: timeout}))
	if err != nil {
		return nil, fmt.Errorf("event sink %s: %w", shown, redact.Error(err))
	}
	c, err := cloudevents.NewClient(p)
	if err != nil {
		return nil, fmt.Errorf("event sink %s: %w", shown, redact.Error(err))
	}
	return func(ctx context.Context, env core.Envelope, _ *core.Event) error {
		e := cloudevents.NewEvent()
		e.SetID(env.ID)
		e.SetSource(env.Source)
		e.SetType(env.Type)
		e.SetSubject(env.Subject)
		e.SetTime(env.Time)
		if err := e.SetData(cloudevents.ApplicationJSON, json.RawMessage(env.Data)); err != nil {
			return functions.Permanent("event data", err)
		}
		res := c.Send(ctx, e)
		if cloudevents.IsACK(res) {
			return nil
		}
		var hr *cehttp.Result
		if errors.As(res, &hr) && hr.StatusCode >= 400 && hr.StatusCode < 500 && hr.StatusCode != http.StatusRequestTimeout &&
			hr.StatusCode != http.StatusTooManyRequests {
			return functions.Permanent(fmt.Sprintf("event sink %s refused %s with HTTP %d", shown, env.ID, hr.StatusCode), redact.Error(res))
		}
		return fmt.Errorf("event sink %s: %w", shown, redact.Error(res))
	}, nil
}
