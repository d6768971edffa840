package pulsarfunctions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// The two config generations spell values differently: the flat keys come
// from Jackson (numbers as numbers), functionDetails from protobuf
// JsonFormat (64-bit integers as strings, nested JSON documents as
// strings), and a YAML file may hold nested documents as mappings. These
// types read any of those spellings.

// flexInt is an integer written as a JSON number or a string.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*f = flexInt(n)
		return nil
	}
	// Jackson writes a float field such as cpu as 1.0; an integral float
	// is accepted for an integer too.
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x != math.Trunc(x) || math.Abs(x) > 1<<53 {
		return fmt.Errorf("want an integer, got %s", b)
	}
	*f = flexInt(x)
	return nil
}

// flexBool is a boolean written as a JSON boolean or a string.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false, got %s", b)
	}
	*f = flexBool(v)
	return nil
}

// jsonText is a JSON document carried as a string holding its text (what
// both generations write for userConfig, secretsMap, functionDetails and
// the sourceInputSpecs values) or given as the document itself.
type jsonText []byte

func (j *jsonText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*j = jsonText(bytes.TrimSpace([]byte(s)))
	default:
		*j = append(jsonText(nil), b...)
	}
	return nil
}

// object decodes j as a JSON object; empty text is an empty map.
func (j jsonText) object(key string) (map[string]any, error) {
	if len(j) == 0 {
		return map[string]any{}, nil
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, fmt.Errorf("%s does not hold a JSON object: %w", key, err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}
