package payment

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/store"
)

// StuckAfter is how long a payment may stay pending or processing before
// the janitor gives it a new job. River gives up on a job after ten tries
// over about four hours (processOpts); past that, with no job left, the
// payment would wait forever.
const StuckAfter = 6 * time.Hour

// JanitorArgs is the periodic job that requeues stuck payments.
type JanitorArgs struct{}

// Kind implements river.JobArgs.
func (JanitorArgs) Kind() string { return "payment.janitor" }

// JanitorWorker runs JanitorArgs jobs. Running twice is harmless.
type JanitorWorker struct {
	river.WorkerDefaults[JanitorArgs]
	Payments *Service
}

// Work implements river.Worker.
func (w *JanitorWorker) Work(ctx context.Context, _ *river.Job[JanitorArgs]) error {
	n, err := w.Payments.Requeue(ctx)
	if n > 0 {
		w.Payments.logger.WarnContext(ctx, "requeued payments left unsettled", "payments", n)
	}
	return err
}

// Requeue gives every payment left pending or processing for longer than
// StuckAfter, across platforms, a new processing job, unless it still has
// one (the job is unique by its arguments while waiting, retrying or
// running). The job resumes from what is saved, as any rerun does, so a
// requeue can never charge twice. It returns how many it requeued.
func (s *Service) Requeue(ctx context.Context) (int, error) {
	now := store.TimeOf(s.now())
	rows, err := s.db.QueryContext(ctx, `SELECT platform_id, id FROM payments WHERE status IN ($1, $2) AND updated_at < $3
		ORDER BY updated_at LIMIT 1000`, string(StatusPending), string(StatusProcessing), store.TimeOf(now.Time.Add(-StuckAfter)))
	if err != nil {
		return 0, err
	}
	var stuck []ProcessArgs
	for rows.Next() {
		var a ProcessArgs
		if err := rows.Scan(&a.PlatformID, &a.PaymentID); err != nil {
			rows.Close()
			return 0, err
		}
		stuck = append(stuck, a)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, err
	}
	n := 0
	for _, a := range stuck {
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			res, err := s.jobs().InsertTx(ctx, tx, a, processOpts)
			if err != nil || res.UniqueSkippedAsDuplicate {
				return err
			}
			n++
			// Not stuck again until StuckAfter from now.
			_, err = tx.ExecContext(ctx, `UPDATE payments SET updated_at = $3 WHERE platform_id = $1 AND id = $2`, a.PlatformID, a.PaymentID, now)
			return err
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
