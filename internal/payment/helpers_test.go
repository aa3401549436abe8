package payment_test

import (
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/store"
)

type fixture struct {
	*apitest.Env
	t     *testing.T
	clock *apitest.Clock
	sc    *stripe.Client // the platform's key at the emulator
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	c := apitest.NewClock(time.Now())
	env := apitest.NewWithEmulator(t, db, app.Config{Now: c.Now}, emulator.Options{})
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{URL: stripe.String(env.EmulatorServer.URL)}),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, &stripe.BackendConfig{URL: stripe.String(env.EmulatorServer.URL)}),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, &stripe.BackendConfig{URL: stripe.String(env.EmulatorServer.URL)}),
	}
	return &fixture{Env: env, t: t, clock: c, sc: stripe.NewClient(emulator.DefaultSecretKey, stripe.WithBackends(backends))}
}

func (f *fixture) post(path string, body any, want int, out any) *apitest.Response {
	f.t.Helper()
	r := f.Do("POST", path, body)
	if r.Status != want {
		f.t.Fatalf("POST %s: %d %s; want %d", path, r.Status, r.Body, want)
	}
	if out != nil {
		r.Decode(f.t, out)
	}
	return r
}

func (f *fixture) unconnectedMerchant(name string) connect.MerchantView {
	f.t.Helper()
	var m connect.MerchantView
	f.post("/v1/merchants", map[string]string{"name": name}, 200, &m)
	return m
}
