package jobs

import (
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// A job the rescuer took from a dead process is due at once, whatever its
// attempt; a run that failed backs off as River's default policy does.
func TestRetryPolicy(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	p := &retryPolicy{nowFunc: func() time.Time { return now }}
	at := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	errors := func(n int) []rivertype.AttemptError { return make([]rivertype.AttemptError, n) }
	tests := []struct {
		name     string
		job      rivertype.JobRow
		min, max time.Duration
	}{
		{"rescued on its first attempt", rivertype.JobRow{Attempt: 1, AttemptedAt: at(RescueAfter)}, 0, 0},
		{"rescued on its fifth attempt", rivertype.JobRow{Attempt: 5, AttemptedAt: at(time.Hour), Errors: errors(4)}, 0, 0},
		{"failed on its first attempt", rivertype.JobRow{Attempt: 1, AttemptedAt: at(time.Second)}, 900 * time.Millisecond, 1100 * time.Millisecond},
		{"failed after its timeout", rivertype.JobRow{Attempt: 3, AttemptedAt: at(DefaultTimeout), Errors: errors(2)}, 72 * time.Second, 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.NextRetry(&tt.job).Sub(now)
			if got < tt.min || got > tt.max {
				t.Errorf("retry in %s, want %s..%s", got, tt.min, tt.max)
			}
		})
	}
}
