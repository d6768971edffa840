package memory

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// roundTripsInJSON is what dataRoundTrips must compute, the slow way.
func roundTripsInJSON(data []byte) bool {
	if !json.Valid(data) {
		return false
	}
	out, err := json.Marshal(json.RawMessage(data))
	return err == nil && bytes.Equal(out, data)
}

var dataCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-12.25E-3`, `true`, `false`, `null`,
	`{"a":[1,2,{"b":null}],"c":"x\"y\\z\/\b\f\n\r\t\u00e9\uD83D"}`, `"é😀\x7f"`, "\"\xff\xfe\"",
	`01`, `1.`, `.5`, `1e`, `+1`, `-`, `--1`, `1e+`, `tru`, `nul`, `[1,]`, `{"a":1,}`, `{"a"}`, `{1:2}`,
	`[1 ,2]`, ` 1`, "1\n", `{"a": 1}`, `"<"`, `"&"`, "\"\u2028\"", "\"\u2029\"", "\"\xe2\x80\"", `"\u2028"`,
	"\"a\tb\"", `"\x"`, `"\u12"`, `"\u12G4"`, `"abc`, `"`, `[`, `{`, `{"a":1}{}`, `1 2`, ``,
	strings.Repeat("[", 999) + strings.Repeat("]", 999),
}

func TestDataRoundTrips(t *testing.T) {
	for _, c := range dataCases {
		if got, want := dataRoundTrips([]byte(c)), roundTripsInJSON([]byte(c)); got != want {
			t.Errorf("dataRoundTrips(%q) = %t, want %t", c, got, want)
		}
	}
	deep := []byte(strings.Repeat("[", maxDataDepth+2) + strings.Repeat("]", maxDataDepth+2))
	if dataRoundTrips(deep) {
		t.Error("data nested beyond maxDataDepth accepted")
	}
}

// FuzzDataRoundTrips: dataRoundTrips must never accept data that does not
// round-trip (that would deliver an envelope differing from its body) and
// should accept all that does, up to maxDataDepth.
func FuzzDataRoundTrips(f *testing.F) {
	for _, c := range dataCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, want := dataRoundTrips(data), roundTripsInJSON(data)
		if got && !want {
			t.Fatalf("dataRoundTrips(%q) = true, but it does not round-trip", data)
		}
		if !got && want && bytes.Count(data, []byte("["))+bytes.Count(data, []byte("{")) <= maxDataDepth {
			t.Fatalf("dataRoundTrips(%q) = false, but it round-trips", data)
		}
	})
}
