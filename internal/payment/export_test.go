package payment

// SetAfterCreateHook makes f run between Stripe's answer to a
// PaymentIntent's creation and saving its id, so tests can simulate a
// crash there.
func SetAfterCreateHook(s *Service, f func(paymentID, paymentIntentID string) error) {
	s.afterCreate = f
}
