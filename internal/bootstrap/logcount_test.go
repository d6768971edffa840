package bootstrap_test

import (
	"context"
	"log/slog"
)

func (w *warnings) logger() *slog.Logger { return slog.New(&warnHandler{w}) }

type warnHandler struct{ w *warnings }

func (h *warnHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *warnHandler) Handle(_ context.Context, r slog.Record) error {
	h.w.mu.Lock()
	h.w.msgs = append(h.w.msgs, r.Message)
	h.w.mu.Unlock()
	return nil
}
func (h *warnHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *warnHandler) WithGroup(string) slog.Handler      { return h }
