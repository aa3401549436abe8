package store

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// Time is a timestamp stored as BIGINT microseconds since the Unix epoch, in
// UTC. Both databases compare and order it the same way, and it round-trips
// exactly at microsecond precision (PostgreSQL's own precision). The zero Time
// is stored as NULL.
type Time struct{ time.Time }

// TimeOf returns t truncated to microseconds, as the database keeps it.
func TimeOf(t time.Time) Time { return Time{t.UTC().Truncate(time.Microsecond)} }

// Value implements driver.Valuer.
func (t Time) Value() (driver.Value, error) {
	if t.IsZero() {
		return nil, nil
	}
	return t.UnixMicro(), nil
}

// Scan implements sql.Scanner.
func (t *Time) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		t.Time = time.Time{}
	case int64:
		t.Time = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("store.Time: cannot scan %T", src)
	}
	return nil
}

// Ptr returns nil for the zero time, else a pointer to the time: the shape
// JSON encoders want for optional timestamps.
func (t Time) Ptr() *time.Time {
	if t.IsZero() {
		return nil
	}
	v := t.Time
	return &v
}
