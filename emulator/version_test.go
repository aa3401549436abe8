package emulator

import "testing"

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
