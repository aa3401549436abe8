package platform_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/secret"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

const (
	testSecretKey = "sk_test_51AbCdEfGhIjKlMnOpQrStUv"
	testHook      = "whsec_0123456789abcdef"
)

func keyring(t *testing.T, current string, previous ...string) *secret.Keyring {
	t.Helper()
	k, err := secret.ParseKeyring(current, previous)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ptr[T any](v T) *T { return &v }

func TestStripeSettingsAreSealedAtRest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := platform.NewService(db, time.Now, platform.WithKeys(keyring(t, secret.NewKey())))
		p, err := svc.Create(ctx, "Courses")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Stripe(ctx, p.ID); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("Stripe before any settings: %v, want conflict (not configured)", err)
		}
		set, err := svc.SetStripe(ctx, p.ID, platform.StripeUpdate{
			SecretKey: ptr(testSecretKey), PublishableKey: ptr("pk_test_51AbCdEf"), ClientID: ptr("ca_123"),
			WebhookSecrets: &[]string{testHook},
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.Stripe(ctx, p.ID)
		if err != nil || got.SecretKey != testSecretKey || got.WebhookSecrets[0] != testHook || got.ClientID != "ca_123" || got.Source != platform.StripeFromDatabase {
			t.Fatalf("Stripe = %+v, %v; want what was set (%v)", got, err, set)
		}
		if s := got.String(); strings.Contains(s, testSecretKey) || strings.Contains(s, testHook) {
			t.Fatalf("String() shows a secret: %s", s)
		}

		// The raw row holds neither secret in clear.
		var row string
		if err := db.QueryRowContext(ctx, `SELECT secret_key_sealed || ' ' || secret_key_hint || ' ' || webhook_secrets_sealed FROM platform_stripe WHERE platform_id = $1`, p.ID).Scan(&row); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(row, testSecretKey) || strings.Contains(row, "0123456789abcdef") || strings.Contains(row, "AbCdEfGhIjKl") {
			t.Fatalf("a secret is stored in clear: %s", row)
		}

		// Partial updates keep the rest; a sealed key copied to another
		// platform's row does not open there.
		if _, err := svc.SetStripe(ctx, p.ID, platform.StripeUpdate{ClientID: ptr("ca_456")}); err != nil {
			t.Fatal(err)
		}
		if got, _ := svc.Stripe(ctx, p.ID); got.SecretKey != testSecretKey || got.ClientID != "ca_456" {
			t.Fatalf("after a partial update: %+v", got)
		}
		other, _ := svc.Create(ctx, "Other")
		if _, err := db.ExecContext(ctx, `INSERT INTO platform_stripe (platform_id, secret_key_sealed, secret_key_hint, updated_at)
			SELECT $1, secret_key_sealed, secret_key_hint, updated_at FROM platform_stripe WHERE platform_id = $2`, other.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Stripe(ctx, other.ID); !errors.Is(err, secret.ErrCorrupt) {
			t.Fatalf("a secret moved to another platform opened: %v", err)
		}
	})
}

func TestStripeSettingsRejectBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := platform.NewService(db, time.Now, platform.WithKeys(keyring(t, secret.NewKey())))
		p, _ := svc.Create(ctx, "Donations")
		for _, tc := range []struct {
			u     platform.StripeUpdate
			param string
		}{
			{platform.StripeUpdate{PublishableKey: ptr("pk_test_x")}, "secret_key"},
			{platform.StripeUpdate{SecretKey: ptr("pk_test_51AbCdEfGhIjKlMn")}, "secret_key"},
			{platform.StripeUpdate{SecretKey: ptr("sk_test_1")}, "secret_key"},
			{platform.StripeUpdate{SecretKey: ptr(testSecretKey), PublishableKey: ptr("pk_live_51AbCdEf")}, "publishable_key"},
			{platform.StripeUpdate{SecretKey: ptr(testSecretKey), ClientID: ptr("acct_123")}, "client_id"},
			{platform.StripeUpdate{SecretKey: ptr(testSecretKey), WebhookSecrets: &[]string{testHook, "secret"}}, "webhook_secrets[1]"},
			{platform.StripeUpdate{SecretKey: ptr(testSecretKey), APIBase: ptr("ftp://example.com")}, "api_base"},
			{platform.StripeUpdate{SecretKey: ptr(testSecretKey), ConnectBase: ptr("localhost:12111")}, "connect_base"},
		} {
			_, err := svc.SetStripe(ctx, p.ID, tc.u)
			if e := errs.As(err); e.Code != errs.Invalid || e.Param != tc.param {
				t.Errorf("SetStripe(%+v) = %v; want invalid %s", tc.u, err, tc.param)
			}
		}
		if _, err := svc.Stripe(ctx, p.ID); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("bad input stored something: %v", err)
		}
	})
}

func TestStripeSettingsSurviveKeyRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		oldKey, newKey := secret.NewKey(), secret.NewKey()
		p, _ := platform.NewService(db, time.Now).Create(ctx, "Food hub")
		before := platform.NewService(db, time.Now, platform.WithKeys(keyring(t, oldKey)))
		if _, err := before.SetStripe(ctx, p.ID, platform.StripeUpdate{SecretKey: ptr(testSecretKey), WebhookSecrets: &[]string{testHook}}); err != nil {
			t.Fatal(err)
		}

		// The new key alone cannot open what the old one sealed.
		if _, err := platform.NewService(db, time.Now, platform.WithKeys(keyring(t, newKey))).Stripe(ctx, p.ID); !errors.Is(err, secret.ErrNoKey) {
			t.Fatalf("opened with the wrong key: %v", err)
		}
		// With the old key as previous, it can; resealing moves everything
		// to the new key, after which the old one can be dropped.
		rotating := platform.NewService(db, time.Now, platform.WithKeys(keyring(t, newKey, oldKey)))
		if n, err := rotating.ResealStripe(ctx); err != nil || n != 1 {
			t.Fatalf("ResealStripe = %d, %v; want 1", n, err)
		}
		if n, err := rotating.ResealStripe(ctx); err != nil || n != 0 {
			t.Fatalf("second ResealStripe = %d, %v; want 0", n, err)
		}
		after := platform.NewService(db, time.Now, platform.WithKeys(keyring(t, newKey)))
		if got, err := after.Stripe(ctx, p.ID); err != nil || got.SecretKey != testSecretKey || got.WebhookSecrets[0] != testHook {
			t.Fatalf("after rotation: %+v, %v", got, err)
		}
	})
}

func TestDefaultPlatformStripeComesFromConfiguration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		env := &platform.Stripe{SecretKey: testSecretKey, Source: platform.StripeFromEnvironment}
		svc := platform.NewService(db, time.Now, platform.WithKeys(keyring(t, secret.NewKey())), platform.WithDefaultStripe(env))
		def, _, _, err := svc.EnsureDefault(ctx, "Default")
		if err != nil {
			t.Fatal(err)
		}
		env.SecretKey = "changed after the fact"
		if got, err := svc.Stripe(ctx, def.ID); err != nil || got.SecretKey != testSecretKey || got.Source != platform.StripeFromEnvironment {
			t.Fatalf("default platform's Stripe = %+v, %v", got, err)
		}
		if _, err := svc.SetStripe(ctx, def.ID, platform.StripeUpdate{ClientID: ptr("ca_1")}); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("changing environment settings through the API: %v, want conflict", err)
		}
		other, _ := svc.Create(ctx, "Other")
		if _, err := svc.Stripe(ctx, other.ID); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("another platform inherited the default's settings: %v", err)
		}
	})
}

func TestStripeSettingsNeedAMasterKey(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	svc := platform.NewService(db, time.Now)
	p, _ := svc.Create(ctx, "No key")
	if _, err := svc.SetStripe(ctx, p.ID, platform.StripeUpdate{SecretKey: ptr(testSecretKey)}); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("SetStripe with no master key: %v, want conflict", err)
	}
}
