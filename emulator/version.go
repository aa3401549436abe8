package emulator

import (
	"fmt"
	"reflect"
)

// An event records its object as it was when the event happened. Copying
// the object for every event was most of the memory a stored payment
// cost: a confirmed PaymentIntent was kept three times (live, in
// payment_intent.created and in payment_intent.succeeded) and its Charge
// twice. The types that make up that bulk are versioned instead: copy on
// write, the other way round.
//
//   - emit lets the event hold the live object itself when no event holds
//     it yet: the event and the store share one version (pin).
//   - Before anything changes a versioned object, touch gives the event
//     that holds it a copy of the version it recorded, and the object is
//     free to change. An object that is never changed again after its
//     last event (most payments and charges) is never copied.
//
// The live object's identity never changes, so the store, its lists and
// the handlers' pointers stay valid; only the holding event's Snapshot
// moves to the copy. The cost is one rule: every change to a PaymentIntent
// or Charge that may have been emitted must be preceded by c.touch. In
// tests, checkVersions (set by the package's tests) verifies at Close and
// Reset that every event still shows the version it recorded, so a change
// that forgot to touch fails the suite.
//
// Types that are not versioned keep a copy per event (snapshot).

// cow is embedded in versioned types. It is unexported, so snapshots
// (gob) do not see it.
type cow struct {
	// holder is the event whose Snapshot is this very object, whose
	// current version is therefore also a record of the past.
	holder *Event
}

func (v *cow) version() *cow { return v }

// versioned is an object whose versions events share; see above.
type versioned interface {
	object
	version() *cow
	// copyVersion returns a shallow copy, held by no event. Slices inside
	// objects are never modified in place, so it is a true copy.
	copyVersion() object
}

func (pi *PaymentIntent) copyVersion() object {
	c := *pi
	c.cow = cow{}
	return &c
}

func (ch *Charge) copyVersion() object {
	c := *ch
	c.cow = cow{}
	return &c
}

// record returns what event e keeps as its record of o: o itself when o is
// versioned and held by no other event, or else a copy.
func (st *state) record(o object, e *Event) object {
	v, ok := o.(versioned)
	if !ok {
		return snapshot(o)
	}
	if v.version().holder != nil { // two events of one version: rare
		return v.copyVersion()
	}
	v.version().holder = e
	if st.versionCheck != nil {
		st.versionCheck[e] = v.copyVersion()
	}
	return o
}

// touch must come before any change to a versioned object that may have
// been emitted: the event holding its current version gets a copy of it.
// Touching an object no event holds costs nothing.
func (c *call) touch(v versioned) { c.st.touch(v) }

func (st *state) touch(v versioned) {
	cw := v.version()
	if cw.holder == nil {
		return
	}
	cw.holder.Snapshot = v.copyVersion()
	cw.holder = nil
}

// checkVersions makes every server keep a copy of each version an event
// shares and compare the two at Close and Reset (see verifyVersions). Only
// tests set it: the copies cost what sharing saves.
var checkVersions bool

// verifyVersions panics if an event no longer shows the version of its
// object that it recorded: some change to a versioned object did not call
// touch first.
func (st *state) verifyVersions() {
	for e, want := range st.versionCheck {
		got := e.Snapshot.(versioned).copyVersion()
		if !reflect.DeepEqual(got, want) {
			panic(fmt.Sprintf("emulator: %s %s changed after event %s (%s) recorded it: a change without touch\nrecorded %+v\nnow      %+v",
				kindOf(got), got.meta().ID, e.ID, e.Type, want, got))
		}
	}
}
