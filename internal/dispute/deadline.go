package dispute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/store"
)

// WarnDeadlines tells the platform of each dispute whose evidence is due
// within the warning period and that still awaits a response, once:
// dispute.deadline_approaching, recorded with the dispute's mark in one
// transaction. It returns how many it warned of.
func (s *Service) WarnDeadlines(ctx context.Context) (int, error) {
	due, err := store.All(ctx, s.db, scan, `SELECT `+cols+` FROM disputes WHERE deadline_warned = false AND status IN ($1, $2)
		AND evidence_due_by <= $3 ORDER BY evidence_due_by LIMIT 1000`,
		string(StatusNeedsResponse), string(StatusWarningNeedsResponse), store.TimeOf(s.now().Add(s.warnBefore)))
	if err != nil {
		return 0, err
	}
	n := 0
	var failed []error
	for _, d := range due {
		warned := false
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE disputes SET deadline_warned = true, updated_at = $3
				WHERE platform_id = $1 AND id = $2 AND deadline_warned = false`, d.PlatformID, d.ID, store.TimeOf(s.now()))
			if err != nil {
				return err
			}
			if k, err := res.RowsAffected(); err != nil || k == 0 {
				return err // another run warned of it
			}
			d.DeadlineWarned, warned = true, true
			_, err = event.Record(ctx, tx, s.now(), d.PlatformID, EventDeadlineApproaching, d.ID, d.View())
			return err
		})
		if err != nil {
			failed = append(failed, fmt.Errorf("dispute %s: %w", d.ID, err))
		} else if warned {
			n++
		}
	}
	return n, errors.Join(failed...)
}

// DeadlinesArgs is the periodic job that warns of evidence due soon.
type DeadlinesArgs struct{}

// Kind implements river.JobArgs.
func (DeadlinesArgs) Kind() string { return "dispute.deadlines" }

// DeadlinesWorker runs DeadlinesArgs jobs; running one twice warns once.
type DeadlinesWorker struct {
	river.WorkerDefaults[DeadlinesArgs]
	Disputes *Service
}

// Work implements river.Worker.
func (w *DeadlinesWorker) Work(ctx context.Context, _ *river.Job[DeadlinesArgs]) error {
	_, err := w.Disputes.WarnDeadlines(ctx)
	return err
}
