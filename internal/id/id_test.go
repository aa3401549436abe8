package id

import (
	"testing"
	"time"
)

func TestNewIsTimeOrderedAndWellFormed(t *testing.T) {
	var g generator
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	a := g.next(APIKey, t0)
	b := g.next(APIKey, t0.Add(time.Millisecond))
	if !(a < b) || a[:14] == b[:14] {
		t.Fatalf("ids not ordered by time: %s !< %s", a, b)
	}
	if !HasPrefix(a, APIKey) || HasPrefix(a, Platform) || HasPrefix("key_short", APIKey) {
		t.Fatalf("HasPrefix wrong for %s", a)
	}
}

func TestNewIsStrictlyIncreasing(t *testing.T) {
	prev := ""
	for range 100000 {
		s := New(Platform)
		if s <= prev {
			t.Fatalf("%s after %s: not increasing", s, prev)
		}
		prev = s
	}
}

func TestSameMillisecondAndClockStepBack(t *testing.T) {
	var g generator
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	a := g.next(Platform, t0)
	b := g.next(Platform, t0)
	c := g.next(Platform, t0.Add(-time.Second)) // NTP stepped the clock back
	if !(a < b && b < c) {
		t.Fatalf("not increasing: %s %s %s", a, b, c)
	}
	if a[:14] != c[:14] {
		t.Fatalf("clock step back changed the time part: %s then %s", a, c)
	}
}

func TestOverflowMovesToTheNextMillisecond(t *testing.T) {
	var g generator
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	a := g.next(Platform, t0)
	for i := range g.rnd {
		g.rnd[i] = 31
	}
	b := g.next(Platform, t0)
	if !(a < b) || a[:14] == b[:14] {
		t.Fatalf("overflow: %s then %s", a, b)
	}
}

func TestValid(t *testing.T) {
	good := New("mer")
	for s, want := range map[string]bool{
		good:                         true,
		"pay" + good[3:]:             false, // another type
		good[:len(good)-1]:           false,
		good + "0":                   false,
		good[:6] + "\x00" + good[7:]: false,
		good[:6] + "I" + good[7:]:    false, // upper case, and not in Crockford's alphabet
		good[:6] + "u" + good[7:]:    false, // not in Crockford's alphabet
		"mer_":                       false,
		"":                           false,
	} {
		if got := Valid(s, "mer"); got != want {
			t.Errorf("Valid(%q) = %v, want %v", s, got, want)
		}
	}
}
