package knative

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/weftio/weft/internal/redact"
	"github.com/weftio/weft/storage"
)

// Config configures the transport.
type Config struct {
	Sink           string        `yaml:"sink" envconfig:"SINK" desc:"URL outputs are posted to as CloudEvents: a Knative Broker's ingress (default: $K_SINK, which a SinkBinding or the Service's sink sets)"`
	Timeout        time.Duration `yaml:"timeout" envconfig:"TIMEOUT" default:"10s" desc:"how long one post to the sink may take"`
	MaxMessageSize int           `yaml:"maxMessageSize" envconfig:"MAX_MESSAGE_SIZE" default:"4194304" desc:"largest event accepted or posted, in bytes"`
	DelayPoll      time.Duration `yaml:"delayPoll" envconfig:"DELAY_POLL" default:"1s" desc:"how often a process looks for delayed messages that are due (timers, retries), kept in storage since a Broker cannot delay"`
	DelayClaim     time.Duration `yaml:"delayClaim" envconfig:"DELAY_CLAIM" default:"30s" desc:"a process posting a due delayed message holds it for this long; if it dies meanwhile, another posts it after"`
	KeyPrefix      string        `yaml:"keyPrefix" envconfig:"KEY_PREFIX" default:"weft-knative:" desc:"prefix of the storage keys of delayed messages"`

	// Store and Tags hold the delayed messages (nil: the transport refuses
	// delayed envelopes).
	Store storage.KeyValue `yaml:"-" envconfig:"-" ignored:"true"`
	Tags  storage.KeySet   `yaml:"-" envconfig:"-" ignored:"true"`
	// Overrides are the extensions added to every posted event (default:
	// those of $K_CE_OVERRIDES); weft's own are never replaced.
	Overrides map[string]string `yaml:"-" envconfig:"-" ignored:"true"`
	// Client posts to the sink (nil: one with Timeout).
	Client *http.Client `yaml:"-" envconfig:"-" ignored:"true"`
	// Logger receives the transport's logs (nil: discarded).
	Logger *slog.Logger `yaml:"-" envconfig:"-" ignored:"true"`
	// Now is the clock (nil: time.Now); tests move it.
	Now func() time.Time `yaml:"-" envconfig:"-" ignored:"true"`
}

// fieldError names a setting by its YAML name.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string     { return e.field + ": " + e.msg }
func (e *fieldError) FieldName() string { return e.field }

// Validate checks the settings as given (the sink may still come from
// $K_SINK when the transport opens).
func (c *Config) Validate() error {
	var errs []error
	if c.Sink != "" {
		if err := checkSink(c.Sink); err != nil {
			errs = append(errs, &fieldError{"sink", err.Error()})
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, &fieldError{"timeout", fmt.Sprintf("%v, want > 0", c.Timeout)})
	}
	if c.MaxMessageSize <= 0 {
		errs = append(errs, &fieldError{"maxMessageSize", fmt.Sprintf("%d, want > 0", c.MaxMessageSize)})
	}
	if c.DelayPoll <= 0 {
		errs = append(errs, &fieldError{"delayPoll", fmt.Sprintf("%v, want > 0", c.DelayPoll)})
	}
	if c.DelayClaim <= 0 {
		errs = append(errs, &fieldError{"delayClaim", fmt.Sprintf("%v, want > 0", c.DelayClaim)})
	}
	return errors.Join(errs...)
}

// checkSink accepts an http(s) URL with a host.
func checkSink(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", redact.URL(s))
	}
	return nil
}

// withDefaults fills what the environment gives: the sink from $K_SINK,
// the overrides from $K_CE_OVERRIDES.
func (c Config) withDefaults(getenv func(string) string) (Config, error) {
	if c.Sink == "" {
		c.Sink = getenv("K_SINK")
	}
	if c.Sink == "" {
		return c, errors.New("knative transport: no sink: set WEFT_KNATIVE_SINK, or run where Knative sets K_SINK (a SinkBinding, or a Service with a sink)")
	}
	if err := checkSink(c.Sink); err != nil {
		return c, fmt.Errorf("knative transport: sink %w", err)
	}
	if c.Overrides == nil {
		o, err := parseOverrides(getenv("K_CE_OVERRIDES"))
		if err != nil {
			return c, err
		}
		c.Overrides = o
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 4 << 20
	}
	if c.DelayPoll <= 0 {
		c.DelayPoll = time.Second
	}
	if c.DelayClaim <= 0 {
		c.DelayClaim = 30 * time.Second
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "weft-knative:"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		c.Client = &http.Client{Timeout: c.Timeout, Transport: tr}
	}
	return c, nil
}

// getenv is the environment the transport reads K_SINK from.
var getenv = os.Getenv
