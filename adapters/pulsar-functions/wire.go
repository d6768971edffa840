package pulsarfunctions

import "encoding/json"

// flatConf is the instance config as the worker writes it: a
// Jackson-serialised GoInstanceConfig, every key present with its default.
// Keys are spelled exactly as the worker spells them (nameSpace with a
// capital S, maxBufTuples, instanceID).
type flatConf struct {
	PulsarServiceURL            string              `json:"pulsarServiceURL"`
	StateStorageServiceURL      string              `json:"stateStorageServiceUrl"`
	PulsarWebServiceURL         string              `json:"pulsarWebServiceUrl"`
	InstanceID                  flexInt             `json:"instanceID"`
	FuncID                      string              `json:"funcID"`
	FuncVersion                 string              `json:"funcVersion"`
	MaxBufTuples                flexInt             `json:"maxBufTuples"`
	Port                        flexInt             `json:"port"`
	MetricsPort                 flexInt             `json:"metricsPort"`
	ClusterName                 string              `json:"clusterName"`
	KillAfterIdleMs             flexInt             `json:"killAfterIdleMs"`
	ExpectedHealthCheckInterval flexInt             `json:"expectedHealthCheckInterval"`
	Tenant                      string              `json:"tenant"`
	NameSpace                   string              `json:"nameSpace"`
	Name                        string              `json:"name"`
	LogTopic                    string              `json:"logTopic"`
	ProcessingGuarantees        json.RawMessage     `json:"processingGuarantees"`
	SecretsMap                  jsonText            `json:"secretsMap"`
	UserConfig                  jsonText            `json:"userConfig"`
	AutoAck                     flexBool            `json:"autoAck"`
	Parallelism                 flexInt             `json:"parallelism"`
	SubscriptionType            json.RawMessage     `json:"subscriptionType"`
	TimeoutMs                   flexInt             `json:"timeoutMs"`
	SubscriptionName            string              `json:"subscriptionName"`
	CleanupSubscription         flexBool            `json:"cleanupSubscription"`
	SubscriptionPosition        json.RawMessage     `json:"subscriptionPosition"`
	SourceInputSpecs            map[string]jsonText `json:"sourceInputSpecs"`
	SourceSpecsTopic            string              `json:"sourceSpecsTopic"`
	// The Go SDK reads isRegexPatternSubscription; Jackson writes the
	// Lombok getter's name, regexPatternSubscription. Either counts.
	IsRegexPatternSubscription flexBool `json:"isRegexPatternSubscription"`
	RegexPatternSubscription   flexBool `json:"regexPatternSubscription"`
	ReceiverQueueSize          flexInt  `json:"receiverQueueSize"`
	SinkSpecsTopic             string   `json:"sinkSpecsTopic"`
	MaxMessageRetries          flexInt  `json:"maxMessageRetries"`
	DeadLetterTopic            string   `json:"deadLetterTopic"`
	// Newer workers write clientAuthentication*, older ones clientAuth*.
	ClientAuthenticationPlugin     string   `json:"clientAuthenticationPlugin"`
	ClientAuthenticationParameters string   `json:"clientAuthenticationParameters"`
	ClientAuthPlugin               string   `json:"clientAuthPlugin"`
	ClientAuthParams               string   `json:"clientAuthParams"`
	TLSTrustCertsFilePath          string   `json:"tlsTrustCertsFilePath"`
	TLSAllowInsecureConnection     flexBool `json:"tlsAllowInsecureConnection"`
	TLSHostnameVerificationEnable  flexBool `json:"tlsHostnameVerificationEnable"`
	// FunctionDetails is the FunctionDetails protobuf printed by JsonFormat
	// (newest workers only); when present it is authoritative for
	// everything about the function.
	FunctionDetails jsonText `json:"functionDetails"`
}

// details is the part of Pulsar's FunctionDetails protobuf weft reads, as
// JsonFormat prints it: enums by name, defaults omitted, 64-bit integers
// as strings.
type details struct {
	Tenant               string          `json:"tenant"`
	Namespace            string          `json:"namespace"`
	Name                 string          `json:"name"`
	LogTopic             string          `json:"logTopic"`
	ProcessingGuarantees json.RawMessage `json:"processingGuarantees"`
	UserConfig           jsonText        `json:"userConfig"`
	SecretsMap           jsonText        `json:"secretsMap"`
	AutoAck              flexBool        `json:"autoAck"`
	Parallelism          flexInt         `json:"parallelism"`
	Source               *sourceSpec     `json:"source"`
	Sink                 *struct {
		Topic string `json:"topic"`
	} `json:"sink"`
	RetryDetails *struct {
		MaxMessageRetries flexInt `json:"maxMessageRetries"`
		DeadLetterTopic   string  `json:"deadLetterTopic"`
	} `json:"retryDetails"`
}

type sourceSpec struct {
	SubscriptionType     json.RawMessage         `json:"subscriptionType"`
	InputSpecs           map[string]consumerSpec `json:"inputSpecs"`
	TimeoutMs            flexInt                 `json:"timeoutMs"`
	SubscriptionName     string                  `json:"subscriptionName"`
	CleanupSubscription  flexBool                `json:"cleanupSubscription"`
	SubscriptionPosition json.RawMessage         `json:"subscriptionPosition"`
	// Deprecated forms of the inputs, still read so old function metadata
	// keeps working: topic → serde class, and one regex pattern.
	TopicsToSerDeClassName map[string]string `json:"topicsToSerDeClassName"`
	TopicsPattern          string            `json:"topicsPattern"`
}

// consumerSpec is Pulsar's ConsumerSpec in protobuf JSON.
type consumerSpec struct {
	SchemaType        string   `json:"schemaType"`
	IsRegexPattern    flexBool `json:"isRegexPattern"`
	ReceiverQueueSize *struct {
		Value flexInt `json:"value"`
	} `json:"receiverQueueSize"`
	ConsumerProperties map[string]string `json:"consumerProperties"`
}
