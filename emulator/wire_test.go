package emulator

import (
	"reflect"
	"testing"
)

// TestWireTypesMatch: a snapshot file's form of a type has exactly the
// fields of the type and of its rarely set part, by name and type, so
// that nothing is lost on the way to the file and back.
func TestWireTypesMatch(t *testing.T) {
	for _, c := range []struct {
		mem, extra, wire any
		derived          map[string]reflect.Type // kept otherwise than as a field
	}{
		{Charge{}, chargeExtra{}, chargeWire{}, nil},
		{PaymentIntent{}, piExtra{}, piWire{}, nil},
		{Event{}, eventRequest{}, eventWire{}, map[string]reflect.Type{"Type": reflect.TypeFor[string]()}},
	} {
		have := map[string]reflect.Type{}
		for name, typ := range c.derived {
			have[name] = typ
		}
		for _, v := range []any{c.mem, c.extra} {
			tv := reflect.TypeOf(v)
			for i := range tv.NumField() {
				if f := tv.Field(i); f.IsExported() {
					if _, dup := have[f.Name]; dup {
						t.Errorf("%s: field %s twice", tv, f.Name)
					}
					have[f.Name] = f.Type
				}
			}
		}
		tw := reflect.TypeOf(c.wire)
		for i := range tw.NumField() {
			f := tw.Field(i)
			if typ, ok := have[f.Name]; !ok || typ != f.Type {
				t.Errorf("%s.%s (%s): %s has %v", tw, f.Name, f.Type, reflect.TypeOf(c.mem), typ)
			}
			delete(have, f.Name)
		}
		for name := range have {
			t.Errorf("%s.%s is not in %s", reflect.TypeOf(c.mem), name, tw)
		}
	}
}

// TestWireRoundTrip: an object with every field set comes back from its
// snapshot form equal.
func TestWireRoundTrip(t *testing.T) {
	ch := &Charge{Meta: Meta{ID: "ch_1", Acct: "acct_1", Created: 1}, Amount: 1, AmountCaptured: 2, AmountRefunded: 3,
		Currency: "usd", Status: ChargeSucceeded, PaymentIntent: "pi_1", PaymentMethod: "pm_1", BalanceTxn: "txn_1",
		AvailableOn: 4, Captured: true}
	ch.setExtra(chargeExtra{Customer: "cus_1", Description: "d", Metadata: Metadata{{"k", "v"}}, FailureCode: "f",
		FailureMessage: "m", DeclineCode: "dc", AppFee: "fee_1", AppFeeAmount: 5, Transfer: "tr_1", TransferDest: "acct_2",
		TransferAmount: 6, OnBehalfOf: "acct_3", TransferGroup: "g", SourceTransfer: "tr_2", Transferred: 7,
		Dispute: "du_1", DisputeDue: 8, HasAppFee: true, HasTransferAmt: true})
	e := &Event{Meta: Meta{ID: "evt_1", Acct: "acct_1", Created: 9}, typ: eventTypeID("charge.succeeded"), Snapshot: ch,
		Pending: 2, Connected: true, req: &eventRequest{ReqID: "req_1", IdemKey: "k", Before: &Account{Meta: Meta{ID: "acct_1"}}}}
	back := fromWire(toWire(e)).(*Event)
	if back == e {
		t.Fatal("toWire changed the live event")
	}
	if got := back.Snapshot.(*Charge); !reflect.DeepEqual(got, ch) {
		t.Errorf("round trip:\n%+v %+v\nwant\n%+v %+v", got, got.x, ch, ch.x)
	}
	back.Snapshot = ch
	if !reflect.DeepEqual(back, e) || back.Type() != "charge.succeeded" {
		t.Errorf("round trip:\n%+v %+v\nwant\n%+v %+v", back, back.req, e, e.req)
	}
	if e.Snapshot != object(ch) {
		t.Error("toWire changed the live event's record")
	}

	pi := &PaymentIntent{Meta: Meta{ID: "pi_1", Acct: "acct_1", Created: 1}, Amount: 1, AmountCapturable: 2,
		AmountReceived: 3, Currency: "usd", Status: PISucceeded, CaptureMethod: "manual", ConfirmationMethod: "manual",
		PaymentMethod: "pm_1", LatestCharge: "ch_1", Secret: "pi_1_secret_x", ActionURL: "http://h", Authenticated: true}
	pi.setExtra(piExtra{Customer: "cus_1", Description: "d", Metadata: Metadata{{"k", "v"}}, AppFeeAmount: 4,
		TransferDest: "acct_2", TransferAmount: 5, OnBehalfOf: "acct_2", TransferGroup: "g",
		LastError: &lastError{Code: "card_declined"}, SetupFutureUsage: "off_session", ReceiptEmail: "r@x",
		ReturnURL: "https://x", CanceledAt: 6, CancelReason: "duplicate", HasAppFee: true, HasTransferAmt: true})
	if got := fromWire(toWire(pi)).(*PaymentIntent); !reflect.DeepEqual(got, pi) {
		t.Errorf("round trip:\n%+v %+v\nwant\n%+v %+v", got, got.x, pi, pi.x)
	}
}

// TestIdemScopeString: a snapshot's key of a stored response reads back,
// whatever the idempotency key holds.
func TestIdemScopeString(t *testing.T) {
	for _, k := range []idemScope{{"acct_1", "acct_1", "k"}, {"acct_1", "acct_2", "a/b/c"}, {"acct_1", "acct_1", ""}} {
		if got := parseIdemScope(k.String()); got != k {
			t.Errorf("parseIdemScope(%q) = %+v, want %+v", k.String(), got, k)
		}
	}
}
