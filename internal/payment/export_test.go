package payment

import "context"

// SetCrashFunc makes f run at each step of Process where a crash would
// leave something to resume from: before_create (the payment is
// processing, Stripe not called), after_create (Stripe answered, the
// PaymentIntent's id not saved) and after_save (the id saved, the outcome
// not). An error from f stops Process there, as a crash would.
func SetCrashFunc(s *Service, f func(step, paymentID string) error) { s.crashFunc = f }

// FinishStale stands for a run that read the payment on attempt n and
// finishes it as succeeded after the payment moved to attempt n+1.
func FinishStale(s *Service, ctx context.Context, platformID, paymentID string) error {
	p, err := getPayment(ctx, s.db, platformID, paymentID)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE payments SET attempt = attempt + 1 WHERE platform_id = $1 AND id = $2`, platformID, paymentID); err != nil {
		return err
	}
	return s.finish(ctx, p, nil, outcome{status: StatusSucceeded})
}
