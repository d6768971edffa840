package devserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Options configure who the API answers.
type Options struct {
	// Token, when set, must be carried as "Authorization: Bearer <token>"
	// by every request but the health check: reads too, since states hold
	// the inputs, results and signals of workflows. When empty the API
	// answers only requests addressed to a loopback name (see loopbackHost).
	Token string
	// Events serve POST /v1/events.
	Events Events
}

// CheckListen refuses to serve on addr without a token unless addr is a
// loopback address: anyone who can reach the port could otherwise start,
// signal and cancel workflows and read their states.
func CheckListen(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if token != "" || loopbackHost(host) {
		return nil
	}
	shown := host
	if shown == "" {
		shown = "every interface"
	}
	return fmt.Errorf("refusing to serve the dev API on %s (%s is not a loopback address) without a token: "+
		"set WEFT_DEV_TOKEN (or WEFT_DEV_TOKEN_FILE, a file holding it) to a random secret of at least 16 characters, "+
		"which every request must then carry as \"Authorization: Bearer <token>\", or listen on 127.0.0.1", addr, shown)
}

// loopbackHost reports whether host (a name or an IP, without port) means
// this machine only.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// guarded puts next behind the API's guards, outermost first:
//   - a state-changing request (any method but GET, HEAD and OPTIONS) that
//     a browser says comes from another origin is a 403: a web page must not
//     drive the API with the user's access to it. Clients that are not
//     browsers send no Origin or Sec-Fetch-Site and pass;
//   - without a token, a request addressed to a host that is not a loopback
//     name is a 403: a page whose name was rebound to 127.0.0.1 reaches the
//     port as its own origin, but names itself in Host;
//   - with a token, a request without it is a 401 (the health check aside).
func guarded(next http.Handler, o Options) http.Handler {
	h := next
	if o.Token != "" {
		h = authorized(h, o.Token)
	} else {
		h = loopbackOnly(h)
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin request refused: the dev API changes nothing on behalf of another site")
	}))
	return cop.Handler(h)
}

func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !loopbackHost(host) {
			writeError(w, http.StatusForbidden, "request addressed to a host that is not a loopback name: without a token the dev API answers only localhost, 127.0.0.1 and ::1")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func authorized(next http.Handler, token string) http.Handler {
	// Comparing digests keeps the comparison's time independent of the
	// token's length as well as of its bytes.
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		given, ok := bearer(r.Header.Get("Authorization"))
		got := sha256.Sum256([]byte(given))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="weft dev"`)
			msg := "missing token: send \"Authorization: Bearer <token>\" with the dev server's WEFT_DEV_TOKEN"
			if ok {
				msg = "wrong token: the bearer token is not the dev server's WEFT_DEV_TOKEN"
			}
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer returns the token of an "Authorization: Bearer" header value.
func bearer(v string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
