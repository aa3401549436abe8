package standing

import (
	"time"

	"github.com/tenderpay/tender/internal/nullable"
	"github.com/tenderpay/tender/internal/payment"
)

// ScheduleView is a schedule as the API shows it.
type ScheduleView struct {
	Interval   Interval `json:"interval"`
	Every      int      `json:"every"`
	Weekdays   []string `json:"weekdays"`
	DayOfMonth *int     `json:"day_of_month"`
	TimeOfDay  string   `json:"time_of_day"`
}

// View is a standing order as the API shows it.
type View struct {
	ID            string             `json:"id"`
	Object        string             `json:"object"`
	Customer      string             `json:"customer"`
	Merchant      string             `json:"merchant"`
	PaymentMethod *string            `json:"payment_method"`
	ChargeType    payment.ChargeType `json:"charge_type"`
	Splits        []payment.Split    `json:"splits"`
	Amount        int64              `json:"amount"`
	Currency      string             `json:"currency"`
	Schedule      ScheduleView       `json:"schedule"`
	TimeZone      string             `json:"time_zone"`
	StartDate     string             `json:"start_date"`
	EndDate       *string            `json:"end_date"`
	Count         *int               `json:"count"`
	LeadDays      int                `json:"lead_days"`
	Description   string             `json:"description"`
	Reference     *string            `json:"reference"`
	Metadata      map[string]string  `json:"metadata"`
	Status        Status             `json:"status"`
	StatusReason  *string            `json:"status_reason"`
	// NextCycle is the next cycle to be made, null once the schedule ended.
	NextCycle    *NextCycleView `json:"next_cycle"`
	FailedInRow  int            `json:"failed_in_row"`
	LatestCycles []CycleView    `json:"latest_cycles"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
}

// NextCycleView is the cycle an order will make next.
type NextCycleView struct {
	Seq      int       `json:"seq"`
	Date     string    `json:"date"`
	DueAt    time.Time `json:"due_at"`
	ChargeAt time.Time `json:"charge_at"`
}

// CycleView is a cycle as the API shows it.
type CycleView struct {
	Object         string      `json:"object"`
	StandingOrder  string      `json:"standing_order"`
	Seq            int         `json:"seq"`
	Date           string      `json:"date"`
	DueAt          time.Time   `json:"due_at"`
	ChargeAt       time.Time   `json:"charge_at"`
	Amount         int64       `json:"amount"`
	Payment        *string     `json:"payment"`
	Status         CycleStatus `json:"status"`
	FailureCode    *string     `json:"failure_code"`
	DeclineCode    *string     `json:"decline_code"`
	FailureMessage *string     `json:"failure_message"`
	// Decline is soft (retried) or hard (not), for a failure.
	Decline     *string       `json:"decline"`
	NextRetryAt *time.Time    `json:"next_retry_at"`
	TriesLeft   int           `json:"tries_left"`
	Attempts    []AttemptView `json:"attempts"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// AttemptView is one charge of a cycle.
type AttemptView struct {
	Attempt        int         `json:"attempt"`
	Payment        *string     `json:"payment"`
	Status         CycleStatus `json:"status"`
	FailureCode    *string     `json:"failure_code"`
	DeclineCode    *string     `json:"decline_code"`
	FailureMessage *string     `json:"failure_message"`
	Decline        *string     `json:"decline"`
	CreatedAt      time.Time   `json:"created_at"`
}

// View returns o as the API shows it.
func (o *Order) View() View {
	s := &o.Schedule
	v := View{ID: o.ID, Object: "standing_order", Customer: o.CustomerID, Merchant: o.MerchantID,
		PaymentMethod: nullable.String(o.PaymentMethodID), ChargeType: o.ChargeType, Splits: o.Splits, Amount: o.Amount,
		Currency: o.Currency.Lower(), Schedule: ScheduleView{Interval: s.Interval, Every: s.Every, Weekdays: []string{},
			TimeOfDay: s.timeOfDay()},
		TimeZone: s.Location.String(), StartDate: s.Start.Format(time.DateOnly), EndDate: nullable.String(dateText(s.End)),
		LeadDays: o.LeadDays, Description: o.Description, Reference: nullable.String(o.Reference), Metadata: o.Metadata,
		Status: o.Status, StatusReason: nullable.String(o.StatusReason), FailedInRow: o.FailedInRow, LatestCycles: []CycleView{},
		CreatedAt: o.Created, UpdatedAt: o.Updated}
	for _, d := range s.Weekdays {
		v.Schedule.Weekdays = append(v.Schedule.Weekdays, WeekdayName(d))
	}
	if s.Interval == Monthly {
		dom := s.DayOfMonth
		v.Schedule.DayOfMonth = &dom
	}
	if s.Count > 0 {
		n := s.Count
		v.Count = &n
	}
	if !o.NextDate.IsZero() && (o.Status == StatusActive || o.Status == StatusPaused) {
		v.NextCycle = &NextCycleView{Seq: o.NextSeq, Date: o.NextDate.Format(time.DateOnly), DueAt: o.NextDue, ChargeAt: o.NextCharge}
	}
	if v.Splits == nil {
		v.Splits = []payment.Split{}
	}
	for _, c := range o.LatestCycles {
		v.LatestCycles = append(v.LatestCycles, c.View())
	}
	return v
}

// View returns c as the API shows it.
func (c *Cycle) View() CycleView {
	v := CycleView{Object: "standing_order_cycle", StandingOrder: c.OrderID, Seq: c.Seq, Date: c.Date.Format(time.DateOnly),
		DueAt: c.Due, ChargeAt: c.Charge, Amount: c.Amount, Payment: nullable.String(c.PaymentID), Status: c.Status,
		FailureCode: nullable.String(c.FailureCode), DeclineCode: nullable.String(c.DeclineCode),
		FailureMessage: nullable.String(c.FailureMessage), Decline: nullable.String(string(c.Decline)),
		NextRetryAt: nullable.Time(c.NextRetry), TriesLeft: c.TriesLeft, Attempts: []AttemptView{}, CreatedAt: c.Created,
		UpdatedAt: c.Updated}
	if c.Status != CycleRetrying {
		v.NextRetryAt = nil
	}
	for _, a := range c.Tries {
		v.Attempts = append(v.Attempts, AttemptView{Attempt: a.Attempt, Payment: nullable.String(a.PaymentID), Status: a.Status,
			FailureCode: nullable.String(a.FailureCode), DeclineCode: nullable.String(a.DeclineCode),
			FailureMessage: nullable.String(a.FailureMessage), Decline: nullable.String(string(a.Decline)), CreatedAt: a.Created})
	}
	return v
}
