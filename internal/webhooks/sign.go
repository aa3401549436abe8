package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The spec serialises a symmetric secret as "whsec_" + base64 of its key and
// recommends keys of 24 to 64 bytes; 32 bytes matches HMAC-SHA256's output.
const (
	secretPrefix = "whsec_"
	minKeyLen    = 24
	maxKeyLen    = 64
	newKeyLen    = 32
)

// NewSecret returns a new signing secret: "whsec_" followed by the standard,
// padded base64 of 32 random bytes.
func NewSecret() (string, error) {
	key := make([]byte, newKeyLen)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("webhooks: new secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// ParseSecret returns the key bytes of a "whsec_…" secret. It refuses a
// secret without the prefix, with invalid base64, or whose key is shorter
// than 24 or longer than 64 bytes. Its errors never repeat the secret, so
// they are safe to log.
func ParseSecret(s string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return nil, errors.New("webhooks: secret does not start with " + secretPrefix)
	}
	// The base64 error is dropped, not wrapped: it is harmless today, but
	// nothing about the secret's content belongs in an error.
	key, err := base64.StdEncoding.Strict().DecodeString(encoded)
	if err != nil {
		return nil, errors.New("webhooks: secret is not valid base64")
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return nil, fmt.Errorf("webhooks: secret key is %d bytes; want %d to %d", len(key), minKeyLen, maxKeyLen)
	}
	return key, nil
}

// Sign returns the value of the webhook-signature header for one message:
// "v1,<signature>" for each key, space-separated, in the order given. During
// a rotation pass the new key first and the old one after it; a receiver
// accepts the message if any one signature matches a secret it knows.
//
// The signed content is "<msgID>.<Unix seconds>.<body>". The spec warns that
// a message ID must not contain "." (the parts would become ambiguous);
// Tender's IDs are generated, never taken from a caller, and have none.
func Sign(msgID string, ts time.Time, body []byte, keys ...[]byte) string {
	content := signedContent(msgID, ts, body)
	sigs := make([]string, len(keys))
	for i, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write(content)
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	return strings.Join(sigs, " ")
}

// signedContent is what a signature covers: "<msgID>.<Unix seconds>.<body>".
func signedContent(msgID string, ts time.Time, body []byte) []byte {
	content := make([]byte, 0, len(msgID)+1+20+1+len(body))
	content = append(content, msgID...)
	content = append(content, '.')
	content = strconv.AppendInt(content, ts.Unix(), 10)
	content = append(content, '.')
	return append(content, body...)
}
