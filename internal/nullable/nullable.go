// Package nullable turns Go's zero values into the nulls of Tender's JSON:
// the API shows an unset string or time as null, never as "" or
// 0001-01-01, so that clients can tell "not set" from a value.
package nullable

import "time"

// String returns nil for "", else a pointer to s.
func String(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Time returns nil for the zero time, else a pointer to t.
func Time(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
