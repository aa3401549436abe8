package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

func masterKeys(t *testing.T) *secret.Keyring {
	t.Helper()
	k, err := secret.ParseKeyring(secret.NewKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPlatformStripeSettings: a platform sets its Stripe keys through the
// API; the secrets are never returned, bad input names its field and
// changes nothing, and the response is the same on replay.
func TestPlatformStripeSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		env := apitest.New(t, db, app.Config{MasterKeys: masterKeys(t)})
		if r := env.Do("GET", "/v1/platform/stripe", nil); r.Status != 409 || r.Err().Code != platform.ErrStripeNotConfigured {
			t.Fatalf("GET before setting: %d %s", r.Status, r.Body)
		}
		if r := env.Do("POST", "/v1/platform/stripe", `{"secret_key":"sk_test_51Secret0000","publishable_key":"pk_live_1"}`); r.Status != 400 || r.Err().Param != "publishable_key" {
			t.Fatalf("mixed modes: %d %s", r.Status, r.Body)
		}
		if r := env.Do("POST", "/v1/platform/stripe", `{"secret_key":"sk_test_51Secret0000","color":"red"}`); r.Status != 400 || r.Err().Param != "color" {
			t.Fatalf("unknown field: %d %s", r.Status, r.Body)
		}
		if r := env.Do("GET", "/v1/platform/stripe", nil); r.Status != 409 {
			t.Fatalf("bad input stored something: %d %s", r.Status, r.Body)
		}

		body := `{"secret_key":"sk_test_51Secret0000wxyz","publishable_key":"pk_test_51Pub","client_id":"ca_1","webhook_secrets":["whsec_aaaaaaaaaaaa","whsec_bbbbbbbbbbbb"]}`
		r := env.Do("POST", "/v1/platform/stripe", body, apitest.WithIdempotencyKey("set-stripe"))
		var got struct {
			Source             string `json:"source"`
			WebhookSecretCount int    `json:"webhook_secret_count"`
		}
		r.Decode(t, &got)
		if r.Status != 200 || got.Source != "database" || got.WebhookSecretCount != 2 || strings.Contains(string(r.Body), "Secret0000") || strings.Contains(string(r.Body), "whsec_") {
			t.Fatalf("POST = %d %s", r.Status, r.Body)
		}
		if !strings.Contains(string(r.Body), `"secret_key_hint":"sk_test_…wxyz"`) {
			t.Errorf("no hint of the key: %s", r.Body)
		}
		again := env.Do("POST", "/v1/platform/stripe", body, apitest.WithIdempotencyKey("set-stripe"))
		if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(r.Body) {
			t.Errorf("replay: %s %s", again.Header.Get("Idempotent-Replayed"), again.Body)
		}
		st, err := env.App.Platforms.Stripe(context.Background(), env.PlatformID)
		if err != nil || st.SecretKey != "sk_test_51Secret0000wxyz" {
			t.Fatalf("stored settings: %v, %v", st, err)
		}
		// No secret in clear anywhere in the database's row, nor in the stored
		// idempotent response.
		var row string
		if err := db.QueryRowContext(context.Background(), `SELECT secret_key_sealed || webhook_secrets_sealed FROM platform_stripe`).Scan(&row); err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := db.QueryRowContext(context.Background(), `SELECT response_body FROM idempotency_keys WHERE idempotency_key = 'set-stripe'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{row, stored} {
			if strings.Contains(s, "Secret0000") || strings.Contains(s, "aaaaaaaaaaaa") {
				t.Errorf("a secret is stored in clear: %s", s)
			}
		}
	})
}

// TestPlatformStripeFromConfiguration: the default platform's settings from
// Tender's configuration are shown, and cannot be changed through the API.
func TestPlatformStripeFromConfiguration(t *testing.T) {
	env := apitest.New(t, storetest.SQLite(t), app.Config{MasterKeys: masterKeys(t),
		Stripe: &platform.Stripe{SecretKey: "sk_test_51FromEnv00001234", Source: platform.StripeFromEnvironment}})
	if r := env.Do("GET", "/v1/platform/stripe", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"source":"environment"`) || strings.Contains(string(r.Body), "FromEnv") {
		t.Fatalf("GET = %d %s", r.Status, r.Body)
	}
	if r := env.Do("POST", "/v1/platform/stripe", `{"client_id":"ca_2"}`); r.Status != 409 || r.Err().Code != "stripe_configured_by_environment" {
		t.Fatalf("POST = %d %s", r.Status, r.Body)
	}
}
