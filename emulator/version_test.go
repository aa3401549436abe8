package emulator

import (
	"reflect"
	"testing"
)

// The package's tests check that every change to a versioned object
// touches it first; see version.go.
func init() { checkVersions = true }

// SetCheckVersions turns the check of versioned objects on or off for the
// servers made afterwards; benchmarks turn it off to measure what a real
// server keeps. It returns the previous setting.
func SetCheckVersions(on bool) bool {
	was := checkVersions
	checkVersions = on
	return was
}

func TestTouchKeepsTheRecordedVersion(t *testing.T) {
	st := newState(1, newClock(nil))
	c := &call{st: st, now: 1}
	pi := &PaymentIntent{Meta: Meta{ID: "pi_1", Acct: "acct_1"}, Status: PIRequiresConfirmation}
	st.put(pi)
	c.emit("payment_intent.created", pi)
	created := c.events[0]
	if created.Snapshot != object(pi) {
		t.Fatal("the event copied an intent that no other event holds")
	}
	c.touch(pi)
	pi.Status = PISucceeded
	c.emit("payment_intent.succeeded", pi)
	if got := created.Snapshot.(*PaymentIntent).Status; got != PIRequiresConfirmation {
		t.Errorf("payment_intent.created shows status %s after the intent changed", got)
	}
	if c.events[1].Snapshot != object(pi) {
		t.Error("payment_intent.succeeded does not share the live intent")
	}
	st.verifyVersions()
}

func TestVersionCheckCatchesAChangeWithoutTouch(t *testing.T) {
	st := newState(1, newClock(nil))
	c := &call{st: st, now: 1}
	ch := &Charge{Meta: Meta{ID: "ch_1", Acct: "acct_1"}, Amount: 2000}
	st.put(ch)
	c.emit("charge.succeeded", ch)
	ch.AmountRefunded = 2000 // no touch
	defer func() {
		if recover() == nil {
			t.Error("verifyVersions accepted a change made without touch")
		}
	}()
	st.verifyVersions()
}

// TestDeltas: a copy made by touch becomes a delta against the version a
// later event holds, and rebuilds to what it was, down a chain of them.
func TestDeltas(t *testing.T) {
	st := newState(1, newClock(nil))
	c := &call{st: st, now: 1}
	pi := &PaymentIntent{Meta: Meta{ID: "pi_1", Acct: "acct_1"}, Status: PIRequiresCapture, AmountCapturable: 500}
	pi.setExtra(piExtra{Metadata: Metadata{{"k", "v"}}, LastError: &lastError{Code: "card_declined"}})
	st.put(pi)
	var want []PaymentIntent
	step := func(typ string, change func()) {
		c.touch(pi)
		change()
		c.emit(typ, pi)
		want = append(want, *pi)
		st.compact()
	}
	c.emit("payment_intent.amount_capturable_updated", pi)
	want = append(want, *pi)
	step("payment_intent.succeeded", func() {
		pi.Status, pi.AmountCapturable, pi.AmountReceived = PISucceeded, 0, 500
		pi.edit().LastError = nil
	})
	step("payment_intent.updated", func() {
		x := pi.edit()
		x.Metadata, x.Description = nil, "later"
	})
	for i, e := range c.events[:2] {
		if _, ok := e.Snapshot.(*delta); !ok {
			t.Errorf("event %d holds a %T, want a delta", i, e.Snapshot)
		}
	}
	for i, e := range c.events {
		got := *materialize(e.Snapshot).(*PaymentIntent)
		got.cow, want[i].cow = cow{}, cow{}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("event %d rebuilds to\n%+v\nwant\n%+v", i, got, want[i])
		}
		if e.Snapshot.meta().ID != "pi_1" {
			t.Errorf("event %d: meta %+v", i, e.Snapshot.meta())
		}
	}
	st.verifyVersions()

	// A version that differs in more fields than maxDelta stays a copy.
	step("payment_intent.canceled", func() {
		pi.Amount, pi.Currency, pi.CaptureMethod, pi.ConfirmationMethod = 1, "eur", "manual", "manual"
		pi.AmountCapturable, pi.AmountReceived, pi.Status, pi.PaymentMethod, pi.LatestCharge = 1, 1, PICanceled, "pm_2", "ch_2"
	})
	if _, ok := c.events[2].Snapshot.(*PaymentIntent); !ok {
		t.Errorf("a version far from the next is a %T, want a copy", c.events[2].Snapshot)
	}
	st.verifyVersions()
}
