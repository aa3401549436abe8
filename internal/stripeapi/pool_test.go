package stripeapi_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/tenderpay/tender/internal/stripeapi"
)

func TestPool(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := map[string]int{}
	boom := errors.New("no such platform")
	p := &stripeapi.Pool{ConfigFunc: func(_ context.Context, id string) (stripeapi.Config, error) {
		mu.Lock()
		calls[id]++
		mu.Unlock()
		if id == "plt_missing" {
			return stripeapi.Config{}, boom
		}
		return stripeapi.Config{SecretKey: "sk_test_" + id}, nil
	}}

	var wg sync.WaitGroup
	got := make([]*stripeapi.Client, 8)
	for i := range got {
		wg.Go(func() {
			c, err := p.Client(ctx(t), "plt_a")
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		})
	}
	wg.Wait()
	for _, c := range got {
		if c != got[0] {
			t.Fatal("one platform got two Clients")
		}
	}
	b, err := p.Client(ctx(t), "plt_b")
	must(t, err, "client b")
	if b == got[0] {
		t.Fatal("two platforms share a Client")
	}

	p.Forget("plt_a")
	a2, err := p.Client(ctx(t), "plt_a")
	must(t, err, "client after Forget")
	if a2 == got[0] {
		t.Fatal("Forget kept the Client")
	}

	for range 2 {
		if _, err := p.Client(ctx(t), "plt_missing"); !errors.Is(err, boom) {
			t.Fatalf("error %v", err)
		}
	}
	if calls["plt_missing"] != 2 {
		t.Fatalf("a failed lookup was cached: %d calls", calls["plt_missing"])
	}
}
