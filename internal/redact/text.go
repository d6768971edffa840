package redact

import (
	"regexp"
	"strings"
)

var (
	// urlInText is a URL inside free text: a scheme, ://, then anything up
	// to white space, a quote or a bracket that would end it in a message.
	urlInText = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s\"'`<>]+")
	// userinfo is a user:password@ outside a URL: a MySQL DSN's, or an
	// address a library quotes without its scheme.
	userinfo = regexp.MustCompile(`([^\s:@/"'` + "`" + `]+):[^\s@/"'` + "`" + `]+@`)
	// keyValue is a key=value pair whose key names a secret, as in a libpq
	// connection string.
	keyValue = regexp.MustCompile(`(?i)\b([A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|apikey|api_key|signature|credential)[A-Za-z0-9_.-]*)(\s*=\s*)('[^']*'|"[^"]*"|[^\s&,;)}\]"']+)`)
	// bearer is an Authorization header's credentials (long enough not to
	// be a word of a sentence about them).
	bearer = regexp.MustCompile(`(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{16,}`)
)

// Text masks every secret it recognizes in free text (an error message, a
// log line): URLs and DSNs as URL does, key=value pairs whose key names a
// secret, and bearer tokens.
func Text(s string) string {
	if !suspicious(s) {
		return s
	}
	s = urlInText.ReplaceAllStringFunc(s, URL)
	s = userinfo.ReplaceAllString(s, "$1:"+Mask+"@")
	s = keyValue.ReplaceAllStringFunc(s, func(m string) string {
		g := keyValue.FindStringSubmatch(m)
		if strings.Trim(g[3], `'"`) == Mask {
			return m
		}
		return g[1] + g[2] + Mask
	})
	return bearer.ReplaceAllString(s, "$1 "+Mask)
}

// suspicious is a cheap test that lets most text through untouched.
func suspicious(s string) bool {
	if strings.ContainsAny(s, "@") || strings.Contains(s, "://") {
		return true
	}
	l := strings.ToLower(s)
	for _, w := range []string{"pass", "pwd", "secret", "token", "key", "signature", "credential", "bearer"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}
