// Package secret encrypts values Tender must keep but must not keep in clear
// — a platform's Stripe secret key, its webhook signing secrets — with
// AES-256-GCM under a master key that never touches the database.
//
// A sealed value reads "v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>".
// The key id is derived from the key itself (the first 8 bytes of its
// SHA-256, hex), so it needs no naming scheme and a wrong key is recognised
// before decryption is tried. To rotate, make a new master key current and
// keep the old one among the previous keys until every value has been
// resealed (Keyring.NeedsReseal says which); then drop it.
//
// Every value is sealed with additional data that says where it lives (for
// example "platform:plt_…:stripe_secret_key"), so a ciphertext copied into
// another row or column fails to open instead of passing for that row's
// secret.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a master key: AES-256.
const KeySize = 32

const version = "v1"

// ErrNoKey means a value was sealed under a key the keyring does not hold:
// the master key was changed without keeping the old one as a previous key.
var ErrNoKey = errors.New("secret: sealed under a master key this keyring does not hold")

// ErrCorrupt means a value is not a sealed value, was altered, or was sealed
// for another place (different additional data).
var ErrCorrupt = errors.New("secret: sealed value is malformed, altered or belongs elsewhere")

// Keyring holds the current master key, which seals, and previous ones,
// which only open.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
	// macKeys are HMAC keys derived from each master key, by key id, for
	// Sign and Verify.
	macKeys map[string][]byte
}

// NewKeyring returns a keyring that seals with current and opens values
// sealed with current or any of previous. Each key must be KeySize bytes.
func NewKeyring(current []byte, previous ...[]byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}, macKeys: map[string][]byte{}}
	for i, key := range append([][]byte{current}, previous...) {
		id, aead, err := newAEAD(key)
		if err != nil {
			return nil, fmt.Errorf("master key %d: %w", i+1, err)
		}
		if i == 0 {
			k.current = id
		}
		k.aeads[id] = aead
		k.macKeys[id] = deriveMACKey(key)
	}
	return k, nil
}

// ParseKeyring reads master keys as written in configuration: base64
// (standard or URL alphabet, padding optional) of KeySize random bytes.
// Errors say what is accepted and never repeat the key.
func ParseKeyring(current string, previous []string) (*Keyring, error) {
	cur, err := DecodeKey(current)
	if err != nil {
		return nil, err
	}
	var prev [][]byte
	for i, p := range previous {
		b, err := DecodeKey(p)
		if err != nil {
			return nil, fmt.Errorf("previous key %d: %w", i+1, err)
		}
		prev = append(prev, b)
	}
	return NewKeyring(cur, prev...)
}

// DecodeKey decodes one base64 master key.
func DecodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("want base64 of %d bytes, got %d bytes (make one with: openssl rand -base64 32)", KeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("not base64; want base64 of %d random bytes (make one with: openssl rand -base64 32)", KeySize)
}

// NewKey returns a fresh random master key, base64-encoded.
func NewKey() string {
	b := make([]byte, KeySize)
	rand.Read(b) // never fails: crypto/rand panics rather than return short
	return base64.StdEncoding.EncodeToString(b)
}

func newAEAD(key []byte) (string, cipher.AEAD, error) {
	if len(key) != KeySize {
		return "", nil, fmt.Errorf("want %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8]), aead, nil
}

// CurrentKeyID is the id of the key that seals: safe to log and show.
func (k *Keyring) CurrentKeyID() string { return k.current }

// Seal encrypts plaintext under the current key, bound to where (the place
// the value will be stored). A random 96-bit nonce per value is safe for far
// more values than Tender will ever seal under one key (NIST's bound is 2³²).
func (k *Keyring) Seal(plaintext, where string) string {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	out := aead.Seal(nonce, nonce, []byte(plaintext), []byte(where))
	return version + "." + k.current + "." + base64.RawURLEncoding.EncodeToString(out)
}

// Open decrypts a value sealed for where. Returns ErrNoKey if its key is
// not in the keyring, ErrCorrupt if it is malformed, altered or was sealed
// for another place.
func (k *Keyring) Open(sealed, where string) (string, error) {
	id, body, err := split(sealed)
	if err != nil {
		return "", err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", fmt.Errorf("%w (key id %s)", ErrNoKey, id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", ErrCorrupt
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], []byte(where))
	if err != nil {
		return "", ErrCorrupt
	}
	return string(plain), nil
}

// NeedsReseal reports whether sealed was made with a key other than the
// current one, so a rotation job can find and reseal it.
func (k *Keyring) NeedsReseal(sealed string) bool {
	id, _, err := split(sealed)
	return err == nil && id != k.current
}

// Reseal opens sealed and seals it again under the current key.
func (k *Keyring) Reseal(sealed, where string) (string, error) {
	plain, err := k.Open(sealed, where)
	if err != nil {
		return "", err
	}
	return k.Seal(plain, where), nil
}

func split(sealed string) (id, body string, err error) {
	parts := strings.SplitN(sealed, ".", 3)
	if len(parts) != 3 || parts[0] != version || len(parts[1]) != 16 {
		return "", "", ErrCorrupt
	}
	return parts[1], parts[2], nil
}

// deriveMACKey derives the signing key from a master key, so that no key
// serves both AES-GCM and HMAC.
func deriveMACKey(master []byte) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("tender/secret/mac/v1"))
	return m.Sum(nil)
}

// Sign returns a MAC of msg for purpose under the current key, as
// "<key id>.<base64url HMAC-SHA256>". Purpose separates uses (an OAuth
// state, a link token), so a signature made for one is never accepted for
// another.
func (k *Keyring) Sign(purpose string, msg []byte) string {
	return k.current + "." + base64.RawURLEncoding.EncodeToString(mac(k.macKeys[k.current], purpose, msg))
}

// Verify reports whether sig is Sign's output for purpose and msg under
// any key the keyring holds, in constant time.
func (k *Keyring) Verify(purpose string, msg []byte, sig string) bool {
	id, body, ok := strings.Cut(sig, ".")
	key, known := k.macKeys[id]
	if !ok || !known {
		return false
	}
	// Strict: otherwise the unused low bits of the last character are
	// ignored, and four spellings of one signature all verify.
	got, err := base64.RawURLEncoding.Strict().DecodeString(body)
	return err == nil && hmac.Equal(got, mac(key, purpose, msg))
}

func mac(key []byte, purpose string, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0}) // purposes cannot run into messages
	m.Write(msg)
	return m.Sum(nil)
}
