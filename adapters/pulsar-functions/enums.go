package pulsarfunctions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// ProcessingGuarantee is how an instance settles its input
// (processingGuarantees).
type ProcessingGuarantee int

// Processing guarantees, numbered as in Pulsar's FunctionDetails.
const (
	AtLeastOnce     ProcessingGuarantee = iota // ATLEAST_ONCE: acknowledge once the outputs are published
	AtMostOnce                                 // ATMOST_ONCE: acknowledge on receipt, then handle
	EffectivelyOnce                            // EFFECTIVELY_ONCE: not supported by weft
)

var guaranteeNames = []string{"ATLEAST_ONCE", "ATMOST_ONCE", "EFFECTIVELY_ONCE"}

func (g ProcessingGuarantee) String() string { return enumName(guaranteeNames, int(g)) }

// SubscriptionType is the Pulsar subscription type the config asks for
// (subscriptionType).
type SubscriptionType int

// Subscription types, numbered as in Pulsar's FunctionDetails.
const (
	Shared    SubscriptionType = iota // SHARED
	Failover                          // FAILOVER (what retainOrdering turns into)
	KeyShared                         // KEY_SHARED
)

var subscriptionTypeNames = []string{"SHARED", "FAILOVER", "KEY_SHARED"}

func (s SubscriptionType) String() string { return enumName(subscriptionTypeNames, int(s)) }

// SubscriptionPosition is where a new subscription starts
// (subscriptionPosition).
type SubscriptionPosition int

// Subscription positions, numbered as in Pulsar's FunctionDetails.
const (
	Latest   SubscriptionPosition = iota // LATEST: the next message published
	Earliest                             // EARLIEST: the earliest message retained
)

var positionNames = []string{"LATEST", "EARLIEST"}

func (p SubscriptionPosition) String() string { return enumName(positionNames, int(p)) }

func enumName(names []string, v int) string {
	if v >= 0 && v < len(names) {
		return names[v]
	}
	return strconv.Itoa(v)
}

// decodeEnum reads a protobuf enum as either generation writes it: the
// flat keys hold its number, the protobuf-JSON functionDetails its name.
// Absent or null is the first value, as protobuf-JSON omits defaults.
func decodeEnum(raw json.RawMessage, names []string, key string) (int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("%s: %w", key, err)
		}
		for i, n := range names {
			if s == n {
				return i, nil
			}
		}
	} else {
		s = string(raw)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= len(names) {
		return 0, fmt.Errorf("%s is %s, want one of %v or its number", key, raw, names)
	}
	return n, nil
}
