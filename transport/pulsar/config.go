package pulsar

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/weftio/weft/internal/redact"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTenant                  = "public"
	DefaultNamespace               = "default"
	DefaultRetentionTime           = 24 * time.Hour
	DefaultRetentionSizeMB         = 1024
	DefaultConnectionTimeout       = 5 * time.Second
	DefaultOperationTimeout        = 30 * time.Second
	DefaultReceiverQueueSize       = 1000
	DefaultBatchingMaxPublishDelay = 10 * time.Millisecond
	DefaultBatchingMaxMessages     = 1000
	// DefaultMaxMessageSize is the broker's default maxMessageSize.
	DefaultMaxMessageSize = 5 << 20
)

// Config configures a Transport. The zero value of every field but URL means
// its default.
type Config struct {
	// URL is the broker service URL: pulsar://host:port or
	// pulsar+ssl://host:port (several hosts separated by commas). Required.
	URL string `yaml:"url" envconfig:"URL" desc:"broker service URL pulsar://host:port or pulsar+ssl://host:port (several hosts separated by commas); required"`
	// AdminURL is the admin (web service) URL, http:// or https://. When set,
	// New creates the tenant and the namespace if they are missing.
	AdminURL string `yaml:"adminUrl" envconfig:"ADMIN_URL" desc:"admin (web service) URL http(s)://host:port; when set, the tenant and namespace are created if missing"`
	// Tenant and Namespace hold weft's topics (default public/default).
	Tenant    string `yaml:"tenant" envconfig:"TENANT" default:"public" desc:"tenant holding weft's topics"`
	Namespace string `yaml:"namespace" envconfig:"NAMESPACE" default:"default" desc:"namespace holding weft's topics"`

	// RetentionTime and RetentionSizeMB are the retention policy given to a
	// namespace New creates (default 24 h and 1024 MB per topic): without
	// one, a message published to a topic before its first subscription
	// exists may be deleted. Negative means unlimited; both zero mean the
	// defaults. An existing namespace is left as it is.
	RetentionTime   time.Duration `yaml:"retentionTime" envconfig:"RETENTION_TIME" default:"24h" desc:"retention of a namespace weft creates: messages (also of topics nobody subscribed to yet) are kept this long (negative: unlimited)"`
	RetentionSizeMB int           `yaml:"retentionSizeMB" envconfig:"RETENTION_SIZE_MB" default:"1024" desc:"retention of a namespace weft creates: at most this many MB per topic (negative: unlimited)"`

	// TLSTrustCertsFile is a PEM file of the CAs to trust for pulsar+ssl://
	// and https:// (default: the system roots).
	TLSTrustCertsFile string `yaml:"tlsTrustCertsFile" envconfig:"TLS_TRUST_CERTS_FILE" desc:"PEM file of the CAs to trust for pulsar+ssl:// and https:// (default: the system roots)"`
	// TLSAllowInsecure accepts any server certificate.
	TLSAllowInsecure bool `yaml:"tlsAllowInsecure" envconfig:"TLS_ALLOW_INSECURE" default:"false" desc:"accept any server certificate (tests only)"`
	// TLSSkipHostnameVerification checks the server certificate's chain
	// but not that it names the host. Host names are verified unless this
	// says otherwise, for the broker and the admin URL alike.
	TLSSkipHostnameVerification bool `yaml:"tlsSkipHostnameVerification" envconfig:"TLS_SKIP_HOSTNAME_VERIFICATION" default:"false" desc:"verify the server certificate's chain but not its host name (tests only; host names are verified by default)"`

	// Token is a JWT for token authentication; TokenFile names a file
	// holding one (re-read when the client reconnects). At most one may be
	// set. Neither is ever printed (see String).
	Token     string `yaml:"token" envconfig:"TOKEN" secret:"true" desc:"JWT for token authentication (secret, never printed)"`
	TokenFile string `yaml:"tokenFile" envconfig:"TOKEN_FILE_PATH" desc:"file holding the JWT, re-read on reconnect; instead of token"`

	// ConnectionTimeout bounds establishing a connection (default 5 s);
	// New fails within it when the broker is unreachable.
	ConnectionTimeout time.Duration `yaml:"connectionTimeout" envconfig:"CONNECTION_TIMEOUT" default:"5s" desc:"bound on establishing a connection; startup fails within it when the broker is unreachable"`
	// OperationTimeout bounds creating producers and consumers, sending and
	// admin calls (default 30 s).
	OperationTimeout time.Duration `yaml:"operationTimeout" envconfig:"OPERATION_TIMEOUT" default:"30s" desc:"bound on creating producers and consumers, sending and admin calls"`

	// ReceiverQueueSize is how many messages a subscription prefetches
	// (default 1000).
	ReceiverQueueSize int `yaml:"receiverQueueSize" envconfig:"RECEIVER_QUEUE_SIZE" default:"1000" desc:"messages a subscription prefetches"`
	// AckWithResponse makes Ack wait for the broker's confirmation (one
	// round trip per ack). By default acks are sent in groups every 10 ms and
	// flushed when a subscription closes; a lost ack means a redelivery.
	AckWithResponse bool `yaml:"ackWithResponse" envconfig:"ACK_WITH_RESPONSE" default:"false" desc:"make every ack wait for the broker's confirmation"`

	// DisableBatching sends every message in its own frame. Otherwise
	// messages of one partition key are batched (key-based batching, so
	// Key_Shared subscriptions can spread keys) for up to
	// BatchingMaxPublishDelay (default 10 ms; Publish flushes at its end)
	// and BatchingMaxMessages (default 1000).
	DisableBatching         bool          `yaml:"disableBatching" envconfig:"DISABLE_BATCHING" default:"false" desc:"send every message in its own frame"`
	BatchingMaxPublishDelay time.Duration `yaml:"batchingMaxPublishDelay" envconfig:"BATCHING_MAX_PUBLISH_DELAY" default:"10ms" desc:"longest a message waits for its batch"`
	BatchingMaxMessages     int           `yaml:"batchingMaxMessages" envconfig:"BATCHING_MAX_MESSAGES" default:"1000" desc:"most messages in one batch"`

	// MaxMessageSize is the largest body Publish accepts (default 5 MiB, the
	// broker's default maxMessageSize). Keep it at or below the broker's;
	// bodies over 128 KiB are sent compressed, which is what lets a body of
	// the broker's limit fit with its metadata (see the package doc).
	MaxMessageSize int `yaml:"maxMessageSize" envconfig:"MAX_MESSAGE_SIZE" default:"5242880" desc:"largest message body accepted, in bytes (keep at or below the broker's maxMessageSize)"`

	// Logger receives the transport's logs and the Pulsar client's warnings
	// and errors (default: discarded).
	Logger *slog.Logger `yaml:"-" envconfig:"-" ignored:"true"`
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Tenant == "" {
		c.Tenant = DefaultTenant
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.RetentionTime == 0 && c.RetentionSizeMB == 0 {
		c.RetentionTime, c.RetentionSizeMB = DefaultRetentionTime, DefaultRetentionSizeMB
	}
	if c.ConnectionTimeout == 0 {
		c.ConnectionTimeout = DefaultConnectionTimeout
	}
	if c.OperationTimeout == 0 {
		c.OperationTimeout = DefaultOperationTimeout
	}
	if c.ReceiverQueueSize == 0 {
		c.ReceiverQueueSize = DefaultReceiverQueueSize
	}
	if c.BatchingMaxPublishDelay == 0 {
		c.BatchingMaxPublishDelay = DefaultBatchingMaxPublishDelay
	}
	if c.BatchingMaxMessages == 0 {
		c.BatchingMaxMessages = DefaultBatchingMaxMessages
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// pulsarName is what Pulsar accepts for tenant and namespace names.
var pulsarName = regexp.MustCompile(`^[-=:.\w]+$`)

// FieldError is one invalid Config field.
type FieldError struct {
	// Field is the Go field name; FieldName gives the YAML name.
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "pulsar: Config." + e.Field + ": " + e.Msg }

// FieldName is the field's YAML name (e.g. "adminUrl"), which the
// configuration layer maps to its environment variable.
func (e *FieldError) FieldName() string {
	if f, ok := reflect.TypeFor[Config]().FieldByName(e.Field); ok {
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
			return name
		}
	}
	return e.Field
}

// Validate checks cfg with its defaults applied, reporting every invalid
// field (as *FieldError) at once; no message quotes the token.
func (c Config) Validate() error { return c.withDefaults().validate() }

// validate checks c (after withDefaults). Every error names the field and
// none quotes the token.
func (c Config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if c.URL == "" {
		bad("URL", "is required (pulsar://host:6650 or pulsar+ssl://host:6651)")
	} else if _, err := serviceHosts(c.URL); err != nil {
		bad("URL", "%v", err)
	}
	if c.AdminURL != "" {
		// The URL may hold a password: errors show it redacted, or not at
		// all when it does not parse (url's errors quote parts of it).
		u, err := url.Parse(c.AdminURL)
		switch {
		case err != nil:
			bad("AdminURL", "does not parse as a URL (in a password, write '#' as %%23, '/' as %%2F, '?' as %%3F and '@' as %%40)")
		case u.Scheme != "http" && u.Scheme != "https":
			bad("AdminURL", "%q: the scheme must be http or https", u.Redacted())
		case u.Host == "":
			bad("AdminURL", "%q has no host", u.Redacted())
		}
	}
	if !pulsarName.MatchString(c.Tenant) {
		bad("Tenant", "%q: only letters, digits and - _ = : . are allowed", c.Tenant)
	}
	if !pulsarName.MatchString(c.Namespace) {
		bad("Namespace", "%q: only letters, digits and - _ = : . are allowed", c.Namespace)
	}
	if c.Token != "" && c.TokenFile != "" {
		bad("Token", "set Token or TokenFile, not both")
	}
	if c.TokenFile != "" {
		if _, err := os.Stat(c.TokenFile); err != nil {
			bad("TokenFile", "%v", err)
		}
	}
	if c.TLSTrustCertsFile != "" {
		if _, err := os.Stat(c.TLSTrustCertsFile); err != nil {
			bad("TLSTrustCertsFile", "%v", err)
		}
	}
	if c.TLSAllowInsecure && c.TLSSkipHostnameVerification {
		bad("TLSSkipHostnameVerification", "set, but TLSAllowInsecure turns all verification off, so it would be ignored")
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"ConnectionTimeout", c.ConnectionTimeout},
		{"OperationTimeout", c.OperationTimeout},
		{"BatchingMaxPublishDelay", c.BatchingMaxPublishDelay},
	} {
		if d.v < 0 {
			bad(d.field, "is %v, want > 0 (0 means the default)", d.v)
		}
	}
	for _, n := range []struct {
		field string
		v     int
	}{
		{"ReceiverQueueSize", c.ReceiverQueueSize},
		{"BatchingMaxMessages", c.BatchingMaxMessages},
		{"MaxMessageSize", c.MaxMessageSize},
	} {
		if n.v < 0 {
			bad(n.field, "is %d, want > 0 (0 means the default)", n.v)
		}
	}
	return errors.Join(errs...)
}

// serviceHosts returns the host:port pairs of a service URL.
func serviceHosts(service string) ([]string, error) {
	scheme, rest, ok := strings.Cut(service, "://")
	if !ok {
		return nil, fmt.Errorf("%q is not a URL (want pulsar://host:port)", redact.URL(service))
	}
	defPort := ""
	switch scheme {
	case "pulsar":
		defPort = "6650"
	case "pulsar+ssl":
		defPort = "6651"
	case "http":
		defPort = "80"
	case "https":
		defPort = "443"
	default:
		return nil, fmt.Errorf("%q: the scheme must be pulsar, pulsar+ssl, http or https", redact.URL(service))
	}
	rest, _, _ = strings.Cut(rest, "/")
	if strings.Contains(rest, "@") {
		// Not quoted: what comes before the @ may be a password.
		return nil, errors.New("a service URL has no user info (user:password@); authenticate with Token or TokenFile")
	}
	var hosts []string
	for h := range strings.SplitSeq(rest, ",") {
		if h == "" {
			return nil, fmt.Errorf("%q has an empty host", redact.URL(service))
		}
		if !strings.Contains(h, ":") || strings.HasSuffix(h, "]") {
			h += ":" + defPort
		}
		// What the client will dial: host:port with a port in range.
		host, port, err := net.SplitHostPort(h)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: %q is not host:port with a port in 1..65535", service, h)
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// String describes c without its token or the passwords its URLs may hold,
// so a Config can be logged.
func (c Config) String() string {
	token := ""
	if c.Token != "" {
		token = "[redacted]"
	}
	return fmt.Sprintf("pulsar.Config{URL:%q AdminURL:%q Tenant:%q Namespace:%q Token:%q TokenFile:%q "+
		"TLSTrustCertsFile:%q TLSAllowInsecure:%t TLSSkipHostnameVerification:%t ConnectionTimeout:%v OperationTimeout:%v "+
		"ReceiverQueueSize:%d AckWithResponse:%t DisableBatching:%t BatchingMaxPublishDelay:%v BatchingMaxMessages:%d MaxMessageSize:%d}",
		redact.URL(c.URL), redact.URL(c.AdminURL), c.Tenant, c.Namespace, token, c.TokenFile,
		c.TLSTrustCertsFile, c.TLSAllowInsecure, c.TLSSkipHostnameVerification, c.ConnectionTimeout, c.OperationTimeout,
		c.ReceiverQueueSize, c.AckWithResponse, c.DisableBatching, c.BatchingMaxPublishDelay, c.BatchingMaxMessages, c.MaxMessageSize)
}

// GoString is String, so %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// LogValue is String, for slog.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
