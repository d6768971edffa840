package pulsarfunctions

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	apulsar "github.com/apache/pulsar-client-go/pulsar"

	"github.com/weftio/weft/internal/redact"
)

// Log-topic tuning: lines wait in a queue of logQueue (more are dropped,
// so logging never blocks processing); a producer that cannot be created
// is tried again after logRetry; at stop, lines still queued get up to
// logFlush to go out.
const (
	logQueue = 1024
	logRetry = 30 * time.Second
	logFlush = time.Second
)

// logTopic copies the instance's log lines to the config's log topic, as a
// Pulsar Functions instance does: one message per line, best effort.
type logTopic struct {
	topic, fqfn string
	create      func(apulsar.ProducerOptions) (apulsar.Producer, error)
	log         *slog.Logger // the instance's own log, never the topic's
	lines       chan []byte
	dropped     atomic.Int64
}

func newLogTopic(topic, fqfn string, create func(apulsar.ProducerOptions) (apulsar.Producer, error), log *slog.Logger) *logTopic {
	return &logTopic{topic: topic, fqfn: fqfn, create: create, log: log, lines: make(chan []byte, logQueue)}
}

// handler returns next with every record it handles at level or above
// also written, secrets masked, to the topic.
func (l *logTopic) handler(next slog.Handler, level slog.Leveler) slog.Handler {
	return teeHandler{next, redact.Handler(slog.NewTextHandler(l, &slog.HandlerOptions{Level: level}))}
}

// Write queues one line (the text handler writes each record at once).
func (l *logTopic) Write(p []byte) (int, error) {
	select {
	case l.lines <- append([]byte(nil), p...):
	default:
		l.dropped.Add(1)
	}
	return len(p), nil
}

// run publishes queued lines until ctx ends, then flushes what is queued.
func (l *logTopic) run(ctx context.Context) {
	var p apulsar.Producer
	defer func() {
		if p != nil {
			l.drain(p)
			p.Close()
		}
		if n := l.dropped.Load(); n > 0 {
			l.log.Warn("log lines not sent to the log topic (queue full or no producer)", "topic", l.topic, "dropped", n)
		}
	}()
	for p == nil {
		var err error
		p, err = l.create(apulsar.ProducerOptions{
			Topic:                   l.topic,
			CompressionType:         apulsar.LZ4,
			BatchingMaxPublishDelay: 100 * time.Millisecond,
			Properties:              map[string]string{"function": l.fqfn},
		})
		if err == nil {
			break
		}
		l.log.Warn("cannot produce to the log topic; log lines are dropped meanwhile", "topic", l.topic, "retry_in", logRetry, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(logRetry):
		}
		l.discardQueued()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case line := <-l.lines:
			l.send(p, line)
		}
	}
}

func (l *logTopic) send(p apulsar.Producer, line []byte) {
	p.SendAsync(context.Background(), &apulsar.ProducerMessage{Payload: line}, func(_ apulsar.MessageID, _ *apulsar.ProducerMessage, err error) {
		if err != nil {
			l.dropped.Add(1)
		}
	})
}

// drain sends what is queued and waits, up to logFlush, for the broker.
func (l *logTopic) drain(p apulsar.Producer) {
	for queued := true; queued; {
		select {
		case line := <-l.lines:
			l.send(p, line)
		default:
			queued = false
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), logFlush)
	defer cancel()
	_ = p.FlushWithCtx(ctx)
}

func (l *logTopic) discardQueued() {
	for {
		select {
		case <-l.lines:
			l.dropped.Add(1)
		default:
			return
		}
	}
}

// teeHandler hands every record to both handlers.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return t.a.Enabled(ctx, level) || t.b.Enabled(ctx, level)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if t.a.Enabled(ctx, r.Level) {
		err = t.a.Handle(ctx, r.Clone())
	}
	if t.b.Enabled(ctx, r.Level) {
		_ = t.b.Handle(ctx, r)
	}
	return err
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(as), t.b.WithAttrs(as)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.a.WithGroup(name), t.b.WithGroup(name)}
}
