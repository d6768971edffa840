package bootstrap_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
)

// TestLoggerMasksSecrets: the process logger masks what a driver or a
// library logs of a URL it was given, in both formats.
func TestLoggerMasksSecrets(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log := bootstrap.NewLogger(&config.Config{Log: config.Log{Level: "info", Format: format}}, &buf)
		log.Warn("reconnecting to postgres://weft:hunter2@db.example/app", "err", errors.New(`Post "https://sink.example/?token=hunter3": EOF`),
			"url", "redis://:hunter4@redis.example/0")
		out := buf.String()
		if strings.Contains(out, "hunter") || !strings.Contains(out, "db.example") || !strings.Contains(out, "redis.example") {
			t.Errorf("%s log: %s", format, out)
		}
	}
}
