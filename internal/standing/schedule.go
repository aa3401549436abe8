package standing

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/errs"
)

// Interval is the unit a schedule repeats in.
type Interval string

// Intervals.
const (
	Daily   Interval = "day"
	Weekly  Interval = "week"
	Monthly Interval = "month"
)

// LastDay as a day of the month is the month's last day, whatever its
// length.
const LastDay = -1

// Schedule is when a standing order's cycles fall due, in its time zone:
// every Every days; every Every weeks on Weekdays (the weeks counted from
// the start's, Monday first); or every Every months on DayOfMonth (a day
// past the month's end, or LastDay, is its last day: the 31st is the 30th
// in April and the 28th or 29th in February). Each cycle is due at
// TimeOfDay on its date, local time: the same wall-clock time across
// daylight-saving changes. A time a spring-forward change skips is moved
// on by the change (02:30 becomes 03:30); one a fall-back change repeats
// is its first occurrence.
type Schedule struct {
	Interval   Interval
	Every      int
	Weekdays   []time.Weekday // Weekly only; sorted, unique
	DayOfMonth int            // Monthly only: 1–31 or LastDay
	Hour, Min  int
	Location   *time.Location
	// Start is the first date a cycle may fall on; End, when not zero, the
	// last (both local dates at midnight UTC, compared as dates).
	Start, End time.Time
	// Count, when positive, is how many cycles there are.
	Count int
}

// date is a local calendar date, as midnight UTC, for arithmetic free of
// time zones.
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// ParseDate reads a YYYY-MM-DD date; field names it in the error.
func ParseDate(field, s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, errs.Invalidf(field, "%s must be a date, YYYY-MM-DD, not %q.", field, s)
	}
	return t, nil
}

// ParseTimeOfDay reads HH:MM (24 hours).
func ParseTimeOfDay(s string) (hour, min int, err error) {
	h, m, ok := strings.Cut(s, ":")
	hour, err1 := strconv.Atoi(h)
	min, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || hour > 23 || min > 59 || hour < 0 || min < 0 {
		return 0, 0, errs.Invalidf("schedule[time_of_day]", "schedule[time_of_day] must be HH:MM, 00:00 to 23:59, not %q.", s)
	}
	return hour, min, nil
}

var weekdayNames = map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday}

// ParseWeekdays reads weekday names (monday, …), sorted and without
// repeats.
func ParseWeekdays(names []string) ([]time.Weekday, error) {
	var out []time.Weekday
	for i, n := range names {
		d, ok := weekdayNames[strings.ToLower(n)]
		if !ok {
			return nil, errs.Invalidf("schedule[weekdays]["+strconv.Itoa(i)+"]", "%q is not a weekday (monday … sunday).", n)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out, nil
}

// WeekdayName is the API's name of d.
func WeekdayName(d time.Weekday) string { return strings.ToLower(d.String()) }

// validate checks the schedule's own rules; errors name the API's fields.
func (s *Schedule) validate() error {
	switch s.Interval {
	case Daily, Weekly, Monthly:
	default:
		return errs.Invalidf("schedule[interval]", "schedule[interval] must be day, week or month, not %q.", string(s.Interval))
	}
	if s.Every < 1 || s.Every > 366 {
		return errs.Invalidf("schedule[every]", "schedule[every] must be 1 to 366, not %d.", s.Every)
	}
	if s.Interval == Weekly && len(s.Weekdays) == 0 {
		return errs.Invalidf("schedule[weekdays]", "A weekly schedule needs at least one weekday.")
	}
	if s.Interval != Weekly && len(s.Weekdays) > 0 {
		return errs.Invalidf("schedule[weekdays]", "schedule[weekdays] is for weekly schedules only.")
	}
	if s.Interval == Monthly && (s.DayOfMonth == 0 || s.DayOfMonth < LastDay || s.DayOfMonth > 31) {
		return errs.Invalidf("schedule[day_of_month]", "schedule[day_of_month] must be 1 to 31, or -1 for the last day, not %d.", s.DayOfMonth)
	}
	if s.Interval != Monthly && s.DayOfMonth != 0 {
		return errs.Invalidf("schedule[day_of_month]", "schedule[day_of_month] is for monthly schedules only.")
	}
	if !s.End.IsZero() && s.End.Before(s.Start) {
		return errs.Invalidf("end_date", "end_date is before start_date.")
	}
	if s.Count < 0 {
		return errs.Invalidf("count", "count must not be negative.")
	}
	return nil
}

// DueAt is when a cycle on day (a local date) is due.
func (s *Schedule) DueAt(day time.Time) time.Time {
	t := time.Date(day.Year(), day.Month(), day.Day(), s.Hour, s.Min, 0, 0, s.Location)
	if t.Hour() == s.Hour && t.Minute() == s.Min {
		return t.UTC()
	}
	// The time falls in a spring-forward gap (Go's answer for it is not
	// specified): read the wall time with the offset in force some hours
	// before the change, which lands as far past the change.
	_, before := t.Add(-6 * time.Hour).Zone()
	wall := time.Date(day.Year(), day.Month(), day.Day(), s.Hour, s.Min, 0, 0, time.UTC)
	return wall.Add(-time.Duration(before) * time.Second)
}

// Next is the date of cycle seq (1, 2, …) given the date of cycle seq-1
// (prev; zero for the first), and false when the schedule has ended
// (past End, or Count reached).
func (s *Schedule) Next(seq int, prev time.Time) (time.Time, bool) {
	if s.Count > 0 && seq > s.Count {
		return time.Time{}, false
	}
	after := s.Start.AddDate(0, 0, -1)
	if !prev.IsZero() {
		after = prev
	}
	var d time.Time
	switch s.Interval {
	case Daily:
		d = s.nextDaily(after)
	case Weekly:
		d = s.nextWeekly(after)
	case Monthly:
		d = s.nextMonthly(after)
	}
	if !s.End.IsZero() && d.After(s.End) {
		return time.Time{}, false
	}
	return d, true
}

// nextDaily: Start, Start+Every, … the first after after.
func (s *Schedule) nextDaily(after time.Time) time.Time {
	days := int(after.Sub(s.Start).Hours()/24) + 1
	if days < 0 {
		days = 0
	}
	k := (days + s.Every - 1) / s.Every
	return s.Start.AddDate(0, 0, k*s.Every)
}

// nextWeekly: the first chosen weekday after after, in a week whose
// distance from the start's week is a multiple of Every.
func (s *Schedule) nextWeekly(after time.Time) time.Time {
	startWeek := monday(s.Start)
	for d := after.AddDate(0, 0, 1); ; d = d.AddDate(0, 0, 1) {
		if d.Before(s.Start) {
			d = s.Start
		}
		weeks := int(monday(d).Sub(startWeek).Hours()/24) / 7
		if weeks%s.Every == 0 && slices.Contains(s.Weekdays, d.Weekday()) {
			return d
		}
		if weeks%s.Every != 0 { // skip to the next counted week
			d = monday(d).AddDate(0, 0, 7*(s.Every-weeks%s.Every)-1)
		}
	}
}

func monday(d time.Time) time.Time {
	back := (int(d.Weekday()) + 6) % 7 // Monday 0 … Sunday 6
	return d.AddDate(0, 0, -back)
}

// nextMonthly: the day of the start's month, then every Every months, the
// first on or after Start and after after.
func (s *Schedule) nextMonthly(after time.Time) time.Time {
	for k := 0; ; k += s.Every {
		first := date(s.Start.Year(), s.Start.Month(), 1).AddDate(0, k, 0)
		last := first.AddDate(0, 1, -1).Day()
		day := s.DayOfMonth
		if day == LastDay || day > last {
			day = last
		}
		d := date(first.Year(), first.Month(), day)
		if !d.Before(s.Start) && d.After(after) {
			return d
		}
	}
}
