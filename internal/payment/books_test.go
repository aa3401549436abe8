package payment_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// TestBooksByChargeType: one payment of each charge type, captured in
// full or in part, with refunds, the platform bearing Stripe's fee on a
// direct charge and a transfer refused: after each step the books
// balance and equal Stripe's balances, and their entries are the chart's.
func TestBooksByChargeType(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		m, other, gone := f.merchant("Cooper"), f.merchant("Chandler"), f.merchant("Tanner")
		accounts := map[string]string{m.ID: *m.Connection.AccountID, other.ID: *other.Connection.AccountID, gone.ID: *gone.Connection.AccountID}
		c := f.customer()
		f.saveCard(c.ID, "pm_card_visa")
		f.Post("/v1/fee_policy", `{"rules":{"usd":{"basis_points":500}},"stripe_fee_payer":"platform"}`, 200, nil)
		f.CheckBooks(accounts)

		direct := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 2000, "currency": "usd"})
		if err := f.App.Payments.CoverStripeFee(ctx, f.PlatformID, direct.ID); err != nil {
			t.Fatal(err)
		}
		f.CheckBooks(accounts)
		dest := f.paid(map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 3000, "currency": "usd", "charge_type": "destination"})
		f.CheckBooks(accounts)

		var sep payment.View
		f.Post("/v1/payments", map[string]any{"merchant": m.ID, "customer": c.ID, "amount": 1000, "currency": "usd", "application_fee": 100,
			"splits": []map[string]any{{"merchant": m.ID, "amount": 500}, {"merchant": other.ID, "amount": 300}, {"merchant": gone.ID, "amount": 200}}}, 200, &sep)
		if err := f.process(sep.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sc.V1Accounts.Delete(ctx, *gone.Connection.AccountID, nil); err != nil {
			t.Fatal(err)
		}
		delete(accounts, gone.ID) // Stripe shows no balance for a deleted account
		if err := f.transfer(sep.ID); err != nil {
			t.Fatal(err)
		}
		f.CheckBooks(accounts)

		authorized := f.authorize(m.ID, c.ID, "direct", 1500)
		f.Post("/v1/payments/"+authorized.ID+"/capture", `{"amount_to_capture":1100}`, 200, nil)
		canceled := f.authorize(m.ID, c.ID, "destination", 900)
		f.Post("/v1/payments/"+canceled.ID+"/cancel", nil, 200, nil)
		f.CheckBooks(accounts)

		if err := f.App.Payments.CoverStripeFee(ctx, f.PlatformID, authorized.ID); err != nil {
			t.Fatal(err)
		}
		for _, p := range []payment.View{direct, dest, sep, authorized} {
			f.refund(p.ID, map[string]any{"amount": 333})
		}
		f.CheckBooks(accounts)

		kinds := map[string]int{}
		var entries struct {
			Data    []ledger.EntryView `json:"data"`
			HasMore bool               `json:"has_more"`
		}
		f.Do("GET", "/v1/ledger/entries?limit=100", nil).Decode(t, &entries)
		for _, e := range entries.Data {
			kinds[string(e.Kind)]++
		}
		// 4 charges (the canceled authorization took nothing), each with
		// its fees (and the destination charge's transfer) in it; the two
		// direct charges' Stripe fees covered; 2 transfers of the
		// separate charge paid (one refused); 4 refunds, the fee refunds of the two that kept a fee
		// (the direct one, whose Stripe fee was covered in full out of
		// the fee, kept none), the destination's reversal and the
		// separate charge's two.
		want := map[string]int{"charge": 4, "stripe_fee_cover": 2, "transfer": 2, "refund": 4, "application_fee_refund": 2, "transfer_reversal": 3}
		if fmt.Sprint(kinds) != fmt.Sprint(want) {
			t.Errorf("entries by kind %v, want %v", kinds, want)
		}
	})
}

// TestBooksProperty: seeded random sequences of payments of all three
// charge types (some captured later, in part, some canceled), partial
// refunds, transfers refused by a deleted account, and a crash at any
// operation step (each rerun with a chance of Stripe's key window having
// passed): afterwards every entry balances, no cause is posted twice, and
// the ledger's balance of the platform and of every connected account
// equals Stripe's to the unit.
func TestBooksProperty(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed_", seed), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) { booksProperty(t, db, seed) })
		})
	}
}

func booksProperty(t *testing.T, db *store.DB, seed uint64) {
	f := newFixture(t, db)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 15))
	accounts := map[string]string{}
	var merchants []string
	for i := range 3 {
		m := f.merchant(fmt.Sprint("Stall ", i))
		merchants, accounts[m.ID] = append(merchants, m.ID), *m.Connection.AccountID
	}
	doomed := f.merchant("Doomed") // its account is deleted before its transfers
	c := f.customer()
	f.saveCard(c.ID, "pm_card_visa")
	payer := []string{"merchant", "platform"}[rng.IntN(2)]
	f.Post("/v1/fee_policy", fmt.Sprintf(`{"rules":{"usd":{"basis_points":%d,"fixed":%d}},"stripe_fee_payer":%q}`, 100+rng.IntN(900), rng.IntN(50), payer), 200, nil)

	// The crash points of a request run in the server's goroutine: the
	// dice and the count are shared under a lock.
	var mu sync.Mutex
	crashes := 0
	roll := func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		return rng.IntN(n)
	}
	payment.SetCrashFunc(f.App.Payments, func(string, string) error {
		mu.Lock()
		defer mu.Unlock()
		if rng.IntN(5) == 0 {
			crashes++
			return errors.New("simulated crash")
		}
		return nil
	})
	// run reruns a job until it is done, as River would, sometimes after
	// Stripe's key window has passed.
	run := func(job func() error) {
		t.Helper()
		for i := 0; ; i++ {
			err := job()
			if err == nil {
				return
			}
			if i == 40 {
				t.Fatalf("not done after 40 runs: %v", err)
			}
			if roll(4) == 0 {
				f.Emulator.Advance(25 * time.Hour)
			}
		}
	}
	// request is a platform calling again until it gets its answer: a
	// crash in the request is a 500 (the process died before answering).
	request := func(path string, body any) {
		t.Helper()
		for i := 0; ; i++ {
			r := f.Do("POST", path, body)
			if r.Status == http.StatusOK {
				return
			}
			if i == 40 || r.Status != http.StatusInternalServerError && r.Status != http.StatusServiceUnavailable {
				t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
			}
		}
	}
	var succeeded []payment.View
	var separate []string
	for i := range 14 {
		m := merchants[roll(len(merchants))]
		body := map[string]any{"merchant": m, "customer": c.ID, "amount": 500 + roll(5000), "currency": "usd"}
		kind := roll(3)
		switch kind {
		case 1:
			body["charge_type"] = "destination"
		case 2:
			amount := body["amount"].(int)
			first := 1 + roll(amount-1)
			second := merchants[(roll(len(merchants)-1)+1+indexOf(merchants, m))%len(merchants)]
			if i%4 == 2 {
				second = doomed.ID
			}
			body["splits"] = []map[string]any{{"merchant": m, "amount": first}, {"merchant": second, "amount": amount - first}}
		}
		manual := roll(3) == 0
		if manual {
			body["capture"] = "manual"
		}
		var p payment.View
		f.Post("/v1/payments", body, 200, &p)
		run(func() error { return f.process(p.ID) })
		if manual {
			switch roll(3) {
			case 0:
				request("/v1/payments/"+p.ID+"/cancel", nil)
				continue
			case 1:
				request("/v1/payments/"+p.ID+"/capture", map[string]any{"amount_to_capture": 1 + roll(int(p.Amount))})
			default:
				request("/v1/payments/"+p.ID+"/capture", nil)
			}
		}
		if kind == 2 {
			separate = append(separate, p.ID)
		} else {
			succeeded = append(succeeded, f.payment(p.ID))
		}
	}
	if _, err := f.sc.V1Accounts.Delete(ctx, *doomed.Connection.AccountID, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range separate {
		run(func() error { return f.transfer(id) })
		succeeded = append(succeeded, f.payment(id))
	}
	for _, p := range succeeded {
		run(func() error { return f.App.Payments.CoverStripeFee(ctx, f.PlatformID, p.ID) })
		for range roll(3) {
			left := f.payment(p.ID)
			if rest := left.AmountCaptured - left.AmountRefunded; rest > 0 {
				var r payment.RefundView
				f.Post("/v1/payments/"+p.ID+"/refunds", map[string]any{"amount": 1 + int64(roll(int(rest)))}, 200, &r)
				run(func() error { return f.App.Payments.ProcessRefund(ctx, f.PlatformID, r.ID) })
			}
		}
	}
	payment.SetCrashFunc(f.App.Payments, nil)
	mu.Lock()
	defer mu.Unlock()
	if crashes == 0 {
		t.Fatal("no crash was simulated")
	}
	t.Logf("seed %d: %d payments settled, %d crashes", seed, len(succeeded), crashes)
	f.CheckBooks(accounts)
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
