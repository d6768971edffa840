package pulsarfunctions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// decodeConf decodes an instance config of either generation. Unknown keys
// are ignored, so a newer worker's additions do not stop an instance.
func decodeConf(doc []byte, podName string) (*InstanceConfig, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || doc[0] != '{' {
		return nil, errors.New("want a JSON object")
	}
	var f flatConf
	if err := json.Unmarshal(doc, &f); err != nil {
		return nil, err
	}
	c := &InstanceConfig{
		ServiceURL:                    f.PulsarServiceURL,
		WebServiceURL:                 f.PulsarWebServiceURL,
		StateStorageServiceURL:        f.StateStorageServiceURL,
		FuncID:                        f.FuncID,
		FuncVersion:                   f.FuncVersion,
		ClusterName:                   f.ClusterName,
		InstanceID:                    int(f.InstanceID),
		Port:                          int(f.Port),
		MetricsPort:                   int(f.MetricsPort),
		ExpectedHealthCheckInterval:   time.Duration(f.ExpectedHealthCheckInterval) * time.Second,
		MaxBufTuples:                  int(f.MaxBufTuples),
		AuthPlugin:                    firstOf(f.ClientAuthenticationPlugin, f.ClientAuthPlugin),
		AuthParams:                    firstOf(f.ClientAuthenticationParameters, f.ClientAuthParams),
		TLSTrustCertsFilePath:         f.TLSTrustCertsFilePath,
		TLSAllowInsecureConnection:    bool(f.TLSAllowInsecureConnection),
		TLSHostnameVerificationEnable: bool(f.TLSHostnameVerificationEnable),
	}
	var err error
	if len(f.FunctionDetails) > 0 {
		err = c.fromDetails(f.FunctionDetails)
	} else {
		err = c.fromFlat(&f)
	}
	if err != nil {
		return nil, err
	}
	if c.SubscriptionName == "" {
		c.SubscriptionName = c.FQFN()
	}
	c.ShardID = shardID(podName, c.InstanceID)
	return c, c.validate()
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fromFlat reads the function's settings from the flat keys.
func (c *InstanceConfig) fromFlat(f *flatConf) error {
	c.Tenant, c.Namespace, c.Name = f.Tenant, f.NameSpace, f.Name
	c.LogTopic, c.OutputTopic = f.LogTopic, f.SinkSpecsTopic
	c.SubscriptionName = f.SubscriptionName
	c.CleanupSubscription = bool(f.CleanupSubscription)
	c.Timeout = time.Duration(f.TimeoutMs) * time.Millisecond
	c.AutoAck = bool(f.AutoAck)
	c.Parallelism = int(f.Parallelism)
	c.MaxMessageRetries, c.DeadLetterTopic = int(f.MaxMessageRetries), f.DeadLetterTopic
	if err := c.enums(f.ProcessingGuarantees, f.SubscriptionType, f.SubscriptionPosition, ""); err != nil {
		return err
	}
	if err := c.maps(f.UserConfig, f.SecretsMap, ""); err != nil {
		return err
	}
	inputs := map[string]Input{}
	for topic, text := range f.SourceInputSpecs {
		var spec consumerSpec
		if len(text) > 0 {
			if err := json.Unmarshal(text, &spec); err != nil {
				return fmt.Errorf("sourceInputSpecs[%q] does not hold a ConsumerSpec: %w", topic, err)
			}
		}
		inputs[topic] = spec.input(topic)
	}
	// The deprecated single-topic form: the worker writes the last topic of
	// the map there, and an old one only that.
	if t := f.SourceSpecsTopic; t != "" {
		if _, ok := inputs[t]; !ok {
			inputs[t] = Input{
				Topic:             t,
				Regex:             bool(f.IsRegexPatternSubscription || f.RegexPatternSubscription),
				ReceiverQueueSize: int(f.ReceiverQueueSize),
			}
		}
	}
	c.Inputs = sortedInputs(inputs)
	return nil
}

// fromDetails reads the function's settings from functionDetails.
func (c *InstanceConfig) fromDetails(text jsonText) error {
	var d details
	if err := json.Unmarshal(text, &d); err != nil {
		return fmt.Errorf("functionDetails: %w", err)
	}
	c.FromFunctionDetails = true
	c.Tenant, c.Namespace, c.Name = d.Tenant, d.Namespace, d.Name
	c.LogTopic = d.LogTopic
	c.AutoAck = bool(d.AutoAck)
	c.Parallelism = int(d.Parallelism)
	if d.Sink != nil {
		c.OutputTopic = d.Sink.Topic
	}
	if r := d.RetryDetails; r != nil {
		c.MaxMessageRetries, c.DeadLetterTopic = int(r.MaxMessageRetries), r.DeadLetterTopic
	}
	src := d.Source
	if src == nil {
		src = &sourceSpec{}
	}
	c.SubscriptionName = src.SubscriptionName
	c.CleanupSubscription = bool(src.CleanupSubscription)
	c.Timeout = time.Duration(src.TimeoutMs) * time.Millisecond
	if err := c.enums(d.ProcessingGuarantees, src.SubscriptionType, src.SubscriptionPosition, "functionDetails."); err != nil {
		return err
	}
	if err := c.maps(d.UserConfig, d.SecretsMap, "functionDetails."); err != nil {
		return err
	}
	inputs := map[string]Input{}
	for topic, spec := range src.InputSpecs {
		inputs[topic] = spec.input(topic)
	}
	for topic := range src.TopicsToSerDeClassName {
		if _, ok := inputs[topic]; !ok {
			inputs[topic] = Input{Topic: topic}
		}
	}
	if p := src.TopicsPattern; p != "" {
		if _, ok := inputs[p]; !ok {
			inputs[p] = Input{Topic: p, Regex: true}
		}
	}
	c.Inputs = sortedInputs(inputs)
	return nil
}

func (c *InstanceConfig) enums(guarantee, subType, position json.RawMessage, prefix string) error {
	g, err := decodeEnum(guarantee, guaranteeNames, prefix+"processingGuarantees")
	if err != nil {
		return err
	}
	src := ""
	if prefix != "" {
		src = prefix + "source."
	}
	st, err := decodeEnum(subType, subscriptionTypeNames, src+"subscriptionType")
	if err != nil {
		return err
	}
	pos, err := decodeEnum(position, positionNames, src+"subscriptionPosition")
	if err != nil {
		return err
	}
	c.ProcessingGuarantee, c.SubscriptionType, c.SubscriptionPosition = ProcessingGuarantee(g), SubscriptionType(st), SubscriptionPosition(pos)
	return nil
}

func (c *InstanceConfig) maps(user, secrets jsonText, prefix string) error {
	var err error
	if c.UserConfig, err = user.object(prefix + "userConfig"); err != nil {
		return err
	}
	c.SecretsMap, err = secrets.object(prefix + "secretsMap")
	return err
}

func (s consumerSpec) input(topic string) Input {
	in := Input{Topic: topic, Regex: bool(s.IsRegexPattern), ConsumerProperties: s.ConsumerProperties}
	if s.ReceiverQueueSize != nil {
		in.ReceiverQueueSize = int(s.ReceiverQueueSize.Value)
	}
	return in
}

func sortedInputs(m map[string]Input) []Input {
	out := make([]Input, 0, len(m))
	for _, topic := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[topic])
	}
	return out
}

// shardID is the number ending podName (pf-<tenant>-<ns>-<name>-<n>, a
// StatefulSet pod's name), or instanceID outside such a pod.
func shardID(podName string, instanceID int) int {
	i := strings.LastIndexByte(podName, '-')
	if i < 0 {
		return instanceID
	}
	n, err := strconv.Atoi(podName[i+1:])
	if err != nil || n < 0 {
		return instanceID
	}
	return n
}

// validate checks what the instance cannot run without; each error names
// the key.
func (c *InstanceConfig) validate() error {
	key := func(flat, det string) string {
		if c.FromFunctionDetails {
			return "functionDetails." + det
		}
		return flat
	}
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.ServiceURL == "", "pulsarServiceURL is empty")
	check(c.Tenant == "", "%s is empty", key("tenant", "tenant"))
	check(c.Namespace == "", "%s is empty", key("nameSpace", "namespace"))
	check(c.Name == "", "%s is empty", key("name", "name"))
	check(len(c.Inputs) == 0, "no input topic: %s is empty", key("sourceInputSpecs", "source.inputSpecs"))
	check(c.InstanceID < 0, "instanceID is %d, want >= 0", c.InstanceID)
	check(c.Port < 0 || c.Port > 65535, "port is %d, want 0 to 65535", c.Port)
	check(c.MetricsPort < 0 || c.MetricsPort > 65535, "metricsPort is %d, want 0 to 65535", c.MetricsPort)
	check(c.ExpectedHealthCheckInterval < 0, "expectedHealthCheckInterval is %v, want >= 0", c.ExpectedHealthCheckInterval)
	for _, in := range c.Inputs {
		check(in.Topic == "", "an input topic is empty")
		check(in.ReceiverQueueSize < 0, "input %q: receiverQueueSize is %d, want >= 0", in.Topic, in.ReceiverQueueSize)
	}
	return errors.Join(errs...)
}
