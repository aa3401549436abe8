// Package stripeapi is Tender's side of Stripe: one stripe-go client per
// platform, wrapped with the behaviour every call needs and no feature
// package should repeat. It does not wrap Stripe's endpoints; feature
// packages (connect, wallet, payment, standing) call stripe-go directly
// through Client.Stripe and use this package for what cuts across them:
//
//   - Rate limiting. Every HTTP request, stripe-go's own retries included,
//     passes through an http.RoundTripper that takes a slot in the
//     platform's global bucket and in the bucket of the endpoint it calls,
//     both at Stripe's documented limits with a small burst (see
//     DefaultRate). A RoundTripper is used rather than a stripe-go Backend
//     wrapper because it sees every attempt, not just every call. A 429 that
//     Stripe's rate limiter answered (it carries Stripe-Rate-Limited-Reason)
//     pauses what the reason names, with exponential backoff and jitter: the
//     whole platform (global-rate, global-concurrency), the endpoint
//     (endpoint-rate, endpoint-concurrency) or the refused request alone
//     (resource-specific). The refused request is then sent again: Stripe's
//     limiter runs before its idempotency layer, so it had no effect and
//     resending it is safe.
//
//   - Retries. stripe-go v85 retries (MaxNetworkRetries, default 2) only
//     network failures and 429 lock_timeout. It does not retry 5xx or 409
//     responses whatever Stripe-Should-Retry says: for any error Stripe
//     answers, (*stripe.Error).canRetry decides before the header is read.
//     Tender keeps that: a 5xx with an idempotency key is stored by Stripe
//     and would be replayed anyway, so an outage is left to the caller (a job
//     retrying with backoff and the same deterministic key) rather than
//     retried inline. See Classify.
//
//   - Idempotency. IdempotencyKey derives a stable key from Tender's own
//     ids, so a job that runs twice, or resumes after a crash, sends the same
//     key and Stripe replays the first result instead of charging again.
//
//   - Errors. Classify turns any error from a call into an Outcome (card
//     declined, authentication required, invalid request, rate limited,
//     unavailable, ...) saying whether to retry and whether the request may
//     have taken effect; Outcome.Err maps it to Tender's errs model.
//
//   - Logging. Each attempt is logged at debug with method, path, status,
//     duration, Stripe's Request-Id, the connected account and the
//     idempotency key. Bodies, query strings and headers are never logged, so
//     neither secret keys nor card or customer data reach the log; secret
//     keys are redacted from every error string this package produces.
//     stripe-go's own logger is silenced, since it would log error bodies.
//
// Make one Client per platform and keep it, since the rate limiter lives in
// it: a Pool does that, keyed by platform id.
package stripeapi
