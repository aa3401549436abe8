package stripeevents_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tenderpay/tender/emulator"
	"github.com/tenderpay/tender/internal/stripeevents"
)

// TestVerify signs as the emulator does (and, for a rolled secret, as
// stripe-go's test helper does) and checks every way a delivery can be
// refused, and the secret a good one matched.
func TestVerify(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}`)
	const old, current = "whsec_old", "whsec_current"
	signed := func(secret string, at time.Time) string { return emulator.Sign(body, secret, at) }
	// During a roll Stripe signs with both secrets: two v1 values.
	both := signed(old, now) + ",v1=" + strings.SplitN(signed(current, now), ",v1=", 2)[1]
	viaLibrary := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: current, Timestamp: now}).Header
	ts := strconv.FormatInt(now.Unix(), 10)

	for _, c := range []struct {
		name    string
		body    []byte
		header  string
		secrets []string
		want    int
		err     error
	}{
		{name: "good", header: signed(current, now), secrets: []string{current}, want: 0},
		{name: "signed by stripe-go", header: viaLibrary, secrets: []string{current}, want: 0},
		{name: "rolled: the new secret", header: signed(current, now), secrets: []string{old, current}, want: 1},
		{name: "rolled: signed with both", header: both, secrets: []string{current}, want: 0},
		{name: "the old secret after the roll", header: signed(old, now), secrets: []string{current}, err: stripeevents.ErrBadSignature},
		{name: "tampered body", body: []byte(`{"id":"evt_1","object":"event","type":"charge.refunded"}`), header: signed(current, now),
			secrets: []string{current}, err: stripeevents.ErrBadSignature},
		{name: "time moved on the signature", header: strings.Replace(signed(current, now), "t="+ts, "t="+strconv.FormatInt(now.Unix()+1, 10), 1),
			secrets: []string{current}, err: stripeevents.ErrBadSignature},
		{name: "forged", header: "t=" + ts + ",v1=" + strings.Repeat("ab", 32), secrets: []string{current}, err: stripeevents.ErrBadSignature},
		{name: "v0 only", header: "t=" + ts + ",v0=" + strings.SplitN(signed(current, now), ",v1=", 2)[1], secrets: []string{current},
			err: stripeevents.ErrBadSignature},
		{name: "within tolerance", header: signed(current, now.Add(-299*time.Second)), secrets: []string{current}, want: 0},
		{name: "stale", header: signed(current, now.Add(-301*time.Second)), secrets: []string{current}, err: stripeevents.ErrStale},
		{name: "from the future", header: signed(current, now.Add(301*time.Second)), secrets: []string{current}, err: stripeevents.ErrStale},
		{name: "no header", header: "", secrets: []string{current}, err: stripeevents.ErrNotSigned},
		{name: "garbage", header: "hello", secrets: []string{current}, err: stripeevents.ErrBadHeader},
		{name: "no time", header: "v1=" + strings.Repeat("ab", 32), secrets: []string{current}, err: stripeevents.ErrBadHeader},
		{name: "unreadable time", header: "t=soon,v1=" + strings.Repeat("ab", 32), secrets: []string{current}, err: stripeevents.ErrBadHeader},
		{name: "two times", header: signed(current, now) + ",t=" + ts, secrets: []string{current}, err: stripeevents.ErrBadHeader},
		{name: "no secret configured", header: signed(current, now), secrets: nil, err: stripeevents.ErrNoSecret},
	} {
		b := body
		if c.body != nil {
			b = c.body
		}
		got, err := stripeevents.Verify(b, c.header, c.secrets, now)
		switch {
		case c.err != nil && !errors.Is(err, c.err):
			t.Errorf("%s: Verify = %d, %v; want %v", c.name, got, err, c.err)
		case c.err == nil && (err != nil || got != c.want):
			t.Errorf("%s: Verify = %d, %v; want secret %d", c.name, got, err, c.want)
		}
	}
}

// FuzzVerify: whatever the body, header and secret, Verify never panics;
// it accepts a header only if it carries the body's signature under the
// secret it names; and a body signed now always verifies.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"evt_1","object":"event"}`)
	f.Add(body, emulator.Sign(body, "whsec_a", now), "whsec_a")
	f.Add(body, "t=1,v1=00", "whsec_a")
	f.Add([]byte{}, "t=,v1=,=,", "")
	f.Fuzz(func(t *testing.T, body []byte, header, secret string) {
		if i, err := stripeevents.Verify(body, header, []string{secret}, now); err == nil && (i != 0 || !signedWithin(header, body, secret)) {
			t.Fatalf("accepted %q (secret %d) without the body's signature under the secret", header, i)
		}
		if _, err := stripeevents.Verify(body, emulator.Sign(body, secret, now), []string{secret}, now); err != nil {
			t.Fatalf("a body signed now was refused: %v", err)
		}
	})
}

// signedWithin reports whether header carries body's signature under
// secret at its own t= (which may be up to Tolerance from now): a v1 whose
// hex, in either case, decodes to the HMAC.
func signedWithin(header string, body []byte, secret string) bool {
	var want []byte
	for part := range strings.SplitSeq(header, ",") {
		if ts, ok := strings.CutPrefix(part, "t="); ok {
			unix, err := strconv.ParseInt(ts, 10, 64)
			if err != nil {
				return false
			}
			want, _ = hex.DecodeString(strings.SplitN(emulator.Sign(body, secret, time.Unix(unix, 0)), ",v1=", 2)[1])
		}
	}
	for part := range strings.SplitSeq(header, ",") {
		if sig, ok := strings.CutPrefix(part, "v1="); ok {
			if got, err := hex.DecodeString(sig); err == nil && want != nil && bytes.Equal(got, want) {
				return true
			}
		}
	}
	return false
}
