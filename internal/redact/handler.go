package redact

import (
	"context"
	"log/slog"
	"strings"
)

// Handler wraps h so that every record it handles has its message and
// attribute values masked by Text (errors and Stringers are rendered
// first). A process logger built from configuration is wrapped with it, so
// a driver or library that logs a URL it was given does not log its
// password.
func Handler(h slog.Handler) slog.Handler { return &handler{h: h} }

type handler struct{ h slog.Handler }

func (r *handler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r *handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, Text(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(attr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r *handler) WithAttrs(as []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(as))
	for i, a := range as {
		masked[i] = attr(a)
	}
	return &handler{h: r.h.WithAttrs(masked)}
}

func (r *handler) WithGroup(name string) slog.Handler { return &handler{h: r.h.WithGroup(name)} }

// attr masks one attribute, groups member by member.
func attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); secretAttr(a.Key) && s != "" {
			return slog.String(a.Key, Mask)
		} else if m := Text(s); m != s {
			return slog.String(a.Key, m)
		}
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, m := range g {
			out[i] = attr(m)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			if m := Text(x.Error()); m != x.Error() {
				return slog.String(a.Key, m)
			}
		case interface{ String() string }:
			if s := x.String(); Text(s) != s {
				return slog.String(a.Key, Text(s))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// secretAttr reports whether an attribute's key says its value is a secret.
// It is narrower than SecretName: log keys such as key or partitionKey
// name routing keys, not credentials.
func secretAttr(key string) bool {
	n := strings.ToLower(key)
	for _, w := range []string{"password", "passwd", "secret", "token", "credential", "apikey", "api_key"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
