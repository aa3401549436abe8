package emulator

import (
	"math/rand/v2"
)

// Meta is what every stored object has: its id, the account that owns it
// and its creation time (unix seconds).
type Meta struct {
	ID      string
	Acct    string
	Created int64
}

func (m *Meta) meta() *Meta { return m }

// object is a stored Stripe object.
type object interface {
	meta() *Meta
	// render builds the object's JSON as the API returns it.
	render(st *state) obj
}

// listKey names one account's list of one kind of object, in creation order.
type listKey struct {
	Acct string
	Kind string
}

// state is all of the emulator's data. It is guarded by Server.mu.
type state struct {
	// Objects finds every object but events by id (index.go).
	Objects *index
	Lists   map[listKey][]object
	// Events are kept in creation order across accounts.
	Events []*Event
	rng    *rand.Rand
	// src is rng's source, kept so a snapshot can save and restore the
	// generator's position and ids never repeat across restarts.
	src *rand.PCG
	// sched is the work due as time passes; see scheduler.go.
	sched *schedule
	// now is the emulator clock in unix seconds, for rendering statuses
	// that depend on time (balance transactions).
	now func() int64
	// oauthSt holds Connect OAuth codes and tokens and account links; see
	// state.oauth.
	oauthSt *oauthState
	// interned holds strings many objects share, such as the base URL of
	// requests; see intern.
	interned map[string]string
	// versionCheck, in tests only, holds a copy of every version an event
	// shares with the store; see version.go.
	versionCheck map[*Event]object
	// copied lists the events touch gave a copy since the last commit, for
	// compact.
	copied []copiedVersion
}

func newState(seed uint64, clk *clock) *state {
	src := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	st := &state{
		now:     func() int64 { return clk.now().Unix() },
		Objects: newIndex(),
		Lists:   map[listKey][]object{},
		rng:     rand.New(src),
		src:     src,
		sched:   newSchedule(clk.now().Unix()),
	}
	if checkVersions {
		st.versionCheck = map[*Event]object{}
	}
	return st
}

const idChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID makes a Stripe-shaped id: prefix, underscore, 24 characters.
func (st *state) newID(prefix string) string {
	return prefix + "_" + st.randString(24)
}

// intern returns s, or an equal string returned before, so that objects
// storing it share one copy. It keeps at most 64 strings: enough for the
// hosts one emulator is reached by, bounded whatever requests name.
func (st *state) intern(s string) string {
	if v, ok := st.interned[s]; ok {
		return v
	}
	if st.interned == nil {
		st.interned = map[string]string{}
	}
	if len(st.interned) < 64 {
		st.interned[s] = s
	}
	return s
}

func (st *state) randString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idChars[st.rng.IntN(len(idChars))]
	}
	return string(b)
}

// kindOf names an object's list; it is the object's "object" value.
func kindOf(o object) string {
	switch o.(type) {
	case *Account:
		return "account"
	case *Customer:
		return "customer"
	case *PaymentMethod:
		return "payment_method"
	case *SetupIntent:
		return "setup_intent"
	case *PaymentIntent:
		return "payment_intent"
	case *Charge:
		return "charge"
	case *Refund:
		return "refund"
	case *Transfer:
		return "transfer"
	case *TransferReversal:
		return "transfer_reversal"
	case *ApplicationFee:
		return "application_fee"
	case *FeeRefund:
		return "fee_refund"
	case *BalanceTransaction:
		return "balance_transaction"
	case *WebhookEndpoint:
		return "webhook_endpoint"
	case *Event:
		return "event"
	case *Dispute:
		return "dispute"
	case *Payout:
		return "payout"
	case *BankAccount:
		return "bank_account"
	}
	return "unknown"
}

// put stores a new object and appends it to its account's list. Events
// stay out of the id index: they are most of the objects (three for a
// confirmed payment), nothing refers to them by id, and the rare
// GET /v1/events/{id} finds one in its account's list (see findEvent).
func (st *state) put(o object) {
	m := o.meta()
	if _, isEvent := o.(*Event); !isEvent {
		st.Objects.set(o)
	}
	k := listKey{m.Acct, kindOf(o)}
	st.Lists[k] = append(st.Lists[k], o)
}

// get finds an object of type T owned by acct. Objects of other accounts are
// reported missing, exactly like ids that never existed.
func get[T object](st *state, acct, id, kind, param string) (T, *Error) {
	var zero T
	o, ok := st.Objects.lookup(id)
	if !ok || o.meta().Acct != acct {
		return zero, noSuch(kind, param, id)
	}
	t, ok := o.(T)
	if !ok {
		return zero, noSuch(kind, param, id)
	}
	return t, nil
}
