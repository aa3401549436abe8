// Package standing keeps standing orders: a customer's agreement that a
// merchant charges a saved card off-session on a schedule, each period a
// cycle, and the scheduler that makes each cycle a payment exactly once.
//
// A cycle is made in one transaction with its payment (payment.CreateFrom),
// unique by (standing order, seq), and moves the order's next cycle on only
// from the cycle it read and only while the order is active. So running the
// scheduler twice, concurrently, after a crash or on several nodes makes
// each cycle once; and a pause or cancel that commits before a cycle is
// made stops it, while one that commits after finds the cycle made and
// says so (its payment is canceled if Stripe has not been asked yet).
//
// Each cycle is made LeadDays before it is due, so a customer whose bank
// asks them to authenticate has until the due time to do it. The cycle
// then follows its payment (a payment.Follower, in the payment's own
// transaction): succeeded, failed, or waiting for the customer.
package standing

import (
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/wallet"
)

// Prefix is the prefix of a standing order's id.
const Prefix = "sto"

// Status is where a standing order stands.
type Status string

// Statuses.
const (
	// StatusActive: its cycles are made as they come due.
	StatusActive Status = "active"
	// StatusPaused: no cycle is made until it is resumed; the cycles that
	// fell due meanwhile are not made up for.
	StatusPaused Status = "paused"
	// StatusCanceled: ended by the platform; final.
	StatusCanceled Status = "canceled"
	// StatusCompleted: its schedule ended (end date or count); final.
	StatusCompleted Status = "completed"
)

// DefaultLeadDays is how many days before a cycle is due it is charged,
// unless the order says otherwise: time for a customer asked to
// authenticate to do so before the due time.
const DefaultLeadDays = 2

// MaxLeadDays bounds the lead time: an authentication link, and the
// customer's memory of the order, last about a week.
const MaxLeadDays = 7

// Events of standing orders and their cycles.
const (
	EventCreated             event.Type = "standing_order.created"
	EventUpdated             event.Type = "standing_order.updated"
	EventPaused              event.Type = "standing_order.paused"
	EventResumed             event.Type = "standing_order.resumed"
	EventCanceled            event.Type = "standing_order.canceled"
	EventCompleted           event.Type = "standing_order.completed"
	EventCycleCreated        event.Type = "standing_order.cycle_created"
	EventCycleSucceeded      event.Type = "standing_order.cycle_succeeded"
	EventCycleFailed         event.Type = "standing_order.cycle_failed"
	EventCycleRequiresAction event.Type = "standing_order.cycle_requires_action"
	EventCycleNotCharged     event.Type = "standing_order.cycle_not_charged"
	EventCycleRetrying       event.Type = "standing_order.cycle_retrying"
	EventCycleCanceled       event.Type = "standing_order.cycle_canceled"
	EventCycleAtRisk         event.Type = "standing_order.cycle_at_risk"
)

// Reasons an order is paused by Tender rather than the platform.
const (
	ReasonPlatform         = "requested"
	ReasonConsentWithdrawn = "consent_withdrawn"
	ReasonCardRemoved      = "payment_method_detached"
	ReasonMerchant         = "merchant_not_enabled"
	ReasonNotCharged       = "cycle_not_charged"
)

// Order is a standing order.
type Order struct {
	ID, PlatformID, CustomerID, MerchantID string
	// PaymentMethodID is the card; "" charges the customer's default card
	// at each cycle.
	PaymentMethodID string
	ChargeType      payment.ChargeType
	Splits          []payment.Split
	Amount          int64
	Currency        money.Currency
	Schedule        Schedule
	LeadDays        int
	Description     string
	Reference       string
	Metadata        map[string]string
	Status          Status
	StatusReason    string
	// The next cycle to make: NextDate is zero once the schedule ended.
	NextSeq     int
	NextDate    time.Time
	NextDue     time.Time
	NextCharge  time.Time
	FailedInRow int
	// PrecheckedSeq is the last cycle checked ahead of its charge.
	PrecheckedSeq int
	Created       time.Time
	Updated       time.Time
	LatestCycles  []*Cycle // the most recent few, newest first, when read for the API
}

// Config is what a Service needs.
type Config struct {
	DB       *store.DB
	Payments *payment.Service
	Wallet   *wallet.Service
	NowFunc  func() time.Time
	Logger   *slog.Logger
}

// Service keeps standing orders.
type Service struct {
	db       *store.DB
	payments *payment.Service
	wallet   *wallet.Service
	now      func() time.Time
	log      *slog.Logger
}

// NewService returns a Service, following the moves of the payments it
// makes.
func NewService(c Config) *Service {
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: c.DB, payments: c.Payments, wallet: c.Wallet, now: c.NowFunc, log: c.Logger}
	c.Payments.Follow(s.follow)
	return s
}

// weekdaysText is the stored form of a weekly schedule's days.
func weekdaysText(ds []time.Weekday) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = WeekdayName(d)
	}
	return strings.Join(names, ",")
}

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("standing: " + err.Error()) // splits and metadata always marshal
	}
	return string(b)
}
