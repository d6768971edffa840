package pulsarfunctions

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/weftio/weft/internal/redact"
)

// InstanceConfig is what weft reads from a Pulsar Functions instance
// config (see ParseArgs). Keys named in the field docs are the flat keys;
// with functionDetails present, the function's own settings come from it
// instead.
type InstanceConfig struct {
	ServiceURL             string // pulsarServiceURL (required)
	WebServiceURL          string // pulsarWebServiceUrl (only when the worker exposes the admin client)
	StateStorageServiceURL string // stateStorageServiceUrl (unused by weft)

	Tenant      string // tenant (required)
	Namespace   string // nameSpace (required)
	Name        string // name (required)
	FuncID      string // funcID
	FuncVersion string // funcVersion
	ClusterName string // clusterName

	// InstanceID is instanceID. ShardID is the instance's number: the
	// suffix of POD_NAME when that is set and ends in -<n> (on Kubernetes
	// every replica gets the same config, so instanceID cannot tell them
	// apart), else InstanceID.
	InstanceID int
	ShardID    int

	// Port serves InstanceControl (gRPC), MetricsPort the Prometheus
	// metrics, both on all interfaces; 0 picks a free port.
	Port        int // port
	MetricsPort int // metricsPort
	// ExpectedHealthCheckInterval is expectedHealthCheckInterval (seconds
	// in the config); when positive the instance stops if no health check
	// arrives for three intervals. Workers send 0.
	ExpectedHealthCheckInterval time.Duration
	MaxBufTuples                int // maxBufTuples (unused by weft)
	Parallelism                 int // parallelism

	// Inputs are the input topics, sorted by topic.
	Inputs []Input
	// SubscriptionName is subscriptionName, by default tenant/namespace/name.
	SubscriptionName     string
	SubscriptionType     SubscriptionType     // subscriptionType
	SubscriptionPosition SubscriptionPosition // subscriptionPosition
	CleanupSubscription  bool                 // cleanupSubscription (done by the worker)
	Timeout              time.Duration        // timeoutMs (unused by weft, as by the Go SDK)
	ProcessingGuarantee  ProcessingGuarantee  // processingGuarantees
	AutoAck              bool                 // autoAck (weft settles every message itself)
	OutputTopic          string               // sinkSpecsTopic (weft roles name their outputs' topics)
	LogTopic             string               // logTopic
	MaxMessageRetries    int                  // maxMessageRetries
	DeadLetterTopic      string               // deadLetterTopic (weft dead-letters to its own topics)

	UserConfig map[string]any // userConfig, parsed
	SecretsMap map[string]any // secretsMap, parsed

	// AuthPlugin and AuthParams are clientAuthenticationPlugin and
	// clientAuthenticationParameters (older workers: clientAuthPlugin and
	// clientAuthParams). AuthParams is a secret: String and LogValue mask it.
	AuthPlugin string
	AuthParams string

	TLSTrustCertsFilePath         string // tlsTrustCertsFilePath
	TLSAllowInsecureConnection    bool   // tlsAllowInsecureConnection
	TLSHostnameVerificationEnable bool   // tlsHostnameVerificationEnable

	// FromFunctionDetails tells that the function's settings came from
	// functionDetails rather than from the flat keys.
	FromFunctionDetails bool
}

// Input is one input topic of the instance.
type Input struct {
	// Topic is the topic name as the config gives it (normally a full
	// persistent:// name), or a regular expression over full topic names
	// when Regex.
	Topic string
	Regex bool
	// ReceiverQueueSize is the consumer's prefetch (0: the transport's).
	ReceiverQueueSize int
	// ConsumerProperties come from the input's ConsumerSpec.
	ConsumerProperties map[string]string
}

// FQFN is the fully qualified function name, tenant/namespace/name.
func (c *InstanceConfig) FQFN() string { return c.Tenant + "/" + c.Namespace + "/" + c.Name }

// String describes the config without its secrets, so it can be logged.
func (c *InstanceConfig) String() string {
	params := ""
	if c.AuthParams != "" {
		params = redact.Mask
	}
	inputs := make([]string, len(c.Inputs))
	for i, in := range c.Inputs {
		inputs[i] = in.Topic
		if in.Regex {
			inputs[i] += " (regex)"
		}
	}
	return fmt.Sprintf("InstanceConfig{function:%s instance:%d shard:%d service:%s web:%s cluster:%q inputs:%q subscription:%q %s %s %s "+
		"port:%d metricsPort:%d logTopic:%q auth:%q authParams:%q secrets:%d userConfig:%d fromFunctionDetails:%t}",
		c.FQFN(), c.InstanceID, c.ShardID, redact.URL(c.ServiceURL), redact.URL(c.WebServiceURL), c.ClusterName, inputs,
		c.SubscriptionName, c.SubscriptionType, c.SubscriptionPosition, c.ProcessingGuarantee,
		c.Port, c.MetricsPort, c.LogTopic, c.AuthPlugin, params, len(c.SecretsMap), len(c.UserConfig), c.FromFunctionDetails)
}

// LogValue is String, for slog.
func (c *InstanceConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }
