package redact

import (
	"net/url"
	"strings"
)

// Mask stands in for a secret that was removed. It is the one net/url's
// Redacted uses, so every masked URL reads the same.
const Mask = "xxxxx"

// URL returns s with its secrets masked: the password of its userinfo
// (a URL's, or a MySQL DSN's user:password@tcp(...)), and the values of
// query parameters that name a secret (password, token, secret, key, sig,
// ...). What is not a secret stays as it was, so the result still says
// which server and database are meant. A value that does not parse as a
// URL is masked from its scheme to its last @, since the password may be
// what does not parse.
func URL(s string) string {
	if !strings.ContainsAny(s, "@?=&;") {
		return s
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Opaque == "" {
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), Mask)
			}
		}
		u.RawQuery = query(u.RawQuery)
		return u.String()
	}
	return loose(s)
}

// loose masks a value that is no parsable URL: a DSN such as
// user:password@tcp(host:3306)/db?params, or a URL whose userinfo holds
// characters net/url refuses (then all of the userinfo may be secret: a
// token alone is a common user name).
func loose(s string) string {
	prefix, rest := "", s
	if i := strings.Index(s, "://"); i >= 0 {
		prefix, rest = s[:i+3], s[i+3:]
	}
	at := strings.LastIndex(rest, "@")
	if at >= 0 {
		user, _, hasPassword := strings.Cut(rest[:at], ":")
		switch {
		case hasPassword:
			rest = user + ":" + Mask + rest[at:]
			at = len(user) + 1 + len(Mask)
		case prefix != "":
			rest = Mask + rest[at:]
			at = len(Mask)
		}
	}
	if q := strings.Index(rest[max(at, 0):], "?"); q >= 0 {
		q += max(at, 0)
		rest = rest[:q+1] + query(rest[q+1:])
	}
	return prefix + rest
}

// query masks the values of secret parameters in a raw query string,
// keeping the order and encoding of everything else.
func query(raw string) string {
	if raw == "" {
		return raw
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if SecretName(name) {
			parts[i] = k + "=" + Mask
		}
	}
	return strings.Join(parts, "&")
}

// SecretName reports whether a parameter or setting called name holds a
// secret: password, passwd, pwd, pass, secret, token, key, apikey,
// signature, sig, credential(s), auth, or any name ending in key, in any
// case, with or without separators (client_secret, X-Amz-Signature,
// access_token, sas-key all count). A file name (sslkey) is masked too: the
// cost of masking a path is small, that of showing a key is not.
func SecretName(name string) bool {
	n := strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.', ' ':
			return -1
		}
		return r
	}, strings.ToLower(name))
	switch n {
	case "pass", "pwd", "sig", "key", "auth", "authorization":
		return true
	}
	for _, w := range []string{"password", "passwd", "secret", "token", "apikey", "accesskey", "privatekey", "signature", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return strings.HasSuffix(n, "key")
}
