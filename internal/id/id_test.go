package id

import (
	"testing"
	"time"
)

func TestNewIsTimeOrderedAndWellFormed(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	a := newAt(APIKey, t0)
	b := newAt(APIKey, t0.Add(time.Millisecond))
	if !(a < b) {
		t.Fatalf("ids not ordered by time: %s !< %s", a, b)
	}
	if !HasPrefix(a, APIKey) || HasPrefix(a, Platform) || HasPrefix("key_short", APIKey) {
		t.Fatalf("HasPrefix wrong for %s", a)
	}
	seen := map[string]bool{}
	for range 10000 {
		s := New(Platform)
		if seen[s] {
			t.Fatalf("duplicate id %s", s)
		}
		seen[s] = true
	}
}
