package webhooks

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Asymmetric signing, as the spec allows beside HMAC: an ed25519 key pair
// per endpoint, the private key serialised "whsk_" + base64 and the public
// "whpk_" + base64, signatures marked "v1a". Only Tender holds the private
// key; the platform verifies with the public one, which is not a secret.
const (
	signingKeyPrefix = "whsk_"
	publicKeyPrefix  = "whpk_"
)

// NewSigningKey returns a new ed25519 key pair: the private key's 32-byte
// seed (RFC 8032's private key) and the public key, serialised.
func NewSigningKey() (private, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("webhooks: new signing key: %w", err)
	}
	return signingKeyPrefix + base64.StdEncoding.EncodeToString(priv.Seed()),
		publicKeyPrefix + base64.StdEncoding.EncodeToString(pub), nil
}

// ParseSigningKey reads a "whsk_…" private key: a 32-byte seed, or the
// 64-byte form (seed and public key) other tools write. Its errors never
// repeat the key.
func ParseSigningKey(s string) (ed25519.PrivateKey, error) {
	encoded, ok := strings.CutPrefix(s, signingKeyPrefix)
	if !ok {
		return nil, errors.New("webhooks: signing key does not start with " + signingKeyPrefix)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(encoded)
	if err != nil {
		return nil, errors.New("webhooks: signing key is not valid base64")
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		return ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize]), nil
	}
	return nil, fmt.Errorf("webhooks: signing key is %d bytes; want %d or %d", len(raw), ed25519.SeedSize, ed25519.PrivateKeySize)
}

// ParsePublicKey reads a "whpk_…" public key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	encoded, ok := strings.CutPrefix(s, publicKeyPrefix)
	if !ok {
		return nil, errors.New("webhooks: public key does not start with " + publicKeyPrefix)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(encoded)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("webhooks: public key is not base64 of 32 bytes")
	}
	return ed25519.PublicKey(raw), nil
}

// SignWith returns the webhook-signature header value for one message under
// each secret, in the order given: "v1,…" for a "whsec_" secret (HMAC), and
// "v1a,…" for a "whsk_" signing key (ed25519), so that an endpoint can move
// from one scheme to the other through a rotation.
func SignWith(msgID string, ts time.Time, body []byte, secrets ...string) (string, error) {
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		if strings.HasPrefix(s, signingKeyPrefix) {
			key, err := ParseSigningKey(s)
			if err != nil {
				return "", err
			}
			sigs[i] = "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(key, signedContent(msgID, ts, body)))
			continue
		}
		key, err := ParseSecret(s)
		if err != nil {
			return "", err
		}
		sigs[i] = Sign(msgID, ts, body, key)
	}
	return strings.Join(sigs, " "), nil
}
