package sqs

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/redact"
)

// Config configures the transport. Its zero value means the defaults,
// except for the two switches that default to true (CreateQueues and
// DelayPump): a Config built in code gets them from DefaultConfig, one read
// from the environment or a file from their default tags.
type Config struct {
	Region             string        `yaml:"region" envconfig:"REGION" desc:"AWS region (default: the SDK's chain, e.g. AWS_REGION; us-east-1 with an endpoint)"`
	Endpoint           string        `yaml:"endpoint" envconfig:"ENDPOINT" desc:"base URL of an SQS-compatible server such as ElasticMQ (default: AWS's endpoint of the region)"`
	AccessKeyID        string        `yaml:"accessKeyID" envconfig:"ACCESS_KEY_ID" desc:"static access key id (default: the SDK's credential chain: environment, shared files, the role of the task or instance)"`
	SecretAccessKey    string        `yaml:"secretAccessKey" envconfig:"SECRET_ACCESS_KEY" secret:"true" desc:"the secret of the static access key"`
	QueuePrefix        string        `yaml:"queuePrefix" envconfig:"QUEUE_PREFIX" default:"weft-" desc:"prefix of every queue name; queue of topic p:e is <prefix>p_e, with .fifo for a FIFO prefix"`
	CreateQueues       bool          `yaml:"createQueues" envconfig:"CREATE_QUEUES" default:"true" desc:"create missing queues (false: a missing queue is an error naming it, for queues made by a template)"`
	VisibilityTimeout  time.Duration `yaml:"visibilityTimeout" envconfig:"VISIBILITY_TIMEOUT" default:"30s" desc:"how long a received message stays hidden; the transport extends it while a delivery is being handled (whole seconds, up to 12h)"`
	WaitTime           time.Duration `yaml:"waitTime" envconfig:"WAIT_TIME" default:"20s" desc:"long-poll wait of one receive call (whole seconds, 1s to 20s); Close may wait this long for a poll to end"`
	MaxMessageSize     int           `yaml:"maxMessageSize" envconfig:"MAX_MESSAGE_SIZE" default:"262144" desc:"largest message sent, body and message attributes, in bytes (SQS: 262144, 1048576 where larger messages are enabled)"`
	RedriveMaxReceives int           `yaml:"redriveMaxReceives" envconfig:"REDRIVE_MAX_RECEIVES" default:"20" desc:"receives after which SQS itself moves a message to the queue's -redrive queue: a backstop for consumers that crash before they can dead-letter it"`
	DelayPump          bool          `yaml:"delayPump" envconfig:"DELAY_PUMP" default:"true" desc:"run a goroutine that forwards due messages from the delay queue (off where an event source mapping feeds the delay queue to a function)"`
	FifoPrefixes       Prefixes      `yaml:"fifoPrefixes" envconfig:"FIFO_PREFIXES" default:"workflow-cmd,workflow-engine,workflow-task-executor,workflow-tag,task-tag" desc:"topic prefixes whose queues are FIFO (per-key order), comma-separated; none: every queue standard, no per-key order"`

	// Logger receives the transport's logs (nil: discarded).
	Logger *slog.Logger `yaml:"-" envconfig:"-" ignored:"true"`
	// Now is the clock (nil: time.Now); tests move it.
	Now func() time.Time `yaml:"-" envconfig:"-" ignored:"true"`
}

// DefaultConfig returns the defaults, CreateQueues and DelayPump on.
func DefaultConfig() Config {
	return Config{CreateQueues: true, DelayPump: true}.withDefaults()
}

// Prefixes is a list of topic prefixes. A nil list means the default
// (the keyed prefixes of core.IsKeyedPrefix); an empty one, none.
type Prefixes []string

// defaultFifoPrefixes are the prefixes core.IsKeyedPrefix reports.
var defaultFifoPrefixes = Prefixes{core.PrefixWorkflowCmd, core.PrefixWorkflowEngine, core.PrefixWorkflowTaskExecutor,
	core.PrefixWorkflowTag, core.PrefixTaskTag}

// Decode parses a comma-separated list; "" and "none" are the empty list.
func (p *Prefixes) Decode(s string) error {
	out := Prefixes{}
	if s = strings.TrimSpace(s); s != "" && s != "none" {
		for part := range strings.SplitSeq(s, ",") {
			out = append(out, strings.TrimSpace(part))
		}
	}
	*p = out
	return nil
}

func (p Prefixes) String() string {
	if len(p) == 0 {
		return "none"
	}
	return strings.Join(p, ",")
}

// Limits SQS sets.
const (
	maxWaitTime        = 20 * time.Second
	maxVisibility      = 12 * time.Hour
	maxSQSMessageSize  = 1 << 20
	minMessageSize     = 1024
	maxRedriveReceives = 1000
	maxQueuePrefix     = 40
)

// fieldError names a setting by its YAML name.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string     { return e.field + ": " + e.msg }
func (e *fieldError) FieldName() string { return e.field }

// Validate checks the settings; zero values stand for the defaults.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &fieldError{field, fmt.Sprintf(format, args...)})
	}
	if c.Endpoint != "" {
		if err := checkEndpoint(c.Endpoint); err != nil {
			bad("endpoint", "%v", err)
		}
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		if c.AccessKeyID == "" {
			bad("accessKeyID", "empty while secretAccessKey is set; give both or neither")
		} else {
			bad("secretAccessKey", "empty while accessKeyID is set; give both or neither")
		}
	}
	if c.QueuePrefix != "" {
		if err := checkQueuePrefix(c.QueuePrefix); err != nil {
			bad("queuePrefix", "%v", err)
		}
	}
	if d := c.VisibilityTimeout; d < 0 || d > maxVisibility || (d > 0 && d < time.Second) {
		bad("visibilityTimeout", "%v, want 1s to %v", d, maxVisibility)
	}
	if d := c.WaitTime; d < 0 || d > maxWaitTime || (d > 0 && d < time.Second) {
		bad("waitTime", "%v, want 1s to %v", d, maxWaitTime)
	}
	if n := c.MaxMessageSize; n < 0 || n > maxSQSMessageSize || (n > 0 && n < minMessageSize) {
		bad("maxMessageSize", "%d, want %d to %d", n, minMessageSize, maxSQSMessageSize)
	}
	if n := c.RedriveMaxReceives; n < 0 || n > maxRedriveReceives {
		bad("redriveMaxReceives", "%d, want 1 to %d", n, maxRedriveReceives)
	}
	for _, p := range c.FifoPrefixes {
		if p == "" || strings.Contains(p, ":") {
			bad("fifoPrefixes", "%q is not a topic prefix (non-empty, without ':')", p)
		}
	}
	return errors.Join(errs...)
}

// checkEndpoint accepts an http(s) URL with a host and no credentials.
func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", redact.URL(s))
	}
	if u.User != nil {
		return fmt.Errorf("%q carries credentials; give them as accessKeyID and secretAccessKey", redact.URL(s))
	}
	return nil
}

// checkQueuePrefix: the characters of a queue name, short enough to leave
// room for the topic, and no "__", which separates a group's queue name
// from its topic's.
func checkQueuePrefix(p string) error {
	if len(p) > maxQueuePrefix {
		return fmt.Errorf("%q is longer than %d characters", p, maxQueuePrefix)
	}
	if s, changed := sanitize(p); changed {
		return fmt.Errorf("%q has characters other than A-Z, a-z, 0-9, - and _ (e.g. %q)", p, s)
	}
	if strings.Contains(p, "__") {
		return fmt.Errorf("%q contains \"__\"", p)
	}
	return nil
}

// withDefaults replaces zero values by the defaults (the two switches
// excepted: false is a choice).
func (c Config) withDefaults() Config {
	if c.QueuePrefix == "" {
		c.QueuePrefix = "weft-"
	}
	if c.VisibilityTimeout <= 0 {
		c.VisibilityTimeout = 30 * time.Second
	}
	if c.WaitTime <= 0 {
		c.WaitTime = maxWaitTime
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 256 << 10
	}
	if c.RedriveMaxReceives <= 0 {
		c.RedriveMaxReceives = 20
	}
	if c.FifoPrefixes == nil {
		c.FifoPrefixes = defaultFifoPrefixes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// String shows the settings, the secret access key masked, so a Config
// can be logged or printed with %v.
func (c Config) String() string {
	secret := ""
	if c.SecretAccessKey != "" {
		secret = "****"
	}
	return fmt.Sprintf("sqs.Config{region=%q endpoint=%q accessKeyID=%q secretAccessKey=%q queuePrefix=%q createQueues=%v visibilityTimeout=%v waitTime=%v maxMessageSize=%d redriveMaxReceives=%d delayPump=%v fifoPrefixes=%v}",
		c.Region, redact.URL(c.Endpoint), c.AccessKeyID, secret, c.QueuePrefix, c.CreateQueues, c.VisibilityTimeout, c.WaitTime,
		c.MaxMessageSize, c.RedriveMaxReceives, c.DelayPump, c.FifoPrefixes)
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }
