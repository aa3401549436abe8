package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestQuietHandlerKeepsWarningsDropsRoutineInfo(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		level    slog.Level
		wantInfo bool
	}{{slog.LevelInfo, false}, {slog.LevelDebug, true}} {
		var buf bytes.Buffer
		h := quietHandler{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level})}
		logger := slog.New(h).With("component", "river")
		logger.InfoContext(ctx, "River client started")
		logger.WarnContext(ctx, "job failed")
		if got := strings.Contains(buf.String(), "River client started"); got != tc.wantInfo {
			t.Errorf("level %v: info logged = %v, want %v:\n%s", tc.level, got, tc.wantInfo, buf.String())
		}
		if !strings.Contains(buf.String(), "job failed") || !strings.Contains(buf.String(), "component=river") {
			t.Errorf("level %v: warning lost or attrs dropped:\n%s", tc.level, buf.String())
		}
	}
}

func TestQuietHandlerDropsCancellationAtShutdown(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(quietHandler{slog.NewTextHandler(&buf, nil)})
	logger.Error("maintenance.PeriodicJobEnqueuer: Error starting transaction", "error", context.Canceled)
	logger.Error("wrapped", "error", fmt.Errorf("begin: %w", context.Canceled))
	logger.Error("job failed", "error", errors.New("disk full"))
	out := buf.String()
	if strings.Contains(out, "Error starting transaction") || strings.Contains(out, "wrapped") {
		t.Errorf("a cancellation was logged as an error:\n%s", out)
	}
	if !strings.Contains(out, "disk full") {
		t.Errorf("a real error was dropped:\n%s", out)
	}
}
