package standing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/store"
)

// The pre-charge check: PrecheckDays before a cycle is charged, Tender
// checks what would make it fail and tells the platform once per cycle
// (standing_order.cycle_at_risk), in time to ask the customer for a new
// card or consent (through a wallet session) or to authenticate. Nothing
// is changed: the cycle is still charged, and fails or pauses the order
// then as it would.

// Risks the check finds.
const (
	RiskCardExpired    = "card_expired"          // the card expires before the cycle is due
	RiskCardExpiring   = "card_expiring"         // … within 60 days after it
	RiskAuthentication = "authentication_likely" // the card's last payment asked the customer to authenticate
)

// expiringWithin is how far past a cycle a card's expiry is worth a word.
const expiringWithin = 60 * 24 * time.Hour

// Risk is one reason a cycle may fail.
type Risk struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// RiskView is the event of a cycle at risk.
type RiskView struct {
	Object        string        `json:"object"`
	StandingOrder string        `json:"standing_order"`
	Customer      string        `json:"customer"`
	PaymentMethod *string       `json:"payment_method"`
	NextCycle     NextCycleView `json:"next_cycle"`
	Risks         []Risk        `json:"risks"`
}

// runPrechecks checks each active order whose next charge comes within
// its platform's precheck days, once per cycle. It returns how many
// cycles it found at risk.
func (s *Service) runPrechecks(ctx context.Context) (int, error) {
	now := s.now()
	due, err := store.All(ctx, s.db, scan, `SELECT `+cols+` FROM standing_orders WHERE status = 'active' AND next_charge_at <= $1
		AND prechecked_seq < next_seq ORDER BY next_charge_at LIMIT $2`, store.TimeOf(now.AddDate(0, 0, 14)), schedulerBatch)
	if err != nil {
		return 0, err
	}
	policies := map[string]*Policy{}
	flagged := 0
	var first error
	for _, o := range due {
		p := policies[o.PlatformID]
		if p == nil {
			if p, err = s.Policy(ctx, o.PlatformID); err != nil {
				return flagged, err
			}
			policies[o.PlatformID] = p
		}
		if p.PrecheckDays == 0 || o.NextCharge.After(now.AddDate(0, 0, p.PrecheckDays)) {
			continue
		}
		risky, err := s.precheck(ctx, o)
		if err != nil {
			first = errors.Join(first, fmt.Errorf("standing order %s: checking cycle %d: %w", o.ID, o.NextSeq, err))
		}
		if risky {
			flagged++
		}
	}
	return flagged, first
}

// precheck checks the order's next cycle and records the check, with the
// event when something is at risk, if no other run checked it first.
func (s *Service) precheck(ctx context.Context, o *Order) (bool, error) {
	risks, pmID, err := s.risks(ctx, o)
	if err != nil {
		return false, err
	}
	risky := false
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := lockOrder(ctx, tx, o.PlatformID, o.ID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE standing_orders SET prechecked_seq = $3 WHERE platform_id = $1 AND id = $2
			AND next_seq = $3 AND prechecked_seq < $3`, o.PlatformID, o.ID, o.NextSeq)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 || len(risks) == 0 {
			return err
		}
		risky = true
		v := RiskView{Object: "standing_order_risk", StandingOrder: o.ID, Customer: o.CustomerID, Risks: risks,
			NextCycle: NextCycleView{Seq: o.NextSeq, Date: o.NextDate.Format(time.DateOnly), DueAt: o.NextDue, ChargeAt: o.NextCharge}}
		if pmID != "" {
			v.PaymentMethod = &pmID
		}
		_, err = event.Record(ctx, tx, s.now(), o.PlatformID, EventCycleAtRisk, o.ID, v)
		return err
	})
	return risky, err
}

// risks is what would make the order's next cycle fail, and the card it
// would be charged to ("" when there is none).
func (s *Service) risks(ctx context.Context, o *Order) ([]Risk, string, error) {
	pay, err := s.payments.Check(ctx, o.PlatformID, o.paymentParams())
	if e := errs.As(err); e != nil && (e.Code == errs.Invalid || e.Code == errs.Forbidden) {
		return []Risk{{Code: pauseReason(e), Message: e.Message}}, o.PaymentMethodID, nil
	}
	if err != nil {
		return nil, "", err
	}
	var risks []Risk
	pm, err := s.wallet.PaymentMethod(ctx, o.PlatformID, o.CustomerID, pay.PaymentMethodID)
	if err != nil {
		return nil, "", err
	}
	// A card is good through the last day of its expiry month.
	expires := time.Date(int(pm.ExpYear), time.Month(pm.ExpMonth)+1, 1, 0, 0, 0, 0, time.UTC)
	switch {
	case pm.ExpYear == 0:
	case !expires.After(o.NextDue):
		risks = append(risks, Risk{RiskCardExpired, fmt.Sprintf("The card ending %s expires %02d/%d, before the charge due %s.",
			pm.Last4, pm.ExpMonth, pm.ExpYear, o.NextDate.Format(time.DateOnly))})
	case expires.Before(o.NextDue.Add(expiringWithin)):
		risks = append(risks, Risk{RiskCardExpiring, fmt.Sprintf("The card ending %s expires %02d/%d, soon after the charge due %s.",
			pm.Last4, pm.ExpMonth, pm.ExpYear, o.NextDate.Format(time.DateOnly))})
	}
	asked, err := s.payments.LastAskedToAuthenticate(ctx, o.PlatformID, pm.ID)
	if err != nil {
		return nil, "", err
	}
	if asked {
		risks = append(risks, Risk{RiskAuthentication,
			"The card's last payment asked the customer to authenticate; this one may too, and waits for them until it is due."})
	}
	return risks, pm.ID, nil
}
