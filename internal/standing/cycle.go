package standing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
)

// CycleStatus is where one cycle stands.
type CycleStatus string

// Cycle statuses.
const (
	// CycleCharging: a payment is made and being charged.
	CycleCharging CycleStatus = "charging"
	// CycleRequiresAction: the customer's bank asks them to authenticate,
	// through the payment's hosted link, before the cycle is due; at due_at
	// the payment is canceled and the cycle fails.
	CycleRequiresAction CycleStatus = "requires_action"
	// CycleRetrying: its charge was declined softly; it is charged again
	// at next_retry_at, by the platform's policy.
	CycleRetrying  CycleStatus = "retrying"
	CycleSucceeded CycleStatus = "succeeded"
	// CycleFailed: declined for good (a hard decline, no tries left, or
	// not authenticated in time).
	CycleFailed CycleStatus = "failed"
	// CycleCanceled: its payment was canceled before it was charged.
	CycleCanceled CycleStatus = "canceled"
	// CycleNotCharged: no payment could be made (the consent withdrawn,
	// the card removed, the merchant not enabled): the order is paused.
	CycleNotCharged CycleStatus = "not_charged"
)

// FailureNotAuthenticated is the failure of a cycle whose customer did not
// authenticate before it was due.
const FailureNotAuthenticated = "authentication_not_completed"

// Cycle is one period of a standing order.
type Cycle struct {
	PlatformID, OrderID string
	Seq                 int
	Date                time.Time // the local date it falls on
	Due, Charge         time.Time
	Amount              int64
	PaymentID           string // the latest attempt's
	Status              CycleStatus
	FailureCode         string
	DeclineCode         string
	FailureMessage      string  // fit to show the customer
	Decline             Decline // of the latest failure
	Attempts            int
	TriesLeft           int
	FirstFailed         time.Time
	NextRetry           time.Time
	Created, Updated    time.Time
	Tries               []*Attempt // when read for the API, oldest first
}

// Attempt is one charge of a cycle.
type Attempt struct {
	Seq, Attempt   int
	PaymentID      string
	Status         CycleStatus
	FailureCode    string
	DeclineCode    string
	FailureMessage string
	Decline        Decline
	Created        time.Time
}

const cycleCols = `platform_id, standing_order_id, seq, cycle_date, due_at, charge_at, amount, payment_id, status, failure_code,
	decline_code, failure_message, decline, attempts, tries_left, first_failed_at, next_retry_at, created_at, updated_at`

func scanCycle(sc store.Scanner) (*Cycle, error) {
	c := &Cycle{}
	var day, status, decline string
	var pay sql.NullString
	var due, charge, firstFailed, nextRetry, created, updated store.Time
	if err := sc.Scan(&c.PlatformID, &c.OrderID, &c.Seq, &day, &due, &charge, &c.Amount, &pay, &status, &c.FailureCode,
		&c.DeclineCode, &c.FailureMessage, &decline, &c.Attempts, &c.TriesLeft, &firstFailed, &nextRetry, &created, &updated); err != nil {
		return nil, err
	}
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return nil, fmt.Errorf("standing order %s cycle %d: %w", c.OrderID, c.Seq, err)
	}
	c.Date, c.Due, c.Charge, c.PaymentID, c.Status, c.Decline = d, due.Time, charge.Time, pay.String, CycleStatus(status), Decline(decline)
	c.FirstFailed, c.NextRetry, c.Created, c.Updated = firstFailed.Time, nextRetry.Time, created.Time, updated.Time
	return c, nil
}

func getCycle(ctx context.Context, q store.Querier, platformID, orderID string, seq int) (*Cycle, error) {
	return scanCycle(q.QueryRowContext(ctx, `SELECT `+cycleCols+` FROM standing_cycles WHERE platform_id = $1 AND standing_order_id = $2
		AND seq = $3`, platformID, orderID, seq))
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// insertCycle writes a new cycle and its first attempt.
func insertCycle(ctx context.Context, tx *sql.Tx, c *Cycle) error {
	c.Attempts = 1
	if _, err := tx.ExecContext(ctx, `INSERT INTO standing_cycles (platform_id, standing_order_id, seq, cycle_date, due_at, charge_at, amount,
		payment_id, status, failure_code, decline_code, failure_message, decline, attempts, tries_left, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '', 1, 0, $13, $13)`,
		c.PlatformID, c.OrderID, c.Seq, c.Date.Format(time.DateOnly), store.TimeOf(c.Due), store.TimeOf(c.Charge), c.Amount,
		nullString(c.PaymentID), string(c.Status), c.FailureCode, c.DeclineCode, c.FailureMessage, store.TimeOf(c.Created)); err != nil {
		return err
	}
	return insertAttempt(ctx, tx, c)
}

// insertAttempt writes the cycle's latest attempt as it now is.
func insertAttempt(ctx context.Context, tx *sql.Tx, c *Cycle) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO standing_attempts (platform_id, standing_order_id, seq, attempt, payment_id, status,
		failure_code, decline_code, failure_message, decline, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', $10, $10)`,
		c.PlatformID, c.OrderID, c.Seq, c.Attempts, nullString(c.PaymentID), string(c.Status), c.FailureCode, c.DeclineCode,
		c.FailureMessage, store.TimeOf(c.Updated))
	return err
}

// Cycles returns up to limit of the order's cycles with their attempts,
// newest first, those before cycle startingAfter when it is positive, and
// whether there are more. Returns errs.NotFound for an unknown order.
func (s *Service) Cycles(ctx context.Context, platformID, orderID string, startingAfter, limit int) ([]*Cycle, bool, error) {
	if _, err := get(ctx, s.db, platformID, orderID); err != nil {
		return nil, false, err
	}
	if startingAfter <= 0 {
		startingAfter = math.MaxInt32
	}
	cs, err := store.All(ctx, s.db, scanCycle, `SELECT `+cycleCols+` FROM standing_cycles WHERE platform_id = $1 AND standing_order_id = $2
		AND seq < $3 ORDER BY seq DESC LIMIT $4`, platformID, orderID, startingAfter, limit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(cs) > limit
	if more {
		cs = cs[:limit]
	}
	return cs, more, withAttempts(ctx, s.db, platformID, orderID, cs)
}

// withAttempts loads the attempts of cycles of one order.
func withAttempts(ctx context.Context, q store.Querier, platformID, orderID string, cs []*Cycle) error {
	if len(cs) == 0 {
		return nil
	}
	lo, hi := cs[len(cs)-1].Seq, cs[0].Seq
	as, err := store.All(ctx, q, func(sc store.Scanner) (*Attempt, error) {
		a := &Attempt{}
		var pay sql.NullString
		var status, decline string
		var created store.Time
		err := sc.Scan(&a.Seq, &a.Attempt, &pay, &status, &a.FailureCode, &a.DeclineCode, &a.FailureMessage, &decline, &created)
		a.PaymentID, a.Status, a.Decline, a.Created = pay.String, CycleStatus(status), Decline(decline), created.Time
		return a, err
	}, `SELECT seq, attempt, payment_id, status, failure_code, decline_code, failure_message, decline, created_at FROM standing_attempts
		WHERE platform_id = $1 AND standing_order_id = $2 AND seq BETWEEN $3 AND $4 ORDER BY seq, attempt`, platformID, orderID, lo, hi)
	if err != nil {
		return err
	}
	bySeq := map[int]*Cycle{}
	for _, c := range cs {
		bySeq[c.Seq] = c
	}
	for _, a := range as {
		if c := bySeq[a.Seq]; c != nil {
			c.Tries = append(c.Tries, a)
		}
	}
	return nil
}

// attemptOf maps a payment's status to its attempt's.
func attemptOf(st payment.Status) CycleStatus {
	switch st {
	case payment.StatusSucceeded:
		return CycleSucceeded
	case payment.StatusFailed:
		return CycleFailed
	case payment.StatusRequiresAction:
		return CycleRequiresAction
	case payment.StatusCanceled:
		return CycleCanceled
	}
	return CycleCharging
}

// follow moves a cycle as its latest payment moved, in the payment's
// transaction (see dunning.go for what a failure leads to). A payment of
// no cycle, a move its attempt already shows, or the move of an attempt
// that is no longer the cycle's latest changes only that attempt.
func (s *Service) follow(ctx context.Context, tx *sql.Tx, p *payment.Payment) error {
	if p.Source != payment.SourceStandingOrder {
		return nil
	}
	to := attemptOf(p.Status)
	now := s.now()
	var decline Decline
	if to == CycleFailed {
		decline = classify(p.FailureCode, p.DeclineCode)
	}
	var orderID string
	var seq int
	err := tx.QueryRowContext(ctx, `SELECT standing_order_id, seq FROM standing_attempts WHERE platform_id = $1 AND payment_id = $2`,
		p.PlatformID, p.ID).Scan(&orderID, &seq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := lockOrder(ctx, tx, p.PlatformID, orderID); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE standing_attempts SET status = $3, failure_code = $4, decline_code = $5, failure_message = $6,
		decline = $7, updated_at = $8 WHERE platform_id = $1 AND payment_id = $2 AND status <> $3`,
		p.PlatformID, p.ID, string(to), p.FailureCode, p.DeclineCode, p.FailureMessage, string(decline), store.TimeOf(now))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	c, err := getCycle(ctx, tx, p.PlatformID, orderID, seq)
	if err != nil || c.PaymentID != p.ID {
		return err
	}
	c.FailureCode, c.DeclineCode, c.FailureMessage, c.Decline, c.Updated = p.FailureCode, p.DeclineCode, p.FailureMessage, decline, now
	switch to {
	case CycleSucceeded:
		c.Status = CycleSucceeded
		return s.settleCycle(ctx, tx, c, EventCycleSucceeded, 0)
	case CycleRequiresAction:
		c.Status = CycleRequiresAction
		return s.saveCycle(ctx, tx, c, EventCycleRequiresAction)
	case CycleFailed:
		return s.failed(ctx, tx, c)
	case CycleCanceled:
		if c.Status == CycleRequiresAction && !now.Before(c.Due) {
			c.Decline, c.FailureCode, c.DeclineCode = Hard, FailureNotAuthenticated, ""
			c.FailureMessage = "The payment was not authenticated before it was due."
			return s.failed(ctx, tx, c)
		}
		c.Status = CycleCanceled
		return s.saveCycle(ctx, tx, c, EventCycleCanceled)
	}
	return nil
}

// saveCycle writes the cycle's status, failure and retry plan, with its
// event (none when typ is "").
func (s *Service) saveCycle(ctx context.Context, tx *sql.Tx, c *Cycle, typ event.Type) error {
	if _, err := tx.ExecContext(ctx, `UPDATE standing_cycles SET status = $4, failure_code = $5, decline_code = $6, failure_message = $7,
		decline = $8, tries_left = $9, first_failed_at = $10, next_retry_at = $11, updated_at = $12
		WHERE platform_id = $1 AND standing_order_id = $2 AND seq = $3`,
		c.PlatformID, c.OrderID, c.Seq, string(c.Status), c.FailureCode, c.DeclineCode, c.FailureMessage, string(c.Decline),
		c.TriesLeft, nullTime(c.FirstFailed), nullTime(c.NextRetry), store.TimeOf(c.Updated)); err != nil {
		return err
	}
	if typ == "" {
		return nil
	}
	if err := withAttempts(ctx, tx, c.PlatformID, c.OrderID, []*Cycle{c}); err != nil {
		return err
	}
	_, err := event.Record(ctx, tx, c.Updated, c.PlatformID, typ, c.OrderID, c.View())
	return err
}

// lockOrder takes the order's row lock (a write that changes nothing, as
// SQLite has no SELECT … FOR UPDATE). Every transaction that records an
// order's events or moves it takes this lock before anything else of the
// order's, so two never wait on each other in opposite orders (the
// order's row, and its event sequence).
func lockOrder(ctx context.Context, tx *sql.Tx, platformID, orderID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE standing_orders SET updated_at = updated_at WHERE platform_id = $1 AND id = $2`, platformID, orderID)
	return err
}
