package connect

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// A state travels through the merchant's browser to Stripe and back. It
// names the platform and the link, carries the link's single-use nonce
// and an expiry, and is signed with a key derived from the master key, so
// it cannot be forged or altered; the nonce makes it single-use, because
// the callback consumes it in the same statement that checks it.
type state struct {
	Platform string `json:"p"`
	Link     string `json:"l"`
	Nonce    string `json:"n"`
	Expires  int64  `json:"e"`
}

// Purposes of signed states; a state made for one is refused by the other.
const (
	purposeOAuth   = "connect/oauth-state"
	purposeExpress = "connect/express-state"
)

func (s *Service) signState(purpose string, st state) string {
	body, _ := json.Marshal(st) // a struct of strings and an int: cannot fail
	b := base64.RawURLEncoding.EncodeToString(body)
	return b + "." + s.keys.Sign(purpose, []byte(b))
}

// Errors of verifyState, each shown to the merchant as its own page.
var (
	errStateInvalid = PageError{Code: "state_invalid", Status: 400,
		Title:   "This link is not valid",
		Message: "The address was altered or did not come from Tender. Ask the platform for a new connection link."}
	errStateExpired = PageError{Code: "link_expired", Status: 410,
		Title:   "This connection link has expired",
		Message: "Connection links work for a limited time. Ask the platform for a new one."}
)

func (s *Service) verifyState(purpose, raw string) (state, error) {
	body, sig, ok := strings.Cut(raw, ".")
	if !ok || !s.keys.Verify(purpose, []byte(body), sig) {
		return state{}, errStateInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	var st state
	if err != nil || json.Unmarshal(b, &st) != nil || st.Platform == "" || st.Link == "" {
		return state{}, errStateInvalid
	}
	if s.now().Unix() >= st.Expires {
		return state{}, errStateExpired
	}
	return st, nil
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is how a link's token is stored: a database leak reveals no
// usable link.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
