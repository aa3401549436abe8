package payment

// SetCrashFunc makes f run at each step of Process where a crash would
// leave something to resume from: before_create (the payment is
// processing, Stripe not called), after_create (Stripe answered, the
// PaymentIntent's id not saved) and after_save (the id saved, the outcome
// not). An error from f stops Process there, as a crash would.
func SetCrashFunc(s *Service, f func(step, paymentID string) error) { s.crashFunc = f }
