// Package redact masks secrets (passwords in URLs and DSNs, tokens and
// keys in query parameters, bearer tokens) before configuration, errors or
// log records are shown. Settings that are secrets as a whole are masked by
// their owners; this package finds the secrets hidden inside other values:
// a URL carries its password in the userinfo, a MySQL DSN before its @, an
// events sink its token in the query string.
//
// It is used where text leaves the process: `weft config validate`, the
// CLI's error messages, the process logger (Handler) and errors built from
// a configured URL. It uses the standard library only, so drivers may
// import it.
package redact
