package mysql

import (
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftio/weft/internal/redact"
)

// ParseURL splits mysql://user:password@host:port/database?param=value into
// a Config holding only what the URL specifies. User and password are
// percent-decoded. Params are the other settings under their YAML names
// (keyValueTable=...&connectTimeout=2s&tls=true). The scheme mariadb:// is
// accepted too. Errors are *FieldError for "url" and never echo the
// password.
func ParseURL(s string) (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, &FieldError{Field: "url", Problem: fmt.Sprintf(format, args...)}
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("not a valid URL: %v", redact.URLParseError(err))
	}
	if u.Scheme != "mysql" && u.Scheme != "mariadb" {
		return bad("scheme %q: want mysql://", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return bad("no host: want mysql://user:password@host:port/database")
	}
	var c Config
	c.Host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("port %q is not in 1..65535", p)
		}
		c.Port = n
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if strings.Contains(u.Path, "@") {
		// Not quoted: a '/' in a password ends the user info early.
		return bad("the path holds an '@' (in a password, write '/' as %%2F and '@' as %%40)")
	}
	db := strings.TrimPrefix(u.Path, "/")
	if strings.Contains(db, "/") {
		return bad("path %q: want a single database name", u.Path)
	}
	c.Database = db
	if u.Fragment != "" {
		// Not quoted: a '#' in a password starts the fragment.
		return bad("a #fragment has no meaning here (in a password, write '#' as %%23)")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vals := q[name]
		if len(vals) != 1 {
			return bad("parameter %s given %d times", name, len(vals))
		}
		if err := setParam(&c, name, vals[0]); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}

// urlParams maps the YAML name of every setting a URL may carry as a query
// parameter to its field index. The URL's own parts (user, host, ...) and
// the URL itself are not parameters: one way to say a thing is enough.
var urlParams = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		switch name := t.Field(i).Tag.Get("yaml"); name {
		case "url", "host", "port", "user", "password", "database":
		default:
			m[name] = i
		}
	}
	return m
}()

// setParam sets the field named by a URL query parameter.
func setParam(c *Config, name, value string) error {
	bad := func(format string, args ...any) error {
		return &FieldError{Field: "url", Problem: fmt.Sprintf(format, args...)}
	}
	i, ok := urlParams[name]
	if !ok {
		known := slices.Sorted(maps.Keys(urlParams))
		return bad("unknown parameter %q (known: %s)", name, strings.Join(known, ", "))
	}
	f := reflect.ValueOf(c).Elem().Field(i)
	switch f.Interface().(type) {
	case string:
		f.SetString(value)
	case int:
		n, err := strconv.Atoi(value)
		if err != nil {
			return bad("parameter %s=%q is not an integer", name, value)
		}
		f.SetInt(int64(n))
	case time.Duration:
		d, err := time.ParseDuration(value)
		if err != nil {
			return bad("parameter %s=%q is not a duration like 5s or 1m30s", name, value)
		}
		f.SetInt(int64(d))
	default:
		// A new field type needs a case here; the URL tests catch it.
		return bad("parameter %s has an unsupported type %s", name, f.Type())
	}
	return nil
}

// String renders the effective configuration as a URL with every setting,
// the password replaced by "***". It is safe to log.
func (c Config) String() string {
	r, err := c.resolve()
	if err != nil && c.URL != "" {
		if _, perr := ParseURL(c.URL); perr != nil {
			// The URL cannot be taken apart, so nothing of it can be shown
			// without risking the password.
			return "mysql://(invalid url)"
		}
	}
	u := url.URL{Scheme: "mysql", Host: hostPort(r.Host, r.Port), Path: "/" + r.Database}
	switch {
	case r.Password != "":
		u.User = url.UserPassword(r.User, "***")
	case r.User != "":
		u.User = url.User(r.User)
	}
	q := url.Values{}
	v := reflect.ValueOf(r)
	for name, i := range urlParams {
		if f := v.Field(i); !f.IsZero() {
			q.Set(name, fmt.Sprint(f.Interface()))
		}
	}
	u.RawQuery = q.Encode() // sorted by name
	// url.URL escapes "*" in passwords; the mask reads better unescaped.
	return strings.Replace(u.String(), ":%2A%2A%2A@", ":***@", 1)
}

// GoString keeps %#v from printing the password field by field.
func (c Config) GoString() string { return "mysql.Config(" + c.String() + ")" }
