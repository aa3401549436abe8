package standing

import (
	"context"
	"database/sql"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/event"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/idempotency"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/text"
)

// ScheduleParams are a schedule as the API takes it.
type ScheduleParams struct {
	Interval   Interval `json:"interval" text:"16"`
	Every      int      `json:"every"` // 1 when 0
	Weekdays   []string `json:"weekdays" text:"16"`
	DayOfMonth int      `json:"day_of_month"`
	TimeOfDay  string   `json:"time_of_day" text:"5"` // HH:MM, 09:00 when empty
}

// CreateParams ask for a standing order.
type CreateParams struct {
	Customer      string             `json:"customer" text:"255"`
	Merchant      string             `json:"merchant" text:"255"`
	PaymentMethod string             `json:"payment_method" text:"255"` // the default card at each cycle when empty
	ChargeType    payment.ChargeType `json:"charge_type" text:"32"`
	Splits        []payment.Split    `json:"splits"`
	Amount        int64              `json:"amount"`
	Currency      string             `json:"currency" text:"32"`
	Schedule      ScheduleParams     `json:"schedule"`
	TimeZone      string             `json:"time_zone" text:"64"`
	StartDate     string             `json:"start_date" text:"10"` // today in the time zone when empty
	EndDate       string             `json:"end_date" text:"10"`
	Count         int                `json:"count"`
	LeadDays      *int               `json:"lead_days"`
	Description   string             `json:"description" text:"1000,multiline"`
	Reference     string             `json:"reference" text:"255"`
	Metadata      map[string]string  `json:"metadata" text:"500,multiline,keys=40"`
}

// schedule reads the schedule the params describe, in the order a form is
// read; errors name the API's fields.
func (p *CreateParams) schedule(now time.Time) (Schedule, error) {
	if p.TimeZone == "" {
		return Schedule{}, errs.Invalidf("time_zone", "time_zone is required: the IANA name of the customer's zone, e.g. Europe/London.")
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil || p.TimeZone == "Local" {
		return Schedule{}, errs.Invalidf("time_zone", "%q is not an IANA time zone (e.g. Europe/London).", p.TimeZone)
	}
	sp := p.Schedule
	s := Schedule{Interval: sp.Interval, Every: sp.Every, DayOfMonth: sp.DayOfMonth, Location: loc, Count: p.Count}
	if s.Every == 0 {
		s.Every = 1
	}
	if sp.TimeOfDay == "" {
		sp.TimeOfDay = "09:00"
	}
	if s.Hour, s.Min, err = ParseTimeOfDay(sp.TimeOfDay); err != nil {
		return Schedule{}, err
	}
	today := now.In(loc)
	s.Start = date(today.Year(), today.Month(), today.Day())
	if p.StartDate != "" {
		if s.Start, err = ParseDate("start_date", p.StartDate); err != nil {
			return Schedule{}, err
		}
	}
	if p.EndDate != "" {
		if s.End, err = ParseDate("end_date", p.EndDate); err != nil {
			return Schedule{}, err
		}
	}
	if s.Weekdays, err = ParseWeekdays(sp.Weekdays); err != nil {
		return Schedule{}, err
	}
	if s.Interval == Weekly && len(s.Weekdays) == 0 {
		s.Weekdays = []time.Weekday{s.Start.Weekday()}
	}
	return s, s.validate()
}

// Create accepts a standing order and plans its first cycle: the first
// the schedule has that is not due yet. Everything a cycle's payment
// needs is checked now, as a payment would be (the merchant enabled, the
// card active, an off-session consent for the merchant covering it, the
// currency priced), so an order that could not be charged is refused
// rather than failing later. Returns errs.Invalid naming the field.
func (s *Service) Create(ctx context.Context, platformID string, p CreateParams) (*Order, error) {
	if err := text.Validate(&p); err != nil {
		return nil, err
	}
	now := s.now()
	sched, err := p.schedule(now)
	if err != nil {
		return nil, err
	}
	policy, err := s.Policy(ctx, platformID)
	if err != nil {
		return nil, err
	}
	lead := policy.LeadDays
	if p.LeadDays != nil {
		lead = *p.LeadDays
	}
	if lead < 0 || lead > MaxLeadDays {
		return nil, errs.Invalidf("lead_days", "lead_days must be 0 to %d, not %d.", MaxLeadDays, lead)
	}
	if p.Amount <= 0 {
		return nil, errs.Invalidf("amount", "amount must be a positive number of minor units.")
	}
	pay, err := s.payments.Check(ctx, platformID, payment.CreateParams{Merchant: p.Merchant, Customer: p.Customer,
		PaymentMethod: p.PaymentMethod, Amount: p.Amount, Currency: p.Currency, ChargeType: p.ChargeType, Splits: p.Splits,
		OffSession: true, Description: p.Description, Reference: p.Reference, Metadata: p.Metadata})
	if err != nil {
		return nil, err
	}
	o := &Order{ID: id.For(ctx, Prefix), PlatformID: platformID, CustomerID: pay.CustomerID, MerchantID: pay.MerchantID,
		PaymentMethodID: p.PaymentMethod, ChargeType: pay.ChargeType, Splits: p.Splits, Amount: p.Amount, Currency: pay.Currency,
		Schedule: sched, LeadDays: lead, Description: p.Description, Reference: p.Reference, Metadata: p.Metadata,
		Status: StatusActive, Created: now, Updated: now}
	if o.Splits == nil {
		o.Splits = []payment.Split{}
	}
	if o.Metadata == nil {
		o.Metadata = map[string]string{}
	}
	if !o.planFrom(1, time.Time{}, now) {
		return nil, errs.Invalidf("start_date", "The schedule has no cycle due after now: check start_date, end_date and count.")
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := insert(ctx, tx, o); err != nil {
			return err
		}
		if _, err := event.Record(ctx, tx, now, platformID, EventCreated, o.ID, o.View()); err != nil {
			return err
		}
		return idempotency.Commit(ctx, tx, o.View())
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// planFrom sets the order's next cycle: the first from seq on (after the
// cycle on prev) that is due after now, so cycles that fell due while
// the order could not be charged are not made up for. It reports false
// when the schedule has no such cycle.
func (o *Order) planFrom(seq int, prev, now time.Time) bool {
	for ; ; seq++ {
		d, ok := o.Schedule.Next(seq, prev)
		if !ok {
			o.NextSeq, o.NextDate, o.NextDue, o.NextCharge = seq, time.Time{}, time.Time{}, time.Time{}
			return false
		}
		if due := o.Schedule.DueAt(d); due.After(now) {
			o.NextSeq, o.NextDate, o.NextDue = seq, d, due
			o.NextCharge = due.AddDate(0, 0, -o.LeadDays)
			return true
		}
		prev = d
	}
}

func insert(ctx context.Context, tx *sql.Tx, o *Order) error {
	sc := &o.Schedule
	_, err := tx.ExecContext(ctx, `INSERT INTO standing_orders (platform_id, id, customer_id, merchant_id, payment_method_id, charge_type,
		splits, amount, currency, repeat_interval, every, weekdays, day_of_month, time_of_day, time_zone, start_date, end_date, cycle_count,
		lead_days, description, reference, metadata, status, status_reason, next_seq, next_date, next_due_at, next_charge_at, failed_in_row,
		created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, '', $24, $25, $26, $27,
		0, $28, $28)`,
		o.PlatformID, o.ID, o.CustomerID, o.MerchantID, o.PaymentMethodID, string(o.ChargeType), marshal(o.Splits), o.Amount,
		o.Currency.Lower(), string(sc.Interval), sc.Every, weekdaysText(sc.Weekdays), sc.DayOfMonth, sc.timeOfDay(), sc.Location.String(),
		sc.Start.Format(time.DateOnly), dateText(sc.End), sc.Count, o.LeadDays, o.Description, o.Reference, marshal(o.Metadata),
		string(o.Status), o.NextSeq, nullDate(o.NextDate), nullTime(o.NextDue), nullTime(o.NextCharge), store.TimeOf(o.Created))
	return err
}
