// Package payout keeps the payouts of the platform's and its merchants'
// Stripe balances to their banks, as Stripe's events tell of them (read
// again from Stripe, never from the event), and the money each one moves
// in the books: a payout's own balance transaction takes the money from
// the balance to the bank, and the one Stripe adds when a payout fails or
// is canceled brings it back. Each is posted once, as it is at Stripe.
//
// A connected account shared by several merchants of the platform (two
// shops of one organisation) has one Stripe balance; its payouts are
// booked to the merchant connected to it first.
package payout

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/stripeapi"
)

// Prefix is the prefix of a payout's id.
const Prefix = "pout"

// Status is Stripe's status of a payout.
type Status string

// Statuses, as Stripe's.
const (
	StatusPending   Status = "pending"
	StatusInTransit Status = "in_transit"
	StatusPaid      Status = "paid"
	StatusFailed    Status = "failed"
	StatusCanceled  Status = "canceled"
)

// moves is the payout's transition table: forward only, as Stripe moves
// them (a paid payout can still fail: the bank can return it).
var moves = map[Status][]Status{
	StatusPending:   {StatusInTransit, StatusPaid, StatusFailed, StatusCanceled},
	StatusInTransit: {StatusPaid, StatusFailed, StatusCanceled},
	StatusPaid:      {StatusFailed},
}

func allowed(from, to Status) bool {
	for _, s := range moves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Events of payouts.
const (
	EventCreated  event.Type = "payout.created"
	EventUpdated  event.Type = "payout.updated"
	EventPaid     event.Type = "payout.paid"
	EventFailed   event.Type = "payout.failed"
	EventCanceled event.Type = "payout.canceled"
)

var eventOf = map[Status]event.Type{StatusInTransit: EventUpdated, StatusPaid: EventPaid, StatusFailed: EventFailed,
	StatusCanceled: EventCanceled}

// Payout is a payout of the platform's balance (MerchantID empty) or of a
// merchant's.
type Payout struct {
	ID, PlatformID, MerchantID string
	Account                    string // the Stripe account paid out; "" the platform's
	StripeID                   string
	Amount                     int64
	Currency                   money.Currency
	Status                     Status
	Automatic                  bool
	Method                     string
	ArrivalDate                time.Time
	BalanceTxn, FailureTxn     string
	FailureCode                string
	FailureMessage             string
	StripeCreated              time.Time
	Created, Updated           time.Time
}

// Config is what the Service needs.
type Config struct {
	DB       *store.DB
	Connect  *connect.Service
	Payments *payment.Service
	Stripe   *stripeapi.Pool
	Ledger   *ledger.Store
	NowFunc  func() time.Time
	Logger   *slog.Logger
}

// Service keeps payouts.
type Service struct {
	db       *store.DB
	connect  *connect.Service
	payments *payment.Service
	stripe   *stripeapi.Pool
	ledger   *ledger.Store
	now      func() time.Time
	log      *slog.Logger
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: cfg.DB, connect: cfg.Connect, payments: cfg.Payments, stripe: cfg.Stripe, ledger: cfg.Ledger,
		now: cfg.NowFunc, log: cfg.Logger}
}

// Observe applies what Stripe says now of a payout, po (read from Stripe
// on account, its balance_transaction and failure_balance_transaction
// expanded): the Tender payout is made or moved forward, each of its
// balance transactions not posted yet is posted, and the platform's
// events are recorded, in one transaction. Observing the same state again
// changes nothing. Returns errs.NotFound for a payout of an account no
// merchant of the platform is connected to.
func (s *Service) Observe(ctx context.Context, platformID, account string, po *stripe.Payout) (*Payout, error) {
	merchantID := ""
	if account != "" {
		var err error
		if merchantID, err = s.connect.FirstMerchantOf(ctx, platformID, account); err != nil {
			return nil, err
		}
	}
	var out *Payout
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.observe(ctx, tx, platformID, merchantID, account, po)
		return err
	})
	return out, err
}

func (s *Service) observe(ctx context.Context, tx *sql.Tx, platformID, merchantID, account string, po *stripe.Payout) (*Payout, error) {
	now := s.now()
	p, err := byStripeID(ctx, tx, platformID, po.ID)
	created := errs.Is(err, errs.NotFound)
	switch {
	case created:
		if p, err = s.insert(ctx, tx, platformID, merchantID, account, po, now); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	for _, bt := range []*stripe.BalanceTransaction{po.BalanceTransaction, po.FailureBalanceTransaction} {
		if err := s.post(ctx, tx, p, bt); err != nil {
			return nil, err
		}
	}
	if created {
		if err := s.record(ctx, tx, p, EventCreated); err != nil {
			return nil, err
		}
	}
	to := Status(po.Status)
	if to == p.Status || !allowed(p.Status, to) {
		return p, nil // the same, or an older state than Tender's: nothing to move
	}
	res, err := tx.ExecContext(ctx, `UPDATE payouts SET status = $3, failure_balance_transaction = $4, failure_code = $5,
		failure_message = $6, arrival_date = $7, updated_at = $8 WHERE platform_id = $1 AND id = $2 AND status = $9`,
		platformID, p.ID, string(to), btID(po.FailureBalanceTransaction), string(po.FailureCode), po.FailureMessage,
		store.TimeOf(time.Unix(po.ArrivalDate, 0)), store.TimeOf(now), string(p.Status))
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, errors.Join(err, fmt.Errorf("payout %s: moved by another run; will retry", p.ID))
	}
	p.Status, p.FailureTxn, p.FailureCode, p.FailureMessage = to, btID(po.FailureBalanceTransaction), string(po.FailureCode), po.FailureMessage
	p.ArrivalDate, p.Updated = time.Unix(po.ArrivalDate, 0).UTC(), now
	return p, s.record(ctx, tx, p, eventOf[to])
}

func btID(bt *stripe.BalanceTransaction) string {
	if bt == nil {
		return ""
	}
	return bt.ID
}

func (s *Service) insert(ctx context.Context, tx *sql.Tx, platformID, merchantID, account string, po *stripe.Payout, now time.Time) (*Payout, error) {
	cur, err := money.ParseCurrency(string(po.Currency))
	if err != nil {
		return nil, fmt.Errorf("payout %s: %w", po.ID, err)
	}
	p := &Payout{ID: id.New(Prefix), PlatformID: platformID, MerchantID: merchantID, Account: account, StripeID: po.ID,
		Amount: po.Amount, Currency: cur, Status: StatusPending, Automatic: po.Automatic, Method: string(po.Method),
		ArrivalDate: time.Unix(po.ArrivalDate, 0).UTC(), BalanceTxn: btID(po.BalanceTransaction),
		StripeCreated: time.Unix(po.Created, 0).UTC(), Created: now, Updated: now}
	_, err = tx.ExecContext(ctx, `INSERT INTO payouts (platform_id, id, merchant_id, account, stripe_payout_id, amount, currency, status,
		automatic, method, arrival_date, balance_transaction, failure_balance_transaction, failure_code, failure_message, stripe_created,
		created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '', '', '', $13, $14, $14)`,
		platformID, p.ID, merchantID, account, po.ID, p.Amount, cur.Lower(), string(p.Status), p.Automatic, p.Method,
		store.TimeOf(p.ArrivalDate), p.BalanceTxn, store.TimeOf(p.StripeCreated), store.TimeOf(now))
	if store.IsUniqueViolation(err) {
		return nil, fmt.Errorf("payout %s: recorded by another run; will retry", po.ID)
	}
	return p, err
}

// post posts one of the payout's balance transactions, once: money from
// the balance to the bank (a payout's, negative), or back (a failure's or
// cancel's, positive).
func (s *Service) post(ctx context.Context, tx *sql.Tx, p *Payout, bt *stripe.BalanceTransaction) error {
	if bt == nil || bt.ID == "" || bt.Amount == 0 {
		return nil
	}
	cur, err := money.ParseCurrency(string(bt.Currency))
	if err != nil {
		return fmt.Errorf("payout %s: balance transaction %s: %w", p.ID, bt.ID, err)
	}
	balance := ledger.PlatformBalance()
	if p.MerchantID != "" {
		balance = ledger.MerchantBalance(p.MerchantID)
	}
	e := ledger.Entry{PlatformID: p.PlatformID, Cause: "payout:" + p.ID + ":" + bt.ID, Kind: ledger.EntryPayout,
		At: time.Unix(bt.Created, 0).UTC(), MerchantID: p.MerchantID, Postings: []ledger.Posting{
			{Account: balance, Amount: money.New(bt.Amount, cur), Role: ledger.RolePayout, AvailableOn: time.Unix(bt.AvailableOn, 0).UTC()},
			{Account: ledger.BankPayouts(), Amount: money.New(-bt.Amount, cur), Role: ledger.RolePayout},
		}}
	_, err = s.ledger.Post(ctx, tx, e)
	return err
}

func (s *Service) record(ctx context.Context, tx *sql.Tx, p *Payout, typ event.Type) error {
	if typ == "" {
		return nil
	}
	_, err := event.Record(ctx, tx, s.now(), p.PlatformID, typ, p.ID, p.View())
	return err
}

const cols = `platform_id, id, merchant_id, account, stripe_payout_id, amount, currency, status, automatic, method, arrival_date,
	balance_transaction, failure_balance_transaction, failure_code, failure_message, stripe_created, created_at, updated_at`

func scan(sc store.Scanner) (*Payout, error) {
	p := &Payout{}
	var cur, status string
	var arrival, stripeCreated, created, updated store.Time
	if err := sc.Scan(&p.PlatformID, &p.ID, &p.MerchantID, &p.Account, &p.StripeID, &p.Amount, &cur, &status, &p.Automatic,
		&p.Method, &arrival, &p.BalanceTxn, &p.FailureTxn, &p.FailureCode, &p.FailureMessage, &stripeCreated, &created, &updated); err != nil {
		return nil, err
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return nil, fmt.Errorf("payout %s: %w", p.ID, err)
	}
	p.Currency, p.Status = c, Status(status)
	p.ArrivalDate, p.StripeCreated, p.Created, p.Updated = arrival.Time, stripeCreated.Time, created.Time, updated.Time
	return p, nil
}

func byStripeID(ctx context.Context, q store.Querier, platformID, stripeID string) (*Payout, error) {
	p, err := scan(q.QueryRowContext(ctx, `SELECT `+cols+` FROM payouts WHERE platform_id = $1 AND stripe_payout_id = $2`,
		platformID, stripeID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("", "No payout of Stripe payout %s.", stripeID)
	}
	return p, err
}

// Get returns one of the platform's payouts. Returns errs.NotFound.
func (s *Service) Get(ctx context.Context, platformID, payoutID string) (*Payout, error) {
	p, err := scan(s.db.QueryRowContext(ctx, `SELECT `+cols+` FROM payouts WHERE platform_id = $1 AND id = $2`, platformID, payoutID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("id", "No such payout: '%s'.", payoutID)
	}
	return p, err
}

// Filter narrows a list of payouts; empty fields match all. Owner is
// "platform" (the platform's own payouts) or "merchant" (merchants');
// MerchantID one merchant's.
type Filter struct {
	Owner      string
	MerchantID string
	Status     Status
}

// ValidStatus reports whether s is a payout status, or empty (any).
func ValidStatus(s Status) bool {
	switch s {
	case "", StatusPending, StatusInTransit, StatusPaid, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// List returns a page of the platform's payouts, newest first.
func (s *Service) List(ctx context.Context, platformID string, f Filter, page store.Page) ([]*Payout, bool, error) {
	q, args := `SELECT `+cols+` FROM payouts WHERE platform_id = $1`, []any{platformID}
	add := func(cond string, v any) {
		args = append(args, v)
		q += " AND " + cond + " $" + strconv.Itoa(len(args))
	}
	switch {
	case f.MerchantID != "":
		add("merchant_id =", f.MerchantID)
	case f.Owner == "platform":
		add("merchant_id =", "")
	case f.Owner == "merchant":
		add("merchant_id <>", "")
	}
	if f.Status != "" {
		add("status =", string(f.Status))
	}
	return store.List(ctx, s.db, page, scan, q, args...)
}
