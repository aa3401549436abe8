package standing

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/store"
)

// Policy is a platform's dunning policy for its standing orders.
type Policy struct {
	// RetryDays are how many days after a cycle's first failure each retry
	// of a soft decline is made, increasing.
	RetryDays []int
	// MaxTries is how many charges a cycle has at most, the first
	// included; retries stop at it even if RetryDays has more.
	MaxTries int
	// PauseAfter is how many cycles failed in a row pause the order.
	PauseAfter int
	// LeadDays is the lead time of orders made without one.
	LeadDays int
	// PrecheckDays is how long before a cycle's charge it is checked for
	// what will make it fail (standing_order.cycle_at_risk).
	PrecheckDays int
	Updated      time.Time // zero for the defaults
}

// DefaultPolicy is the policy of a platform that set none: a soft
// decline is retried two and five days after it (Open Collective's
// spacing; Stripe's Smart Retries spread up to eight tries over two
// weeks), and three failed cycles in a row pause the order.
var DefaultPolicy = Policy{RetryDays: []int{2, 5}, MaxTries: 3, PauseAfter: 3, LeadDays: DefaultLeadDays, PrecheckDays: 3}

// retryAt is when try number next (2, 3, …) of a cycle first failed at
// firstFailed is made, and false when the cycle has no more tries.
func (p *Policy) retryAt(next int, firstFailed time.Time) (time.Time, bool) {
	if next > p.MaxTries || next-2 >= len(p.RetryDays) {
		return time.Time{}, false
	}
	return firstFailed.AddDate(0, 0, p.RetryDays[next-2]), true
}

// PolicyParams set a platform's policy; omitted fields keep the current
// (or default) values.
type PolicyParams struct {
	RetryDays    *[]int `json:"retry_days"`
	MaxTries     *int   `json:"max_tries"`
	PauseAfter   *int   `json:"pause_after"`
	LeadDays     *int   `json:"lead_days"`
	PrecheckDays *int   `json:"precheck_days"`
}

// Policy returns the platform's policy, or the default.
func (s *Service) Policy(ctx context.Context, platformID string) (*Policy, error) {
	return policyOf(ctx, s.db, platformID)
}

func policyOf(ctx context.Context, q store.Querier, platformID string) (*Policy, error) {
	var days string
	var updated store.Time
	p := DefaultPolicy
	err := q.QueryRowContext(ctx, `SELECT retry_days, max_tries, pause_after, lead_days, precheck_days, updated_at FROM standing_policies
		WHERE platform_id = $1`, platformID).Scan(&days, &p.MaxTries, &p.PauseAfter, &p.LeadDays, &p.PrecheckDays, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		p.RetryDays = slices.Clone(DefaultPolicy.RetryDays)
		return &p, nil
	}
	if err != nil {
		return nil, err
	}
	p.RetryDays, p.Updated = nil, updated.Time
	for _, d := range strings.Split(days, ",") {
		if d == "" {
			continue
		}
		n, err := strconv.Atoi(d)
		if err != nil {
			return nil, err
		}
		p.RetryDays = append(p.RetryDays, n)
	}
	return &p, nil
}

// SetPolicy changes the platform's policy, from the next failure of a
// cycle on (a retry already planned keeps its time). Returns errs.Invalid
// naming the field.
func (s *Service) SetPolicy(ctx context.Context, platformID string, pp PolicyParams) (*Policy, error) {
	p, err := s.Policy(ctx, platformID)
	if err != nil {
		return nil, err
	}
	if pp.RetryDays != nil {
		p.RetryDays = *pp.RetryDays
	}
	for _, f := range []struct {
		v   *int
		dst *int
	}{{pp.MaxTries, &p.MaxTries}, {pp.PauseAfter, &p.PauseAfter}, {pp.LeadDays, &p.LeadDays}, {pp.PrecheckDays, &p.PrecheckDays}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	p.Updated = s.now()
	days := make([]string, len(p.RetryDays))
	for i, d := range p.RetryDays {
		days[i] = strconv.Itoa(d)
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO standing_policies (platform_id, retry_days, max_tries, pause_after, lead_days,
			precheck_days, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (platform_id) DO UPDATE SET
			retry_days = excluded.retry_days, max_tries = excluded.max_tries, pause_after = excluded.pause_after,
			lead_days = excluded.lead_days, precheck_days = excluded.precheck_days, updated_at = excluded.updated_at`,
			platformID, strings.Join(days, ","), p.MaxTries, p.PauseAfter, p.LeadDays, p.PrecheckDays, store.TimeOf(p.Updated)); err != nil {
			return err
		}
		return idempotency.Commit(ctx, tx, p.View())
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// MaxRetryDays bounds a retry's distance from the first failure: Stripe
// keeps a PaymentIntent's authentication link and a customer's patience
// for about a month.
const MaxRetryDays = 30

func (p *Policy) validate() error {
	if len(p.RetryDays) > 10 {
		return errs.Invalidf("retry_days", "retry_days may have at most 10 entries.")
	}
	last := 0
	for i, d := range p.RetryDays {
		if d <= last || d > MaxRetryDays {
			return errs.Invalidf("retry_days["+strconv.Itoa(i)+"]",
				"retry_days must increase, each 1 to %d days after the first failure; %d is not.", MaxRetryDays, d)
		}
		last = d
	}
	if p.MaxTries < 1 || p.MaxTries > 11 {
		return errs.Invalidf("max_tries", "max_tries must be 1 to 11, not %d.", p.MaxTries)
	}
	if p.PauseAfter < 1 || p.PauseAfter > 100 {
		return errs.Invalidf("pause_after", "pause_after must be 1 to 100, not %d.", p.PauseAfter)
	}
	if p.LeadDays < 0 || p.LeadDays > MaxLeadDays {
		return errs.Invalidf("lead_days", "lead_days must be 0 to %d, not %d.", MaxLeadDays, p.LeadDays)
	}
	if p.PrecheckDays < 0 || p.PrecheckDays > 14 {
		return errs.Invalidf("precheck_days", "precheck_days must be 0 (no check) to 14, not %d.", p.PrecheckDays)
	}
	return nil
}

// PolicyView is a policy as the API shows it.
type PolicyView struct {
	Object       string     `json:"object"`
	RetryDays    []int      `json:"retry_days"`
	MaxTries     int        `json:"max_tries"`
	PauseAfter   int        `json:"pause_after"`
	LeadDays     int        `json:"lead_days"`
	PrecheckDays int        `json:"precheck_days"`
	UpdatedAt    *time.Time `json:"updated_at"`
}

// View returns p as the API shows it.
func (p *Policy) View() PolicyView {
	v := PolicyView{Object: "standing_policy", RetryDays: p.RetryDays, MaxTries: p.MaxTries, PauseAfter: p.PauseAfter, LeadDays: p.LeadDays,
		PrecheckDays: p.PrecheckDays}
	if v.RetryDays == nil {
		v.RetryDays = []int{}
	}
	if !p.Updated.IsZero() {
		v.UpdatedAt = &p.Updated
	}
	return v
}
