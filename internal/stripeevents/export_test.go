package stripeevents

import (
	"context"
	"time"
)

// SecretsOf returns the secrets that verify the platform's endpoint of a
// scope at now, newest first, as a test signs with them.
func (s *Service) SecretsOf(ctx context.Context, platformID string, scope Scope, now time.Time) ([]string, error) {
	es, err := s.secretsFor(ctx, platformID, scope, true)
	if err != nil {
		return nil, err
	}
	return es.valid(now), nil
}
