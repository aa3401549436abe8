package platform

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/store"
)

// Mode says whether a key acts on Stripe's test or live mode.
type Mode string

// The modes of an API key; the secret's prefix says which.
const (
	ModeTest Mode = "test"
	ModeLive Mode = "live"
)

// ParseMode accepts "test" or "live".
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case ModeTest, ModeLive:
		return Mode(s), nil
	}
	return "", errs.Invalidf("mode", "mode must be test or live, not %q", s)
}

// APIKey is a secret API key's public record. The secret itself is kept only
// as a SHA-256 hash: a stolen database yields no usable key.
type APIKey struct {
	ID         string
	PlatformID string
	Name       string
	Mode       Mode
	// Hint is the prefix and last four characters, so people can tell keys
	// apart without the secret.
	Hint     string
	Created  time.Time
	LastUsed time.Time // zero if never used
	Revoked  time.Time // zero if active
}

const (
	secretBodyLen = 32
	base62        = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	// lastUsedResolution bounds how often authentication writes: a busy key
	// would otherwise turn every read into a write.
	lastUsedResolution = time.Minute
)

func newSecret(mode Mode) string {
	var b strings.Builder
	b.WriteString("tk_" + string(mode) + "_")
	buf := make([]byte, secretBodyLen)
	for i := 0; i < secretBodyLen; {
		_, _ = rand.Read(buf)
		for _, c := range buf {
			if c < 248 && i < secretBodyLen { // 248 = 4×62: no modulo bias
				b.WriteByte(base62[c%62])
				i++
			}
		}
	}
	return b.String()
}

// wellFormed reports whether s has the shape of a Tender secret key, so
// garbage is refused without a database lookup.
func wellFormed(s string) bool {
	var body string
	switch {
	case strings.HasPrefix(s, "tk_test_"):
		body = s[len("tk_test_"):]
	case strings.HasPrefix(s, "tk_live_"):
		body = s[len("tk_live_"):]
	default:
		return false
	}
	if len(body) != secretBodyLen {
		return false
	}
	for _, c := range body {
		if !strings.ContainsRune(base62, c) {
			return false
		}
	}
	return true
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateKey makes a new API key for the platform and returns its record and
// secret. The secret is shown once and stored only hashed.
func (s *Service) CreateKey(ctx context.Context, platformID string, mode Mode, name string) (*APIKey, string, error) {
	if _, err := ParseMode(string(mode)); err != nil {
		return nil, "", err
	}
	if _, err := s.Get(ctx, platformID); err != nil {
		return nil, "", err
	}
	return s.createKey(ctx, s.db, platformID, mode, name)
}

func (s *Service) createKey(ctx context.Context, q store.Querier, platformID string, mode Mode, name string) (*APIKey, string, error) {
	if len(name) > 200 {
		return nil, "", errs.Invalidf("name", "name must be at most 200 characters")
	}
	secret := newSecret(mode)
	now := store.TimeOf(s.now())
	k := &APIKey{
		ID: id.New(id.APIKey), PlatformID: platformID, Name: name, Mode: mode,
		Hint: secret[:len("tk_test_")] + "…" + secret[len(secret)-4:], Created: now.Time,
	}
	_, err := q.ExecContext(ctx, `INSERT INTO api_keys (platform_id, id, name, mode, hint, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.PlatformID, k.ID, k.Name, string(k.Mode), k.Hint, hashSecret(secret), now)
	if err != nil {
		return nil, "", fmt.Errorf("insert api key: %w", err)
	}
	return k, secret, nil
}

// GetKey returns one of the platform's keys. Returns errs.NotFound if the
// platform has no such key.
func (s *Service) GetKey(ctx context.Context, platformID, keyID string) (*APIKey, error) {
	return scanKey(s.db.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE platform_id = $1 AND id = $2`, platformID, keyID))
}

// ListKeys returns one page of the platform's keys, newest first, and
// whether there are more.
func (s *Service) ListKeys(ctx context.Context, platformID string, page store.Page) ([]*APIKey, bool, error) {
	return store.List(ctx, s.db, page, scanKey, `SELECT `+keyCols+` FROM api_keys WHERE platform_id = $1`, platformID)
}

// RevokeKey revokes one of the platform's keys; revoking twice is harmless.
// Returns errs.NotFound if the platform has no such key.
func (s *Service) RevokeKey(ctx context.Context, platformID, keyID string) (*APIKey, error) {
	now := store.TimeOf(s.now())
	_, err := s.db.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $3 WHERE platform_id = $1 AND id = $2 AND revoked_at IS NULL`,
		platformID, keyID, now)
	if err != nil {
		return nil, err
	}
	return s.GetKey(ctx, platformID, keyID)
}

// Principal is who an authenticated request acts for.
type Principal struct {
	PlatformID string
	KeyID      string
	Mode       Mode
}

// Authenticate finds the active key with this secret. Returns
// errs.Unauthorized if the secret is malformed, unknown or revoked; the
// message never repeats the secret.
func (s *Service) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	if !wellFormed(secret) {
		return nil, errs.E(errs.Unauthorized, "Invalid API key: expected a secret key of the form tk_test_… or tk_live_….").WithReason("api_key_invalid")
	}
	k, err := scanKey(s.db.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE secret_hash = $1`, hashSecret(secret)))
	if errs.Is(err, errs.NotFound) {
		return nil, errs.E(errs.Unauthorized, "Invalid API key provided: %s.", maskSecret(secret)).WithReason("api_key_invalid")
	}
	if err != nil {
		return nil, err
	}
	if !k.Revoked.IsZero() {
		return nil, errs.E(errs.Unauthorized, "This API key (%s) was revoked on %s.", k.Hint, k.Revoked.Format(time.RFC3339)).WithReason("api_key_revoked")
	}
	if now := s.now(); now.Sub(k.LastUsed) >= lastUsedResolution {
		_, err := s.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $3 WHERE platform_id = $1 AND id = $2`, k.PlatformID, k.ID, store.TimeOf(now))
		if err != nil {
			return nil, err
		}
	}
	return &Principal{PlatformID: k.PlatformID, KeyID: k.ID, Mode: k.Mode}, nil
}

// maskSecret shows only enough of a secret to recognise it.
func maskSecret(s string) string {
	if len(s) < 12 {
		return "****"
	}
	return s[:8] + strings.Repeat("*", len(s)-12) + s[len(s)-4:]
}

const keyCols = `platform_id, id, name, mode, hint, created_at, last_used_at, revoked_at`

func scanKey(row store.Scanner) (*APIKey, error) {
	var k APIKey
	var mode string
	var created, lastUsed, revoked store.Time
	err := row.Scan(&k.PlatformID, &k.ID, &k.Name, &mode, &k.Hint, &created, &lastUsed, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("id", "No such API key.")
	}
	if err != nil {
		return nil, err
	}
	k.Mode = Mode(mode)
	k.Created, k.LastUsed, k.Revoked = created.Time, lastUsed.Time, revoked.Time
	return &k, nil
}
