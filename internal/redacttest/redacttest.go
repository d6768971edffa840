// Package redacttest helps the fuzz tests of URL and configuration parsers
// check that no error or printout shows a secret: a fuzz input is a prefix
// and a suffix around a fixed secret the fuzzer cannot change, so any text
// of the secret in an output came from it, not from the rest of the input.
package redacttest

import (
	"net/url"
	"regexp"
	"strings"
)

// Secret is the password the fuzz tests place between prefix and suffix.
const Secret = "Zq7Wx3KpV9"

// window is the length of the shortest piece of Secret counted as shown.
const window = 4

// Shown returns the first piece of Secret (at least 4 bytes) that out
// shows and that does not occur in prefix or suffix themselves, or "".
func Shown(out, prefix, suffix string) string {
	for i := 0; i+window <= len(Secret); i++ {
		piece := Secret[i : i+window]
		if strings.Contains(out, piece) && !strings.Contains(prefix, piece) && !strings.Contains(suffix, piece) &&
			!strings.Contains(url.QueryEscape(prefix+suffix), piece) {
			return piece
		}
	}
	return ""
}

// userinfoPrefix matches the start of a URL up to the password of its user
// info: the secret then is the password, even if the URL does not parse (a
// '#' or '/' in the password ends the user info early, say).
var userinfoPrefix = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://[^@/?#]*:[^@]*$`)

// IsPassword reports whether Secret, between prefix and suffix, stands
// where a URL holds a password: in the user info, meant to be there, or in
// a password query parameter.
func IsPassword(prefix, suffix string) bool {
	raw := prefix + Secret + suffix
	if userinfoPrefix.MatchString(prefix) && strings.Contains(suffix, "@") {
		return true
	}
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if pw, ok := u.User.Password(); ok && strings.Contains(pw, Secret) {
		return true
	}
	q, _ := url.ParseQuery(u.RawQuery)
	for _, v := range q["password"] {
		if strings.Contains(v, Secret) {
			return true
		}
	}
	return false
}
