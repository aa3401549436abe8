package standing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
)

const cols = `platform_id, id, customer_id, merchant_id, payment_method_id, charge_type, splits, amount, currency, repeat_interval, every,
	weekdays, day_of_month, time_of_day, time_zone, start_date, end_date, cycle_count, lead_days, description, reference, metadata,
	status, status_reason, next_seq, next_date, next_due_at, next_charge_at, failed_in_row, prechecked_seq, created_at, updated_at`

func scan(sc store.Scanner) (*Order, error) {
	o := &Order{}
	var chargeType, splits, cur, interval, weekdays, tod, zone, start, end, md, status string
	var nextDate sql.NullString
	var nextDue, nextCharge, created, updated store.Time
	s := &o.Schedule
	if err := sc.Scan(&o.PlatformID, &o.ID, &o.CustomerID, &o.MerchantID, &o.PaymentMethodID, &chargeType, &splits, &o.Amount, &cur,
		&interval, &s.Every, &weekdays, &s.DayOfMonth, &tod, &zone, &start, &end, &s.Count, &o.LeadDays, &o.Description, &o.Reference,
		&md, &status, &o.StatusReason, &o.NextSeq, &nextDate, &nextDue, &nextCharge, &o.FailedInRow, &o.PrecheckedSeq, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	bad := func(what string, err error) error { return fmt.Errorf("standing order %s: %s: %w", o.ID, what, err) }
	if o.Currency, err = money.ParseCurrency(cur); err != nil {
		return nil, bad("currency", err)
	}
	if s.Location, err = time.LoadLocation(zone); err != nil {
		return nil, bad("time zone", err)
	}
	if err := json.Unmarshal([]byte(splits), &o.Splits); err != nil {
		return nil, bad("splits", err)
	}
	if err := json.Unmarshal([]byte(md), &o.Metadata); err != nil {
		return nil, bad("metadata", err)
	}
	if s.Weekdays, err = ParseWeekdays(splitNonEmpty(weekdays)); err != nil {
		return nil, bad("weekdays", err)
	}
	if s.Hour, s.Min, err = ParseTimeOfDay(tod); err != nil {
		return nil, bad("time of day", err)
	}
	if s.Start, err = time.Parse(time.DateOnly, start); err != nil {
		return nil, bad("start date", err)
	}
	if end != "" {
		if s.End, err = time.Parse(time.DateOnly, end); err != nil {
			return nil, bad("end date", err)
		}
	}
	if nextDate.Valid {
		if o.NextDate, err = time.Parse(time.DateOnly, nextDate.String); err != nil {
			return nil, bad("next date", err)
		}
	}
	s.Interval, o.ChargeType, o.Status = Interval(interval), payment.ChargeType(chargeType), Status(status)
	o.NextDue, o.NextCharge, o.Created, o.Updated = nextDue.Time, nextCharge.Time, created.Time, updated.Time
	return o, nil
}

// splitCols splits a column list.
func splitCols(cols string) []string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

func splitNonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (s *Schedule) timeOfDay() string { return fmt.Sprintf("%02d:%02d", s.Hour, s.Min) }

func dateText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

func nullDate(t time.Time) sql.NullString {
	return sql.NullString{String: dateText(t), Valid: !t.IsZero()}
}

func nullTime(t time.Time) *store.Time {
	if t.IsZero() {
		return nil
	}
	v := store.TimeOf(t)
	return &v
}

func get(ctx context.Context, q store.Querier, platformID, orderID string) (*Order, error) {
	o, err := scan(q.QueryRowContext(ctx, `SELECT `+cols+` FROM standing_orders WHERE platform_id = $1 AND id = $2`, platformID, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("id", "No such standing order: '%s'.", orderID)
	}
	return o, err
}

// Get returns one of the platform's standing orders with its latest
// cycles. Returns errs.NotFound.
func (s *Service) Get(ctx context.Context, platformID, orderID string) (*Order, error) {
	o, err := get(ctx, s.db, platformID, orderID)
	if err != nil {
		return nil, err
	}
	return o, withLatest(ctx, s.db, o)
}

// Filter narrows a list of standing orders; empty fields match all.
type Filter struct {
	CustomerID, MerchantID string
	Status                 Status
}

// ValidStatus reports whether st is a status, or empty (any).
func ValidStatus(st Status) bool {
	switch st {
	case "", StatusActive, StatusPaused, StatusCanceled, StatusCompleted:
		return true
	}
	return false
}

// List returns a page of the platform's standing orders, newest first.
func (s *Service) List(ctx context.Context, platformID string, f Filter, page store.Page) ([]*Order, bool, error) {
	q, args := `SELECT `+cols+` FROM standing_orders WHERE platform_id = $1`, []any{platformID}
	for _, c := range []struct{ col, v string }{{"customer_id", f.CustomerID}, {"merchant_id", f.MerchantID}, {"status", string(f.Status)}} {
		if c.v != "" {
			args = append(args, c.v)
			q += " AND " + c.col + " = $" + strconv.Itoa(len(args))
		}
	}
	os, more, err := store.List(ctx, s.db, page, scan, q, args...)
	if err != nil {
		return nil, false, err
	}
	for _, o := range os {
		if err := withLatest(ctx, s.db, o); err != nil {
			return nil, false, err
		}
	}
	return os, more, nil
}

// latestShown is how many of an order's cycles its view shows.
const latestShown = 3

func withLatest(ctx context.Context, q store.Querier, o *Order) error {
	cs, err := store.All(ctx, q, scanCycle, `SELECT `+cycleCols+` FROM standing_cycles WHERE platform_id = $1 AND standing_order_id = $2
		ORDER BY seq DESC LIMIT `+strconv.Itoa(latestShown), o.PlatformID, o.ID)
	if err != nil {
		return err
	}
	o.LatestCycles = cs
	return withAttempts(ctx, q, o.PlatformID, o.ID, cs)
}
