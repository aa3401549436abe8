package stripeapi

import (
	"time"

	"github.com/stripe/stripe-go/v85"
	"golang.org/x/time/rate"
)

// EndpointOf exposes endpointOf to the tests.
var EndpointOf = endpointOf

// Limiter exposes the token buckets to the tests.
type Limiter struct{ l *limiter }

// NewLimiter returns a Limiter on the given clock.
func NewLimiter(now func() time.Time, global rate.Limit, burst int, endpoint rate.Limit, epBurst int) Limiter {
	return Limiter{newLimiter(now, global, burst, endpoint, epBurst)}
}

// Reserve takes one request's tokens for endpoint.
func (l Limiter) Reserve(endpoint string) (time.Duration, func()) { return l.l.reserve(endpoint) }

// Refused does what a 429 with Stripe-Rate-Limited-Reason reason to a
// request to endpoint does to the buckets: pause those the reason names
// until the given time.
func (l Limiter) Refused(reason, endpoint string, until time.Time) {
	l.l.pause(scopeOf(reason), endpoint, until)
}

// NoRetrySleep makes stripe-go retry network failures at once, so tests of
// its retries do not wait its 0.5 s backoff.
func NoRetrySleep(c *Client) {
	c.backends.API.(*stripe.BackendImplementation).SetNetworkRetriesSleep(false)
}
