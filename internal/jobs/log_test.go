package jobs

import (
	"bytes"
	"context"
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
