package platform_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func TestEnsureDefaultCreatesOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := platform.NewService(db, time.Now)
		if _, err := svc.Default(ctx); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("Default before creation: %v, want not_found", err)
		}
		p, key, secret, err := svc.EnsureDefault(ctx, "Food Hub")
		if err != nil || key == nil || !strings.HasPrefix(secret, "tk_test_") || !p.IsDefault {
			t.Fatalf("first EnsureDefault = %+v, %+v, %q, %v", p, key, secret, err)
		}
		again, key2, secret2, err := svc.EnsureDefault(ctx, "Another name")
		if err != nil || again.ID != p.ID || again.Name != "Food Hub" || key2 != nil || secret2 != "" {
			t.Fatalf("second EnsureDefault = %+v, %+v, %q, %v; want the same platform and no new key", again, key2, secret2, err)
		}
		if got, err := svc.Authenticate(ctx, secret); err != nil || got.PlatformID != p.ID || got.KeyID != key.ID {
			t.Fatalf("Authenticate(first key) = %+v, %v", got, err)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
		svc := platform.NewService(db, clk.Now)
		p, err := svc.Create(ctx, "Food Hub")
		if err != nil {
			t.Fatal(err)
		}
		key, secret, err := svc.CreateKey(ctx, p.ID, platform.ModeLive, "server")
		if err != nil || !strings.HasPrefix(secret, "tk_live_") || !strings.HasSuffix(secret, key.Hint[len(key.Hint)-4:]) {
			t.Fatalf("CreateKey = %+v, %q, %v", key, secret, err)
		}
		if strings.Contains(key.Hint, secret[8:len(secret)-4]) {
			t.Fatalf("hint %q reveals the secret", key.Hint)
		}

		for _, tc := range []struct{ name, secret, reason string }{
			{"empty", "", "api_key_invalid"},
			{"other prefix", "sk_test_" + secret[8:], "api_key_invalid"},
			{"too short", secret[:len(secret)-1], "api_key_invalid"},
			{"unknown", secret[:len(secret)-1] + flip(secret[len(secret)-1]), "api_key_invalid"},
		} {
			_, err := svc.Authenticate(ctx, tc.secret)
			e := errs.As(err)
			if e == nil || e.Code != errs.Unauthorized || e.Reason != tc.reason {
				t.Errorf("%s: Authenticate = %v, want unauthorized %s", tc.name, err, tc.reason)
				continue
			}
			if len(tc.secret) > 12 && strings.Contains(e.Message, tc.secret) {
				t.Errorf("%s: message repeats the secret: %s", tc.name, e.Message)
			}
		}

		// last_used_at is written on first use, then at most once a minute.
		if _, err := svc.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
		first := clk.t
		clk.t = clk.t.Add(30 * time.Second)
		if _, err := svc.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if k, _ := svc.GetKey(ctx, p.ID, key.ID); !k.LastUsed.Equal(first) {
			t.Fatalf("last used after 30s = %v, want %v (throttled)", k.LastUsed, first)
		}
		clk.t = clk.t.Add(31 * time.Second)
		if _, err := svc.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if k, _ := svc.GetKey(ctx, p.ID, key.ID); !k.LastUsed.Equal(clk.t) {
			t.Fatalf("last used after 61s = %v, want %v", k.LastUsed, clk.t)
		}

		if _, err := svc.RevokeKey(ctx, p.ID, key.ID); err != nil {
			t.Fatal(err)
		}
		_, err = svc.Authenticate(ctx, secret)
		if e := errs.As(err); e == nil || e.Reason != "api_key_revoked" {
			t.Fatalf("revoked key: %v", err)
		}
	})
}

func TestKeysAreScopedToTheirPlatform(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := platform.NewService(db, time.Now)
		a, _ := svc.Create(ctx, "A")
		b, _ := svc.Create(ctx, "B")
		keyA, secretA, err := svc.CreateKey(ctx, a.ID, platform.ModeTest, "a")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.GetKey(ctx, b.ID, keyA.ID); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("B read A's key: %v", err)
		}
		if _, err := svc.RevokeKey(ctx, b.ID, keyA.ID); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("B revoked A's key: %v", err)
		}
		if keys, _, err := svc.ListKeys(ctx, b.ID, store.Page{Limit: 10}); err != nil || len(keys) != 0 {
			t.Fatalf("B lists %d keys, %v", len(keys), err)
		}
		if p, err := svc.Authenticate(ctx, secretA); err != nil || p.PlatformID != a.ID {
			t.Fatalf("A's key after B's attempts: %+v, %v", p, err)
		}
	})
}

func TestUpdateValidatesAndChangesNothingOnError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := platform.NewService(db, time.Now)
		p, _ := svc.Create(ctx, "Food Hub")
		s := func(v string) *string { return &v }
		got, err := svc.Update(ctx, p.ID, platform.Update{DefaultCurrency: s("EUR"), SupportEmail: s("help@example.com")})
		if err != nil || got.Settings.DefaultCurrency != "eur" || got.Settings.SupportEmail != "help@example.com" {
			t.Fatalf("Update = %+v, %v", got, err)
		}
		for _, tc := range []struct {
			u     platform.Update
			param string
		}{
			{platform.Update{Name: s("New"), DefaultCurrency: s("euro")}, "default_currency"},
			{platform.Update{Name: s("  ")}, "name"},
			{platform.Update{Name: s("New"), SupportEmail: s("nobody")}, "support_email"},
		} {
			_, err := svc.Update(ctx, p.ID, tc.u)
			e := errs.As(err)
			if e == nil || e.Code != errs.Invalid || e.Param != tc.param {
				t.Errorf("Update(%s) = %v, want invalid naming %s", tc.param, err, tc.param)
			}
		}
		after, _ := svc.Get(ctx, p.ID)
		if after.Name != "Food Hub" || after.Settings != got.Settings {
			t.Fatalf("a refused update changed the platform: %+v", after)
		}
		if _, err := svc.Update(ctx, "plt_missing", platform.Update{Name: s("x")}); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("Update(missing) = %v", err)
		}
	})
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"test", "live"} {
		if m, err := platform.ParseMode(s); err != nil || string(m) != s {
			t.Errorf("ParseMode(%q) = %q, %v", s, m, err)
		}
	}
	if _, err := platform.ParseMode("prod"); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("ParseMode(prod) = %v", err)
	}
}

// flip returns another base62 character than c.
func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}
