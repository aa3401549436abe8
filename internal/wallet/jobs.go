package wallet

import (
	"context"

	"github.com/riverqueue/river"
)

// EraseArgs is the periodic job that erases archived customers' Stripe ids
// once their retention period is over.
type EraseArgs struct{}

// Kind implements river.JobArgs.
func (EraseArgs) Kind() string { return "wallet.erase_expired" }

// EraseWorker runs EraseArgs jobs. Running twice is harmless.
type EraseWorker struct {
	river.WorkerDefaults[EraseArgs]
	Wallet *Service
}

// Work implements river.Worker.
func (w *EraseWorker) Work(ctx context.Context, _ *river.Job[EraseArgs]) error {
	n, err := w.Wallet.EraseExpired(ctx)
	if n > 0 {
		w.Wallet.logger.InfoContext(ctx, "erased archived customers' Stripe ids", "customers", n)
	}
	return err
}
