package pulsar

import (
	"context"
	"log/slog"

	plog "github.com/apache/pulsar-client-go/pulsar/log"
)

// clientLogger adapts l for the Pulsar client, which logs every connection,
// producer and consumer at info level: only its warnings and errors get
// through, tagged with component=pulsar-client.
func clientLogger(l *slog.Logger) plog.Logger {
	h := minLevel{Handler: l.Handler(), min: slog.LevelWarn}
	return plog.NewLoggerWithSlog(slog.New(h).With("component", "pulsar-client"))
}

// minLevel drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(as), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
