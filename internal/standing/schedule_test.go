package standing

import (
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/errs"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// dates lists the first n cycles' dates, or fewer if the schedule ends.
func dates(s *Schedule, n int) []string {
	var out []string
	var prev time.Time
	for seq := 1; seq <= n; seq++ {
		d, ok := s.Next(seq, prev)
		if !ok {
			break
		}
		out = append(out, d.Format(time.DateOnly))
		prev = d
	}
	return out
}

func TestScheduleDates(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    Schedule
		n    int
		want string
	}{
		{"every 3 days", Schedule{Interval: Daily, Every: 3, Start: date(2027, 1, 30)}, 4,
			"2027-01-30 2027-02-02 2027-02-05 2027-02-08"},
		{"weekly on tuesday and friday, starting on a wednesday", Schedule{Interval: Weekly, Every: 1,
			Weekdays: []time.Weekday{time.Tuesday, time.Friday}, Start: date(2027, 3, 3)}, 4,
			"2027-03-05 2027-03-09 2027-03-12 2027-03-16"},
		{"every other week on monday, from a sunday", Schedule{Interval: Weekly, Every: 2,
			Weekdays: []time.Weekday{time.Monday}, Start: date(2027, 3, 7)}, 3,
			// The start's week (from Monday 1 March) counts: its Monday is
			// before the start, so the first is two weeks on.
			"2027-03-15 2027-03-29 2027-04-12"},
		{"monthly on the 31st", Schedule{Interval: Monthly, Every: 1, DayOfMonth: 31, Start: date(2027, 1, 1)}, 5,
			"2027-01-31 2027-02-28 2027-03-31 2027-04-30 2027-05-31"},
		{"monthly on the last day, a leap year", Schedule{Interval: Monthly, Every: 1, DayOfMonth: LastDay, Start: date(2028, 1, 15)}, 3,
			"2028-01-31 2028-02-29 2028-03-31"},
		{"quarterly on the 15th, started after it", Schedule{Interval: Monthly, Every: 3, DayOfMonth: 15, Start: date(2027, 1, 20)}, 3,
			"2027-04-15 2027-07-15 2027-10-15"},
		{"count", Schedule{Interval: Daily, Every: 1, Start: date(2027, 1, 1), Count: 2}, 5, "2027-01-01 2027-01-02"},
		{"end date, inclusive", Schedule{Interval: Weekly, Every: 1, Weekdays: []time.Weekday{time.Friday},
			Start: date(2027, 1, 1), End: date(2027, 1, 15)}, 5, "2027-01-01 2027-01-08 2027-01-15"},
		{"a year end", Schedule{Interval: Weekly, Every: 1, Weekdays: []time.Weekday{time.Thursday}, Start: date(2027, 12, 20)}, 3,
			"2027-12-23 2027-12-30 2028-01-06"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.validate(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(dates(&tt.s, tt.n), " "); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestScheduleDST: a cycle keeps its wall-clock time across daylight
// saving changes, both ways and on both sides of the world; a time the
// change skips moves on with it.
func TestScheduleDST(t *testing.T) {
	london, sydney, ny := mustLoad(t, "Europe/London"), mustLoad(t, "Australia/Sydney"), mustLoad(t, "America/New_York")
	for _, tt := range []struct {
		loc        *time.Location
		day        time.Time
		hour, min  int
		wantUTC    string
		wantOffset int // hours east of UTC on that day
	}{
		{london, date(2027, 3, 27), 9, 0, "2027-03-27T09:00:00Z", 0},  // the day before clocks go forward
		{london, date(2027, 3, 28), 9, 0, "2027-03-28T08:00:00Z", 1},  // BST
		{london, date(2027, 10, 31), 9, 0, "2027-10-31T09:00:00Z", 0}, // back to GMT
		{sydney, date(2027, 4, 3), 9, 0, "2027-04-02T22:00:00Z", 11},  // AEDT, the day before it ends
		{sydney, date(2027, 4, 4), 9, 0, "2027-04-03T23:00:00Z", 10},  // AEST
		{ny, date(2027, 3, 14), 2, 30, "2027-03-14T07:30:00Z", -4},    // 02:30 does not exist: 03:30 EDT
		{ny, date(2027, 11, 7), 1, 30, "2027-11-07T05:30:00Z", -4},    // 01:30 happens twice: the first, EDT
	} {
		s := Schedule{Hour: tt.hour, Min: tt.min, Location: tt.loc}
		got := s.DueAt(tt.day)
		if got.Format(time.RFC3339) != tt.wantUTC {
			t.Errorf("%s %s %02d:%02d: due %s, want %s", tt.loc, tt.day.Format(time.DateOnly), tt.hour, tt.min, got.Format(time.RFC3339), tt.wantUTC)
		}
		if _, off := got.In(tt.loc).Zone(); off != tt.wantOffset*3600 {
			t.Errorf("%s %s: offset %d, want %dh", tt.loc, tt.day.Format(time.DateOnly), off, tt.wantOffset)
		}
	}
}

// TestScheduleYear: a weekly schedule makes 52 or 53 cycles a year, one a
// week, each seven days after the last, none twice.
func TestScheduleYear(t *testing.T) {
	s := Schedule{Interval: Weekly, Every: 1, Weekdays: []time.Weekday{time.Sunday}, Start: date(2027, 1, 1), End: date(2027, 12, 31)}
	got := dates(&s, 100)
	if len(got) != 52 || got[0] != "2027-01-03" || got[51] != "2027-12-26" {
		t.Fatalf("%d cycles, %s … %s", len(got), got[0], got[len(got)-1])
	}
}

func TestScheduleInvalid(t *testing.T) {
	for _, tt := range []struct {
		s     Schedule
		field string
	}{
		{Schedule{Interval: "year", Every: 1}, "schedule[interval]"},
		{Schedule{Interval: Daily, Every: 0}, "schedule[every]"},
		{Schedule{Interval: Weekly, Every: 1}, "schedule[weekdays]"},
		{Schedule{Interval: Daily, Every: 1, Weekdays: []time.Weekday{time.Monday}}, "schedule[weekdays]"},
		{Schedule{Interval: Monthly, Every: 1, DayOfMonth: 32}, "schedule[day_of_month]"},
		{Schedule{Interval: Monthly, Every: 1, DayOfMonth: -2}, "schedule[day_of_month]"},
		{Schedule{Interval: Daily, Every: 1, DayOfMonth: 3}, "schedule[day_of_month]"},
		{Schedule{Interval: Daily, Every: 1, Start: date(2027, 2, 1), End: date(2027, 1, 1)}, "end_date"},
	} {
		err := tt.s.validate()
		if e := errs.As(err); e == nil || e.Param != tt.field {
			t.Errorf("%+v: %v, want an error naming %s", tt.s, err, tt.field)
		}
	}
	for _, s := range []string{"9:00", "24:00", "12:60", "noon", "12-30"} {
		if _, _, err := ParseTimeOfDay(s); err == nil {
			t.Errorf("time of day %q accepted", s)
		}
	}
	if _, err := ParseWeekdays([]string{"monday", "funday"}); errs.As(err) == nil || errs.As(err).Param != "schedule[weekdays][1]" {
		t.Errorf("a bad weekday: %v", err)
	}
}
